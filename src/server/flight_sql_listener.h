// The query server's Arrow Flight SQL listener (flightsql/flight_sql_server.h) over the same
// tables and SQL engine limits as the HTTP API: as many queries run at once as the HTTP API has
// workers, max_queued_requests more wait, and max_connections calls may be in flight.
//
// Thread-safety: Start/Stop from one thread.
#pragma once

#include <arrow/result.h>

#include <memory>

#include "flightsql/flight_sql_server.h"
#include "server/audit_log.h"
#include "server/server_config.h"
#include "server/table_registry.h"

namespace nlk::server {

// Listens on config.flight_sql_address; `registry` must outlive the server. When `gate`
// authenticates, every call needs "authorization: Bearer TOKEN". With `audit` (which must outlive
// the server), every statement query is recorded, and refused while a fail-closed audit log
// cannot be written.
arrow::Result<std::unique_ptr<flightsql::FlightSqlServer>> StartFlightSqlListener(
    const ServerConfig& config, const TableRegistry& registry,
    std::shared_ptr<const AccessGate> gate, int worker_threads, AuditLog* audit = nullptr);

}  // namespace nlk::server
