/* cpu.c — CPUID and XGETBV, read once. */
#include "cpu.h"

#include <stdlib.h>
#include <string.h>

static cpu_features feats;
static int ready;

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
static unsigned long long xgetbv0(void) {
    unsigned eax, edx;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((unsigned long long)edx << 32) | eax;
}
static void detect(cpu_features *f) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return;
    bool osxsave = c & (1u << 27), avx = c & (1u << 28);
    f->fma = c & (1u << 12);
    f->f16c = c & (1u << 29);
    if (!osxsave || !avx) { f->fma = f->f16c = false; return; }
    unsigned long long x = xgetbv0();
    bool ymm = (x & 6) == 6, zmm = (x & 0xe6) == 0xe6;
    if (!ymm) { f->fma = f->f16c = false; return; }
    if (__get_cpuid_max(0, NULL) < 7) return;
    __cpuid_count(7, 0, a, b, c, d);
    f->avx2 = b & (1u << 5);
    if (zmm) {
        f->avx512f = b & (1u << 16);
        f->avx512bw = b & (1u << 30);
        f->avx512vl = b & (1u << 31);
        f->avx512vnni = c & (1u << 11);
        __cpuid_count(7, 1, a, b, c, d);
        f->avx512bf16 = a & (1u << 5);
    }
}
#else
static void detect(cpu_features *f) { (void)f; }
#endif

const cpu_features *cpu_get(void) {
    if (!ready) {
        cpu_features f;
        memset(&f, 0, sizeof f);
        detect(&f);
        const char *isa = getenv("OWL_ISA");
        if (isa && strcmp(isa, "scalar") == 0) memset(&f, 0, sizeof f);
        if (isa && strcmp(isa, "avx2") == 0)
            f.avx512f = f.avx512bw = f.avx512vl = f.avx512vnni = f.avx512bf16 = false;
        /* the levels below avx512bf16 (dispatch.c), for tests and benchmarks */
        if (isa && (strcmp(isa, "avx512") == 0 || strcmp(isa, "avx512vnni") == 0)) f.avx512bf16 = false;
        feats = f;
        ready = 1;
    }
    return &feats;
}
