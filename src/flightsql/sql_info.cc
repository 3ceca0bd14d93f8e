#include "flightsql/sql_info.h"

#include <arrow/array.h>
#include <arrow/builder.h>
#include <arrow/util/config.h>

#include <variant>

namespace nlk::flightsql {
namespace {

// SqlInfo numbers and enum values from FlightSql.proto.
enum Info : uint32_t {
  kServerName = 0,
  kServerVersion = 1,
  kServerArrowVersion = 2,
  kServerReadOnly = 3,
  kServerSql = 4,
  kServerSubstrait = 5,
  kServerTransaction = 8,
  kServerCancel = 9,
  kServerStatementTimeout = 100,
  kDdlCatalog = 500,
  kDdlSchema = 501,
  kDdlTable = 502,
  kIdentifierCase = 503,
  kIdentifierQuoteChar = 504,
  kAllTablesAreSelectable = 506,
  kNullOrdering = 507,
  kSchemaTerm = 529,
  kCatalogTerm = 531,
};
constexpr int32_t kTransactionNone = 0;  // SqlSupportedTransaction
constexpr int32_t kCaseLowercase = 3;    // SqlSupportedCaseSensitivity
constexpr int32_t kNullsSortedHigh = 0;  // SqlNullOrdering
// Dense union type codes of the value column.
constexpr int8_t kStringValue = 0;
constexpr int8_t kBoolValue = 1;
constexpr int8_t kInt32Bitmask = 3;

using Value = std::variant<std::string, bool, int32_t>;

std::vector<std::pair<uint32_t, Value>> AllInfos(const std::string& server_version) {
  return {
      {kServerName, std::string("Neuralake nlk serve")},
      {kServerVersion, server_version},
      {kServerArrowVersion, std::string(ARROW_VERSION_STRING)},
      {kServerReadOnly, true},
      {kServerSql, true},
      {kServerSubstrait, false},
      {kServerTransaction, kTransactionNone},
      {kServerCancel, false},
      // Prepared statements live until closed or the server stops.
      {kServerStatementTimeout, int32_t{0}},
      {kDdlCatalog, false},
      {kDdlSchema, false},
      {kDdlTable, false},
      // Unquoted names fold to lower case, as in PostgreSQL.
      {kIdentifierCase, kCaseLowercase},
      {kIdentifierQuoteChar, std::string("\"")},
      {kAllTablesAreSelectable, true},
      {kNullOrdering, kNullsSortedHigh},
      {kSchemaTerm, std::string("schema")},
      {kCatalogTerm, std::string("catalog")},
  };
}

}  // namespace

std::shared_ptr<arrow::Schema> SqlInfoSchema() {
  auto value = arrow::dense_union(
      {arrow::field("string_value", arrow::utf8()), arrow::field("bool_value", arrow::boolean()),
       arrow::field("bigint_value", arrow::int64()), arrow::field("int32_bitmask", arrow::int32()),
       arrow::field("string_list", arrow::list(arrow::utf8())),
       arrow::field("int32_to_int32_list_map",
                    arrow::map(arrow::int32(), arrow::list(arrow::int32())))},
      {0, 1, 2, 3, 4, 5});
  return arrow::schema(
      {arrow::field("info_name", arrow::uint32(), false), arrow::field("value", value, false)});
}

arrow::Result<std::shared_ptr<arrow::RecordBatch>> SqlInfo(const std::vector<uint32_t>& requested,
                                                           const std::string& server_version) {
  std::vector<std::pair<uint32_t, Value>> all = AllInfos(server_version);
  std::vector<const std::pair<uint32_t, Value>*> rows;
  if (requested.empty()) {
    for (const auto& info : all) rows.push_back(&info);
  } else {
    for (uint32_t wanted : requested) {
      for (const auto& info : all) {
        if (info.first == wanted) rows.push_back(&info);
      }
    }
  }
  arrow::UInt32Builder names;
  arrow::Int8Builder type_codes;
  arrow::Int32Builder offsets;
  arrow::StringBuilder strings;
  arrow::BooleanBuilder booleans;
  arrow::Int32Builder bitmasks;
  for (const auto* row : rows) {
    ARROW_RETURN_NOT_OK(names.Append(row->first));
    if (const auto* text = std::get_if<std::string>(&row->second)) {
      ARROW_RETURN_NOT_OK(type_codes.Append(kStringValue));
      ARROW_RETURN_NOT_OK(offsets.Append(static_cast<int32_t>(strings.length())));
      ARROW_RETURN_NOT_OK(strings.Append(*text));
    } else if (const auto* flag = std::get_if<bool>(&row->second)) {
      ARROW_RETURN_NOT_OK(type_codes.Append(kBoolValue));
      ARROW_RETURN_NOT_OK(offsets.Append(static_cast<int32_t>(booleans.length())));
      ARROW_RETURN_NOT_OK(booleans.Append(*flag));
    } else {
      ARROW_RETURN_NOT_OK(type_codes.Append(kInt32Bitmask));
      ARROW_RETURN_NOT_OK(offsets.Append(static_cast<int32_t>(bitmasks.length())));
      ARROW_RETURN_NOT_OK(bitmasks.Append(std::get<int32_t>(row->second)));
    }
  }
  std::shared_ptr<arrow::Schema> schema = SqlInfoSchema();
  const auto& union_type = static_cast<const arrow::UnionType&>(*schema->field(1)->type());
  arrow::ArrayVector children(union_type.num_fields());
  ARROW_ASSIGN_OR_RAISE(children[0], strings.Finish());
  ARROW_ASSIGN_OR_RAISE(children[1], booleans.Finish());
  for (int index = 2; index < union_type.num_fields(); ++index) {
    if (index == kInt32Bitmask) {
      ARROW_ASSIGN_OR_RAISE(children[index], bitmasks.Finish());
    } else {
      ARROW_ASSIGN_OR_RAISE(children[index],
                            arrow::MakeEmptyArray(union_type.field(index)->type()));
    }
  }
  std::vector<std::string> field_names;
  for (const auto& field : union_type.fields()) field_names.push_back(field->name());
  ARROW_ASSIGN_OR_RAISE(auto name_array, names.Finish());
  ARROW_ASSIGN_OR_RAISE(auto type_code_array, type_codes.Finish());
  ARROW_ASSIGN_OR_RAISE(auto offset_array, offsets.Finish());
  ARROW_ASSIGN_OR_RAISE(auto values,
                        arrow::DenseUnionArray::Make(*type_code_array, *offset_array, children,
                                                     field_names, union_type.type_codes()));
  return arrow::RecordBatch::Make(schema, name_array->length(), {name_array, values});
}

}  // namespace nlk::flightsql
