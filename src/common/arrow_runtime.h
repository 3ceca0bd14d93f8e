// Process-wide Arrow setup that must happen before compute functions are used.
#pragma once

#include <arrow/status.h>

#include <string>

namespace nlk {

// Registers Arrow's compute kernels (Arrow >= 21 keeps them in a separate library that must be
// initialized explicitly). Safe to call from many threads and many times; only the first call
// does work.
arrow::Status InitializeArrowCompute();

// Makes jemalloc Arrow's default memory pool for this process when the Arrow build includes it
// and ARROW_DEFAULT_MEMORY_POOL does not name a pool already. It must run before anything
// allocates through Arrow, since Arrow fixes its default pool at the first use.
//
// Why: the pyarrow builds of Arrow default to mimalloc, which backs its heaps with fresh
// transparent huge pages as they grow and leaves the kernel to zero them; for the streaming
// writer, whose Parquet encoders allocate anew for every row group, that zeroing was about a
// tenth of its CPU, and jemalloc (Arrow's own default where it builds it) reuses its memory
// instead (docs/benchmarks.md). `nlk optimize`, by contrast, took 0.70 s on jemalloc against
// 0.49 s on mimalloc for the compaction bench, so only `nlk ingest` asks for it.
void PreferJemallocMemoryPool();

// The name of Arrow's default memory pool (its backend), e.g. for a startup line.
std::string DefaultMemoryPoolName();

}  // namespace nlk
