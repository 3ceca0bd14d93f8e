// Writing the deletion vectors of one commit (PROTOCOL.md "Deletion Vectors", "Deletion Vector
// Format"): each vector is stored inline in the log ('i') when its serialized bitmap is small,
// else in one deletion_vector_<uuid>.bin file shared by the commit's larger vectors ('u').
//
//   DeletionVectorWriter writer(store, options);
//   writer.Add(std::move(vector));             // returns the vector's ticket
//   ARROW_ASSIGN_OR_RAISE(auto written, writer.Finish());  // descriptors, by ticket
//
// Thread-safety: not thread-safe; one writer per commit being prepared.
#pragma once

#include <arrow/result.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "delta/data/deletion_vector.h"
#include "delta/log/actions.h"
#include "storage/object_store.h"

namespace nlk::delta::data {

struct DeletionVectorWriteOptions {
  // Vectors whose serialized bitmap has at most this many bytes are stored inline. Inline
  // vectors make the log (and every checkpoint) bigger, so only tiny ones go there.
  int32_t max_inline_bytes = 64;
};

struct WrittenDeletionVectors {
  std::vector<DeletionVectorDescriptor> descriptors;  // in the order vectors were added
  std::optional<std::string> file_path;  // the .bin file written, relative to the table root
};

class DeletionVectorWriter {
 public:
  DeletionVectorWriter(std::shared_ptr<storage::ObjectStore> store,
                       DeletionVectorWriteOptions options = {});

  // Queues `vector` (non-empty) and returns its index in WrittenDeletionVectors::descriptors.
  size_t Add(const DeletionVector& vector);
  // Writes the file of the vectors too large to inline (if any) and describes every vector.
  arrow::Result<WrittenDeletionVectors> Finish();

 private:
  std::shared_ptr<storage::ObjectStore> store_;
  DeletionVectorWriteOptions options_;
  std::vector<std::string> serialized_;
  std::vector<int64_t> cardinalities_;
};

// `stats` (a file's statistics JSON, possibly absent) for the file once a deletion vector hides
// some of its rows: "tightBounds" false, since min/max and nullCount may now describe rows that
// are gone, and numRecords kept as the physical row count (set to `physical_rows` when missing),
// as PROTOCOL.md "Per-file Statistics" requires of files with deletion vectors.
arrow::Result<std::string> StatisticsWithWideBounds(const std::optional<std::string>& stats,
                                                    int64_t physical_rows);

}  // namespace nlk::delta::data
