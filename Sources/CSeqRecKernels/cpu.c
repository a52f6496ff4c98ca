// Run-time detection of the instruction-set level (see CSeqRecKernels.h). AVX state must be enabled by
// the OS (XCR0), not only present in cpuid, or the first ymm/zmm instruction faults.
#include "CSeqRecKernels.h"

#if defined(__x86_64__)
#include <cpuid.h>
#include <stdint.h>

static uint64_t read_xcr0(void) {
    uint32_t eax, edx;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((uint64_t)edx << 32) | eax;
}

int seqrec_cpu_level(void) {
    unsigned int eax, ebx, ecx, edx;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return SEQREC_CPU_PORTABLE;
    const int fma = (ecx >> 12) & 1, osxsave = (ecx >> 27) & 1, avx = (ecx >> 28) & 1;
    if (!(fma && osxsave && avx)) return SEQREC_CPU_PORTABLE;
    const uint64_t xcr0 = read_xcr0();
    if ((xcr0 & 0x6) != 0x6) return SEQREC_CPU_PORTABLE;  // SSE and AVX (ymm) state
    if (__get_cpuid_max(0, NULL) < 7) return SEQREC_CPU_PORTABLE;
    __cpuid_count(7, 0, eax, ebx, ecx, edx);
    const int avx2 = (ebx >> 5) & 1;
    if (!avx2) return SEQREC_CPU_PORTABLE;
    const int avx512f = (ebx >> 16) & 1, avx512dq = (ebx >> 17) & 1, avx512bw = (ebx >> 30) & 1,
              avx512vl = (ebx >> 31) & 1;
    const int zmm_state = (xcr0 & 0xE6) == 0xE6;  // opmask, upper halves of zmm0–15, zmm16–31
    if (avx512f && avx512dq && avx512bw && avx512vl && zmm_state) return SEQREC_CPU_AVX512;
    return SEQREC_CPU_AVX2;
}
#else
int seqrec_cpu_level(void) { return SEQREC_CPU_PORTABLE; }
#endif
