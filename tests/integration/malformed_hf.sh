#!/bin/sh
# malformed_hf.sh — `owl run -m DIR` on Hugging Face folders with a broken
# safetensors file, index or config.json: each must exit 1 with one clear
# line naming the problem, and (in the ASan build, where this also runs)
# no sanitizer report. The folders reuse the tokenizer and config of
# tests/fixtures/hf/qwen3 and replace one file.
set -u
: "${OWL_BIN:?}" "${OWL_TMP:?}" "${OWL_FIXTURES:?}"
HF=$OWL_FIXTURES/hf/qwen3
T=$OWL_TMP/malformed_hf.$$
mkdir -p "$T" && trap 'rm -rf "$T"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }

# u64 little-endian
le64() {
    v=$1 i=0
    while [ $i -lt 8 ]; do
        printf "\\$(printf '%03o' $((v % 256)))"
        v=$((v / 256)) i=$((i + 1))
    done
}
# mkst FILE HEADER [LENGTH [DATA_BYTES]]
mkst() { { le64 "${3:-${#2}}"; printf '%s' "$2"; head -c "${4:-64}" /dev/zero; } >"$1"; }

n=0
# folder: qwen3's files, then the caller replaces one
newdir() {
    n=$((n + 1))
    D=$T/m$n
    mkdir -p "$D"
    for f in "$HF"/*; do ln -s "$f" "$D/"; done
}
# expect LABEL TEXT: the run fails with exit 1 and a short message containing TEXT
expect() {
    "$OWL_BIN" run -m "$D" --temp 0 -n 2 -p "hi" >"$T/out" 2>"$T/err"
    rc=$?
    [ "$rc" -eq 1 ] && ok || bad "$1: exit $rc, expected 1: $(head -c 300 "$T/err")"
    grep -qF -- "$2" "$T/err" && ok || bad "$1: message lacks '$2': $(head -c 300 "$T/err")"
    [ "$(wc -l <"$T/err")" -le 2 ] && ok || bad "$1: more than two lines on stderr"
    grep -q "Sanitizer\|runtime error" "$T/err" && bad "$1: sanitizer report" || ok
}
st() { newdir; rm "$D/model.safetensors"; mkst "$D/model.safetensors" "$@"; }
cfg() { newdir; rm "$D/config.json"; printf '%s' "$1" >"$D/config.json"; }

st '{}' 100000 0;                                           expect "header length past the end" "past the end of the file"
st '{}' 1099511627776 0;                                    expect "huge header length" "exceeds the limit"
st '{"a": {"dtype": "F32", "shape": [2], "data_offs';        expect "bad JSON" "header JSON"
st '{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"b":{"dtype":"F32","shape":[4],"data_offsets":[8,24]}}'
expect "overlapping ranges" "overlap"
st '{"a":{"dtype":"F32","shape":[64],"data_offsets":[0,256]}}'
expect "range out of the file" "past the end of the data"
st '{"a":{"dtype":"BF16","shape":[4,4],"data_offsets":[0,16]}}'
expect "dtype/shape mismatch" "data_offsets hold 16"
st '{"a":{"dtype":"Q4","shape":[4],"data_offsets":[0,4]}}'
expect "unknown dtype" "unknown dtype"
st '{"model.embed_tokens.weight":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}'
expect "tensor of the wrong shape" "model.embed_tokens.weight"
st '{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}'
expect "tensors missing" "is missing"

newdir
rm "$D/model.safetensors"
printf '{"weight_map": {"model.norm.weight": "model-00002-of-00002.safetensors"}}' >"$D/model.safetensors.index.json"
expect "index names a missing shard" "model-00002-of-00002.safetensors"
newdir
printf '{"weight_map": {"model.norm.weight": "../../etc/passwd"}}' >"$D/model.safetensors.index.json"
expect "index names a path" "not a file name"

base=$(tr -d '\n' <"$HF/config.json")
cfg "$(printf '%s' "$base" | sed 's/"hidden_size": 64/"hidden_size": "64"/')"
expect "config wrong type" '$.hidden_size must be an integer, not a string'
cfg "$(printf '%s' "$base" | sed 's/"num_hidden_layers": 3,//')"
expect "config missing key" '$.num_hidden_layers is missing'
cfg "$(printf '%s' "$base" | sed 's/"intermediate_size": 128/"intermediate_size": 99999999999999999999999/')"
expect "config number too large for JSON" "config.json"
cfg "$(printf '%s' "$base" | sed 's/"num_attention_heads": 4/"num_attention_heads": 1000000000/')"
expect "config huge number" '$.num_attention_heads = 1000000000 is out of range'
cfg "$(printf '%s' "$base" | sed 's/"vocab_size": 512/"vocab_size": -1/')"
expect "config negative" '$.vocab_size = -1 is out of range'
cfg '{"architectures": ["FalconForCausalLM"]}'
expect "unsupported architecture" "architecture 'FalconForCausalLM' is not supported (supported: LlamaForCausalLM"
cfg '[1, 2]'
expect "config not an object" '$ must be an object'
cfg '{"architectures": ["Qwen3ForCausalLM"], "vocab_size": 512'
expect "config bad JSON" "config.json: line"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
