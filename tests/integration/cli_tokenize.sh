#!/bin/sh
# cli_tokenize.sh — `owl tokenize` on SmolLM2's vocabulary: --ids prints one
# line of space-separated ids; the pieces mode lists the same ids, and its
# pieces put back together give the text; special tokens written in the
# text stay whole unless --no-parse-special; and the ids equal llama.cpp's
# for the 100+ texts of the tokenizer fixture.
set -u
: "${OWL_BIN:?}" "${OWL_TMP:?}" "${OWL_SMOLLM2:?}" "${OWL_FIXTURES:?}"
M=$OWL_SMOLLM2
[ -f "$M" ] || { echo "FAIL: model $M is missing (make model fetches it)" >&2; exit 1; }
T=$OWL_TMP/cli_tokenize.$$
mkdir -p "$T" && trap 'rm -rf "$T"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }

# tok NAME ARGS... : owl tokenize -m M ARGS > NAME.out, expects exit 0 and a quiet stderr
tok() {
    name=$1
    shift
    "$OWL_BIN" tokenize -m "$M" "$@" >"$T/$name.out" 2>"$T/$name.err" </dev/null
    rc=$?
    [ "$rc" -eq 0 ] && ok || bad "owl tokenize $*: exit $rc: $(head -c 300 "$T/$name.err")"
    [ ! -s "$T/$name.err" ] && ok || bad "owl tokenize $*: wrote to stderr: $(head -c 300 "$T/$name.err")"
}

# --ids: one line, integers separated by single spaces
for text in 'Hello world' ' héllo 123 wörld!' 'The capital of France is Paris.'; do
    tok ids --ids "$text"
    [ "$(wc -l <"$T/ids.out")" -eq 1 ] && ok || bad "--ids '$text' printed $(wc -l <"$T/ids.out") lines"
    grep -q -E '^[0-9]+( [0-9]+)*$' "$T/ids.out" && ok || bad "--ids '$text' printed '$(cat "$T/ids.out")'"
    # the pieces mode lists the same ids
    tok pieces "$text"
    sed -n 's/^ *\([0-9]*\) -> .*/\1/p' "$T/pieces.out" | tr '\n' ' ' | sed 's/ $//' >"$T/pieces_ids"
    [ "$(cat "$T/pieces_ids")" = "$(cat "$T/ids.out")" ] && ok ||
        bad "'$text': pieces mode ids '$(cat "$T/pieces_ids")' differ from --ids '$(cat "$T/ids.out")'"
    # the pieces (no escapes in these texts) give the text back
    joined=$(sed -n "s/^ *[0-9]* -> '\(.*\)'$/\1/p" "$T/pieces.out" | tr -d '\n')
    [ "$joined" = "$text" ] && ok || bad "'$text': the pieces give '$joined'"
done

# special tokens: kept whole by default, spelled out with --no-parse-special
tok sp --ids '<|im_start|>user'
tok nosp --ids --no-parse-special '<|im_start|>user'
set -- $(cat "$T/sp.out")
[ $# -eq 2 ] && ok || bad "'<|im_start|>user' is $# tokens, expected 2: $(cat "$T/sp.out")"
set -- $(cat "$T/nosp.out")
[ $# -gt 3 ] && ok || bad "--no-parse-special: '<|im_start|>user' is only $# tokens"
tok sp_pieces '<|im_start|>user'
grep -q -F -e "-> '<|im_start|>'" "$T/sp_pieces.out" && ok || bad "no '<|im_start|>' piece: $(cat "$T/sp_pieces.out")"
# escapes: a newline shows as \n, and the id is the one --ids gives
tok nl_ids --ids 'a
b'
tok nl 'a
b'
grep -q -F -e "-> '\\n'" "$T/nl.out" && ok || bad "a newline piece is not shown as \\n: $(cat "$T/nl.out")"
[ "$(wc -l <"$T/nl.out")" -eq "$(wc -w <"$T/nl_ids.out")" ] && ok || bad "pieces mode printed a raw newline"

# -f FILE is the same as the text
printf '%s' 'Hello world' >"$T/text.txt"
tok a --ids 'Hello world'
tok b --ids -f "$T/text.txt"
cmp -s "$T/a.out" "$T/b.out" && ok || bad "-f FILE and TEXT give different ids"
printf '%s' 'Hello world' | "$OWL_BIN" tokenize -m "$M" --ids -f - >"$T/c.out" 2>/dev/null
cmp -s "$T/a.out" "$T/c.out" && ok || bad "-f - (stdin) and TEXT give different ids"

# against the reference: tests/fixtures/tokenizer/smollm2.json holds, for
# each text, the ids llama.cpp gives (scripts/reference/tokenizer_smollm2.py);
# "ids_add_special" is owl tokenize's default mode (BOS as the model asks,
# special tokens parsed), "ids" the mode with neither. The file is
# pretty-printed, one value per line; the texts without JSON escapes are
# taken as they are.
FX=$OWL_FIXTURES/tokenizer/smollm2.json
[ -f "$FX" ] || { echo "FAIL: fixture $FX is missing" >&2; exit 1; }
# cases KEY: "text<TAB>ids" for the texts without escapes, ids from KEY
cases() {
    awk -v key="$1" '
        /^"text": "/ {
            text = $0; sub(/^"text": "/, "", text); sub(/",?$/, "", text)
            plain = index(text, "\\") == 0; next
        }
        $0 == "\"" key "\": []," || $0 == "\"" key "\": []" { if (plain) print text "\t"; next }
        $0 == "\"" key "\": [" { grab = 1; ids = ""; next }
        grab && /^\]/ { grab = 0; if (plain) print text "\t" ids; next }
        grab { v = $0; sub(/,$/, "", v); ids = ids (ids == "" ? "" : " ") v }
    ' "$FX"
}
# compare KEY OPTIONS... : owl tokenize --ids OPTIONS TEXT for every case of KEY
compare() {
    key=$1
    shift
    cases "$key" >"$T/cases"
    n=0
    while IFS="$(printf '\t')" read -r text want; do
        n=$((n + 1))
        got=$("$OWL_BIN" tokenize -m "$M" --ids "$@" -- "$text" 2>&1)
        [ "$got" = "$want" ] && ok || bad "'$text' $*: ids '$got', llama.cpp gives '$want'"
    done <"$T/cases"
    [ "$n" -ge 100 ] && ok || bad "only $n '$key' cases read from $FX"
    found=$((found + n))
}
found=0
compare ids_add_special
compare ids --no-add-special --no-parse-special
echo "reference cases compared: $found"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
