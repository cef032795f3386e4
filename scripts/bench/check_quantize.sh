#!/bin/sh
# check_quantize.sh — are `owl quantize`'s files llama-quantize's, byte for byte?
#
#   sh scripts/bench/check_quantize.sh OWL LLAMA_QUANTIZE IN_F16.gguf TYPE...
#
# Quantizes IN with both tools to each TYPE (1 thread each; no imatrix) and
# compares the files with cmp; when they differ, lists the tensors that
# differ (needs gguf-py). llama-quantize is not part of owl: build it in a
# llama.cpp checkout (cmake --build build --target llama-quantize) and pass
# its path. An F16 input can be made from any model with
# `owl quantize MODEL.gguf IN_F16.gguf f16`, or with make_models.py.
#
# Checked on 2026-11-23 against llama.cpp c392e50: SmolLM2-135M in F16 (from
# the Q4_1 file) to q4_0 q4_1 q5_0 q5_1 q8_0 q4_k_s q4_k_m q5_k_m q6_k f16
# bf16, and the random 1B model (make_models.py --shape 1b) to q4_k_m q3_k_m
# q2_k: all identical files. SmolLM2 to q3_k_m differs in the 120 tensors
# whose rows of 576 llama.cpp writes as iq4_nl (owl: q4_0).
set -u
[ $# -ge 4 ] || { echo "usage: $0 OWL LLAMA_QUANTIZE IN_F16.gguf TYPE..." >&2; exit 2; }
OWL=$1 LQ=$2 IN=$3
shift 3
T=${TMPDIR:-/tmp}/check_quantize.$$
mkdir -p "$T" && trap 'rm -rf "$T"' EXIT
status=0
for t in "$@"; do
    "$OWL" quantize -t 1 "$IN" "$T/owl.gguf" "$t" 2>"$T/owl.err" || { echo "$t: owl failed: $(cat "$T/owl.err")"; status=1; continue; }
    "$LQ" "$IN" "$T/lq.gguf" "$t" 1 >"$T/lq.log" 2>&1 || { echo "$t: llama-quantize failed (see its log)"; status=1; continue; }
    if cmp -s "$T/owl.gguf" "$T/lq.gguf"; then
        echo "$t: identical files ($(wc -c <"$T/owl.gguf" | tr -d ' ') bytes)"
    else
        status=1
        python3 - "$T/owl.gguf" "$T/lq.gguf" "$t" <<'EOF'
import sys, gguf
a, b = gguf.GGUFReader(sys.argv[1]), gguf.GGUFReader(sys.argv[2])
tb = {t.name: t for t in b.tensors}
diff = [t.name + f" ({t.tensor_type.name} vs {tb[t.name].tensor_type.name})" for t in a.tensors
        if t.name not in tb or t.tensor_type != tb[t.name].tensor_type or t.data.tobytes() != tb[t.name].data.tobytes()]
print(f"{sys.argv[3]}: files differ; {len(diff)} of {len(a.tensors)} tensors differ: " + ", ".join(diff[:5]))
EOF
    fi
done
exit $status
