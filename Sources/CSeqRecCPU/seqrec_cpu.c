// The x86-64 psABI micro-architecture levels, feature by feature, and the start-up check built on them.
#include "seqrec_cpu.h"

#include <stdio.h>
#include <string.h>
#if defined(__x86_64__)
#include <cpuid.h>
#endif

#ifndef SEQREC_REQUIRED_ISA_LEVEL
#define SEQREC_REQUIRED_ISA_LEVEL 0
#endif

int seqrec_required_isa_level(void) { return SEQREC_REQUIRED_ISA_LEVEL; }

const char *seqrec_isa_name(int level) {
    switch (level) {
    case 1: return "x86-64";
    case 2: return "x86-64-v2";
    case 3: return "x86-64-v3";
    case 4: return "x86-64-v4";
    default: return "unknown";
    }
}

enum word { LEAF1_ECX, LEAF7_EBX, EXT1_ECX, XCR0 };

typedef struct {
    int level;
    enum word word;
    unsigned int bit;
    const char *name;
} feature;

// Level 1 (cmov, sse2, ...) is every x86-64 CPU: nothing to check.
static const feature features[] = {
    {2, LEAF1_ECX, 0, "sse3"},       {2, LEAF1_ECX, 9, "ssse3"},     {2, LEAF1_ECX, 13, "cx16"},
    {2, LEAF1_ECX, 19, "sse4.1"},    {2, LEAF1_ECX, 20, "sse4.2"},   {2, LEAF1_ECX, 23, "popcnt"},
    {2, EXT1_ECX, 0, "lahf_lm"},
    {3, LEAF1_ECX, 12, "fma"},       {3, LEAF1_ECX, 22, "movbe"},    {3, LEAF1_ECX, 27, "osxsave"},
    {3, LEAF1_ECX, 28, "avx"},       {3, LEAF1_ECX, 29, "f16c"},     {3, LEAF7_EBX, 3, "bmi1"},
    {3, LEAF7_EBX, 5, "avx2"},       {3, LEAF7_EBX, 8, "bmi2"},      {3, EXT1_ECX, 5, "lzcnt"},
    {3, XCR0, 1, "os-sse-state"},    {3, XCR0, 2, "os-avx-state"},
    {4, LEAF7_EBX, 16, "avx512f"},   {4, LEAF7_EBX, 17, "avx512dq"}, {4, LEAF7_EBX, 28, "avx512cd"},
    {4, LEAF7_EBX, 30, "avx512bw"},  {4, LEAF7_EBX, 31, "avx512vl"}, {4, XCR0, 5, "os-opmask-state"},
    {4, XCR0, 6, "os-zmm-state"},    {4, XCR0, 7, "os-zmm16-state"},
};

static int has(const seqrec_cpuid_words *words, const feature *f) {
    switch (f->word) {
    case LEAF1_ECX: return (words->leaf1_ecx >> f->bit) & 1;
    case LEAF7_EBX: return words->max_leaf >= 7 && ((words->leaf7_ebx >> f->bit) & 1);
    case EXT1_ECX: return (words->ext1_ecx >> f->bit) & 1;
    case XCR0: return (int)((words->xcr0 >> f->bit) & 1);
    }
    return 0;
}

int seqrec_isa_missing(int level, const seqrec_cpuid_words *words, char *missing, size_t capacity) {
    int count = 0;
    size_t used = 0;
    if (capacity > 0) missing[0] = '\0';
    for (size_t i = 0; i < sizeof features / sizeof features[0]; i++) {
        if (features[i].level > level || has(words, &features[i])) continue;
        count++;
        if (capacity == 0) continue;
        int written = snprintf(missing + used, capacity - used, "%s%s", used > 0 ? " " : "", features[i].name);
        if (written > 0) used += (size_t)written < capacity - used ? (size_t)written : capacity - used - 1;
    }
    return count;
}

void seqrec_cpuid_read(seqrec_cpuid_words *words) {
    memset(words, 0, sizeof *words);
#if defined(__x86_64__)
    unsigned int eax, ebx, ecx, edx;
    words->max_leaf = __get_cpuid_max(0, 0);
    if (words->max_leaf >= 1 && __get_cpuid(1, &eax, &ebx, &ecx, &edx)) words->leaf1_ecx = ecx;
    if (words->max_leaf >= 7 && __get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) {
        words->leaf7_ebx = ebx;
        words->leaf7_ecx = ecx;
        // eax of sub-leaf 0 is the highest sub-leaf of leaf 7.
        if (eax >= 1 && __get_cpuid_count(7, 1, &eax, &ebx, &ecx, &edx)) words->leaf7_1_eax = eax;
    }
    if (__get_cpuid_max(0x80000000, 0) >= 0x80000001 && __get_cpuid(0x80000001, &eax, &ebx, &ecx, &edx)) {
        words->ext1_ecx = ecx;
    }
    if ((words->leaf1_ecx >> 27) & 1) {  // OSXSAVE: xgetbv is available
        unsigned int low, high;
        __asm__ volatile("xgetbv" : "=a"(low), "=d"(high) : "c"(0));
        words->xcr0 = ((unsigned long long)high << 32) | low;
    }
#endif
}

int seqrec_cpu_check(const char *program) {
    int level = seqrec_required_isa_level();
    if (level <= 1) return 0;
    seqrec_cpuid_words words;
    seqrec_cpuid_read(&words);
    char missing[512];
    if (seqrec_isa_missing(level, &words, missing, sizeof missing) == 0) return 0;
    fprintf(stderr,
            "%s: this binary was built for %s (SEQREC_ISA) but this CPU lacks: %s. "
            "Rebuild for this machine with SEQREC_ISA=x86-64 (any x86-64 CPU) or a lower level, "
            "e.g. SEQREC_ISA=x86-64 swift build -c release\n",
            program, seqrec_isa_name(level), missing);
    return 1;
}
