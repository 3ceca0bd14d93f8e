#include "sql/table_at_uri.h"

namespace nlk::sql {

arrow::Status RegisterTableAtUri(MapTableCatalog& catalog, const std::string& name,
                                 const std::string& uri) {
  // A file is never a Delta table (one is a directory), and opening it as one fails with a
  // storage error rather than "not a Delta table"; `nlk serve -t` decides the same way.
  if (uri.ends_with(".parquet")) return catalog.RegisterParquet(name, uri);
  arrow::Status delta = catalog.RegisterDelta(name, uri);
  if (delta.ok()) return delta;
  if (delta.message().find("not a Delta table") == std::string::npos) return delta;
  arrow::Status parquet = catalog.RegisterParquet(name, uri);
  if (!parquet.ok()) {
    return arrow::Status::Invalid("table ", name, ": ", uri,
                                  " is neither a Delta table nor Parquet files (",
                                  parquet.message(), ")");
  }
  return parquet;
}

}  // namespace nlk::sql
