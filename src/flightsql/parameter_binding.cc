#include "flightsql/parameter_binding.h"

#include <arrow/scalar.h>

#include "pgwire/pg_type.h"
#include "pgwire/statement.h"

namespace nlk::flightsql {
namespace {

// The PostgreSQL type whose text form the value is written in; 0 (unspecified) makes a quoted
// literal that the engine reads as the type it meets (dates, timestamps).
arrow::Result<int32_t> LiteralType(const arrow::DataType& type, int number) {
  switch (type.id()) {
    case arrow::Type::INT8:
    case arrow::Type::INT16:
    case arrow::Type::INT32:
    case arrow::Type::INT64:
    case arrow::Type::UINT8:
    case arrow::Type::UINT16:
    case arrow::Type::UINT32:
    case arrow::Type::UINT64:
      return pgwire::kInt8Oid;
    case arrow::Type::HALF_FLOAT:
    case arrow::Type::FLOAT:
    case arrow::Type::DOUBLE:
      return pgwire::kFloat8Oid;
    case arrow::Type::DECIMAL128:
    case arrow::Type::DECIMAL256:
      return pgwire::kNumericOid;
    case arrow::Type::BOOL:
      return pgwire::kBoolOid;
    case arrow::Type::STRING:
    case arrow::Type::LARGE_STRING:
    case arrow::Type::STRING_VIEW:
      return pgwire::kTextOid;
    // A column of nulls (Python's None) binds NULL, whatever the statement compares it with.
    case arrow::Type::NA:
    case arrow::Type::DATE32:
    case arrow::Type::DATE64:
    case arrow::Type::TIMESTAMP:
    case arrow::Type::TIME32:
    case arrow::Type::TIME64:
      return 0;
    default:
      return arrow::Status::Invalid("parameter $", number, " has Arrow type ", type.ToString(),
                                    ", which has no SQL literal form; bind numbers, booleans, "
                                    "strings, decimals, dates or timestamps");
  }
}

}  // namespace

arrow::Result<ParameterizedQuery> ParseParameterizedQuery(const std::string& sql) {
  ARROW_ASSIGN_OR_RAISE(std::vector<pgwire::Statement> statements, pgwire::ParseQuery(sql));
  if (statements.size() != 1) {
    return arrow::Status::Invalid("a prepared statement holds exactly one SQL statement; got ",
                                  statements.size());
  }
  ParameterizedQuery query;
  query.text = std::move(statements[0].text);
  query.references = std::move(statements[0].parameters);
  query.parameter_count = statements[0].parameter_count;
  return query;
}

arrow::Result<std::string> BindParameters(const ParameterizedQuery& query,
                                          const arrow::RecordBatch& parameters, int64_t row) {
  if (parameters.num_columns() != query.parameter_count) {
    return arrow::Status::Invalid("the statement takes ", query.parameter_count,
                                  " parameter(s) ($1..$n) but ", parameters.num_columns(),
                                  " were bound");
  }
  std::vector<std::string> literals;
  for (int column = 0; column < parameters.num_columns(); ++column) {
    const int number = column + 1;
    ARROW_ASSIGN_OR_RAISE(std::shared_ptr<arrow::Scalar> value,
                          parameters.column(column)->GetScalar(row));
    pgwire::BoundParameter parameter;
    ARROW_ASSIGN_OR_RAISE(parameter.type, LiteralType(*value->type, number));
    parameter.is_null = !value->is_valid;
    if (value->is_valid) {
      if (value->type->id() == arrow::Type::BOOL) {
        parameter.bytes = static_cast<const arrow::BooleanScalar&>(*value).value ? "t" : "f";
      } else {
        parameter.bytes = value->ToString();
      }
    }
    ARROW_ASSIGN_OR_RAISE(std::string literal, pgwire::ParameterLiteral(parameter, number));
    literals.push_back(std::move(literal));
  }
  return pgwire::SubstituteParameters(query.text, query.references, literals);
}

arrow::Result<std::string> BindPlaceholders(const ParameterizedQuery& query) {
  return pgwire::SubstituteParameters(query.text, query.references,
                                      std::vector<std::string>(query.parameter_count, "NULL"));
}

}  // namespace nlk::flightsql
