// e^x, σ(x) and tanh(x) on AVX-512 and AVX2 vectors, the same approximations as SeqRecCore's
// SIMDMath.swift: e^x = 2^n·e^r with n = round(x·log₂e), r = x − n·ln2 (Cody–Waite, ln2 in two parts),
// e^r by its degree-7 Taylor polynomial, 2^n built in the exponent bits; 0 below −86.6, +inf above
// 88.72283, NaN stays NaN (max/min return their second operand when one is NaN, so x goes second).
// Internal to this target; every function carries its level's target attribute so it inlines into
// the kernels of that level only.
#ifndef SEQREC_VECTOR_MATH_H
#define SEQREC_VECTOR_MATH_H

#if defined(__x86_64__)
#include <immintrin.h>

#define SEQREC_TARGET_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx2,fma")))
#define SEQREC_TARGET_AVX2 __attribute__((target("avx2,fma")))
#define SEQREC_INLINE static inline __attribute__((always_inline))

#define SEQREC_EXP_SHIFTER 12582912.0f  /* 1.5·2^23: adding it rounds to an integer in the low bits */
#define SEQREC_EXP_LOWEST -86.6f
#define SEQREC_EXP_HIGHEST 88.72283f

SEQREC_INLINE SEQREC_TARGET_AVX512 __m512 seqrec_exp512(__m512 x) {
    const __m512 shifter = _mm512_set1_ps(SEQREC_EXP_SHIFTER);
    const __m512 lowest = _mm512_set1_ps(SEQREC_EXP_LOWEST), highest = _mm512_set1_ps(SEQREC_EXP_HIGHEST);
    const __m512 clamped = _mm512_min_ps(highest, _mm512_max_ps(lowest, x));
    const __m512 shifted = _mm512_fmadd_ps(clamped, _mm512_set1_ps(1.44269504088896341f), shifter);
    const __m512 n = _mm512_sub_ps(shifted, shifter);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), clamped);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.0f / 5040);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 720));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 120));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 24));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    // n ∈ [−125, 128] after the clamp: the biased exponent n − 1 + 127 lies in [1, 254].
    const __m512i integer = _mm512_sub_epi32(_mm512_castps_si512(shifted), _mm512_castps_si512(shifter));
    const __m512 half_power = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(integer, _mm512_set1_epi32(126)), 23));
    __m512 result = _mm512_mul_ps(_mm512_mul_ps(p, half_power), _mm512_set1_ps(2.0f));
    result = _mm512_mask_mov_ps(result, _mm512_cmp_ps_mask(x, lowest, _CMP_LT_OQ), _mm512_setzero_ps());
    return _mm512_mask_mov_ps(result, _mm512_cmp_ps_mask(x, highest, _CMP_GT_OQ), _mm512_set1_ps(__builtin_inff()));
}

SEQREC_INLINE SEQREC_TARGET_AVX512 __m512 seqrec_sigmoid512(__m512 x) {
    const __m512 one = _mm512_set1_ps(1.0f);
    return _mm512_div_ps(one, _mm512_add_ps(one, seqrec_exp512(_mm512_sub_ps(_mm512_setzero_ps(), x))));
}

/// sign(x)·(1 − e^(−2|x|))/(1 + e^(−2|x|)).
SEQREC_INLINE SEQREC_TARGET_AVX512 __m512 seqrec_tanh512(__m512 x) {
    const __m512i sign_bit = _mm512_set1_epi32((int)0x80000000u);
    const __m512i bits = _mm512_castps_si512(x);
    const __m512 magnitude = _mm512_castsi512_ps(_mm512_andnot_si512(sign_bit, bits));
    const __m512 e = seqrec_exp512(_mm512_mul_ps(magnitude, _mm512_set1_ps(-2.0f)));
    const __m512 one = _mm512_set1_ps(1.0f);
    const __m512 t = _mm512_div_ps(_mm512_sub_ps(one, e), _mm512_add_ps(one, e));
    return _mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(t), _mm512_and_si512(bits, sign_bit)));
}

SEQREC_INLINE SEQREC_TARGET_AVX2 __m256 seqrec_exp256(__m256 x) {
    const __m256 shifter = _mm256_set1_ps(SEQREC_EXP_SHIFTER);
    const __m256 lowest = _mm256_set1_ps(SEQREC_EXP_LOWEST), highest = _mm256_set1_ps(SEQREC_EXP_HIGHEST);
    const __m256 clamped = _mm256_min_ps(highest, _mm256_max_ps(lowest, x));
    const __m256 shifted = _mm256_fmadd_ps(clamped, _mm256_set1_ps(1.44269504088896341f), shifter);
    const __m256 n = _mm256_sub_ps(shifted, shifter);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), clamped);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.0f / 5040);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 720));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 120));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 24));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 6));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    const __m256i integer = _mm256_sub_epi32(_mm256_castps_si256(shifted), _mm256_castps_si256(shifter));
    const __m256 half_power = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(integer, _mm256_set1_epi32(126)), 23));
    __m256 result = _mm256_mul_ps(_mm256_mul_ps(p, half_power), _mm256_set1_ps(2.0f));
    result = _mm256_blendv_ps(result, _mm256_setzero_ps(), _mm256_cmp_ps(x, lowest, _CMP_LT_OQ));
    return _mm256_blendv_ps(result, _mm256_set1_ps(__builtin_inff()), _mm256_cmp_ps(x, highest, _CMP_GT_OQ));
}

SEQREC_INLINE SEQREC_TARGET_AVX2 __m256 seqrec_sigmoid256(__m256 x) {
    const __m256 one = _mm256_set1_ps(1.0f);
    return _mm256_div_ps(one, _mm256_add_ps(one, seqrec_exp256(_mm256_sub_ps(_mm256_setzero_ps(), x))));
}

SEQREC_INLINE SEQREC_TARGET_AVX2 __m256 seqrec_tanh256(__m256 x) {
    const __m256 sign_bit = _mm256_castsi256_ps(_mm256_set1_epi32((int)0x80000000u));
    const __m256 magnitude = _mm256_andnot_ps(sign_bit, x);
    const __m256 e = seqrec_exp256(_mm256_mul_ps(magnitude, _mm256_set1_ps(-2.0f)));
    const __m256 one = _mm256_set1_ps(1.0f);
    const __m256 t = _mm256_div_ps(_mm256_sub_ps(one, e), _mm256_add_ps(one, e));
    return _mm256_or_ps(t, _mm256_and_ps(x, sign_bit));
}

#endif
#endif
