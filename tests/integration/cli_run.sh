#!/bin/sh
# cli_run.sh — `owl run` on SmolLM2: stdout carries the generated text and
# nothing else, greedy decoding repeats itself and answers the chat prompt
# of the golden fixture with llama.cpp's text, a seed fixes the sampled
# text and another seed changes it, and the limits (-n, a full context, a
# prompt longer than the context) behave as documented.
set -u
: "${OWL_BIN:?}" "${OWL_TMP:?}" "${OWL_SMOLLM2:?}" "${OWL_FIXTURES:?}"
M=$OWL_SMOLLM2
[ -f "$M" ] || { echo "FAIL: model $M is missing (make model fetches it)" >&2; exit 1; }
T=$OWL_TMP/cli_run.$$
mkdir -p "$T" && trap 'rm -rf "$T"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }

P='The capital of France is'
# gen NAME ARGS... : owl run -m M -t 1 ARGS (one thread unless ARGS say
# otherwise: the machine running the tests is busy with other tests) > NAME.out 2> NAME.err, expects exit 0
gen() {
    name=$1
    shift
    "$OWL_BIN" run -m "$M" -t 1 "$@" >"$T/$name.out" 2>"$T/$name.err" </dev/null
    rc=$?
    [ "$rc" -eq 0 ] && ok || bad "owl run $*: exit $rc: $(head -c 300 "$T/$name.err")"
}
same() { cmp -s "$T/$1.out" "$T/$2.out" && ok || bad "$3: '$(cat "$T/$1.out")' vs '$(cat "$T/$2.out")'"; }
differ() { cmp -s "$T/$1.out" "$T/$2.out" && bad "$3: both '$(cat "$T/$1.out")'" || ok; }

# greedy: text on stdout, the timing line on stderr, the same text twice
gen g16 -p "$P" --temp 0 -n 16
[ -s "$T/g16.out" ] && ok || bad "greedy run printed nothing"
grep -q -E '^owl run: prompt: [0-9]+ tokens, [0-9.]+ t/s; generation: [0-9]+ tokens, [0-9.]+ t/s$' "$T/g16.err" &&
    ok || bad "no timing line on stderr: $(cat "$T/g16.err")"
grep -q -e 't/s' -e 'owl' "$T/g16.out" && bad "stdout holds a log line: $(cat "$T/g16.out")" || ok
grep -q -F "$P" "$T/g16.out" && bad "stdout repeats the prompt: $(cat "$T/g16.out")" || ok
gen g16b -p "$P" --temp 0 -n 16
same g16 g16b "greedy gave two texts"
# stdout is exactly the text: 16 tokens' text starts the 32 tokens' text
gen g32 -p "$P" --temp 0 -n 32
n16=$(wc -c <"$T/g16.out")
head -c "$n16" "$T/g32.out" >"$T/g32head.out"
same g16 g32head "the text of -n 16 is not the start of -n 32"
[ "$(wc -c <"$T/g32.out")" -gt "$n16" ] && ok || bad "-n 32 gave no more text than -n 16"
# two threads split the work, not the text
gen g16t2 -p "$P" --temp 0 -n 16 -t 2
same g16 g16t2 "-t 2 and -t 1 give different greedy text"
# the weights' 16-row tiles (repacked at load) change the speed, not the
# text: --no-repack reads the file's layout
gen g16nr -p "$P" --temp 0 -n 16 --no-repack
same g16 g16nr "--no-repack gives different greedy text"
# the prompt from a file, and top-k 1 at a temperature, are greedy too
printf '%s' "$P" >"$T/prompt.txt"
gen gf -f "$T/prompt.txt" --temp 0 -n 16
same g16 gf "-f FILE and -p TEXT differ"
printf '%s' "$P" | "$OWL_BIN" run -m "$M" -t 1 -f - --temp 0 -n 16 >"$T/gstdin.out" 2>/dev/null
same g16 gstdin "-f - (stdin) and -p TEXT differ"
gen gk1 -p "$P" --temp 0.9 --top-k 1 --seed 5 -n 16
same g16 gk1 "--top-k 1 is not greedy"

# the text llama.cpp generates greedily for the chat prompt of the golden
# fixture (tests/fixtures/greedy, scripts/reference/make_greedy_fixtures.py):
# the prompt tokenizes to the fixture's ids, and owl run prints exactly the
# reference text before its first end-of-generation token, then stops. Every
# step of it has a top-2 margin far above the fixture's near-tie bound.
G=$OWL_FIXTURES/greedy/smollm2-135m-instruct-q4_1
CHAT='<|im_start|>system
You are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>
<|im_start|>user
What is the capital of France? Answer in one sentence.<|im_end|>
<|im_start|>assistant
'
want_ids=$(sed -n '/^prompt chat /{n;s/^ids //p;}' "$G.greedy")
got_ids=$("$OWL_BIN" tokenize -m "$M" --ids "$CHAT" 2>&1)
[ -n "$want_ids" ] && [ "$got_ids" = "$want_ids" ] && ok || bad "chat prompt ids '$got_ids', fixture '$want_ids'"
gen ref -p "$CHAT" --temp 0 -n 64
want='The capital of France is Paris.'
grep -q -F "\"generated\": \"$want\\n" "$G.json" && ok || bad "the fixture no longer generates '$want'"
[ "$(cat "$T/ref.out")" = "$want" ] && ok || bad "greedy chat answer '$(cat "$T/ref.out")', llama.cpp '$want'"
grep -q 'generation: 7 tokens' "$T/ref.err" && ok || bad "did not stop at the end-of-generation token: $(cat "$T/ref.err")"
# the fp32 reference path (--exact) gives the same answer
gen ref_exact -p "$CHAT" --temp 0 -n 64 --exact
same ref ref_exact "--exact answers the chat prompt differently"

# sampling: a seed fixes the text, another seed changes it
Q='Once upon a time, in a small village,'
gen s1 -p "$Q" --temp 0.8 --seed 1 -n 24
gen s1b -p "$Q" --temp 0.8 --seed 1 -n 24
gen s1c -p "$Q" --temp 0.8 -s 1 -n 24
gen s2 -p "$Q" --temp 0.8 --seed 2 -n 24
gen sg -p "$Q" --temp 0 -n 24
[ -s "$T/s1.out" ] && ok || bad "sampled run printed nothing"
same s1 s1b "the same seed gave two texts"
same s1 s1c "-s 1 and --seed 1 differ"
differ s1 s2 "seeds 1 and 2 gave the same text"
# seeds are decimal (a leading zero is not octal) or 0x hexadecimal
gen s010 -p "$Q" --temp 0.8 --seed 010 -n 24
gen s10 -p "$Q" --temp 0.8 --seed 10 -n 24
gen s0x10 -p "$Q" --temp 0.8 --seed 0x10 -n 24
gen s16 -p "$Q" --temp 0.8 --seed 16 -n 24
same s010 s10 "--seed 010 is not --seed 10"
same s0x10 s16 "--seed 0x10 is not --seed 16"
# sampling with a flat distribution departs from greedy
gen hot -p "$Q" --temp 1.5 --top-k 0 --top-p 1 --min-p 0 --seed 3 -n 24
differ hot sg "temperature 1.5 without filters gave the greedy text"

# limits: -n 0 prints nothing; a full context stops generation cleanly
gen n0 -p "$P" -n 0
[ ! -s "$T/n0.out" ] && ok || bad "-n 0 printed '$(cat "$T/n0.out")'"
gen full -p "$P" --temp 0 -n 100 -c 12
grep -q 'context is full' "$T/full.err" && ok || bad "-c 12 did not report a full context: $(cat "$T/full.err")"
[ "$(wc -c <"$T/full.out")" -le "$(wc -c <"$T/g32.out")" ] && ok || bad "-c 12 generated more than 32 tokens' text"
head -c "$(wc -c <"$T/full.out")" "$T/g32.out" >"$T/g32cut.out"
same full g32cut "the text before the context filled is not the greedy text"
# a prompt longer than the context is an error, in one line
"$OWL_BIN" run -m "$M" -p "$P $P $P $P" -c 8 >"$T/long.out" 2>"$T/long.err" </dev/null
rc=$?
[ "$rc" -eq 1 ] && ok || bad "a prompt longer than -c 8: exit $rc, expected 1"
[ "$(wc -l <"$T/long.err")" -eq 1 ] && grep -q 'context holds 8' "$T/long.err" && ok ||
    bad "a prompt longer than -c 8: stderr '$(cat "$T/long.err")'"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
