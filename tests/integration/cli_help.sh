#!/bin/sh
# cli_help.sh — `owl --help` and every subcommand's --help: exit 0, the help
# page on stdout (starting with its usage line), nothing on stderr, and the
# options the user was promised are listed.
set -u
: "${OWL_BIN:?}" "${OWL_TMP:?}"
T=$OWL_TMP/cli_help.$$
mkdir -p "$T" && trap 'rm -rf "$T"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }

# help CMD... : runs, expects exit 0, usage on stdout, empty stderr
help() {
    "$OWL_BIN" "$@" >"$T/out" 2>"$T/err" </dev/null
    rc=$?
    [ "$rc" -eq 0 ] && ok || bad "owl $*: exit $rc, expected 0"
    [ ! -s "$T/err" ] && ok || bad "owl $*: wrote to stderr: $(head -c 200 "$T/err")"
    grep -q '^usage: owl' "$T/out" && ok || bad "owl $*: no 'usage: owl' line on stdout"
}
# lists WORD... : the last help page mentions each word
lists() {
    for w in "$@"; do
        grep -q -e "$w" "$T/out" && ok || bad "help page does not list '$w'"
    done
}

for h in --help -h help; do
    help $h
    lists run chat info tokenize
done

help run --help
lists ' -m, --model' ' -p, --prompt' ' -f, --file' ' -n, --n-predict' ' -c, --ctx-size' ' -t, --threads' \
    ' --temp' ' --top-k' ' --top-p' ' --min-p' ' --repeat-penalty' ' --repeat-last-n' \
    ' --presence-penalty' ' --frequency-penalty' ' -s, --seed' ' --exact' 'greedy'
help run -h
help run -m /does/not/exist.gguf -p hi --help # help wins over everything else

help chat --help
lists ' -m, --model' '/exit' 'From a pipe' ' --temp' ' -s, --seed' ' --system'

help info --help
lists 'MODEL' ' --tensors'

help tokenize --help
lists ' -m, --model' ' --ids'

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
