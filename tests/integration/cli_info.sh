#!/bin/sh
# cli_info.sh — `owl info` on SmolLM2-135M-Instruct.Q4_1 shows what gguf-py
# reads from the same file (architecture llama, 30 layers, width 576,
# vocabulary 49152, 272 tensors: 61 f32, 210 q4_1, 1 q8_0, 134515008
# parameters) and the file's size as the file system tells it.
set -u
: "${OWL_BIN:?}" "${OWL_TMP:?}" "${OWL_SMOLLM2:?}"
M=$OWL_SMOLLM2
[ -f "$M" ] || { echo "FAIL: model $M is missing (make model fetches it)" >&2; exit 1; }
T=$OWL_TMP/cli_info.$$
mkdir -p "$T" && trap 'rm -rf "$T"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }

"$OWL_BIN" info "$M" >"$T/out" 2>"$T/err"
rc=$?
[ "$rc" -eq 0 ] && ok || bad "owl info: exit $rc: $(cat "$T/err")"
[ ! -s "$T/err" ] && ok || bad "owl info wrote to stderr: $(cat "$T/err")"
# key VALUE : the line "key: VALUE" (spaces after the colon) is there
key() {
    v=$(sed -n "s/^$1: *//p" "$T/out")
    [ "$v" = "$2" ] && ok || bad "$1 is '$v', expected '$2'"
}
key arch llama
key n_layer 30
key n_embd 576
key n_vocab 49152
key n_head 9
key n_head_kv 3
key n_ff 1536
key n_ctx_train 8192
key n_tensors 272
key tied_output yes
key types 'f32:61 q4_1:210 q8_0:1'
key n_params '134515008 (134.52 M)'
size=$(wc -c <"$M" | tr -d ' ')
v=$(sed -n 's/^file_size: *\([0-9]*\).*/\1/p' "$T/out")
[ "$v" = "$size" ] && ok || bad "file_size is '$v', the file has $size bytes"

# -m MODEL is the same as MODEL; --tensors lists every tensor once
"$OWL_BIN" info -m "$M" >"$T/out_m" 2>/dev/null
cmp -s "$T/out" "$T/out_m" && ok || bad "owl info -m MODEL differs from owl info MODEL"
"$OWL_BIN" info --tensors "$M" >"$T/list" 2>/dev/null
n=$(grep -c '^  [a-z_.0-9]* *[a-z0-9_]* *\[' "$T/list")
[ "$n" -eq 272 ] && ok || bad "--tensors listed $n tensors, expected 272"
grep -q -E '^  token_embd\.weight +q8_0 +\[576, 49152\]$' "$T/list" && ok ||
    bad "--tensors: token_embd.weight is not q8_0 [576, 49152]"
grep -q -E '^  blk\.29\.ffn_down\.weight +q4_1 +\[1536, 576\]$' "$T/list" && ok ||
    bad "--tensors: blk.29.ffn_down.weight is not q4_1 [1536, 576]"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
