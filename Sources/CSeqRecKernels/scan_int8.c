// Integer dot products of int8 table rows with an int8 query (seqrec_scan.h): AVX-512 VNNI, AVX-VNNI and
// AVX2, each compiled for its level by a per-function `target` attribute (no compile flags), chosen at
// run time by SeqRecCore (`Int8Dot`). Rows are read front to back, one after the other; four rows'
// accumulators are reduced together so the horizontal sums cost about three instructions per row.
#include "seqrec_scan.h"
#include "CSeqRecKernels.h"
#include "scan_int8_avx2.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define AVX512_VNNI __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma")))
#define AVX_VNNI __attribute__((target("avxvnni,avx2,fma")))
#define AVX2 __attribute__((target("avx2,fma")))

// ---- AVX-512 VNNI: 64 bytes per vpdpbusd, masked tail ----

AVX512_VNNI static inline __m512i row_dot_512(const int8_t *row, long width, const __m512i *query) {
    __m512i acc = _mm512_setzero_si512();
    long p = 0, chunk = 0;
    for (; p + 64 <= width; p += 64, ++chunk)
        acc = _mm512_dpbusd_epi32(acc, query[chunk], _mm512_loadu_si512((const void *)(row + p)));
    if (p < width) {
        const __mmask64 mask = (1ULL << (width - p)) - 1;  // 0 < width − p < 64
        acc = _mm512_dpbusd_epi32(acc, query[chunk], _mm512_maskz_loadu_epi8(mask, row + p));
    }
    return acc;
}

// [Σ a, Σ b, Σ c, Σ d] of four 16-lane accumulators.
AVX512_VNNI static inline __m128i sums4_512(__m512i a, __m512i b, __m512i c, __m512i d) {
    const __m512i ab = _mm512_add_epi32(_mm512_unpacklo_epi32(a, b), _mm512_unpackhi_epi32(a, b));
    const __m512i cd = _mm512_add_epi32(_mm512_unpacklo_epi32(c, d), _mm512_unpackhi_epi32(c, d));
    const __m512i abcd = _mm512_add_epi32(_mm512_unpacklo_epi64(ab, cd), _mm512_unpackhi_epi64(ab, cd));
    const __m256i half = _mm256_add_epi32(_mm512_castsi512_si256(abcd), _mm512_extracti64x4_epi64(abcd, 1));
    return _mm_add_epi32(_mm256_castsi256_si128(half), _mm256_extracti128_si256(half, 1));
}

// The query as unsigned bytes (v + 128), zero past width, in 64-byte chunks (width ≤ 4096: 64 chunks).
AVX512_VNNI void seqrec_dot_i8_avx512vnni(long count, long width, const int8_t *rows, const int8_t *query,
                                          const int32_t *row_sums, int32_t *out) {
    __m512i chunks[SEQREC_SCAN_MAX_WIDTH / 64];
    const long n = (width + 63) / 64;
    const __m512i flip = _mm512_set1_epi8((char)0x80);
    for (long c = 0; c < n; ++c) {
        const long left = width - 64 * c;
        const __mmask64 mask = left >= 64 ? ~0ULL : (1ULL << left) - 1;
        // Masked-off bytes stay 0 (not 128): they meet zero table bytes and must add nothing.
        chunks[c] = _mm512_maskz_mov_epi8(mask, _mm512_xor_si512(_mm512_maskz_loadu_epi8(mask, query + 64 * c), flip));
    }
    long i = 0;
    for (; i + 4 <= count; i += 4) {
        const int8_t *r = rows + i * width;
        const __m512i a = row_dot_512(r, width, chunks), b = row_dot_512(r + width, width, chunks);
        const __m512i c = row_dot_512(r + 2 * width, width, chunks), d = row_dot_512(r + 3 * width, width, chunks);
        const __m128i sums = sums4_512(a, b, c, d);
        const __m128i bias = _mm_slli_epi32(_mm_loadu_si128((const __m128i *)(row_sums + i)), 7);
        _mm_storeu_si128((__m128i *)(out + i), _mm_sub_epi32(sums, bias));
    }
    for (; i < count; ++i)
        out[i] = _mm512_reduce_add_epi32(row_dot_512(rows + i * width, width, chunks)) - 128 * row_sums[i];
}

// ---- AVX-VNNI (VEX, 256-bit): 32 bytes per vpdpbusd, scalar tail ----

AVX_VNNI static inline __m256i row_dot_256(const int8_t *row, long whole, const __m256i *query) {
    __m256i acc = _mm256_setzero_si256();
    for (long p = 0, c = 0; p < whole; p += 32, ++c)
        acc = _mm256_dpbusd_avx_epi32(acc, query[c], _mm256_loadu_si256((const __m256i *)(row + p)));
    return acc;
}

AVX2 static inline __m128i sums4_256(__m256i a, __m256i b, __m256i c, __m256i d) {
    const __m256i ab = _mm256_hadd_epi32(a, b), cd = _mm256_hadd_epi32(c, d);
    const __m256i abcd = _mm256_hadd_epi32(ab, cd);
    return _mm_add_epi32(_mm256_castsi256_si128(abcd), _mm256_extracti128_si256(abcd, 1));
}

static inline int32_t tail_dot(const int8_t *row, const int8_t *query, long from, long width) {
    int32_t sum = 0;
    for (long p = from; p < width; ++p) sum += (int32_t)row[p] * (int32_t)query[p];
    return sum;
}

AVX_VNNI void seqrec_dot_i8_avxvnni(long count, long width, const int8_t *rows, const int8_t *query,
                                    const int32_t *row_sums, int32_t *out) {
    __m256i chunks[SEQREC_SCAN_MAX_WIDTH / 32];
    const long whole = width / 32 * 32;
    const __m256i flip = _mm256_set1_epi8((char)0x80);
    for (long c = 0; c < whole / 32; ++c)
        chunks[c] = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(query + 32 * c)), flip);
    // 128·Σ over the whole chunks only: the tail is multiplied exactly, in scalar code.
    long i = 0;
    for (; i + 4 <= count; i += 4) {
        const int8_t *r = rows + i * width;
        const __m256i a = row_dot_256(r, whole, chunks), b = row_dot_256(r + width, whole, chunks);
        const __m256i c = row_dot_256(r + 2 * width, whole, chunks), d = row_dot_256(r + 3 * width, whole, chunks);
        int32_t sums[4];
        _mm_storeu_si128((__m128i *)sums, sums4_256(a, b, c, d));
        for (int q = 0; q < 4; ++q) {
            const int8_t *row = r + q * width;
            int32_t tail = 0;
            for (long p = whole; p < width; ++p) tail += row[p];
            out[i + q] = sums[q] - 128 * (row_sums[i + q] - tail) + tail_dot(row, query, whole, width);
        }
    }
    for (; i < count; ++i) {
        const int8_t *row = rows + i * width;
        int32_t tail = 0;
        for (long p = whole; p < width; ++p) tail += row[p];
        const __m256i acc = row_dot_256(row, whole, chunks);
        int32_t lanes[8];
        _mm256_storeu_si256((__m256i *)lanes, acc);
        int32_t sum = 0;
        for (int q = 0; q < 8; ++q) sum += lanes[q];
        out[i] = sum - 128 * (row_sums[i] - tail) + tail_dot(row, query, whole, width);
    }
}

// ---- AVX2: vpmaddubsw with the sign moved to the query (whole 32-byte chunks), else 16 bytes sign-extended
// to 16 × int16 and vpmaddwd, scalar tail ----

AVX2 static inline __m256i row_dot_avx2(const int8_t *row, long whole, const __m256i *query) {
    __m256i acc = _mm256_setzero_si256();
    for (long p = 0, c = 0; p < whole; p += 16, ++c) {
        const __m256i wide = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(row + p)));
        acc = _mm256_add_epi32(acc, _mm256_madd_epi16(wide, query[c]));
    }
    return acc;
}

// Widths that are whole 32-byte chunks, with no −128 in the query (ExactScan's queries never hold one:
// they are clamped to ±127): the sign-moved vpmaddubsw of scan_int8_avx2.h, half the µops of widening to
// 16 bits.
AVX2 static inline __attribute__((always_inline)) void dots_sign_avx2(long count, long width, const int8_t *rows, const int8_t *query, int32_t *out) {
    const __m256i ones = _mm256_set1_epi16(1);
    long i = 0;
    for (; i + 8 <= count; i += 8)
        _mm256_storeu_si256((__m256i *)(out + i), seqrec_dots8_sign_avx2(rows + i * width, width, query));
    for (; i < count; ++i) {
        const int8_t *row = rows + i * width;
        __m256i acc = _mm256_setzero_si256();
        for (long p = 0; p < width; p += 32) {
            const __m256i x = _mm256_loadu_si256((const __m256i *)(row + p));
            const __m256i v = _mm256_loadu_si256((const __m256i *)(query + p));
            acc = _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_abs_epi8(x), _mm256_sign_epi8(v, x)), ones));
        }
        const __m128i half = _mm_add_epi32(_mm256_castsi256_si128(acc), _mm256_extracti128_si256(acc, 1));
        const __m128i two = _mm_add_epi32(half, _mm_unpackhi_epi64(half, half));
        out[i] = _mm_cvtsi128_si32(_mm_add_epi32(two, _mm_shuffle_epi32(two, 1)));
    }
}

AVX2 void seqrec_dot_i8_avx2(long count, long width, const int8_t *rows, const int8_t *query, int32_t *out) {
    if (width % 32 == 0 && !seqrec_holds_minus_128(query, width)) {
        // The common width gets its own copy with the chunk loop unrolled by the compiler.
        if (width == 64) dots_sign_avx2(count, 64, rows, query, out);
        else dots_sign_avx2(count, width, rows, query, out);
        return;
    }
    __m256i chunks[SEQREC_SCAN_MAX_WIDTH / 16];
    const long whole = width / 16 * 16;
    for (long c = 0; c < whole / 16; ++c)
        chunks[c] = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(query + 16 * c)));
    // Eight rows at a time, chunk by chunk: eight independent accumulators keep both vpmaddwd ports busy,
    // each query chunk is loaded once per eight rows, and the eight sums come out of one reduction.
    long i = 0;
    for (; i + 8 <= count; i += 8) {
        const int8_t *r = rows + i * width;
        __m256i acc[8];
        for (int q = 0; q < 8; ++q) acc[q] = _mm256_setzero_si256();
        for (long p = 0, c = 0; p < whole; p += 16, ++c) {
            const __m256i v = chunks[c];
            for (int q = 0; q < 8; ++q) {
                const __m256i wide = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(r + q * width + p)));
                acc[q] = _mm256_add_epi32(acc[q], _mm256_madd_epi16(wide, v));
            }
        }
        __m256i sums = seqrec_sums8_avx2(acc);
        if (whole < width) {
            int32_t tails[8];
            for (int q = 0; q < 8; ++q) tails[q] = tail_dot(r + q * width, query, whole, width);
            sums = _mm256_add_epi32(sums, _mm256_loadu_si256((const __m256i *)tails));
        }
        _mm256_storeu_si256((__m256i *)(out + i), sums);
    }
    for (; i + 4 <= count; i += 4) {
        const int8_t *r = rows + i * width;
        const __m256i a = row_dot_avx2(r, whole, chunks), b = row_dot_avx2(r + width, whole, chunks);
        const __m256i c = row_dot_avx2(r + 2 * width, whole, chunks), d = row_dot_avx2(r + 3 * width, whole, chunks);
        int32_t sums[4];
        _mm_storeu_si128((__m128i *)sums, sums4_256(a, b, c, d));
        for (int q = 0; q < 4; ++q) out[i + q] = sums[q] + tail_dot(r + q * width, query, whole, width);
    }
    for (; i < count; ++i) {
        const int8_t *row = rows + i * width;
        int32_t lanes[8];
        _mm256_storeu_si256((__m256i *)lanes, row_dot_avx2(row, whole, chunks));
        int32_t sum = 0;
        for (int q = 0; q < 8; ++q) sum += lanes[q];
        out[i] = sum + tail_dot(row, query, whole, width);
    }
}
#endif
