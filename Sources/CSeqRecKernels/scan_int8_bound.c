// One session's int8 scan of a slab with the bound evaluated in the same pass (seqrec_scan.h; docs/KERNELS.md,
// "Exact top-k from the int8 scan", "The fused AVX2 pass"). ExactScanPart evaluates the same formula in
// Swift for the other paths; here the dot products never leave registers, so the table's stream is not
// interrupted by a second loop over the slab, and only rows that pass the threshold are written out.
#include "seqrec_scan.h"
#include "CSeqRecKernels.h"
#include "scan_int8_avx2.h"

#if defined(__x86_64__)
#include <immintrin.h>
#include <math.h>

#define AVX2 __attribute__((target("avx2,fma")))

AVX2 static inline __attribute__((always_inline)) long scan_bound(
    long count, long width, const int8_t *rows, const int8_t *query, const float *scales, const float *norms,
    const float *residuals, const float *bias, const float *k, float tau, int32_t *items, float *lower, float *upper) {
    const __m256 su = _mm256_set1_ps(k[0]), ca = _mm256_set1_ps(k[1]), cb = _mm256_set1_ps(k[2]);
    const __m256 cg = _mm256_set1_ps(k[3]), rel = _mm256_set1_ps(k[4]), eta = _mm256_set1_ps(k[5]);
    const __m256 threshold = _mm256_set1_ps(tau);
    const __m256 magnitude = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    long n = 0, i = 0;
    for (; i + 8 <= count; i += 8) {
        const __m256 d = _mm256_cvtepi32_ps(seqrec_dots8_sign_avx2(rows + i * width, width, query));
        const __m256 b = bias ? _mm256_loadu_ps(bias + i) : _mm256_setzero_ps();
        const __m256 a = _mm256_add_ps(_mm256_mul_ps(d, _mm256_mul_ps(_mm256_loadu_ps(scales + i), su)), b);
        __m256 e = _mm256_mul_ps(_mm256_loadu_ps(norms + i), ca);
        e = _mm256_add_ps(e, _mm256_mul_ps(_mm256_loadu_ps(residuals + i), cb));
        e = _mm256_add_ps(e, _mm256_mul_ps(_mm256_and_ps(b, magnitude), cg));
        e = _mm256_add_ps(e, _mm256_mul_ps(_mm256_and_ps(a, magnitude), rel));
        e = _mm256_add_ps(e, eta);
        const __m256 u = _mm256_add_ps(a, e);
        int mask = _mm256_movemask_ps(_mm256_cmp_ps(u, threshold, _CMP_GE_OQ));  // NaN never passes
        if (mask) {
            float as[8], es[8], us[8];
            _mm256_storeu_ps(as, a); _mm256_storeu_ps(es, e); _mm256_storeu_ps(us, u);
            for (; mask; mask &= mask - 1) {
                const int lane = __builtin_ctz((unsigned)mask);
                items[n] = (int32_t)(i + lane); lower[n] = as[lane] - es[lane]; upper[n] = us[lane]; ++n;
            }
        }
    }
    for (; i < count; ++i) {  // leftovers: the same formula one row at a time
        int32_t dot = 0;
        for (long j = 0; j < width; ++j) dot += (int32_t)rows[i * width + j] * (int32_t)query[j];
        const float b = bias ? bias[i] : 0.0f;
        const float a = (float)dot * (scales[i] * k[0]) + b;
        float e = norms[i] * k[1];
        e += residuals[i] * k[2];
        e += fabsf(b) * k[3];
        e += fabsf(a) * k[4];
        e += k[5];
        if (a + e >= tau) { items[n] = (int32_t)i; lower[n] = a - e; upper[n] = a + e; ++n; }
    }
    return n;
}

AVX2 long seqrec_scan_i8_bound_avx2(long count, long width, const int8_t *rows, const int8_t *query,
                                    const float *scales, const float *norms, const float *residuals,
                                    const float *bias, const float *constants, float tau,
                                    int32_t *items, float *lower, float *upper) {
    if (width % 32 != 0) return -1;
    if (seqrec_holds_minus_128(query, width)) return -1;
    // The common width gets its own copy with the chunk loop unrolled by the compiler.
    if (width == 64)
        return scan_bound(count, 64, rows, query, scales, norms, residuals, bias, constants, tau, items, lower, upper);
    return scan_bound(count, width, rows, query, scales, norms, residuals, bias, constants, tau, items, lower, upper);
}
#endif
