#include "server/rest_query.h"

#include <arrow/compute/api.h>
#include <arrow/scalar.h>
#include <arrow/type.h>

#include <charconv>

#include "server/api_error.h"

namespace nlk::server {
namespace {

namespace compute = arrow::compute;

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

arrow::Result<int64_t> ParseNonNegative(const std::string& name, const std::string& text) {
  int64_t value = -1;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || value < 0) {
    return MakeApiError(400, "invalid_numeric_param",
                        "Failed to parse numeric parameter value: " + name + "='" + text +
                            "' is not a non-negative integer");
  }
  return value;
}

std::vector<std::string> SplitCommas(const std::string& text) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    size_t comma = text.find(',', start);
    std::string part = text.substr(start, comma - start);
    if (!part.empty()) parts.push_back(std::move(part));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return parts;
}

// A REST value as ROAPI reads it: a single-quoted SQL string ('' escapes a quote) or a number.
// Negative numbers are accepted too (ROAPI's tokenizer refuses them).
arrow::Result<std::shared_ptr<arrow::Scalar>> ParseLiteral(const std::string& text) {
  if (text.size() >= 2 && text.front() == '\'' && text.back() == '\'') {
    std::string value;
    for (size_t i = 1; i + 1 < text.size(); ++i) {
      if (text[i] == '\'') {
        if (i + 2 < text.size() && text[i + 1] == '\'') {
          ++i;
        } else {
          return MakeApiError(
              400, "rest_query_value",
              "invalid REST query value " + text + ": a quote inside a string is written ''");
        }
      }
      value += text[i];
    }
    return arrow::MakeScalar(value);
  }
  int64_t integer = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), integer);
  if (!text.empty() && error == std::errc() && end == text.data() + text.size()) {
    return arrow::MakeScalar(integer);
  }
  double number = 0;
  auto [double_end, double_error] = std::from_chars(text.data(), text.data() + text.size(), number);
  if (!text.empty() && double_error == std::errc() && double_end == text.data() + text.size()) {
    return arrow::MakeScalar(number);
  }
  return MakeApiError(
      400, "rest_query_value",
      "invalid REST query value " + text + " (quote strings: filter[col]='text'; numbers as is)");
}

// Casts a literal to the column's type where that is lossless enough to compare: strings to
// timestamps and dates, integers to narrower integers. Otherwise Arrow's comparison kernels
// find a common type when the expression is bound.
std::shared_ptr<arrow::Scalar> ConformLiteral(const std::shared_ptr<arrow::Scalar>& literal,
                                              const std::shared_ptr<arrow::DataType>& type) {
  if (literal->type->Equals(*type)) return literal;
  auto cast = literal->CastTo(type);
  if (cast.ok()) return *cast;
  if (type->id() == arrow::Type::TIMESTAMP && literal->type->id() == arrow::Type::STRING) {
    // Zoned columns refuse strings in some forms; parse as naive UTC and attach the zone.
    const auto& timestamp_type = static_cast<const arrow::TimestampType&>(*type);
    auto naive = literal->CastTo(arrow::timestamp(timestamp_type.unit()));
    if (naive.ok()) {
      return std::make_shared<arrow::TimestampScalar>(
          static_cast<const arrow::TimestampScalar&>(**naive).value, type);
    }
  }
  return literal;
}

}  // namespace

arrow::Result<std::string> DecodeUrlComponent(std::string_view text, bool plus_is_space) {
  std::string decoded;
  decoded.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '%') {
      int high = i + 2 < text.size() ? HexValue(text[i + 1]) : -1;
      int low = i + 2 < text.size() ? HexValue(text[i + 2]) : -1;
      if (high < 0 || low < 0) {
        return MakeApiError(400, "rest_query",
                            "malformed percent-encoding in '" + std::string(text) + "'");
      }
      decoded += static_cast<char>(high * 16 + low);
      i += 2;
    } else if (c == '+' && plus_is_space) {
      decoded += ' ';
    } else {
      decoded += c;
    }
  }
  return decoded;
}

arrow::Result<QueryParameters> ParseQueryString(std::string_view query) {
  QueryParameters parameters;
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    size_t equals = pair.find('=');
    ARROW_ASSIGN_OR_RAISE(std::string key, DecodeUrlComponent(pair.substr(0, equals), true));
    std::string value;
    if (equals != std::string_view::npos) {
      ARROW_ASSIGN_OR_RAISE(value, DecodeUrlComponent(pair.substr(equals + 1), true));
    }
    parameters.emplace_back(std::move(key), std::move(value));
  }
  return parameters;
}

arrow::Result<RestQuery> ParseRestQuery(const QueryParameters& parameters) {
  RestQuery query;
  std::optional<int64_t> page;
  for (const auto& [key, value] : parameters) {
    if (key == "columns") {
      query.columns = SplitCommas(value);
    } else if (key == "sort") {
      query.sort.clear();
      for (std::string column : SplitCommas(value)) {
        RestSortKey sort_key;
        if (column[0] == '-' || column[0] == '+') {
          sort_key.descending = column[0] == '-';
          column.erase(0, 1);
        }
        sort_key.column = std::move(column);
        query.sort.push_back(std::move(sort_key));
      }
    } else if (key == "limit") {
      ARROW_ASSIGN_OR_RAISE(query.limit, ParseNonNegative(key, value));
    } else if (key == "page") {
      ARROW_ASSIGN_OR_RAISE(page, ParseNonNegative(key, value));
      if (*page == 0) {
        return MakeApiError(400, "invalid_numeric_param", "page numbers start at 1");
      }
    } else if (key == "offset") {
      ARROW_ASSIGN_OR_RAISE(query.offset, ParseNonNegative(key, value));
    } else if (key == "version") {
      ARROW_ASSIGN_OR_RAISE(query.at.version, ParseNonNegative(key, value));
    } else if (key == "timestamp") {
      auto timestamp = ParseTimestampMs(value);
      if (!timestamp.ok()) {
        return MakeApiError(400, "invalid_timestamp", timestamp.status().message());
      }
      query.at.timestamp_ms = *timestamp;
    } else if (key.starts_with("filter[")) {
      size_t close = key.rfind(']');
      if (close == std::string::npos || close <= 7) {
        return MakeApiError(400, "rest_query",
                            "invalid filter condition " + key + " (write filter[column]op=value)");
      }
      RestFilter filter;
      filter.column = key.substr(7, close - 7);
      filter.op = key.substr(close + 1);
      if (filter.op.empty()) filter.op = "eq";
      if (filter.op == "lteq") filter.op = "lte";
      if (filter.op == "gteq") filter.op = "gte";
      if (filter.op != "eq" && filter.op != "lt" && filter.op != "lte" && filter.op != "gt" &&
          filter.op != "gte" && filter.op != "ne") {
        return MakeApiError(
            400, "rest_query",
            "unsupported filter operator " + filter.op + " (supported: eq, lt, lte, gt, gte, ne)");
      }
      filter.value = value;
      query.filters.push_back(std::move(filter));
    }
  }
  if (query.at.version && query.at.timestamp_ms) {
    return MakeApiError(400, "rest_query", "give either version or timestamp, not both");
  }
  if (page) {
    if (!query.limit) {
      return MakeApiError(400, "rest_query", "page needs limit (the page size)");
    }
    query.offset += (*page - 1) * *query.limit;
  }
  return query;
}

arrow::Result<std::optional<compute::Expression>> RestFilterExpression(
    const std::vector<RestFilter>& filters, const arrow::Schema& schema) {
  std::vector<compute::Expression> terms;
  for (const RestFilter& filter : filters) {
    auto field = schema.GetFieldByName(filter.column);
    if (field == nullptr) {
      std::string names;
      for (const auto& each : schema.fields()) names += (names.empty() ? "" : ", ") + each->name();
      return MakeApiError(400, "invalid_filter",
                          "Failed to apply filter operator: no column named '" + filter.column +
                              "'. Valid columns are " + names + ".");
    }
    ARROW_ASSIGN_OR_RAISE(auto literal, ParseLiteral(filter.value));
    compute::Expression column = compute::field_ref(filter.column);
    compute::Expression value = compute::literal(ConformLiteral(literal, field->type()));
    const std::string function = filter.op == "eq"    ? "equal"
                                 : filter.op == "ne"  ? "not_equal"
                                 : filter.op == "lt"  ? "less"
                                 : filter.op == "lte" ? "less_equal"
                                 : filter.op == "gt"  ? "greater"
                                                      : "greater_equal";
    compute::Expression term = compute::call(function, {column, value});
    auto bound = term.Bind(schema);
    if (!bound.ok()) {
      return MakeApiError(400, "invalid_filter",
                          "Failed to apply filter operator on column '" + filter.column + "' (" +
                              field->type()->ToString() + ") with value " + filter.value + ": " +
                              bound.status().message());
    }
    terms.push_back(std::move(term));
  }
  if (terms.empty()) return std::nullopt;
  return compute::and_(terms);
}

arrow::Result<int64_t> ParseTimestampMs(std::string_view text) {
  int64_t milliseconds = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), milliseconds);
  if (!text.empty() && error == std::errc() && end == text.data() + text.size()) {
    return milliseconds;
  }
  auto scalar = arrow::MakeScalar(std::string(text));
  for (auto type : {arrow::timestamp(arrow::TimeUnit::MILLI, "UTC"),
                    arrow::timestamp(arrow::TimeUnit::MILLI)}) {
    auto cast = scalar->CastTo(type);
    if (cast.ok()) return static_cast<const arrow::TimestampScalar&>(**cast).value;
  }
  return arrow::Status::Invalid("timestamp '", text,
                                "' is neither ISO 8601 (2026-01-01T00:00:00Z) nor milliseconds");
}

namespace {

std::string QuoteIdentifier(const std::string& name) {
  std::string quoted = "\"";
  for (char c : name) {
    quoted += c;
    if (c == '"') quoted += '"';
  }
  return quoted + "\"";
}

// 'text' (quotes doubled inside) or a decimal number: nothing else reaches the SQL text.
bool IsSqlLiteral(std::string_view value) {
  if (value.size() >= 2 && value.front() == '\'' && value.back() == '\'') {
    std::string_view inner = value.substr(1, value.size() - 2);
    for (size_t index = 0; index < inner.size(); ++index) {
      if (inner[index] != '\'') continue;
      if (index + 1 >= inner.size() || inner[index + 1] != '\'') return false;
      ++index;
    }
    return true;
  }
  size_t index = 0;
  if (index < value.size() && (value[index] == '-' || value[index] == '+')) ++index;
  bool digits = false;
  bool dot = false;
  bool exponent = false;
  for (; index < value.size(); ++index) {
    char c = value[index];
    if (c >= '0' && c <= '9') {
      digits = true;
    } else if (c == '.' && !dot && !exponent) {
      dot = true;
    } else if ((c == 'e' || c == 'E') && digits && !exponent) {
      exponent = true;
      digits = false;
      if (index + 1 < value.size() && (value[index + 1] == '-' || value[index + 1] == '+')) {
        ++index;
      }
    } else {
      return false;
    }
  }
  return digits;
}

}  // namespace

arrow::Result<std::string> RestQueryAsSql(const std::string& table, const RestQuery& query,
                                          const arrow::Schema& schema) {
  for (const std::string& column : query.columns) {
    if (schema.GetFieldIndex(column) < 0) {
      return MakeApiError(400, "invalid_projection",
                          "Failed to apply projection operator: no column named '" + column + "'");
    }
  }
  for (const RestSortKey& key : query.sort) {
    if (schema.GetFieldIndex(key.column) < 0) {
      return MakeApiError(400, "invalid_sort",
                          "Failed to apply sort operator: no column named '" + key.column + "'");
    }
  }
  std::string sql = "SELECT ";
  if (query.columns.empty()) {
    sql += "*";
  } else {
    for (size_t index = 0; index < query.columns.size(); ++index) {
      sql += (index == 0 ? "" : ", ") + QuoteIdentifier(query.columns[index]);
    }
  }
  std::string name = table;
  if (query.at.version) name += "@v" + std::to_string(*query.at.version);
  if (query.at.timestamp_ms) name += "@" + std::to_string(*query.at.timestamp_ms);
  sql += " FROM " + QuoteIdentifier(name);
  for (size_t index = 0; index < query.filters.size(); ++index) {
    const RestFilter& filter = query.filters[index];
    static const std::vector<std::pair<std::string_view, std::string_view>> kOperators = {
        {"eq", "="}, {"lt", "<"}, {"lte", "<="}, {"gt", ">"}, {"gte", ">="}, {"ne", "<>"}};
    std::string_view op;
    for (const auto& [rest, symbol] : kOperators) {
      if (filter.op == rest) op = symbol;
    }
    if (op.empty() || !IsSqlLiteral(filter.value)) {
      return MakeApiError(400, "invalid_filter",
                          "Failed to apply filter on column '" + filter.column + "': '" +
                              filter.value + "' is not a SQL literal ('text' or a number)");
    }
    sql += (index == 0 ? " WHERE " : " AND ") + QuoteIdentifier(filter.column) + " " +
           std::string(op) + " " + filter.value;
  }
  for (size_t index = 0; index < query.sort.size(); ++index) {
    sql += (index == 0 ? " ORDER BY " : ", ") + QuoteIdentifier(query.sort[index].column) +
           (query.sort[index].descending ? " DESC" : " ASC");
  }
  if (query.limit) sql += " LIMIT " + std::to_string(*query.limit);
  if (query.offset > 0) sql += " OFFSET " + std::to_string(query.offset);
  return sql;
}

}  // namespace nlk::server
