#!/bin/sh
# greedy_requant.sh — the golden greedy test (tests/golden/test_greedy.c)
# on a second quantization: the published SmolLM2-135M-Instruct Q4_1
# requantized to Q4_K_M by `owl quantize` (Q4_K and Q6_K where rows are
# whole super-blocks, Q5_0/Q8_0 fallbacks elsewhere: the repacked K-quant
# and Q5_0 kernels on the default path), against llama.cpp's generations
# on the same file (tests/fixtures/greedy/smollm2-135m-instruct-q4_k_m.*,
# scripts/reference/make_greedy_fixtures.py). The file must be the one the
# fixture was made from: its SHA-256 is checked first.
set -u
: "${OWL_BIN:?}" "${OWL_TMP:?}" "${OWL_FIXTURES:?}" "${OWL_SMOLLM2:?}" "${OWL_TEST_GREEDY:?}"
T=$OWL_TMP/greedy_requant.$$
mkdir -p "$T" && trap 'rm -rf "$T"' EXIT
FX=smollm2-135m-instruct-q4_k_m
M=$T/SmolLM2-135M-Instruct.Q4_K_M.gguf
if ! "$OWL_BIN" quantize --allow-requantize "$OWL_SMOLLM2" "$M" q4_k_m >"$T/out" 2>&1; then
    echo "FAIL: owl quantize: $(cat "$T/out")" >&2
    exit 1
fi
want=$(sed -n 's/^# model sha256 \([0-9a-f]*\)$/\1/p' "$OWL_FIXTURES/greedy/$FX.greedy")
got=$(sha256sum "$M" | cut -d' ' -f1)
if [ -z "$want" ] || [ "$got" != "$want" ]; then
    echo "FAIL: the requantized model's sha256 $got is not the fixture's '$want'" >&2
    exit 1
fi
OWL_GREEDY_MODEL=$M OWL_GREEDY_FIXTURE=$FX "$OWL_TEST_GREEDY"
