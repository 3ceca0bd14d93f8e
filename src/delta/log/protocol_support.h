// Which tables this implementation can read and write (PROTOCOL.md "Table Features",
// "Reader Version Requirements", "Writer Version Requirements").
//
// A feature a table lists but we do not implement makes us refuse the table with an error that
// names the feature, instead of silently reading or writing it wrong. Pure; thread-safe.
#pragma once

#include <arrow/result.h>
#include <arrow/status.h>

#include <string>
#include <string_view>
#include <vector>

#include "delta/log/actions.h"

namespace nlk::delta {

// Reader features we honour: columnMapping, deletionVectors, timestampNtz, v2Checkpoint,
// vacuumProtocolCheck. typeWidening, variantType, catalogManaged and others are refused.
const std::vector<std::string>& SupportedReaderFeatures();

// True when the protocol supports `feature`: listed in its features (reader 3 / writer 7) or
// implied by a legacy protocol version (e.g. writer version 2 implies appendOnly, invariants).
bool ProtocolSupportsFeature(const Protocol& protocol, std::string_view feature);

// The in-commit timestamps feature is active: supported and delta.enableInCommitTimestamps.
bool InCommitTimestampsEnabled(const Protocol& protocol, const Metadata& metadata);

arrow::Status CheckReadSupported(const Protocol& protocol);

// The keys of an add action's partitionValues: the partition columns' physical names under
// column mapping (modes name and id), else their names.
arrow::Result<std::vector<std::string>> PartitionValueKeys(const Metadata& metadata);

// Refuses tables that need writer behaviour we do not have. Features whose rules we enforce
// (appendOnly, in-commit timestamps, domain metadata, deletion vectors carried on removes,
// change data feed for appends, column mapping in modes name and id) are accepted; invariants,
// CHECK constraints and generated columns are accepted when unused or when the program
// registered a SQL expression compiler (log/expression_compiler.h), which the data writer
// enforces them with; other features that only matter when used (identity/default columns) are
// accepted only while the metadata does not use them; rowTracking, clustering, icebergCompat*,
// typeWidening,
// catalogManaged and unknown features are refused. So is a table whose neuralake.writer property
// names another engine than nlk (table_properties.h).
arrow::Status CheckWriteSupported(const Protocol& protocol, const Metadata& metadata);

}  // namespace nlk::delta
