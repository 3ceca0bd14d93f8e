#include "sql/expression_factory.h"

#include <arrow/array/builder_base.h>
#include <arrow/compute/api.h>
#include <arrow/util/decimal.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>
#include <map>
#include <sstream>
#include <utility>

#include "common/parse_number.h"
#include "common/time_units.h"
#include "sql/sql_functions.h"

namespace nlk::sql {

namespace compute = arrow::compute;

namespace {

bool IsString(const arrow::DataType& type) {
  return type.id() == arrow::Type::STRING || type.id() == arrow::Type::LARGE_STRING ||
         type.id() == arrow::Type::STRING_VIEW;
}

bool IsTemporal(const arrow::DataType& type) {
  return type.id() == arrow::Type::TIMESTAMP || type.id() == arrow::Type::DATE32 ||
         type.id() == arrow::Type::DATE64;
}

std::shared_ptr<arrow::DataType> TimestampMicros() {
  return arrow::timestamp(arrow::TimeUnit::MICRO, "UTC");
}

bool IsNumber(const arrow::DataType& type) {
  return arrow::is_integer(type.id()) || arrow::is_floating(type.id()) ||
         arrow::is_decimal(type.id());
}

bool IsNumberConstant(const TypedExpression& value) {
  return value.constant && value.constant->is_valid && IsNumber(*value.type);
}

// The smallest and largest value of an integer type.
std::pair<arrow::Decimal128, arrow::Decimal128> IntegerRange(const arrow::DataType& type) {
  const int bits = type.bit_width();
  if (arrow::is_signed_integer(type.id())) {
    arrow::Decimal128 largest = (arrow::Decimal128(1) << (bits - 1)) - 1;
    return {-largest - 1, largest};
  }
  return {arrow::Decimal128(0), (arrow::Decimal128(1) << bits) - 1};
}

// The integers next to a number, below (or at) and above (or at) it; equal when the number is
// an integer. Numbers beyond every integer type's range count as +-10^20.
struct IntegerNeighbours {
  arrow::Decimal128 floor;
  arrow::Decimal128 ceiling;
  bool integral() const { return floor == ceiling; }
};

// Nullopt for NaN and for anything that is not a valid number.
std::optional<IntegerNeighbours> NeighboursOf(const TypedExpression& number) {
  const std::shared_ptr<arrow::Scalar>& scalar = number.written ? number.written : number.constant;
  if (!scalar || !scalar->is_valid) return std::nullopt;
  const arrow::DataType& type = *scalar->type;
  if (arrow::is_signed_integer(type.id())) {
    auto value = scalar->CastTo(arrow::int64());
    if (!value.ok()) return std::nullopt;
    arrow::Decimal128 exact(static_cast<const arrow::Int64Scalar&>(**value).value);
    return IntegerNeighbours{exact, exact};
  }
  if (arrow::is_unsigned_integer(type.id())) {
    auto value = scalar->CastTo(arrow::uint64());
    if (!value.ok()) return std::nullopt;
    arrow::Decimal128 exact(0, static_cast<const arrow::UInt64Scalar&>(**value).value);
    return IntegerNeighbours{exact, exact};
  }
  if (type.id() == arrow::Type::DECIMAL128) {
    const auto& decimal = static_cast<const arrow::Decimal128Scalar&>(*scalar);
    const int32_t scale = static_cast<const arrow::Decimal128Type&>(type).scale();
    if (scale <= 0) return IntegerNeighbours{decimal.value, decimal.value};
    arrow::BasicDecimal128 whole;
    arrow::BasicDecimal128 fraction;
    decimal.value.GetWholeAndFraction(scale, &whole, &fraction);
    IntegerNeighbours neighbours{whole, whole};
    if (fraction < 0) neighbours.floor -= 1;
    if (fraction > 0) neighbours.ceiling += 1;
    return neighbours;
  }
  if (arrow::is_floating(type.id())) {
    auto value = scalar->CastTo(arrow::float64());
    if (!value.ok()) return std::nullopt;
    double real = static_cast<const arrow::DoubleScalar&>(**value).value;
    if (std::isnan(real)) return std::nullopt;
    const arrow::Decimal128 beyond = arrow::Decimal128::GetScaleMultiplier(20);
    if (real >= 1e20) return IntegerNeighbours{beyond, beyond};
    if (real <= -1e20) return IntegerNeighbours{-beyond, -beyond};
    // Integral doubles below 10^20 convert exactly.
    auto floor = arrow::Decimal128::FromReal(std::floor(real), 38, 0);
    auto ceiling = arrow::Decimal128::FromReal(std::ceil(real), 38, 0);
    if (!floor.ok() || !ceiling.ok()) return std::nullopt;
    return IntegerNeighbours{*floor, *ceiling};
  }
  return std::nullopt;
}

// The type two numbers meet in: the wider integer (for a signed and an unsigned one, a signed
// type that holds both, up to 64 bits), or the floating-point side's type (the wider of two).
std::shared_ptr<arrow::DataType> WiderNumber(const std::shared_ptr<arrow::DataType>& left,
                                             const std::shared_ptr<arrow::DataType>& right) {
  bool left_floating = arrow::is_floating(left->id());
  bool right_floating = arrow::is_floating(right->id());
  if (left_floating || right_floating) {
    if (left_floating && right_floating)
      return left->bit_width() >= right->bit_width() ? left : right;
    return left_floating ? left : right;
  }
  bool left_signed = arrow::is_signed_integer(left->id());
  bool right_signed = arrow::is_signed_integer(right->id());
  if (left_signed == right_signed) return left->bit_width() >= right->bit_width() ? left : right;
  const auto& signed_type = left_signed ? left : right;
  const auto& unsigned_type = left_signed ? right : left;
  if (signed_type->bit_width() > unsigned_type->bit_width()) return signed_type;
  switch (unsigned_type->bit_width()) {
    case 8:
      return arrow::int16();
    case 16:
      return arrow::int32();
    default:
      return arrow::int64();
  }
}

// `a op b` as `b op' a`.
const std::string& Mirrored(const std::string& function) {
  static const std::map<std::string, std::string> kMirrored = {
      {"equal", "equal"},  {"not_equal", "not_equal"},      {"less", "greater"},
      {"greater", "less"}, {"less_equal", "greater_equal"}, {"greater_equal", "less_equal"}};
  return kMirrored.at(function);
}

// A number rounded to an integer, half away from zero as PostgreSQL rounds; for a number written
// with a fraction, its value as written. Values beyond every integer type count as +-10^20.
arrow::Result<arrow::Decimal128> RoundToInteger(const TypedExpression& number) {
  const std::shared_ptr<arrow::Scalar>& scalar = number.written ? number.written : number.constant;
  if (scalar->type->id() == arrow::Type::DECIMAL128) {
    const auto& decimal = static_cast<const arrow::Decimal128Scalar&>(*scalar);
    const int32_t scale = static_cast<const arrow::Decimal128Type&>(*scalar->type).scale();
    return scale <= 0 ? decimal.value : arrow::Decimal128(decimal.value.ReduceScaleBy(scale));
  }
  if (arrow::is_floating(scalar->type->id())) {
    ARROW_ASSIGN_OR_RAISE(auto value, scalar->CastTo(arrow::float64()));
    double real = static_cast<const arrow::DoubleScalar&>(*value).value;
    if (std::isnan(real)) return arrow::Status::Invalid("NaN has no integer value");
    const arrow::Decimal128 beyond = arrow::Decimal128::GetScaleMultiplier(20);
    if (real >= 1e20) return beyond;
    if (real <= -1e20) return -beyond;
    return arrow::Decimal128::FromReal(std::round(real), 38, 0);
  }
  std::optional<IntegerNeighbours> neighbours = NeighboursOf(number);
  if (!neighbours) return arrow::Status::Invalid(scalar->ToString(), " is not a number");
  return neighbours->floor;
}

// How `value <function> x` is decided exactly when x lies between two integers (`neighbours`)
// and value holds the integers from `smallest` to `largest`: by comparing value with one
// integer (`bound`), or by one result for every value (NULL aside).
struct IntegerComparison {
  std::optional<arrow::Decimal128> bound;
  bool result = false;
};

std::optional<IntegerComparison> DecideComparison(const std::string& function,
                                                  const IntegerNeighbours& neighbours,
                                                  const arrow::Decimal128& smallest,
                                                  const arrow::Decimal128& largest) {
  const arrow::Decimal128& floor = neighbours.floor;
  const arrow::Decimal128& ceiling = neighbours.ceiling;
  bool equal_possible = neighbours.integral() && floor >= smallest && floor <= largest;
  if (function == "equal" || function == "not_equal") {
    if (!equal_possible) return IntegerComparison{std::nullopt, function == "not_equal"};
    return IntegerComparison{floor};
  }
  // value > x is value > floor(x); value >= x is value >= ceiling(x); likewise below.
  if (function == "greater" || function == "less_equal") {
    bool greater = function == "greater";
    if (floor >= largest) return IntegerComparison{std::nullopt, !greater};
    if (floor < smallest) return IntegerComparison{std::nullopt, greater};
    return IntegerComparison{floor};
  }
  if (function == "greater_equal" || function == "less") {
    bool greater = function == "greater_equal";
    if (ceiling > largest) return IntegerComparison{std::nullopt, !greater};
    if (ceiling <= smallest) return IntegerComparison{std::nullopt, greater};
    return IntegerComparison{ceiling};
  }
  return std::nullopt;
}

// An integer of `type` known to be within its range.
arrow::Result<std::shared_ptr<arrow::Scalar>> IntegerScalar(
    const arrow::Decimal128& value, const std::shared_ptr<arrow::DataType>& type) {
  if (arrow::is_unsigned_integer(type->id())) return arrow::MakeScalar(type, value.low_bits());
  return arrow::MakeScalar(type, static_cast<int64_t>(value.low_bits()));
}

// A number as a float4/float8, rounded to the nearest (Arrow's safe cast refuses integers that
// float4 cannot hold exactly, but a comparison or sum in float4 rounds anyway).
arrow::Result<std::shared_ptr<arrow::Scalar>> ToFloating(
    const std::shared_ptr<arrow::Scalar>& value, const std::shared_ptr<arrow::DataType>& type) {
  ARROW_ASSIGN_OR_RAISE(auto cast,
                        compute::Cast(arrow::Datum(value), compute::CastOptions::Unsafe(type)));
  return cast.scalar();
}

// Casts a scalar now, so bad literals fail while binding. Strings become zoned timestamps in
// UTC (Arrow only parses zone-less text into zone-less timestamps).
arrow::Result<std::shared_ptr<arrow::Scalar>> CastScalar(
    const std::shared_ptr<arrow::Scalar>& value, const std::shared_ptr<arrow::DataType>& type) {
  if (!value->is_valid) return arrow::MakeNullScalar(type);
  std::shared_ptr<arrow::Scalar> source = value;

  if (IsString(*value->type) && type->id() == arrow::Type::TIMESTAMP) {
    const auto& timestamp = static_cast<const arrow::TimestampType&>(*type);
    auto naive = compute::Cast(arrow::Datum(value), arrow::timestamp(timestamp.unit()));
    if (naive.ok()) {
      source = naive->scalar();
    } else {
      // Text with a zone ('...Z', '...+00', '...-05:30') names an instant: read it as one.
      auto instant = compute::Cast(arrow::Datum(value), arrow::timestamp(timestamp.unit(), "UTC"));
      if (!instant.ok()) return naive.status();
      source = instant->scalar();
    }
  }
  ARROW_ASSIGN_OR_RAISE(auto cast, compute::Cast(arrow::Datum(source), type));
  return cast.scalar();
}

}  // namespace

void ExpressionFactory::DeclareColumn(const std::string& name,
                                      std::shared_ptr<arrow::DataType> type) {
  fields_.push_back(arrow::field(name, std::move(type)));
  schema_ = nullptr;
}

TypedExpression ExpressionFactory::Column(const std::string& name) const {
  for (const auto& field : fields_) {
    if (field->name() == name) return {compute::field_ref(name), field->type(), nullptr};
  }
  return {compute::field_ref(name), arrow::null(), nullptr};
}

TypedExpression ExpressionFactory::Literal(std::shared_ptr<arrow::Scalar> value) const {
  return {compute::literal(value), value->type, value, nullptr};
}

arrow::Result<TypedExpression> ExpressionFactory::NumberLiteral(const std::string& text) {
  bool negative = !text.empty() && text[0] == '-';
  std::string_view digits = std::string_view(text).substr(negative ? 1 : 0);
  bool integer = !digits.empty() && std::all_of(digits.begin(), digits.end(), [](char c) {
    return std::isdigit(static_cast<unsigned char>(c)) != 0;
  });
  if (integer) {
    if (std::optional<int64_t> value = ParseNumber<int64_t>(text)) {
      if (*value >= std::numeric_limits<int32_t>::min() &&
          *value <= std::numeric_limits<int32_t>::max()) {
        return TypedExpression{compute::literal(static_cast<int32_t>(*value)), arrow::int32(),
                               arrow::MakeScalar(static_cast<int32_t>(*value)), nullptr};
      }
      auto scalar = arrow::MakeScalar(*value);
      return TypedExpression{compute::literal(scalar), scalar->type, scalar, nullptr};
    }
    size_t significant = digits.find_first_not_of('0');
    int32_t precision = static_cast<int32_t>(digits.size() - significant);
    if (precision <= arrow::Decimal128Type::kMaxPrecision) {
      ARROW_ASSIGN_OR_RAISE(auto value, arrow::Decimal128::FromString(text));
      auto scalar =
          std::make_shared<arrow::Decimal128Scalar>(value, arrow::decimal128(precision, 0));
      return TypedExpression{compute::literal(scalar), scalar->type, scalar, nullptr};
    }
  }
  std::optional<double> value = ParseNumber<double>(text);
  if (!value) {
    return arrow::Status::Invalid("numeric constant ", text, " is out of range for double");
  }
  auto scalar = arrow::MakeScalar(*value);
  TypedExpression number{compute::literal(scalar), scalar->type, scalar, nullptr};
  arrow::Decimal128 exact;
  int32_t precision = 0;
  int32_t scale = 0;
  if (arrow::Decimal128::FromString(text, &exact, &precision, &scale).ok() && scale >= 0) {
    number.written = std::make_shared<arrow::Decimal128Scalar>(
        exact, arrow::decimal128(std::max(precision, scale), scale));
  }
  return number;
}

arrow::Result<std::shared_ptr<arrow::DataType>> ExpressionFactory::TypeOf(
    const compute::Expression& expression) {
  if (schema_ == nullptr) schema_ = arrow::schema(fields_);
  ARROW_ASSIGN_OR_RAISE(auto bound, expression.Bind(*schema_));
  return bound.type()->GetSharedPtr();
}

arrow::Result<TypedExpression> ExpressionFactory::Make(
    const std::string& function, std::vector<TypedExpression> arguments,
    std::shared_ptr<compute::FunctionOptions> options) {
  std::vector<compute::Expression> expressions;
  std::vector<std::string> type_names;
  for (auto& argument : arguments) {
    expressions.push_back(argument.expression);
    type_names.push_back(argument.type->ToString());
  }
  auto type = CallType(function, arguments, options);
  if (!type.ok()) {
    std::string list;
    for (const auto& name : type_names) list += (list.empty() ? "" : ", ") + name;
    return arrow::Status::TypeError("no variant of ", function, " takes (", list, ")");
  }
  TypedExpression result;
  result.expression = compute::call(function, std::move(expressions), std::move(options));
  result.type = *type;
  bool constant = std::all_of(arguments.begin(), arguments.end(), [](const TypedExpression& value) {
    return value.expression.literal() != nullptr;
  });
  if (constant) return Fold(std::move(result));
  return result;
}

arrow::Result<std::shared_ptr<arrow::DataType>> ExpressionFactory::CallType(
    const std::string& function, const std::vector<TypedExpression>& arguments,
    const std::shared_ptr<compute::FunctionOptions>& options) {
  // Arrow types a call by its arguments' types and the values of its literal arguments, so the
  // call is bound over placeholders of the arguments' types: binding the whole tree at every
  // level made binding quadratic in the expression's depth.
  arrow::FieldVector placeholders;
  std::vector<compute::Expression> shallow;
  for (const auto& argument : arguments) {
    if (argument.expression.literal() != nullptr) {
      shallow.push_back(argument.expression);
      continue;
    }
    std::string name = std::to_string(placeholders.size());
    placeholders.push_back(arrow::field(name, argument.type));
    shallow.push_back(compute::field_ref(name));
  }
  ARROW_ASSIGN_OR_RAISE(auto bound, compute::call(function, std::move(shallow), options)
                                        .Bind(arrow::Schema(std::move(placeholders))));
  return bound.type()->GetSharedPtr();
}

arrow::Result<TypedExpression> ExpressionFactory::Connect(const std::string& function,
                                                          std::vector<TypedExpression> terms) {
  if (terms.size() == 1) return std::move(terms.front());
  // Halves joined recursively: the tree is log2(n) deep, so evaluating and pruning it recurse
  // little even for thousands of terms.
  size_t middle = terms.size() / 2;
  std::vector<TypedExpression> second(std::make_move_iterator(terms.begin() + middle),
                                      std::make_move_iterator(terms.end()));
  terms.resize(middle);
  ARROW_ASSIGN_OR_RAISE(auto left, Connect(function, std::move(terms)));
  ARROW_ASSIGN_OR_RAISE(auto right, Connect(function, std::move(second)));
  return Make(function, {std::move(left), std::move(right)});
}

arrow::Result<TypedExpression> ExpressionFactory::Fold(TypedExpression value) {
  if (!compute::FieldsInExpression(value.expression).empty()) return value;
  static const auto kNoColumns = arrow::schema(arrow::FieldVector{});
  ARROW_ASSIGN_OR_RAISE(auto bound, value.expression.Bind(*kNoColumns));
  ARROW_ASSIGN_OR_RAISE(auto folded, compute::FoldConstants(std::move(bound)));
  const arrow::Datum* literal = folded.literal();
  if (literal == nullptr || !literal->is_scalar()) return value;
  return Literal(literal->scalar());
}

arrow::Result<std::shared_ptr<arrow::DataType>> ExpressionFactory::CommonType(
    const std::shared_ptr<arrow::DataType>& left, const std::shared_ptr<arrow::DataType>& right) {
  if (left->Equals(*right)) return left;
  if (left->id() == arrow::Type::NA) return right;
  if (right->id() == arrow::Type::NA) return left;
  bool left_number = arrow::is_integer(left->id()) || arrow::is_floating(left->id());
  bool right_number = arrow::is_integer(right->id()) || arrow::is_floating(right->id());
  if (left_number && right_number) return WiderNumber(left, right);
  if (IsString(*left) && IsString(*right)) return arrow::utf8();
  if (IsTemporal(*left) && IsTemporal(*right)) {
    if (left->id() == arrow::Type::TIMESTAMP) return left;
    return right;
  }
  return arrow::Status::TypeError("types ", left->ToString(), " and ", right->ToString(),
                                  " cannot be matched");
}

arrow::Status ExpressionFactory::Harmonize(TypedExpression* left, TypedExpression* right) {
  auto convert = [&](TypedExpression* value, const std::shared_ptr<arrow::DataType>& type) {
    return Cast(*value, type).Value(value);
  };
  if (left->type->id() == arrow::Type::NA && right->type->id() != arrow::Type::NA) {
    return convert(left, right->type);
  }
  if (right->type->id() == arrow::Type::NA && left->type->id() != arrow::Type::NA) {
    return convert(right, left->type);
  }
  // A string literal next to a non-string takes the other side's type ('2026-01-01' as time).
  if (left->constant && IsString(*left->type) && !IsString(*right->type)) {
    return convert(left, right->type);
  }
  if (right->constant && IsString(*right->type) && !IsString(*left->type)) {
    return convert(right, left->type);
  }
  // A number next to a float4/float8 expression takes its type, as a column's type decides a
  // comparison with a literal.
  for (auto [number, other] : {std::pair{left, right}, std::pair{right, left}}) {
    if (IsNumberConstant(*number) && !other->constant && arrow::is_floating(other->type->id()) &&
        !number->type->Equals(*other->type)) {
      ARROW_ASSIGN_OR_RAISE(auto converted, ToFloating(number->constant, other->type));
      *number = Literal(std::move(converted));
      return arrow::Status::OK();
    }
  }
  // A numeric (decimal) next to an integer: the integer becomes a decimal wide enough for its
  // type (Arrow's own choice of casts fails for decimal literals next to integer literals).
  for (auto [decimal, integer] : {std::pair{left, right}, std::pair{right, left}}) {
    if (decimal->type->id() == arrow::Type::DECIMAL128 && arrow::is_integer(integer->type->id())) {
      auto [smallest, largest] = IntegerRange(*integer->type);
      int32_t digits = static_cast<int32_t>(largest.ToIntegerString().size());
      return convert(integer, arrow::decimal128(digits, 0));
    }
  }
  // Numbers of two types meet in the wider one, decided here: Arrow would first shrink literals
  // to their smallest type (2147483647 + 1::bigint overflowing int4, 16777217 * 1.0 refused as
  // float4).
  if (IsNumber(*left->type) && IsNumber(*right->type) && !left->type->Equals(*right->type) &&
      !arrow::is_decimal(left->type->id()) && !arrow::is_decimal(right->type->id())) {
    ARROW_ASSIGN_OR_RAISE(auto common, CommonType(left->type, right->type));
    ARROW_RETURN_NOT_OK(convert(left, common));
    return convert(right, common);
  }
  if (left->type->id() == arrow::Type::TIMESTAMP && right->type->id() == arrow::Type::TIMESTAMP &&
      !left->type->Equals(*right->type)) {
    // A constant takes the other side's type, which keeps a column bare for pruning.
    for (auto [constant, other] : {std::pair{left, right}, std::pair{right, left}}) {
      if (constant->constant && !other->constant &&
          Cast(*constant, other->type).Value(constant).ok()) {
        return arrow::Status::OK();
      }
    }
    const auto& left_zone = static_cast<const arrow::TimestampType&>(*left->type).timezone();
    if (left_zone.empty()) return convert(left, right->type);
    return convert(right, left->type);
  }
  if (left->type->id() == arrow::Type::TIMESTAMP && right->type->id() == arrow::Type::DATE32) {
    return convert(right, left->type);
  }
  if (right->type->id() == arrow::Type::TIMESTAMP && left->type->id() == arrow::Type::DATE32) {
    return convert(left, right->type);
  }
  return arrow::Status::OK();
}

arrow::Result<TypedExpression> ExpressionFactory::KnownUnlessNull(const TypedExpression& value,
                                                                  bool result) {
  // Kleene logic keeps NULL rows NULL: (valid OR NULL) is true or NULL, (null AND NULL) false or
  // NULL. Both forms stay visible to pruning by statistics.
  TypedExpression unknown = Literal(arrow::MakeNullScalar(arrow::boolean()));
  if (result) {
    ARROW_ASSIGN_OR_RAISE(auto valid, Make("is_valid", {value}));
    return Make("or_kleene", {valid, unknown});
  }
  ARROW_ASSIGN_OR_RAISE(auto missing, Make("is_null", {value}));
  return Make("and_kleene", {missing, unknown});
}

arrow::Result<std::optional<TypedExpression>> ExpressionFactory::CompareIntegerWithNumber(
    const std::string& function, const TypedExpression& value, const TypedExpression& number) {
  if (!arrow::is_integer(value.type->id()) || !IsNumberConstant(number)) return std::nullopt;
  std::optional<IntegerNeighbours> neighbours = NeighboursOf(number);
  if (!neighbours) return std::nullopt;
  auto [smallest, largest] = IntegerRange(*value.type);
  std::optional<IntegerComparison> decided =
      DecideComparison(function, *neighbours, smallest, largest);
  if (!decided) return std::nullopt;
  if (!decided->bound) return KnownUnlessNull(value, decided->result);
  ARROW_ASSIGN_OR_RAISE(auto literal, IntegerScalar(*decided->bound, value.type));
  return Make(function, {value, Literal(std::move(literal))});
}

arrow::Result<std::optional<TypedExpression>> ExpressionFactory::CompareDateWithTimestamp(
    const std::string& function, const TypedExpression& value, const TypedExpression& instant) {
  if (value.type->id() != arrow::Type::DATE32 || !instant.constant || !instant.constant->is_valid ||
      instant.type->id() != arrow::Type::TIMESTAMP) {
    return std::nullopt;
  }
  // A date is its midnight (UTC): date > t is date > the day of t, date >= t is date >= the
  // first midnight at or after t.
  const auto& timestamp = static_cast<const arrow::TimestampScalar&>(*instant.constant);
  const auto unit = static_cast<const arrow::TimestampType&>(*instant.type).unit();
  const int64_t ticks_per_day = int64_t{86400} * UnitsPerSecond(unit);
  int64_t day = timestamp.value / ticks_per_day;
  int64_t remainder = timestamp.value % ticks_per_day;
  if (remainder < 0) --day;
  IntegerNeighbours days{arrow::Decimal128(day), arrow::Decimal128(day + (remainder != 0 ? 1 : 0))};
  auto [smallest, largest] = IntegerRange(*arrow::int32());
  std::optional<IntegerComparison> decided = DecideComparison(function, days, smallest, largest);
  if (!decided) return std::nullopt;
  if (!decided->bound) return KnownUnlessNull(value, decided->result);
  auto date = std::make_shared<arrow::Date32Scalar>(
      static_cast<int32_t>(static_cast<int64_t>(decided->bound->low_bits())));
  return Make(function, {value, Literal(std::move(date))});
}

arrow::Result<TypedExpression> ExpressionFactory::Cast(
    TypedExpression value, const std::shared_ptr<arrow::DataType>& type) {
  if (value.type->Equals(*type)) return value;
  if (IsNumberConstant(value) && arrow::is_integer(type->id())) {
    ARROW_ASSIGN_OR_RAISE(arrow::Decimal128 rounded, RoundToInteger(value));
    auto [smallest, largest] = IntegerRange(*type);
    if (rounded < smallest || rounded > largest) {
      return arrow::Status::Invalid((value.written ? value.written : value.constant)->ToString(),
                                    " is out of range for ", type->ToString());
    }
    ARROW_ASSIGN_OR_RAISE(auto integer, IntegerScalar(rounded, type));
    return Literal(std::move(integer));
  }
  // An integer (or decimal) as floating point rounds to the nearest, as in PostgreSQL; Arrow's
  // safe cast refuses integers beyond 2^53 (float8) or 2^24 (float4).
  bool rounds = (arrow::is_integer(value.type->id()) || arrow::is_decimal(value.type->id())) &&
                arrow::is_floating(type->id());
  if (IsNumberConstant(value) && rounds) {
    ARROW_ASSIGN_OR_RAISE(auto rounded, ToFloating(value.constant, type));
    return Literal(std::move(rounded));
  }
  if (value.constant) {
    auto cast = CastScalar(value.constant, type);
    if (!cast.ok()) {
      return arrow::Status::Invalid("cannot convert ", value.constant->ToString(), " to ",
                                    type->ToString(), ": ", cast.status().message());
    }
    return Literal(*cast);
  }
  if (arrow::is_floating(value.type->id()) && arrow::is_integer(type->id())) {
    // PostgreSQL rounds (half away from zero) where Arrow would refuse to truncate.
    ARROW_ASSIGN_OR_RAISE(value, Make("round", {value},
                                      std::make_shared<compute::RoundOptions>(
                                          0, compute::RoundMode::HALF_TOWARDS_INFINITY)));
  }
  if (IsString(*value.type) && type->id() == arrow::Type::TIMESTAMP &&
      !static_cast<const arrow::TimestampType&>(*type).timezone().empty()) {
    ARROW_ASSIGN_OR_RAISE(value, Cast(std::move(value), arrow::timestamp(arrow::TimeUnit::MICRO)));
  }
  auto options = std::make_shared<compute::CastOptions>(compute::CastOptions::Safe(type));
  options->allow_float_truncate = rounds;
  auto result = Make("cast", {value}, std::move(options));
  if (result.status().IsTypeError()) {
    return arrow::Status::TypeError("cannot cast ", value.type->ToString(), " to ",
                                    type->ToString());
  }
  return result;
}

arrow::Result<TypedExpression> ExpressionFactory::BytesOrText(TypedExpression value,
                                                              const std::string& expected) {
  switch (value.type->id()) {
    case arrow::Type::BINARY:
    case arrow::Type::STRING:
      return value;
    case arrow::Type::NA:
    case arrow::Type::LARGE_STRING:
    case arrow::Type::STRING_VIEW:
      return Cast(std::move(value), arrow::utf8());
    case arrow::Type::LARGE_BINARY:
    case arrow::Type::BINARY_VIEW:
    case arrow::Type::FIXED_SIZE_BINARY:
      return Cast(std::move(value), arrow::binary());
    default:
      return arrow::Status::TypeError(expected, ", not ", value.type->ToString());
  }
}

arrow::Result<std::string> ExpressionFactory::ConstantString(const TypedExpression& value,
                                                             const char* what) const {
  if (!value.constant || !IsString(*value.constant->type) || !value.constant->is_valid) {
    return arrow::Status::Invalid(what, " must be a string constant");
  }
  return value.constant->ToString();
}

arrow::Result<int64_t> ExpressionFactory::ConstantInteger(const TypedExpression& value,
                                                          const char* what) const {
  if (!value.constant || !arrow::is_integer(value.constant->type->id()) ||
      !value.constant->is_valid) {
    return arrow::Status::Invalid(what, " must be an integer constant");
  }
  ARROW_ASSIGN_OR_RAISE(auto cast, CastScalar(value.constant, arrow::int64()));
  return static_cast<const arrow::Int64Scalar&>(*cast).value;
}

arrow::Result<TypedExpression> ExpressionFactory::Operator(const std::string& name,
                                                           std::vector<TypedExpression> arguments) {
  static const std::map<std::string, std::string> kComparisons = {
      {"=", "equal"},       {"<>", "not_equal"}, {"!=", "not_equal"},    {"<", "less"},
      {"<=", "less_equal"}, {">", "greater"},    {">=", "greater_equal"}};
  static const std::map<std::string, std::string> kArithmetic = {{"+", "add_checked"},
                                                                 {"-", "subtract_checked"},
                                                                 {"*", "multiply_checked"},
                                                                 {"/", "divide_checked"}};
  if (name == "AND" || name == "OR") {
    for (auto& argument : arguments) {
      ARROW_ASSIGN_OR_RAISE(argument, Cast(argument, arrow::boolean()));
    }
    return Connect(name == "AND" ? "and_kleene" : "or_kleene", std::move(arguments));
  }
  if (name == "NOT") {
    ARROW_ASSIGN_OR_RAISE(auto value, Cast(arguments[0], arrow::boolean()));
    return Make("invert", {value});
  }
  if (name == "NEGATE") return Make("negate_checked", {arguments[0]});
  if (name == "IS NULL") return Make("is_null", {arguments[0]});
  if (name == "IS NOT NULL") return Make("is_valid", {arguments[0]});
  if (name == "IS TRUE" || name == "IS NOT FALSE" || name == "IS FALSE" || name == "IS NOT TRUE") {
    bool target = name == "IS TRUE" || name == "IS NOT TRUE";
    bool negate = name == "IS NOT TRUE" || name == "IS NOT FALSE";
    ARROW_ASSIGN_OR_RAISE(auto value, Cast(arguments[0], arrow::boolean()));
    ARROW_ASSIGN_OR_RAISE(auto compared,
                          Make("equal", {value, Literal(arrow::MakeScalar(target))}));
    ARROW_ASSIGN_OR_RAISE(auto definite,
                          Make("coalesce", {compared, Literal(arrow::MakeScalar(false))}));
    return negate ? Make("invert", {definite}) : definite;
  }
  if (arguments.size() != 2)
    return arrow::Status::Invalid("operator ", name, " needs two operands");
  TypedExpression left = arguments[0];
  TypedExpression right = arguments[1];
  if (name == "IS DISTINCT FROM" || name == "IS NOT DISTINCT FROM") {
    ARROW_RETURN_NOT_OK(Harmonize(&left, &right));
    // Equal when both are null, or both valid and equal.
    ARROW_ASSIGN_OR_RAISE(auto equal, Make("equal", {left, right}));
    ARROW_ASSIGN_OR_RAISE(auto left_null, Make("is_null", {left}));
    ARROW_ASSIGN_OR_RAISE(auto right_null, Make("is_null", {right}));
    ARROW_ASSIGN_OR_RAISE(auto both_null, Make("and", {left_null, right_null}));
    ARROW_ASSIGN_OR_RAISE(auto known, Make("coalesce", {equal, Literal(arrow::MakeScalar(false))}));
    ARROW_ASSIGN_OR_RAISE(auto same, Make("or", {both_null, known}));
    return name == "IS DISTINCT FROM" ? Make("invert", {same}) : same;
  }
  if (name == "LIKE" || name == "NOT LIKE" || name == "ILIKE" || name == "NOT ILIKE") {
    ARROW_ASSIGN_OR_RAISE(std::string pattern, ConstantString(right, "a LIKE pattern"));
    bool ignore_case = name == "ILIKE" || name == "NOT ILIKE";
    ARROW_ASSIGN_OR_RAISE(
        auto match, Make("match_like", {left},
                         std::make_shared<compute::MatchSubstringOptions>(pattern, ignore_case)));
    return name[0] == 'N' ? Make("invert", {match}) : match;
  }
  if (name == "~" || name == "~*" || name == "!~" || name == "!~*") {
    ARROW_ASSIGN_OR_RAISE(std::string pattern, ConstantString(right, "a regular expression"));
    bool ignore_case = name.back() == '*';
    ARROW_ASSIGN_OR_RAISE(
        auto match, Make("match_substring_regex", {left},
                         std::make_shared<compute::MatchSubstringOptions>(pattern, ignore_case)));
    return name[0] == '!' ? Make("invert", {match}) : match;
  }
  if (name == "||") return Function("concat_strict", {left, right});
  if (auto found = kComparisons.find(name); found != kComparisons.end()) {
    // The integer side decides: the expression when only one side is a constant.
    bool left_decides = !left.constant || right.constant;
    const std::string& function = left_decides ? found->second : Mirrored(found->second);
    const TypedExpression& value = left_decides ? left : right;
    const TypedExpression& other = left_decides ? right : left;
    ARROW_ASSIGN_OR_RAISE(auto exact, CompareIntegerWithNumber(function, value, other));
    if (exact) return std::move(*exact);
    ARROW_ASSIGN_OR_RAISE(auto as_dates, CompareDateWithTimestamp(function, value, other));
    if (as_dates) return std::move(*as_dates);
  }
  if (name == "+" || name == "-") {
    // date +- integer is the date that many days later or earlier, as in PostgreSQL.
    bool date_first = left.type->id() == arrow::Type::DATE32 && arrow::is_integer(right.type->id());
    bool date_second = name == "+" && right.type->id() == arrow::Type::DATE32 &&
                       arrow::is_integer(left.type->id());
    if (date_first || date_second) {
      ARROW_ASSIGN_OR_RAISE(auto day, Cast(date_first ? left : right, arrow::int32()));
      ARROW_ASSIGN_OR_RAISE(auto days, Cast(date_first ? right : left, arrow::int32()));
      ARROW_ASSIGN_OR_RAISE(auto moved,
                            Make(name == "+" ? "add_checked" : "subtract_checked", {day, days}));
      return Cast(moved, arrow::date32());
    }
  }
  ARROW_RETURN_NOT_OK(Harmonize(&left, &right));
  if (auto found = kComparisons.find(name); found != kComparisons.end()) {
    auto result = Make(found->second, {left, right});
    if (result.status().IsTypeError()) {
      return arrow::Status::TypeError("cannot compare ", left.type->ToString(), " with ",
                                      right.type->ToString());
    }
    return result;
  }
  if (name == "%") {
    // Arrow has no modulo kernel: x - trunc(x / y) * y keeps the sign of x, as in PostgreSQL.
    ARROW_ASSIGN_OR_RAISE(auto quotient, Make("divide_checked", {left, right}));
    if (arrow::is_floating(quotient.type->id())) {
      ARROW_ASSIGN_OR_RAISE(quotient, Make("trunc", {quotient}));
    }
    ARROW_ASSIGN_OR_RAISE(auto product, Make("multiply_checked", {quotient, right}));
    return Make("subtract_checked", {left, product});
  }
  if (auto found = kArithmetic.find(name); found != kArithmetic.end()) {
    auto result = Make(found->second, {left, right});
    if (result.status().IsTypeError()) {
      return arrow::Status::TypeError("operator ", name, " cannot be applied to ",
                                      left.type->ToString(), " and ", right.type->ToString());
    }
    // Constants are computed now: 2147483647 + 1 fails here, naming the operator.
    if (!result.ok())
      return result.status().WithMessage("operator ", name, ": ", result.status().message());
    return result;
  }
  return arrow::Status::NotImplemented("operator ", name, " is not supported");
}

arrow::Result<TypedExpression> ExpressionFactory::Case(std::vector<TypedExpression> conditions,
                                                       std::vector<TypedExpression> values,
                                                       std::optional<TypedExpression> otherwise) {
  std::shared_ptr<arrow::DataType> type = arrow::null();
  for (const auto& value : values) {
    ARROW_ASSIGN_OR_RAISE(type, CommonType(type, value.type));
  }
  if (otherwise) {
    ARROW_ASSIGN_OR_RAISE(type, CommonType(type, otherwise->type));
  }
  if (type->id() == arrow::Type::NA) type = arrow::utf8();
  std::vector<compute::Expression> condition_expressions;
  std::vector<std::string> names;
  for (auto& condition : conditions) {
    ARROW_ASSIGN_OR_RAISE(condition, Cast(condition, arrow::boolean()));
    condition_expressions.push_back(condition.expression);
    names.push_back("c" + std::to_string(names.size()));
  }
  std::vector<compute::Expression> arguments = {compute::call(
      "make_struct", std::move(condition_expressions), compute::MakeStructOptions(names))};
  for (auto& value : values) {
    ARROW_ASSIGN_OR_RAISE(value, Cast(value, type));
    arguments.push_back(value.expression);
  }
  if (otherwise) {
    ARROW_ASSIGN_OR_RAISE(auto cast, Cast(*otherwise, type));
    arguments.push_back(cast.expression);
  } else {
    arguments.push_back(compute::literal(arrow::MakeNullScalar(type)));
  }
  // Every value was cast to `type`, which case_when returns.
  TypedExpression result{compute::call("case_when", std::move(arguments)), type, nullptr, nullptr};
  return Fold(std::move(result));
}

arrow::Result<TypedExpression> ExpressionFactory::InList(TypedExpression value,
                                                         std::vector<TypedExpression> list) {
  bool all_constant = true;
  std::vector<TypedExpression> kept;
  for (auto& item : list) {
    if (!value.constant && arrow::is_integer(value.type->id()) && IsNumberConstant(item)) {
      // A number an integer can never equal (2.5, or beyond the type's range) drops out.
      std::optional<IntegerNeighbours> neighbours = NeighboursOf(item);
      if (neighbours) {
        auto [smallest, largest] = IntegerRange(*value.type);
        const arrow::Decimal128& integer = neighbours->floor;
        if (!neighbours->integral() || integer < smallest || integer > largest) continue;
        ARROW_ASSIGN_OR_RAISE(auto literal, IntegerScalar(integer, value.type));
        kept.push_back(Literal(std::move(literal)));
        continue;
      }
    }
    TypedExpression left = value;
    ARROW_RETURN_NOT_OK(Harmonize(&left, &item));
    if (!item.constant) all_constant = false;
    if (!item.type->Equals(*value.type) && item.constant) {
      ARROW_ASSIGN_OR_RAISE(item, Cast(item, value.type));
    }
    kept.push_back(std::move(item));
  }
  list = std::move(kept);
  if (list.empty()) return KnownUnlessNull(value, false);
  if (all_constant && value.type->id() != arrow::Type::NA) {
    std::unique_ptr<arrow::ArrayBuilder> builder;
    ARROW_RETURN_NOT_OK(arrow::MakeBuilder(arrow::default_memory_pool(), value.type, &builder));
    for (const auto& item : list) ARROW_RETURN_NOT_OK(builder->AppendScalar(*item.constant));
    ARROW_ASSIGN_OR_RAISE(auto set, builder->Finish());
    return Make("is_in", {value},
                std::make_shared<compute::SetLookupOptions>(
                    set, compute::SetLookupOptions::NullMatchingBehavior::INCONCLUSIVE));
  }
  std::vector<TypedExpression> equals;
  for (auto& item : list) {
    ARROW_ASSIGN_OR_RAISE(auto equal, Operator("=", {value, item}));
    equals.push_back(std::move(equal));
  }
  return Connect("or_kleene", std::move(equals));
}

arrow::Result<std::shared_ptr<arrow::DataType>> ExpressionFactory::TypeFromName(
    const std::string& name) {
  static const std::map<std::string, std::shared_ptr<arrow::DataType>> kTypes = {
      {"int2", arrow::int16()},
      {"smallint", arrow::int16()},
      {"int4", arrow::int32()},
      {"int", arrow::int32()},
      {"integer", arrow::int32()},
      {"int8", arrow::int64()},
      {"bigint", arrow::int64()},
      {"float4", arrow::float32()},
      {"real", arrow::float32()},
      {"float8", arrow::float64()},
      {"double", arrow::float64()},
      {"numeric", arrow::float64()},
      {"decimal", arrow::float64()},
      {"text", arrow::utf8()},
      {"varchar", arrow::utf8()},
      {"bpchar", arrow::utf8()},
      {"char", arrow::utf8()},
      {"string", arrow::utf8()},
      {"bool", arrow::boolean()},
      {"boolean", arrow::boolean()},
      {"date", arrow::date32()},
      {"timestamp", arrow::timestamp(arrow::TimeUnit::MICRO)},
      {"timestamptz", TimestampMicros()},
      {"interval", arrow::duration(arrow::TimeUnit::MICRO)},
      {"time", arrow::time64(arrow::TimeUnit::MICRO)}};
  auto found = kTypes.find(name);
  if (found == kTypes.end()) return arrow::Status::Invalid("unknown type ", name);
  return found->second;
}

arrow::Result<int64_t> ExpressionFactory::ParseInterval(const std::string& text) {
  static const std::map<std::string, double> kUnits = {
      {"microsecond", 1}, {"us", 1},        {"millisecond", 1e3},
      {"ms", 1e3},        {"second", 1e6},  {"sec", 1e6},
      {"s", 1e6},         {"minute", 60e6}, {"min", 60e6},
      {"m", 60e6},        {"hour", 3600e6}, {"h", 3600e6},
      {"day", 86400e6},   {"d", 86400e6},   {"week", 7 * 86400e6},
      {"w", 7 * 86400e6}};
  std::istringstream stream(text);
  double total = 0;
  double amount = 0;
  bool any = false;
  while (stream >> amount) {
    std::string unit;
    if (!(stream >> unit)) unit = "second";
    for (auto& c : unit) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (unit.size() > 1 && unit.back() == 's' && kUnits.count(unit) == 0) unit.pop_back();
    auto found = kUnits.find(unit);
    if (found == kUnits.end()) {
      return arrow::Status::Invalid("interval '", text, "': unknown or variable-length unit '",
                                    unit, "' (use microseconds to weeks)");
    }
    total += amount * found->second;
    any = true;
  }
  if (!any || !stream.eof()) {
    return arrow::Status::Invalid("interval '", text, "' is not of the form '<number> <unit> ...'");
  }
  return static_cast<int64_t>(std::llround(total));
}

arrow::Result<TypedExpression> ExpressionFactory::Extract(const std::string& field,
                                                          TypedExpression value) {
  static const std::map<std::string, std::string> kFields = {{"year", "year"},
                                                             {"month", "month"},
                                                             {"day", "day"},
                                                             {"hour", "hour"},
                                                             {"minute", "minute"},
                                                             {"doy", "day_of_year"},
                                                             {"week", "iso_week"},
                                                             {"quarter", "quarter"},
                                                             {"isoyear", "iso_year"},
                                                             {"millisecond", "millisecond"},
                                                             {"microsecond", "microsecond"}};
  if (value.constant && IsString(*value.type)) {
    ARROW_ASSIGN_OR_RAISE(value, Cast(value, TimestampMicros()));
  }
  if (field == "epoch") {
    if (value.type->id() == arrow::Type::DATE32) {
      ARROW_ASSIGN_OR_RAISE(value, Cast(value, TimestampMicros()));
    }
    if (value.type->id() == arrow::Type::TIMESTAMP) {
      ARROW_ASSIGN_OR_RAISE(value, Cast(value, arrow::timestamp(arrow::TimeUnit::MICRO)));
    }
    ARROW_ASSIGN_OR_RAISE(auto micros, Cast(value, arrow::int64()));
    ARROW_ASSIGN_OR_RAISE(auto as_double, Cast(micros, arrow::float64()));
    return Make("divide", {as_double, Literal(arrow::MakeScalar(1e6))});
  }
  if (field == "second") {
    // PostgreSQL includes the fraction: 12.5 for 12 s 500 ms.
    ARROW_ASSIGN_OR_RAISE(auto seconds, Make("second", {value}));
    ARROW_ASSIGN_OR_RAISE(auto fraction, Make("subsecond", {value}));
    ARROW_ASSIGN_OR_RAISE(auto as_double, Cast(seconds, arrow::float64()));
    return Make("add", {as_double, fraction});
  }
  if (field == "dow" || field == "isodow") {
    bool iso = field == "isodow";
    return Make("day_of_week", {value},
                std::make_shared<compute::DayOfWeekOptions>(!iso, iso ? 1 : 7));
  }
  auto found = kFields.find(field);
  if (found == kFields.end()) return arrow::Status::Invalid("unknown date part '", field, "'");
  return Make(found->second, {value});
}

arrow::Result<TypedExpression> ExpressionFactory::Function(const std::string& name,
                                                           std::vector<TypedExpression> arguments) {
  auto count = arguments.size();
  auto expect = [&](size_t minimum, size_t maximum) -> arrow::Status {
    if (count < minimum || count > maximum) {
      return arrow::Status::Invalid(
          "function ", name, " takes ",
          minimum == maximum ? std::to_string(minimum)
                             : std::to_string(minimum) + " to " + std::to_string(maximum),
          " arguments, not ", count);
    }
    return arrow::Status::OK();
  };
  static const std::map<std::string, std::string> kUnary = {{"abs", "abs_checked"},
                                                            {"ceil", "ceil"},
                                                            {"ceiling", "ceil"},
                                                            {"floor", "floor"},
                                                            {"sqrt", "sqrt_checked"},
                                                            {"exp", "exp"},
                                                            {"ln", "ln_checked"},
                                                            {"log10", "log10_checked"},
                                                            {"log", "log10_checked"},
                                                            {"log2", "log2_checked"},
                                                            {"sign", "sign"},
                                                            {"trunc", "trunc"},
                                                            {"lower", "utf8_lower"},
                                                            {"upper", "utf8_upper"},
                                                            {"length", "utf8_length"},
                                                            {"char_length", "utf8_length"},
                                                            {"character_length", "utf8_length"},
                                                            {"reverse", "utf8_reverse"},
                                                            {"sin", "sin"},
                                                            {"cos", "cos"},
                                                            {"tan", "tan"},
                                                            {"asin", "asin"},
                                                            {"acos", "acos"},
                                                            {"atan", "atan"},
                                                            {"degrees", "degrees"},
                                                            {"radians", "radians"},
                                                            {"isnan", "is_nan"}};
  if (auto found = kUnary.find(name); found != kUnary.end()) {
    ARROW_RETURN_NOT_OK(expect(1, 1));
    if (name == "sqrt" || name == "exp" || name == "ln" || name == "log" || name == "log10" ||
        name == "log2") {
      ARROW_ASSIGN_OR_RAISE(arguments[0], Cast(arguments[0], arrow::float64()));
    }
    return Make(found->second, arguments);
  }
  if (name == "power" || name == "pow") {
    ARROW_RETURN_NOT_OK(expect(2, 2));
    for (auto& argument : arguments) {
      ARROW_ASSIGN_OR_RAISE(argument, Cast(argument, arrow::float64()));
    }
    return Make("power_checked", arguments);
  }
  if (name == "mod") return Operator("%", arguments);
  if (name == "pi") {
    ARROW_RETURN_NOT_OK(expect(0, 0));
    return Literal(arrow::MakeScalar(M_PI));
  }
  if (name == "atan2") {
    ARROW_RETURN_NOT_OK(expect(2, 2));
    return Make("atan2", arguments);
  }
  if (name == "round") {
    ARROW_RETURN_NOT_OK(expect(1, 2));
    int64_t digits = 0;
    if (count == 2) {
      ARROW_ASSIGN_OR_RAISE(digits, ConstantInteger(arguments[1], "round's digits"));
    }
    if (arrow::is_integer(arguments[0].type->id())) return arguments[0];
    return Make(
        "round", {arguments[0]},
        std::make_shared<compute::RoundOptions>(digits, compute::RoundMode::HALF_TOWARDS_INFINITY));
  }
  if (name == "coalesce" || name == "greatest" || name == "least") {
    if (count == 0) return arrow::Status::Invalid(name, " needs at least one argument");
    std::shared_ptr<arrow::DataType> type = arrow::null();
    for (const auto& argument : arguments) {
      ARROW_ASSIGN_OR_RAISE(type, CommonType(type, argument.type));
    }
    for (auto& argument : arguments) {
      ARROW_ASSIGN_OR_RAISE(argument, Cast(argument, type));
    }
    if (name == "coalesce") return Make("coalesce", arguments);
    return Make(name == "greatest" ? "max_element_wise" : "min_element_wise", arguments,
                std::make_shared<compute::ElementWiseAggregateOptions>(true));
  }
  if (name == "nullif") {
    ARROW_RETURN_NOT_OK(expect(2, 2));
    ARROW_ASSIGN_OR_RAISE(auto equal, Operator("=", arguments));
    ARROW_ASSIGN_OR_RAISE(auto definite,
                          Make("coalesce", {equal, Literal(arrow::MakeScalar(false))}));
    return Make("if_else",
                {definite, Literal(arrow::MakeNullScalar(arguments[0].type)), arguments[0]});
  }
  if (name == "concat" || name == "concat_strict") {
    // concat() skips NULLs as PostgreSQL does; || (concat_strict) propagates them.
    for (auto& argument : arguments) {
      ARROW_ASSIGN_OR_RAISE(argument, Cast(argument, arrow::utf8()));
    }
    arguments.push_back(Literal(arrow::MakeScalar(std::string())));
    auto handling =
        name == "concat" ? compute::JoinOptions::REPLACE : compute::JoinOptions::EMIT_NULL;
    return Make("binary_join_element_wise", arguments,
                std::make_shared<compute::JoinOptions>(handling, ""));
  }
  if (name == "substr" || name == "substring") {
    ARROW_RETURN_NOT_OK(expect(2, 3));
    ARROW_ASSIGN_OR_RAISE(int64_t start, ConstantInteger(arguments[1], "the start position"));
    int64_t stop = std::numeric_limits<int64_t>::max();
    if (count == 3) {
      ARROW_ASSIGN_OR_RAISE(int64_t length, ConstantInteger(arguments[2], "the length"));
      stop = std::max<int64_t>(start - 1 + length, 0);
    }
    return Make("utf8_slice_codeunits", {arguments[0]},
                std::make_shared<compute::SliceOptions>(std::max<int64_t>(start - 1, 0), stop));
  }
  if (name == "left" || name == "right") {
    ARROW_RETURN_NOT_OK(expect(2, 2));
    ARROW_ASSIGN_OR_RAISE(int64_t length, ConstantInteger(arguments[1], "the length"));
    if (name == "left") {
      return Make("utf8_slice_codeunits", {arguments[0]},
                  std::make_shared<compute::SliceOptions>(0, length));
    }
    return Make(
        "utf8_slice_codeunits", {arguments[0]},
        std::make_shared<compute::SliceOptions>(-length, std::numeric_limits<int64_t>::max()));
  }
  if (name == "trim" || name == "btrim" || name == "ltrim" || name == "rtrim") {
    ARROW_RETURN_NOT_OK(expect(1, 2));
    std::string side = name == "ltrim" ? "ltrim" : name == "rtrim" ? "rtrim" : "trim";
    if (count == 1) return Make("utf8_" + side + "_whitespace", {arguments[0]});
    ARROW_ASSIGN_OR_RAISE(std::string characters, ConstantString(arguments[1], "the characters"));
    return Make("utf8_" + side, {arguments[0]}, std::make_shared<compute::TrimOptions>(characters));
  }
  if (name == "replace") {
    ARROW_RETURN_NOT_OK(expect(3, 3));
    ARROW_ASSIGN_OR_RAISE(std::string from, ConstantString(arguments[1], "the pattern"));
    ARROW_ASSIGN_OR_RAISE(std::string to, ConstantString(arguments[2], "the replacement"));
    return Make("replace_substring", {arguments[0]},
                std::make_shared<compute::ReplaceSubstringOptions>(from, to));
  }
  if (name == "regexp_replace") {
    // PostgreSQL replaces the first match, or every match with the flag 'g'.
    ARROW_RETURN_NOT_OK(expect(3, 4));
    ARROW_ASSIGN_OR_RAISE(std::string pattern, ConstantString(arguments[1], "the pattern"));
    ARROW_ASSIGN_OR_RAISE(std::string to, ConstantString(arguments[2], "the replacement"));
    std::string flags;
    if (count == 4) {
      ARROW_ASSIGN_OR_RAISE(flags, ConstantString(arguments[3], "the flags"));
    }
    if (flags.find_first_not_of("g") != std::string::npos) {
      return arrow::Status::Invalid("regexp_replace: only the flag 'g' is supported");
    }
    return Make(
        "replace_substring_regex", {arguments[0]},
        std::make_shared<compute::ReplaceSubstringOptions>(pattern, to, flags.empty() ? 1 : -1));
  }
  if (name == "regexp_like" || name == "regexp_matches") {
    ARROW_RETURN_NOT_OK(expect(2, 2));
    ARROW_ASSIGN_OR_RAISE(std::string pattern, ConstantString(arguments[1], "the pattern"));
    return Make("match_substring_regex", {arguments[0]},
                std::make_shared<compute::MatchSubstringOptions>(pattern));
  }
  if (name == "starts_with" || name == "ends_with" || name == "contains") {
    ARROW_RETURN_NOT_OK(expect(2, 2));
    ARROW_ASSIGN_OR_RAISE(std::string pattern, ConstantString(arguments[1], "the pattern"));
    return Make(name == "contains" ? "match_substring" : name, {arguments[0]},
                std::make_shared<compute::MatchSubstringOptions>(pattern));
  }
  if (name == "lpad" || name == "rpad") {
    ARROW_RETURN_NOT_OK(expect(2, 3));
    ARROW_ASSIGN_OR_RAISE(int64_t width, ConstantInteger(arguments[1], "the width"));
    std::string padding = " ";
    if (count == 3) {
      ARROW_ASSIGN_OR_RAISE(padding, ConstantString(arguments[2], "the padding"));
    }
    return Make(name == "lpad" ? "utf8_lpad" : "utf8_rpad", {arguments[0]},
                std::make_shared<compute::PadOptions>(width, padding));
  }
  if (name == "encode" || name == "decode") {
    ARROW_RETURN_NOT_OK(expect(2, 2));
    ARROW_ASSIGN_OR_RAISE(std::string encoding, ConstantString(arguments[1], "the encoding"));
    for (auto& c : encoding) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (encoding != "hex" && encoding != "base64") {
      return arrow::Status::Invalid("encoding \"", encoding,
                                    "\" is not supported; use 'hex' or 'base64'");
    }
    ARROW_ASSIGN_OR_RAISE(auto bytes, BytesOrText(arguments[0], name + "() takes bytes or text"));
    bool hex = encoding == "hex";
    if (name == "encode") return Make(hex ? kEncodeHex : kEncodeBase64, {bytes});
    return Make(hex ? kDecodeHex : kDecodeBase64, {bytes});
  }
  if (name == "hex") {
    ARROW_RETURN_NOT_OK(expect(1, 1));
    if (arrow::is_integer(arguments[0].type->id())) {
      ARROW_ASSIGN_OR_RAISE(auto integer, Cast(arguments[0], arrow::int64()));
      return Make(kHex, {integer});
    }
    ARROW_ASSIGN_OR_RAISE(auto bytes,
                          BytesOrText(arguments[0], "hex() takes bytes, text or an integer"));
    return Make(kHex, {bytes});
  }
  if (name == "now" || name == "current_timestamp") {
    ARROW_RETURN_NOT_OK(expect(0, 0));
    return Literal(std::make_shared<arrow::TimestampScalar>(now_microseconds_, TimestampMicros()));
  }
  if (name == "current_date") {
    return Literal(std::make_shared<arrow::Date32Scalar>(
        static_cast<int32_t>(now_microseconds_ / 86400000000LL)));
  }
  if (name == "date_trunc") {
    ARROW_RETURN_NOT_OK(expect(2, 2));
    ARROW_ASSIGN_OR_RAISE(std::string unit, ConstantString(arguments[0], "date_trunc's unit"));
    static const std::map<std::string, compute::CalendarUnit> kUnits = {
        {"microsecond", compute::CalendarUnit::MICROSECOND},
        {"millisecond", compute::CalendarUnit::MILLISECOND},
        {"second", compute::CalendarUnit::SECOND},
        {"minute", compute::CalendarUnit::MINUTE},
        {"hour", compute::CalendarUnit::HOUR},
        {"day", compute::CalendarUnit::DAY},
        {"week", compute::CalendarUnit::WEEK},
        {"month", compute::CalendarUnit::MONTH},
        {"quarter", compute::CalendarUnit::QUARTER},
        {"year", compute::CalendarUnit::YEAR}};
    for (auto& c : unit) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    auto found = kUnits.find(unit);
    if (found == kUnits.end())
      return arrow::Status::Invalid("unknown date_trunc unit '", unit, "'");
    if (arguments[1].constant && IsString(*arguments[1].type)) {
      ARROW_ASSIGN_OR_RAISE(arguments[1], Cast(arguments[1], TimestampMicros()));
    }
    // Weeks start on Monday, as in PostgreSQL.
    auto options = std::make_shared<compute::RoundTemporalOptions>(1, found->second, true);
    return Make("floor_temporal", {arguments[1]}, options);
  }
  if (name == "date_part" || name == "extract") {
    ARROW_RETURN_NOT_OK(expect(2, 2));
    ARROW_ASSIGN_OR_RAISE(std::string field, ConstantString(arguments[0], "the date part"));
    for (auto& c : field) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return Extract(field, arguments[1]);
  }
  if (name == "epoch") return Extract("epoch", arguments.at(0));
  if (name == "epoch_ms" || name == "epoch_us") {
    ARROW_RETURN_NOT_OK(expect(1, 1));
    int64_t scale = name == "epoch_ms" ? 1000 : 1;
    TypedExpression value = arguments[0];
    if (arrow::is_integer(value.type->id())) {
      // Integer -> timestamp (DuckDB's epoch_ms(bigint)).
      ARROW_ASSIGN_OR_RAISE(value, Cast(value, arrow::int64()));
      ARROW_ASSIGN_OR_RAISE(value,
                            Make("multiply_checked", {value, Literal(arrow::MakeScalar(scale))}));
      return Cast(value, TimestampMicros());
    }
    ARROW_ASSIGN_OR_RAISE(value, Cast(value, arrow::timestamp(arrow::TimeUnit::MICRO)));
    ARROW_ASSIGN_OR_RAISE(value, Cast(value, arrow::int64()));
    return Make("divide", {value, Literal(arrow::MakeScalar(scale))});
  }
  if (name == "to_timestamp") {
    ARROW_RETURN_NOT_OK(expect(1, 2));
    TypedExpression value = arguments[0];
    if (count == 2) {
      ARROW_ASSIGN_OR_RAISE(std::string format, ConstantString(arguments[1], "the format"));
      static const std::vector<std::pair<std::string, std::string>> kTokens = {
          {"YYYY", "%Y"}, {"MM", "%m"}, {"DD", "%d"}, {"HH24", "%H"},
          {"HH", "%H"},   {"MI", "%M"}, {"SS", "%S"}};
      std::string converted;
      for (size_t index = 0; index < format.size();) {
        bool replaced = false;
        for (const auto& [token, directive] : kTokens) {
          if (format.compare(index, token.size(), token) == 0) {
            converted += directive;
            index += token.size();
            replaced = true;
            break;
          }
        }
        if (!replaced) converted += format[index++];
      }
      auto parsed =
          Make("strptime", {value},
               std::make_shared<compute::StrptimeOptions>(converted, arrow::TimeUnit::MICRO, true));
      if (!parsed.ok()) {
        return arrow::Status::Invalid("to_timestamp: cannot parse ", value.type->ToString(),
                                      " with format '", format, "'");
      }
      return Cast(*parsed, TimestampMicros());
    }
    if (IsString(*value.type)) return Cast(value, TimestampMicros());
    // Seconds since the epoch, fractions kept to the microsecond.
    ARROW_ASSIGN_OR_RAISE(value, Cast(value, arrow::float64()));
    ARROW_ASSIGN_OR_RAISE(value, Make("multiply", {value, Literal(arrow::MakeScalar(1e6))}));
    ARROW_ASSIGN_OR_RAISE(value, Make("round", {value}));
    ARROW_ASSIGN_OR_RAISE(value, Cast(value, arrow::int64()));
    return Cast(value, TimestampMicros());
  }
  return arrow::Status::Invalid("function ", name, " does not exist");
}

}  // namespace nlk::sql
