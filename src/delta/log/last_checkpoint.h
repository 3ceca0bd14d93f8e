// The _delta_log/_last_checkpoint hint (PROTOCOL.md "Last Checkpoint File Schema").
//
// Readers treat it as a hint only: it may be missing, stale, or point at a checkpoint that was
// never completed. Pure functions; thread-safe.
#pragma once

#include <arrow/result.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace nlk::delta {

struct LastCheckpoint {
  int64_t version = 0;
  int64_t size = 0;  // number of actions in the checkpoint
  std::optional<int64_t> parts;
  std::optional<int64_t> size_in_bytes;
  std::optional<int64_t> num_of_add_files;
};

arrow::Result<LastCheckpoint> ParseLastCheckpoint(std::string_view json);
// A single JSON object with the fields in spec order; no checksum (it is optional).
std::string SerializeLastCheckpoint(const LastCheckpoint& last_checkpoint);

}  // namespace nlk::delta
