#include "sql/small_key_aggregate.h"

#include <arrow/array.h>
#include <arrow/builder.h>
#include <arrow/compute/api_aggregate.h>
#include <arrow/compute/api_vector.h>
#include <arrow/type_traits.h>
#include <arrow/util/bit_util.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

namespace nlk::sql {
namespace {

using arrow::Type;

enum class Op { kCountAll, kCount, kSum, kMean, kMin, kMax };

bool IsKeyType(Type::type id) {
  switch (id) {
    case Type::INT8:
    case Type::INT16:
    case Type::INT32:
    case Type::INT64:
    case Type::UINT8:
    case Type::UINT16:
    case Type::UINT32:
      return true;
    default:
      return false;
  }
}

bool IsValueType(Type::type id) { return IsKeyType(id) || id == Type::FLOAT || id == Type::DOUBLE; }

bool IsFloating(Type::type id) { return id == Type::FLOAT || id == Type::DOUBLE; }

// skip_nulls with min_count 1: what the binder asks of sum, avg, min and max.
bool SkipsNullsNeedingOne(const arrow::compute::FunctionOptions* options) {
  const auto* scalar = dynamic_cast<const arrow::compute::ScalarAggregateOptions*>(options);
  return scalar != nullptr && scalar->skip_nulls && scalar->min_count == 1;
}

// The operation `call` is, over an input of `input` type, if this operator computes it.
std::optional<Op> OpOf(const AggregateCall& call, const arrow::DataType* input) {
  if (call.function == "count_all")
    return call.input.empty() ? std::optional(Op::kCountAll) : std::nullopt;
  if (input == nullptr || !IsValueType(input->id())) return std::nullopt;
  if (call.function == "count") {
    const auto* count = dynamic_cast<const arrow::compute::CountOptions*>(call.options.get());
    if (count == nullptr || count->mode != arrow::compute::CountOptions::ONLY_VALID) {
      return std::nullopt;
    }
    return Op::kCount;
  }
  if (!SkipsNullsNeedingOne(call.options.get())) return std::nullopt;
  // Integer sums are checked for overflow (sum_checked), which this operator leaves to Acero.
  if (call.function == "sum")
    return IsFloating(input->id()) ? std::optional(Op::kSum) : std::nullopt;
  if (call.function == "mean") return Op::kMean;
  if (call.function == "min") return Op::kMin;
  if (call.function == "max") return Op::kMax;
  return std::nullopt;
}

std::shared_ptr<arrow::DataType> OutputType(Op op, const std::shared_ptr<arrow::DataType>& input) {
  switch (op) {
    case Op::kCountAll:
    case Op::kCount:
      return arrow::int64();
    case Op::kSum:
    case Op::kMean:
      return arrow::float64();
    case Op::kMin:
    case Op::kMax:
      return input;
  }
  return nullptr;
}

// Calls `visit` with a null pointer of the C type of a numeric Arrow type id.
template <typename Visit>
void WithCType(Type::type id, Visit&& visit) {
  switch (id) {
    case Type::INT8:
      return visit(static_cast<const int8_t*>(nullptr));
    case Type::INT16:
      return visit(static_cast<const int16_t*>(nullptr));
    case Type::INT32:
      return visit(static_cast<const int32_t*>(nullptr));
    case Type::INT64:
      return visit(static_cast<const int64_t*>(nullptr));
    case Type::UINT8:
      return visit(static_cast<const uint8_t*>(nullptr));
    case Type::UINT16:
      return visit(static_cast<const uint16_t*>(nullptr));
    case Type::UINT32:
      return visit(static_cast<const uint32_t*>(nullptr));
    case Type::FLOAT:
      return visit(static_cast<const float*>(nullptr));
    case Type::DOUBLE:
      return visit(static_cast<const double*>(nullptr));
    default:
      return;
  }
}

template <typename CType>
const CType* ValuesOf(const arrow::Array& array) {
  return array.data()->GetValues<CType>(1);
}

// Group numbers (slots) for key values, in order of first appearance.
class GroupIndex {
 public:
  // The slot of every row of `keys` into `slots`.
  void Map(const arrow::Array& keys, std::vector<int32_t>& slots) {
    const int64_t rows = keys.length();
    slots.resize(static_cast<size_t>(rows));
    WithCType(keys.type_id(), [&](auto typed) {
      using CType = std::remove_const_t<std::remove_pointer_t<decltype(typed)>>;
      const CType* values = ValuesOf<CType>(keys);
      const bool nulls = keys.null_count() > 0;
      for (int64_t row = 0; row < rows; ++row) {
        if (nulls && keys.IsNull(row)) {
          slots[row] = NullSlot();
          continue;
        }
        const int64_t key = static_cast<int64_t>(values[row]);
        // The common case inline: a key the direct table already has.
        const uint64_t offset = static_cast<uint64_t>(key) - static_cast<uint64_t>(base_);
        if (direct_ && offset < table_.size() && table_[offset] >= 0) {
          slots[row] = table_[offset];
        } else {
          slots[row] = SlotOf(key);
        }
      }
    });
  }

  size_t size() const { return keys_.size(); }
  // The slot of one key (nullopt: the NULL group), made if new.
  int32_t SlotFor(const std::optional<int64_t>& key) { return key ? SlotOf(*key) : NullSlot(); }
  // Slot -> key (nullopt: the NULL group).
  const std::vector<std::optional<int64_t>>& keys() const { return keys_; }

 private:
  int32_t NullSlot() {
    if (null_slot_ < 0) null_slot_ = NewSlot(std::nullopt);
    return null_slot_;
  }

  int32_t NewSlot(std::optional<int64_t> key) {
    keys_.push_back(key);
    return static_cast<int32_t>(keys_.size() - 1);
  }

  int32_t SlotOf(int64_t key) {
    if (!direct_) {
      auto [entry, added] = hashed_.try_emplace(key, 0);
      if (added) entry->second = NewSlot(key);
      return entry->second;
    }
    if (table_.empty()) {
      base_ = key;
      table_.assign(1, -1);
    }
    int64_t offset = 0;
    if (__builtin_sub_overflow(key, base_, &offset) || offset < 0 ||
        offset >= static_cast<int64_t>(table_.size())) {
      if (!Widen(key)) return SlotOf(key);  // now hashed
      offset = key - base_;
    }
    int32_t& slot = table_[static_cast<size_t>(offset)];
    if (slot < 0) slot = NewSlot(key);
    return slot;
  }

  // Grows the direct table to cover `key`, geometrically; false (and hashed from now on) when
  // the keys would span more than kMaxDirectKeyRange values.
  bool Widen(int64_t key) {
    const int64_t size = static_cast<int64_t>(table_.size());
    const int64_t low = std::min(base_, key);
    int64_t top = 0;  // the largest key the table covers (slots past int64 stay unused)
    if (__builtin_add_overflow(base_, size - 1, &top)) top = std::numeric_limits<int64_t>::max();
    const int64_t high = std::max(top, key);
    int64_t span = 0;
    if (__builtin_sub_overflow(high, low, &span) || span >= kMaxDirectKeyRange) {
      direct_ = false;
      for (size_t index = 0; index < table_.size(); ++index) {
        if (table_[index] >= 0) hashed_.emplace(base_ + static_cast<int64_t>(index), table_[index]);
      }
      table_.clear();
      return false;
    }
    const int64_t needed = span + 1;
    const int64_t grown = std::min<int64_t>(std::max(needed, 2 * size), kMaxDirectKeyRange);
    if (key < base_) {
      // Room below the new key too, unless that would pass the smallest int64.
      int64_t front = grown - size;
      if (base_ < std::numeric_limits<int64_t>::min() + front) front = base_ - key;
      table_.insert(table_.begin(), static_cast<size_t>(front), -1);
      base_ -= front;
    } else {
      table_.resize(static_cast<size_t>(grown), -1);
    }
    return true;
  }

  bool direct_ = true;
  int64_t base_ = 0;
  std::vector<int32_t> table_;  // key - base_ -> slot, -1: none yet
  std::unordered_map<int64_t, int32_t> hashed_;
  int32_t null_slot_ = -1;
  std::vector<std::optional<int64_t>> keys_;
};

// One aggregate's running state per group.
class Accumulator {
 public:
  Accumulator(Op op, int input, std::shared_ptr<arrow::DataType> input_type,
              std::shared_ptr<arrow::DataType> output_type)
      : op_(op),
        input_(input),
        input_type_(std::move(input_type)),
        output_type_(std::move(output_type)) {}

  int input() const { return input_; }

  // Folds group `from` of `other` (the same aggregate over other rows) into group `to`.
  void Merge(const Accumulator& other, int32_t from, int32_t to) {
    counts_[to] += other.counts_[from];
    if (op_ == Op::kSum || op_ == Op::kMean) {
      sums_[to] += other.sums_[from];
      integer_sums_[to] = static_cast<int64_t>(static_cast<uint64_t>(integer_sums_[to]) +
                                               static_cast<uint64_t>(other.integer_sums_[from]));
    }
    if (op_ == Op::kMin || op_ == Op::kMax) {
      const bool minimum = op_ == Op::kMin;
      if (IsFloating(input_type_->id())) {
        const double value = other.floating_extremes_[from];
        double& extreme = floating_extremes_[to];
        if (!std::isnan(value) &&
            (std::isnan(extreme) || (minimum ? value < extreme : value > extreme))) {
          extreme = value;
        }
      } else {
        const int64_t value = other.integer_extremes_[from];
        int64_t& extreme = integer_extremes_[to];
        extreme = minimum ? std::min(extreme, value) : std::max(extreme, value);
      }
    }
  }

  void Resize(size_t groups) {
    counts_.resize(groups, 0);
    if (op_ == Op::kSum || op_ == Op::kMean) {
      sums_.resize(groups, 0.0);
      integer_sums_.resize(groups, 0);
    }
    if (op_ == Op::kMin || op_ == Op::kMax) {
      if (IsFloating(input_type_->id())) {
        floating_extremes_.resize(groups, std::numeric_limits<double>::quiet_NaN());
      } else {
        integer_extremes_.resize(groups, op_ == Op::kMin ? std::numeric_limits<int64_t>::max()
                                                         : std::numeric_limits<int64_t>::min());
      }
    }
  }

  void Consume(const arrow::Array* values, const std::vector<int32_t>& slots) {
    if (op_ == Op::kCountAll) {
      for (int32_t slot : slots) ++counts_[slot];
      return;
    }
    WithCType(values->type_id(), [&](auto typed) {
      using CType = std::remove_const_t<std::remove_pointer_t<decltype(typed)>>;
      if (values->null_count() == 0) {
        ConsumeTyped<CType, false>(*values, slots);
      } else {
        ConsumeTyped<CType, true>(*values, slots);
      }
    });
  }

  arrow::Result<std::shared_ptr<arrow::Array>> Finish(size_t groups) const {
    switch (op_) {
      case Op::kCountAll:
      case Op::kCount: {
        arrow::Int64Builder builder;
        ARROW_RETURN_NOT_OK(builder.AppendValues(counts_.data(), static_cast<int64_t>(groups)));
        return builder.Finish();
      }
      case Op::kSum:
      case Op::kMean: {
        arrow::DoubleBuilder builder;
        ARROW_RETURN_NOT_OK(builder.Reserve(static_cast<int64_t>(groups)));
        const bool floating = IsFloating(input_type_->id());
        for (size_t group = 0; group < groups; ++group) {
          if (counts_[group] == 0) {
            builder.UnsafeAppendNull();
            continue;
          }
          double sum = floating ? sums_[group] : static_cast<double>(integer_sums_[group]);
          builder.UnsafeAppend(op_ == Op::kSum ? sum : sum / static_cast<double>(counts_[group]));
        }
        return builder.Finish();
      }
      case Op::kMin:
      case Op::kMax: {
        std::unique_ptr<arrow::ArrayBuilder> builder;
        ARROW_RETURN_NOT_OK(
            arrow::MakeBuilder(arrow::default_memory_pool(), output_type_, &builder));
        arrow::Status status;
        WithCType(output_type_->id(), [&](auto typed) {
          using CType = std::remove_const_t<std::remove_pointer_t<decltype(typed)>>;
          using ArrowType = typename arrow::CTypeTraits<CType>::ArrowType;
          auto& typed_builder = static_cast<arrow::NumericBuilder<ArrowType>&>(*builder);
          status = typed_builder.Reserve(static_cast<int64_t>(groups));
          if (!status.ok()) return;
          for (size_t group = 0; group < groups; ++group) {
            if (counts_[group] == 0) {
              typed_builder.UnsafeAppendNull();
            } else if constexpr (std::is_floating_point_v<CType>) {
              typed_builder.UnsafeAppend(static_cast<CType>(floating_extremes_[group]));
            } else {
              typed_builder.UnsafeAppend(static_cast<CType>(integer_extremes_[group]));
            }
          }
        });
        ARROW_RETURN_NOT_OK(status);
        return builder->Finish();
      }
    }
    return arrow::Status::Invalid("unknown aggregate");
  }

 private:
  template <typename CType, bool kNulls>
  void ConsumeTyped(const arrow::Array& array, const std::vector<int32_t>& slots) {
    const CType* values = ValuesOf<CType>(array);
    const uint8_t* validity = array.null_bitmap_data();
    const int64_t offset = array.offset();
    const size_t rows = slots.size();
    auto valid = [&](size_t row) {
      if constexpr (kNulls) {
        return validity == nullptr ||
               arrow::bit_util::GetBit(validity, offset + static_cast<int64_t>(row));
      } else {
        return true;
      }
    };
    switch (op_) {
      case Op::kCountAll:
        return;
      case Op::kCount:
        for (size_t row = 0; row < rows; ++row) counts_[slots[row]] += valid(row) ? 1 : 0;
        return;
      case Op::kSum:
      case Op::kMean:
        for (size_t row = 0; row < rows; ++row) {
          if (!valid(row)) continue;
          const int32_t slot = slots[row];
          ++counts_[slot];
          if constexpr (std::is_floating_point_v<CType>) {
            sums_[slot] += static_cast<double>(values[row]);
          } else {
            // Arrow sums integers in int64 and wraps around; so do we (without undefined
            // behaviour).
            integer_sums_[slot] = static_cast<int64_t>(static_cast<uint64_t>(integer_sums_[slot]) +
                                                       static_cast<uint64_t>(values[row]));
          }
        }
        return;
      case Op::kMin:
      case Op::kMax: {
        const bool minimum = op_ == Op::kMin;
        for (size_t row = 0; row < rows; ++row) {
          if (!valid(row)) continue;
          const int32_t slot = slots[row];
          ++counts_[slot];
          if constexpr (std::is_floating_point_v<CType>) {
            // NaN is passed over, as fmin/fmax do; a group of NaN only stays NaN.
            const double value = static_cast<double>(values[row]);
            double& extreme = floating_extremes_[slot];
            if (!std::isnan(value) &&
                (std::isnan(extreme) || (minimum ? value < extreme : value > extreme))) {
              extreme = value;
            }
          } else {
            const int64_t value = static_cast<int64_t>(values[row]);
            int64_t& extreme = integer_extremes_[slot];
            extreme = minimum ? std::min(extreme, value) : std::max(extreme, value);
          }
        }
        return;
      }
    }
  }

  const Op op_;
  const int input_;  // column of the input batch; -1 for count(*)
  const std::shared_ptr<arrow::DataType> input_type_;
  const std::shared_ptr<arrow::DataType> output_type_;
  std::vector<int64_t> counts_;  // values seen (rows, for count(*))
  std::vector<double> sums_;
  std::vector<int64_t> integer_sums_;
  std::vector<double> floating_extremes_;
  std::vector<int64_t> integer_extremes_;
};

// The groups one thread aggregated, with where each group first appeared in the input (batch
// number, row), so the merged groups keep the order of first appearance.
struct Partial {
  GroupIndex groups;
  std::vector<Accumulator> accumulators;
  std::vector<std::pair<int64_t, int64_t>> first_seen;
};

class SmallKeyAggregateReader : public arrow::RecordBatchReader {
 public:
  SmallKeyAggregateReader(std::shared_ptr<arrow::RecordBatchReader> input,
                          const LogicalOperator& node, ExecutionGuard guard)
      : input_(std::move(input)), schema_(node.schema), guard_(std::move(guard)) {
    const arrow::Schema& input_schema = *input_->schema();
    key_ = input_schema.GetFieldIndex(node.keys[0]);
    for (const AggregateCall& call : node.aggregates) {
      const int column = call.input.empty() ? -1 : input_schema.GetFieldIndex(call.input);
      std::shared_ptr<arrow::DataType> type =
          column < 0 ? nullptr : input_schema.field(column)->type();
      Op op = *OpOf(call, type.get());
      prototype_.emplace_back(op, column, type, OutputType(op, type));
    }
  }

  std::shared_ptr<arrow::Schema> schema() const override { return schema_; }

  arrow::Status ReadNext(std::shared_ptr<arrow::RecordBatch>* out) override {
    *out = nullptr;
    if (done_) return arrow::Status::OK();
    done_ = true;
    std::vector<Partial> partials(2, Partial{{}, prototype_, {}});
    // A second thread aggregates batches too once the input proves large: the scan decodes
    // files on its own pool, and one thread aggregating cannot keep up with it.
    std::thread helper;
    std::shared_ptr<arrow::RecordBatch> first;
    int64_t first_number = 0;
    ARROW_RETURN_NOT_OK(Next(&first, &first_number));
    if (first != nullptr && first->num_rows() >= kParallelRows &&
        std::thread::hardware_concurrency() > 1) {
      helper = std::thread([this, &partials] { Drain(partials[1], nullptr, 0); });
    }
    Drain(partials[0], std::move(first), first_number);
    if (helper.joinable()) helper.join();
    ARROW_RETURN_NOT_OK(status_);
    // partials[1] folded into partials[0].
    Partial& merged = partials[0];
    const Partial& other = partials[1];
    for (size_t from = 0; from < other.groups.size(); ++from) {
      const int32_t to = merged.groups.SlotFor(other.groups.keys()[from]);
      if (static_cast<size_t>(to) >= merged.first_seen.size()) {
        merged.first_seen.push_back(other.first_seen[from]);
      } else {
        merged.first_seen[to] = std::min(merged.first_seen[to], other.first_seen[from]);
      }
      for (size_t index = 0; index < merged.accumulators.size(); ++index) {
        merged.accumulators[index].Resize(merged.groups.size());
        merged.accumulators[index].Merge(other.accumulators[index], static_cast<int32_t>(from), to);
      }
    }
    return Emit(merged, out);
  }

  arrow::Status Close() override { return input_->Close(); }

 private:
  static constexpr int64_t kParallelRows = 16 * 1024;

  // The next input batch and its number, under the lock (the input is read by one thread at a
  // time); nullptr at the end, after an error, or when cancelled.
  arrow::Status Next(std::shared_ptr<arrow::RecordBatch>* batch, int64_t* number) {
    std::lock_guard<std::mutex> lock(mutex_);
    *batch = nullptr;
    if (!status_.ok() || exhausted_) return status_;
    status_ = guard_.Check();
    if (status_.ok()) status_ = input_->ReadNext(batch);
    if (!status_.ok() || *batch == nullptr) {
      exhausted_ = true;
      *batch = nullptr;
    }
    *number = next_number_++;
    return status_;
  }

  // Aggregates batches into `partial` until the input ends, starting with `batch` if given.
  void Drain(Partial& partial, std::shared_ptr<arrow::RecordBatch> batch, int64_t number) {
    std::vector<int32_t> slots;
    while (true) {
      if (batch == nullptr && !Next(&batch, &number).ok()) return;
      if (batch == nullptr) return;
      const size_t known = partial.groups.size();
      partial.groups.Map(*batch->column(key_), slots);
      if (partial.groups.size() > known) {
        partial.first_seen.resize(partial.groups.size(), {-1, -1});
        for (size_t row = 0; row < slots.size(); ++row) {
          auto& seen = partial.first_seen[static_cast<size_t>(slots[row])];
          if (static_cast<size_t>(slots[row]) >= known && seen.first < 0) {
            seen = {number, static_cast<int64_t>(row)};
          }
        }
      }
      for (Accumulator& accumulator : partial.accumulators) {
        accumulator.Resize(partial.groups.size());
        const int column = accumulator.input();
        accumulator.Consume(column < 0 ? nullptr : batch->column(column).get(), slots);
      }
      batch = nullptr;
    }
  }

  // The merged groups as one batch, in order of first appearance.
  arrow::Status Emit(const Partial& merged, std::shared_ptr<arrow::RecordBatch>* out) {
    const size_t groups = merged.groups.size();
    if (groups == 0) return arrow::Status::OK();
    std::vector<int32_t> order(groups);
    for (size_t index = 0; index < groups; ++index) order[index] = static_cast<int32_t>(index);
    std::sort(order.begin(), order.end(),
              [&](int32_t a, int32_t b) { return merged.first_seen[a] < merged.first_seen[b]; });
    arrow::Int32Builder indices;
    ARROW_RETURN_NOT_OK(indices.AppendValues(order));
    ARROW_ASSIGN_OR_RAISE(auto take, indices.Finish());
    std::unique_ptr<arrow::ArrayBuilder> keys;
    const auto& key_type = schema_->field(0)->type();
    ARROW_RETURN_NOT_OK(arrow::MakeBuilder(arrow::default_memory_pool(), key_type, &keys));
    arrow::Status status;
    WithCType(key_type->id(), [&](auto typed) {
      using CType = std::remove_const_t<std::remove_pointer_t<decltype(typed)>>;
      using ArrowType = typename arrow::CTypeTraits<CType>::ArrowType;
      auto& builder = static_cast<arrow::NumericBuilder<ArrowType>&>(*keys);
      for (const auto& key : merged.groups.keys()) {
        status = key ? builder.Append(static_cast<CType>(*key)) : builder.AppendNull();
        if (!status.ok()) return;
      }
    });
    ARROW_RETURN_NOT_OK(status);
    arrow::ArrayVector columns(1);
    ARROW_RETURN_NOT_OK(keys->Finish(&columns[0]));
    for (const Accumulator& accumulator : merged.accumulators) {
      ARROW_ASSIGN_OR_RAISE(auto column, accumulator.Finish(groups));
      columns.push_back(std::move(column));
    }
    for (auto& column : columns) {
      ARROW_ASSIGN_OR_RAISE(arrow::Datum ordered, arrow::compute::Take(column, take));
      column = ordered.make_array();
    }
    *out = arrow::RecordBatch::Make(schema_, static_cast<int64_t>(groups), std::move(columns));
    return arrow::Status::OK();
  }

  std::shared_ptr<arrow::RecordBatchReader> input_;
  std::shared_ptr<arrow::Schema> schema_;
  ExecutionGuard guard_;
  int key_ = -1;
  std::vector<Accumulator> prototype_;  // the aggregates, before any row
  bool done_ = false;
  std::mutex mutex_;  // guards the input and what follows
  arrow::Status status_;
  bool exhausted_ = false;
  int64_t next_number_ = 0;
};

}  // namespace

bool SmallKeyAggregateApplies(const LogicalOperator& node, const arrow::Schema& input_schema) {
  if (node.kind != LogicalOperator::Kind::kAggregate || node.keys.size() != 1 ||
      node.schema == nullptr ||
      node.schema->num_fields() != 1 + static_cast<int>(node.aggregates.size())) {
    return false;
  }
  const auto key = input_schema.GetFieldByName(node.keys[0]);
  if (key == nullptr || !IsKeyType(key->type()->id()) ||
      node.schema->field(0)->name() != node.keys[0] ||
      !node.schema->field(0)->type()->Equals(*key->type())) {
    return false;
  }
  for (size_t index = 0; index < node.aggregates.size(); ++index) {
    const AggregateCall& call = node.aggregates[index];
    std::shared_ptr<arrow::DataType> type;
    if (!call.input.empty()) {
      const auto input = input_schema.GetFieldByName(call.input);
      if (input == nullptr) return false;
      type = input->type();
    }
    const std::optional<Op> op = OpOf(call, type.get());
    if (!op) return false;
    const auto& field = node.schema->field(static_cast<int>(index) + 1);
    if (field->name() != call.output || !field->type()->Equals(*OutputType(*op, type))) {
      return false;
    }
  }
  return true;
}

std::shared_ptr<arrow::RecordBatchReader> MakeSmallKeyAggregateReader(
    std::shared_ptr<arrow::RecordBatchReader> input, const LogicalOperator& node,
    ExecutionGuard guard) {
  return std::make_shared<SmallKeyAggregateReader>(std::move(input), node, std::move(guard));
}

}  // namespace nlk::sql
