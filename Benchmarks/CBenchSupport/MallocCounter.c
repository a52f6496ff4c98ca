// Interposes the glibc allocator to count heap allocations (counts, not bytes).
//
// Why `__libc_*` and not dlsym(RTLD_NEXT, "malloc"): dlsym may itself call calloc, which would
// recurse into the wrapper before it is resolved. glibc exports its implementation under these
// names (checked on glibc 2.36), so the wrappers forward without any bootstrap state.
#include "MallocCounter.h"

#include <errno.h>
#include <stdatomic.h>
#include <stddef.h>
#include <unistd.h>

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t count, size_t size);
extern void *__libc_realloc(void *pointer, size_t size);
extern void __libc_free(void *pointer);
extern void *__libc_memalign(size_t alignment, size_t size);

static _Atomic uint64_t allocation_count;
static _Atomic uint64_t reallocation_count;
static _Atomic uint64_t free_count;

// Per-thread twins: a timed loop reads its own thread's counts, so allocations made meanwhile by
// other threads (test runners, Dispatch) are not charged to it. This object is linked into the
// executable, so these use the static TLS block that exists before any code runs on a thread:
// touching them from malloc never allocates.
static _Thread_local uint64_t thread_allocation_count;
static _Thread_local uint64_t thread_reallocation_count;
static _Thread_local uint64_t thread_free_count;

#define BUMP(name) \
    do { \
        atomic_fetch_add_explicit(&name, 1, memory_order_relaxed); \
        thread_##name += 1; \
    } while (0)

void *malloc(size_t size) {
    BUMP(allocation_count);
    return __libc_malloc(size);
}

void *calloc(size_t count, size_t size) {
    BUMP(allocation_count);
    return __libc_calloc(count, size);
}

void *realloc(void *pointer, size_t size) {
    if (pointer == NULL) {
        BUMP(allocation_count);
    } else {
        BUMP(reallocation_count);
    }
    return __libc_realloc(pointer, size);
}

void free(void *pointer) {
    if (pointer != NULL) {
        BUMP(free_count);
    }
    __libc_free(pointer);
}

void *memalign(size_t alignment, size_t size) {
    BUMP(allocation_count);
    return __libc_memalign(alignment, size);
}

void *aligned_alloc(size_t alignment, size_t size) {
    BUMP(allocation_count);
    return __libc_memalign(alignment, size);
}

void *valloc(size_t size) {
    BUMP(allocation_count);
    return __libc_memalign((size_t)sysconf(_SC_PAGESIZE), size);
}

int posix_memalign(void **result, size_t alignment, size_t size) {
    // Same contract as glibc: alignment must be a power of two multiple of sizeof(void *).
    if (alignment % sizeof(void *) != 0 || (alignment & (alignment - 1)) != 0 || alignment == 0) {
        return EINVAL;
    }
    BUMP(allocation_count);
    void *memory = __libc_memalign(alignment, size);
    if (memory == NULL) {
        return ENOMEM;
    }
    *result = memory;
    return 0;
}

seqrec_malloc_counts seqrec_malloc_counts_now(void) {
    seqrec_malloc_counts counts;
    counts.allocations = atomic_load_explicit(&allocation_count, memory_order_relaxed);
    counts.reallocations = atomic_load_explicit(&reallocation_count, memory_order_relaxed);
    counts.frees = atomic_load_explicit(&free_count, memory_order_relaxed);
    return counts;
}

seqrec_malloc_counts seqrec_malloc_counts_this_thread(void) {
    seqrec_malloc_counts counts;
    counts.allocations = thread_allocation_count;
    counts.reallocations = thread_reallocation_count;
    counts.frees = thread_free_count;
    return counts;
}
