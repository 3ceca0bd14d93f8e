// Ready-to-run client code for one table, filled in with the table's resolved URI and its first
// docs filter: SQL through `nlk serve` (curl), Python (delta-rs, Polars, PyArrow), PySpark with
// delta-spark, and the C++ API.
#pragma once

#include <arrow/result.h>
#include <arrow/type_fwd.h>

#include <memory>
#include <string>
#include <vector>

#include "catalog/catalog.h"

namespace nlk::catalog {

struct Snippet {
  std::string id;        // stable: curl, deltalake, polars, pyarrow, pyspark, cpp
  std::string title;     // what a reader sees, e.g. "Python · Polars"
  std::string language;  // shell, python or cpp
  std::string code;
};

struct SnippetOptions {
  std::string root;                                 // resolves relative table URIs
  std::string serve_url = "http://127.0.0.1:8080";  // where `nlk serve` listens
  // Binds the docs filter for the Polars and PyArrow snippets, which need typed literals: the
  // declared schema, else the real table's. Without either those two snippets are left out.
  std::shared_ptr<arrow::Schema> schema;
};

// The snippets that apply to the table's kind (a function table is read through the query
// service or the C++ catalog, not by file readers). Fails only when the docs filter does not
// parse against `options.schema`. Thread-safe.
arrow::Result<std::vector<Snippet>> BuildSnippets(const Database& database, const Table& table,
                                                  const SnippetOptions& options);

// The SQL of the curl snippet: SELECT * FROM db.table [WHERE <first docs filter>] LIMIT 10.
std::string ExampleQuery(const Database& database, const Table& table);

}  // namespace nlk::catalog
