// Float dot products for the bf16 catalogue scan (docs/KERNELS.md, "Exact top-k from the bf16 scan").
// Included by CSeqRecKernels.h.
//
// rows [count, width] bf16 (the upper 16 bits of a float, little-endian uint16), 1 ≤ width ≤
// SEQREC_SCAN_MAX_WIDTH. out[i] ≈ rows[i]·query in fp32; the summation order is the kernel's own, which
// the bound in KERNELS.md covers (it counts roundings, not an order). Callers must call a kernel only
// when the matching `seqrec_cpu_has_*` says so.
#ifndef SEQREC_SCAN_BF16_H
#define SEQREC_SCAN_BF16_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// 1 when the CPU and OS run AVX-512 BF16 (cpuid leaf 7 sub-leaf 1 EAX bit 5, with the AVX-512 level), else 0.
int seqrec_cpu_has_avx512_bf16(void);  // defined in cpu.c with the other cpuid decisions

/// vdpbf16ps: the query split into two bf16 vectors, hi[j] + lo[j] ≈ query[j] (the caller splits it and
/// keeps no subnormal part: the instruction treats subnormal inputs as zero). out[i] = Σ rows[i]·hi +
/// rows[i]·lo, accumulated in fp32 (subnormal results flushed to zero).
void seqrec_dot_bf16_avx512bf16(long count, long width, const uint16_t *rows, const uint16_t *hi,
                                const uint16_t *lo, float *out);
/// AVX2: bf16 widened to fp32 by a 16-bit shift (exact), FMA with the fp32 query.
void seqrec_dot_bf16_avx2(long count, long width, const uint16_t *rows, const float *query, float *out);

#ifdef __cplusplus
}
#endif

#endif
