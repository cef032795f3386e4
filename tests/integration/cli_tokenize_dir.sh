#!/bin/sh
# cli_tokenize_dir.sh — `owl tokenize -m DIR` on a folder that holds only a
# Hugging Face tokenizer (tokenizer.json, tokenizer_config.json): for the
# four folders of data/tokenizers and SmolLM2's tokenizer.json, the ids of
# a few texts equal Hugging Face tokenizers' (read from the parity fixtures
# of test_hf_tokenizers, both with and without --no-add-special); a folder
# without tokenizer.json, a malformed tokenizer.json and `owl run` on a
# tokenizer folder fail with one line and exit 1.
set -u
: "${OWL_BIN:?}" "${OWL_TMP:?}" "${OWL_FIXTURES:?}" "${OWL_SHARED_DIR:?}"
T=$OWL_TMP/cli_tokenize_dir.$$
mkdir -p "$T" && trap 'rm -rf "$T"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }

# want FIXTURE TEXT MODE: the ids the fixture holds for TEXT (a one-line
# string), MODE F (no specials added) or T (added)
want() {
    awk -v text="$2" -v mode="$3" '
        /^S / { s = 1; next }
        s == 1 { cur = $0; s = 0; next }
        /^F / && cur == text { f = substr($0, 3) }
        /^T / && cur == text { split(substr($0, 3), p, "\\|"); t = p[1] " " f " " p[2]; done = 1; exit }
        END { if (!done) exit 1; r = (mode == "F") ? f : t; gsub(/  +/, " ", r); sub(/^ /, "", r); sub(/ $/, "", r); print r }
    ' "$1"
}

for name in deepseek_v3 llama2 llama3 qwen3 smollm2; do
    if [ "$name" = smollm2 ]; then src=$OWL_FIXTURES/tokenizer/smollm2-hf; else src=$OWL_SHARED_DIR/data/tokenizers/$name; fi
    D=$T/$name
    mkdir -p "$D" && cp "$src/tokenizer.json" "$src/tokenizer_config.json" "$D/"
    fx=$OWL_FIXTURES/tokenizer/parity-$name.txt
    for text in 'Hello world' 'Hello' ' Hello' 'a' ' a' 'a '; do
        for mode in F T; do
            w=$(want "$fx" "$text" $mode) || { bad "$name: '$text' is not in $fx"; continue; }
            if [ $mode = F ]; then flag=--no-add-special; else flag=; fi
            got=$("$OWL_BIN" tokenize -m "$D" --ids $flag "$text" 2>"$T/err")
            rc=$?
            [ $rc -eq 0 ] && [ ! -s "$T/err" ] && ok || bad "$name: owl tokenize '$text': exit $rc: $(head -c 300 "$T/err")"
            [ "$got" = "$w" ] && ok || bad "$name: '$text' $flag: owl gives '$got', HF tokenizers '$w'"
        done
    done
done

# a folder without tokenizer.json: one line on stderr, exit 1
mkdir -p "$T/empty"
"$OWL_BIN" tokenize -m "$T/empty" --ids "x" >"$T/out" 2>"$T/err"
rc=$?
[ $rc -eq 1 ] && ok || bad "empty folder: exit $rc"
[ "$(wc -l <"$T/err")" -eq 1 ] && grep -q "tokenizer.json" "$T/err" && ok || bad "empty folder: stderr '$(cat "$T/err")'"
# a malformed tokenizer.json: one line naming the file, exit 1
mkdir -p "$T/bad"
printf '{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": [["a", "z"]]}, "decoder": {"type": "ByteLevel"}}' >"$T/bad/tokenizer.json"
"$OWL_BIN" tokenize -m "$T/bad" --ids "x" >"$T/out" 2>"$T/err"
rc=$?
[ $rc -eq 1 ] && ok || bad "malformed tokenizer.json: exit $rc"
[ "$(wc -l <"$T/err")" -eq 1 ] && grep -q "bad/tokenizer.json: model.merges\[0\]" "$T/err" && ok ||
    bad "malformed tokenizer.json: stderr '$(cat "$T/err")'"
# weights cannot come from a tokenizer folder: one line, exit 1
"$OWL_BIN" run -m "$T/llama2" -p "hi" >"$T/out" 2>"$T/err"
rc=$?
[ $rc -eq 1 ] && ok || bad "owl run on a tokenizer folder: exit $rc"
[ "$(wc -l <"$T/err")" -eq 1 ] && ok || bad "owl run on a tokenizer folder: stderr '$(cat "$T/err")'"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
