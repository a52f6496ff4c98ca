// One GRU step on AVX-512 with the gate math fused into the recurrent product (CSeqRecKernels.h).
//
// Per panel of 16 hidden units (48 packed floats per input unit, see gru_pack.c) and tile of up to 8
// rows: gh_r, gh_z, gh_n of every row accumulate in 3 zmm registers while the panel streams by (one
// row: 4 interleaved partial sums over the input units, 12 accumulators, so the chain latency hides);
// then σ, tanh and the state update run on the registers and only the new state is stored. A panel
// (D × 48 floats, 24 KB at D = 128) stays in L1 while every row tile passes over it, so W_hh is read
// from L2 once per step. New states go to `scratch` first: later panels still read the old h.
#include "CSeqRecKernels.h"

#if defined(__x86_64__)
#include <string.h>
#include "vector_math.h"

/// σ/tanh/update for one row and one panel, then the new state into `out` (masked to the live units).
SEQREC_INLINE SEQREC_TARGET_AVX512 void gates512(__m512 ar, __m512 az, __m512 an, __mmask16 mask, long d, long u0,
                                                  const float *b_hh, const float *gi, const float *h, float *out) {
    if (b_hh) {
        ar = _mm512_add_ps(ar, _mm512_maskz_loadu_ps(mask, b_hh + u0));
        az = _mm512_add_ps(az, _mm512_maskz_loadu_ps(mask, b_hh + d + u0));
        an = _mm512_add_ps(an, _mm512_maskz_loadu_ps(mask, b_hh + 2 * d + u0));
    }
    const __m512 r = seqrec_sigmoid512(_mm512_add_ps(_mm512_maskz_loadu_ps(mask, gi + u0), ar));
    const __m512 z = seqrec_sigmoid512(_mm512_add_ps(_mm512_maskz_loadu_ps(mask, gi + d + u0), az));
    const __m512 n = seqrec_tanh512(_mm512_fmadd_ps(r, an, _mm512_maskz_loadu_ps(mask, gi + 2 * d + u0)));
    const __m512 previous = _mm512_maskz_loadu_ps(mask, h + u0);
    // (1 − z)·n + z·h = n + z·(h − n)
    _mm512_mask_storeu_ps(out + u0, mask, _mm512_fmadd_ps(z, _mm512_sub_ps(previous, n), n));
}

/// Row i's input projections: from the row pointers when given, else from the strided block.
#define GI_ROW(i) (gi_rows ? gi_rows[i] : gi + (i) * ldgi)

/// One row: 4 partial sums per gate over interleaved input units.
static SEQREC_TARGET_AVX512 void row_panel512(long d, long u0, __mmask16 mask, const float *w, const float *b_hh,
                                              const float *gi, const float *h, float *out) {
    __m512 acc[4][3];
    for (int s = 0; s < 4; s++)
        for (int g = 0; g < 3; g++) acc[s][g] = _mm512_setzero_ps();
    long p = 0;
    for (; p + 4 <= d; p += 4) {
        for (int s = 0; s < 4; s++) {
            const __m512 x = _mm512_set1_ps(h[p + s]);
            const float *row = w + (p + s) * 48;
            for (int g = 0; g < 3; g++) acc[s][g] = _mm512_fmadd_ps(x, _mm512_loadu_ps(row + 16 * g), acc[s][g]);
        }
    }
    for (; p < d; p++) {
        const __m512 x = _mm512_set1_ps(h[p]);
        for (int g = 0; g < 3; g++) acc[0][g] = _mm512_fmadd_ps(x, _mm512_loadu_ps(w + p * 48 + 16 * g), acc[0][g]);
    }
    __m512 sums[3];
    for (int g = 0; g < 3; g++)
        sums[g] = _mm512_add_ps(_mm512_add_ps(acc[0][g], acc[1][g]), _mm512_add_ps(acc[2][g], acc[3][g]));
    gates512(sums[0], sums[1], sums[2], mask, d, u0, b_hh, gi, h, out);
}

/// ROWS rows (2…8) against one panel: 3·ROWS accumulators.
SEQREC_INLINE SEQREC_TARGET_AVX512 void rows_panel512(const int rows, long d, long u0, __mmask16 mask,
                                                       const float *w, const float *b_hh,
                                                       const float *const *gi_rows, const float *gi, long ldgi,
                                                       const float *h, float *out) {
    __m512 acc[8][3];
    for (int i = 0; i < rows; i++)
        for (int g = 0; g < 3; g++) acc[i][g] = _mm512_setzero_ps();
    for (long p = 0; p < d; p++) {
        const float *row = w + p * 48;
        const __m512 wr = _mm512_loadu_ps(row), wz = _mm512_loadu_ps(row + 16), wn = _mm512_loadu_ps(row + 32);
        for (int i = 0; i < rows; i++) {
            const __m512 x = _mm512_set1_ps(h[i * d + p]);
            acc[i][0] = _mm512_fmadd_ps(x, wr, acc[i][0]);
            acc[i][1] = _mm512_fmadd_ps(x, wz, acc[i][1]);
            acc[i][2] = _mm512_fmadd_ps(x, wn, acc[i][2]);
        }
    }
    for (int i = 0; i < rows; i++)
        gates512(acc[i][0], acc[i][1], acc[i][2], mask, d, u0, b_hh, GI_ROW(i), h + i * d, out + i * d);
}

#define ROWS(R) rows_panel512(R, d, u0, mask, w, b_hh, gi_rows ? gi_rows + i : NULL, gi_rows ? NULL : gi + i * ldgi, ldgi, h + i * d, out); break

SEQREC_TARGET_AVX512 void seqrec_gru_step_avx512(long rows, long d, const float *packed, const float *b_hh,
                                                 const float *const *gi_rows, const float *gi, long ldgi, float *h,
                                                 float *scratch, int descending) {
    if (rows <= 0 || d <= 0) return;
    const long panels = (d + 15) / 16;
    for (long step = 0; step < panels; step++) {
        const long q = descending ? panels - 1 - step : step;
        const long u0 = 16 * q, live = d - u0;
        const __mmask16 mask = live >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << live) - 1);
        const float *w = packed + q * d * 48;
        for (long i = 0; i < rows; i += 8) {
            float *out = scratch + i * d;
            switch (rows - i < 8 ? rows - i : 8) {
            case 1: row_panel512(d, u0, mask, w, b_hh, GI_ROW(i), h + i * d, out); break;
            case 2: ROWS(2); case 3: ROWS(3); case 4: ROWS(4); case 5: ROWS(5);
            case 6: ROWS(6); case 7: ROWS(7); default: ROWS(8);
            }
        }
    }
    memcpy(h, scratch, (size_t)(rows * d) * sizeof(float));
}
#endif
