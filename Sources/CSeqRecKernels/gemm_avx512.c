// AVX-512 plain GEMM (C = alpha·A·B + beta·C, no transposes) for SeqRec's shapes: the packed linear maps
// x·Wᵀ ([1…3,200 × 64…256]·[64…256 × 64…384]) and the attention's P·V.
//
// Register tiles of ROWS × NV zmm vectors of C (ROWS·NV ≤ 24 accumulators): per step of k, NV loads of
// B's row piece and ROWS broadcasts of A, ROWS·NV fused multiply-adds. Columns past n are masked (loads
// of masked lanes do not touch memory), so there is no scalar tail. A block of B (k × 16·NV floats) is
// reused by every row tile before the next block, so it stays in L1/L2. Tile shapes are fixed at compile
// time by the switch below, so the accumulators live in registers.
#include "CSeqRecKernels.h"

#if defined(__x86_64__)
#include "vector_math.h"

SEQREC_INLINE SEQREC_TARGET_AVX512 void tile512(const int rows, const int nv, long k, const float *a, long lda,
                                                 const float *b, long ldb, const __mmask16 *masks, float alpha,
                                                 float beta, float *c, long ldc) {
    __m512 acc[8][8];
    for (int i = 0; i < rows; i++)
        for (int v = 0; v < nv; v++) acc[i][v] = _mm512_setzero_ps();
    for (long p = 0; p < k; p++) {
        __m512 bv[8];
        const float *row = b + p * ldb;
        for (int v = 0; v < nv; v++) bv[v] = _mm512_maskz_loadu_ps(masks[v], row + 16 * v);
        for (int i = 0; i < rows; i++) {
            const __m512 ai = _mm512_set1_ps(a[i * lda + p]);
            for (int v = 0; v < nv; v++) acc[i][v] = _mm512_fmadd_ps(ai, bv[v], acc[i][v]);
        }
    }
    const __m512 alphas = _mm512_set1_ps(alpha), betas = _mm512_set1_ps(beta);
    for (int i = 0; i < rows; i++) {
        for (int v = 0; v < nv; v++) {
            float *out = c + i * ldc + 16 * v;
            __m512 value = _mm512_mul_ps(alphas, acc[i][v]);
            if (beta != 0) value = _mm512_fmadd_ps(betas, _mm512_maskz_loadu_ps(masks[v], out), value);
            _mm512_mask_storeu_ps(out, masks[v], value);
        }
    }
}

#define TILE(R, V) tile512(R, V, k, a, lda, b, ldb, masks, alpha, beta, c, ldc); return
#define ROWS_UP_TO_8(V)                                                                          \
    switch (rows) {                                                                             \
    case 1: TILE(1, V); case 2: TILE(2, V); case 3: TILE(3, V); case 4: TILE(4, V);             \
    case 5: TILE(5, V); case 6: TILE(6, V); case 7: TILE(7, V); default: TILE(8, V);            \
    }

/// One tile of `rows` (1…8, ≤ 6 when nv = 4, ≤ 2 when nv = 8) rows and nv ∈ {1, 2, 3, 4, 8} vectors.
static SEQREC_TARGET_AVX512 void tile_dispatch512(int rows, int nv, long k, const float *a, long lda,
                                                  const float *b, long ldb, const __mmask16 *masks, float alpha,
                                                  float beta, float *c, long ldc) {
    switch (nv) {
    case 1: ROWS_UP_TO_8(1)
    case 2: ROWS_UP_TO_8(2)
    case 3: ROWS_UP_TO_8(3)
    case 4:
        switch (rows) {
        case 1: TILE(1, 4); case 2: TILE(2, 4); case 3: TILE(3, 4); case 4: TILE(4, 4); case 5: TILE(5, 4);
        default: TILE(6, 4);
        }
    default:
        if (rows == 1) { TILE(1, 8); }
        TILE(2, 8);
    }
}

SEQREC_TARGET_AVX512 void seqrec_sgemm_nn_avx512(long m, long n, long k, float alpha, const float *a, long lda,
                                                 const float *b, long ldb, float beta, float *c, long ldc) {
    if (m <= 0 || n <= 0) return;
    if (k <= 0 || alpha == 0) {
        for (long i = 0; i < m; i++)
            for (long j = 0; j < n; j++) c[i * ldc + j] = beta == 0 ? 0 : beta * c[i * ldc + j];
        return;
    }
    // One row: 8 vectors (128 columns) per tile for 8 independent accumulator chains; else 4 vectors
    // × 6 rows (24 accumulators), and for a last block narrower than 64 columns, 1–3 vectors × 8 rows.
    const int wide = m == 1 ? 8 : 4;
    for (long j = 0; j < n;) {
        const long left = n - j;
        const int nv = left >= 16 * wide ? wide : (int)((left + 15) / 16);
        const int tile_rows = m == 1 ? 1 : nv == 4 ? 6 : 8;
        __mmask16 masks[8];
        for (int v = 0; v < 8; v++) {
            const long cols = left - 16 * v;
            masks[v] = cols >= 16 ? (__mmask16)0xFFFF : cols > 0 ? (__mmask16)((1u << cols) - 1) : 0;
        }
        for (long i = 0; i < m; i += tile_rows) {
            const int rows = (int)(m - i < tile_rows ? m - i : tile_rows);
            tile_dispatch512(rows, nv, k, a + i * lda, lda, b + j, ldb, masks, alpha, beta, c + i * ldc + j, ldc);
        }
        j += 16 * nv;
    }
}
#endif
