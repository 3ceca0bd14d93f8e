// The catalog evaluator over the emulated pg_catalog and information_schema: the queries clients
// send (psql, JDBC, SQLAlchemy, Grafana) and the SQL features they need.
#include <arrow/type.h>
#include <gtest/gtest.h>

#include "pgwire/catalog_query.h"
#include "pgwire/sql_state.h"
#include "pgwire/statement.h"
#include "pgwire/system_catalog.h"

namespace nlk::pgwire {
namespace {

class CatalogQueryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tables_ = {
        {"samples",
         arrow::schema({arrow::field("device_id", arrow::utf8(), false),
                        arrow::field("channel", arrow::int32()),
                        arrow::field("ts", arrow::timestamp(arrow::TimeUnit::MICRO, "UTC")),
                        arrow::field("v", arrow::float64())})},
        {"neural.spikes",
         arrow::schema({arrow::field("unit", arrow::int64()), arrow::field("raw", arrow::binary()),
                        arrow::field("tags", arrow::list(arrow::utf8()))})},
    };
  }

  // Runs `sql` (one SELECT) and returns its rows as text, NULL as "NULL".
  std::vector<std::vector<std::string>> Query(const std::string& sql) {
    auto result = Run(sql);
    EXPECT_TRUE(result.ok()) << sql << "\n" << result.status().ToString();
    std::vector<std::vector<std::string>> rows;
    if (!result.ok()) return rows;
    for (const Row& row : result->rows) {
      std::vector<std::string> texts;
      for (const Value& value : row) {
        texts.push_back(value.is_null() ? "NULL" : ValueText(value, catalog_->resolver()));
      }
      rows.push_back(std::move(texts));
    }
    return rows;
  }

  arrow::Result<CatalogResult> Run(const std::string& sql) {
    ARROW_ASSIGN_OR_RAISE(catalog_, SystemCatalog::Build(tables_, settings_));
    ARROW_ASSIGN_OR_RAISE(std::vector<Statement> statements, ParseQuery(sql));
    if (statements.size() != 1) return arrow::Status::Invalid("one statement expected");
    FunctionContext context{catalog_.get(), &settings_, 4242};
    return RunCatalogQuery(*statements[0].node, *statements[0].query, context);
  }

  std::string ErrorCode(const std::string& sql) {
    auto result = Run(sql);
    EXPECT_FALSE(result.ok()) << sql;
    return result.ok() ? "" : SqlStateOf(result.status());
  }

  std::vector<ServedTableInfo> tables_;
  SessionSettings settings_{"alice", "lake"};
  std::shared_ptr<const SystemCatalog> catalog_;
};

using Rows = std::vector<std::vector<std::string>>;

TEST_F(CatalogQueryTest, PsqlListTables) {
  // psql 15's \dt, as it sends it.
  EXPECT_EQ(Query(R"(SELECT n.nspname as "Schema",
  c.relname as "Name",
  CASE c.relkind WHEN 'r' THEN 'table' WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view' WHEN 'i' THEN 'index' WHEN 'S' THEN 'sequence' WHEN 't' THEN 'TOAST table' WHEN 'f' THEN 'foreign table' WHEN 'p' THEN 'partitioned table' WHEN 'I' THEN 'partitioned index' END as "Type",
  pg_catalog.pg_get_userbyid(c.relowner) as "Owner"
FROM pg_catalog.pg_class c
     LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     LEFT JOIN pg_catalog.pg_am am ON am.oid = c.relam
WHERE c.relkind IN ('r','p','')
      AND n.nspname <> 'pg_catalog'
      AND n.nspname !~ '^pg_toast'
      AND n.nspname <> 'information_schema'
  AND pg_catalog.pg_table_is_visible(c.oid)
ORDER BY 1,2;)"),
            (Rows{{"public", "samples", "table", "nlk"}}));
  settings_.Set("search_path", "public, neural").ValueOrDie();
  EXPECT_EQ(
      Query("SELECT n.nspname, c.relname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n "
            "ON n.oid = c.relnamespace WHERE c.relkind = 'r' AND n.nspname !~ '^pg_' AND "
            "n.nspname <> 'information_schema' AND pg_catalog.pg_table_is_visible(c.oid) "
            "ORDER BY 1, 2"),
      (Rows{{"neural", "spikes"}, {"public", "samples"}}));
}

TEST_F(CatalogQueryTest, PsqlDescribeTable) {
  auto found = Query(R"(SELECT c.oid,
  n.nspname,
  c.relname
FROM pg_catalog.pg_class c
     LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relname OPERATOR(pg_catalog.~) '^(samples)$' COLLATE pg_catalog.default
  AND pg_catalog.pg_table_is_visible(c.oid)
ORDER BY 2, 3;)");
  ASSERT_EQ(found.size(), 1u);
  const std::string oid = found[0][0];
  EXPECT_EQ(found[0][1], "public");
  EXPECT_EQ(Query(R"(SELECT a.attname,
  pg_catalog.format_type(a.atttypid, a.atttypmod),
  (SELECT pg_catalog.pg_get_expr(d.adbin, d.adrelid, true)
   FROM pg_catalog.pg_attrdef d
   WHERE d.adrelid = a.attrelid AND d.adnum = a.attnum AND a.atthasdef),
  a.attnotnull,
  (SELECT c.collname FROM pg_catalog.pg_collation c, pg_catalog.pg_type t
   WHERE c.oid = a.attcollation AND t.oid = a.atttypid AND a.attcollation <> t.typcollation) AS attcollation,
  a.attidentity,
  a.attgenerated
FROM pg_catalog.pg_attribute a
WHERE a.attrelid = ')" +
                  oid + R"(' AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum;)"),
            (Rows{{"device_id", "text", "NULL", "t", "NULL", "", ""},
                  {"channel", "integer", "NULL", "f", "NULL", "", ""},
                  {"ts", "timestamp with time zone", "NULL", "f", "NULL", "", ""},
                  {"v", "double precision", "NULL", "f", "NULL", "", ""}}));
  // The table's facts, its publications (a UNION with generate_series and subscripts in an
  // untaken branch) and its statistics objects (= any over arrays).
  EXPECT_EQ(Query("SELECT c.relchecks, c.relkind, c.relhasindex, '', CASE WHEN c.reloftype = 0 "
                  "THEN '' ELSE c.reloftype::pg_catalog.regtype::pg_catalog.text END, am.amname "
                  "FROM pg_catalog.pg_class c LEFT JOIN pg_catalog.pg_class tc ON "
                  "(c.reltoastrelid = tc.oid) LEFT JOIN pg_catalog.pg_am am ON (c.relam = am.oid) "
                  "WHERE c.oid = '" +
                  oid + "';"),
            (Rows{{"0", "r", "f", "", "", "heap"}}));
  EXPECT_EQ(Query("SELECT pubname, NULL, NULL FROM pg_catalog.pg_publication p JOIN "
                  "pg_catalog.pg_publication_namespace pn ON p.oid = pn.pnpubid JOIN "
                  "pg_catalog.pg_class pc ON pc.relnamespace = pn.pnnspid WHERE pc.oid ='" +
                  oid + "' and pg_catalog.pg_relation_is_publishable('" + oid +
                  "') UNION SELECT "
                  "pubname, pg_get_expr(pr.prqual, c.oid), (CASE WHEN pr.prattrs IS NOT NULL THEN "
                  "(SELECT string_agg(attname, ', ') FROM pg_catalog.generate_series(0, "
                  "pg_catalog.array_upper(pr.prattrs::pg_catalog.int2[], 1)) s, "
                  "pg_catalog.pg_attribute WHERE attrelid = pr.prrelid AND attnum = prattrs[s]) "
                  "ELSE NULL END) FROM pg_catalog.pg_publication p JOIN "
                  "pg_catalog.pg_publication_rel pr ON p.oid = pr.prpubid JOIN pg_catalog.pg_class "
                  "c ON c.oid = pr.prrelid WHERE pr.prrelid = '" +
                  oid + "' ORDER BY 1;"),
            Rows{});
  EXPECT_EQ(Query("SELECT oid, stxrelid::pg_catalog.regclass, "
                  "stxnamespace::pg_catalog.regnamespace::pg_catalog.text AS nsp, stxname, "
                  "'d' = any(stxkind) AS ndist_enabled FROM pg_catalog.pg_statistic_ext WHERE "
                  "stxrelid = '" +
                  oid + "' ORDER BY nsp, stxname;"),
            Rows{});
}

TEST_F(CatalogQueryTest, JdbcColumnsWithAWindowFunction) {
  EXPECT_EQ(Query("SELECT * FROM (SELECT n.nspname, c.relname, a.attname, a.atttypid, "
                  "row_number() OVER (PARTITION BY a.attrelid ORDER BY a.attnum) AS attnum, "
                  "nullif(a.attidentity, '') as attidentity FROM pg_catalog.pg_namespace n JOIN "
                  "pg_catalog.pg_class c ON (c.relnamespace = n.oid) JOIN pg_catalog.pg_attribute "
                  "a ON (a.attrelid=c.oid) JOIN pg_catalog.pg_type t ON (a.atttypid = t.oid) WHERE "
                  "c.relkind in ('r','p','v','f','m') and a.attnum > 0 AND NOT a.attisdropped AND "
                  "c.relname LIKE 'spi%') c WHERE true AND attname LIKE '%' ORDER BY "
                  "nspname,c.relname,attnum"),
            (Rows{{"neural", "spikes", "unit", "20", "1", "NULL"},
                  {"neural", "spikes", "raw", "17", "2", "NULL"},
                  {"neural", "spikes", "tags", "114", "3", "NULL"}}));
}

TEST_F(CatalogQueryTest, GrafanaTablePickerAndColumns) {
  const std::string schema_constraint =
      "quote_ident(table_schema) IN (SELECT CASE WHEN trim(s[i]) = '\"$user\"' THEN user ELSE "
      "trim(s[i]) END FROM generate_series(array_lower(string_to_array(current_setting('search_"
      "path'),','),1), array_upper(string_to_array(current_setting('search_path'),','),1)) as i, "
      "string_to_array(current_setting('search_path'),',') s)";
  EXPECT_EQ(Query("SELECT CASE WHEN " + schema_constraint +
                  " THEN quote_ident(table_name) ELSE quote_ident(table_schema) || '.' || "
                  "quote_ident(table_name) END AS \"table\" FROM information_schema.tables WHERE "
                  "quote_ident(table_schema) NOT IN ('information_schema', 'pg_catalog', "
                  "'_timescaledb_cache') ORDER BY CASE WHEN " +
                  schema_constraint + " THEN 0 ELSE 1 END, 1"),
            (Rows{{"samples"}, {"neural.spikes"}}));
  EXPECT_EQ(Query("SELECT quote_ident(column_name) AS \"column\", data_type AS \"type\" FROM "
                  "information_schema.columns WHERE CASE WHEN "
                  "array_length(parse_ident('neural.spikes'),1) = 2 THEN quote_ident(table_schema) "
                  "= (parse_ident('neural.spikes'))[1] AND quote_ident(table_name) = "
                  "(parse_ident('neural.spikes'))[2] ELSE quote_ident(table_name) = "
                  "'neural.spikes' END"),
            (Rows{{"unit", "bigint"}, {"raw", "bytea"}, {"tags", "json"}}));
  EXPECT_EQ(Query("SELECT current_setting('server_version_num')::int/100 as version"),
            (Rows{{"1500"}}));
}

TEST_F(CatalogQueryTest, TypeLookupsAndSystemFunctions) {
  // psycopg's TypeInfo.fetch, and what SQLAlchemy asks on connect.
  EXPECT_EQ(Query("SELECT typname AS name, oid, typarray AS array_oid, oid::regtype::text AS "
                  "regtype, typdelim AS delimiter FROM pg_type t WHERE t.oid = "
                  "to_regtype('int4') ORDER BY t.oid"),
            (Rows{{"int4", "23", "1007", "integer", ","}}));
  EXPECT_EQ(Query("SELECT typname FROM pg_type t WHERE t.oid = to_regtype('hstore')"), Rows{});
  EXPECT_EQ(Query("select current_schema(), current_database(), current_user, "
                  "'pg_class'::regclass = 'pg_catalog.pg_class'::regclass, "
                  "has_table_privilege('samples', 'SELECT'), has_table_privilege('samples', "
                  "'INSERT'), pg_backend_pid()"),
            (Rows{{"public", "lake", "alice", "t", "t", "f", "4242"}}));
  auto version = Query("select pg_catalog.version()");
  ASSERT_EQ(version.size(), 1u);
  EXPECT_EQ(version[0][0].rfind("PostgreSQL 15.0 ", 0), 0u) << version[0][0];
}

TEST_F(CatalogQueryTest, SqlFeatures) {
  EXPECT_EQ(Query("SELECT relkind, count(*) > 0, bool_and(relnatts > 0) FROM pg_class "
                  "WHERE relname IN ('samples', 'pg_tables') GROUP BY relkind HAVING count(*) = 1 "
                  "ORDER BY relkind DESC"),
            (Rows{{"v", "t", "t"}, {"r", "t", "t"}}));
  EXPECT_EQ(Query("WITH t(x) AS (VALUES (3), (1), (2)) SELECT x, rank() OVER (ORDER BY x) FROM t "
                  "ORDER BY x DESC LIMIT 2 OFFSET 1"),
            (Rows{{"2", "2"}, {"1", "1"}}));
  EXPECT_EQ(Query("SELECT string_agg(x, ',' ORDER BY x DESC), array_agg(x) FROM unnest(ARRAY['b', "
                  "'a', 'c']) x"),
            (Rows{{"c,b,a", "{b,a,c}"}}));
  EXPECT_EQ(Query("SELECT 1 UNION SELECT 1 UNION ALL SELECT 2 EXCEPT SELECT 3 ORDER BY 1"),
            (Rows{{"1"}, {"2"}}));
  EXPECT_EQ(Query("SELECT ARRAY(SELECT nspname FROM pg_namespace WHERE oid < 3000 ORDER BY 1), "
                  "'{1,2}'::oid[] @> '{2}', 7 / 2, 7.0 / 2, 'a b' ~~ 'a%', 'x' || NULL IS NULL"),
            (Rows{{"{pg_catalog,public}", "t", "3", "3.5", "t", "t"}}));
  EXPECT_EQ(Query("SELECT (SELECT relname FROM pg_class c WHERE c.oid = a.attrelid) FROM "
                  "pg_attribute a WHERE attname = 'tags'"),
            (Rows{{"spikes"}}));
  EXPECT_EQ(ErrorCode("SELECT nope FROM pg_class"), sqlstate::kUndefinedColumn);
  EXPECT_EQ(ErrorCode("SELECT * FROM pg_catalog.pg_nope"), sqlstate::kUndefinedTable);
  EXPECT_EQ(ErrorCode("SELECT pg_nope()"), sqlstate::kUndefinedFunction);
  EXPECT_EQ(ErrorCode("SELECT (SELECT oid FROM pg_class)"), sqlstate::kCardinalityViolation);
  EXPECT_EQ(ErrorCode("SELECT 1 / 0"), sqlstate::kDivisionByZero);
}

TEST_F(CatalogQueryTest, ResultTypesEvenWithoutRows) {
  auto result =
      Run("SELECT oid, relname, relkind, reltuples, relacl, count(*) FROM pg_class "
          "WHERE false GROUP BY oid, relname, relkind, reltuples, relacl");
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_TRUE(result->rows.empty());
  std::vector<int32_t> types;
  for (const ResultColumn& column : result->columns) types.push_back(column.type.oid);
  EXPECT_EQ(types, (std::vector<int32_t>{kOidOid, kNameOid, kCharOid, kFloat4Oid, kAclItemArrayOid,
                                         kInt8Oid}));
}

TEST_F(CatalogQueryTest, ServedTablesAreNotReadHere) {
  EXPECT_EQ(ErrorCode("SELECT * FROM pg_catalog.pg_class, public.samples"),
            sqlstate::kFeatureNotSupported);
}

TEST(StatementTest, QueriesGoWhereTheirTablesAre) {
  auto kind = [](const std::string& sql) {
    auto statements = ParseQuery(sql);
    EXPECT_TRUE(statements.ok()) << statements.status().ToString();
    return statements.ok() && statements->size() == 1 ? (*statements)[0].kind
                                                      : Statement::Kind::kOther;
  };
  using Kind = Statement::Kind;
  EXPECT_EQ(kind("SELECT 1"), Kind::kData);
  EXPECT_EQ(kind("SELECT now(), count(*) FROM samples"), Kind::kData);
  EXPECT_EQ(kind("SELECT * FROM public.samples"), Kind::kData);
  EXPECT_EQ(kind("EXPLAIN SELECT 1"), Kind::kData);
  EXPECT_EQ(kind("WITH pg_class AS (SELECT 1 AS x) SELECT * FROM pg_class"), Kind::kData);
  EXPECT_EQ(kind("SELECT version()"), Kind::kCatalog);
  EXPECT_EQ(kind("select current_schema()"), Kind::kCatalog);
  EXPECT_EQ(kind("select current_catalog"), Kind::kCatalog);
  EXPECT_EQ(kind("SELECT * FROM pg_class"), Kind::kCatalog);
  EXPECT_EQ(kind("SELECT * FROM information_schema.tables"), Kind::kCatalog);
  EXPECT_EQ(kind("SELECT 'pg_class'::regclass"), Kind::kCatalog);
  EXPECT_EQ(kind("SELECT * FROM pg_catalog.pg_class JOIN samples ON true"), Kind::kMixed);
  EXPECT_EQ(kind("SET search_path = a, b"), Kind::kSet);
  EXPECT_EQ(kind("SHOW transaction isolation level"), Kind::kShow);
  EXPECT_EQ(kind("BEGIN READ ONLY"), Kind::kTransaction);
  EXPECT_EQ(kind("DISCARD ALL"), Kind::kDiscard);
  EXPECT_EQ(kind("INSERT INTO samples VALUES (1)"), Kind::kOther);
  auto error = ParseQuery("SELECT FROM WHERE");
  ASSERT_FALSE(error.ok());
  EXPECT_EQ(SqlStateOf(error.status()), sqlstate::kSyntaxError);
  EXPECT_EQ(ParseQuery(" ; -- nothing\n").ValueOrDie().size(), 0u);
}

}  // namespace
}  // namespace nlk::pgwire
