#include "sql/sql_engine.h"

#include <arrow/builder.h>
#include <arrow/table.h>

#include <atomic>
#include <utility>

#include "common/arrow_runtime.h"
#include "sql/binder.h"
#include "sql/executor.h"
#include "sql/optimizer.h"
#include "sql/parser.h"
#include "sql/sql_functions.h"

namespace nlk::sql {

namespace {

// The query's face to the caller: user-facing column names, limits, row counting.
class ResultReader : public arrow::RecordBatchReader {
 public:
  ResultReader(std::shared_ptr<arrow::RecordBatchReader> input,
               std::shared_ptr<arrow::Schema> schema, ExecutionGuard guard,
               std::optional<int64_t> max_rows, std::shared_ptr<std::atomic<int64_t>> returned,
               std::shared_ptr<Executor> executor)
      : input_(std::move(input)),
        schema_(std::move(schema)),
        guard_(std::move(guard)),
        max_rows_(max_rows),
        returned_(std::move(returned)),
        executor_(std::move(executor)) {}

  std::shared_ptr<arrow::Schema> schema() const override { return schema_; }

  arrow::Status ReadNext(std::shared_ptr<arrow::RecordBatch>* out) override {
    *out = nullptr;
    auto status = guard_.Check();
    if (!status.ok()) {
      ARROW_RETURN_NOT_OK(input_->Close());
      return status;
    }
    std::shared_ptr<arrow::RecordBatch> batch;
    ARROW_RETURN_NOT_OK(input_->ReadNext(&batch));
    if (batch == nullptr) return arrow::Status::OK();
    int64_t total = (*returned_ += batch->num_rows());
    if (max_rows_ && total > *max_rows_) {
      ARROW_RETURN_NOT_OK(input_->Close());
      return arrow::Status::CapacityError("query result exceeds the limit of ", *max_rows_,
                                          " rows; add a LIMIT or narrow the query");
    }
    *out = arrow::RecordBatch::Make(schema_, batch->num_rows(), batch->columns());
    return arrow::Status::OK();
  }

  arrow::Status Close() override { return input_->Close(); }

 private:
  std::shared_ptr<arrow::RecordBatchReader> input_;
  std::shared_ptr<arrow::Schema> schema_;
  ExecutionGuard guard_;
  std::optional<int64_t> max_rows_;
  std::shared_ptr<std::atomic<int64_t>> returned_;
  std::shared_ptr<Executor> executor_;  // keeps the scans alive while reading
};

// Scalar subqueries run before the query; their scans count towards its figures.
void AddMetrics(QueryMetrics* total, const QueryMetrics& part) {
  total->files_total += part.files_total;
  total->files_pruned_by_partition += part.files_pruned_by_partition;
  total->files_skipped_by_stats += part.files_skipped_by_stats;
  total->files_skipped_by_limit += part.files_skipped_by_limit;
  total->files_read += part.files_read;
  total->row_groups_total += part.row_groups_total;
  total->row_groups_pruned += part.row_groups_pruned;
  total->rows_scanned += part.rows_scanned;
  total->bytes_scanned += part.bytes_scanned;
}

// EXPLAIN's answer: one utf8 column "plan", a row per line.
std::shared_ptr<arrow::Schema> TextRowsSchema() {
  return arrow::schema({arrow::field("plan", arrow::utf8(), false)});
}

arrow::Result<std::shared_ptr<arrow::RecordBatchReader>> TextRows(
    const std::vector<std::string>& lines) {
  arrow::StringBuilder builder;
  ARROW_RETURN_NOT_OK(builder.AppendValues(lines));
  ARROW_ASSIGN_OR_RAISE(auto column, builder.Finish());
  auto schema = TextRowsSchema();
  auto batch = arrow::RecordBatch::Make(schema, column->length(), {column});
  return arrow::RecordBatchReader::Make({batch}, schema);
}

// The plan's columns under the names the query gives them (plans name columns internally).
arrow::Result<std::shared_ptr<arrow::Schema>> NamedSchema(const arrow::Schema& schema,
                                                          const std::vector<std::string>& names) {
  if (schema.num_fields() != static_cast<int>(names.size())) {
    return arrow::Status::UnknownError("SQL engine: plan yields ", schema.num_fields(),
                                       " columns for ", names.size(), " names");
  }
  arrow::FieldVector fields;
  for (int index = 0; index < schema.num_fields(); ++index) {
    fields.push_back(schema.field(index)->WithName(names[index]));
  }
  return arrow::schema(std::move(fields));
}

}  // namespace

SqlEngine::SqlEngine(std::shared_ptr<TableCatalog> catalog) : catalog_(std::move(catalog)) {}

// A statement planned and ready to run, with the guard its operators check.
struct SqlEngine::Planned {
  ExecutionGuard guard;
  Statement statement;
  BoundQuery query;
  PlanPointer plan;
  std::shared_ptr<QueryMetrics> subquery_metrics;
};

arrow::Result<SqlEngine::Planned> SqlEngine::Plan(std::string_view sql, const QueryOptions& options,
                                                  const Statement* parsed) const {
  ARROW_RETURN_NOT_OK(InitializeArrowCompute());
  ARROW_RETURN_NOT_OK(RegisterSqlFunctions());
  Planned planned;
  ExecutionGuard& guard = planned.guard;
  guard.stop_token = options.stop_token;
  if (options.timeout) guard.deadline = std::chrono::steady_clock::now() + *options.timeout;
  if (options.memory_pool != nullptr) guard.memory_pool = options.memory_pool;
  if (options.max_memory_bytes) {
    guard.memory_budget = QueryMemoryPool::Create(guard.memory_pool, *options.max_memory_bytes);
    guard.memory_pool = guard.memory_budget.get();
  }

  if (parsed != nullptr) {
    if (parsed->select == nullptr) return arrow::Status::Invalid("the statement is not a query");
    planned.statement = *parsed;
  } else {
    ARROW_ASSIGN_OR_RAISE(planned.statement, ParseStatement(sql));
  }
  int64_t now_microseconds = std::chrono::duration_cast<std::chrono::microseconds>(
                                 std::chrono::system_clock::now().time_since_epoch())
                                 .count();
  // Uncorrelated subqueries used as values run to their first two rows (two: enough to tell
  // "more than one row" apart) while binding.
  planned.subquery_metrics = std::make_shared<QueryMetrics>();
  auto run_subquery =
      [&guard, subquery_metrics = planned.subquery_metrics](
          const PlanPointer& subquery) -> arrow::Result<std::shared_ptr<arrow::Table>> {
    ARROW_ASSIGN_OR_RAISE(PlanPointer optimized, Optimize(subquery));
    auto executor = std::make_shared<Executor>(guard, guard.memory_pool);
    ARROW_ASSIGN_OR_RAISE(auto reader, executor->Execute(optimized));
    std::vector<std::shared_ptr<arrow::RecordBatch>> batches;
    int64_t rows = 0;
    while (rows < 2) {
      ARROW_RETURN_NOT_OK(guard.Check());
      std::shared_ptr<arrow::RecordBatch> batch;
      ARROW_RETURN_NOT_OK(reader->ReadNext(&batch));
      if (batch == nullptr) break;
      rows += batch->num_rows();
      batches.push_back(std::move(batch));
    }
    ARROW_RETURN_NOT_OK(reader->Close());
    AddMetrics(subquery_metrics.get(), executor->metrics());
    return arrow::Table::FromRecordBatches(reader->schema(), batches);
  };
  Binder binder(sql, catalog_.get(), now_microseconds, run_subquery);
  ARROW_ASSIGN_OR_RAISE(planned.query, binder.Bind(*planned.statement.select));
  ARROW_ASSIGN_OR_RAISE(planned.plan, Optimize(planned.query.plan));
  return planned;
}

arrow::Result<std::shared_ptr<arrow::Schema>> SqlEngine::Describe(
    std::string_view sql, const QueryOptions& options) const {
  ARROW_ASSIGN_OR_RAISE(Planned planned, Plan(sql, options));
  if (planned.statement.explain) return TextRowsSchema();
  return NamedSchema(*planned.plan->schema, planned.query.names);
}

arrow::Result<QueryResult> SqlEngine::Execute(std::string_view sql,
                                              const QueryOptions& options) const {
  return Run(sql, options, nullptr);
}

arrow::Result<QueryResult> SqlEngine::ExecuteParsed(std::string_view sql,
                                                    const Statement& statement,
                                                    const QueryOptions& options) const {
  return Run(sql, options, &statement);
}

arrow::Result<QueryResult> SqlEngine::Run(std::string_view sql, const QueryOptions& options,
                                          const Statement* parsed) const {
  ARROW_ASSIGN_OR_RAISE(Planned planned, Plan(sql, options, parsed));
  ExecutionGuard& guard = planned.guard;
  const Statement& statement = planned.statement;
  const PlanPointer& plan = planned.plan;
  std::shared_ptr<QueryMetrics> subquery_metrics = planned.subquery_metrics;

  auto executor = std::make_shared<Executor>(guard, guard.memory_pool);
  auto returned = std::make_shared<std::atomic<int64_t>>(0);
  QueryResult result;
  result.metrics_source = [executor, returned, subquery_metrics]() {
    QueryMetrics metrics = executor->metrics();
    AddMetrics(&metrics, *subquery_metrics);
    metrics.rows_returned = *returned;
    return metrics;
  };

  if (statement.explain) {
    ARROW_RETURN_NOT_OK(executor->Prepare(plan));
    std::vector<std::string> lines;
    if (statement.analyze) {
      ARROW_ASSIGN_OR_RAISE(auto reader, executor->Execute(plan));
      int64_t rows = 0;
      while (true) {
        ARROW_RETURN_NOT_OK(guard.Check());
        std::shared_ptr<arrow::RecordBatch> batch;
        ARROW_RETURN_NOT_OK(reader->ReadNext(&batch));
        if (batch == nullptr) break;
        rows += batch->num_rows();
      }
      lines = ExplainPlan(plan, executor.get());
      QueryMetrics metrics = executor->metrics();
      lines.push_back("rows returned: " + std::to_string(rows) +
                      "; rows scanned: " + std::to_string(metrics.rows_scanned) +
                      "; bytes scanned: " + std::to_string(metrics.bytes_scanned));
    } else {
      lines = ExplainPlan(plan, executor.get());
    }
    ARROW_ASSIGN_OR_RAISE(result.reader, TextRows(lines));
    result.schema = result.reader->schema();
    result.is_explain = true;
    return result;
  }

  ARROW_ASSIGN_OR_RAISE(auto reader, executor->Execute(plan));
  ARROW_ASSIGN_OR_RAISE(result.schema, NamedSchema(*reader->schema(), planned.query.names));
  result.reader = std::make_shared<ResultReader>(std::move(reader), result.schema, guard,
                                                 options.max_rows, returned, executor);
  return result;
}

}  // namespace nlk::sql
