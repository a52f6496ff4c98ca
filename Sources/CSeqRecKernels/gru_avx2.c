// One GRU step on AVX2 + FMA, the scheme of gru_avx512.c on ymm registers: a panel of 16 units is two
// vectors per gate, 6 per row; tiles of 2 rows (12 accumulators), one row with 2 interleaved partial
// sums (12 accumulators). Units past D are masked.
#include "CSeqRecKernels.h"

#if defined(__x86_64__)
#include <string.h>
#include "vector_math.h"

/// σ/tanh/update for one row, one half panel (8 units at u0), into `out`.
SEQREC_INLINE SEQREC_TARGET_AVX2 void gates256(__m256 ar, __m256 az, __m256 an, __m256i mask, long d, long u0,
                                                const float *b_hh, const float *gi, const float *h, float *out) {
    if (b_hh) {
        ar = _mm256_add_ps(ar, _mm256_maskload_ps(b_hh + u0, mask));
        az = _mm256_add_ps(az, _mm256_maskload_ps(b_hh + d + u0, mask));
        an = _mm256_add_ps(an, _mm256_maskload_ps(b_hh + 2 * d + u0, mask));
    }
    const __m256 r = seqrec_sigmoid256(_mm256_add_ps(_mm256_maskload_ps(gi + u0, mask), ar));
    const __m256 z = seqrec_sigmoid256(_mm256_add_ps(_mm256_maskload_ps(gi + d + u0, mask), az));
    const __m256 n = seqrec_tanh256(_mm256_fmadd_ps(r, an, _mm256_maskload_ps(gi + 2 * d + u0, mask)));
    const __m256 previous = _mm256_maskload_ps(h + u0, mask);
    _mm256_maskstore_ps(out + u0, mask, _mm256_fmadd_ps(z, _mm256_sub_ps(previous, n), n));
}

/// Row i's input projections: from the row pointers when given, else from the strided block.
#define GI_ROW(i) (gi_rows ? gi_rows[i] : gi + (i) * ldgi)

/// ROWS rows (1 or 2) against one panel; with one row, 2 partial sums over interleaved input units.
SEQREC_INLINE SEQREC_TARGET_AVX2 void rows_panel256(const int rows, long d, long u0, const __m256i *masks,
                                                     const float *w, const float *b_hh,
                                                     const float *const *gi_rows, const float *gi, long ldgi,
                                                     const float *h, float *out) {
    __m256 acc[2][6];
    for (int i = 0; i < 2; i++)
        for (int v = 0; v < 6; v++) acc[i][v] = _mm256_setzero_ps();
    long p = 0;
    if (rows == 1) {
        for (; p + 2 <= d; p += 2) {
            for (int s = 0; s < 2; s++) {
                const __m256 x = _mm256_broadcast_ss(h + p + s);
                const float *row = w + (p + s) * 48;
                for (int v = 0; v < 6; v++) acc[s][v] = _mm256_fmadd_ps(x, _mm256_loadu_ps(row + 8 * v), acc[s][v]);
            }
        }
        for (; p < d; p++) {
            const __m256 x = _mm256_broadcast_ss(h + p);
            for (int v = 0; v < 6; v++) acc[0][v] = _mm256_fmadd_ps(x, _mm256_loadu_ps(w + p * 48 + 8 * v), acc[0][v]);
        }
        for (int v = 0; v < 6; v++) acc[0][v] = _mm256_add_ps(acc[0][v], acc[1][v]);
    } else {
        // 12 accumulators + 2 broadcasts + 1 weight vector: 15 of the 16 ymm registers (loading all 6
        // weight vectors first would spill).
        for (; p < d; p++) {
            const float *row = w + p * 48;
            const __m256 x0 = _mm256_broadcast_ss(h + p), x1 = _mm256_broadcast_ss(h + d + p);
            for (int v = 0; v < 6; v++) {
                const __m256 weights = _mm256_loadu_ps(row + 8 * v);
                acc[0][v] = _mm256_fmadd_ps(x0, weights, acc[0][v]);
                acc[1][v] = _mm256_fmadd_ps(x1, weights, acc[1][v]);
            }
        }
    }
    for (int i = 0; i < rows; i++) {
        for (int half = 0; half < 2; half++) {
            gates256(acc[i][half], acc[i][2 + half], acc[i][4 + half], masks[half], d, u0 + 8 * half, b_hh,
                     GI_ROW(i), h + i * d, out + i * d);
        }
    }
}

SEQREC_TARGET_AVX2 void seqrec_gru_step_avx2(long rows, long d, const float *packed, const float *b_hh,
                                             const float *const *gi_rows, const float *gi, long ldgi, float *h,
                                             float *scratch, int descending) {
    if (rows <= 0 || d <= 0) return;
    const long panels = (d + 15) / 16;
    const __m256i lane_index = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    for (long step = 0; step < panels; step++) {
        const long q = descending ? panels - 1 - step : step;
        const long u0 = 16 * q, live = d - u0;
        __m256i masks[2];
        for (int half = 0; half < 2; half++) {
            long units = live - 8 * half;
            units = units < 0 ? 0 : units > 8 ? 8 : units;
            masks[half] = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)units), lane_index);
        }
        const float *w = packed + q * d * 48;
        long i = 0;
        for (; i + 2 <= rows; i += 2)
            rows_panel256(2, d, u0, masks, w, b_hh, gi_rows ? gi_rows + i : NULL, gi_rows ? NULL : gi + i * ldgi, ldgi, h + i * d,
                          scratch + i * d);
        if (i < rows)
            rows_panel256(1, d, u0, masks, w, b_hh, gi_rows ? gi_rows + i : NULL, gi_rows ? NULL : gi + i * ldgi, ldgi, h + i * d,
                          scratch + i * d);
    }
    memcpy(h, scratch, (size_t)(rows * d) * sizeof(float));
}
#endif
