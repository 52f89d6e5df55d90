// Counts heap allocations by replacing malloc and friends in the benchmark executable
// (glibc supports replacing malloc: "Replacing malloc" in the glibc manual). Every function
// forwards to glibc's own allocator through its exported __libc_* entry points, so memory
// from either side can be freed by the other; the only change is one relaxed atomic increment.
// Symbols defined in the executable take precedence over libc's for every shared library
// (libswiftCore, libFoundation, libopenblas), so the count covers the whole process.

#include "AllocationCounter.h"

#include <errno.h>
#include <stdatomic.h>
#include <stddef.h>

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t count, size_t size);
extern void *__libc_realloc(void *pointer, size_t size);
extern void *__libc_memalign(size_t alignment, size_t size);
extern void __libc_free(void *pointer);

static _Atomic uint64_t calls = 0;
static _Atomic uint64_t bytes = 0;

static inline void count(size_t size) {
    atomic_fetch_add_explicit(&calls, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&bytes, (uint64_t)size, memory_order_relaxed);
}

void *malloc(size_t size) {
    count(size);
    return __libc_malloc(size);
}

void *calloc(size_t n, size_t size) {
    count(n * size);
    return __libc_calloc(n, size);
}

void *realloc(void *pointer, size_t size) {
    count(size);
    return __libc_realloc(pointer, size);
}

void free(void *pointer) {
    __libc_free(pointer);
}

void *memalign(size_t alignment, size_t size) {
    count(size);
    return __libc_memalign(alignment, size);
}

void *aligned_alloc(size_t alignment, size_t size) {
    count(size);
    return __libc_memalign(alignment, size);
}

int posix_memalign(void **out, size_t alignment, size_t size) {
    if (alignment % sizeof(void *) != 0 || (alignment & (alignment - 1)) != 0) return EINVAL;
    count(size);
    void *p = __libc_memalign(alignment, size);
    if (p == NULL && size != 0) return ENOMEM;
    *out = p;
    return 0;
}

uint64_t allocation_counter_calls(void) {
    return atomic_load_explicit(&calls, memory_order_relaxed);
}

uint64_t allocation_counter_bytes(void) {
    return atomic_load_explicit(&bytes, memory_order_relaxed);
}
