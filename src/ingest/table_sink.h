// A Delta table that the stream writer appends to, with what exactly-once needs from a commit.
//
// Table::Append reads the latest snapshot itself, just before it commits. The writer must instead
// commit on top of the very snapshot in which it checked the recorded offsets of its partitions:
// a commit of the same partition by another writer that lands between the check and Append's own
// read would otherwise go unnoticed, and both writers' rows would stay. So TableSink commits with
// delta::WriteBuilder on the caller's snapshot (OnSnapshot), which declares every app id it
// writes as read and so turns a concurrent commit of the same partition into a
// ConcurrentTransaction conflict instead of a duplicate.
// Blind appends of other writers (other partitions) and a compactor's rewrites do not conflict.
//
// The table may not exist yet; it is created (version 0, schema only) on the first commit, and a
// concurrent creation by another writer is fine.
//
// Thread-safety: not thread-safe; one thread at a time (the stream writer hands its sinks between
// its polling and flush threads, never using them from both at once).
#pragma once

#include <arrow/record_batch.h>
#include <arrow/result.h>
#include <arrow/type_fwd.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "delta/log/actions.h"
#include "delta/log/snapshot.h"
#include "delta/table.h"

namespace nlk::delta {
class DeltaLog;
}  // namespace nlk::delta

namespace nlk::storage {
class ObjectStore;
}  // namespace nlk::storage

namespace nlk::ingest {

struct SinkCommit {
  int64_t version = 0;
  int64_t rows = 0;
  int64_t files = 0;
  int64_t bytes = 0;  // of the data files written
  // A failed checkpoint or log cleanup after the commit; the commit itself stands.
  arrow::Status maintenance_status;
};

class TableSink {
 public:
  // `create_schema` and `create_options` are used when the table has to be created; with a null
  // `create_schema` a missing table is an error here, naming how to get one.
  static arrow::Result<std::unique_ptr<TableSink>> Open(
      const std::string& uri, std::shared_ptr<arrow::Schema> create_schema,
      delta::CreateOptions create_options);

  const std::string& uri() const { return uri_; }

  // The newest snapshot, read incrementally from the last one; nullptr while the table does not
  // exist.
  arrow::Result<std::shared_ptr<const delta::Snapshot>> Refresh();

  // The schema rows must have: the table's, or the creation schema while there is no table.
  arrow::Result<std::shared_ptr<arrow::Schema>> Schema();

  // Creates the table if it does not exist, and returns the newest snapshot.
  arrow::Result<std::shared_ptr<const delta::Snapshot>> EnsureCreated();

  // Writes `batch` (null or empty: no data files) and commits its files with `transactions` as
  // one version on top of `snapshot`, which must come from Refresh() or EnsureCreated(). With
  // `schema_evolution`, columns of `batch` the table lacks are added to its schema in the same
  // commit. A concurrent commit of one of the app ids fails with a conflict (see
  // delta::IsConcurrentModification), and the files written are deleted again.
  arrow::Result<SinkCommit> Commit(const std::shared_ptr<const delta::Snapshot>& snapshot,
                                   const std::shared_ptr<arrow::RecordBatch>& batch,
                                   const std::vector<delta::SetTransaction>& transactions,
                                   bool schema_evolution);
  // The same for rows in pieces of one schema (none: no data files), written without first
  // concatenating them.
  arrow::Result<SinkCommit> Commit(const std::shared_ptr<const delta::Snapshot>& snapshot,
                                   const std::vector<std::shared_ptr<arrow::RecordBatch>>& batches,
                                   const std::vector<delta::SetTransaction>& transactions,
                                   bool schema_evolution);

 private:
  TableSink(std::string uri, std::shared_ptr<arrow::Schema> create_schema,
            delta::CreateOptions create_options);

  std::string uri_;
  std::shared_ptr<arrow::Schema> create_schema_;
  delta::CreateOptions create_options_;
  // Set once the table exists.
  std::shared_ptr<delta::Table> table_;
  std::shared_ptr<const delta::Snapshot> snapshot_;
};

}  // namespace nlk::ingest
