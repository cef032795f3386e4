#!/bin/sh
# cli_hf.sh — owl on Hugging Face model folders (tests/fixtures/hf/, tiny
# random models from scripts/reference/make_hf_models.py): `owl run -m DIR
# --temp 0` prints text and the same text twice; `owl info DIR` shows the
# architecture of config.json and the tensors of the safetensors; a folder
# whose config names an unsupported architecture fails with exit 1 and a
# message naming it and listing the supported ones; the eos ids of
# generation_config.json end a generation (the first greedy token made an
# eos id: nothing is generated); a broken safetensors fails cleanly.
set -u
: "${OWL_BIN:?}" "${OWL_TMP:?}" "${OWL_FIXTURES:?}"
HF=$OWL_FIXTURES/hf
T=$OWL_TMP/cli_hf.$$
mkdir -p "$T" && trap 'rm -rf "$T"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }

for m in llama mistral qwen2 qwen3 llama-fp8; do
    "$OWL_BIN" run -m "$HF/$m" --temp 0 -n 12 -p "The quick brown" >"$T/out1" 2>"$T/err"
    rc=$?
    [ "$rc" -eq 0 ] && ok || bad "$m: owl run: exit $rc: $(cat "$T/err")"
    [ -s "$T/out1" ] && ok || bad "$m: owl run printed nothing"
    "$OWL_BIN" run -m "$HF/$m" --temp 0 -n 12 -p "The quick brown" >"$T/out2" 2>/dev/null
    cmp -s "$T/out1" "$T/out2" && ok || bad "$m: two greedy runs differ"
done

"$OWL_BIN" info "$HF/qwen3" >"$T/info" 2>"$T/err"
rc=$?
[ "$rc" -eq 0 ] && ok || bad "owl info: exit $rc: $(cat "$T/err")"
key() {
    v=$(sed -n "s/^$1: *//p" "$T/info")
    [ "$v" = "$2" ] && ok || bad "info $1 is '$v', expected '$2'"
}
key arch Qwen3ForCausalLM
key n_layer 3
key head_dim 32
key n_tensors 36
key rope_theta 1e+06
"$OWL_BIN" info "$HF/llama" >"$T/info" 2>"$T/err"
key arch LlamaForCausalLM
key tied_output no

# an unsupported architecture
mkdir -p "$T/gpt2"
for f in "$HF"/qwen3/*; do ln -s "$f" "$T/gpt2/"; done
rm "$T/gpt2/config.json"
sed 's/Qwen3ForCausalLM/GPT2LMHeadModel/' "$HF/qwen3/config.json" >"$T/gpt2/config.json"
"$OWL_BIN" run -m "$T/gpt2" --temp 0 -n 4 -p "hi" >"$T/out" 2>"$T/err"
rc=$?
[ "$rc" -eq 1 ] && ok || bad "unsupported arch: exit $rc, expected 1"
grep -q "GPT2LMHeadModel" "$T/err" && ok || bad "unsupported arch: message does not name it: $(cat "$T/err")"
grep -q "LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM, Qwen3ForCausalLM" "$T/err" && ok ||
    bad "unsupported arch: message does not list the supported ones: $(cat "$T/err")"
[ "$(wc -l <"$T/err")" -le 2 ] && ok || bad "unsupported arch: more than a line or two: $(cat "$T/err")"

# generation_config.json's eos ids end the generation
first=$("$OWL_BIN" run -m "$HF/llama" --temp 0 -n 1 -p "The quick brown" 2>/dev/null)
id=$("$OWL_BIN" tokenize -m "$HF/llama" --ids --no-add-special "$first" 2>/dev/null)
case "$id" in
*" "* | "") bad "first token '$first' does not tokenize to one id: '$id'" ;;
*)
    ok
    mkdir -p "$T/eos"
    for f in "$HF"/llama/*; do ln -s "$f" "$T/eos/"; done
    rm "$T/eos/generation_config.json"
    printf '{"eos_token_id": [%s], "do_sample": false}\n' "$id" >"$T/eos/generation_config.json"
    "$OWL_BIN" run -m "$T/eos" --temp 0 -n 8 -p "The quick brown" >"$T/out" 2>"$T/err"
    rc=$?
    [ "$rc" -eq 0 ] && ok || bad "eos: exit $rc: $(cat "$T/err")"
    [ ! -s "$T/out" ] && ok || bad "eos id $id from generation_config.json did not stop the generation: '$(cat "$T/out")'"
    "$OWL_BIN" run -m "$HF/llama" --temp 0 -n 8 -p "The quick brown" >"$T/out" 2>/dev/null
    [ -s "$T/out" ] && ok || bad "without that eos the same run prints something"
    ;;
esac

# generation_config.json's sampling defaults apply unless the user gives
# the option: with do_sample false, runs without --temp are greedy (the same
# text whatever seed each run draws); an explicit --temp overrides it
mkdir -p "$T/greedy"
for f in "$HF"/qwen2/*; do ln -s "$f" "$T/greedy/"; done
rm "$T/greedy/generation_config.json"
sed 's/"do_sample": true/"do_sample": false/' "$HF/qwen2/generation_config.json" >"$T/greedy/generation_config.json"
grep -q '"do_sample": false' "$T/greedy/generation_config.json" && ok || bad "could not write do_sample false"
"$OWL_BIN" run -m "$T/greedy" -n 16 -p "The quick brown" >"$T/g1" 2>/dev/null
"$OWL_BIN" run -m "$T/greedy" -n 16 -p "The quick brown" >"$T/g2" 2>/dev/null
"$OWL_BIN" run -m "$T/greedy" --temp 0 -n 16 -p "The quick brown" >"$T/g0" 2>/dev/null
cmp -s "$T/g1" "$T/g2" && cmp -s "$T/g1" "$T/g0" && ok || bad "do_sample false: runs without --temp are not greedy"
"$OWL_BIN" run -m "$T/greedy" --temp 2 --top-k 0 --top-p 1 --min-p 0 --seed 1 -n 16 -p "The quick brown" >"$T/s1" 2>/dev/null
"$OWL_BIN" run -m "$T/greedy" --temp 2 --top-k 0 --top-p 1 --min-p 0 --seed 2 -n 16 -p "The quick brown" >"$T/s2" 2>/dev/null
cmp -s "$T/s1" "$T/s2" && bad "an explicit --temp did not override do_sample false" || ok

# a safetensors whose header length runs past the end of the file
mkdir -p "$T/broken"
for f in "$HF"/qwen3/*; do ln -s "$f" "$T/broken/"; done
rm "$T/broken/model.safetensors"
printf '\377\377\0\0\0\0\0\0{}' >"$T/broken/model.safetensors"
"$OWL_BIN" run -m "$T/broken" --temp 0 -n 4 -p "hi" >"$T/out" 2>"$T/err"
rc=$?
[ "$rc" -eq 1 ] && ok || bad "broken safetensors: exit $rc, expected 1"
grep -q "past the end of the file" "$T/err" && ok || bad "broken safetensors: message: $(cat "$T/err")"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
