#!/bin/sh
# run_quant.sh — `owl run -m DIR --quant TYPE`: a Hugging Face folder's
# weight matrices quantized at load.
#   - q8_0 at load gives the weights `owl convert --quant q8_0` writes (its
#     q8_0 mix has every matrix in q8_0): greedy text on the exact path (the
#     weights dequantized, the rest in f32) is the same from both;
#   - q4_0 changes the text from the unquantized folder's and still generates;
#   - q4_k: the fixture's rows of 64 are no whole q4_k block (256), so the
#     matrices stay as stored: the text is the unquantized folder's;
#   - a type that is not a quantized one: one line, exit 1.
set -u
: "${OWL_BIN:?}" "${OWL_TMP:?}" "${OWL_FIXTURES:?}"
DIR=$OWL_FIXTURES/hf/llama
T=$OWL_TMP/run_quant.$$
mkdir -p "$T" && trap 'rm -rf "$T"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
gen() { "$OWL_BIN" run --temp 0 -n 16 --exact -p "Hello world" "$@" 2>"$T/err"; }

gen -m "$DIR" >"$T/f32.txt" || bad "run on the folder: $(cat "$T/err")"
gen -m "$DIR" --quant q8_0 >"$T/q8.txt"
rc=$?
[ "$rc" -eq 0 ] && [ -s "$T/q8.txt" ] && ok || bad "--quant q8_0: exit $rc: $(cat "$T/err")"
"$OWL_BIN" convert "$DIR" -o "$T/q8.gguf" --quant q8_0 2>"$T/err" || bad "convert --quant q8_0: $(cat "$T/err")"
gen -m "$T/q8.gguf" >"$T/q8gguf.txt" || bad "run on the q8_0 GGUF: $(cat "$T/err")"
cmp -s "$T/q8.txt" "$T/q8gguf.txt" && ok || bad "--quant q8_0 '$(cat "$T/q8.txt")', GGUF '$(cat "$T/q8gguf.txt")'"

gen -m "$DIR" --quant q4_0 >"$T/q4.txt"
rc=$?
[ "$rc" -eq 0 ] && [ -s "$T/q4.txt" ] && ok || bad "--quant q4_0: exit $rc: $(cat "$T/err")"
cmp -s "$T/q4.txt" "$T/f32.txt" && bad "--quant q4_0 changed nothing: '$(cat "$T/q4.txt")'" || ok

gen -m "$DIR" --quant q4_k >"$T/q4k.txt"
rc=$?
[ "$rc" -eq 0 ] && cmp -s "$T/q4k.txt" "$T/f32.txt" && ok || bad "--quant q4_k: exit $rc: '$(cat "$T/q4k.txt")'"

gen -m "$DIR" --quant f16 >"$T/x.txt"
rc=$?
[ "$rc" -eq 1 ] && [ "$(wc -l <"$T/err")" -eq 1 ] && grep -q "no quantized type" "$T/err" && ok ||
    bad "--quant f16: exit $rc: $(cat "$T/err")"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
