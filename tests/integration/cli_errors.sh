#!/bin/sh
# cli_errors.sh — wrong usage gives exit code 1, exactly one line on stderr
# naming the problem, and nothing on stdout. None of these needs a model:
# options are checked before anything is loaded.
set -u
: "${OWL_BIN:?}" "${OWL_TMP:?}"
T=$OWL_TMP/cli_errors.$$
mkdir -p "$T" && trap 'rm -rf "$T"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }

M=$T/absent.gguf # never created
printf 'not a model' >"$T/junk.gguf"

# fails WANT ARGS... : exit 1, stdout empty, one stderr line containing WANT
fails() {
    want=$1
    shift
    "$OWL_BIN" "$@" >"$T/out" 2>"$T/err" </dev/null
    rc=$?
    [ "$rc" -eq 1 ] && ok || bad "owl $*: exit $rc, expected 1"
    [ ! -s "$T/out" ] && ok || bad "owl $*: wrote to stdout: $(head -c 200 "$T/out")"
    n=$(wc -l <"$T/err")
    [ "$n" -eq 1 ] && ok || bad "owl $*: $n lines on stderr, expected 1: $(head -c 300 "$T/err")"
    grep -q -F -e "$want" "$T/err" && ok || bad "owl $*: stderr '$(cat "$T/err")' lacks '$want'"
}

fails 'no command' 
fails "unknown command 'frobnicate'" frobnicate

# option syntax and values, with the exact message for the example of the issue
fails "owl run: --top-p expects a number in [0, 1], got 'abc'" run -m "$M" -p hi --top-p abc
fails "owl run: --top-p expects a number in [0, 1], got '1.5'" run -m "$M" -p hi --top-p 1.5
fails "owl run: --top-p expects a number in [0, 1], got '2'" run -m "$M" -p hi --top-p=2
fails "owl run: unknown option '--tmp'" run -m "$M" -p hi --tmp 0.5
fails "owl run: -p needs a value" run -m "$M" -p
fails "owl run: -n expects an integer >= -1, got '1.5'" run -m "$M" -p hi -n 1.5
fails "owl run: -n expects an integer >= -1, got '-2'" run -m "$M" -p hi -n -2
fails "owl run: -n expects an integer >= -1, got '99999999999'" run -m "$M" -p hi -n 99999999999
fails "owl run: --top-k expects an integer >= 0, got '-1'" run -m "$M" -p hi --top-k -1
fails "owl run: --temp expects a number in [0, 100], got 'nan'" run -m "$M" -p hi --temp nan
fails "owl run: --temp expects a number in [0, 100], got 'inf'" run -m "$M" -p hi --temp inf
fails "owl run: --temp expects a number in [0, 100], got ''" run -m "$M" -p hi --temp ''
fails "owl run: --min-p expects a number in [0, 1], got '0.5x'" run -m "$M" -p hi --min-p 0.5x
fails "owl run: --seed expects a non-negative integer, got '-3'" run -m "$M" -p hi --seed -3
fails "owl run: -s expects a non-negative integer, got 'xyz'" run -m "$M" -p hi -s xyz
fails "owl run: --repeat-last-n expects an integer" run -m "$M" -p hi --repeat-last-n x
fails "owl run: -t expects an integer in [0, 1024], got '-4'" run -m "$M" -p hi -t -4
fails "owl run: --exact takes no value" run -m "$M" -p hi --exact=1
fails "owl run: unexpected argument 'extra'" run -m "$M" -p hi extra

# missing pieces and files
fails 'owl run: no model given' run -p hi
fails 'owl run: no prompt given' run -m "$M"
fails 'owl run: give the prompt with -p or with -f, not both' run -m "$M" -p hi -f "$T/p.txt"
fails "owl run: cannot open '$T/absent.txt'" run -m "$M" -f "$T/absent.txt"
fails "$M" run -m "$M" -p hi
fails "$T/junk.gguf" run -m "$T/junk.gguf" -p hi
fails 'owl info: no model given' info
fails "$M" info "$M"
fails "$M" info -m "$M"
fails "owl info: unexpected extra argument 'b'" info "$M" b
fails "owl info: unknown option '--tensor'" info --tensor "$M"
fails 'owl tokenize: no model given' tokenize hello
fails 'owl tokenize: no text given' tokenize -m "$M"
fails "$M" tokenize -m "$M" hello
fails "owl tokenize: unknown option '--id'" tokenize -m "$M" --id hello
fails 'owl chat: no model given' chat
fails "owl chat: unknown option '--bogus'" chat -m "$M" --bogus
fails "$M" chat -m "$M"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
