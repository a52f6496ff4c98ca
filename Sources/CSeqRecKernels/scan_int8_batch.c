// The batched int8 scan's dot products (seqrec_scan.h): many sessions against one slab of table rows,
// sessions in vector lanes (16 per group), so each row is read once per batch and no horizontal sums are
// needed. Per row block (8 rows VNNI-512, 4 rows otherwise) and group: each step broadcasts 4 (VNNI) or
// 2 (AVX2) bytes of a row to every lane and multiplies them with that step's bytes of the 16 queries.
// Compiled per function for its level (`target` attributes), chosen at run time by SeqRecCore (`Int8Dot`).
#include "seqrec_scan.h"
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>

#define AVX512_VNNI __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma")))
#define AVX_VNNI __attribute__((target("avxvnni,avx2,fma")))
#define AVX2 __attribute__((target("avx2,fma")))

static inline int32_t load32(const int8_t *p) {
    int32_t x;
    memcpy(&x, p, 4);
    return x;
}

// The row's bytes from 4·whole to width (fewer than 4) in the low bytes of a zeroed word: the last step
// must not read past the row (the last row ends the table).
static inline int32_t tail32(const int8_t *row, long whole, long width) {
    int32_t x = 0;
    memcpy(&x, row + 4 * whole, (size_t)(width - 4 * whole));
    return x;
}

// ---- AVX-512 VNNI: one zmm per group and step, R ≤ 8 rows' accumulators ----

AVX512_VNNI static inline void block_512(int R, long width, const int8_t *r, const uint8_t *packed, long groups,
                                         const int32_t *row_sums, int32_t *out) {
    const long whole = width / 4, steps = (width + 3) / 4, stride = 16 * groups;
    int32_t tails[8] = {0};
    if (steps > whole) for (int q = 0; q < R; ++q) tails[q] = tail32(r + q * width, whole, width);
    for (long g = 0; g < groups; ++g) {
        const uint8_t *v = packed + g * steps * 64;
        __m512i acc[8];
        for (int q = 0; q < R; ++q) acc[q] = _mm512_setzero_si512();
        for (long p = 0; p < whole; ++p) {
            const __m512i query = _mm512_loadu_si512((const void *)(v + p * 64));
            for (int q = 0; q < R; ++q)
                acc[q] = _mm512_dpbusd_epi32(acc[q], query, _mm512_set1_epi32(load32(r + q * width + 4 * p)));
        }
        if (steps > whole) {
            const __m512i query = _mm512_loadu_si512((const void *)(v + whole * 64));
            for (int q = 0; q < R; ++q) acc[q] = _mm512_dpbusd_epi32(acc[q], query, _mm512_set1_epi32(tails[q]));
        }
        for (int q = 0; q < R; ++q) {
            const __m512i offset = _mm512_set1_epi32(128 * row_sums[q]);
            _mm512_storeu_si512((void *)(out + q * stride + 16 * g), _mm512_sub_epi32(acc[q], offset));
        }
    }
}

AVX512_VNNI void seqrec_dot_i8_batch_avx512vnni(long count, long width, const int8_t *rows, const uint8_t *packed,
                                                long groups, const int32_t *row_sums, int32_t *out) {
    const long stride = 16 * groups;
    long i = 0;
    for (; i + 8 <= count; i += 8)
        block_512(8, width, rows + i * width, packed, groups, row_sums + i, out + i * stride);
    for (; i < count; ++i)
        block_512(1, width, rows + i * width, packed, groups, row_sums + i, out + i * stride);
}

// ---- AVX-VNNI (VEX, 256-bit): two ymm per group and step, R ≤ 4 rows ----

AVX_VNNI static inline void block_vnni256(int R, long width, const int8_t *r, const uint8_t *packed, long groups,
                                          const int32_t *row_sums, int32_t *out) {
    const long whole = width / 4, steps = (width + 3) / 4, stride = 16 * groups;
    int32_t tails[4] = {0};
    if (steps > whole) for (int q = 0; q < R; ++q) tails[q] = tail32(r + q * width, whole, width);
    for (long g = 0; g < groups; ++g) {
        const uint8_t *v = packed + g * steps * 64;
        __m256i lo[4], hi[4];
        for (int q = 0; q < R; ++q) lo[q] = hi[q] = _mm256_setzero_si256();
        for (long p = 0; p < steps; ++p) {
            const __m256i q0 = _mm256_loadu_si256((const __m256i *)(v + p * 64));
            const __m256i q1 = _mm256_loadu_si256((const __m256i *)(v + p * 64 + 32));
            for (int q = 0; q < R; ++q) {
                const __m256i x = _mm256_set1_epi32(p < whole ? load32(r + q * width + 4 * p) : tails[q]);
                lo[q] = _mm256_dpbusd_avx_epi32(lo[q], q0, x);
                hi[q] = _mm256_dpbusd_avx_epi32(hi[q], q1, x);
            }
        }
        for (int q = 0; q < R; ++q) {
            const __m256i offset = _mm256_set1_epi32(128 * row_sums[q]);
            _mm256_storeu_si256((__m256i *)(out + q * stride + 16 * g), _mm256_sub_epi32(lo[q], offset));
            _mm256_storeu_si256((__m256i *)(out + q * stride + 16 * g + 8), _mm256_sub_epi32(hi[q], offset));
        }
    }
}

AVX_VNNI void seqrec_dot_i8_batch_avxvnni(long count, long width, const int8_t *rows, const uint8_t *packed,
                                          long groups, const int32_t *row_sums, int32_t *out) {
    const long stride = 16 * groups;
    long i = 0;
    for (; i + 4 <= count; i += 4)
        block_vnni256(4, width, rows + i * width, packed, groups, row_sums + i, out + i * stride);
    for (; i < count; ++i)
        block_vnni256(1, width, rows + i * width, packed, groups, row_sums + i, out + i * stride);
}

// ---- AVX2: rows widened to int16 once, pairs broadcast into vpmaddwd; two ymm per group and step ----

AVX2 static inline void block_avx2(int R, long width, const int8_t *r, const int16_t *packed, long groups,
                                   int32_t *out) {
    const long steps = (width + 1) / 2, stride = 16 * groups;
    int16_t wide[4][SEQREC_SCAN_MAX_WIDTH + 2];
    for (int q = 0; q < R; ++q) {
        for (long j = 0; j < width; ++j) wide[q][j] = r[q * width + j];
        wide[q][width] = 0;   // an odd width's last pair meets a zero query column too
    }
    for (long g = 0; g < groups; ++g) {
        const int16_t *v = packed + g * steps * 32;
        __m256i lo[4], hi[4];
        for (int q = 0; q < R; ++q) lo[q] = hi[q] = _mm256_setzero_si256();
        for (long p = 0; p < steps; ++p) {
            const __m256i q0 = _mm256_loadu_si256((const __m256i *)(v + p * 32));
            const __m256i q1 = _mm256_loadu_si256((const __m256i *)(v + p * 32 + 16));
            for (int q = 0; q < R; ++q) {
                int32_t pair;
                memcpy(&pair, &wide[q][2 * p], 4);
                const __m256i x = _mm256_set1_epi32(pair);
                lo[q] = _mm256_add_epi32(lo[q], _mm256_madd_epi16(q0, x));
                hi[q] = _mm256_add_epi32(hi[q], _mm256_madd_epi16(q1, x));
            }
        }
        for (int q = 0; q < R; ++q) {
            _mm256_storeu_si256((__m256i *)(out + q * stride + 16 * g), lo[q]);
            _mm256_storeu_si256((__m256i *)(out + q * stride + 16 * g + 8), hi[q]);
        }
    }
}

AVX2 void seqrec_dot_i8_batch_avx2(long count, long width, const int8_t *rows, const int16_t *packed,
                                   long groups, int32_t *out) {
    const long stride = 16 * groups;
    long i = 0;
    for (; i + 4 <= count; i += 4) block_avx2(4, width, rows + i * width, packed, groups, out + i * stride);
    for (; i < count; ++i) block_avx2(1, width, rows + i * width, packed, groups, out + i * stride);
}
#endif
