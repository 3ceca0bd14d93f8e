#include "sql/operators.h"

#include <arrow/array/concatenate.h>
#include <arrow/builder.h>
#include <arrow/compare.h>
#include <arrow/compute/api.h>
#include <arrow/table.h>

#include <algorithm>
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
    const std::vector<std::shared_ptr<arrow::RecordBatch>>& batches) {
  ARROW_ASSIGN_OR_RAISE(auto table, arrow::Table::FromRecordBatches(schema, batches));
  ARROW_ASSIGN_OR_RAISE(auto combined, table->CombineChunksToBatch());
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

// Sorts `batch` and keeps at most `keep` rows of the order.
arrow::Result<std::shared_ptr<arrow::RecordBatch>> SortBatch(
    const std::shared_ptr<arrow::RecordBatch>& batch, const std::vector<SortKey>& keys,
    std::optional<int64_t> keep) {
  ARROW_ASSIGN_OR_RAISE(auto indices,
                        compute::SortIndices(arrow::Datum(batch), MakeSortOptions(keys)));
  if (keep && *keep < indices->length()) indices = indices->Slice(0, *keep);
  ARROW_ASSIGN_OR_RAISE(auto taken, compute::Take(arrow::Datum(batch), arrow::Datum(indices)));
  return taken.record_batch();
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
        guard_(std::move(guard)) {}

 protected:
  arrow::Status Produce() override {
    std::optional<int64_t> keep;
    if (count_) keep = offset_ + *count_;
    std::vector<std::shared_ptr<arrow::RecordBatch>> held;
    int64_t held_rows = 0;
    while (true) {
      ARROW_RETURN_NOT_OK(guard_.Check());
      std::shared_ptr<arrow::RecordBatch> batch;
      ARROW_RETURN_NOT_OK(input_->ReadNext(&batch));
      if (batch == nullptr) break;
      if (batch->num_rows() == 0) continue;
      held.push_back(batch);
      held_rows += batch->num_rows();
      // Top-k: once well over k rows are held, keep only the best k.
      if (keep && held_rows > std::max<int64_t>(2 * *keep, kOutputBatchRows)) {
        ARROW_ASSIGN_OR_RAISE(auto combined, Combine(schema_, held));
        ARROW_ASSIGN_OR_RAISE(auto best, SortBatch(combined, keys_, keep));
        held = {best};
        held_rows = best->num_rows();
      }
    }
    if (held.empty()) return arrow::Status::OK();
    ARROW_ASSIGN_OR_RAISE(auto combined, Combine(schema_, held));
    ARROW_ASSIGN_OR_RAISE(auto sorted, SortBatch(combined, keys_, keep));
    if (offset_ >= sorted->num_rows()) return arrow::Status::OK();
    EmitSliced(sorted->Slice(offset_));
    return arrow::Status::OK();
  }

 private:
  std::shared_ptr<arrow::RecordBatchReader> input_;
  std::vector<SortKey> keys_;
  int64_t offset_;
  std::optional<int64_t> count_;
  ExecutionGuard guard_;
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
        guard_(std::move(guard)) {}

 protected:
  arrow::Status Produce() override {
    std::vector<std::shared_ptr<arrow::RecordBatch>> batches;
    while (true) {
      ARROW_RETURN_NOT_OK(guard_.Check());
      std::shared_ptr<arrow::RecordBatch> batch;
      ARROW_RETURN_NOT_OK(input_->ReadNext(&batch));
      if (batch == nullptr) break;
      batches.push_back(batch);
    }
    ARROW_ASSIGN_OR_RAISE(auto rows, Combine(input_->schema(), batches));
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
      ARROW_ASSIGN_OR_RAISE(order, compute::SortIndices(arrow::Datum(rows), MakeSortOptions(keys)));
    }
    ARROW_ASSIGN_OR_RAISE(auto cast_order, compute::Cast(order, arrow::int64()));
    auto indices_array = cast_order.make_array();
    const auto& indices = static_cast<const arrow::Int64Array&>(*indices_array);
    auto sorted_columns = [&](const std::vector<std::string>& names)
        -> arrow::Result<std::vector<std::shared_ptr<arrow::Array>>> {
      std::vector<std::shared_ptr<arrow::Array>> result;
      for (const auto& name : names) {
        ARROW_ASSIGN_OR_RAISE(auto column, Column(rows, name));
        ARROW_ASSIGN_OR_RAISE(auto taken, compute::Take(arrow::Datum(column), arrow::Datum(order)));
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
                              compute::Take(arrow::Datum(input), arrow::Datum(source_indices)));
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
                          compute::Take(arrow::Datum(sorted_result), arrow::Datum(inverse_array)));
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
      ARROW_ASSIGN_OR_RAISE(auto taken, compute::Take(arrow::Datum(column), arrow::Datum(order)));
      integral = arrow::is_integer(column->type_id());
      bool numeric = integral || arrow::is_floating(column->type_id());
      if (!numeric && call.function != WindowFunction::kCount) {
        return arrow::Status::NotImplemented("window ", call.output, " over ",
                                             column->type()->ToString());
      }
      if (numeric) {
        ARROW_ASSIGN_OR_RAISE(auto as_double, compute::Cast(taken, arrow::float64()));
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
      int64_t count = 0;
      double sum = 0;
      int64_t integer_sum = 0;
      double best = 0;
      int64_t best_integer = 0;
      for (int64_t row = first; row <= last; ++row) {
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
        integer_sum += integers[row];
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
};

}  // namespace

arrow::Status ExecutionGuard::Check() const {
  ARROW_RETURN_NOT_OK(stop_token.Poll());
  if (deadline && std::chrono::steady_clock::now() > *deadline) {
    return arrow::Status::Cancelled("query timed out");
  }
  return arrow::Status::OK();
}

std::shared_ptr<arrow::RecordBatchReader> MakeSortReader(
    std::shared_ptr<arrow::RecordBatchReader> input, std::vector<SortKey> keys, int64_t offset,
    std::optional<int64_t> count, ExecutionGuard guard) {
  return std::make_shared<SortReader>(std::move(input), std::move(keys), offset, count,
                                      std::move(guard));
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
