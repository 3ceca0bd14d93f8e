// The binder's aggregate and window function calls: aggregates split into the Aggregate
// operator's inputs and outputs, window calls into the Window operator's.

#include "sql/binder_internal.h"

namespace nlk::sql {

arrow::Result<std::shared_ptr<arrow::DataType>> Binder::Implementation::AggregateType(
    const std::string& function, const std::shared_ptr<arrow::DataType>& input,
    const compute::FunctionOptions* options, bool grouped) {
  if (function == "count_all") return arrow::int64();
  if (function == "tdigest" && grouped) return arrow::fixed_size_list(arrow::float64(), 1);
  ARROW_ASSIGN_OR_RAISE(auto empty, arrow::MakeEmptyArray(input));
  auto result = compute::CallFunction(function, {empty}, options);
  if (!result.ok()) {
    return arrow::Status::TypeError("aggregate ", function, " does not accept ", input->ToString());
  }
  return result->type();
}

arrow::Result<TypedExpression> Binder::Implementation::BindAggregate(const ParsedExpression& node,
                                                                     ExpressionContext& context) {
  AggregationState* aggregation = context.aggregation;
  if (aggregation == nullptr) {
    return SqlError(sql_, node.location,
                    "aggregate functions are not allowed in " + context.clause);
  }
  ExpressionContext argument_context{aggregation->input, "aggregate function arguments"};
  std::string function;
  std::shared_ptr<compute::FunctionOptions> options;
  auto skip_nulls = std::make_shared<compute::ScalarAggregateOptions>(true, 1);
  const std::string& name = node.name;
  std::vector<ExpressionPointer> argument_nodes = node.arguments;
  double quantile = 0.5;
  if (name == "percentile_cont" || name == "percentile_disc") {
    if (node.within_group.size() != 1 || argument_nodes.size() != 1) {
      return SqlError(sql_, node.location,
                      name + " needs one fraction and WITHIN GROUP (ORDER BY value)");
    }
    ARROW_ASSIGN_OR_RAISE(auto fraction, BindExpression(*argument_nodes[0], argument_context));
    ARROW_ASSIGN_OR_RAISE(fraction,
                          Located(factory_.Cast(fraction, arrow::float64()), node.location));
    if (!fraction.constant) return SqlError(sql_, node.location, "the fraction must be a constant");
    quantile = static_cast<const arrow::DoubleScalar&>(*fraction.constant).value;
    argument_nodes = {node.within_group[0].expression};
  } else if (!node.within_group.empty()) {
    return SqlError(sql_, node.location, "WITHIN GROUP is not supported for " + name);
  }
  if (name == "approx_percentile_cont") {
    if (argument_nodes.size() != 2) {
      return SqlError(sql_, node.location, "approx_percentile_cont(value, fraction)");
    }
    ARROW_ASSIGN_OR_RAISE(auto fraction, BindExpression(*argument_nodes[1], argument_context));
    ARROW_ASSIGN_OR_RAISE(fraction,
                          Located(factory_.Cast(fraction, arrow::float64()), node.location));
    if (!fraction.constant) return SqlError(sql_, node.location, "the fraction must be a constant");
    quantile = static_cast<const arrow::DoubleScalar&>(*fraction.constant).value;
    argument_nodes.resize(1);
  }
  if (node.star_argument) {
    if (name != "count") return SqlError(sql_, node.location, name + "(*) is not allowed");
    function = "count_all";
  } else if (argument_nodes.size() != 1) {
    return SqlError(sql_, node.location, name + "() takes exactly one argument");
  }
  if (node.distinct && name != "count") {
    return SqlError(sql_, node.location, "DISTINCT is only supported in count(DISTINCT ...)");
  }
  if (function.empty()) {
    if (name == "count") {
      function = node.distinct ? "count_distinct" : "count";
      options = std::make_shared<compute::CountOptions>(compute::CountOptions::ONLY_VALID);
    } else if (name == "sum" || name == "min" || name == "max") {
      function = name;
      options = skip_nulls;
    } else if (name == "avg" || name == "mean") {
      function = "mean";
      options = skip_nulls;
    } else if (name == "stddev" || name == "stddev_samp" || name == "stddev_pop" ||
               name == "variance" || name == "var_samp" || name == "var_pop") {
      function = name.rfind("stddev", 0) == 0 ? "stddev" : "variance";
      int ddof = name.find("pop") != std::string::npos ? 0 : 1;
      options = std::make_shared<compute::VarianceOptions>(ddof, true, 1);
    } else if (name == "approximate_median" || name == "approx_median" || name == "median") {
      function = "approximate_median";
      options = skip_nulls;
    } else if (name == "approx_percentile_cont" || name == "percentile_cont" ||
               name == "percentile_disc") {
      function = "tdigest";
      options = std::make_shared<compute::TDigestOptions>(quantile);
    } else if (name == "bool_and" || name == "every") {
      function = "all";
      options = skip_nulls;
    } else {
      function = "any";
      options = skip_nulls;
    }
  }
  TypedExpression input;
  bool has_input = function != "count_all";
  if (has_input) {
    ARROW_ASSIGN_OR_RAISE(input, BindExpression(*argument_nodes[0], argument_context));
    if (input.type->id() == arrow::Type::NA) {
      ARROW_ASSIGN_OR_RAISE(input, factory_.Cast(input, arrow::int64()));
    }
    // Arrow's sum wraps around past the int64 range; ours fails there, as PostgreSQL's
    // integer arithmetic does.
    if (function == "sum" && arrow::is_signed_integer(input.type->id())) function = kCheckedSum;
  }
  if (node.filter != nullptr) {
    ExpressionContext filter_context{aggregation->input, "FILTER"};
    ARROW_ASSIGN_OR_RAISE(auto condition, BindBoolean(*node.filter, filter_context));
    if (!has_input) {
      // count(*) FILTER (WHERE c) counts the rows where c holds.
      function = "count";
      options = std::make_shared<compute::CountOptions>(compute::CountOptions::ONLY_VALID);
      input = factory_.Literal(arrow::MakeScalar(int64_t{1}));
      has_input = true;
    }
    ARROW_ASSIGN_OR_RAISE(
        auto definite,
        factory_.Function("coalesce", {condition, factory_.Literal(arrow::MakeScalar(false))}));
    TypedExpression filtered{
        compute::call("if_else", {definite.expression, input.expression,
                                  compute::literal(arrow::MakeNullScalar(input.type))}),
        input.type, nullptr};
    input = filtered;
  }
  compute::Expression identity = has_input ? input.expression : compute::literal(true);
  for (size_t index = 0; index < aggregation->calls.size(); ++index) {
    const AggregateCall& call = aggregation->calls[index];
    bool same_options =
        (call.options == nullptr && options == nullptr) ||
        (call.options != nullptr && options != nullptr && call.options->Equals(*options));
    if (call.function == function && same_options &&
        aggregation->call_inputs[index].Equals(identity)) {
      return AggregateResult(aggregation, call);
    }
  }
  AggregateCall call;
  call.function = function;
  call.options = options;
  call.output = Fresh(name);
  std::shared_ptr<arrow::DataType> input_type = has_input ? input.type : arrow::int64();
  if (has_input) {
    call.input = Fresh(name + "_input");
    aggregation->pre_expressions.push_back(input.expression);
    aggregation->pre_fields.push_back(Declare(call.input, input.type));
  }
  ARROW_ASSIGN_OR_RAISE(auto output_type, Located(AggregateType(function, input_type, options.get(),
                                                                aggregation->grouped),
                                                  node.location));
  aggregation->output_fields.push_back(Declare(call.output, output_type));
  aggregation->calls.push_back(call);
  aggregation->call_inputs.push_back(identity);
  return AggregateResult(aggregation, call);
}

arrow::Result<TypedExpression> Binder::Implementation::AggregateResult(
    AggregationState* aggregation, const AggregateCall& call) {
  TypedExpression column = factory_.Column(call.output);
  if (call.function == "tdigest" && aggregation->grouped) {
    // The grouped t-digest yields a one-element list per group.
    return TypedExpression{
        compute::call("list_element", {column.expression, compute::literal(int32_t{0})}),
        arrow::float64(), nullptr};
  }
  return column;
}

std::string Binder::Implementation::WindowInput(WindowState* windows,
                                                const TypedExpression& value) {
  if (const auto* reference = value.expression.field_ref()) {
    if (reference->name() != nullptr) return *reference->name();
  }
  for (size_t index = 0; index < windows->extra_expressions.size(); ++index) {
    if (windows->extra_expressions[index].Equals(value.expression)) {
      return windows->extra_fields[index]->name();
    }
  }
  std::string name = Fresh("window_input");
  windows->extra_expressions.push_back(value.expression);
  windows->extra_fields.push_back(Declare(name, value.type));
  return name;
}

arrow::Result<TypedExpression> Binder::Implementation::BindWindowFunction(
    const ParsedExpression& node, ExpressionContext& context) {
  if (context.windows == nullptr) {
    return SqlError(sql_, node.location, "window functions are not allowed in " + context.clause);
  }
  WindowState* windows = context.windows;
  ExpressionContext inner = context;
  inner.windows = nullptr;
  static const std::map<std::string, WindowFunction> kFunctions = {
      {"row_number", WindowFunction::kRowNumber},
      {"rank", WindowFunction::kRank},
      {"dense_rank", WindowFunction::kDenseRank},
      {"lag", WindowFunction::kLag},
      {"lead", WindowFunction::kLead},
      {"sum", WindowFunction::kSum},
      {"avg", WindowFunction::kAverage},
      {"mean", WindowFunction::kAverage},
      {"count", WindowFunction::kCount},
      {"min", WindowFunction::kMinimum},
      {"max", WindowFunction::kMaximum}};
  auto found = kFunctions.find(node.name);
  if (found == kFunctions.end()) {
    return SqlError(sql_, node.location, node.name + "() is not supported as a window function");
  }
  if (node.distinct || node.filter != nullptr) {
    return SqlError(sql_, node.location, "DISTINCT and FILTER are not supported in windows");
  }
  WindowCall call;
  call.function = found->second;
  const WindowSpecification& window = *node.window;
  std::shared_ptr<arrow::DataType> input_type;
  bool takes_value = call.function != WindowFunction::kRowNumber &&
                     call.function != WindowFunction::kRank &&
                     call.function != WindowFunction::kDenseRank && !node.star_argument;
  if (takes_value) {
    if (node.arguments.empty())
      return SqlError(sql_, node.location, node.name + "() needs an argument");
    ARROW_ASSIGN_OR_RAISE(auto value, BindExpression(*node.arguments[0], inner));
    input_type = value.type;
    call.input = WindowInput(windows, value);
  }
  if (call.function == WindowFunction::kLag || call.function == WindowFunction::kLead) {
    if (node.arguments.size() >= 2) {
      ARROW_ASSIGN_OR_RAISE(auto offset, BindExpression(*node.arguments[1], inner));
      if (!offset.constant || !arrow::is_integer(offset.type->id())) {
        return SqlError(sql_, node.arguments[1]->location,
                        "the offset must be an integer constant");
      }
      ARROW_ASSIGN_OR_RAISE(
          offset, Located(factory_.Cast(offset, arrow::int64()), node.arguments[1]->location));
      call.offset = static_cast<const arrow::Int64Scalar&>(*offset.constant).value;
    }
    if (node.arguments.size() >= 3) {
      ARROW_ASSIGN_OR_RAISE(auto fallback, BindExpression(*node.arguments[2], inner));
      ARROW_ASSIGN_OR_RAISE(
          fallback, Located(factory_.Cast(fallback, input_type), node.arguments[2]->location));
      call.default_value_column = WindowInput(windows, fallback);
    }
  }
  for (const auto& partition : window.partition_by) {
    ARROW_ASSIGN_OR_RAISE(auto value, BindExpression(*partition, inner));
    call.partition_by.push_back(WindowInput(windows, value));
  }
  for (const auto& order : window.order_by) {
    ARROW_ASSIGN_OR_RAISE(auto value, BindExpression(*order.expression, inner));
    call.order_by.push_back({WindowInput(windows, value), order.ascending,
                             order.nulls_first.value_or(!order.ascending)});
  }
  if (window.has_frame) {
    auto offset = [](const FrameBound& bound) -> std::optional<int64_t> {
      switch (bound.kind) {
        case FrameBound::Kind::kUnboundedPreceding:
        case FrameBound::Kind::kUnboundedFollowing:
          return std::nullopt;
        case FrameBound::Kind::kPreceding:
          return -bound.offset;
        case FrameBound::Kind::kFollowing:
          return bound.offset;
        case FrameBound::Kind::kCurrentRow:
          return 0;
      }
      return 0;
    };
    call.frame.start = offset(window.start);
    call.frame.end = offset(window.end);
    call.frame.include_peers = !window.rows_frame && !call.order_by.empty();
  } else if (call.order_by.empty()) {
    call.frame.start = std::nullopt;
    call.frame.end = std::nullopt;
  } else {
    call.frame.include_peers = true;
  }
  switch (call.function) {
    case WindowFunction::kRowNumber:
    case WindowFunction::kRank:
    case WindowFunction::kDenseRank:
    case WindowFunction::kCount:
      call.output_type = arrow::int64();
      break;
    case WindowFunction::kAverage:
      call.output_type = arrow::float64();
      break;
    case WindowFunction::kSum:
      call.output_type = arrow::is_integer(input_type->id()) ? arrow::int64() : arrow::float64();
      if (!arrow::is_integer(input_type->id()) && !arrow::is_floating(input_type->id())) {
        return SqlError(sql_, node.location, "sum() over a window needs a number");
      }
      break;
    case WindowFunction::kLag:
    case WindowFunction::kLead:
    case WindowFunction::kMinimum:
    case WindowFunction::kMaximum:
      call.output_type = input_type;
      break;
  }
  call.output = Fresh(node.name);
  Declare(call.output, call.output_type);
  windows->calls.push_back(call);
  return factory_.Column(call.output);
}

}  // namespace nlk::sql
