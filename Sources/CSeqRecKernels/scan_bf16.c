// Float dot products of bf16 table rows with a query (seqrec_scan_bf16.h): AVX-512 BF16 and AVX2, each
// compiled for its level by a per-function `target` attribute (no compile flags), chosen at run time by
// SeqRecCore (`Bf16Dot`). Rows are read front to back, one after the other.
#include "seqrec_scan_bf16.h"
#include "seqrec_scan.h"
#include "CSeqRecKernels.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define AVX512_BF16 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16,avx2,fma")))
#define AVX2 __attribute__((target("avx2,fma")))

// ---- AVX-512 BF16: 32 elements per vdpbf16ps, two per chunk (hi and lo query parts), masked tail ----

AVX512_BF16 static inline __m512 row_dot_bf16(const uint16_t *row, long width, const __m512i *hi, const __m512i *lo) {
    __m512 acc = _mm512_setzero_ps();
    long p = 0, chunk = 0;
    for (; p + 32 <= width; p += 32, ++chunk) {
        const __m512bh r = (__m512bh)_mm512_loadu_si512((const void *)(row + p));
        acc = _mm512_dpbf16_ps(acc, r, (__m512bh)hi[chunk]);
        acc = _mm512_dpbf16_ps(acc, r, (__m512bh)lo[chunk]);
    }
    if (p < width) {
        const __mmask32 mask = (__mmask32)((1ULL << (width - p)) - 1);  // 0 < width − p < 32
        const __m512bh r = (__m512bh)_mm512_maskz_loadu_epi16(mask, row + p);
        acc = _mm512_dpbf16_ps(acc, r, (__m512bh)hi[chunk]);
        acc = _mm512_dpbf16_ps(acc, r, (__m512bh)lo[chunk]);
    }
    return acc;
}

// The query parts in 32-element chunks, zero past width (width ≤ 4096: 128 chunks each, 16 KB of stack).
AVX512_BF16 void seqrec_dot_bf16_avx512bf16(long count, long width, const uint16_t *rows, const uint16_t *hi,
                                            const uint16_t *lo, float *out) {
    __m512i hiChunks[SEQREC_SCAN_MAX_WIDTH / 32], loChunks[SEQREC_SCAN_MAX_WIDTH / 32];
    const long n = (width + 31) / 32;
    for (long c = 0; c < n; ++c) {
        const long left = width - 32 * c;
        const __mmask32 mask = left >= 32 ? 0xFFFFFFFFu : (__mmask32)((1ULL << left) - 1);
        hiChunks[c] = _mm512_maskz_loadu_epi16(mask, hi + 32 * c);
        loChunks[c] = _mm512_maskz_loadu_epi16(mask, lo + 32 * c);
    }
    for (long i = 0; i < count; ++i)
        out[i] = _mm512_reduce_add_ps(row_dot_bf16(rows + i * width, width, hiChunks, loChunks));
}

// ---- AVX2: 8 bf16 widened to fp32 by zero-extension and a 16-bit shift, FMA, scalar tail ----

AVX2 static inline __m256 widen8(const uint16_t *p) {
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)p)), 16));
}

static inline float widen1(uint16_t bits) {
    union { uint32_t u; float f; } value = { .u = (uint32_t)bits << 16 };
    return value.f;
}

AVX2 void seqrec_dot_bf16_avx2(long count, long width, const uint16_t *rows, const float *query, float *out) {
    for (long i = 0; i < count; ++i) {
        const uint16_t *row = rows + i * width;
        __m256 a = _mm256_setzero_ps(), b = _mm256_setzero_ps();
        long p = 0;
        for (; p + 16 <= width; p += 16) {
            a = _mm256_fmadd_ps(widen8(row + p), _mm256_loadu_ps(query + p), a);
            b = _mm256_fmadd_ps(widen8(row + p + 8), _mm256_loadu_ps(query + p + 8), b);
        }
        if (p + 8 <= width) {
            a = _mm256_fmadd_ps(widen8(row + p), _mm256_loadu_ps(query + p), a);
            p += 8;
        }
        const __m256 sum8 = _mm256_add_ps(a, b);
        __m128 sum4 = _mm_add_ps(_mm256_castps256_ps128(sum8), _mm256_extractf128_ps(sum8, 1));
        sum4 = _mm_add_ps(sum4, _mm_movehl_ps(sum4, sum4));
        sum4 = _mm_add_ss(sum4, _mm_movehdup_ps(sum4));
        float sum = _mm_cvtss_f32(sum4);
        for (; p < width; ++p) sum += widen1(row[p]) * query[p];
        out[i] = sum;
    }
}
#endif
