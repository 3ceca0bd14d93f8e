#include "sql/sql_functions.h"

#include <arrow/array/builder_primitive.h>
#include <arrow/buffer_builder.h>
#include <arrow/compute/api.h>
#include <arrow/compute/kernel.h>
#include <arrow/compute/registry.h>

#include <memory>
#include <mutex>
#include <string>
#include <utility>

namespace nlk::sql {

namespace compute = arrow::compute;

namespace {

// ---------------------------------------------------------------- sum_checked

arrow::Status SumOutOfRange() {
  return arrow::Status::Invalid(
      "sum() out of range for bigint; sum a double (sum(x::float8)) for an approximate total");
}

arrow::Status AddChecked(int64_t* total, int64_t value) {
  return __builtin_add_overflow(*total, value, total) ? SumOutOfRange() : arrow::Status::OK();
}

const compute::ScalarAggregateOptions& SumOptions(const compute::FunctionOptions* options) {
  static const compute::ScalarAggregateOptions kDefaults = compute::ScalarAggregateOptions();
  return options != nullptr ? static_cast<const compute::ScalarAggregateOptions&>(*options)
                            : kDefaults;
}

// Calls add(row, value) for the valid rows of `values` (an integer array, or a scalar standing
// for `length` rows) and missing(row) for the null ones.
template <typename Integer, typename Add, typename Missing>
arrow::Status VisitIntegers(const compute::ExecValue& values, int64_t length, Add&& add,
                            Missing&& missing) {
  if (values.is_scalar()) {
    const auto& scalar = static_cast<const arrow::internal::PrimitiveScalarBase&>(*values.scalar);
    for (int64_t row = 0; row < length; ++row) {
      if (!scalar.is_valid) {
        missing(row);
        continue;
      }
      ARROW_RETURN_NOT_OK(
          add(row, static_cast<int64_t>(*reinterpret_cast<const Integer*>(scalar.data()))));
    }
    return arrow::Status::OK();
  }
  const arrow::ArraySpan& array = values.array;
  const Integer* data = array.GetValues<Integer>(1);
  const bool has_nulls = array.GetNullCount() > 0;
  for (int64_t row = 0; row < array.length; ++row) {
    if (has_nulls && array.IsNull(row)) {
      missing(row);
      continue;
    }
    ARROW_RETURN_NOT_OK(add(row, static_cast<int64_t>(data[row])));
  }
  return arrow::Status::OK();
}

template <typename Add, typename Missing>
arrow::Status VisitAnyIntegers(const compute::ExecValue& values, int64_t length, Add&& add,
                               Missing&& missing) {
  switch (values.type()->id()) {
    case arrow::Type::INT8:
      return VisitIntegers<int8_t>(values, length, add, missing);
    case arrow::Type::INT16:
      return VisitIntegers<int16_t>(values, length, add, missing);
    case arrow::Type::INT32:
      return VisitIntegers<int32_t>(values, length, add, missing);
    case arrow::Type::INT64:
      return VisitIntegers<int64_t>(values, length, add, missing);
    default:
      return arrow::Status::TypeError("sum_checked: ", values.type()->ToString());
  }
}

// The whole input's sum.
struct CheckedSum : compute::KernelState {
  compute::ScalarAggregateOptions options;
  int64_t sum = 0;
  int64_t count = 0;  // valid values
  bool saw_null = false;

  static arrow::Result<std::unique_ptr<compute::KernelState>> Init(
      compute::KernelContext*, const compute::KernelInitArgs& args) {
    auto state = std::make_unique<CheckedSum>();
    state->options = SumOptions(args.options);
    return state;
  }

  static arrow::Status Consume(compute::KernelContext* context, const compute::ExecSpan& batch) {
    auto* state = static_cast<CheckedSum*>(context->state());
    return VisitAnyIntegers(
        batch[0], batch.length,
        [state](int64_t, int64_t value) {
          ++state->count;
          return AddChecked(&state->sum, value);
        },
        [state](int64_t) { state->saw_null = true; });
  }

  static arrow::Status Merge(compute::KernelContext*, compute::KernelState&& source,
                             compute::KernelState* destination) {
    const auto& from = static_cast<const CheckedSum&>(source);
    auto* into = static_cast<CheckedSum*>(destination);
    into->count += from.count;
    into->saw_null |= from.saw_null;
    return AddChecked(&into->sum, from.sum);
  }

  static arrow::Status Finalize(compute::KernelContext* context, arrow::Datum* out) {
    const auto* state = static_cast<const CheckedSum*>(context->state());
    bool valid =
        state->count >= state->options.min_count && (state->options.skip_nulls || !state->saw_null);
    *out = valid ? arrow::Datum(std::make_shared<arrow::Int64Scalar>(state->sum))
                 : arrow::Datum(arrow::MakeNullScalar(arrow::int64()));
    return arrow::Status::OK();
  }
};

// One sum per group.
struct GroupedCheckedSum : compute::KernelState {
  compute::ScalarAggregateOptions options;
  arrow::TypedBufferBuilder<int64_t> sums;
  arrow::TypedBufferBuilder<int64_t> counts;
  arrow::TypedBufferBuilder<bool> saw_null;
  int64_t groups = 0;

  explicit GroupedCheckedSum(arrow::MemoryPool* pool) : sums(pool), counts(pool), saw_null(pool) {}

  static arrow::Result<std::unique_ptr<compute::KernelState>> Init(
      compute::KernelContext* context, const compute::KernelInitArgs& args) {
    auto state = std::make_unique<GroupedCheckedSum>(context->memory_pool());
    state->options = SumOptions(args.options);
    return state;
  }

  static arrow::Status Resize(compute::KernelContext* context, int64_t groups) {
    auto* state = static_cast<GroupedCheckedSum*>(context->state());
    int64_t added = groups - state->groups;
    if (added <= 0) return arrow::Status::OK();
    ARROW_RETURN_NOT_OK(state->sums.Append(added, 0));
    ARROW_RETURN_NOT_OK(state->counts.Append(added, 0));
    ARROW_RETURN_NOT_OK(state->saw_null.Append(added, false));
    state->groups = groups;
    return arrow::Status::OK();
  }

  static arrow::Status Consume(compute::KernelContext* context, const compute::ExecSpan& batch) {
    auto* state = static_cast<GroupedCheckedSum*>(context->state());
    const uint32_t* group_ids = batch[1].array.GetValues<uint32_t>(1);
    int64_t* sums = state->sums.mutable_data();
    int64_t* counts = state->counts.mutable_data();
    uint8_t* saw_null = state->saw_null.mutable_data();
    return VisitAnyIntegers(
        batch[0], batch.length,
        [&](int64_t row, int64_t value) {
          uint32_t group = group_ids[row];
          ++counts[group];
          return AddChecked(&sums[group], value);
        },
        [&](int64_t row) { arrow::bit_util::SetBit(saw_null, group_ids[row]); });
  }

  static arrow::Status Merge(compute::KernelContext* context, compute::KernelState&& source,
                             const arrow::ArrayData& group_id_mapping) {
    auto* state = static_cast<GroupedCheckedSum*>(context->state());
    auto& from = static_cast<GroupedCheckedSum&>(source);
    const uint32_t* mapping = group_id_mapping.GetValues<uint32_t>(1);
    int64_t* sums = state->sums.mutable_data();
    int64_t* counts = state->counts.mutable_data();
    uint8_t* saw_null = state->saw_null.mutable_data();
    const int64_t* from_sums = from.sums.data();
    const int64_t* from_counts = from.counts.data();
    const uint8_t* from_saw_null = from.saw_null.data();
    for (int64_t group = 0; group < from.groups; ++group) {
      uint32_t target = mapping[group];
      counts[target] += from_counts[group];
      if (arrow::bit_util::GetBit(from_saw_null, group)) arrow::bit_util::SetBit(saw_null, target);
      ARROW_RETURN_NOT_OK(AddChecked(&sums[target], from_sums[group]));
    }
    return arrow::Status::OK();
  }

  static arrow::Status Finalize(compute::KernelContext* context, arrow::Datum* out) {
    auto* state = static_cast<GroupedCheckedSum*>(context->state());
    arrow::Int64Builder builder(context->memory_pool());
    ARROW_RETURN_NOT_OK(builder.Reserve(state->groups));
    const int64_t* sums = state->sums.data();
    const int64_t* counts = state->counts.data();
    const uint8_t* saw_null = state->saw_null.data();
    for (int64_t group = 0; group < state->groups; ++group) {
      bool valid = counts[group] >= state->options.min_count &&
                   (state->options.skip_nulls || !arrow::bit_util::GetBit(saw_null, group));
      if (valid) {
        builder.UnsafeAppend(sums[group]);
      } else {
        builder.UnsafeAppendNull();
      }
    }
    ARROW_ASSIGN_OR_RAISE(auto array, builder.Finish());
    *out = arrow::Datum(std::move(array));
    return arrow::Status::OK();
  }
};

arrow::Status RegisterCheckedSum(compute::FunctionRegistry* registry) {
  static const compute::ScalarAggregateOptions kDefaults = compute::ScalarAggregateOptions();
  const compute::FunctionDoc document(
      "Sum of signed integers as int64, an error when it leaves the int64 range",
      "Nulls are skipped; fewer than min_count valid values give null.", {"values"},
      "ScalarAggregateOptions");
  auto whole = std::make_shared<compute::ScalarAggregateFunction>(
      kCheckedSum, compute::Arity::Unary(), document, &kDefaults);
  auto grouped = std::make_shared<compute::HashAggregateFunction>(
      std::string("hash_") + kCheckedSum, compute::Arity::Binary(), document, &kDefaults);
  for (const auto& type : {arrow::int8(), arrow::int16(), arrow::int32(), arrow::int64()}) {
    ARROW_RETURN_NOT_OK(whole->AddKernel(compute::ScalarAggregateKernel(
        {compute::InputType(type)}, compute::OutputType(arrow::int64()), CheckedSum::Init,
        CheckedSum::Consume, CheckedSum::Merge, CheckedSum::Finalize, /*ordered=*/false)));
    ARROW_RETURN_NOT_OK(grouped->AddKernel(compute::HashAggregateKernel(
        compute::KernelSignature::Make(
            {compute::InputType(type), compute::InputType(arrow::Type::UINT32)},
            compute::OutputType(arrow::int64())),
        GroupedCheckedSum::Init, GroupedCheckedSum::Resize, GroupedCheckedSum::Consume,
        GroupedCheckedSum::Merge, GroupedCheckedSum::Finalize, /*ordered=*/false)));
  }
  ARROW_RETURN_NOT_OK(registry->AddFunction(std::move(whole)));
  return registry->AddFunction(std::move(grouped));
}

}  // namespace

arrow::Status RegisterSqlFunctions() {
  static std::once_flag once;
  static arrow::Status status;
  std::call_once(once, [] {
    compute::FunctionRegistry* registry = compute::GetFunctionRegistry();
    status = RegisterCheckedSum(registry);
  });
  return status;
}

}  // namespace nlk::sql
