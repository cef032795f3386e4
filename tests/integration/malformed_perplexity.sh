#!/bin/sh
# malformed_perplexity.sh — `owl perplexity` on bad input: an empty text, a
# text too short for two chunks, KL-divergence base files that are garbage,
# truncated, made for another vocabulary, holding tokens outside it or rows
# that are no log-probabilities, and options that contradict each other or
# the base. Each must exit 1 with one line naming the problem, and (in the
# ASan build, where this also runs) no sanitizer report. Uses the tiny
# fixture model, so it runs in seconds.
set -u
: "${OWL_BIN:?}" "${OWL_TMP:?}" "${OWL_FIXTURES:?}"
M=$OWL_FIXTURES/models/tiny-llama-spm.gguf
TEXT=$OWL_FIXTURES/perplexity/hamlet.txt
T=$OWL_TMP/malformed_perplexity.$$
mkdir -p "$T" && trap 'rm -rf "$T"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }

# expect LABEL TEXT ARGS...: owl perplexity ARGS fails with exit 1 and one line containing TEXT
expect() {
    label=$1 text=$2
    shift 2
    "$OWL_BIN" perplexity "$@" >"$T/out" 2>"$T/err"
    rc=$?
    [ "$rc" -eq 1 ] && ok || bad "$label: exit $rc, expected 1: $(head -c 300 "$T/err")"
    grep -qF -- "$text" "$T/err" && ok || bad "$label: message lacks '$text': $(head -c 300 "$T/err")"
    [ "$(wc -l <"$T/err")" -eq 1 ] && ok || bad "$label: $(wc -l <"$T/err") lines on stderr, expected one"
    grep -q "Sanitizer\|runtime error" "$T/err" && bad "$label: sanitizer report" || ok
}
# i32 little-endian (non-negative)
le32() {
    v=$1 i=0
    while [ $i -lt 4 ]; do
        printf "\\$(printf '%03o' $((v % 256)))"
        v=$((v / 256)) i=$((i + 1))
    done
}
# base N_CTX N_VOCAB N_CHUNK TOKEN: a header, every token TOKEN, rows of zeros
# (sized as the header says, so only what the test changes is wrong)
base() {
    { printf '_logits_'; le32 "$1"; le32 "$2"; le32 "$3"
      k=0; while [ $k -lt $(($1 * $3)) ]; do le32 "$4"; k=$((k + 1)); done
      head -c $((2 * $3 * ($1 - 1 - $1 / 2) * (2 * (($2 + 1) / 2) + 4))) /dev/zero; }
}

: >"$T/empty.txt"
expect "empty text" "is empty" -m "$M" -f "$T/empty.txt"
printf '\n' >"$T/newline.txt"
expect "a lone newline" "is empty" -m "$M" -f "$T/newline.txt"
printf 'To be, or not to be, that is the question.\n' >"$T/short.txt"
expect "text shorter than two chunks" "needs at least 256" -m "$M" -f "$T/short.txt" -c 128
expect "no text" "no text given" -m "$M"
expect "missing text" "cannot open" -m "$M" -f "$T/none.txt"
expect "-b neither below nor a multiple of -c" "multiple" -m "$M" -f "$TEXT" -c 128 -b 200
expect "--kl-divergence alone" "--kl-divergence-base FILE" -m "$M" --kl-divergence

# a real base: 2 chunks of 128 from the exact path
"$OWL_BIN" perplexity -m "$M" -f "$TEXT" -c 128 --chunks 2 --exact --kl-divergence-base "$T/good" >/dev/null 2>"$T/err" ||
    bad "writing a base: $(cat "$T/err")"
kld() { expect "$1" "$2" -m "$M" --kl-divergence --kl-divergence-base "$3"; }
kld "missing base" "cannot open" "$T/none.kld"
printf 'this is not a base file at all\n' >"$T/garbage"
kld "garbage base" "not a KL-divergence base file" "$T/garbage"
head -c 10 "$T/good" >"$T/hdr"
kld "base cut inside its header" "truncated" "$T/hdr"
head -c $(($(wc -c <"$T/good") - 1000)) "$T/good" >"$T/cut"
kld "truncated base" "truncated" "$T/cut"
{ cat "$T/good"; printf 'x'; } >"$T/long"
kld "base with bytes after its rows" "too long" "$T/long"
base 4 2 1 0 >"$T/vocab2"
kld "base from another vocabulary" "vocabulary of 2 tokens, the model has 32000" "$T/vocab2"
base 4 2 1 7 >"$T/tok"
kld "base token outside its vocabulary" "out of the vocabulary" "$T/tok"
base 2 2 1 0 >"$T/ctx"
kld "base with a context of 2" "context size 2 is out of range" "$T/ctx"
base 4 2 0 0 >"$T/nochunk"
kld "base without chunks" "0 chunks" "$T/nochunk"
cp "$T/good" "$T/nan"
printf '\377\377\377\377' | dd of="$T/nan" bs=1 seek=$((20 + 4 * 2 * 128)) conv=notrunc 2>/dev/null
kld "base row with a NaN scale" "holds no log-probabilities" "$T/nan"
expect "-c other than the base's" "differs from the context size" -m "$M" --kl-divergence --kl-divergence-base "$T/good" -c 64

echo "malformed_perplexity: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
