#include "delta/log/actions.h"

namespace nlk::delta {

RemoveFile MakeRemoveFile(const AddFile& file, int64_t deletion_timestamp_ms, bool data_change) {
  RemoveFile remove;
  remove.path = file.path;
  remove.deletion_timestamp = deletion_timestamp_ms;
  remove.data_change = data_change;
  remove.extended_file_metadata = true;
  remove.partition_values = file.partition_values;
  remove.size = file.size;
  remove.stats = file.stats;
  remove.tags = file.tags;
  remove.deletion_vector = file.deletion_vector;
  remove.base_row_id = file.base_row_id;
  remove.default_row_commit_version = file.default_row_commit_version;
  return remove;
}

}  // namespace nlk::delta
