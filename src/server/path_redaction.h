// Error messages as HTTP clients see them. Where a server keeps its tables (local paths, bucket
// names) is its own business, so each table's location is taken out of messages: a file inside
// it is named relative to the table root, the root itself by the table's name, and the message
// names the table. "object '/srv/lake/samples/part-1.parquet' does not exist" becomes
// "table 'samples': object 'part-1.parquet' does not exist".
//
// Immutable after construction; thread-safe.
#pragma once

#include <arrow/status.h>

#include <string>
#include <vector>

#include "server/server_config.h"

namespace nlk::server {

class PathRedactor {
 public:
  explicit PathRedactor(const std::vector<TableConfig>& tables);

  // `message` without table locations; with `name_table`, a message that mentioned a table's
  // location and does not name the table is prefixed with "table 'NAME': ".
  std::string Redact(const std::string& message, bool name_table = true) const;
  // The same status (code and detail) with its message redacted.
  arrow::Status Redact(const arrow::Status& status) const;

 private:
  struct Root {
    std::string location;  // as it may appear in a message, without a trailing '/'
    std::string table;
  };
  std::vector<Root> roots_;  // longest location first, so a nested root wins
};

}  // namespace nlk::server
