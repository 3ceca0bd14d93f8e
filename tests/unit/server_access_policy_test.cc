// Authorisation without a server: the catalog's access declarations (validation, manifest),
// the policy they give one caller, and the binder applying row filters and masks beneath
// everything a query does.
#include <arrow/api.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "catalog/catalog.h"
#include "catalog/manifest.h"
#include "catalog/manifest_reader.h"
#include "catalog/site_generator.h"
#include "catalog/validation.h"
#include "server/access_policy.h"
#include "server/rest_query.h"
#include "sql/memory_table_provider.h"
#include "sql/sql_engine.h"

namespace nlk::server {
namespace {

using catalog::Classification;

std::shared_ptr<arrow::Schema> VisitSchema() {
  return arrow::schema(
      {arrow::field("site", arrow::utf8()), arrow::field("subject_id", arrow::utf8()),
       arrow::field("age", arrow::int32()), arrow::field("score", arrow::int64())});
}

catalog::Catalog ClinicCatalog() {
  return catalog::Catalog{
      .name = "clinic",
      .description = "test",
      .databases = {catalog::Database{
          .name = "trials",
          .tables = {catalog::Table{
                         .name = "visits",
                         .kind = catalog::TableKind::kDelta,
                         .uri = "trials/visits",
                         .schema = VisitSchema(),
                         .description = "One row per visit",
                         .classification = Classification::kPhi,
                         .read = {.principals = {"auditor"}, .groups = {"site-a", "site-b"}},
                         .column_policies = {{.column = "subject_id",
                                              .classification = Classification::kPii,
                                              .mask = "'redacted'",
                                              .unmasked_groups = {"clinicians"}},
                                             {.column = "age",
                                              .classification = Classification::kPhi,
                                              .mask = "deny"}},
                         .row_filters = {{.group = "site-a", .predicate = "site = 'a'"},
                                         {.group = "site-b", .predicate = "site = 'b'"}}},
                     catalog::Table{.name = "sites",
                                    .kind = catalog::TableKind::kDelta,
                                    .uri = "trials/sites",
                                    .description = "One row per site",
                                    .classification = Classification::kPublic}},
          .read = {.groups = {"clinicians"}}}}};
}

std::shared_ptr<const AccessRules> RulesOf(const catalog::Catalog& catalog) {
  auto rules = std::make_shared<AccessRules>();
  for (const auto& database : catalog.databases) {
    for (const auto& table : database.tables) {
      (*rules)[catalog::QualifiedName(database, table)] = AccessRulesOf(database, table);
    }
  }
  return rules;
}

AccessPolicy PolicyOf(std::string principal, std::vector<std::string> groups) {
  return AccessPolicy(RulesOf(ClinicCatalog()),
                      Identity{.token_id = "t", .principal = principal, .groups = groups});
}

TEST(AccessPolicy, GrantsOfDatabaseAndTableDecideWhoReads) {
  EXPECT_TRUE(PolicyOf("anyone", {"clinicians"}).CanRead("trials.visits"));  // database grant
  EXPECT_TRUE(PolicyOf("anyone", {"clinicians"}).CanRead("trials.sites"));
  EXPECT_TRUE(PolicyOf("anyone", {"site-a"}).CanRead("trials.visits"));  // table grant
  EXPECT_FALSE(PolicyOf("anyone", {"site-a"}).CanRead("trials.sites"));  // deny by default
  EXPECT_TRUE(PolicyOf("auditor", {}).CanRead("trials.visits"));         // principal grant
  EXPECT_FALSE(PolicyOf("auditor", {}).CanRead("trials.sites"));
  EXPECT_FALSE(PolicyOf("intruder", {"auditor"}).CanRead("trials.visits"));  // a group != a name
  // Tables served without catalog rules (-t, config files): any authenticated caller.
  EXPECT_TRUE(PolicyOf("intruder", {}).CanRead("scratch"));
  EXPECT_EQ(PolicyOf("anyone", {"site-a"}).Readable({"trials.sites", "trials.visits", "scratch"}),
            (std::vector<std::string>{"trials.visits", "scratch"}));
}

TEST(AccessPolicy, MasksAndRowFiltersFollowTheCallersGroups) {
  sql::TableRestriction site_a = PolicyOf("x", {"site-a"}).RestrictionFor("trials.visits");
  EXPECT_EQ(site_a.row_filter, "(site = 'a')");
  EXPECT_EQ(site_a.masks, (std::vector<std::pair<std::string, std::string>>{
                              {"subject_id", "'redacted'"}, {"age", "NULL"}}));
  // Several filtered groups: the rows any of them may see.
  EXPECT_EQ(PolicyOf("x", {"site-a", "site-b"}).RestrictionFor("trials.visits").row_filter,
            "(site = 'a') OR (site = 'b')");
  // Clinicians read subject ids; age is denied to everyone; no filter applies to them.
  sql::TableRestriction clinician = PolicyOf("x", {"clinicians"}).RestrictionFor("trials.visits");
  EXPECT_EQ(clinician.row_filter, "");
  EXPECT_EQ(clinician.masks, (std::vector<std::pair<std::string, std::string>>{{"age", "NULL"}}));
  // A filtered group stays filtered whatever other groups the caller is in.
  EXPECT_EQ(PolicyOf("x", {"clinicians", "site-b"}).RestrictionFor("trials.visits").row_filter,
            "(site = 'b')");
  EXPECT_TRUE(PolicyOf("x", {}).RestrictionFor("scratch").empty());
}

TEST(AccessPolicy, NoIdentityMeansNoPolicy) {
  EXPECT_EQ(PolicyFor(RulesOf(ClinicCatalog()), std::nullopt), nullptr);
  EXPECT_NE(PolicyFor(RulesOf(ClinicCatalog()), Identity{.principal = "a"}), nullptr);
}

// ------------------------------------------------------------------ catalog declarations

TEST(CatalogAccess, ValidDeclarationsPassAndSurviveTheManifest) {
  catalog::Catalog clinic = ClinicCatalog();
  EXPECT_TRUE(catalog::FindCatalogProblems(clinic).empty())
      << catalog::ValidateCatalog(clinic).ToString();
  auto manifest = catalog::BuildManifest(clinic, {});
  ASSERT_TRUE(manifest.ok()) << manifest.status().ToString();
  auto read = catalog::ParseManifest(*manifest);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  const catalog::Database& database = (*read)->catalog.databases[0];
  EXPECT_EQ(database.read.groups, (std::vector<std::string>{"clinicians"}));
  const catalog::Table& visits = database.tables[0];
  EXPECT_EQ(visits.classification, Classification::kPhi);
  EXPECT_EQ(visits.read.principals, (std::vector<std::string>{"auditor"}));
  ASSERT_EQ(visits.column_policies.size(), 2u);
  EXPECT_EQ(visits.column_policies[0].mask, "'redacted'");
  EXPECT_EQ(visits.column_policies[0].classification, Classification::kPii);
  EXPECT_EQ(visits.column_policies[0].unmasked_groups, (std::vector<std::string>{"clinicians"}));
  EXPECT_EQ(visits.column_policies[1].mask, "deny");
  ASSERT_EQ(visits.row_filters.size(), 2u);
  EXPECT_EQ(visits.row_filters[1].predicate, "site = 'b'");
  EXPECT_EQ(database.tables[1].classification, Classification::kPublic);
  // Written again, the manifest is the same: nothing was lost.
  auto again = catalog::BuildManifest((*read)->catalog, {});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *manifest);
}

TEST(CatalogAccess, ManifestRejectsAnUnknownClassification) {
  catalog::Catalog clinic = ClinicCatalog();
  auto manifest = catalog::BuildManifest(clinic, {});
  ASSERT_TRUE(manifest.ok());
  std::string text = *manifest;
  size_t at = text.find("\"phi\"");
  ASSERT_NE(at, std::string::npos);
  text.replace(at, 5, "\"secret\"");
  auto read = catalog::ParseManifest(text);
  ASSERT_FALSE(read.ok());
  EXPECT_NE(read.status().message().find("'secret' is not public, pii or phi"), std::string::npos)
      << read.status().message();
}

// The one problem FindCatalogProblems reports for `clinic`, which must mention `fragment`.
void ExpectProblem(const catalog::Catalog& clinic, const std::string& fragment) {
  std::vector<std::string> problems = catalog::FindCatalogProblems(clinic);
  ASSERT_EQ(problems.size(), 1u) << (problems.empty() ? "none" : problems[0]);
  EXPECT_NE(problems[0].find(fragment), std::string::npos) << problems[0];
}

TEST(CatalogAccess, CheckFindsBadGrantsMasksAndFilters) {
  {
    catalog::Catalog clinic = ClinicCatalog();
    clinic.databases[0].read.groups.push_back("lab team");
    ExpectProblem(clinic, "database trials: read.groups: 'lab team' is not a principal");
  }
  {
    catalog::Catalog clinic = ClinicCatalog();
    clinic.databases[0].tables[0].read.principals.push_back("auditor");
    ExpectProblem(clinic, "read.principals: lists 'auditor' twice");
  }
  {
    catalog::Catalog clinic = ClinicCatalog();
    clinic.databases[0].tables[0].column_policies[0].column = "subject";
    ExpectProblem(clinic, "'subject' is not a column of the declared schema");
  }
  {
    catalog::Catalog clinic = ClinicCatalog();
    clinic.databases[0].tables[0].column_policies[0].mask = "";
    clinic.databases[0].tables[0].column_policies[0].unmasked_groups.clear();
    ExpectProblem(clinic, "'subject_id' is pii but has no mask");
  }
  {
    catalog::Catalog clinic = ClinicCatalog();
    clinic.databases[0].tables[0].column_policies[0].classification = Classification::kPublic;
    ExpectProblem(clinic, "has a mask but is not classified pii or phi");
  }
  {
    catalog::Catalog clinic = ClinicCatalog();
    clinic.databases[0].tables[0].row_filters[1].group = "site-a";
    ExpectProblem(clinic, "repeats group 'site-a'");
  }
  {
    catalog::Catalog clinic = ClinicCatalog();
    clinic.databases[0].tables[0].row_filters[0].predicate = "";
    ExpectProblem(clinic, "row_filters[0]: has an empty predicate");
  }
}

TEST(CatalogAccess, TablePagesShowClassificationReadersMasksAndFilters) {
  namespace fs = std::filesystem;
  fs::path out = fs::temp_directory_path() / ("nlk-access-site-" + std::to_string(::getpid()));
  fs::remove_all(out);
  catalog::SiteOptions options;
  options.out_dir = out.string();
  options.root = (out / "lake").string();
  auto written = catalog::WriteSite(ClinicCatalog(), options);
  ASSERT_TRUE(written.ok()) << written.status().ToString();
  std::ifstream in(out / "tables" / "trials.visits.html");
  std::stringstream page;
  page << in.rdbuf();
  const std::string html = page.str();
  fs::remove_all(out);
  for (const std::string& expected :
       {std::string("<dt>Classification</dt><dd><code>phi</code></dd>"),
        std::string("<dt>Readers</dt><dd>groups <code>clinicians</code>, <code>site-a</code>, "
                    "<code>site-b</code>; principals <code>auditor</code></dd>"),
        std::string("<code>subject_id</code> (pii): masked as <code>&#39;redacted&#39;</code>, "
                    "unmasked for <code>clinicians</code>"),
        std::string("<code>age</code> (phi): hidden (reads NULL)"),
        std::string("<code>site-a</code> sees rows where <code>site = &#39;a&#39;</code>")}) {
    EXPECT_NE(html.find(expected), std::string::npos) << expected;
  }
}

// ------------------------------------------------------------------ enforcement in the binder

// The visits table, restricted as one caller's policy says.
class RestrictedProvider : public sql::TableCatalog {
 public:
  RestrictedProvider(std::shared_ptr<arrow::Table> visits, sql::TableRestriction restriction)
      : visits_(std::move(visits)), restriction_(std::move(restriction)) {}

  arrow::Result<sql::ResolvedTable> Resolve(const std::string& name) override {
    if (name != "visits") return arrow::Status::KeyError("table \"", name, "\" does not exist");
    sql::ResolvedTable source;
    source.table = std::make_shared<sql::MemoryTableProvider>(visits_, "memory table visits");
    source.restriction = restriction_;
    return source;
  }
  std::vector<std::string> TableNames() const override { return {"visits"}; }

 private:
  std::shared_ptr<arrow::Table> visits_;
  sql::TableRestriction restriction_;
};

std::shared_ptr<arrow::Table> Visits() {
  arrow::StringBuilder site, subject;
  arrow::Int32Builder age;
  arrow::Int64Builder score;
  const std::vector<std::tuple<std::string, std::string, int32_t, int64_t>> rows = {
      {"a", "S-001", 34, 10},
      {"a", "S-002", 51, 20},
      {"b", "S-003", 29, 30},
      {"b", "S-004", 62, 40}};
  for (const auto& [s, id, years, points] : rows) {
    EXPECT_TRUE(site.Append(s).ok());
    EXPECT_TRUE(subject.Append(id).ok());
    EXPECT_TRUE(age.Append(years).ok());
    EXPECT_TRUE(score.Append(points).ok());
  }
  std::vector<std::shared_ptr<arrow::Array>> columns(4);
  EXPECT_TRUE(site.Finish(&columns[0]).ok());
  EXPECT_TRUE(subject.Finish(&columns[1]).ok());
  EXPECT_TRUE(age.Finish(&columns[2]).ok());
  EXPECT_TRUE(score.Finish(&columns[3]).ok());
  return arrow::Table::Make(VisitSchema(), columns);
}

sql::TableRestriction SiteA() {
  return {.row_filter = "site = 'a'", .masks = {{"subject_id", "'redacted'"}, {"age", "NULL"}}};
}

// The query's rows as text, one line per row, cells separated by '|'.
arrow::Result<std::vector<std::string>> Rows(const sql::TableRestriction& restriction,
                                             const std::string& query) {
  sql::SqlEngine engine(std::make_shared<RestrictedProvider>(Visits(), restriction));
  ARROW_ASSIGN_OR_RAISE(sql::QueryResult result, engine.Execute(query));
  ARROW_ASSIGN_OR_RAISE(auto table, result.reader->ToTable());
  std::vector<std::string> rows;
  for (int64_t row = 0; row < table->num_rows(); ++row) {
    std::string line;
    for (int column = 0; column < table->num_columns(); ++column) {
      ARROW_ASSIGN_OR_RAISE(auto scalar, table->column(column)->GetScalar(row));
      line += (column == 0 ? "" : "|") + (scalar->is_valid ? scalar->ToString() : "NULL");
    }
    rows.push_back(line);
  }
  return rows;
}

std::vector<std::string> RowsOrFail(const sql::TableRestriction& restriction,
                                    const std::string& query) {
  auto rows = Rows(restriction, query);
  EXPECT_TRUE(rows.ok()) << query << ": " << rows.status().ToString();
  return rows.ok() ? *rows : std::vector<std::string>{};
}

using Lines = std::vector<std::string>;

TEST(Enforcement, RowsAreFilteredAndColumnsMaskedEverywhereTheTableIsNamed) {
  const sql::TableRestriction site_a = SiteA();
  EXPECT_EQ(RowsOrFail(site_a, "SELECT * FROM visits ORDER BY score"),
            (Lines{"a|redacted|NULL|10", "a|redacted|NULL|20"}));
  // Unrestricted, the same query reads everything.
  EXPECT_EQ(RowsOrFail({}, "SELECT count(*) FROM visits"), (Lines{"4"}));
  // Aggregates, CTEs, subqueries, joins and set operations see only the filtered, masked rows.
  EXPECT_EQ(RowsOrFail(site_a, "SELECT count(*), sum(score), max(age) FROM visits"),
            (Lines{"2|30|NULL"}));
  EXPECT_EQ(RowsOrFail(site_a, "WITH v AS (SELECT * FROM visits) SELECT count(*) FROM v"),
            (Lines{"2"}));
  EXPECT_EQ(RowsOrFail(site_a, "SELECT n FROM (SELECT count(*) AS n FROM visits) AS t"),
            (Lines{"2"}));
  EXPECT_EQ(RowsOrFail(site_a, "SELECT count(*) FROM visits x JOIN visits y ON x.site = y.site"),
            (Lines{"4"}));
  EXPECT_EQ(RowsOrFail(site_a, "SELECT (SELECT max(score) FROM visits)"), (Lines{"20"}));
  EXPECT_EQ(RowsOrFail(site_a,
                       "SELECT count(*) FROM visits WHERE score IN "
                       "(SELECT score FROM visits WHERE site = 'b')"),
            (Lines{"0"}));
  EXPECT_EQ(RowsOrFail(site_a, "SELECT site FROM visits UNION SELECT site FROM visits"),
            (Lines{"a"}));
  // A user's OR cannot widen the filter: it applies beneath the WHERE clause.
  EXPECT_EQ(RowsOrFail(site_a, "SELECT count(*) FROM visits WHERE site = 'b' OR 1 = 1"),
            (Lines{"2"}));
}

TEST(Enforcement, PredicatesSeeTheMaskNotTheValue) {
  const sql::TableRestriction site_a = SiteA();
  // Probing for a subject id finds nothing: the predicate compares the mask.
  EXPECT_EQ(RowsOrFail(site_a, "SELECT count(*) FROM visits WHERE subject_id = 'S-001'"),
            (Lines{"0"}));
  EXPECT_EQ(RowsOrFail(site_a, "SELECT count(*) FROM visits WHERE subject_id LIKE 'S%'"),
            (Lines{"0"}));
  EXPECT_EQ(RowsOrFail(site_a, "SELECT count(*) FROM visits WHERE age > 40"), (Lines{"0"}));
  EXPECT_EQ(RowsOrFail(site_a, "SELECT min(subject_id) FROM visits"), (Lines{"redacted"}));
  // Column aliases rename masked columns; they do not unmask them.
  EXPECT_EQ(RowsOrFail(site_a, "SELECT s FROM visits AS v(x, s) ORDER BY s LIMIT 1"),
            (Lines{"redacted"}));
  // Qualified references are masked too.
  EXPECT_EQ(RowsOrFail(site_a, "SELECT v.subject_id FROM visits v LIMIT 1"), (Lines{"redacted"}));
}

TEST(Enforcement, TheCallersExpressionsNeverRunOnHiddenRows) {
  // 10 / (score - 30) divides by zero on the hidden row of site b whose score is 30: were the
  // caller's predicate evaluated there, the error would reveal that row.
  const std::string probe = "SELECT count(*) FROM visits WHERE 10 / (score - 30) IS NOT NULL";
  EXPECT_FALSE(Rows({}, probe).ok()) << "the probe must fail on the unrestricted table";
  EXPECT_EQ(RowsOrFail(SiteA(), probe), (Lines{"2"}));
  EXPECT_EQ(RowsOrFail(SiteA(),
                       "SELECT count(*) FROM visits v JOIN visits w ON v.score = w.score "
                       "WHERE 10 / (v.score - 30) > -100"),
            (Lines{"2"}));
}

TEST(Enforcement, ExplainShowsThePolicyButNoData) {
  auto rows = RowsOrFail(SiteA(), "EXPLAIN SELECT subject_id FROM visits WHERE score > 1");
  std::string plan;
  for (const auto& line : rows) plan += line + "\n";
  EXPECT_NE(plan.find("redacted"), std::string::npos) << plan;
  EXPECT_EQ(plan.find("S-00"), std::string::npos) << plan;
}

TEST(Enforcement, MasksKeepTheColumnType) {
  sql::SqlEngine engine(std::make_shared<RestrictedProvider>(Visits(), SiteA()));
  auto schema = engine.Describe("SELECT * FROM visits");
  ASSERT_TRUE(schema.ok()) << schema.status().ToString();
  EXPECT_TRUE((*schema)->Equals(*VisitSchema())) << (*schema)->ToString();
}

TEST(Enforcement, ABrokenPolicyFailsTheQueryNeverOpensTheTable) {
  for (const sql::TableRestriction& broken :
       {sql::TableRestriction{.row_filter = "no_such_column = 1"},
        sql::TableRestriction{.row_filter = "score"},
        sql::TableRestriction{.row_filter = "site IN (SELECT site FROM visits)"},
        sql::TableRestriction{.masks = {{"no_such_column", "NULL"}}},
        sql::TableRestriction{.masks = {{"age", "count(*)"}}},
        sql::TableRestriction{.row_filter = "1 = 1; SELECT 1"}}) {
    auto rows = Rows(broken, "SELECT * FROM visits");
    ASSERT_FALSE(rows.ok()) << broken.row_filter;
    EXPECT_NE(rows.status().message().find("its access policy cannot be applied"),
              std::string::npos)
        << rows.status().ToString();
  }
}

// ------------------------------------------------------------------ REST as SQL

TEST(RestQueryAsSql, QuotesNamesAndPassesOnlyLiterals) {
  RestQuery query;
  query.columns = {"subject_id", "score"};
  query.filters = {
      {"site", "eq", "'a'"}, {"score", "gte", "-1.5e3"}, {"subject_id", "ne", "'it''s'"}};
  query.sort = {{"score", true}};
  query.limit = 10;
  query.offset = 5;
  query.at.version = 3;
  auto sql = RestQueryAsSql("trials.visits", query, *VisitSchema());
  ASSERT_TRUE(sql.ok()) << sql.status().ToString();
  EXPECT_EQ(*sql,
            "SELECT \"subject_id\", \"score\" FROM \"trials.visits@v3\" WHERE \"site\" = 'a' AND "
            "\"score\" >= -1.5e3 AND \"subject_id\" <> 'it''s' ORDER BY \"score\" DESC LIMIT 10 "
            "OFFSET 5");
  // Whatever is not one literal never reaches the SQL text.
  for (const char* value : {"'a' OR 1 = 1", "'a'' OR ''1'' = ''1", "1; SELECT 1", "1 OR 1", "score",
                            "'unterminated", "--", "1e", ""}) {
    RestQuery injected;
    injected.filters = {{"site", "eq", value}};
    auto refused = RestQueryAsSql("trials.visits", injected, *VisitSchema());
    EXPECT_FALSE(refused.ok()) << value << " became " << *refused;
  }
  RestQuery unknown;
  unknown.columns = {"nope"};
  EXPECT_FALSE(RestQueryAsSql("trials.visits", unknown, *VisitSchema()).ok());
}

}  // namespace
}  // namespace nlk::server
