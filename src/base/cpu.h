/* cpu.h — x86 features detected once at start-up, for kernel dispatch. */
#ifndef OWL_BASE_CPU_H
#define OWL_BASE_CPU_H

#include <stdbool.h>

typedef struct cpu_features {
    bool avx2, fma, f16c;
    bool avx512f, avx512bw, avx512vl, avx512vnni, avx512bf16;
} cpu_features;

/* Detected features; OWL_ISA=scalar|avx2|avx512 in the environment caps them. */
const cpu_features *cpu_get(void);

#endif
