// One writer per table, as the command line applies it: before a command commits to, compacts,
// vacuums or checkpoints a table, it asks the catalog linked into nlk whether the table is
// declared as written by another engine (docs/spark.md, "One writer per table").
//
// The catalog answers for tables that do not exist yet, and for tables created before their
// declaration; the table's own neuralake.writer property, which the Delta layer checks on every
// commit, answers without the catalog.
#pragma once

#include <arrow/status.h>

#include <string>

namespace nlk::cli {

// Invalid, naming the table, its declared writer and its job, when the catalog of this build
// declares the table at `uri` (its URIs resolved against $NLK_CATALOG_ROOT, else the working
// directory) with a writer other than nlk, or when the table exists and its neuralake.writer
// property names another engine; OK otherwise, including when there is no table yet. Checking
// before the work starts spares writing data files that the commit would refuse.
arrow::Status CheckNlkMayWrite(const std::string& uri);

}  // namespace nlk::cli
