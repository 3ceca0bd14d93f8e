#include "catalog/schema_drift.h"

#include <arrow/type.h>

#include "delta/data/schema.h"

namespace nlk::catalog {
namespace {

std::string DeltaTypeText(const arrow::DataType& type, const std::string& column) {
  auto text = delta::data::DeltaTypeJson(type, column);
  if (!text.ok()) return type.ToString();
  // Primitive Delta types serialize as JSON strings ("\"long\""); show them bare.
  if (text->size() >= 2 && text->front() == '"') return text->substr(1, text->size() - 2);
  return *text;
}

void CompareFields(const arrow::FieldVector& declared, const arrow::FieldVector& actual,
                   const std::string& prefix, std::vector<std::string>* differences) {
  auto find = [](const arrow::FieldVector& fields, const std::string& name) {
    for (const auto& field : fields) {
      if (field->name() == name) return field;
    }
    return std::shared_ptr<arrow::Field>();
  };
  for (const auto& field : declared) {
    std::string path = prefix + field->name();
    auto other = find(actual, field->name());
    if (other == nullptr) {
      differences->push_back("column '" + path + "' is declared but the table has no such column");
      continue;
    }
    const arrow::DataType& declared_type = *field->type();
    const arrow::DataType& actual_type = *other->type();
    if (declared_type.id() == arrow::Type::STRUCT && actual_type.id() == arrow::Type::STRUCT) {
      CompareFields(declared_type.fields(), actual_type.fields(), path + ".", differences);
    } else {
      std::string declared_text = DeltaTypeText(declared_type, path);
      std::string actual_text = DeltaTypeText(actual_type, path);
      if (declared_text != actual_text) {
        differences->push_back("column '" + path + "': declared " + declared_text +
                               ", the table has " + actual_text);
      }
    }
    if (field->nullable() != other->nullable()) {
      differences->push_back("column '" + path + "': declared " +
                             (field->nullable() ? "nullable" : "NOT NULL") + ", the table " +
                             (other->nullable() ? "allows nulls" : "is NOT NULL"));
    }
  }
  for (const auto& field : actual) {
    if (find(declared, field->name()) == nullptr) {
      differences->push_back("column '" + prefix + field->name() +
                             "' is in the table but not declared");
    }
  }
}

std::string Bracketed(const std::vector<std::string>& columns) {
  std::string text = "[";
  for (size_t index = 0; index < columns.size(); ++index) {
    text += (index ? ", " : "") + columns[index];
  }
  return text + "]";
}

}  // namespace

std::vector<std::string> CompareSchemas(const arrow::Schema& declared,
                                        const arrow::Schema& actual) {
  std::vector<std::string> differences;
  CompareFields(declared.fields(), actual.fields(), "", &differences);
  return differences;
}

std::vector<std::string> ComparePartitions(const std::vector<std::string>& declared,
                                           const std::vector<std::string>& actual) {
  if (declared == actual) return {};
  return {"partition columns: declared " + Bracketed(declared) + ", the table has " +
          Bracketed(actual)};
}

}  // namespace nlk::catalog
