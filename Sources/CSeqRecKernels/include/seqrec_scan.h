// Integer dot products for the reduced-precision (int8) catalogue scan (docs/KERNELS.md, "Exact top-k
// from the int8 scan"). Included by CSeqRecKernels.h.
//
// out[i] = Σ_{j<width} rows[i·width + j] · query[j] for i < count, exactly, in 32-bit integers: every
// int8 product is exact and 1 ≤ width ≤ SEQREC_SCAN_MAX_WIDTH, so |sum| ≤ 4096·128·255 < 2³¹ even with
// the VNNI kernels' offset query and no partial sum overflows. row_sums[i] = Σ_j rows[i·width + j] (the VNNI kernels need it: vpdpbusd
// multiplies unsigned by signed bytes, so the query is offset by 128 and 128·row_sums[i] subtracted).
// Callers must call a kernel only when the matching `seqrec_cpu_has_*` says so.
#ifndef SEQREC_SCAN_H
#define SEQREC_SCAN_H

#include <stdint.h>

/// Widest row the kernels take (the query is staged in registers-worth chunks on the stack).
#define SEQREC_SCAN_MAX_WIDTH 4096

#ifdef __cplusplus
extern "C" {
#endif

/// 1 when the CPU and OS run AVX-512 VNNI (with F/BW/VL, zmm state saved), else 0.
int seqrec_cpu_has_avx512_vnni(void);
/// 1 when the CPU and OS run AVX-VNNI (the VEX-encoded 256-bit form, with AVX2), else 0.
int seqrec_cpu_has_avx_vnni(void);

void seqrec_dot_i8_avx512vnni(long count, long width, const int8_t *rows, const int8_t *query,
                              const int32_t *row_sums, int32_t *out);
void seqrec_dot_i8_avxvnni(long count, long width, const int8_t *rows, const int8_t *query,
                           const int32_t *row_sums, int32_t *out);
/// AVX2 without VNNI: bytes sign-extended to 16 bits, then vpmaddwd (exact; no saturation).
void seqrec_dot_i8_avx2(long count, long width, const int8_t *rows, const int8_t *query, int32_t *out);

/// One session against `count` rows, AVX2, with the exact scan's bound in the same pass (docs/KERNELS.md,
/// "The fused AVX2 pass"): D_i = rows[i]·query exactly, a_i = D_i·(scales[i]·k[0]) + b_i (b_i = bias[i], or
/// 0 when bias is NULL), E_i = norms[i]·k[1] + residuals[i]·k[2] + |b_i|·k[3] + |a_i|·k[4] + k[5]; for every
/// row with a_i + E_i ≥ tau, in row order: items[n] = i, lower[n] = a_i − E_i, upper[n] = a_i + E_i.
/// Returns n (items, lower and upper hold `count` entries), or −1 without touching the outputs when
/// width is not a multiple of 32 or the query holds −128 (the caller then takes the general path).
long seqrec_scan_i8_bound_avx2(long count, long width, const int8_t *rows, const int8_t *query,
                               const float *scales, const float *norms, const float *residuals,
                               const float *bias, const float *constants, float tau,
                               int32_t *items, float *lower, float *upper);

/// Batched: sessions in lanes, 16 per group (docs/KERNELS.md, "Batched int8 scan"). Every row of the slab
/// is read once for all `groups` groups; out[i·16·groups + 16·g + l] = rows[i]·v_{16g+l} exactly.
/// VNNI kernels: `packed` holds, per group and per 4-column step p < ⌈width/4⌉, 16 lanes × 4 unsigned bytes
/// v_l[4p..4p+3] + 128 (0 past width and on unused lanes; 64 bytes per step); 128·row_sums[i] is subtracted.
/// Unused lanes' outputs are unspecified.
void seqrec_dot_i8_batch_avx512vnni(long count, long width, const int8_t *rows, const uint8_t *packed,
                                    long groups, const int32_t *row_sums, int32_t *out);
void seqrec_dot_i8_batch_avxvnni(long count, long width, const int8_t *rows, const uint8_t *packed,
                                 long groups, const int32_t *row_sums, int32_t *out);
/// AVX2: `packed` holds, per group and per 2-column step p < ⌈width/2⌉, 16 lanes × 2 int16 v_l[2p], v_l[2p+1]
/// (0 past width and on unused lanes; 64 bytes per step); no offset.
void seqrec_dot_i8_batch_avx2(long count, long width, const int8_t *rows, const int16_t *packed,
                              long groups, int32_t *out);

#ifdef __cplusplus
}
#endif

#endif
