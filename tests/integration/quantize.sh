#!/bin/sh
# quantize.sh — `owl quantize` on the tiny llama fixture (f16 matrices,
# f32 norms): the q8_0 file has every matrix in q8_0 and every 1-D tensor
# unchanged (as `owl info --tensors` lists them), still generates text with
# `owl run --temp 0`, and is smaller; q4_k_m on rows of 64 falls back as
# llama.cpp does (no q4_k: q5_0 and q8_0) and says so; an already quantized
# input needs --allow-requantize; bad types, a missing input, an unwritable
# output and a full disk are one line each with exit 1, leaving no file.
set -u
: "${OWL_BIN:?}" "${OWL_TMP:?}" "${OWL_FIXTURES:?}"
IN=$OWL_FIXTURES/models/tiny-llama-spm.gguf
T=$OWL_TMP/quantize.$$
mkdir -p "$T" && trap 'rm -rf "$T"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }

# tensors NAME TYPE NDIMS, one per line, from owl info --tensors
tensors() {
    "$OWL_BIN" info --tensors "$1" | sed -n '/^tensors:/,$p' | sed 1d |
        awk '{ n = split($0, a, ","); print $1, $2, n }'
}

"$OWL_BIN" quantize "$IN" "$T/q8.gguf" q8_0 -t 2 2>"$T/err"
rc=$?
[ "$rc" -eq 0 ] && ok || bad "quantize q8_0: exit $rc: $(cat "$T/err")"
tensors "$IN" >"$T/in.txt"
tensors "$T/q8.gguf" >"$T/q8.txt"
[ "$(wc -l <"$T/in.txt")" -eq "$(wc -l <"$T/q8.txt")" ] && [ -s "$T/q8.txt" ] && ok || bad "tensor count changed"
# every 2-D tensor is q8_0 now, every 1-D one kept its type
sort "$T/in.txt" >"$T/in.s"
sort "$T/q8.txt" >"$T/q8.s"
wrong=$(join "$T/in.s" "$T/q8.s" | awk '{ want = ($3 >= 2) ? "q8_0" : $2; if ($4 != want) print $1, $2, "->", $4 }')
[ -z "$wrong" ] && ok || bad "unexpected types: $wrong"
grep -q ' q8_0 ' "$T/q8.txt" && ok || bad "no q8_0 tensor in the q8_0 file"
types=$("$OWL_BIN" info "$T/q8.gguf" | sed -n 's/^types: *//p')
case "$types" in *q8_0:*) ok ;; *) bad "owl info types: '$types'" ;; esac
case "$types" in *f16*) bad "f16 left in the q8_0 file: '$types'" ;; *) ok ;; esac
insz=$(wc -c <"$IN")
q8sz=$(wc -c <"$T/q8.gguf")
[ "$q8sz" -lt "$insz" ] && ok || bad "q8_0 file ($q8sz bytes) not smaller than the f16 one ($insz)"

out=$("$OWL_BIN" run -m "$T/q8.gguf" -p "Hello world" -n 8 --temp 0 2>"$T/err")
rc=$?
[ "$rc" -eq 0 ] && ok || bad "owl run on the q8_0 file: exit $rc: $(cat "$T/err")"
[ -n "$out" ] && ok || bad "owl run on the q8_0 file produced no text"

# q4_k_m: rows of 64 are not whole 256-blocks, so llama.cpp's fallbacks apply
"$OWL_BIN" quantize "$IN" "$T/q4km.gguf" q4_k_m -t 2 2>"$T/err"
rc=$?
[ "$rc" -eq 0 ] && ok || bad "quantize q4_k_m: exit $rc: $(cat "$T/err")"
grep -q 'fell back' "$T/err" && ok || bad "fallbacks not reported: $(cat "$T/err")"
types=$("$OWL_BIN" info "$T/q4km.gguf" | sed -n 's/^types: *//p')
[ "$types" != "${types#*q5_0:}" ] && [ "$types" != "${types#*q8_0:}" ] && ok || bad "q4_k_m fallbacks: '$types'"
case "$types" in *q4_k*) bad "q4_k on rows of 64: '$types'" ;; *) ok ;; esac
tensors "$T/q4km.gguf" | grep -q '^output.weight q8_0 ' && ok || bad "output.weight is not q8_0 (llama.cpp's fallback)"

# requantizing needs the flag
"$OWL_BIN" quantize "$T/q8.gguf" "$T/rq.gguf" q4_0 2>"$T/err"
rc=$?
[ "$rc" -eq 1 ] && ok || bad "requantize without the flag: exit $rc"
grep -q 'allow-requantize' "$T/err" && ok || bad "requantize message: $(cat "$T/err")"
[ ! -e "$T/rq.gguf" ] && ok || bad "refused requantize left a file"
"$OWL_BIN" quantize --allow-requantize "$T/q8.gguf" "$T/rq.gguf" q4_0 2>"$T/err"
[ $? -eq 0 ] && ok || bad "requantize with the flag: $(cat "$T/err")"
# dequantizing back to f32 is always allowed
"$OWL_BIN" quantize "$T/q8.gguf" "$T/f32.gguf" f32 2>"$T/err"
[ $? -eq 0 ] && ok || bad "q8_0 -> f32: $(cat "$T/err")"
types=$("$OWL_BIN" info "$T/f32.gguf" | sed -n 's/^types: *//p')
[ "$types" = "f32:$(wc -l <"$T/in.txt" | tr -d ' ')" ] && ok || bad "f32 file types: '$types'"

# errors: one line, exit 1
one_line_fail() { # DESC PATTERN CMD...
    desc=$1 pat=$2
    shift 2
    "$@" >"$T/out" 2>"$T/err"
    rc=$?
    [ "$rc" -eq 1 ] && ok || bad "$desc: exit $rc"
    [ "$(wc -l <"$T/err")" -eq 1 ] && ok || bad "$desc: not one line: $(cat "$T/err")"
    grep -q "$pat" "$T/err" && ok || bad "$desc: message lacks '$pat': $(cat "$T/err")"
}
one_line_fail "unknown type" "unknown TYPE 'q4_9'" "$OWL_BIN" quantize "$IN" "$T/x.gguf" q4_9
one_line_fail "missing input" "no-such.gguf" "$OWL_BIN" quantize "$T/no-such.gguf" "$T/x.gguf" q8_0
one_line_fail "missing folder" "No such file" "$OWL_BIN" quantize "$IN" "$T/no/dir/x.gguf" q8_0
one_line_fail "same file" "same file" "$OWL_BIN" quantize "$T/q8.gguf" "$T/q8.gguf" q8_0
one_line_fail "two arguments" "expected IN.gguf OUT.gguf TYPE" "$OWL_BIN" quantize "$IN" q8_0
[ ! -e "$T/x.gguf" ] && ok || bad "a failed run left x.gguf"
if [ -w /dev/full ]; then
    one_line_fail "full disk" "No space left" "$OWL_BIN" quantize "$IN" /dev/full q8_0
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
