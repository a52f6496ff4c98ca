// A software prefetch for Swift, which has no intrinsic for it (docs/OPERATIONS.md §12.4: the catalogue
// looks up and updates thousands of items at random places in tables of millions, and starting the loads
// of the next few items while it works on this one overlaps their cache and TLB misses).
// A prefetch is only a hint: it never faults and never changes memory, whatever the address.
#ifndef SEQREC_PREFETCH_H
#define SEQREC_PREFETCH_H

/// Starts loading the cache line at `address` for writing, into every cache level.
static inline void seqrec_prefetch(const void *address) { __builtin_prefetch(address, 1, 3); }

#endif
