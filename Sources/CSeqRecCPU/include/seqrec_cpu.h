// Start-up check that the CPU has every instruction-set feature the binary was compiled for
// (docs/KERNELS.md "Instruction set"). Compiled without ISA flags, so it runs on any x86-64 CPU and can
// report what is missing instead of dying with SIGILL.
#ifndef SEQREC_CPU_H
#define SEQREC_CPU_H

#include <stddef.h>

/// The cpuid/xgetbv words the x86-64 ISA levels and the kernels' extensions are defined by. This target
/// owns the one cpuid reader: the start-up check and CSeqRecKernels' run-time dispatch (cpu.c) both
/// decide from these words.
typedef struct {
    unsigned int max_leaf;       // cpuid(0).eax
    unsigned int leaf1_ecx;      // cpuid(1).ecx
    unsigned int leaf7_ebx;      // cpuid(7, 0).ebx (0 when max_leaf < 7)
    unsigned int ext1_ecx;       // cpuid(0x80000001).ecx
    unsigned long long xcr0;     // xgetbv(0) (0 when the OS has not enabled XSAVE)
    unsigned int leaf7_ecx;      // cpuid(7, 0).ecx, e.g. bit 11 AVX512_VNNI (0 when max_leaf < 7)
    unsigned int leaf7_1_eax;    // cpuid(7, 1).eax, e.g. bit 4 AVX-VNNI, bit 5 AVX512_BF16 (0 without sub-leaf 1)
} seqrec_cpuid_words;

/// The level the package was built for: 1 = x86-64, 2 = x86-64-v2, 3 = x86-64-v3, 4 = x86-64-v4
/// (0 on other architectures); set by Package.swift from SEQREC_ISA.
int seqrec_required_isa_level(void);

/// The name of `level` ("x86-64-v3"), or "unknown".
const char *seqrec_isa_name(int level);

/// Reads this CPU's words (all zero on other architectures).
void seqrec_cpuid_read(seqrec_cpuid_words *words);

/// How many features of ISA level `level` the CPU described by `words` lacks; their names, separated by
/// spaces, go to `missing` (truncated to `capacity` bytes, always NUL-terminated when capacity > 0).
int seqrec_isa_missing(int level, const seqrec_cpuid_words *words, char *missing, size_t capacity);

/// 0 when this CPU has every feature of `seqrec_required_isa_level()`; else prints one line naming the
/// missing features and what to do to stderr, prefixed with `program`, and returns 1.
int seqrec_cpu_check(const char *program);

#endif
