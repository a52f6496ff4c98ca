// Run-time detection of the kernels' instruction-set level and extensions (see CSeqRecKernels.h,
// seqrec_scan.h), decided from the cpuid/xgetbv words of CSeqRecCPU's reader, the one place that executes
// cpuid. AVX state must be enabled by the OS (XCR0), not only present in cpuid, or the first ymm/zmm
// instruction faults. On other architectures the reader returns all-zero words: portable, no extensions.
#include "CSeqRecKernels.h"
#include "seqrec_cpu.h"

static int bit(unsigned long long word, int n) { return (int)((word >> n) & 1); }

int seqrec_cpu_level_of(const seqrec_cpuid_words *words) {
    const int fma = bit(words->leaf1_ecx, 12), osxsave = bit(words->leaf1_ecx, 27), avx = bit(words->leaf1_ecx, 28);
    if (!(fma && osxsave && avx)) return SEQREC_CPU_PORTABLE;
    if ((words->xcr0 & 0x6) != 0x6) return SEQREC_CPU_PORTABLE;  // SSE and AVX (ymm) state
    if (words->max_leaf < 7 || !bit(words->leaf7_ebx, 5)) return SEQREC_CPU_PORTABLE;  // AVX2
    const int avx512f = bit(words->leaf7_ebx, 16), avx512dq = bit(words->leaf7_ebx, 17),
              avx512bw = bit(words->leaf7_ebx, 30), avx512vl = bit(words->leaf7_ebx, 31);
    const int zmm_state = (words->xcr0 & 0xE6) == 0xE6;  // opmask, upper halves of zmm0–15, zmm16–31
    if (avx512f && avx512dq && avx512bw && avx512vl && zmm_state) return SEQREC_CPU_AVX512;
    return SEQREC_CPU_AVX2;
}

int seqrec_cpu_level(void) {
    seqrec_cpuid_words words;
    seqrec_cpuid_read(&words);
    return seqrec_cpu_level_of(&words);
}

int seqrec_cpu_has_avx512_vnni(void) {
    seqrec_cpuid_words words;
    seqrec_cpuid_read(&words);
    return seqrec_cpu_level_of(&words) >= SEQREC_CPU_AVX512 && bit(words.leaf7_ecx, 11);
}

int seqrec_cpu_has_avx_vnni(void) {
    seqrec_cpuid_words words;
    seqrec_cpuid_read(&words);
    return seqrec_cpu_level_of(&words) >= SEQREC_CPU_AVX2 && bit(words.leaf7_1_eax, 4);
}

int seqrec_cpu_has_avx512_bf16(void) {
    seqrec_cpuid_words words;
    seqrec_cpuid_read(&words);
    return seqrec_cpu_level_of(&words) >= SEQREC_CPU_AVX512 && bit(words.leaf7_1_eax, 5);
}
