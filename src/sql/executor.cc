#include "sql/executor.h"

#include <arrow/acero/exec_plan.h>
#include <arrow/acero/options.h>
#include <arrow/array/concatenate.h>
#include <arrow/array/util.h>
#include <arrow/compute/api.h>
#include <arrow/table.h>

#include <arrow/util/thread_pool.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <sstream>
#include <utility>

#include "sql/guard_node.h"
#include "sql/small_key_aggregate.h"

namespace nlk::sql {

namespace acero = arrow::acero;
namespace compute = arrow::compute;
using Kind = LogicalOperator::Kind;

namespace {

// Gives a scan's batches the plan's internal column names.
class RenamingReader : public arrow::RecordBatchReader {
 public:
  RenamingReader(std::shared_ptr<arrow::RecordBatchReader> input,
                 const std::shared_ptr<arrow::Schema>& names)
      : input_(std::move(input)) {
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
    *out = arrow::RecordBatch::Make(schema_, batch->num_rows(), batch->columns());
    return arrow::Status::OK();
  }

  arrow::Status Close() override { return input_->Close(); }

 private:
  std::shared_ptr<arrow::RecordBatchReader> input_;
  std::shared_ptr<arrow::Schema> schema_;
};

// Runs an Acero plan and reads its output. Used instead of acero::DeclarationToReader, whose
// reader waits for the next batch without bound: a plan that fails while it starts (an error
// in a node's Init, such as a hash join refused its scratch memory) marks the plan finished
// with the error but never closes its sink, so that wait never ends; and nothing there watches
// the query's deadline or stop token. This reader also wakes up when the plan finishes and every
// 100 ms to check the guard; on an error or a cancellation it stops the plan and waits for its
// tasks before returning, so no plan or thread outlives the query.
class PlanReader : public arrow::RecordBatchReader {
 public:
  static arrow::Result<std::shared_ptr<arrow::RecordBatchReader>> Make(
      acero::Declaration declaration, arrow::MemoryPool* pool, ExecutionGuard guard) {
    ARROW_RETURN_NOT_OK(guard.Check());
    ARROW_RETURN_NOT_OK(RegisterGuardNode());
    // In a plan on the budget, the fixed scratch space nodes set up while the plan is built
    // and started (here) is not charged; later allocations are charged but not refused (see
    // QueryMemoryPool::unrefusing), and an overrun wakes this reader, which fails the query.
    std::optional<QueryMemoryPool::UnchargedScope> setup;
    auto budget = guard.memory_budget;
    if (budget != nullptr && pool == budget.get()) {
      setup.emplace(budget.get());
      pool = budget->unrefusing();
    } else {
      budget = nullptr;
    }
    acero::QueryOptions options;
    options.memory_pool = pool;
    compute::ExecContext context(pool, arrow::internal::GetCpuThreadPool());
    auto reader = std::shared_ptr<PlanReader>(new PlanReader(pool, std::move(guard)));
    if (budget != nullptr) {
      auto wake = reader->wake_;
      reader->budget_ = budget;
      reader->listener_ = budget->AddOverrunListener([wake] { wake->Notify(); });
    }
    ARROW_ASSIGN_OR_RAISE(reader->plan_, acero::ExecPlan::Make(options, context));
    acero::Declaration with_sink = acero::Declaration::Sequence(
        {std::move(declaration),
         {"sink", acero::SinkNodeOptions(&reader->generator_, &reader->schema_)}});
    ARROW_RETURN_NOT_OK(with_sink.AddToPlan(reader->plan_.get()));
    ARROW_RETURN_NOT_OK(reader->plan_->Validate());
    auto wake = reader->wake_;
    reader->plan_->finished().AddCallback([wake](const arrow::Status&) { wake->Notify(); });
    reader->plan_->StartProducing();
    reader->started_ = true;
    return reader;
  }

  ~PlanReader() override {
    Stop();
    if (budget_ != nullptr) budget_->RemoveOverrunListener(listener_);
  }

  std::shared_ptr<arrow::Schema> schema() const override { return schema_; }

  arrow::Status ReadNext(std::shared_ptr<arrow::RecordBatch>* out) override {
    *out = nullptr;
    if (!status_.ok() || done_) return status_;
    auto next = Next();
    if (budget_ != nullptr && budget_->overran()) next = budget_->overrun();
    if (next.ok() && *next) {
      auto batch = (*next)->ToRecordBatch(schema_, pool_);
      if (batch.ok()) {
        *out = std::move(*batch);
        return arrow::Status::OK();
      }
      next = batch.status();
    }
    if (next.ok()) {
      // The sink is done: the plan's outcome decides.
      done_ = true;
      status_ = WaitFinished();
    } else {
      status_ = next.status();
    }
    if (!status_.ok()) Stop();
    return status_;
  }

  // Stops the plan early (a LIMIT has its rows) and waits for its tasks.
  arrow::Status Close() override {
    Stop();
    done_ = true;
    return arrow::Status::OK();
  }

 private:
  struct Wake {
    std::mutex mutex;
    std::condition_variable changed;
    void Notify() {
      std::lock_guard<std::mutex> lock(mutex);
      changed.notify_all();
    }
  };

  PlanReader(arrow::MemoryPool* pool, ExecutionGuard guard)
      : pool_(pool), guard_(std::move(guard)), wake_(std::make_shared<Wake>()) {}

  // The next batch (nullopt at the end), the plan's error, or the guard's cancellation.
  arrow::Result<std::optional<compute::ExecBatch>> Next() {
    auto next = generator_();
    auto wake = wake_;
    next.AddCallback(
        [wake](const arrow::Result<std::optional<compute::ExecBatch>>&) { wake->Notify(); });
    auto finished = plan_->finished();
    while (true) {
      {
        std::unique_lock<std::mutex> lock(wake_->mutex);
        wake_->changed.wait_for(lock, kPollInterval, [&] {
          return next.is_finished() || finished.is_finished() ||
                 (budget_ != nullptr && budget_->overran());
        });
      }
      if (budget_ != nullptr && budget_->overran()) return budget_->overrun();
      if (next.is_finished()) return next.result();
      if (finished.is_finished()) {
        // Failed (possibly before its sink ever ran): the batch would never come.
        if (!finished.status().ok()) return finished.status();
        // Finished cleanly: the sink has closed or is closing.
        next.Wait();
        return next.result();
      }
      ARROW_RETURN_NOT_OK(guard_.Check());
    }
  }

  arrow::Status WaitFinished() {
    auto finished = plan_->finished();
    while (!finished.Wait(std::chrono::duration<double>(kPollInterval).count())) {
      auto checked = guard_.Check();
      if (!checked.ok()) return checked;
    }
    return finished.status();
  }

  void Stop() {
    if (!started_ || stopped_) return;
    stopped_ = true;
    // Acero aborts tasks only before they start; the guard nodes end the running ones.
    StopGuardNodes(*plan_);
    if (!plan_->finished().is_finished()) plan_->StopProducing();
    // Every task of the plan has ended once it is finished; its status was reported already
    // (or the stop was asked for).
    plan_->finished().Wait();
  }

  static constexpr std::chrono::milliseconds kPollInterval{100};

  arrow::MemoryPool* pool_;
  ExecutionGuard guard_;
  std::shared_ptr<Wake> wake_;
  std::shared_ptr<QueryMemoryPool> budget_;  // set when the plan allocates from the budget
  int listener_ = 0;
  std::shared_ptr<acero::ExecPlan> plan_;
  std::function<arrow::Future<std::optional<compute::ExecBatch>>()> generator_;
  std::shared_ptr<arrow::Schema> schema_;
  bool started_ = false;
  bool stopped_ = false;
  bool done_ = false;
  arrow::Status status_;
};

// Whether the Acero plan Declare builds for `node` holds rows in Acero itself (aggregates keep
// their groups): such plans allocate from the query's budget. Others only stream, and a hash
// join's build side is charged as it is read (MakeHoldingReader).
bool AceroHoldsRows(const LogicalOperator& node) {
  switch (node.kind) {
    case Kind::kAggregate:
      return true;
    case Kind::kScan:
    case Kind::kSort:
    case Kind::kTopK:
    case Kind::kLimit:
    case Kind::kWindow:
      return false;  // read through their own readers, outside this plan
    default:
      for (const auto& child : node.children) {
        if (AceroHoldsRows(*child)) return true;
      }
      return false;
  }
}

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

arrow::Result<std::shared_ptr<arrow::RecordBatchReader>> RunPlan(acero::Declaration declaration,
                                                                 arrow::MemoryPool* pool,
                                                                 ExecutionGuard guard) {
  return PlanReader::Make(std::move(declaration), pool, std::move(guard));
}

Executor::Executor(ExecutionGuard guard, arrow::MemoryPool* memory_pool)
    : guard_(std::move(guard)), memory_pool_(memory_pool) {}

ScanRequest Executor::RequestFor(const LogicalOperator& node) const {
  ScanRequest request;
  request.columns = node.columns;
  request.filter = node.pushed_filter;
  request.limit = node.pushed_limit;
  request.guard = guard_;
  request.pool = memory_pool_;
  return request;
}

arrow::Status Executor::Prepare(const PlanPointer& plan) {
  for (const auto& child : plan->children) ARROW_RETURN_NOT_OK(Prepare(child));
  if (plan->kind != Kind::kScan) return arrow::Status::OK();
  {
    std::lock_guard<std::mutex> lock(scans_mutex_);
    if (scans_.count(plan.get()) > 0) return arrow::Status::OK();
  }
  ARROW_ASSIGN_OR_RAISE(auto scan, plan->source.table->Scan(RequestFor(*plan)));
  std::lock_guard<std::mutex> lock(scans_mutex_);
  scans_[plan.get()] = std::move(scan);
  return arrow::Status::OK();
}

arrow::Result<std::shared_ptr<arrow::RecordBatchReader>> Executor::ScanReader(
    const PlanPointer& node) {
  ARROW_RETURN_NOT_OK(Prepare(node));
  std::shared_ptr<PlannedScan> scan;
  {
    std::lock_guard<std::mutex> lock(scans_mutex_);
    scan = scans_.at(node.get());
  }
  ARROW_ASSIGN_OR_RAISE(auto reader, scan->Read());
  return std::make_shared<RenamingReader>(std::move(reader), node->schema);
}

arrow::Status Executor::NarrowTopKScan(const LogicalOperator& top) {
  // Beyond this many rows the first pass holds too much to be a cheap probe.
  constexpr int64_t kMaxNarrowedRows = 100000;
  if (!top.count || top.sort_keys.empty()) return arrow::Status::OK();
  const int64_t keep = top.offset + *top.count;
  if (keep <= 0 || keep > kMaxNarrowedRows) return arrow::Status::OK();
  // Follow the first key down through projections of plain columns to a scan.
  std::string key = top.sort_keys[0].column;
  PlanPointer node = top.children[0];
  while (node->kind == Kind::kProject) {
    int index = node->schema->GetFieldIndex(key);
    if (index < 0) return arrow::Status::OK();
    const auto* reference = node->expressions[index].field_ref();
    if (reference == nullptr || reference->name() == nullptr) return arrow::Status::OK();
    key = *reference->name();
    node = node->children[0];
  }
  if (node->kind != Kind::kScan || node->pushed_limit || node->columns.size() < 2 ||
      !node->source.table->columnar()) {
    return arrow::Status::OK();
  }
  int index = node->schema->GetFieldIndex(key);
  if (index < 0) return arrow::Status::OK();
  const std::string column = node->columns[index];

  ScanRequest request = RequestFor(*node);
  request.columns = {column};
  request.limit.reset();
  ARROW_ASSIGN_OR_RAISE(auto key_scan, node->source.table->Scan(request));
  {
    std::lock_guard<std::mutex> lock(scans_mutex_);
    key_scans_.push_back(key_scan);
  }
  ARROW_ASSIGN_OR_RAISE(auto keys, key_scan->Read());
  SortKey first = top.sort_keys[0];
  first.column = keys->schema()->field(0)->name();
  auto best = MakeSortReader(std::move(keys), {first}, 0, keep, guard_);
  ARROW_ASSIGN_OR_RAISE(auto table, best->ToTable());
  if (table->num_rows() < keep) return arrow::Status::OK();
  ARROW_ASSIGN_OR_RAISE(auto values, arrow::Concatenate(table->column(0)->chunks(), memory_pool_));
  ARROW_ASSIGN_OR_RAISE(auto threshold, values->GetScalar(keep - 1));
  if (!threshold->is_valid) return arrow::Status::OK();
  auto value = compute::field_ref(column);
  compute::Expression narrowed = compute::call(first.ascending ? "less_equal" : "greater_equal",
                                               {value, compute::literal(threshold)});
  if (arrow::is_floating(values->type_id())) {
    ARROW_ASSIGN_OR_RAISE(auto nans, compute::CallFunction("is_nan", {values}));
    ARROW_ASSIGN_OR_RAISE(auto any_nan, compute::CallFunction("any", {nans}));
    ARROW_ASSIGN_OR_RAISE(auto threshold_nan, compute::CallFunction("is_nan", {threshold}));
    if (threshold_nan.scalar_as<arrow::BooleanScalar>().value) return arrow::Status::OK();
    if (any_nan.scalar_as<arrow::BooleanScalar>().value) {
      narrowed = compute::call("or_kleene", {compute::call("is_nan", {value}), narrowed});
    }
  }
  // Nulls among the best rows rank first (NULLS FIRST); every null of the table is then among
  // them, and must be read again.
  if (values->null_count() > 0) {
    narrowed = compute::call("or_kleene", {compute::call("is_null", {value}), narrowed});
  }
  auto original = node->pushed_filter;
  node->pushed_filter = original ? compute::call("and_kleene", {*original, narrowed}) : narrowed;
  auto forget = [&] {
    std::lock_guard<std::mutex> lock(scans_mutex_);
    scans_.erase(node.get());
  };
  forget();
  auto prepared = Prepare(node);
  if (!prepared.ok()) {
    // A filter the scan cannot take: read as planned.
    node->pushed_filter = original;
    forget();
    return Prepare(node);
  }
  return arrow::Status::OK();
}

arrow::Result<std::shared_ptr<arrow::RecordBatchReader>> Executor::Reader(const PlanPointer& node) {
  switch (node->kind) {
    case Kind::kScan:
      return ScanReader(node);
    case Kind::kSort:
    case Kind::kTopK: {
      if (node->kind == Kind::kTopK) ARROW_RETURN_NOT_OK(NarrowTopKScan(*node));
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
    case Kind::kAggregate:
      if (SmallKeyAggregateApplies(*node, *node->children[0]->schema)) {
        ARROW_ASSIGN_OR_RAISE(auto input, Reader(node->children[0]));
        return MakeSmallKeyAggregateReader(std::move(input), *node, guard_);
      }
      [[fallthrough]];
    default: {
      // Without a budget, memory_pool_ is the transient pool too.
      bool charged = AceroHoldsRows(*node);
      ARROW_ASSIGN_OR_RAISE(auto declaration, Declare(node, !charged));
      return PlanReader::Make(std::move(declaration),
                              charged ? memory_pool_ : guard_.transient_pool(), guard_);
    }
  }
}

arrow::Result<acero::Declaration> Executor::Declare(const PlanPointer& node,
                                                    bool hold_join_builds) {
  std::vector<acero::Declaration::Input> inputs;
  auto child = [&](size_t index) -> arrow::Status {
    ARROW_ASSIGN_OR_RAISE(auto declaration, Declare(node->children[index], hold_join_builds));
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
      if (SmallKeyAggregateApplies(*node, *node->children[0]->schema)) {
        ARROW_ASSIGN_OR_RAISE(auto reader, Reader(node));
        return SourceOf(std::move(reader));
      }
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
      if (hold_join_builds && guard_.memory_budget != nullptr) {
        // The plan allocates uncharged; the join keeps its build (right) side whole, which
        // is charged as it is read.
        ARROW_ASSIGN_OR_RAISE(auto build, Reader(node->children[1]));
        inputs.emplace_back(SourceOf(MakeHoldingReader(std::move(build), guard_)));
      } else {
        ARROW_RETURN_NOT_OK(child(1));
      }
      std::vector<arrow::FieldRef> left(node->left_keys.begin(), node->left_keys.end());
      std::vector<arrow::FieldRef> right(node->right_keys.begin(), node->right_keys.end());
      acero::HashJoinNodeOptions options(node->join_type, left, right, node->join_filter);
      if (node->null_equal_keys) {
        options.key_cmp.assign(left.size(), acero::JoinKeyCmp::IS);
      }
      // A guard after the join, whose probe tasks only end early through their output.
      return acero::Declaration::Sequence(
          {acero::Declaration("hashjoin", std::move(inputs), std::move(options)),
           acero::Declaration(kGuardNodeFactory, GuardNodeOptions(guard_))});
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
  std::lock_guard<std::mutex> lock(scans_mutex_);
  QueryMetrics metrics;
  // A top-k probe's first pass adds only what it read.
  for (const auto& scan : key_scans_) {
    QueryMetrics probe = scan->metrics();
    metrics.rows_scanned += probe.rows_scanned;
    metrics.bytes_scanned += probe.bytes_scanned;
  }
  for (const auto& [node, scan] : scans_) {
    QueryMetrics part = scan->metrics();
    metrics.files_total += part.files_total;
    metrics.files_pruned_by_partition += part.files_pruned_by_partition;
    metrics.files_skipped_by_stats += part.files_skipped_by_stats;
    metrics.files_skipped_by_limit += part.files_skipped_by_limit;
    metrics.files_read += part.files_read;
    metrics.row_groups_total += part.row_groups_total;
    metrics.row_groups_pruned += part.row_groups_pruned;
    metrics.rows_scanned += part.rows_scanned;
    metrics.bytes_scanned += part.bytes_scanned;
  }
  return metrics;
}

std::string Executor::DescribeScan(const LogicalOperator& node) const {
  std::lock_guard<std::mutex> lock(scans_mutex_);
  auto found = scans_.find(&node);
  return found == scans_.end() ? "" : found->second->Details();
}

namespace {

void Explain(const PlanPointer& node, const Executor* executor, int depth,
             std::vector<std::string>* lines) {
  std::string indent(static_cast<size_t>(depth) * 2, ' ');
  std::ostringstream line;
  switch (node->kind) {
    case Kind::kScan: {
      line << "Scan " << node->table_name << " (" << node->source.table->description() << ")"
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
