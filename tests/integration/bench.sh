#!/bin/sh
# bench.sh — `owl bench` on the tiny llama fixture: the markdown table has
# llama-bench's columns and one row per test (pp8, tg4) with a positive
# "mean ± stddev" t/s and a peak RSS; -o json has llama-bench's field names
# with the test sizes, thread count and one sample per repetition; -p 0
# leaves the pp test out; bad options are one line and exit 1.
# bench-membw (built beside owl): -o json has its fields and a positive
# bandwidth; a bad option prints the usage and exits 2; a buffer larger
# than half the machine's memory is refused with a message, exit 1.
set -u
: "${OWL_BIN:?}" "${OWL_TMP:?}" "${OWL_FIXTURES:?}"
M=$OWL_FIXTURES/models/tiny-llama-spm.gguf
T=$OWL_TMP/bench.$$
mkdir -p "$T" && trap 'rm -rf "$T"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }

"$OWL_BIN" bench -m "$M" -p 8 -n 4 -r 2 -t 1 >"$T/md" 2>"$T/err"
rc=$?
[ "$rc" -eq 0 ] && ok || bad "owl bench: exit $rc: $(cat "$T/err")"
head -1 "$T/md" | grep -q '^| model *| *size | *params | backend *| threads | *test | *t/s | *peak RSS |$' && ok ||
    bad "header: $(head -1 "$T/md")"
[ "$(wc -l <"$T/md")" -eq 4 ] && ok || bad "expected header, rule and 2 rows: $(cat "$T/md")"
for t in pp8 tg4; do
    row=$(grep "| *$t |" "$T/md")
    [ -n "$row" ] && ok || bad "no $t row"
    # t/s: "A ± B" with A > 0
    ts=$(printf '%s\n' "$row" | awk -F'|' '{ print $8 }')
    avg=$(printf '%s\n' "$ts" | awk '{ print $1 }')
    printf '%s\n' "$ts" | grep -q '^ *[0-9][0-9]*\.[0-9][0-9] ± [0-9][0-9]*\.[0-9][0-9] *$' && ok || bad "$t t/s cell: '$ts'"
    awk -v a="$avg" 'BEGIN { exit !(a > 0) }' && ok || bad "$t: t/s $avg not positive"
    printf '%s\n' "$row" | grep -q '| *1 | *'"$t"' |' && ok || bad "$t: threads column is not 1: $row"
    printf '%s\n' "$row" | grep -q '[0-9]\.[0-9][0-9] MiB |$' && ok || bad "$t: no peak RSS: $row"
    printf '%s\n' "$row" | grep -q '| llama ' && ok || bad "$t: model type: $row"
done

"$OWL_BIN" bench -m "$M" -p 8 -n 4 -r 3 -t 1 -o json >"$T/json" 2>"$T/err"
rc=$?
[ "$rc" -eq 0 ] && ok || bad "owl bench -o json: exit $rc: $(cat "$T/err")"
head -1 "$T/json" | grep -q '^\[$' && tail -1 "$T/json" | grep -q '^\]$' && ok || bad "json is not an array"
for f in model_filename model_type model_size model_n_params n_threads n_prompt n_gen avg_ns stddev_ns avg_ts stddev_ts \
    samples_ns samples_ts peak_rss test_time; do
    [ "$(grep -c "\"$f\":" "$T/json")" -eq 2 ] && ok || bad "field $f not in both objects"
done
grep -q '"n_prompt": 8,' "$T/json" && grep -q '"n_gen": 4,' "$T/json" && ok || bad "test sizes not in the json"
[ "$(grep -c '"n_threads": 1,' "$T/json")" -eq 2 ] && ok || bad "n_threads"
# three repetitions: three samples, positive
n=$(grep '"samples_ts"' "$T/json" | head -1 | tr ',' '\n' | grep -c '[0-9]')
[ "$n" -eq 3 ] && ok || bad "samples_ts has $n samples, want 3"
grep '"avg_ts"' "$T/json" | awk '{ if ($2 + 0 <= 0) exit 1 }' && ok || bad "avg_ts not positive"

"$OWL_BIN" bench -m "$M" -p 0 -n 2 -r 1 -t 1 >"$T/md" 2>"$T/err"
[ $? -eq 0 ] && ok || bad "-p 0: $(cat "$T/err")"
grep -q '| *tg2 |' "$T/md" && ! grep -q '| *pp' "$T/md" && ok || bad "-p 0 still has a pp row: $(cat "$T/md")"

one_line_fail() { # DESC PATTERN ARGS...
    desc=$1 pat=$2
    shift 2
    "$OWL_BIN" bench "$@" >"$T/out" 2>"$T/err"
    rc=$?
    [ "$rc" -eq 1 ] && ok || bad "$desc: exit $rc"
    [ "$(wc -l <"$T/err")" -eq 1 ] && ok || bad "$desc: not one line: $(cat "$T/err")"
    grep -q -- "$pat" "$T/err" && ok || bad "$desc: message lacks '$pat': $(cat "$T/err")"
}
one_line_fail "bad output" "-o expects md or json" -m "$M" -o xml
one_line_fail "nothing to do" "nothing to measure" -m "$M" -p 0 -n 0
one_line_fail "no model" "no model given" -p 8
one_line_fail "missing model" "no-such.gguf" -m "$T/no-such.gguf"

MB=$(dirname "$OWL_BIN")/bench-membw
if [ -x "$MB" ]; then
    "$MB" -t 2 -s 64 -r 2 -o json >"$T/bw" 2>"$T/err"
    rc=$?
    [ "$rc" -eq 0 ] && ok || bad "bench-membw: exit $rc: $(cat "$T/err")"
    for k in threads size_bytes passes best_gbs median_gbs; do
        grep -q "\"$k\": " "$T/bw" && ok || bad "bench-membw json lacks $k: $(cat "$T/bw")"
    done
    grep -q '"size_bytes": 67108864,' "$T/bw" && ok || bad "bench-membw -s 64 is not 64 MiB: $(cat "$T/bw")"
    best=$(sed 's/.*"best_gbs": \([0-9.]*\).*/\1/' "$T/bw")
    awk -v b="$best" 'BEGIN { exit !(b > 0) }' && ok || bad "bench-membw best_gbs '$best' not positive"
    "$MB" -s 1048576 >"$T/out" 2>"$T/err"
    rc=$?
    [ "$rc" -eq 1 ] && grep -q "more than half of this machine's memory" "$T/err" && ok ||
        bad "bench-membw -s 1 TiB: exit $rc: $(cat "$T/err")"
    for args in "-t 0" "-s x" "-o xml" "-r"; do
        # shellcheck disable=SC2086
        "$MB" $args >"$T/out" 2>"$T/err"
        rc=$?
        [ "$rc" -eq 2 ] && grep -q '^usage: bench-membw' "$T/err" && ok || bad "bench-membw $args: exit $rc: $(cat "$T/err")"
    done
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
