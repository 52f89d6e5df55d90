#ifndef ALLOCATION_COUNTER_H
#define ALLOCATION_COUNTER_H

#include <stdint.h>

/// Heap allocations made by the whole process since it started: calls of malloc, calloc,
/// realloc, memalign, posix_memalign and aligned_alloc (every caller: Swift runtime, Foundation,
/// OpenBLAS). The benchmark reads it before and after a solve.
uint64_t allocation_counter_calls(void);

/// Bytes requested by those calls.
uint64_t allocation_counter_bytes(void);

#endif
