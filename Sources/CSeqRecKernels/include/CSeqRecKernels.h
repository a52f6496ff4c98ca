// CSeqRecKernels: the x86-64 kernels SeqRecCore picks at run time (docs/KERNELS.md, "Instruction set").
//
// Every function here is compiled for one instruction-set level with a per-function `target` attribute,
// not with compile flags, so this target builds for baseline x86-64 (and for other architectures, where
// only `seqrec_cpu_level` exists and reports SEQREC_CPU_PORTABLE). Callers must call a level-L function
// only when `seqrec_cpu_level() >= L`; SeqRecCore's `Kernels` enforces that (it caps every requested
// level at the detected one).
//
// Shapes: C[m×n] = alpha·A[m×k]·B[k×n] + beta·C, every matrix row-major with row stride ld* (in floats);
// beta = 0 overwrites C. GRU: R rows (sessions), D hidden units, packed W_hh from
// `seqrec_gru_pack`, gi rows [3D] (gates r | z | n, input bias included), h [R × D] updated.
#ifndef CSEQREC_KERNELS_H
#define CSEQREC_KERNELS_H

#include <stddef.h>
#include "seqrec_scan.h"  // the int8 scan kernels (scan engineer's file)
#include "seqrec_cpu.h"   // seqrec_cpuid_words: CSeqRecCPU owns the cpuid reader
#include "seqrec_scan_bf16.h"  // the bf16 scan kernels
#include "seqrec_prefetch.h"  // a software prefetch hint (the catalogue's batch passes)

#ifdef __cplusplus
extern "C" {
#endif

/// The level (SEQREC_CPU_*) of the CPU described by `words`; `seqrec_cpu_level` applies it to this CPU.
int seqrec_cpu_level_of(const seqrec_cpuid_words *words);

/// Instruction-set levels, ordered: a CPU at level L can run every level below it.
#define SEQREC_CPU_PORTABLE 0  ///< no kernel of this target may run
#define SEQREC_CPU_AVX2 1      ///< AVX2 + FMA, with the OS saving ymm state
#define SEQREC_CPU_AVX512 2    ///< AVX-512 F + BW + VL + DQ on top of AVX2 + FMA, OS saving zmm state

/// The highest level this CPU and OS support (cpuid + xgetbv); computed on every call, cheap.
int seqrec_cpu_level(void);

/// Plain products (no transposes), for the packed weights x·Wᵀ and the attention's P·V.
void seqrec_sgemm_nn_avx512(long m, long n, long k, float alpha, const float *a, long lda, const float *b,
                            long ldb, float beta, float *c, long ldc);
void seqrec_sgemm_nn_avx2(long m, long n, long k, float alpha, const float *a, long lda, const float *b,
                          long ldb, float beta, float *c, long ldc);

/// Floats of the packed recurrent weights for hidden width d: ceil(d/16) panels × d × 48.
size_t seqrec_gru_packed_count(long d);

/// Packs PyTorch's W_hh [3D × D] (rows r | z | n) into panels of 16 hidden units: panel q holds, for each
/// input unit p, the 16 weights of units 16q…16q+15 for gate r, then z, then n; units ≥ D are zero.
void seqrec_gru_pack(long d, const float *w_hh, float *packed);

/// One GRU step for R rows: gh = h·W_hhᵀ (+ b_hh when not NULL), r = σ(gi_r + gh_r), z = σ(gi_z + gh_z),
/// n = tanh(gi_n + r ⊙ gh_n), h ← (1 − z) ⊙ n + z ⊙ h. Row i's 3D input projections (r | z | n, input
/// bias included; not changed) are at gi_rows[i] when gi_rows is not NULL (rows anywhere, e.g. in a
/// per-item table), else at gi + i·ldgi. `scratch` holds R × D floats. `descending` ≠ 0 walks the
/// panels last to first (same results: panels are independent); alternating it from step to step starts
/// each step on the panels the previous one left in L1.
void seqrec_gru_step_avx512(long rows, long d, const float *packed, const float *b_hh,
                            const float *const *gi_rows, const float *gi, long ldgi, float *h, float *scratch,
                            int descending);
void seqrec_gru_step_avx2(long rows, long d, const float *packed, const float *b_hh,
                          const float *const *gi_rows, const float *gi, long ldgi, float *h, float *scratch,
                          int descending);

#ifdef __cplusplus
}
#endif

#endif
