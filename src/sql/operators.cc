#include "sql/operators.h"

#include <arrow/array/concatenate.h>
#include <arrow/builder.h>
#include <arrow/compare.h>
#include <arrow/compute/api.h>
#include <arrow/table.h>
#include <arrow/util/byte_size.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

namespace nlk::sql {

namespace compute = arrow::compute;

namespace {

constexpr int64_t kOutputBatchRows = 64 * 1024;

// Emits a list of batches one by one.
class BatchListReader : public arrow::RecordBatchReader {
 public:
  BatchListReader(std::shared_ptr<arrow::Schema> schema) : schema_(std::move(schema)) {}
  std::shared_ptr<arrow::Schema> schema() const override { return schema_; }

 protected:
  // Fills `pending_` on first use; returns an error to fail the read.
  virtual arrow::Status Produce() = 0;

  arrow::Status ReadNext(std::shared_ptr<arrow::RecordBatch>* out) override {
    if (!produced_) {
      produced_ = true;
      ARROW_RETURN_NOT_OK(Produce());
    }
    *out = nullptr;
    if (next_ < pending_.size()) *out = std::move(pending_[next_++]);
    return arrow::Status::OK();
  }

  void EmitSliced(const std::shared_ptr<arrow::RecordBatch>& batch) {
    for (int64_t start = 0; start < batch->num_rows(); start += kOutputBatchRows) {
      pending_.push_back(batch->Slice(start, kOutputBatchRows));
    }
  }

  std::shared_ptr<arrow::Schema> schema_;
  std::vector<std::shared_ptr<arrow::RecordBatch>> pending_;

 private:
  bool produced_ = false;
  size_t next_ = 0;
};

arrow::Result<std::shared_ptr<arrow::RecordBatch>> Combine(
    const std::shared_ptr<arrow::Schema>& schema,
    const std::vector<std::shared_ptr<arrow::RecordBatch>>& batches, arrow::MemoryPool* pool) {
  if (batches.size() == 1) return batches[0];
  ARROW_ASSIGN_OR_RAISE(auto table, arrow::Table::FromRecordBatches(schema, batches));
  ARROW_ASSIGN_OR_RAISE(auto combined, table->CombineChunksToBatch(pool));
  return combined;
}

compute::SortOptions MakeSortOptions(const std::vector<SortKey>& keys) {
  std::vector<compute::SortKey> sort_keys;
  for (const auto& key : keys) {
    sort_keys.emplace_back(
        key.column, key.ascending ? compute::SortOrder::Ascending : compute::SortOrder::Descending,
        key.nulls_first ? compute::NullPlacement::AtStart : compute::NullPlacement::AtEnd);
  }
  return compute::SortOptions(sort_keys);
}

// Sorts `batch` (stable) and keeps at most `keep` rows of the order.
arrow::Result<std::shared_ptr<arrow::RecordBatch>> SortBatch(
    const std::shared_ptr<arrow::RecordBatch>& batch, const std::vector<SortKey>& keys,
    std::optional<int64_t> keep, compute::ExecContext* context) {
  ARROW_ASSIGN_OR_RAISE(auto indices,
                        compute::SortIndices(arrow::Datum(batch), MakeSortOptions(keys), context));
  if (keep && *keep < indices->length()) indices = indices->Slice(0, *keep);
  ARROW_ASSIGN_OR_RAISE(auto taken, compute::Take(arrow::Datum(batch), arrow::Datum(indices),
                                                  compute::TakeOptions::Defaults(), context));
  return taken.record_batch();
}

// Bytes charged to the query's memory budget for rows an operator holds; released when the
// holder goes away.
class HeldMemory {
 public:
  explicit HeldMemory(std::shared_ptr<QueryMemoryPool> budget) : budget_(std::move(budget)) {}
  HeldMemory(const HeldMemory&) = delete;
  HeldMemory& operator=(const HeldMemory&) = delete;
  ~HeldMemory() { Clear(); }

  arrow::Status Add(const arrow::RecordBatch& batch) {
    if (budget_ == nullptr) return arrow::Status::OK();
    int64_t bytes = arrow::util::TotalBufferSize(batch);
    ARROW_RETURN_NOT_OK(budget_->Reserve(bytes));
    held_ += bytes;
    return arrow::Status::OK();
  }

  void Clear() {
    if (budget_ != nullptr) budget_->Release(held_);
    held_ = 0;
  }

 private:
  std::shared_ptr<QueryMemoryPool> budget_;
  int64_t held_ = 0;
};

// The rows that could rank before `row` of `best` under `keys`, as a predicate over the input
// columns: lexicographically better on the keys, or tied on a prefix and better on the rest.
// Full ties are excluded (they came later, and the sort is stable). May admit more rows than
// needed (a NaN key is always admitted), never fewer. Nullopt: no useful predicate.
std::optional<compute::Expression> RanksBefore(const arrow::RecordBatch& best, int64_t row,
                                               const std::vector<SortKey>& keys) {
  std::optional<compute::Expression> better;
  for (auto key = keys.rbegin(); key != keys.rend(); ++key) {
    auto column = best.GetColumnByName(key->column);
    if (column == nullptr) return std::nullopt;
    auto threshold = column->GetScalar(row);
    if (!threshold.ok()) return std::nullopt;
    auto value = compute::field_ref(key->column);
    bool floating = arrow::is_floating(column->type_id());
    compute::Expression strictly;
    compute::Expression equal;
    if (!(*threshold)->is_valid) {
      strictly = key->nulls_first ? compute::literal(false) : compute::call("is_valid", {value});
      equal = compute::call("is_null", {value});
    } else {
      if (floating) {
        auto as_double = (*threshold)->CastTo(arrow::float64());
        if (!as_double.ok() ||
            std::isnan(static_cast<const arrow::DoubleScalar&>(**as_double).value)) {
          return std::nullopt;
        }
      }
      strictly =
          compute::call(key->ascending ? "less" : "greater", {value, compute::literal(*threshold)});
      if (key->nulls_first) {
        strictly = compute::call("or_kleene", {compute::call("is_null", {value}), strictly});
      }
      equal = compute::call("equal", {value, compute::literal(*threshold)});
    }
    if (floating) {
      strictly = compute::call("or_kleene", {compute::call("is_nan", {value}), strictly});
    }
    better = better ? compute::call("or_kleene",
                                    {strictly, compute::call("and_kleene", {equal, *better})})
                    : strictly;
  }
  return better;
}

class SortReader : public BatchListReader {
 public:
  SortReader(std::shared_ptr<arrow::RecordBatchReader> input, std::vector<SortKey> keys,
             int64_t offset, std::optional<int64_t> count, ExecutionGuard guard)
      : BatchListReader(input->schema()),
        input_(std::move(input)),
        keys_(std::move(keys)),
        offset_(offset),
        count_(count),
        guard_(std::move(guard)),
        // A top-k charges the rows it keeps (held_, pending_held_); sorting and filtering a
        // batch against them is per-batch working memory. A full sort's working memory grows
        // with its whole input, so it is charged.
        context_(count_ ? guard_.transient_pool() : guard_.memory_pool),
        held_(guard_.memory_budget),
        pending_held_(guard_.memory_budget) {}

 protected:
  arrow::Status Produce() override {
    if (count_) return ProduceTopK(offset_ + *count_);
    std::vector<std::shared_ptr<arrow::RecordBatch>> held;
    while (true) {
      ARROW_ASSIGN_OR_RAISE(auto batch, NextInput());
      if (batch == nullptr) break;
      ARROW_RETURN_NOT_OK(held_.Add(*batch));
      held.push_back(std::move(batch));
    }
    if (held.empty()) return arrow::Status::OK();
    ARROW_ASSIGN_OR_RAISE(auto combined, Combine(schema_, held, guard_.memory_pool));
    held.clear();
    ARROW_ASSIGN_OR_RAISE(auto sorted, SortBatch(combined, keys_, std::nullopt, &context_));
    if (offset_ >= sorted->num_rows()) return arrow::Status::OK();
    EmitSliced(sorted->Slice(offset_));
    return arrow::Status::OK();
  }

 private:
  // Candidates are merged into the best rows once this many are pending (or `keep`, if more).
  static constexpr int64_t kMergeRows = 16 * 1024;

  // The next non-empty input batch, or null at the end; the query's limits are checked first.
  arrow::Result<std::shared_ptr<arrow::RecordBatch>> NextInput() {
    while (true) {
      ARROW_RETURN_NOT_OK(guard_.Check());
      std::shared_ptr<arrow::RecordBatch> batch;
      ARROW_RETURN_NOT_OK(input_->ReadNext(&batch));
      if (batch == nullptr || batch->num_rows() > 0) return batch;
    }
  }

  arrow::Status ProduceTopK(int64_t keep) {
    if (keep == 0) return input_->Close();
    while (true) {
      ARROW_ASSIGN_OR_RAISE(auto batch, NextInput());
      if (batch == nullptr) break;
      if (ranks_before_) {
        auto mask =
            compute::ExecuteScalarExpression(*ranks_before_, compute::ExecBatch(*batch), &context_);
        if (mask.ok()) {
          ARROW_ASSIGN_OR_RAISE(auto kept,
                                compute::Filter(arrow::Datum(batch), *mask,
                                                compute::FilterOptions::Defaults(), &context_));
          batch = kept.record_batch();
        } else {
          ranks_before_.reset();  // a key type the predicate cannot handle: merge everything
        }
        if (batch->num_rows() == 0) continue;
      }
      pending_rows_ += batch->num_rows();
      pending_.push_back(batch);
      // A batch merged at once is only passing through; candidates kept for later are held.
      if (pending_rows_ >= std::max(keep, kMergeRows)) {
        ARROW_RETURN_NOT_OK(Merge(keep));
      } else {
        ARROW_RETURN_NOT_OK(pending_held_.Add(*batch));
      }
    }
    ARROW_RETURN_NOT_OK(Merge(keep));
    if (best_ == nullptr || offset_ >= best_->num_rows()) return arrow::Status::OK();
    EmitSliced(best_->Slice(offset_));
    return arrow::Status::OK();
  }

  // best := the first `keep` rows of (best, pending) in order; best rows came first in the
  // input, so a stable sort keeps ties in input order.
  arrow::Status Merge(int64_t keep) {
    if (pending_.empty()) return arrow::Status::OK();
    if (best_ != nullptr) pending_.insert(pending_.begin(), best_);
    ARROW_ASSIGN_OR_RAISE(auto combined, Combine(schema_, pending_, context_.memory_pool()));
    pending_.clear();
    pending_rows_ = 0;
    ARROW_ASSIGN_OR_RAISE(best_, SortBatch(combined, keys_, keep, &context_));
    pending_held_.Clear();
    held_.Clear();
    ARROW_RETURN_NOT_OK(held_.Add(*best_));
    if (best_->num_rows() == keep) {
      ranks_before_.reset();
      auto predicate = RanksBefore(*best_, keep - 1, keys_);
      if (predicate) {
        auto bound = predicate->Bind(*schema_);
        if (bound.ok()) ranks_before_ = std::move(*bound);
      }
    }
    return arrow::Status::OK();
  }

  std::shared_ptr<arrow::RecordBatchReader> input_;
  std::vector<SortKey> keys_;
  int64_t offset_;
  std::optional<int64_t> count_;
  ExecutionGuard guard_;
  compute::ExecContext context_;
  HeldMemory held_;
  HeldMemory pending_held_;
  std::shared_ptr<arrow::RecordBatch> best_;
  std::vector<std::shared_ptr<arrow::RecordBatch>> pending_;
  int64_t pending_rows_ = 0;
  std::optional<compute::Expression> ranks_before_;
};

class HoldingReader : public arrow::RecordBatchReader {
 public:
  HoldingReader(std::shared_ptr<arrow::RecordBatchReader> input, ExecutionGuard guard)
      : input_(std::move(input)), guard_(std::move(guard)), held_(guard_.memory_budget) {}

  std::shared_ptr<arrow::Schema> schema() const override { return input_->schema(); }

  arrow::Status ReadNext(std::shared_ptr<arrow::RecordBatch>* out) override {
    ARROW_RETURN_NOT_OK(guard_.Check());
    ARROW_RETURN_NOT_OK(input_->ReadNext(out));
    if (*out != nullptr) {
      auto held = held_.Add(**out);
      if (!held.ok()) {
        *out = nullptr;
        return held;
      }
    }
    return arrow::Status::OK();
  }

  arrow::Status Close() override { return input_->Close(); }

 private:
  std::shared_ptr<arrow::RecordBatchReader> input_;
  ExecutionGuard guard_;
  HeldMemory held_;
};

class LimitReader : public arrow::RecordBatchReader {
 public:
  LimitReader(std::shared_ptr<arrow::RecordBatchReader> input, int64_t offset,
              std::optional<int64_t> count, ExecutionGuard guard)
      : input_(std::move(input)), to_skip_(offset), remaining_(count), guard_(std::move(guard)) {}

  std::shared_ptr<arrow::Schema> schema() const override { return input_->schema(); }

  arrow::Status ReadNext(std::shared_ptr<arrow::RecordBatch>* out) override {
    *out = nullptr;
    while (!remaining_ || *remaining_ > 0) {
      ARROW_RETURN_NOT_OK(guard_.Check());
      std::shared_ptr<arrow::RecordBatch> batch;
      ARROW_RETURN_NOT_OK(input_->ReadNext(&batch));
      if (batch == nullptr) return arrow::Status::OK();
      if (to_skip_ >= batch->num_rows()) {
        to_skip_ -= batch->num_rows();
        continue;
      }
      batch = batch->Slice(to_skip_);
      to_skip_ = 0;
      if (remaining_) {
        batch = batch->Slice(0, std::min(*remaining_, batch->num_rows()));
        *remaining_ -= batch->num_rows();
      }
      if (batch->num_rows() == 0) continue;
      *out = std::move(batch);
      return arrow::Status::OK();
    }
    // Enough rows: stop the work upstream (scans, Acero plans) instead of draining it.
    if (!closed_) {
      closed_ = true;
      return input_->Close();
    }
    return arrow::Status::OK();
  }

  arrow::Status Close() override { return input_->Close(); }

 private:
  std::shared_ptr<arrow::RecordBatchReader> input_;
  int64_t to_skip_;
  std::optional<int64_t> remaining_;
  ExecutionGuard guard_;
  bool closed_ = false;
};

// Whether rows `a` and `b` of all `columns` hold equal values (nulls equal each other).
bool SameValues(const std::vector<std::shared_ptr<arrow::Array>>& columns, int64_t a, int64_t b) {
  for (const auto& column : columns) {
    if (!arrow::ArrayRangeEquals(*column, *column, a, a + 1, b)) return false;
  }
  return true;
}

class WindowReader : public BatchListReader {
 public:
  WindowReader(std::shared_ptr<arrow::RecordBatchReader> input, std::vector<WindowCall> calls,
               std::shared_ptr<arrow::Schema> output_schema, ExecutionGuard guard)
      : BatchListReader(std::move(output_schema)),
        input_(std::move(input)),
        calls_(std::move(calls)),
        guard_(std::move(guard)),
        context_(guard_.memory_pool),
        held_(guard_.memory_budget) {}

 protected:
  arrow::Status Produce() override {
    std::vector<std::shared_ptr<arrow::RecordBatch>> batches;
    while (true) {
      ARROW_RETURN_NOT_OK(guard_.Check());
      std::shared_ptr<arrow::RecordBatch> batch;
      ARROW_RETURN_NOT_OK(input_->ReadNext(&batch));
      if (batch == nullptr) break;
      ARROW_RETURN_NOT_OK(held_.Add(*batch));
      batches.push_back(batch);
    }
    if (batches.empty()) return arrow::Status::OK();
    ARROW_ASSIGN_OR_RAISE(auto rows, Combine(input_->schema(), batches, guard_.memory_pool));
    std::vector<std::shared_ptr<arrow::Array>> columns = rows->columns();
    for (const auto& call : calls_) {
      ARROW_ASSIGN_OR_RAISE(auto column, Evaluate(rows, call));
      columns.push_back(column);
    }
    EmitSliced(arrow::RecordBatch::Make(schema_, rows->num_rows(), std::move(columns)));
    return arrow::Status::OK();
  }

 private:
  arrow::Result<std::shared_ptr<arrow::Array>> Column(
      const std::shared_ptr<arrow::RecordBatch>& rows, const std::string& name) {
    auto column = rows->GetColumnByName(name);
    if (column == nullptr) return arrow::Status::Invalid("window input ", name, " missing");
    return column;
  }

  arrow::Result<std::shared_ptr<arrow::Array>> Evaluate(
      const std::shared_ptr<arrow::RecordBatch>& rows, const WindowCall& call) {
    int64_t length = rows->num_rows();
    // Row order: by partition, then by the window's ORDER BY (stable).
    std::vector<SortKey> keys;
    for (const auto& column : call.partition_by) keys.push_back({column, true, false});
    keys.insert(keys.end(), call.order_by.begin(), call.order_by.end());
    std::shared_ptr<arrow::Array> order;
    if (keys.empty()) {
      arrow::Int64Builder builder;
      for (int64_t row = 0; row < length; ++row) ARROW_RETURN_NOT_OK(builder.Append(row));
      ARROW_ASSIGN_OR_RAISE(order, builder.Finish());
    } else {
      ARROW_ASSIGN_OR_RAISE(
          order, compute::SortIndices(arrow::Datum(rows), MakeSortOptions(keys), &context_));
    }
    ARROW_ASSIGN_OR_RAISE(auto cast_order, compute::Cast(order, arrow::int64()));
    auto indices_array = cast_order.make_array();
    const auto& indices = static_cast<const arrow::Int64Array&>(*indices_array);
    auto sorted_columns = [&](const std::vector<std::string>& names)
        -> arrow::Result<std::vector<std::shared_ptr<arrow::Array>>> {
      std::vector<std::shared_ptr<arrow::Array>> result;
      for (const auto& name : names) {
        ARROW_ASSIGN_OR_RAISE(auto column, Column(rows, name));
        ARROW_ASSIGN_OR_RAISE(auto taken,
                              compute::Take(arrow::Datum(column), arrow::Datum(order),
                                            compute::TakeOptions::Defaults(), &context_));
        result.push_back(taken.make_array());
      }
      return result;
    };
    ARROW_ASSIGN_OR_RAISE(auto partitions, sorted_columns(call.partition_by));
    std::vector<std::string> order_names;
    for (const auto& key : call.order_by) order_names.push_back(key.column);
    ARROW_ASSIGN_OR_RAISE(auto peers, sorted_columns(order_names));

    // Partition start of each sorted position, and the end (exclusive) of its peer group.
    std::vector<int64_t> partition_start(length);
    std::vector<int64_t> partition_end(length);
    std::vector<int64_t> peer_start(length);
    std::vector<int64_t> peer_end(length);
    for (int64_t position = 0; position < length; ++position) {
      bool new_partition = position == 0 || !SameValues(partitions, position, position - 1);
      partition_start[position] = new_partition ? position : partition_start[position - 1];
      bool new_peers = new_partition || !SameValues(peers, position, position - 1);
      peer_start[position] = new_peers ? position : peer_start[position - 1];
    }
    for (int64_t position = length - 1; position >= 0; --position) {
      bool last =
          position == length - 1 || partition_start[position + 1] != partition_start[position];
      partition_end[position] = last ? position + 1 : partition_end[position + 1];
      bool last_peer = last || peer_start[position + 1] != peer_start[position];
      peer_end[position] = last_peer ? position + 1 : peer_end[position + 1];
    }

    std::shared_ptr<arrow::Array> sorted_result;
    switch (call.function) {
      case WindowFunction::kRowNumber:
      case WindowFunction::kRank:
      case WindowFunction::kDenseRank: {
        arrow::Int64Builder builder;
        int64_t dense = 0;
        for (int64_t position = 0; position < length; ++position) {
          if (position == partition_start[position]) dense = 0;
          if (position == peer_start[position]) ++dense;
          int64_t value = call.function == WindowFunction::kRowNumber
                              ? position - partition_start[position] + 1
                          : call.function == WindowFunction::kRank
                              ? peer_start[position] - partition_start[position] + 1
                              : dense;
          ARROW_RETURN_NOT_OK(builder.Append(value));
        }
        ARROW_ASSIGN_OR_RAISE(sorted_result, builder.Finish());
        break;
      }
      case WindowFunction::kLag:
      case WindowFunction::kLead: {
        int64_t shift = call.function == WindowFunction::kLag ? -call.offset : call.offset;
        arrow::Int64Builder source;
        arrow::BooleanBuilder outside;
        for (int64_t position = 0; position < length; ++position) {
          int64_t target = position + shift;
          bool inside = target >= partition_start[position] && target < partition_end[position];
          ARROW_RETURN_NOT_OK(inside ? source.Append(indices.Value(target)) : source.AppendNull());
          ARROW_RETURN_NOT_OK(outside.Append(!inside));
        }
        ARROW_ASSIGN_OR_RAISE(auto source_indices, source.Finish());
        ARROW_ASSIGN_OR_RAISE(auto input, Column(rows, call.input));
        ARROW_ASSIGN_OR_RAISE(auto taken,
                              compute::Take(arrow::Datum(input), arrow::Datum(source_indices),
                                            compute::TakeOptions::Defaults(), &context_));
        sorted_result = taken.make_array();
        if (!call.default_value_column.empty()) {
          ARROW_ASSIGN_OR_RAISE(auto fallback, sorted_columns({call.default_value_column}));
          ARROW_ASSIGN_OR_RAISE(auto mask, outside.Finish());
          ARROW_ASSIGN_OR_RAISE(
              auto chosen, compute::CallFunction("if_else", {mask, fallback[0], sorted_result}));
          sorted_result = chosen.make_array();
        }
        break;
      }
      default:
        ARROW_ASSIGN_OR_RAISE(
            sorted_result, Aggregate(rows, call, order, partition_start, partition_end, peer_end));
    }
    // Back to the input's row order: result[indices[j]] = sorted_result[j].
    std::vector<int64_t> inverse(length);
    for (int64_t position = 0; position < length; ++position)
      inverse[indices.Value(position)] = position;
    arrow::Int64Builder inverse_builder;
    ARROW_RETURN_NOT_OK(inverse_builder.AppendValues(inverse));
    ARROW_ASSIGN_OR_RAISE(auto inverse_array, inverse_builder.Finish());
    ARROW_ASSIGN_OR_RAISE(auto restored,
                          compute::Take(arrow::Datum(sorted_result), arrow::Datum(inverse_array),
                                        compute::TakeOptions::Defaults(), &context_));
    ARROW_ASSIGN_OR_RAISE(auto typed, compute::Cast(restored, call.output_type));
    return typed.make_array();
  }

  // sum/avg/count/min/max over the frame of each row, in sorted order.
  arrow::Result<std::shared_ptr<arrow::Array>> Aggregate(
      const std::shared_ptr<arrow::RecordBatch>& rows, const WindowCall& call,
      const std::shared_ptr<arrow::Array>& order, const std::vector<int64_t>& partition_start,
      const std::vector<int64_t>& partition_end, const std::vector<int64_t>& peer_end) {
    int64_t length = rows->num_rows();
    bool count_rows = call.input.empty();
    std::vector<double> values(length, 0);
    std::vector<int64_t> integers(length, 0);
    std::vector<bool> valid(length, true);
    bool integral = false;
    if (!count_rows) {
      ARROW_ASSIGN_OR_RAISE(auto column, Column(rows, call.input));
      ARROW_ASSIGN_OR_RAISE(auto taken, compute::Take(arrow::Datum(column), arrow::Datum(order),
                                                      compute::TakeOptions::Defaults(), &context_));
      integral = arrow::is_integer(column->type_id());
      bool numeric = integral || arrow::is_floating(column->type_id());
      if (!numeric && call.function != WindowFunction::kCount) {
        return arrow::Status::NotImplemented("window ", call.output, " over ",
                                             column->type()->ToString());
      }
      if (numeric) {
        // Large bigints lose precision as doubles, which only avg and float outputs use.
        ARROW_ASSIGN_OR_RAISE(
            auto as_double,
            compute::Cast(taken, arrow::float64(), compute::CastOptions::Unsafe(arrow::float64())));
        auto double_array = as_double.make_array();
        const auto& doubles = static_cast<const arrow::DoubleArray&>(*double_array);
        ARROW_ASSIGN_OR_RAISE(
            auto as_integer,
            compute::Cast(taken, arrow::int64(), compute::CastOptions::Unsafe(arrow::int64())));
        auto long_array = as_integer.make_array();
        const auto& longs = static_cast<const arrow::Int64Array&>(*long_array);
        for (int64_t position = 0; position < length; ++position) {
          valid[position] = doubles.IsValid(position);
          values[position] = doubles.Value(position);
          integers[position] = longs.Value(position);
        }
      } else {
        auto array = taken.make_array();
        for (int64_t position = 0; position < length; ++position)
          valid[position] = array->IsValid(position);
      }
    }
    std::unique_ptr<arrow::ArrayBuilder> builder;
    bool integer_output = call.function == WindowFunction::kCount ||
                          (integral && call.function != WindowFunction::kAverage);
    if (integer_output) {
      builder = std::make_unique<arrow::Int64Builder>();
    } else {
      builder = std::make_unique<arrow::DoubleBuilder>();
    }
    int64_t count = 0;
    double sum = 0;
    int64_t integer_sum = 0;
    double best = 0;
    int64_t best_integer = 0;
    int64_t next_row = 0;
    for (int64_t position = 0; position < length; ++position) {
      int64_t first = call.frame.start
                          ? std::max(partition_start[position], position + *call.frame.start)
                          : partition_start[position];
      int64_t last = call.frame.end
                         ? std::min(partition_end[position] - 1, position + *call.frame.end)
                         : partition_end[position] - 1;
      if (call.frame.include_peers && call.frame.end && *call.frame.end == 0) {
        last = peer_end[position] - 1;
      }
      // A frame that starts at the partition's start only grows row by row (its end never moves
      // back), so it is accumulated incrementally: linear, and summed in the same order as the
      // frame itself. Other frames are summed row by row.
      bool running = !call.frame.start;
      if (!running || position == partition_start[position]) {
        count = 0;
        sum = 0;
        integer_sum = 0;
        best = 0;
        best_integer = 0;
        next_row = first;
      }
      for (; next_row <= last; ++next_row) {
        int64_t row = next_row;
        if (!valid[row]) continue;
        bool better =
            count == 0 ||
            (call.function == WindowFunction::kMinimum ? values[row] < best : values[row] > best);
        if (better) {
          best = values[row];
          best_integer = integers[row];
        }
        ++count;
        sum += values[row];
        // An integer sum stays exact, and going past bigint is an error, as in PostgreSQL.
        if (integer_output && call.function == WindowFunction::kSum &&
            __builtin_add_overflow(integer_sum, integers[row], &integer_sum)) {
          return arrow::Status::Invalid("window ", call.output, ": sum out of range for bigint");
        }
      }
      arrow::Status appended;
      if (call.function == WindowFunction::kCount) {
        appended = static_cast<arrow::Int64Builder&>(*builder).Append(count);
      } else if (count == 0) {
        appended = builder->AppendNull();
      } else if (call.function == WindowFunction::kAverage) {
        appended =
            static_cast<arrow::DoubleBuilder&>(*builder).Append(sum / static_cast<double>(count));
      } else if (call.function == WindowFunction::kSum) {
        appended = integer_output ? static_cast<arrow::Int64Builder&>(*builder).Append(integer_sum)
                                  : static_cast<arrow::DoubleBuilder&>(*builder).Append(sum);
      } else {
        appended = integer_output ? static_cast<arrow::Int64Builder&>(*builder).Append(best_integer)
                                  : static_cast<arrow::DoubleBuilder&>(*builder).Append(best);
      }
      ARROW_RETURN_NOT_OK(appended);
    }
    return builder->Finish();
  }

  std::shared_ptr<arrow::RecordBatchReader> input_;
  std::vector<WindowCall> calls_;
  ExecutionGuard guard_;
  compute::ExecContext context_;
  HeldMemory held_;
};

}  // namespace

std::shared_ptr<arrow::RecordBatchReader> MakeSortReader(
    std::shared_ptr<arrow::RecordBatchReader> input, std::vector<SortKey> keys, int64_t offset,
    std::optional<int64_t> count, ExecutionGuard guard) {
  return std::make_shared<SortReader>(std::move(input), std::move(keys), offset, count,
                                      std::move(guard));
}

std::shared_ptr<arrow::RecordBatchReader> MakeHoldingReader(
    std::shared_ptr<arrow::RecordBatchReader> input, ExecutionGuard guard) {
  return std::make_shared<HoldingReader>(std::move(input), std::move(guard));
}

std::shared_ptr<arrow::RecordBatchReader> MakeLimitReader(
    std::shared_ptr<arrow::RecordBatchReader> input, int64_t offset, std::optional<int64_t> count,
    ExecutionGuard guard) {
  return std::make_shared<LimitReader>(std::move(input), offset, count, std::move(guard));
}

std::shared_ptr<arrow::RecordBatchReader> MakeWindowReader(
    std::shared_ptr<arrow::RecordBatchReader> input, std::vector<WindowCall> calls,
    std::shared_ptr<arrow::Schema> output_schema, ExecutionGuard guard) {
  return std::make_shared<WindowReader>(std::move(input), std::move(calls),
                                        std::move(output_schema), std::move(guard));
}

}  // namespace nlk::sql
