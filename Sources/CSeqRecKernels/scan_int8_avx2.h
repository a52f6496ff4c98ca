// The AVX2 int8 dot products of eight rows at once, shared by the plain dots (scan_int8.c) and the fused
// pass (scan_int8_bound.c). Internal to CSeqRecKernels: include only from files that compile these
// functions for AVX2 (each caller carries the `target("avx2,fma")` attribute).
#ifndef SEQREC_SCAN_INT8_AVX2_H
#define SEQREC_SCAN_INT8_AVX2_H

#if defined(__x86_64__)
#include <immintrin.h>
#include <stdint.h>

// Whether the query holds −128, which the sign-moved kernel cannot negate.
static inline int seqrec_holds_minus_128(const int8_t *query, long width) {
    for (long j = 0; j < width; ++j)
        if (query[j] == INT8_MIN) return 1;
    return 0;
}

// [Σ a, Σ b, …, Σ h] of eight 8-lane accumulators: six vphaddd and one cross-lane add.
__attribute__((target("avx2,fma"), always_inline)) static inline __m256i seqrec_sums8_avx2(const __m256i *acc) {
    const __m256i ab = _mm256_hadd_epi32(acc[0], acc[1]), cd = _mm256_hadd_epi32(acc[2], acc[3]);
    const __m256i ef = _mm256_hadd_epi32(acc[4], acc[5]), gh = _mm256_hadd_epi32(acc[6], acc[7]);
    const __m256i abcd = _mm256_hadd_epi32(ab, cd), efgh = _mm256_hadd_epi32(ef, gh);
    // abcd = [a b c d | a' b' c' d'] (partial sums of the low and high 128-bit halves), efgh likewise.
    return _mm256_add_epi32(_mm256_permute2x128_si256(abcd, efgh, 0x20), _mm256_permute2x128_si256(abcd, efgh, 0x31));
}

// The exact dot products of rows r[0..7] (stride `width`, a multiple of 32) with `query` (no −128):
// vpmaddubsw of |row| (unsigned, ≤ 128) with the query carrying the row's sign (vpsignb; |v| ≤ 127, so
// negating never overflows), so each adjacent pair sums to at most 2·128·127 = 32,512 < 2¹⁵ and the
// saturating instruction is exact. Eight independent accumulators; each query chunk is loaded once.
__attribute__((target("avx2,fma"), always_inline)) static inline __m256i
seqrec_dots8_sign_avx2(const int8_t *r, long width, const int8_t *query) {
    const __m256i ones = _mm256_set1_epi16(1);
    __m256i acc[8];
    for (int q = 0; q < 8; ++q) acc[q] = _mm256_setzero_si256();
    for (long p = 0; p < width; p += 32) {
        const __m256i v = _mm256_loadu_si256((const __m256i *)(query + p));
        for (int q = 0; q < 8; ++q) {
            const __m256i x = _mm256_loadu_si256((const __m256i *)(r + q * width + p));
            const __m256i pairs = _mm256_maddubs_epi16(_mm256_abs_epi8(x), _mm256_sign_epi8(v, x));
            acc[q] = _mm256_add_epi32(acc[q], _mm256_madd_epi16(pairs, ones));
        }
    }
    return seqrec_sums8_avx2(acc);
}
#endif

#endif
