#include "sql_write.h"

#include <iostream>
#include <string>

#include "common/json_writer.h"
#include "sql/write_statement.h"
#include "writer_rule.h"

namespace nlk::cli {
namespace {

namespace dml = delta::dml;

arrow::Result<dml::RowChangeMode> ParseMode(const std::string& mode) {
  if (mode == "auto") return dml::RowChangeMode::kTableDefault;
  if (mode == "copy-on-write") return dml::RowChangeMode::kCopyOnWrite;
  if (mode == "deletion-vectors") return dml::RowChangeMode::kDeletionVectors;
  return arrow::Status::Invalid("--mode '", mode,
                                "' is not one of auto, copy-on-write, deletion-vectors");
}

std::string Tag(const sql::WriteStatementResult& result) {
  // psql's INSERT tag carries an OID, always 0 since PostgreSQL 12.
  return result.command + (result.command == "INSERT" ? " 0 " : " ") + std::to_string(result.rows);
}

void PrintText(const sql::WriteStatementResult& result) {
  std::cout << Tag(result) << std::endl;
  if (!result.committed) {
    std::cout << "no rows " << (result.command == "INSERT" ? "to insert" : "matched")
              << "; the table is unchanged at version " << result.version << std::endl;
    return;
  }
  std::cout << "committed version " << result.version << " of " << result.table_uri;
  if (result.dml) {
    const dml::DmlResult& figures = *result.dml;
    std::cout << " (" << (figures.used_deletion_vectors ? "deletion vectors" : "copy-on-write")
              << ")" << std::endl;
    std::cout << "files: " << figures.files_removed << " removed, " << figures.files_added
              << " added; deletion vectors: " << figures.deletion_vectors_added << " added, "
              << figures.deletion_vectors_updated
              << " updated; files opened: " << figures.files_opened << " of " << figures.files_total
              << std::endl;
  } else if (result.write) {
    std::cout << std::endl
              << "files: " << result.write->files_added << " added, " << result.write->bytes_written
              << " bytes" << std::endl;
  }
}

void PrintJson(const sql::WriteStatementResult& result) {
  JsonWriter json;
  json.BeginObject();
  json.Key("command");
  json.String(result.command);
  json.Key("rows");
  json.Int(result.rows);
  json.Key("version");
  json.Int(result.version);
  json.Key("committed");
  json.Bool(result.committed);
  json.Key("table");
  json.String(result.table_uri);
  if (result.dml) {
    const dml::DmlResult& figures = *result.dml;
    json.Key("mode");
    json.String(figures.used_deletion_vectors ? "deletion-vectors" : "copy-on-write");
    json.Key("files_removed");
    json.Int(figures.files_removed);
    json.Key("files_added");
    json.Int(figures.files_added);
    json.Key("deletion_vectors_added");
    json.Int(figures.deletion_vectors_added);
    json.Key("deletion_vectors_updated");
    json.Int(figures.deletion_vectors_updated);
    json.Key("files_opened");
    json.Int(figures.files_opened);
    json.Key("files_total");
    json.Int(figures.files_total);
  } else if (result.write) {
    json.Key("files_added");
    json.Int(result.write->files_added);
    json.Key("bytes_written");
    json.Int(result.write->bytes_written);
  }
  json.EndObject();
  std::cout << json.str() << std::endl;
}

}  // namespace

arrow::Status RunWriteStatement(const std::string& sql, const sql::WriteStatement& statement,
                                const std::shared_ptr<sql::TableCatalog>& catalog,
                                const std::string& format, const std::string& mode) {
  if (format != "table" && format != "json") {
    return arrow::Status::Invalid("--format ", format, ": a write statement's result prints as ",
                                  "table or json");
  }
  sql::WriteStatementOptions options;
  ARROW_ASSIGN_OR_RAISE(options.mode, ParseMode(mode));
  options.check_target = [](const std::string& uri) { return CheckNlkMayWrite(uri); };
  ARROW_ASSIGN_OR_RAISE(auto result, sql::ExecuteWriteStatement(sql, statement, catalog, options));
  if (format == "json") {
    PrintJson(result);
  } else {
    PrintText(result);
  }
  const arrow::Status& maintenance =
      result.dml ? result.dml->maintenance_status
                 : (result.write ? result.write->maintenance_status : arrow::Status::OK());
  if (!maintenance.ok()) {
    std::cerr << "nlk: warning: committed, but the automatic checkpoint failed: "
              << maintenance.message() << std::endl;
  }
  return arrow::Status::OK();
}

}  // namespace nlk::cli
