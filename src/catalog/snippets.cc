#include "catalog/snippets.h"

#include <arrow/compute/expression.h>
#include <arrow/scalar.h>
#include <arrow/type.h>

#include <chrono>
#include <cstdio>

#include "common/time_units.h"
#include "delta/predicate.h"

namespace nlk::catalog {
namespace {

namespace compute = arrow::compute;

constexpr int kExampleRows = 10;

// A Python string literal for `text`.
std::string PythonString(std::string_view text) {
  std::string quoted = "\"";
  for (char c : text) {
    if (c == '\\' || c == '"') quoted += '\\';
    if (c == '\n') {
      quoted += "\\n";
      continue;
    }
    quoted += c;
  }
  return quoted + "\"";
}

// A C++ string literal for `text` (same escapes as Python's double-quoted strings).
std::string CppString(std::string_view text) { return PythonString(text); }

// A shell word in double quotes for `text`.
std::string ShellDoubleQuoted(std::string_view text) {
  std::string quoted = "\"";
  for (char c : text) {
    if (c == '\\' || c == '"' || c == '$' || c == '`') quoted += '\\';
    quoted += c;
  }
  return quoted + "\"";
}

const DocsFilter* FirstDocsFilter(const Table& table) {
  return table.docs_filters.empty() ? nullptr : &table.docs_filters.front();
}

// Python renderings of a bound predicate for the two dataframe libraries whose filters are
// expressions, not SQL text: `pc.field("x") == 3` (PyArrow) and `pl.col("x") == 3` (Polars).
class PythonExpressionWriter {
 public:
  explicit PythonExpressionWriter(std::string column_function)
      : column_function_(std::move(column_function)) {}

  arrow::Result<std::string> Write(const compute::Expression& expression) {
    if (const arrow::FieldRef* field = expression.field_ref()) {
      if (field->name() == nullptr) return Unsupported("a nested field reference");
      return column_function_ + "(" + PythonString(*field->name()) + ")";
    }
    if (const arrow::Datum* literal = expression.literal()) {
      if (!literal->is_scalar()) return Unsupported("a non-scalar literal");
      return WriteScalar(*literal->scalar());
    }
    const compute::Expression::Call* call = expression.call();
    if (call == nullptr) return Unsupported("an unknown expression");
    const std::string& name = call->function_name;
    const auto& arguments = call->arguments;
    if (name == "invert" && arguments.size() == 1) {
      ARROW_ASSIGN_OR_RAISE(std::string operand, Write(arguments[0]));
      return "~(" + operand + ")";
    }
    if ((name == "is_null" || name == "is_valid") && arguments.size() == 1) {
      ARROW_ASSIGN_OR_RAISE(std::string operand, Write(arguments[0]));
      return operand + (name == "is_null" ? ".is_null()" : ".is_not_null()");
    }
    std::string symbol = BinaryOperator(name);
    if (symbol.empty() || arguments.size() != 2) return Unsupported("function " + name);
    ARROW_ASSIGN_OR_RAISE(std::string left, Write(arguments[0]));
    ARROW_ASSIGN_OR_RAISE(std::string right, Write(arguments[1]));
    bool logical = symbol == "&" || symbol == "|";
    // Python's & and | bind tighter than comparisons, so every operand is parenthesized.
    return logical ? "(" + left + ") " + symbol + " (" + right + ")"
                   : left + " " + symbol + " " + right;
  }

  bool needs_datetime() const { return needs_datetime_; }

 private:
  static std::string BinaryOperator(const std::string& function) {
    if (function == "equal") return "==";
    if (function == "not_equal") return "!=";
    if (function == "less") return "<";
    if (function == "less_equal") return "<=";
    if (function == "greater") return ">";
    if (function == "greater_equal") return ">=";
    if (function == "and_kleene" || function == "and") return "&";
    if (function == "or_kleene" || function == "or") return "|";
    return "";
  }

  static arrow::Status Unsupported(const std::string& what) {
    return arrow::Status::NotImplemented("cannot write ", what, " as a Python filter");
  }

  arrow::Result<std::string> WriteScalar(const arrow::Scalar& scalar) {
    if (!scalar.is_valid) return "None";
    switch (scalar.type->id()) {
      case arrow::Type::BOOL:
        return static_cast<const arrow::BooleanScalar&>(scalar).value ? "True" : "False";
      case arrow::Type::STRING:
      case arrow::Type::LARGE_STRING:
        return PythonString(static_cast<const arrow::BaseBinaryScalar&>(scalar).view());
      case arrow::Type::DATE32: {
        needs_datetime_ = true;
        int32_t days = static_cast<const arrow::Date32Scalar&>(scalar).value;
        std::chrono::year_month_day date{std::chrono::sys_days{std::chrono::days{days}}};
        return "datetime.date(" + std::to_string(static_cast<int>(date.year())) + ", " +
               std::to_string(static_cast<unsigned>(date.month())) + ", " +
               std::to_string(static_cast<unsigned>(date.day())) + ")";
      }
      case arrow::Type::TIMESTAMP:
        return WriteTimestamp(static_cast<const arrow::TimestampScalar&>(scalar));
      default:
        if (arrow::is_integer(scalar.type->id()) || arrow::is_floating(scalar.type->id())) {
          return scalar.ToString();
        }
        return Unsupported("a literal of type " + scalar.type->ToString());
    }
  }

  arrow::Result<std::string> WriteTimestamp(const arrow::TimestampScalar& scalar) {
    needs_datetime_ = true;
    const auto& type = static_cast<const arrow::TimestampType&>(*scalar.type);
    const int64_t per_second = UnitsPerSecond(type.unit());
    int64_t seconds = scalar.value / per_second;
    int64_t fraction = scalar.value % per_second;
    if (fraction < 0) {
      fraction += per_second;
      --seconds;
    }
    int64_t microseconds = fraction * 1000000 / per_second;
    auto time = std::chrono::sys_seconds{std::chrono::seconds{seconds}};
    auto day = std::chrono::floor<std::chrono::days>(time);
    std::chrono::year_month_day date{day};
    std::chrono::hh_mm_ss clock{time - day};
    char text[160];
    std::snprintf(text, sizeof(text), "datetime.datetime(%d, %u, %u, %d, %d, %d, %lld%s)",
                  static_cast<int>(date.year()), static_cast<unsigned>(date.month()),
                  static_cast<unsigned>(date.day()), static_cast<int>(clock.hours().count()),
                  static_cast<int>(clock.minutes().count()),
                  static_cast<int>(clock.seconds().count()), static_cast<long long>(microseconds),
                  type.timezone().empty() ? "" : ", tzinfo=datetime.timezone.utc");
    return std::string(text);
  }

  std::string column_function_;
  bool needs_datetime_ = false;
};

struct PythonFilter {
  std::string expression;  // empty: no filter
  bool needs_datetime = false;
};

arrow::Result<PythonFilter> TranslateFilter(const Table& table, const arrow::Schema& schema,
                                            const std::string& column_function) {
  const DocsFilter* docs_filter = FirstDocsFilter(table);
  if (docs_filter == nullptr) return PythonFilter{};
  ARROW_ASSIGN_OR_RAISE(auto predicate, delta::ParsePredicate(docs_filter->filter, schema));
  PythonExpressionWriter writer(column_function);
  ARROW_ASSIGN_OR_RAISE(std::string expression, writer.Write(predicate));
  return PythonFilter{expression, writer.needs_datetime()};
}

std::string CurlSnippet(const Database& database, const Table& table,
                        const SnippetOptions& options) {
  return "curl -s -X POST " + options.serve_url + "/api/sql \\\n  --data " +
         ShellDoubleQuoted(ExampleQuery(database, table)) + "\n";
}

std::string DeltaRsSnippet(const Table& table, const std::string& uri) {
  std::string sql = "SELECT * FROM " + table.name.str();
  if (const DocsFilter* docs_filter = FirstDocsFilter(table))
    sql += " WHERE " + docs_filter->filter;
  sql += " LIMIT " + std::to_string(kExampleRows);
  return "from deltalake import DeltaTable, QueryBuilder\n\n"
         "table = DeltaTable(" +
         PythonString(uri) +
         ")\n"
         "rows = (\n"
         "    QueryBuilder()\n"
         "    .register(" +
         PythonString(table.name.view()) +
         ", table)\n"
         "    .execute(" +
         PythonString(sql) +
         ")\n"
         "    .read_all()\n"
         ")\n"
         "print(rows)\n";
}

std::string PolarsSnippet(const Table& table, const std::string& uri, const PythonFilter& filter) {
  std::string code = filter.needs_datetime ? "import datetime\n\n" : "";
  code += "import polars as pl\n\nframe = (\n";
  if (table.kind == TableKind::kDelta) {
    code += "    pl.scan_delta(" + PythonString(uri) + ")\n";
  } else {
    code += "    pl.scan_parquet(" + PythonString(uri + "/**/*.parquet") +
            ", hive_partitioning=" + (table.partition_columns.empty() ? "False" : "True") + ")\n";
  }
  if (!filter.expression.empty()) code += "    .filter(" + filter.expression + ")\n";
  code += "    .head(" + std::to_string(kExampleRows) + ")\n    .collect()\n)\nprint(frame)\n";
  return code;
}

std::string PyArrowSnippet(const Table& table, const std::string& uri, const PythonFilter& filter) {
  std::string code = filter.needs_datetime ? "import datetime\n\n" : "";
  code += "import pyarrow.compute as pc\n";
  if (table.kind == TableKind::kDelta) {
    code += "from deltalake import DeltaTable\n\ndataset = DeltaTable(" + PythonString(uri) +
            ").to_pyarrow_dataset()\n";
  } else {
    code += "import pyarrow.dataset as ds\n\ndataset = ds.dataset(" + PythonString(uri) +
            ", format=\"parquet\"" +
            (table.partition_columns.empty() ? "" : ", partitioning=\"hive\"") + ")\n";
  }
  // A threaded scan of a deltalake dataset sometimes aborts the interpreter at exit
  // ("terminate called without an active exception"), after the rows were printed; a few
  // example rows need no threads.
  std::string arguments = filter.expression.empty() ? "" : "filter=" + filter.expression + ", ";
  code += "rows = dataset.to_table(" + arguments + "use_threads=False).slice(0, " +
          std::to_string(kExampleRows) + ")\nprint(rows)\n";
  return code;
}

std::string PySparkSnippet(const Table& table, const std::string& uri) {
  std::string code =
      "from delta import configure_spark_with_delta_pip\n"
      "from pyspark.sql import SparkSession\n\n"
      "builder = (\n"
      "    SparkSession.builder.appName(\"neuralake\")\n"
      "    .config(\"spark.sql.extensions\", \"io.delta.sql.DeltaSparkSessionExtension\")\n"
      "    .config(\"spark.sql.catalog.spark_catalog\",\n"
      "            \"org.apache.spark.sql.delta.catalog.DeltaCatalog\")\n"
      ")\n"
      "spark = configure_spark_with_delta_pip(builder).getOrCreate()\n\n";
  code += table.kind == TableKind::kDelta
              ? "rows = spark.read.format(\"delta\").load(" + PythonString(uri) + ")"
              : "rows = spark.read.parquet(" + PythonString(uri) + ")";
  if (const DocsFilter* docs_filter = FirstDocsFilter(table)) {
    code += ".where(" + PythonString(docs_filter->filter) + ")";
  }
  code += ".limit(" + std::to_string(kExampleRows) + ")\nrows.show()\n";
  return code;
}

std::string FunctionName(const Table& table) {
  std::string name = "Print";
  bool upper = true;
  for (char c : table.name.view()) {
    if (c == '_') {
      upper = true;
      continue;
    }
    name += upper ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : c;
    upper = false;
  }
  return name;
}

std::string CppSnippet(const Database& database, const Table& table, const std::string& uri,
                       const SnippetOptions& options) {
  const DocsFilter* docs_filter = FirstDocsFilter(table);
  std::string function = FunctionName(table);
  if (table.kind == TableKind::kFunction) {
    return "#include <iostream>\n\n"
           "#include \"catalog/project_catalog.h\"\n\n"
           "arrow::Status " +
           function +
           "() {\n"
           "  const nlk::catalog::Table* table =\n"
           "      nlk::catalog::ProjectCatalog().FindTable(" +
           CppString(database.name.view()) + ", " + CppString(table.name.view()) +
           ");\n"
           "  ARROW_ASSIGN_OR_RAISE(auto rows, table->function({" +
           CppString(options.root) +
           "}));\n"
           "  std::cout << rows->Slice(0, " +
           std::to_string(kExampleRows) +
           ")->ToString() << std::endl;\n"
           "  return arrow::Status::OK();\n"
           "}\n";
  }
  if (table.kind == TableKind::kParquet) {
    return "#include <arrow/dataset/api.h>\n"
           "#include <arrow/filesystem/api.h>\n\n"
           "#include <iostream>\n\n"
           "#include \"delta/predicate.h\"\n\n"
           "arrow::Status " +
           function +
           "() {\n"
           "  std::string path;\n"
           "  ARROW_ASSIGN_OR_RAISE(auto file_system,\n"
           "                        arrow::fs::FileSystemFromUriOrPath(" +
           CppString(uri) +
           ", &path));\n"
           "  arrow::fs::FileSelector selector;\n"
           "  selector.base_dir = path;\n"
           "  selector.recursive = true;\n"
           "  arrow::dataset::FileSystemFactoryOptions factory_options;\n" +
           (table.partition_columns.empty()
                ? ""
                : "  factory_options.partitioning = "
                  "arrow::dataset::HivePartitioning::MakeFactory();\n") +
           "  ARROW_ASSIGN_OR_RAISE(auto factory, arrow::dataset::FileSystemDatasetFactory::Make(\n"
           "      file_system, selector, std::make_shared<arrow::dataset::ParquetFileFormat>(),\n"
           "      factory_options));\n"
           "  ARROW_ASSIGN_OR_RAISE(auto dataset, factory->Finish());\n"
           "  ARROW_ASSIGN_OR_RAISE(auto builder, dataset->NewScan());\n" +
           (docs_filter == nullptr
                ? ""
                : "  ARROW_ASSIGN_OR_RAISE(auto filter, nlk::delta::ParsePredicate(\n"
                  "      " +
                      CppString(docs_filter->filter) +
                      ", *dataset->schema()));\n"
                      "  ARROW_RETURN_NOT_OK(builder->Filter(filter));\n") +
           "  ARROW_ASSIGN_OR_RAISE(auto scanner, builder->Finish());\n"
           "  ARROW_ASSIGN_OR_RAISE(auto rows, scanner->Head(" +
           std::to_string(kExampleRows) +
           "));\n"
           "  std::cout << rows->ToString() << std::endl;\n"
           "  return arrow::Status::OK();\n"
           "}\n";
  }
  return "#include <iostream>\n\n"
         "#include \"delta/table.h\"\n\n"
         "arrow::Status " +
         function +
         "() {\n"
         "  ARROW_ASSIGN_OR_RAISE(auto table, nlk::delta::Table::Open(" +
         CppString(uri) +
         "));\n"
         "  nlk::delta::ReadOptions options;\n" +
         (docs_filter == nullptr ? ""
                                 : "  options.filter = " + CppString(docs_filter->filter) + ";\n") +
         "  options.limit = " + std::to_string(kExampleRows) +
         ";\n"
         "  ARROW_ASSIGN_OR_RAISE(auto reader, table->Read(options));\n"
         "  ARROW_ASSIGN_OR_RAISE(auto rows, reader->ToTable());\n"
         "  std::cout << rows->ToString() << std::endl;\n"
         "  return arrow::Status::OK();\n"
         "}\n";
}

}  // namespace

std::string ExampleQuery(const Database& database, const Table& table) {
  std::string sql = "SELECT * FROM " + QualifiedName(database, table);
  if (const DocsFilter* docs_filter = FirstDocsFilter(table))
    sql += " WHERE " + docs_filter->filter;
  return sql + " LIMIT " + std::to_string(kExampleRows);
}

arrow::Result<std::vector<Snippet>> BuildSnippets(const Database& database, const Table& table,
                                                  const SnippetOptions& options) {
  std::vector<Snippet> snippets;
  snippets.push_back(
      {"curl", "SQL · nlk serve (curl)", "shell", CurlSnippet(database, table, options)});
  std::string uri = ResolveUri(table.uri, options.root);
  if (table.kind == TableKind::kDelta) {
    snippets.push_back({"deltalake", "Python · delta-rs", "python", DeltaRsSnippet(table, uri)});
  }
  if (table.kind != TableKind::kFunction && options.schema != nullptr) {
    ARROW_ASSIGN_OR_RAISE(PythonFilter polars, TranslateFilter(table, *options.schema, "pl.col"));
    snippets.push_back({"polars", "Python · Polars", "python", PolarsSnippet(table, uri, polars)});
    ARROW_ASSIGN_OR_RAISE(PythonFilter pyarrow,
                          TranslateFilter(table, *options.schema, "pc.field"));
    snippets.push_back(
        {"pyarrow", "Python · PyArrow", "python", PyArrowSnippet(table, uri, pyarrow)});
  }
  if (table.kind != TableKind::kFunction) {
    snippets.push_back({"pyspark", "PySpark · delta-spark", "python", PySparkSnippet(table, uri)});
  }
  snippets.push_back(
      {"cpp", "C++ · Neuralake API", "cpp", CppSnippet(database, table, uri, options)});
  return snippets;
}

}  // namespace nlk::catalog
