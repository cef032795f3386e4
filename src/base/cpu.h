/* cpu.h — x86 features detected once at start-up, for kernel dispatch. */
#ifndef OWL_BASE_CPU_H
#define OWL_BASE_CPU_H

#include <stdbool.h>

typedef struct cpu_features {
    bool avx2, fma, f16c;
    bool avx512f, avx512bw, avx512vl, avx512vnni, avx512bf16;
} cpu_features;

/* Detected features; OWL_ISA=scalar|avx2|avx512|avx512vnni in the
 * environment caps them (the last two only drop AVX512-BF16). */
const cpu_features *cpu_get(void);

#endif
