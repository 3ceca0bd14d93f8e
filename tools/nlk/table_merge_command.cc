// `nlk table merge URI --source FILE.parquet | --source-sql QUERY --on COND --when-... CLAUSE`:
// reads the source, binds the ON condition and the clauses' SQL text over the target's and the
// source's columns (qualified by their aliases), and runs MERGE (delta/dml/merge.h).
//
// Clause texts follow SQL after "WHEN [NOT] MATCHED [BY SOURCE]":
//   --when-matched              "[AND cond] [THEN] UPDATE SET a = s.a, ... | UPDATE SET * | DELETE"
//   --when-not-matched          "[AND cond] [THEN] INSERT * | INSERT (a, b) VALUES (s.a, s.b)"
//   --when-not-matched-by-source "[AND cond] [THEN] UPDATE SET ... | DELETE"
#include "table_merge_command.h"

#include <arrow/api.h>

#include <cctype>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cli_error.h"
#include "delta/data/schema.h"
#include "delta/dml/merge.h"
#include "delta/table.h"
#include "input_files.h"
#include "sql/scalar_expression.h"
#include "sql/sql_engine.h"
#include "sql/table_at_uri.h"
#include "writer_rule.h"

namespace nlk::cli {
namespace {

namespace dml = delta::dml;

struct MergeArguments {
  std::string uri;
  std::string source_file;
  std::string source_sql;
  std::vector<std::string> source_tables;  // NAME=URI for --source-sql
  std::string on;
  std::string target_alias = "t";
  std::string source_alias = "s";
  std::vector<std::string> when_matched;
  std::vector<std::string> when_not_matched;
  std::vector<std::string> when_not_matched_by_source;
  std::string mode = "auto";
};

std::string Trim(std::string_view text) {
  size_t begin = text.find_first_not_of(" \t\r\n");
  if (begin == std::string_view::npos) return "";
  size_t end = text.find_last_not_of(" \t\r\n");
  return std::string(text.substr(begin, end - begin + 1));
}

bool IsWordChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

bool SameWord(std::string_view text, size_t at, std::string_view word) {
  if (at + word.size() > text.size()) return false;
  for (size_t i = 0; i < word.size(); ++i) {
    if (std::toupper(static_cast<unsigned char>(text[at + i])) != word[i]) return false;
  }
  return (at == 0 || !IsWordChar(text[at - 1])) &&
         (at + word.size() == text.size() || !IsWordChar(text[at + word.size()]));
}

// Calls `visit(position)` for each character outside quotes and parentheses until it returns
// true; returns that position or npos.
template <typename Visit>
size_t ScanTopLevel(std::string_view text, Visit visit) {
  int depth = 0;
  char quote = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (quote != 0) {
      if (c == quote) quote = 0;
      continue;
    }
    if (c == '\'' || c == '"') {
      quote = c;
    } else if (c == '(') {
      ++depth;
    } else if (c == ')') {
      --depth;
    } else if (depth == 0 && visit(i)) {
      return i;
    }
  }
  return std::string_view::npos;
}

size_t FindKeyword(std::string_view text, std::string_view word) {
  return ScanTopLevel(text, [&](size_t i) { return SameWord(text, i, word); });
}

std::vector<std::string> SplitTopLevel(std::string_view text, char separator) {
  std::vector<std::string> parts;
  size_t start = 0;
  ScanTopLevel(text, [&](size_t i) {
    if (text[i] == separator) {
      parts.push_back(Trim(text.substr(start, i - start)));
      start = i + 1;
    }
    return false;
  });
  parts.push_back(Trim(text.substr(start)));
  return parts;
}

// The text after a leading keyword, or nullopt when `text` does not start with it.
std::optional<std::string> AfterWord(std::string_view text, std::string_view word) {
  if (!SameWord(text, 0, word)) return std::nullopt;
  return Trim(text.substr(word.size()));
}

// Binds SQL text over the target's columns (qualified by the target alias) and the source's
// (by the source alias) into an expression over "target.<col>" / "source.<col>".
class Binder {
 public:
  Binder(const arrow::Schema& target, const arrow::Schema& source, const MergeArguments& args)
      : target_(target) {
    for (const auto& field : target.fields()) {
      columns_.push_back(
          {args.target_alias, field->name(), field->type(), dml::TargetField(field->name())});
    }
    for (const auto& field : source.fields()) {
      columns_.push_back(
          {args.source_alias, field->name(), field->type(), dml::SourceField(field->name())});
    }
  }

  arrow::Result<arrow::compute::Expression> Condition(const std::string& text,
                                                      const std::string& where) const {
    sql::ScalarExpressionOptions options;
    options.boolean = true;
    auto bound = sql::BindScalarExpression(text, columns_, options);
    if (!bound.ok()) {
      return arrow::Status::Invalid(where, " '", text, "': ", bound.status().message());
    }
    return bound->expression;
  }

  arrow::Result<arrow::compute::Expression> Value(const std::string& text,
                                                  const std::string& column,
                                                  const std::string& where) const {
    sql::ScalarExpressionOptions options;
    options.result_type = target_.GetFieldByName(column)->type();
    auto bound = sql::BindScalarExpression(text, columns_, options);
    if (!bound.ok()) {
      return arrow::Status::Invalid(where, ": value of '", column, "' (", text,
                                    "): ", bound.status().message());
    }
    return bound->expression;
  }

  // A target column named in SET or an INSERT column list: "col", "alias.col" or "\"Col\"".
  arrow::Result<std::string> TargetColumn(std::string text, const std::string& alias,
                                          const std::string& where) const {
    text = Trim(text);
    if (text.size() > alias.size() + 1 && SameWordPrefix(text, alias) &&
        text[alias.size()] == '.') {
      text = Trim(std::string_view(text).substr(alias.size() + 1));
    }
    if (text.size() >= 2 && text.front() == '"' && text.back() == '"') {
      std::string name = text.substr(1, text.size() - 2);
      if (target_.GetFieldIndex(name) >= 0) return name;
    } else {
      for (const auto& field : target_.fields()) {
        if (field->name().size() == text.size() && SameWord(field->name(), 0, Upper(text))) {
          return field->name();
        }
      }
    }
    std::string names;
    for (const auto& field : target_.fields()) {
      names += (names.empty() ? "" : ", ") + field->name();
    }
    return arrow::Status::Invalid(where, ": unknown target column '", text, "' (columns: ", names,
                                  ")");
  }

 private:
  static std::string Upper(std::string text) {
    for (char& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return text;
  }
  static bool SameWordPrefix(const std::string& text, const std::string& alias) {
    return SameWord(text.substr(0, alias.size()), 0, Upper(alias));
  }

  const arrow::Schema& target_;
  std::vector<sql::ExpressionColumn> columns_;
};

// "a = expr, b = expr" into assignments.
arrow::Status ParseAssignments(const std::string& text, const Binder& binder,
                               const MergeArguments& args, const std::string& where,
                               dml::MergeClause* clause) {
  for (const std::string& item : SplitTopLevel(text, ',')) {
    size_t equals = ScanTopLevel(item, [&](size_t i) { return item[i] == '='; });
    if (equals == std::string::npos || equals == 0) {
      return arrow::Status::Invalid(where, ": '", item, "' must look like column = value");
    }
    ARROW_ASSIGN_OR_RAISE(std::string column,
                          binder.TargetColumn(item.substr(0, equals), args.target_alias, where));
    ARROW_ASSIGN_OR_RAISE(auto value, binder.Value(Trim(item.substr(equals + 1)), column, where));
    clause->assignments.push_back({column, std::move(value)});
  }
  return arrow::Status::OK();
}

// "(a, b) VALUES (x, y)".
arrow::Status ParseInsertValues(const std::string& text, const Binder& binder,
                                const MergeArguments& args, const std::string& where,
                                dml::MergeClause* clause) {
  auto Parenthesized = [&](std::string_view part) -> arrow::Result<std::string> {
    std::string trimmed = Trim(part);
    if (trimmed.size() < 2 || trimmed.front() != '(' || trimmed.back() != ')') {
      return arrow::Status::Invalid(where,
                                    ": expected INSERT * or INSERT (columns) VALUES "
                                    "(values)");
    }
    return trimmed.substr(1, trimmed.size() - 2);
  };
  size_t values_at = FindKeyword(text, "VALUES");
  if (values_at == std::string::npos) {
    return arrow::Status::Invalid(where, ": expected INSERT * or INSERT (columns) VALUES (values)");
  }
  ARROW_ASSIGN_OR_RAISE(std::string columns_text, Parenthesized(text.substr(0, values_at)));
  ARROW_ASSIGN_OR_RAISE(std::string values_text, Parenthesized(text.substr(values_at + 6)));
  std::vector<std::string> columns = SplitTopLevel(columns_text, ',');
  std::vector<std::string> values = SplitTopLevel(values_text, ',');
  if (columns.size() != values.size()) {
    return arrow::Status::Invalid(where, ": ", columns.size(), " columns but ", values.size(),
                                  " values");
  }
  for (size_t i = 0; i < columns.size(); ++i) {
    ARROW_ASSIGN_OR_RAISE(std::string column,
                          binder.TargetColumn(columns[i], args.target_alias, where));
    ARROW_ASSIGN_OR_RAISE(auto value, binder.Value(values[i], column, where));
    clause->assignments.push_back({column, std::move(value)});
  }
  return arrow::Status::OK();
}

arrow::Result<dml::MergeClause> ParseClause(const std::string& text, dml::MergeClauseKind kind,
                                            const std::string& option, const Binder& binder,
                                            const MergeArguments& args) {
  const std::string where = option + " '" + text + "'";
  dml::MergeClause clause;
  clause.kind = kind;
  std::string rest = Trim(text);
  if (auto after_and = AfterWord(rest, "AND")) {
    size_t end = FindKeyword(*after_and, "THEN");
    size_t action_at = end;
    if (end == std::string::npos) {
      for (std::string_view word : {"UPDATE", "DELETE", "INSERT"}) {
        end = std::min(end, FindKeyword(*after_and, word));
      }
      action_at = end;
    } else {
      action_at = end + 4;
    }
    if (end == std::string::npos) {
      return arrow::Status::Invalid(where, ": no UPDATE, DELETE or INSERT after the condition");
    }
    clause.condition_text = Trim(after_and->substr(0, end));
    if (clause.condition_text.empty()) {
      return arrow::Status::Invalid(where, ": AND without a condition");
    }
    ARROW_ASSIGN_OR_RAISE(clause.condition, binder.Condition(clause.condition_text, where));
    rest = Trim(after_and->substr(action_at));
  } else if (auto after_then = AfterWord(rest, "THEN")) {
    rest = *after_then;
  }
  if (auto after = AfterWord(rest, "DELETE")) {
    if (!after->empty()) return arrow::Status::Invalid(where, ": unexpected '", *after, "'");
    clause.action = dml::MergeAction::kDelete;
  } else if (auto update = AfterWord(rest, "UPDATE")) {
    clause.action = dml::MergeAction::kUpdate;
    auto set = AfterWord(*update, "SET");
    if (!set) return arrow::Status::Invalid(where, ": expected UPDATE SET");
    if (*set == "*") {
      clause.all_columns = true;
    } else {
      ARROW_RETURN_NOT_OK(ParseAssignments(*set, binder, args, where, &clause));
    }
  } else if (auto insert = AfterWord(rest, "INSERT")) {
    clause.action = dml::MergeAction::kInsert;
    if (*insert == "*") {
      clause.all_columns = true;
    } else {
      ARROW_RETURN_NOT_OK(ParseInsertValues(*insert, binder, args, where, &clause));
    }
  } else {
    return arrow::Status::Invalid(where, ": expected [AND condition] then ",
                                  kind == dml::MergeClauseKind::kNotMatched
                                      ? "INSERT * or INSERT (columns) VALUES (values)"
                                      : "UPDATE SET ... or DELETE");
  }
  return clause;
}

arrow::Result<dml::RowChangeMode> ParseMode(const std::string& mode) {
  if (mode == "auto") return dml::RowChangeMode::kTableDefault;
  if (mode == "copy-on-write") return dml::RowChangeMode::kCopyOnWrite;
  if (mode == "deletion-vectors") return dml::RowChangeMode::kDeletionVectors;
  return arrow::Status::Invalid("--mode '", mode,
                                "' is not one of auto, copy-on-write, deletion-vectors");
}

arrow::Result<std::shared_ptr<arrow::Table>> ReadSource(const MergeArguments& args) {
  if (args.source_file.empty() == args.source_sql.empty()) {
    return arrow::Status::Invalid(
        "merge: give the source as --source FILE.parquet or as "
        "--source-sql QUERY (one of them)");
  }
  std::shared_ptr<arrow::RecordBatchReader> reader;
  if (!args.source_file.empty()) {
    auto opened = OpenParquetInputs({args.source_file});
    if (!opened.ok()) {
      return arrow::Status::Invalid("--source '", args.source_file,
                                    "': ", opened.status().message());
    }
    reader = std::move(*opened);
  } else {
    auto catalog = std::make_shared<sql::MapTableCatalog>();
    for (const std::string& binding : args.source_tables) {
      auto equals = binding.find('=');
      if (equals == std::string::npos || equals == 0 || equals + 1 == binding.size()) {
        return arrow::Status::Invalid("--source-table expects NAME=URI, got '", binding, "'");
      }
      std::string uri = binding.substr(equals + 1);
      // A relative local path names a file under the working directory.
      if (uri.find("://") == std::string::npos && !std::filesystem::path(uri).is_absolute()) {
        uri = std::filesystem::absolute(uri).string();
      }
      ARROW_RETURN_NOT_OK(sql::RegisterTableAtUri(*catalog, binding.substr(0, equals), uri));
    }
    sql::SqlEngine engine(catalog);
    auto result = engine.Execute(args.source_sql, {});
    if (!result.ok()) {
      return arrow::Status::Invalid("--source-sql: ", result.status().message());
    }
    reader = result->reader;
  }
  auto table = arrow::Table::FromRecordBatchReader(reader.get());
  if (!table.ok()) {
    return arrow::Status::Invalid("reading the merge source failed: ", table.status().message());
  }
  return std::move(*table);
}

void PrintResult(const dml::MergeResult& result) {
  if (!result.committed) {
    std::cout << "nothing to change; the table is unchanged at version " << result.version
              << std::endl;
  } else {
    std::cout << "merged as version " << result.version << " ("
              << (result.used_deletion_vectors ? "deletion vectors" : "copy-on-write") << ")"
              << std::endl;
  }
  std::cout << "source rows: " << result.source_rows << "; rows inserted: " << result.rows_inserted
            << ", updated: " << result.rows_updated << " (" << result.rows_matched_updated
            << " matched, " << result.rows_not_matched_by_source_updated
            << " not matched by source)"
            << ", deleted: " << result.rows_deleted << " (" << result.rows_matched_deleted
            << " matched, " << result.rows_not_matched_by_source_deleted
            << " not matched by source), copied: " << result.rows_copied << std::endl;
  std::cout << "files: " << result.files_removed << " removed, " << result.files_added
            << " added; deletion vectors: " << result.deletion_vectors_added << " added, "
            << result.deletion_vectors_updated << " updated; files opened: " << result.files_opened
            << " of " << result.files_total << " (" << result.files_pruned_by_partition
            << " pruned by partition, " << result.files_skipped_by_stats << " skipped by stats)"
            << std::endl;
  if (!result.maintenance_status.ok()) {
    std::cerr << "nlk: warning: committed, but the automatic checkpoint failed: "
              << result.maintenance_status.message() << std::endl;
  }
}

arrow::Status RunMerge(const MergeArguments& args) {
  if (args.when_matched.empty() && args.when_not_matched.empty() &&
      args.when_not_matched_by_source.empty()) {
    return arrow::Status::Invalid(
        "merge: give at least one of --when-matched, "
        "--when-not-matched, --when-not-matched-by-source");
  }
  if (args.target_alias == args.source_alias) {
    return arrow::Status::Invalid("merge: the target and source aliases must differ");
  }
  ARROW_RETURN_NOT_OK(CheckNlkMayWrite(args.uri));
  dml::DmlOptions options;
  ARROW_ASSIGN_OR_RAISE(options.mode, ParseMode(args.mode));
  ARROW_ASSIGN_OR_RAISE(auto table, delta::Table::Open(args.uri));
  ARROW_ASSIGN_OR_RAISE(auto snapshot, table->SnapshotFor({}));
  ARROW_ASSIGN_OR_RAISE(auto target_schema,
                        delta::data::ParseDeltaSchema(snapshot->metadata().schema_string));
  ARROW_ASSIGN_OR_RAISE(auto source, ReadSource(args));

  Binder binder(*target_schema, *source->schema(), args);
  dml::MergeSpec spec;
  spec.on_text = args.on;
  ARROW_ASSIGN_OR_RAISE(spec.on, binder.Condition(args.on, "--on"));
  struct Group {
    const std::vector<std::string>* texts;
    dml::MergeClauseKind kind;
    const char* option;
  };
  for (const Group& group :
       {Group{&args.when_matched, dml::MergeClauseKind::kMatched, "--when-matched"},
        Group{&args.when_not_matched, dml::MergeClauseKind::kNotMatched, "--when-not-matched"},
        Group{&args.when_not_matched_by_source, dml::MergeClauseKind::kNotMatchedBySource,
              "--when-not-matched-by-source"}}) {
    for (const std::string& text : *group.texts) {
      ARROW_ASSIGN_OR_RAISE(auto clause, ParseClause(text, group.kind, group.option, binder, args));
      spec.clauses.push_back(std::move(clause));
    }
  }
  ARROW_ASSIGN_OR_RAISE(dml::MergeResult result, table->Merge(source, spec, options));
  PrintResult(result);
  return arrow::Status::OK();
}

}  // namespace

void AddTableMergeCommand(CLI::App& table, int& exit_code) {
  auto args = std::make_shared<MergeArguments>();
  CLI::App* command = table.add_subcommand(
      "merge", "MERGE INTO a table from a Parquet file or a SQL query (upsert, delete, insert)");
  command->add_option("uri", args->uri, "Target table: a path, file://... or s3://...")->required();
  command->add_option("--source", args->source_file, "The source rows: a Parquet file");
  command->add_option("--source-sql", args->source_sql,
                      "The source rows: a SQL query over the --source-table tables");
  command
      ->add_option("--source-table", args->source_tables,
                   "NAME=URI of a Delta table or Parquet file/directory for --source-sql "
                   "(repeatable)")
      ->allow_extra_args(false);
  command->add_option("--on", args->on, "The merge condition, e.g. \"t.id = s.id\"")->required();
  command->add_option("--target-alias", args->target_alias, "The target's name in expressions")
      ->capture_default_str();
  command->add_option("--source-alias", args->source_alias, "The source's name in expressions")
      ->capture_default_str();
  command
      ->add_option("--when-matched", args->when_matched,
                   "\"[AND cond] UPDATE SET col = expr, ... | UPDATE SET * | DELETE\" "
                   "(repeatable, tried in order)")
      ->allow_extra_args(false);
  command
      ->add_option("--when-not-matched", args->when_not_matched,
                   "\"[AND cond] INSERT * | INSERT (col, ...) VALUES (expr, ...)\" "
                   "(repeatable, tried in order)")
      ->allow_extra_args(false);
  command
      ->add_option("--when-not-matched-by-source", args->when_not_matched_by_source,
                   "\"[AND cond] UPDATE SET col = expr, ... | DELETE\" (repeatable, tried in "
                   "order)")
      ->allow_extra_args(false);
  command
      ->add_option("--mode", args->mode,
                   "auto (deletion vectors when the table enables them), copy-on-write or "
                   "deletion-vectors")
      ->capture_default_str();
  command->callback([args, &exit_code] {
    arrow::Status status = RunMerge(*args);
    if (!status.ok()) exit_code = ReportError(status);
  });
}

}  // namespace nlk::cli
