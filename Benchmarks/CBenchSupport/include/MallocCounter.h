// Heap-allocation counters for the benchmarks.
//
// Linking this target into an executable interposes glibc's allocation entry points (malloc,
// calloc, realloc, free and the aligned variants) for the whole process, including the Swift
// runtime and Foundation. Each call bumps a process-wide relaxed atomic counter and forwards to
// glibc's own implementation (`__libc_*`), so counts are exact and nothing is guessed.
#ifndef SEQREC_MALLOC_COUNTER_H
#define SEQREC_MALLOC_COUNTER_H

#include <stdint.h>

typedef struct {
    /// Calls that returned new memory: malloc, calloc, realloc with a null pointer or a new block,
    /// posix_memalign, aligned_alloc, memalign, valloc.
    uint64_t allocations;
    /// Calls to realloc on an existing block (counted separately: they may or may not move).
    uint64_t reallocations;
    /// Calls to free with a non-null pointer.
    uint64_t frees;
} seqrec_malloc_counts;

/// The counters since process start. Safe to call from any thread; never allocates.
seqrec_malloc_counts seqrec_malloc_counts_now(void);

/// The counters of the calling thread only. Never allocates.
seqrec_malloc_counts seqrec_malloc_counts_this_thread(void);

#endif
