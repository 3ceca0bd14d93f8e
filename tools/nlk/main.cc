// nlk: the Neuralake command line. Each subcommand lives in its own file; this one only wires
// them together.
#include <CLI/CLI.hpp>

#include <string_view>

#include "auth_command.h"
#include "catalog_commands.h"
#include "cli_error.h"
#include "common/arrow_runtime.h"
#include "datagen_command.h"
#include "ingest_command.h"
#include "maintenance_commands.h"
#include "retention_command.h"
#include "serve_command.h"
#include "sql/delta_expression_compiler.h"
#include "sql_command.h"
#include "table_commands.h"

int main(int argc, char** argv) {
  // The streaming writer runs best on jemalloc, compaction on the default pool (mimalloc in
  // pyarrow's builds): chosen before anything allocates through Arrow. See arrow_runtime.h.
  if (argc > 1 && std::string_view(argv[1]) == "ingest") nlk::PreferJemallocMemoryPool();
  CLI::App app{"Neuralake: Delta Lake tables for neural data"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "nlk 0.1.0");
  int exit_code = 0;
  arrow::Status initialized = nlk::InitializeArrowCompute();
  if (!initialized.ok()) return nlk::cli::ReportError(initialized);
  // Writes enforce CHECK constraints, invariants and generated columns with the SQL engine.
  nlk::sql::RegisterDeltaExpressionCompiler();
  nlk::cli::AddDatagenCommand(app, exit_code);
  nlk::cli::AddTableCommands(app, exit_code);
  nlk::cli::AddIngestCommand(app, exit_code);
  nlk::cli::AddMaintenanceCommands(app, exit_code);
  nlk::cli::AddRetentionCommand(app, exit_code);
  nlk::cli::AddCatalogCommands(app, exit_code);
  nlk::cli::AddSqlCommand(app, exit_code);
  nlk::cli::AddServeCommand(app, exit_code);
  nlk::cli::AddAuthCommand(app, exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    // --help and --version end parsing with code 0; usage errors exit 2, as documented.
    return app.exit(error) == 0 ? 0 : 2;
  }
  return exit_code;
}
