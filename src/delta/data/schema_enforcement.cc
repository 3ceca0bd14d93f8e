#include "delta/data/schema_enforcement.h"

#include <arrow/array/util.h>

#include <vector>

#include "delta/data/array_conform.h"
#include "delta/data/schema.h"

namespace nlk::delta::data {
namespace {

struct Problems {
  std::vector<std::string> missing;
  std::vector<std::string> extra;
  std::vector<std::string> mismatched;

  bool empty() const { return missing.empty() && extra.empty() && mismatched.empty(); }

  arrow::Status ToStatus() const {
    std::string message = "data does not match the table schema:";
    auto list = [&message](std::string_view title, const std::vector<std::string>& items) {
      if (items.empty()) return;
      message += std::string(" ") + std::string(title) + " ";
      for (size_t i = 0; i < items.size(); ++i) message += (i ? ", " : "") + items[i];
      message += ";";
    };
    list("missing non-nullable columns:", missing);
    list("columns not in the table:", extra);
    list("type mismatches:", mismatched);
    message += " (add new columns with schema evolution, or cast the data to the table types)";
    return arrow::Status::Invalid(message);
  }
};

std::string Join(const std::string& parent, const std::string& name) {
  return parent.empty() ? name : parent + "." + name;
}

// Compares struct-like field lists, recursing into nested types.
void CompareFields(const arrow::FieldVector& table_fields, const arrow::FieldVector& incoming,
                   const std::string& parent, Problems* problems);

void CompareTypes(const std::shared_ptr<arrow::DataType>& table_type,
                  const std::shared_ptr<arrow::DataType>& incoming_type, const std::string& path,
                  Problems* problems) {
  if (table_type->id() == arrow::Type::STRUCT && incoming_type->id() == arrow::Type::STRUCT) {
    CompareFields(table_type->fields(), incoming_type->fields(), path, problems);
    return;
  }
  if (table_type->id() == arrow::Type::LIST && incoming_type->num_fields() == 1 &&
      arrow::is_list_like(incoming_type->id()) && incoming_type->id() != arrow::Type::MAP) {
    CompareTypes(table_type->field(0)->type(), incoming_type->field(0)->type(), path + ".element",
                 problems);
    return;
  }
  if (table_type->id() == arrow::Type::MAP && incoming_type->id() == arrow::Type::MAP) {
    const auto& table_map = static_cast<const arrow::MapType&>(*table_type);
    const auto& incoming_map = static_cast<const arrow::MapType&>(*incoming_type);
    CompareTypes(table_map.key_type(), incoming_map.key_type(), path + ".key", problems);
    CompareTypes(table_map.item_type(), incoming_map.item_type(), path + ".value", problems);
    return;
  }
  auto table_json = DeltaTypeJson(*table_type, path);
  auto incoming_json = DeltaTypeJson(*incoming_type, path);
  if (!incoming_json.ok()) {
    problems->mismatched.push_back(path + " (" + incoming_type->ToString() + " has no Delta type)");
  } else if (!table_json.ok() || *table_json != *incoming_json) {
    problems->mismatched.push_back(path + " (table " + table_json.ValueOr("?") + ", data " +
                                   *incoming_json + ")");
  }
}

void CompareFields(const arrow::FieldVector& table_fields, const arrow::FieldVector& incoming,
                   const std::string& parent, Problems* problems) {
  for (const auto& table_field : table_fields) {
    int index = FindMatchingField(incoming, *table_field, MatchBy::kName);
    std::string path = Join(parent, table_field->name());
    if (index < 0) {
      if (!table_field->nullable()) problems->missing.push_back(path);
      continue;
    }
    CompareTypes(table_field->type(), incoming[index]->type(), path, problems);
  }
  for (const auto& field : incoming) {
    if (FindMatchingField(table_fields, *field, MatchBy::kName) < 0) {
      problems->extra.push_back(Join(parent, field->name()));
    }
  }
}

arrow::Status CheckNullability(const arrow::Array& array, const arrow::Field& field,
                               const std::string& path) {
  if (!field.nullable() && array.null_count() > 0) {
    return arrow::Status::Invalid("column '", path, "' is not nullable but the data has ",
                                  array.null_count(), " null values");
  }
  if (field.type()->id() == arrow::Type::STRUCT) {
    const auto& struct_array = static_cast<const arrow::StructArray&>(array);
    for (int i = 0; i < field.type()->num_fields(); ++i) {
      const auto& child = field.type()->field(i);
      // A null struct excuses its children; only nulls inside present structs count.
      ARROW_ASSIGN_OR_RAISE(auto flattened, struct_array.GetFlattenedField(i));
      if (!child->nullable() && flattened->null_count() > array.null_count()) {
        return arrow::Status::Invalid("column '", Join(path, child->name()),
                                      "' is not nullable but the data has null values");
      }
      if (child->type()->id() == arrow::Type::STRUCT) {
        ARROW_RETURN_NOT_OK(
            CheckNullability(*struct_array.field(i), *child, Join(path, child->name())));
      }
    }
  }
  return arrow::Status::OK();
}

arrow::Result<std::shared_ptr<arrow::DataType>> MergeType(
    const std::shared_ptr<arrow::DataType>& table_type,
    const std::shared_ptr<arrow::DataType>& incoming_type, const std::string& path,
    ColumnMappingMode mode, int64_t* max_column_id);

arrow::Result<arrow::FieldVector> MergeFields(const arrow::FieldVector& table_fields,
                                              const arrow::FieldVector& incoming,
                                              const std::string& parent, ColumnMappingMode mode,
                                              int64_t* max_column_id) {
  arrow::FieldVector merged;
  for (const auto& table_field : table_fields) {
    int index = FindMatchingField(incoming, *table_field, MatchBy::kName);
    if (index < 0) {
      merged.push_back(table_field);
      continue;
    }
    ARROW_ASSIGN_OR_RAISE(auto type,
                          MergeType(table_field->type(), incoming[index]->type(),
                                    Join(parent, table_field->name()), mode, max_column_id));
    merged.push_back(table_field->WithType(type));
  }
  for (const auto& field : incoming) {
    if (FindMatchingField(table_fields, *field, MatchBy::kName) >= 0) continue;
    std::string path = Join(parent, field->name());
    ARROW_ASSIGN_OR_RAISE(auto type, NormalizeToDeltaType(field->type(), path));
    auto added = arrow::field(field->name(), type, /*nullable=*/true);
    if (mode != ColumnMappingMode::kNone) {
      ARROW_ASSIGN_OR_RAISE(auto assigned,
                            AssignColumnMapping(*arrow::schema({added}), max_column_id));
      added = assigned->field(0);
    }
    merged.push_back(std::move(added));
  }
  return merged;
}

arrow::Result<std::shared_ptr<arrow::DataType>> MergeType(
    const std::shared_ptr<arrow::DataType>& table_type,
    const std::shared_ptr<arrow::DataType>& incoming_type, const std::string& path,
    ColumnMappingMode mode, int64_t* max_column_id) {
  if (table_type->id() == arrow::Type::STRUCT && incoming_type->id() == arrow::Type::STRUCT) {
    ARROW_ASSIGN_OR_RAISE(auto fields, MergeFields(table_type->fields(), incoming_type->fields(),
                                                   path, mode, max_column_id));
    return arrow::struct_(std::move(fields));
  }
  Problems problems;
  CompareTypes(table_type, incoming_type, path, &problems);
  if (!problems.empty()) return problems.ToStatus();
  return table_type;
}

}  // namespace

arrow::Status CheckWriteSchema(const arrow::Schema& table_schema, const arrow::Schema& incoming) {
  Problems problems;
  CompareFields(table_schema.fields(), incoming.fields(), "", &problems);
  return problems.empty() ? arrow::Status::OK() : problems.ToStatus();
}

arrow::Result<std::shared_ptr<arrow::RecordBatch>> ConformToTableSchema(
    const arrow::RecordBatch& batch, const arrow::Schema& table_schema,
    bool keep_string_dictionaries) {
  ARROW_RETURN_NOT_OK(CheckWriteSchema(table_schema, *batch.schema()));
  arrow::ArrayVector columns;
  for (const auto& field : table_schema.fields()) {
    int index = FindMatchingField(batch.schema()->fields(), *field, MatchBy::kName);
    std::shared_ptr<arrow::Array> column;
    if (index < 0) {
      ARROW_ASSIGN_OR_RAISE(column, arrow::MakeArrayOfNull(field->type(), batch.num_rows()));
    } else if (keep_string_dictionaries && field->type()->id() == arrow::Type::STRING &&
               HoldsStringDictionary(*batch.column(index))) {
      column = batch.column(index);
    } else {
      ARROW_ASSIGN_OR_RAISE(
          column, ConformArray(batch.column(index), *field, *field, MatchBy::kName, field->name()));
    }
    ARROW_RETURN_NOT_OK(CheckNullability(*column, *field, field->name()));
    columns.push_back(std::move(column));
  }
  auto schema = WithColumnTypes(arrow::schema(table_schema.fields()), columns);
  return arrow::RecordBatch::Make(std::move(schema), batch.num_rows(), std::move(columns));
}

arrow::Result<std::string> MergeSchemas(const arrow::Schema& table_schema,
                                        const arrow::Schema& incoming, ColumnMappingMode mode,
                                        int64_t* max_column_id) {
  if (mode != ColumnMappingMode::kNone && max_column_id == nullptr) {
    return arrow::Status::Invalid("MergeSchemas: column mapping needs the table's max column id");
  }
  ARROW_ASSIGN_OR_RAISE(
      auto fields, MergeFields(table_schema.fields(), incoming.fields(), "", mode, max_column_id));
  return SerializeDeltaSchema(*arrow::schema(std::move(fields)));
}

}  // namespace nlk::delta::data
