// AVX2 + FMA plain GEMM, the same scheme as gemm_avx512.c on 16 ymm registers: tiles of 6 rows × 2
// vectors (12 accumulators), 8 rows × 1 vector for a last block narrower than 16 columns, 1 row × 8
// vectors for single-row products. Columns past n are masked (vmaskmov does not touch masked lanes).
#include "CSeqRecKernels.h"

#if defined(__x86_64__)
#include "vector_math.h"

SEQREC_INLINE SEQREC_TARGET_AVX2 void tile256(const int rows, const int nv, long k, const float *a, long lda,
                                               const float *b, long ldb, const __m256i *masks, float alpha,
                                               float beta, float *c, long ldc) {
    __m256 acc[8][8];
    for (int i = 0; i < rows; i++)
        for (int v = 0; v < nv; v++) acc[i][v] = _mm256_setzero_ps();
    for (long p = 0; p < k; p++) {
        __m256 bv[8];
        const float *row = b + p * ldb;
        for (int v = 0; v < nv; v++) bv[v] = _mm256_maskload_ps(row + 8 * v, masks[v]);
        for (int i = 0; i < rows; i++) {
            const __m256 ai = _mm256_broadcast_ss(a + i * lda + p);
            for (int v = 0; v < nv; v++) acc[i][v] = _mm256_fmadd_ps(ai, bv[v], acc[i][v]);
        }
    }
    const __m256 alphas = _mm256_set1_ps(alpha), betas = _mm256_set1_ps(beta);
    for (int i = 0; i < rows; i++) {
        for (int v = 0; v < nv; v++) {
            float *out = c + i * ldc + 8 * v;
            __m256 value = _mm256_mul_ps(alphas, acc[i][v]);
            if (beta != 0) value = _mm256_fmadd_ps(betas, _mm256_maskload_ps(out, masks[v]), value);
            _mm256_maskstore_ps(out, masks[v], value);
        }
    }
}

#define TILE(R, V) tile256(R, V, k, a, lda, b, ldb, masks, alpha, beta, c, ldc); return

/// One tile: nv = 8 with 1 row, nv = 2 with 1…6 rows, nv = 1 with 1…8 rows.
static SEQREC_TARGET_AVX2 void tile_dispatch256(int rows, int nv, long k, const float *a, long lda,
                                                const float *b, long ldb, const __m256i *masks, float alpha,
                                                float beta, float *c, long ldc) {
    if (nv == 8) { TILE(1, 8); }
    if (nv == 2) {
        switch (rows) {
        case 1: TILE(1, 2); case 2: TILE(2, 2); case 3: TILE(3, 2); case 4: TILE(4, 2); case 5: TILE(5, 2);
        default: TILE(6, 2);
        }
    }
    switch (rows) {
    case 1: TILE(1, 1); case 2: TILE(2, 1); case 3: TILE(3, 1); case 4: TILE(4, 1);
    case 5: TILE(5, 1); case 6: TILE(6, 1); case 7: TILE(7, 1); default: TILE(8, 1);
    }
}

SEQREC_TARGET_AVX2 void seqrec_sgemm_nn_avx2(long m, long n, long k, float alpha, const float *a, long lda,
                                             const float *b, long ldb, float beta, float *c, long ldc) {
    if (m <= 0 || n <= 0) return;
    if (k <= 0 || alpha == 0) {
        for (long i = 0; i < m; i++)
            for (long j = 0; j < n; j++) c[i * ldc + j] = beta == 0 ? 0 : beta * c[i * ldc + j];
        return;
    }
    const __m256i lane_index = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    for (long j = 0; j < n;) {
        const long left = n - j;
        int nv;
        if (m == 1) nv = left >= 64 ? 8 : left > 8 ? 2 : 1;
        else nv = left > 8 ? 2 : 1;
        const int tile_rows = m == 1 ? 1 : nv == 2 ? 6 : 8;
        __m256i masks[8];
        for (int v = 0; v < 8; v++) {
            long cols = left - 8 * v;
            cols = cols < 0 ? 0 : cols > 8 ? 8 : cols;
            masks[v] = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)cols), lane_index);
        }
        for (long i = 0; i < m; i += tile_rows) {
            const int rows = (int)(m - i < tile_rows ? m - i : tile_rows);
            tile_dispatch256(rows, nv, k, a + i * lda, lda, b + j, ldb, masks, alpha, beta, c + i * ldc + j, ldc);
        }
        j += 8 * nv;
    }
}
#endif
