// The catalog every program of this build uses (`nlk catalog ...`, and the query service). It is
// defined by the catalog library that CMake links into them, chosen with
// -DNLK_CATALOG_TARGET=<target> (default: examples/neural_catalog). See docs/catalog.md.
#pragma once

#include "catalog/catalog.h"

namespace nlk::catalog {

// Built once, on first use (thread-safe, as any function-local static), and never changed.
const Catalog& ProjectCatalog();

}  // namespace nlk::catalog
