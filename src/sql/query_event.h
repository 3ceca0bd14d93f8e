// One query as a protocol front end (PostgreSQL wire, Flight SQL) served it, for the audit log:
// reported once it has ended (every row sent, failed, refused, or abandoned by the client).
#pragma once

#include <arrow/status.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace nlk::sql {

struct QueryEvent {
  std::string user;  // the authenticated principal, or what the client called itself
  std::string client_address;
  std::string statement;
  std::vector<std::string> tables;  // the tables it resolved (TableCapture)
  int64_t rows = 0;                 // rows sent
  int64_t bytes = 0;                // bytes sent
  int64_t start_time_us = 0;        // Unix time, microseconds
  int64_t duration_us = 0;
  std::string status;  // "ok" or the protocol's error code
};

using QueryObserver = std::function<void(QueryEvent)>;
// Asked before a query runs; an error refuses it and is sent to the client.
using QueryAdmission = std::function<arrow::Status()>;

}  // namespace nlk::sql
