#include "delta/data/data_skipping.h"

#include <arrow/compute/api.h>

#include <cstring>

#include "delta/data/compute_registry.h"

namespace nlk::delta::data {
namespace {

// Which truth values the expression can take over the rows described by the bounds.
struct Outcome {
  bool may_be_true = true;
  bool may_be_false = true;
  bool may_be_null = true;
};
constexpr Outcome kUnknown{true, true, true};

std::optional<ColumnPath> PathOf(const arrow::FieldRef& reference) {
  if (const std::string* name = reference.name()) return ColumnPath{*name};
  if (const auto* nested = reference.nested_refs()) {
    ColumnPath path;
    for (const auto& part : *nested) {
      if (part.name() == nullptr) return std::nullopt;
      path.push_back(*part.name());
    }
    return path;
  }
  return std::nullopt;
}

// Less first, then equal, as the compute fallback below does (so NaN compares as greater).
template <typename T>
int Order(T left, T right) {
  if (left < right) return -1;
  return left == right ? 0 : 1;
}

template <typename T>
T ValueOf(const arrow::Scalar& scalar) {
  T value;
  std::memcpy(&value, static_cast<const arrow::internal::PrimitiveScalarBase&>(scalar).data(),
              sizeof(T));
  return value;
}

// The comparison without the compute layer, for the scalar pairs statistics hold: a call
// through arrow::compute dispatches, casts and allocates per comparison, which made planning
// a scan over 100 files cost as much as reading one. nullopt: not a pair handled here.
std::optional<int> CompareDirectly(const arrow::Scalar& left, const arrow::Scalar& right) {
  using arrow::Type;
  const Type::type left_id = left.type->id();
  const Type::type right_id = right.type->id();
  auto is_signed = [](Type::type id) {
    return id == Type::INT8 || id == Type::INT16 || id == Type::INT32 || id == Type::INT64;
  };
  auto is_unsigned = [](Type::type id) {
    return id == Type::UINT8 || id == Type::UINT16 || id == Type::UINT32;
  };
  auto integer = [&](const arrow::Scalar& scalar, Type::type id) -> int64_t {
    switch (id) {
      case Type::INT8:
        return ValueOf<int8_t>(scalar);
      case Type::INT16:
        return ValueOf<int16_t>(scalar);
      case Type::INT32:
        return ValueOf<int32_t>(scalar);
      case Type::UINT8:
        return ValueOf<uint8_t>(scalar);
      case Type::UINT16:
        return ValueOf<uint16_t>(scalar);
      case Type::UINT32:
        return ValueOf<uint32_t>(scalar);
      default:
        return ValueOf<int64_t>(scalar);
    }
  };
  auto exact_integer = [&](Type::type id) { return is_signed(id) || is_unsigned(id); };
  if (exact_integer(left_id) && exact_integer(right_id)) {
    return Order(integer(left, left_id), integer(right, right_id));
  }
  if (!left.type->Equals(*right.type)) return std::nullopt;
  switch (left_id) {
    case Type::BOOL:
      return Order(static_cast<const arrow::BooleanScalar&>(left).value,
                   static_cast<const arrow::BooleanScalar&>(right).value);
    case Type::UINT64:
      return Order(ValueOf<uint64_t>(left), ValueOf<uint64_t>(right));
    case Type::FLOAT:
      return Order(ValueOf<float>(left), ValueOf<float>(right));
    case Type::DOUBLE:
      return Order(ValueOf<double>(left), ValueOf<double>(right));
    case Type::DATE32:
    case Type::TIME32:
      return Order(ValueOf<int32_t>(left), ValueOf<int32_t>(right));
    case Type::DATE64:
    case Type::TIME64:
    case Type::TIMESTAMP:
    case Type::DURATION:
      return Order(ValueOf<int64_t>(left), ValueOf<int64_t>(right));
    case Type::STRING:
    case Type::BINARY:
    case Type::LARGE_STRING:
    case Type::LARGE_BINARY:
    case Type::STRING_VIEW:
    case Type::BINARY_VIEW: {
      auto view = [](const arrow::Scalar& scalar) {
        return static_cast<const arrow::internal::PrimitiveScalarBase&>(scalar).view();
      };
      int order = view(left).compare(view(right));
      return order < 0 ? -1 : (order == 0 ? 0 : 1);
    }
    default:
      return std::nullopt;
  }
}

// -1, 0 or 1, or nullopt when the scalars cannot be compared.
std::optional<int> Compare(const std::shared_ptr<arrow::Scalar>& left,
                           const std::shared_ptr<arrow::Scalar>& right) {
  if (!left->is_valid || !right->is_valid) return std::nullopt;
  if (auto order = CompareDirectly(*left, *right)) return order;
  auto call = [&](const char* function) -> std::optional<bool> {
    auto result = arrow::compute::CallFunction(function, {left, right});
    if (!result.ok() || !result->is_scalar()) return std::nullopt;
    const auto& scalar = result->scalar_as<arrow::BooleanScalar>();
    if (!scalar.is_valid) return std::nullopt;
    return scalar.value;
  };
  auto less = call("less");
  if (!less) return std::nullopt;
  if (*less) return -1;
  auto equal = call("equal");
  if (!equal) return std::nullopt;
  return *equal ? 0 : 1;
}

const char* Flip(const std::string& function) {
  if (function == "less") return "greater";
  if (function == "less_equal") return "greater_equal";
  if (function == "greater") return "less";
  if (function == "greater_equal") return "less_equal";
  if (function == "equal") return "equal";
  if (function == "not_equal") return "not_equal";
  return nullptr;
}

class Evaluator {
 public:
  explicit Evaluator(const FileStatistics& bounds) : bounds_(bounds) {}

  Outcome Evaluate(const arrow::compute::Expression& expression) const {
    if (const arrow::Datum* literal = expression.literal()) {
      if (!literal->is_scalar() || literal->type()->id() != arrow::Type::BOOL) return kUnknown;
      const auto& scalar = literal->scalar_as<arrow::BooleanScalar>();
      if (!scalar.is_valid) return {false, false, true};
      return {scalar.value, !scalar.value, false};
    }
    const auto* call = expression.call();
    if (call == nullptr) return kUnknown;
    const std::string& function = call->function_name;
    const auto& arguments = call->arguments;
    if ((function == "and_kleene" || function == "and") && arguments.size() == 2) {
      Outcome a = Evaluate(arguments[0]);
      Outcome b = Evaluate(arguments[1]);
      // Kleene: null AND false is false; the plain kernel makes any null operand null.
      const bool kleene = function == "and_kleene";
      return {a.may_be_true && b.may_be_true, a.may_be_false || b.may_be_false,
              kleene ? (a.may_be_null && (b.may_be_true || b.may_be_null)) ||
                           (b.may_be_null && (a.may_be_true || a.may_be_null))
                     : a.may_be_null || b.may_be_null};
    }
    if ((function == "or_kleene" || function == "or") && arguments.size() == 2) {
      Outcome a = Evaluate(arguments[0]);
      Outcome b = Evaluate(arguments[1]);
      const bool kleene = function == "or_kleene";
      return {a.may_be_true || b.may_be_true, a.may_be_false && b.may_be_false,
              kleene ? (a.may_be_null && (b.may_be_false || b.may_be_null)) ||
                           (b.may_be_null && (a.may_be_false || a.may_be_null))
                     : a.may_be_null || b.may_be_null};
    }
    if (function == "invert" && arguments.size() == 1) {
      Outcome a = Evaluate(arguments[0]);
      return {a.may_be_false, a.may_be_true, a.may_be_null};
    }
    if ((function == "is_null" || function == "is_valid") && arguments.size() == 1) {
      const ColumnStatistics* column = Column(arguments[0]);
      if (column == nullptr) return {true, true, false};
      bool may_have_nulls = MayHaveNulls(*column);
      bool may_have_values = !AllNull(*column);
      if (function == "is_null") return {may_have_nulls, may_have_values, false};
      return {may_have_values, may_have_nulls, false};
    }
    if (function == "is_in" && arguments.size() == 1) return EvaluateIsIn(*call);
    if (arguments.size() == 2) {
      if (arguments[0].field_ref() != nullptr && arguments[1].literal() != nullptr) {
        return EvaluateComparison(function, arguments[0], *arguments[1].literal());
      }
      if (arguments[1].field_ref() != nullptr && arguments[0].literal() != nullptr) {
        const char* flipped = Flip(function);
        if (flipped == nullptr) return kUnknown;
        return EvaluateComparison(flipped, arguments[1], *arguments[0].literal());
      }
    }
    return kUnknown;
  }

 private:
  const ColumnStatistics* Column(const arrow::compute::Expression& expression) const {
    const arrow::FieldRef* reference = expression.field_ref();
    if (reference == nullptr) return nullptr;
    auto path = PathOf(*reference);
    return path ? bounds_.Find(*path) : nullptr;
  }

  bool MayHaveNulls(const ColumnStatistics& column) const {
    return !column.null_count || *column.null_count > 0;
  }

  bool AllNull(const ColumnStatistics& column) const {
    return column.null_count && bounds_.num_records && *column.null_count == *bounds_.num_records;
  }

  Outcome EvaluateComparison(const std::string& function, const arrow::compute::Expression& field,
                             const arrow::Datum& literal) const {
    if (!literal.is_scalar()) return kUnknown;
    const auto& value = literal.scalar();
    if (!value->is_valid) return {false, false, true};  // comparing with null yields null
    const ColumnStatistics* column = Column(field);
    if (column == nullptr) return kUnknown;
    if (AllNull(*column)) return {false, false, true};
    Outcome outcome;
    outcome.may_be_null = MayHaveNulls(*column);
    std::optional<int> min_vs_value;
    std::optional<int> max_vs_value;
    if (column->min) min_vs_value = Compare(column->min, value);
    if (column->max) max_vs_value = Compare(column->max, value);
    bool known = min_vs_value && max_vs_value;
    if (function == "equal" || function == "not_equal") {
      bool may_equal = !known || (*min_vs_value <= 0 && *max_vs_value >= 0);
      bool may_differ = !known || !(*min_vs_value == 0 && *max_vs_value == 0);
      outcome.may_be_true = function == "equal" ? may_equal : may_differ;
      outcome.may_be_false = function == "equal" ? may_differ : may_equal;
    } else if (function == "less") {
      outcome.may_be_true = !min_vs_value || *min_vs_value < 0;
      outcome.may_be_false = !max_vs_value || *max_vs_value >= 0;
    } else if (function == "less_equal") {
      outcome.may_be_true = !min_vs_value || *min_vs_value <= 0;
      outcome.may_be_false = !max_vs_value || *max_vs_value > 0;
    } else if (function == "greater") {
      outcome.may_be_true = !max_vs_value || *max_vs_value > 0;
      outcome.may_be_false = !min_vs_value || *min_vs_value <= 0;
    } else if (function == "greater_equal") {
      outcome.may_be_true = !max_vs_value || *max_vs_value >= 0;
      outcome.may_be_false = !min_vs_value || *min_vs_value < 0;
    } else {
      return kUnknown;
    }
    // NaN is outside every bound and compares false (not_equal: true) in Arrow; bounds cannot
    // rule it out, so floating-point columns keep both outcomes possible.
    const auto& bound = column->min ? column->min : column->max;
    if (bound && arrow::is_floating(bound->type->id())) {
      outcome.may_be_false = true;
      if (function == "not_equal") outcome.may_be_true = true;
    }
    return outcome;
  }

  Outcome EvaluateIsIn(const arrow::compute::Expression::Call& call) const {
    const ColumnStatistics* column = Column(call.arguments[0]);
    const auto* options = dynamic_cast<const arrow::compute::SetLookupOptions*>(call.options.get());
    if (column == nullptr || options == nullptr || !options->value_set.is_array()) return kUnknown;
    // Whether a lookup yields null depends on the options' null matching and on nulls in the
    // set; the bounds cannot rule it out.
    Outcome outcome{false, true, true};
    if (AllNull(*column)) return {false, false, true};
    if (!column->min || !column->max) return kUnknown;
    auto values = options->value_set.make_array();
    constexpr int64_t kMaxValuesChecked = 1000;
    if (values->length() > kMaxValuesChecked) return kUnknown;
    for (int64_t i = 0; i < values->length(); ++i) {
      auto value = values->GetScalar(i);
      if (!value.ok()) return kUnknown;
      if (!(*value)->is_valid) {
        // Depending on null matching, a null in the set may match null rows.
        if (MayHaveNulls(*column)) outcome.may_be_true = true;
        continue;
      }
      auto min_vs_value = Compare(column->min, *value);
      auto max_vs_value = Compare(column->max, *value);
      if (!min_vs_value || !max_vs_value || (*min_vs_value <= 0 && *max_vs_value >= 0)) {
        outcome.may_be_true = true;
        break;
      }
    }
    return outcome;
  }

  const FileStatistics& bounds_;
};

}  // namespace

bool MightMatch(const arrow::compute::Expression& filter, const FileStatistics& bounds) {
  // Without compute functions nothing can be compared: keep the file.
  if (!EnsureComputeFunctions().ok()) return true;
  return Evaluator(bounds).Evaluate(filter).may_be_true;
}

BoundsVerdict JudgeFilter(const arrow::compute::Expression& filter, const FileStatistics& bounds) {
  if (!EnsureComputeFunctions().ok()) return {};
  Outcome outcome = Evaluator(bounds).Evaluate(filter);
  return {outcome.may_be_true,
          outcome.may_be_true && !outcome.may_be_false && !outcome.may_be_null};
}

}  // namespace nlk::delta::data
