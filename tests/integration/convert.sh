#!/bin/sh
# convert.sh — `owl convert` on the tiny Hugging Face llama folder
# (tests/fixtures/hf/llama: f32, llama3 RoPE scaling, byte-level BPE):
#   - the GGUF generates, greedy on the exact path, the same text as the
#     folder itself (q/k rows permuted right, rope_freqs written);
#   - it tokenizes the prompt to the ids llama.cpp gave on the converted
#     file, and generates llama.cpp's greedy text (tests/fixtures/convert/,
#     from scripts/reference/check_convert_llamacpp.py);
#   - with --quant q8_0 every matrix is q8_0, the norms stay f32, no
#     unquantized copy is left behind, and it still generates; q4_0 too;
#     (the type rules are owl quantize's, run on the converted file), and
#     owl's exact path generates llama.cpp's greedy text from those files;
#   - a folder it cannot convert yet, or no -o: one line, exit 1, no file.
set -u
: "${OWL_BIN:?}" "${OWL_TMP:?}" "${OWL_FIXTURES:?}"
DIR=$OWL_FIXTURES/hf/llama
FX=$OWL_FIXTURES/convert
T=$OWL_TMP/convert.$$
mkdir -p "$T" && trap 'rm -rf "$T"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
PROMPT="Hello world"

"$OWL_BIN" convert "$DIR" -o "$T/f32.gguf" 2>"$T/err"
rc=$?
[ "$rc" -eq 0 ] && [ -s "$T/f32.gguf" ] && ok || bad "convert: exit $rc: $(cat "$T/err")"
"$OWL_BIN" run -m "$DIR" --temp 0 -n 16 --exact -p "$PROMPT" >"$T/dir.txt" 2>/dev/null || bad "run on the folder"
"$OWL_BIN" run -m "$T/f32.gguf" --temp 0 -n 16 --exact -p "$PROMPT" >"$T/gguf.txt" 2>"$T/err" ||
    bad "run on the GGUF: $(cat "$T/err")"
[ -s "$T/dir.txt" ] && cmp -s "$T/dir.txt" "$T/gguf.txt" && ok ||
    bad "GGUF generates '$(cat "$T/gguf.txt")', the folder '$(cat "$T/dir.txt")'"
# the default (fast) path agrees too on 16 greedy tokens of this model
"$OWL_BIN" run -m "$T/f32.gguf" --temp 0 -n 16 -p "$PROMPT" >"$T/fast.txt" 2>/dev/null
cmp -s "$T/fast.txt" "$T/gguf.txt" && ok || bad "default path: '$(cat "$T/fast.txt")'"

# llama.cpp on the same file
want_ids=$(tr -d ' \n' <"$FX/llama-greedy.json" | sed 's/.*"prompt_ids":\[\([0-9,]*\)\].*/\1/' | tr ',' ' ')
got_ids=$("$OWL_BIN" tokenize -m "$T/f32.gguf" --ids "$PROMPT" 2>/dev/null)
[ -n "$want_ids" ] && [ "$got_ids" = "$want_ids" ] && ok || bad "prompt ids '$got_ids', llama.cpp '$want_ids'"
cmp -s "$T/gguf.txt" "$FX/llama-greedy.txt" && ok ||
    bad "owl '$(cat "$T/gguf.txt")', llama.cpp '$(cat "$FX/llama-greedy.txt")'"

# --quant
# q4_0: output.weight in q8_0 (llama-quantize's rule: q6_k, but rows of 64
# are no whole q6_k block)
for q in q8_0 q4_0; do
    "$OWL_BIN" convert "$DIR" -o "$T/$q.gguf" --quant $q -t 2 2>"$T/err"
    rc=$?
    [ "$rc" -eq 0 ] && ok || bad "convert --quant $q: exit $rc: $(cat "$T/err")"
    [ ! -e "$T/$q.gguf.unquantized" ] && ok || bad "--quant $q left the unquantized file"
    types=$("$OWL_BIN" info "$T/$q.gguf" 2>/dev/null | sed -n 's/^types: *//p')
    want="f32:8 $q:23"
    [ $q = q4_0 ] && want="f32:8 q4_0:22 q8_0:1"
    [ "$types" = "$want" ] && ok || bad "--quant $q types: '$types' (want $want)"
    "$OWL_BIN" run -m "$T/$q.gguf" --temp 0 -n 16 -p "$PROMPT" >"$T/q.txt" 2>"$T/err"
    rc=$?
    [ "$rc" -eq 0 ] && [ -s "$T/q.txt" ] && ok || bad "run on --quant $q: exit $rc: $(cat "$T/err")"
    # llama.cpp's greedy text on the same quantized file
    "$OWL_BIN" run -m "$T/$q.gguf" --temp 0 -n 16 --exact -p "$PROMPT" >"$T/qx.txt" 2>/dev/null
    cmp -s "$T/qx.txt" "$FX/llama-greedy-$q.txt" && ok ||
        bad "--quant $q: owl '$(cat "$T/qx.txt")', llama.cpp '$(cat "$FX/llama-greedy-$q.txt")'"
done
[ "$(wc -c <"$T/q8_0.gguf")" -lt "$(wc -c <"$T/f32.gguf")" ] && ok || bad "q8_0 file not smaller than f32"

# refusals
"$OWL_BIN" convert "$OWL_FIXTURES/hf/qwen2" -o "$T/qwen2.gguf" 2>"$T/err"
rc=$?
[ "$rc" -eq 1 ] && [ "$(wc -l <"$T/err")" -eq 1 ] && grep -q "Qwen2ForCausalLM" "$T/err" && ok ||
    bad "qwen2: exit $rc: $(cat "$T/err")"
[ ! -e "$T/qwen2.gguf" ] && ok || bad "qwen2 left a file"
"$OWL_BIN" convert "$DIR" 2>"$T/err"
rc=$?
[ "$rc" -eq 1 ] && [ "$(wc -l <"$T/err")" -eq 1 ] && ok || bad "no -o: exit $rc: $(cat "$T/err")"
"$OWL_BIN" convert "$DIR" -o "$T/x.gguf" --quant q9_9 2>"$T/err"
rc=$?
[ "$rc" -eq 1 ] && [ "$(wc -l <"$T/err")" -eq 1 ] && [ ! -e "$T/x.gguf" ] && [ ! -e "$T/x.gguf.unquantized" ] && ok ||
    bad "--quant q9_9: exit $rc: $(cat "$T/err")"

# a tokenizer.json whose pre-tokenizer is not GPT-2's is refused: GGUF's
# "gpt-2" would make llama.cpp split its text differently; no file is left
for variant in 's/"type": "ByteLevel"/"type": "Whitespace"/' 's/"use_regex": true/"use_regex": false/'; do
    rm -rf "$T/l3" && mkdir -p "$T/l3"
    for f in "$DIR"/*; do ln -s "$f" "$T/l3/"; done
    rm "$T/l3/tokenizer.json"
    sed "/\"pre_tokenizer\": {/,/}/ $variant" "$DIR/tokenizer.json" >"$T/l3/tokenizer.json"
    cmp -s "$DIR/tokenizer.json" "$T/l3/tokenizer.json" && bad "could not rewrite the pre-tokenizer ($variant)"
    "$OWL_BIN" convert "$T/l3" -o "$T/l3.gguf" >/dev/null 2>"$T/err"
    rc=$?
    [ "$rc" -eq 1 ] && [ "$(wc -l <"$T/err")" -eq 1 ] && grep -q "pre-tokenizer" "$T/err" && [ ! -e "$T/l3.gguf" ] && ok ||
        bad "pre-tokenizer rewritten with $variant: exit $rc, '$(cat "$T/err")'"
done

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
