#include "sql/executor.h"

#include <arrow/acero/exec_plan.h>
#include <arrow/acero/options.h>
#include <arrow/array/util.h>
#include <arrow/compute/api.h>
#include <arrow/dataset/scanner.h>
#include <arrow/table.h>
#include <arrow/util/byte_size.h>

#include <atomic>
#include <sstream>
#include <utility>

namespace nlk::sql {

namespace acero = arrow::acero;
namespace compute = arrow::compute;
using Kind = LogicalOperator::Kind;

struct Executor::ScanCounters {
  std::atomic<int64_t> rows{0};
  std::atomic<int64_t> bytes{0};
};

namespace {

// Gives a scan's batches the plan's internal column names and counts what passes.
class RenamingReader : public arrow::RecordBatchReader {
 public:
  RenamingReader(std::shared_ptr<arrow::RecordBatchReader> input,
                 const std::shared_ptr<arrow::Schema>& names,
                 std::function<void(int64_t, int64_t)> count)
      : input_(std::move(input)), count_(std::move(count)) {
    arrow::FieldVector fields;
    const auto& source = input_->schema();
    for (int index = 0; index < source->num_fields(); ++index) {
      fields.push_back(source->field(index)->WithName(names->field(index)->name()));
    }
    schema_ = arrow::schema(std::move(fields));
  }

  std::shared_ptr<arrow::Schema> schema() const override { return schema_; }

  arrow::Status ReadNext(std::shared_ptr<arrow::RecordBatch>* out) override {
    std::shared_ptr<arrow::RecordBatch> batch;
    ARROW_RETURN_NOT_OK(input_->ReadNext(&batch));
    if (batch == nullptr) {
      *out = nullptr;
      return arrow::Status::OK();
    }
    if (count_) count_(batch->num_rows(), arrow::util::TotalBufferSize(*batch));
    *out = arrow::RecordBatch::Make(schema_, batch->num_rows(), batch->columns());
    return arrow::Status::OK();
  }

  arrow::Status Close() override { return input_->Close(); }

 private:
  std::shared_ptr<arrow::RecordBatchReader> input_;
  std::shared_ptr<arrow::Schema> schema_;
  std::function<void(int64_t, int64_t)> count_;
};

acero::Declaration SourceOf(std::shared_ptr<arrow::RecordBatchReader> reader) {
  return acero::Declaration("record_batch_reader_source",
                            acero::RecordBatchReaderSourceNodeOptions(std::move(reader)));
}

std::string JoinTypeName(acero::JoinType type) {
  switch (type) {
    case acero::JoinType::INNER:
      return "INNER";
    case acero::JoinType::LEFT_OUTER:
      return "LEFT";
    case acero::JoinType::RIGHT_OUTER:
      return "RIGHT";
    case acero::JoinType::FULL_OUTER:
      return "FULL";
    case acero::JoinType::LEFT_SEMI:
      return "SEMI";
    case acero::JoinType::LEFT_ANTI:
      return "ANTI";
    default:
      return "OTHER";
  }
}

std::string SortKeysText(const std::vector<SortKey>& keys) {
  std::string text;
  for (const auto& key : keys) {
    if (!text.empty()) text += ", ";
    text += key.column + (key.ascending ? " ASC" : " DESC") +
            (key.nulls_first ? " NULLS FIRST" : " NULLS LAST");
  }
  return text;
}

std::string ListText(const std::vector<std::string>& names) {
  std::string text;
  for (const auto& name : names) text += (text.empty() ? "" : ", ") + name;
  return "[" + text + "]";
}

}  // namespace

Executor::Executor(ExecutionGuard guard, arrow::MemoryPool* memory_pool)
    : guard_(std::move(guard)),
      memory_pool_(memory_pool),
      other_scans_(std::make_shared<ScanCounters>()) {}

arrow::Status Executor::Prepare(const PlanPointer& plan) {
  for (const auto& child : plan->children) ARROW_RETURN_NOT_OK(Prepare(child));
  if (plan->kind != Kind::kScan || plan->source.kind != TableSource::Kind::kDelta) {
    return arrow::Status::OK();
  }
  if (delta_scans_.count(plan.get()) > 0) return arrow::Status::OK();
  const auto& snapshot = plan->source.snapshot;
  delta::data::ScanBuilder builder(plan->source.store, snapshot->metadata(), snapshot->files());
  builder.Select(plan->columns);
  if (plan->pushed_filter) builder.Filter(*plan->pushed_filter);
  if (plan->pushed_limit) builder.Limit(*plan->pushed_limit);
  ARROW_ASSIGN_OR_RAISE(auto scan, builder.Build());
  delta_scans_[plan.get()] = std::move(scan);
  return arrow::Status::OK();
}

arrow::Result<std::shared_ptr<arrow::RecordBatchReader>> Executor::ScanReader(
    const PlanPointer& node) {
  auto counters = other_scans_;
  auto count = [counters](int64_t rows, int64_t bytes) {
    counters->rows += rows;
    counters->bytes += bytes;
  };
  const TableSource& source = node->source;
  switch (source.kind) {
    case TableSource::Kind::kDelta: {
      ARROW_RETURN_NOT_OK(Prepare(node));
      ARROW_ASSIGN_OR_RAISE(auto reader, delta_scans_.at(node.get())->ToRecordBatchReader());
      return std::make_shared<RenamingReader>(std::move(reader), node->schema, nullptr);
    }
    case TableSource::Kind::kDataset: {
      arrow::dataset::ScannerBuilder builder(source.dataset);
      ARROW_RETURN_NOT_OK(builder.Project(node->columns));
      if (node->pushed_filter) ARROW_RETURN_NOT_OK(builder.Filter(*node->pushed_filter));
      ARROW_RETURN_NOT_OK(builder.UseThreads(true));
      ARROW_RETURN_NOT_OK(builder.Pool(memory_pool_));
      ARROW_ASSIGN_OR_RAISE(auto scanner, builder.Finish());
      ARROW_ASSIGN_OR_RAISE(auto reader, scanner->ToRecordBatchReader());
      return std::make_shared<RenamingReader>(std::move(reader), node->schema, count);
    }
    case TableSource::Kind::kMemory: {
      count(source.table->num_rows(), arrow::util::TotalBufferSize(*source.table));
      std::vector<acero::Declaration> steps = {
          acero::Declaration("table_source", acero::TableSourceNodeOptions(source.table))};
      if (node->pushed_filter) {
        steps.emplace_back("filter", acero::FilterNodeOptions(*node->pushed_filter));
      }
      std::vector<compute::Expression> columns;
      std::vector<std::string> names;
      for (size_t index = 0; index < node->columns.size(); ++index) {
        columns.push_back(compute::field_ref(node->columns[index]));
        names.push_back(node->schema->field(static_cast<int>(index))->name());
      }
      steps.emplace_back("project", acero::ProjectNodeOptions(columns, names));
      acero::QueryOptions options;
      options.memory_pool = memory_pool_;
      return acero::DeclarationToReader(acero::Declaration::Sequence(std::move(steps)), options);
    }
  }
  return arrow::Status::Invalid("unknown table source");
}

arrow::Result<std::shared_ptr<arrow::RecordBatchReader>> Executor::Reader(const PlanPointer& node) {
  switch (node->kind) {
    case Kind::kScan:
      return ScanReader(node);
    case Kind::kSort:
    case Kind::kTopK: {
      ARROW_ASSIGN_OR_RAISE(auto input, Reader(node->children[0]));
      return MakeSortReader(std::move(input), node->sort_keys,
                            node->kind == Kind::kTopK ? node->offset : 0,
                            node->kind == Kind::kTopK ? node->count : std::nullopt, guard_);
    }
    case Kind::kLimit: {
      ARROW_ASSIGN_OR_RAISE(auto input, Reader(node->children[0]));
      return MakeLimitReader(std::move(input), node->offset, node->count, guard_);
    }
    case Kind::kWindow: {
      ARROW_ASSIGN_OR_RAISE(auto input, Reader(node->children[0]));
      return MakeWindowReader(std::move(input), node->windows, node->schema, guard_);
    }
    default: {
      ARROW_ASSIGN_OR_RAISE(auto declaration, Declare(node));
      acero::QueryOptions options;
      options.memory_pool = memory_pool_;
      return acero::DeclarationToReader(std::move(declaration), options);
    }
  }
}

arrow::Result<acero::Declaration> Executor::Declare(const PlanPointer& node) {
  std::vector<acero::Declaration::Input> inputs;
  auto child = [&](size_t index) -> arrow::Status {
    ARROW_ASSIGN_OR_RAISE(auto declaration, Declare(node->children[index]));
    inputs.emplace_back(std::move(declaration));
    return arrow::Status::OK();
  };
  switch (node->kind) {
    case Kind::kScan:
    case Kind::kSort:
    case Kind::kTopK:
    case Kind::kLimit:
    case Kind::kWindow: {
      ARROW_ASSIGN_OR_RAISE(auto reader, Reader(node));
      return SourceOf(std::move(reader));
    }
    case Kind::kSingleRow: {
      ARROW_ASSIGN_OR_RAISE(auto one, arrow::MakeArrayFromScalar(arrow::Int32Scalar(1), 1));
      auto table = arrow::Table::Make(node->schema, arrow::ArrayVector{one}, 1);
      return acero::Declaration("table_source", acero::TableSourceNodeOptions(table));
    }
    case Kind::kFilter: {
      ARROW_RETURN_NOT_OK(child(0));
      return acero::Declaration("filter", std::move(inputs),
                                acero::FilterNodeOptions(node->predicate));
    }
    case Kind::kProject: {
      ARROW_RETURN_NOT_OK(child(0));
      std::vector<std::string> names;
      for (const auto& field : node->schema->fields()) names.push_back(field->name());
      return acero::Declaration("project", std::move(inputs),
                                acero::ProjectNodeOptions(node->expressions, names));
    }
    case Kind::kAggregate: {
      ARROW_RETURN_NOT_OK(child(0));
      std::vector<compute::Aggregate> aggregates;
      std::string prefix = node->keys.empty() ? "" : "hash_";
      for (const auto& call : node->aggregates) {
        std::vector<arrow::FieldRef> targets;
        if (!call.input.empty()) targets.emplace_back(call.input);
        aggregates.emplace_back(prefix + call.function, call.options, std::move(targets),
                                call.output);
      }
      std::vector<arrow::FieldRef> keys(node->keys.begin(), node->keys.end());
      return acero::Declaration("aggregate", std::move(inputs),
                                acero::AggregateNodeOptions(std::move(aggregates), keys));
    }
    case Kind::kJoin: {
      ARROW_RETURN_NOT_OK(child(0));
      ARROW_RETURN_NOT_OK(child(1));
      std::vector<arrow::FieldRef> left(node->left_keys.begin(), node->left_keys.end());
      std::vector<arrow::FieldRef> right(node->right_keys.begin(), node->right_keys.end());
      acero::HashJoinNodeOptions options(node->join_type, left, right, node->join_filter);
      if (node->null_equal_keys) {
        options.key_cmp.assign(left.size(), acero::JoinKeyCmp::IS);
      }
      return acero::Declaration("hashjoin", std::move(inputs), std::move(options));
    }
    case Kind::kUnion: {
      for (size_t index = 0; index < node->children.size(); ++index) {
        ARROW_RETURN_NOT_OK(child(index));
      }
      return acero::Declaration("union", std::move(inputs), acero::ExecNodeOptions{});
    }
  }
  return arrow::Status::Invalid("unknown plan operator");
}

arrow::Result<std::shared_ptr<arrow::RecordBatchReader>> Executor::Execute(
    const PlanPointer& plan) {
  ARROW_RETURN_NOT_OK(Prepare(plan));
  return Reader(plan);
}

QueryMetrics Executor::metrics() const {
  QueryMetrics metrics;
  for (const auto& [node, scan] : delta_scans_) {
    auto scan_metrics = scan->metrics();
    metrics.files_total += scan_metrics.files_total;
    metrics.files_pruned_by_partition += scan_metrics.files_pruned_by_partition;
    metrics.files_skipped_by_stats += scan_metrics.files_skipped_by_stats;
    metrics.files_skipped_by_limit += scan_metrics.files_skipped_by_limit;
    metrics.files_read += scan_metrics.files_read;
    metrics.row_groups_total += scan_metrics.row_groups_total;
    metrics.row_groups_pruned += scan_metrics.row_groups_pruned;
    metrics.rows_scanned += scan_metrics.rows_read;
    metrics.bytes_scanned += scan_metrics.bytes_read;
  }
  metrics.rows_scanned += other_scans_->rows;
  metrics.bytes_scanned += other_scans_->bytes;
  return metrics;
}

std::string Executor::DescribeScan(const LogicalOperator& node) const {
  auto found = delta_scans_.find(&node);
  if (found == delta_scans_.end()) return "";
  auto metrics = found->second->metrics();
  std::ostringstream text;
  text << "files: " << metrics.files_total << " total, " << metrics.files_pruned_by_partition
       << " pruned by partition, " << metrics.files_skipped_by_stats << " skipped by stats, "
       << metrics.files_skipped_by_limit << " skipped by limit, " << found->second->files().size()
       << " to read";
  if (metrics.files_read > 0) {
    text << "; row groups: " << metrics.row_groups_total << " total, " << metrics.row_groups_pruned
         << " pruned; rows read: " << metrics.rows_read << "; bytes read: " << metrics.bytes_read;
  }
  return text.str();
}

namespace {

void Explain(const PlanPointer& node, const Executor* executor, int depth,
             std::vector<std::string>* lines) {
  std::string indent(static_cast<size_t>(depth) * 2, ' ');
  std::ostringstream line;
  switch (node->kind) {
    case Kind::kScan: {
      line << "Scan " << node->table_name << " (" << node->source.description << ")"
           << " columns=" << ListText(node->columns);
      if (node->pushed_filter) line << " filter=" << node->pushed_filter->ToString();
      if (node->pushed_limit) line << " limit=" << *node->pushed_limit;
      std::string details = executor != nullptr ? executor->DescribeScan(*node) : "";
      lines->push_back(indent + line.str());
      if (!details.empty()) lines->push_back(indent + "  " + details);
      return;
    }
    case Kind::kSingleRow:
      line << "SingleRow";
      break;
    case Kind::kFilter:
      line << "Filter " << node->predicate.ToString();
      break;
    case Kind::kProject: {
      line << "Project ";
      for (int index = 0; index < node->schema->num_fields(); ++index) {
        if (index > 0) line << ", ";
        line << node->schema->field(index)->name() << " := " << node->expressions[index].ToString();
      }
      break;
    }
    case Kind::kAggregate: {
      line << "Aggregate keys=" << ListText(node->keys);
      for (const auto& call : node->aggregates) {
        line << " " << call.output << " := " << call.function << "(" << call.input << ")";
      }
      break;
    }
    case Kind::kSort:
      line << "Sort " << SortKeysText(node->sort_keys);
      break;
    case Kind::kTopK:
      line << "TopK k=" << node->count.value_or(0) << " offset=" << node->offset << " "
           << SortKeysText(node->sort_keys);
      break;
    case Kind::kLimit:
      line << "Limit offset=" << node->offset;
      if (node->count) line << " count=" << *node->count;
      break;
    case Kind::kJoin: {
      line << "HashJoin " << JoinTypeName(node->join_type) << " on";
      for (size_t index = 0; index < node->left_keys.size(); ++index) {
        line << " " << node->left_keys[index] << " = " << node->right_keys[index];
      }
      if (!(node->join_filter == compute::literal(true))) {
        line << " filter=" << node->join_filter.ToString();
      }
      break;
    }
    case Kind::kUnion:
      line << "Union";
      break;
    case Kind::kWindow: {
      line << "Window";
      for (const auto& call : node->windows) {
        line << " " << call.output << " := f(" << call.input
             << ") partition=" << ListText(call.partition_by) << " order=["
             << SortKeysText(call.order_by) << "]";
      }
      break;
    }
  }
  lines->push_back(indent + line.str());
  for (const auto& child : node->children) Explain(child, executor, depth + 1, lines);
}

}  // namespace

std::vector<std::string> ExplainPlan(const PlanPointer& plan, const Executor* executor) {
  std::vector<std::string> lines;
  Explain(plan, executor, 0, &lines);
  return lines;
}

}  // namespace nlk::sql
