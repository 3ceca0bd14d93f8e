#include "sql/sql_functions.h"

#include <arrow/array/array_binary.h>
#include <arrow/array/builder_binary.h>
#include <arrow/array/builder_primitive.h>
#include <arrow/array/util.h>
#include <arrow/buffer_builder.h>
#include <arrow/compute/api.h>
#include <arrow/compute/kernel.h>
#include <arrow/compute/registry.h>

#include <array>
#include <charconv>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
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

// ---------------------------------------------------------------- encode, decode, hex

constexpr std::string_view kLowerHexDigits = "0123456789abcdef";
constexpr std::string_view kUpperHexDigits = "0123456789ABCDEF";
constexpr std::string_view kBase64Alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// A character of malformed input as an error shows it: itself, or \xNN when not printable.
std::string Shown(char c) {
  auto byte = static_cast<unsigned char>(c);
  if (byte >= 0x20 && byte < 0x7f) return std::string(1, c);
  return std::string("\\x") + kLowerHexDigits[byte >> 4] + kLowerHexDigits[byte & 15];
}

arrow::Status EncodeHex(std::string_view bytes, std::string* out, std::string_view digits) {
  out->reserve(bytes.size() * 2);
  for (char c : bytes) {
    auto byte = static_cast<unsigned char>(c);
    out->push_back(digits[byte >> 4]);
    out->push_back(digits[byte & 15]);
  }
  return arrow::Status::OK();
}

arrow::Status EncodeLowerHex(std::string_view bytes, std::string* out) {
  return EncodeHex(bytes, out, kLowerHexDigits);
}

arrow::Status EncodeUpperHex(std::string_view bytes, std::string* out) {
  return EncodeHex(bytes, out, kUpperHexDigits);
}

arrow::Status EncodeBase64(std::string_view bytes, std::string* out) {
  out->reserve((bytes.size() + 2) / 3 * 4);
  size_t index = 0;
  for (; index + 3 <= bytes.size(); index += 3) {
    uint32_t group = (static_cast<unsigned char>(bytes[index]) << 16) |
                     (static_cast<unsigned char>(bytes[index + 1]) << 8) |
                     static_cast<unsigned char>(bytes[index + 2]);
    for (int shift = 18; shift >= 0; shift -= 6)
      out->push_back(kBase64Alphabet[(group >> shift) & 63]);
  }
  size_t rest = bytes.size() - index;
  if (rest > 0) {
    uint32_t group = static_cast<unsigned char>(bytes[index]) << 16;
    if (rest == 2) group |= static_cast<unsigned char>(bytes[index + 1]) << 8;
    out->push_back(kBase64Alphabet[(group >> 18) & 63]);
    out->push_back(kBase64Alphabet[(group >> 12) & 63]);
    out->push_back(rest == 2 ? kBase64Alphabet[(group >> 6) & 63] : '=');
    out->push_back('=');
  }
  return arrow::Status::OK();
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// PostgreSQL's rules: whitespace may separate digit pairs, nothing else may.
arrow::Status DecodeHex(std::string_view text, std::string* out) {
  out->reserve(text.size() / 2);
  size_t index = 0;
  while (index < text.size()) {
    if (IsSpace(text[index])) {
      ++index;
      continue;
    }
    int high = HexValue(text[index]);
    if (high < 0) {
      return arrow::Status::Invalid("decode(..., 'hex'): invalid hexadecimal digit: \"",
                                    Shown(text[index]), "\"");
    }
    if (index + 1 >= text.size()) {
      return arrow::Status::Invalid(
          "decode(..., 'hex'): invalid hexadecimal data: odd number of digits");
    }
    int low = HexValue(text[index + 1]);
    if (low < 0) {
      return arrow::Status::Invalid("decode(..., 'hex'): invalid hexadecimal digit: \"",
                                    Shown(text[index + 1]), "\"");
    }
    out->push_back(static_cast<char>((high << 4) | low));
    index += 2;
  }
  return arrow::Status::OK();
}

int Base64Value(char c) {
  size_t found = kBase64Alphabet.find(c);
  return found == std::string_view::npos || c == '\0' ? -1 : static_cast<int>(found);
}

// Groups of four symbols, the last one padded with '='; whitespace anywhere is skipped.
arrow::Status DecodeBase64(std::string_view text, std::string* out) {
  out->reserve(text.size() / 4 * 3);
  uint32_t group = 0;
  int symbols = 0;  // in the current group
  int padding = 0;  // '=' seen: the input must end
  for (char c : text) {
    if (IsSpace(c)) continue;
    if (c == '=') {
      // Padding completes a group of two or three symbols.
      if (padding == 0 && symbols < 2) {
        return arrow::Status::Invalid(
            "decode(..., 'base64'): unexpected \"=\" while decoding base64 sequence");
      }
      ++padding;
      group <<= 6;
    } else {
      int value = Base64Value(c);
      if (value < 0) {
        return arrow::Status::Invalid("decode(..., 'base64'): invalid symbol \"", Shown(c),
                                      "\" found while decoding base64 sequence");
      }
      if (padding > 0) {
        return arrow::Status::Invalid(
            "decode(..., 'base64'): invalid base64 end sequence: data after the padding");
      }
      group = (group << 6) | static_cast<uint32_t>(value);
    }
    if (++symbols < 4) continue;
    out->push_back(static_cast<char>((group >> 16) & 255));
    if (padding < 2) out->push_back(static_cast<char>((group >> 8) & 255));
    if (padding < 1) out->push_back(static_cast<char>(group & 255));
    group = 0;
    symbols = 0;
    if (padding > 0) padding = 3;  // only whitespace may follow
  }
  if (symbols != 0) {
    return arrow::Status::Invalid(
        "decode(..., 'base64'): invalid base64 end sequence: the input is missing padding, is "
        "truncated, or is otherwise corrupted");
  }
  return arrow::Status::OK();
}

using ByteConversion = arrow::Status (*)(std::string_view, std::string*);

// A kernel applying `Convert` to every value of a binary or utf8 input, producing `Output`.
template <ByteConversion Convert, typename OutputBuilder>
arrow::Status ConvertBytes(compute::KernelContext* context, const compute::ExecSpan& batch,
                           compute::ExecResult* out) {
  std::shared_ptr<arrow::Array> input;
  if (batch[0].is_array()) {
    input = batch[0].array.ToArray();
  } else {
    ARROW_ASSIGN_OR_RAISE(
        input, arrow::MakeArrayFromScalar(*batch[0].scalar, batch.length, context->memory_pool()));
  }
  const auto& values = static_cast<const arrow::BinaryArray&>(*input);
  OutputBuilder builder(context->memory_pool());
  ARROW_RETURN_NOT_OK(builder.Reserve(values.length()));
  std::string converted;
  for (int64_t row = 0; row < values.length(); ++row) {
    if (values.IsNull(row)) {
      ARROW_RETURN_NOT_OK(builder.AppendNull());
      continue;
    }
    converted.clear();
    ARROW_RETURN_NOT_OK(Convert(values.GetView(row), &converted));
    ARROW_RETURN_NOT_OK(builder.Append(converted));
  }
  std::shared_ptr<arrow::ArrayData> result;
  ARROW_RETURN_NOT_OK(builder.FinishInternal(&result));
  out->value = std::move(result);
  return arrow::Status::OK();
}

// hex(int64): the digits of the value, two's complement for negatives, no leading zeros.
arrow::Status IntegerHex(compute::KernelContext* context, const compute::ExecSpan& batch,
                         compute::ExecResult* out) {
  std::shared_ptr<arrow::Array> input;
  if (batch[0].is_array()) {
    input = batch[0].array.ToArray();
  } else {
    ARROW_ASSIGN_OR_RAISE(
        input, arrow::MakeArrayFromScalar(*batch[0].scalar, batch.length, context->memory_pool()));
  }
  const auto& values = static_cast<const arrow::Int64Array&>(*input);
  arrow::StringBuilder builder(context->memory_pool());
  ARROW_RETURN_NOT_OK(builder.Reserve(values.length()));
  std::array<char, 16> digits;
  for (int64_t row = 0; row < values.length(); ++row) {
    if (values.IsNull(row)) {
      ARROW_RETURN_NOT_OK(builder.AppendNull());
      continue;
    }
    auto value = static_cast<uint64_t>(values.Value(row));
    auto written = std::to_chars(digits.data(), digits.data() + digits.size(), value, 16);
    for (char* c = digits.data(); c != written.ptr; ++c) {
      *c = static_cast<char>(std::toupper(static_cast<unsigned char>(*c)));
    }
    ARROW_RETURN_NOT_OK(
        builder.Append(std::string_view(digits.data(), written.ptr - digits.data())));
  }
  std::shared_ptr<arrow::ArrayData> result;
  ARROW_RETURN_NOT_OK(builder.FinishInternal(&result));
  out->value = std::move(result);
  return arrow::Status::OK();
}

arrow::Status AddConversion(compute::FunctionRegistry* registry, const char* name,
                            const char* summary, compute::ArrayKernelExec from_binary,
                            compute::ArrayKernelExec from_text,
                            const std::shared_ptr<arrow::DataType>& output,
                            compute::ArrayKernelExec from_integer = nullptr) {
  auto function = std::make_shared<compute::ScalarFunction>(
      name, compute::Arity::Unary(), compute::FunctionDoc(summary, "", {"value"}));
  auto add = [&](const std::shared_ptr<arrow::DataType>& input,
                 compute::ArrayKernelExec exec) -> arrow::Status {
    compute::ScalarKernel kernel({compute::InputType(input)}, compute::OutputType(output), exec);
    kernel.null_handling = compute::NullHandling::COMPUTED_NO_PREALLOCATE;
    kernel.mem_allocation = compute::MemAllocation::NO_PREALLOCATE;
    return function->AddKernel(std::move(kernel));
  };
  ARROW_RETURN_NOT_OK(add(arrow::binary(), from_binary));
  ARROW_RETURN_NOT_OK(add(arrow::utf8(), from_text));
  if (from_integer != nullptr) ARROW_RETURN_NOT_OK(add(arrow::int64(), from_integer));
  return registry->AddFunction(std::move(function));
}

arrow::Status RegisterConversions(compute::FunctionRegistry* registry) {
  ARROW_RETURN_NOT_OK(AddConversion(registry, kEncodeHex, "Bytes as lower-case hexadecimal digits",
                                    ConvertBytes<EncodeLowerHex, arrow::StringBuilder>,
                                    ConvertBytes<EncodeLowerHex, arrow::StringBuilder>,
                                    arrow::utf8()));
  ARROW_RETURN_NOT_OK(AddConversion(registry, kEncodeBase64, "Bytes as padded base64",
                                    ConvertBytes<EncodeBase64, arrow::StringBuilder>,
                                    ConvertBytes<EncodeBase64, arrow::StringBuilder>,
                                    arrow::utf8()));
  ARROW_RETURN_NOT_OK(AddConversion(registry, kDecodeHex, "Hexadecimal digits to bytes",
                                    ConvertBytes<DecodeHex, arrow::BinaryBuilder>,
                                    ConvertBytes<DecodeHex, arrow::BinaryBuilder>,
                                    arrow::binary()));
  ARROW_RETURN_NOT_OK(AddConversion(
      registry, kDecodeBase64, "Base64 to bytes", ConvertBytes<DecodeBase64, arrow::BinaryBuilder>,
      ConvertBytes<DecodeBase64, arrow::BinaryBuilder>, arrow::binary()));
  return AddConversion(registry, kHex, "Bytes or an integer as upper-case hexadecimal digits",
                       ConvertBytes<EncodeUpperHex, arrow::StringBuilder>,
                       ConvertBytes<EncodeUpperHex, arrow::StringBuilder>, arrow::utf8(),
                       IntegerHex);
}

}  // namespace

arrow::Status RegisterSqlFunctions() {
  static std::once_flag once;
  static arrow::Status status;
  std::call_once(once, [] {
    compute::FunctionRegistry* registry = compute::GetFunctionRegistry();
    status = RegisterCheckedSum(registry);
    if (status.ok()) status = RegisterConversions(registry);
  });
  return status;
}

}  // namespace nlk::sql
