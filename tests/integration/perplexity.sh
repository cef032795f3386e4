#!/bin/sh
# perplexity.sh — `owl perplexity` against perplexities computed by
# transformers (scripts/reference/make_ppl_fixtures.py: llama-perplexity's
# method in float64 on the GGUF's own weights, tokens from llama.cpp's
# tokenizer) on the opening of Hamlet, -c 128, for the tiny random llama
# (adds BOS, SPM vocab) and SmolLM2-135M Q4_1 (no BOS, BPE vocab).
#
# Bounds, as relative differences of PPL (= differences of the mean NLL in
# nats):
#   - exact path 1e-4: transformers float32 lands 8e-8 from float64 on both
#     models, owl's fp32 path about as close; scoring one position too many
#     or too few, a missing BOS or a chunk cut elsewhere moves PPL by
#     percents, so 1e-4 still catches every such mistake. The running value
#     after each chunk is held to the same bound, and so are -b 32 (four
#     decodes per chunk) and -b 512 (four chunks as sequences of one batch).
#   - default path 1e-2: its f16 KV cache and 8-bit activations move
#     SmolLM2's PPL by 2.6e-3 (KL-divergence from the exact path 3e-3 nats).
# KL-divergence: a run against its own base scores |mean KLD| < 1e-5 (the
# base holds log-probabilities in 16 bits) and the same top token
# everywhere; the default path against the exact base stays below 0.01.
set -u
: "${OWL_BIN:?}" "${OWL_TMP:?}" "${OWL_FIXTURES:?}" "${OWL_SMOLLM2:?}"
D=$OWL_FIXTURES/perplexity
TEXT=$D/hamlet.txt
T=$OWL_TMP/perplexity.$$
mkdir -p "$T" && trap 'rm -rf "$T"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }

key() { sed -n "s/^$2=//p" "$1"; }
# within A B TOL: |A/B - 1| <= TOL
within() { awk -v a="$1" -v b="$2" -v t="$3" 'BEGIN { d = a / b - 1; if (d < 0) d = -d; exit !(d <= t) }'; }
final() { sed -n 's/^Final estimate: PPL = \([0-9.]*\) +\/- [0-9.]*$/\1/p' "$1"; }
# the running values [i]X, one a line
running() { head -n 1 "$1" | tr ',' '\n' | sed -n 's/^\[[0-9]*\]//p'; }
stat() { sed -n "s/^$2 *: *\\([-0-9.]*\\).*/\\1/p" "$1"; }

ppl() { "$OWL_BIN" perplexity -f "$TEXT" -c 128 "$@" >"$T/out" 2>"$T/err"; }

for pair in "tiny-llama-spm:$OWL_FIXTURES/models/tiny-llama-spm.gguf" \
            "smollm2-135m-instruct-q4_1:$OWL_SMOLLM2"; do
    name=${pair%%:*} M=${pair#*:} F=$D/$name.ppl
    ref=$(key "$F" ppl) ntok=$(key "$F" n_tokens) nchunk=$(key "$F" n_chunks)

    ppl -m "$M" --exact || bad "$name --exact: exit $?: $(cat "$T/err")"
    v=$(final "$T/out")
    [ -n "$v" ] && within "$v" "$ref" 1e-4 && ok || bad "$name --exact: PPL '$v', reference $ref"
    grep -q "^owl perplexity: $ntok tokens; $nchunk chunks" "$T/err" && ok ||
        bad "$name: expected $ntok tokens, $nchunk chunks: $(head -n 1 "$T/err")"
    running "$T/out" >"$T/mine"
    key "$F" running | tr ' ' '\n' >"$T/ref"
    [ "$(wc -l <"$T/mine")" -eq "$nchunk" ] && ok || bad "$name: $(wc -l <"$T/mine") running values, expected $nchunk"
    paste "$T/mine" "$T/ref" | awk '{ d = $1 / $2 - 1; if (d < 0) d = -d; if (!(d <= 1e-4)) { print; exit 1 } }' \
        >"$T/diff" && ok || bad "$name: running PPL after a chunk off the reference (mine, ref): $(cat "$T/diff")"

    bs="32 512"
    [ "$name" = tiny-llama-spm ] || bs=512 # the decode split is the same code on every model
    for b in $bs; do
        ppl -m "$M" --exact -b $b || bad "$name -b $b: exit $?: $(cat "$T/err")"
        v=$(final "$T/out")
        [ -n "$v" ] && within "$v" "$ref" 1e-4 && ok || bad "$name --exact -b $b: PPL '$v', reference $ref"
    done

    ppl -m "$M" --exact --chunks 3 || bad "$name --chunks 3: exit $?"
    v=$(final "$T/out") r3=$(sed -n 3p "$T/ref")
    [ "$(running "$T/out" | wc -l)" -eq 3 ] && [ -n "$v" ] && within "$v" "$r3" 1e-4 && ok ||
        bad "$name --chunks 3: PPL '$v', reference after 3 chunks $r3"

    ppl -m "$M" || bad "$name default path: exit $?: $(cat "$T/err")"
    v=$(final "$T/out")
    [ -n "$v" ] && within "$v" "$ref" 1e-2 && ok || bad "$name default path: PPL '$v', reference $ref"

    # base from the exact path; its size follows llama-perplexity's layout
    ppl -m "$M" --exact --kl-divergence-base "$T/base" || bad "$name: writing the base: $(cat "$T/err")"
    nv=$("$OWL_BIN" info -m "$M" 2>/dev/null | sed -n 's/^n_vocab: *//p')
    size=$(( 20 + 4 * nchunk * 128 + 2 * nchunk * 63 * (2 * ((nv + 1) / 2) + 4) ))
    [ "$(wc -c <"$T/base")" -eq "$size" ] && ok || bad "$name: base is $(wc -c <"$T/base") bytes, expected $size"

    "$OWL_BIN" perplexity -m "$M" --exact --kl-divergence-base "$T/base" --kl-divergence >"$T/out" 2>"$T/err" ||
        bad "$name: --kl-divergence against its own base: exit $?: $(cat "$T/err")"
    k=$(stat "$T/out" "Mean    KLD") top=$(stat "$T/out" "Same top p") q=$(stat "$T/out" "Mean PPL(Q)")
    [ -n "$k" ] && awk -v k="$k" 'BEGIN { exit !(k < 1e-5 && k > -1e-5) }' && ok || bad "$name: self KLD '$k'"
    [ "$top" = "100.000" ] && ok || bad "$name: self same top p '$top', expected 100.000"
    [ -n "$q" ] && within "$q" "$ref" 1e-4 && ok || bad "$name: --kl-divergence PPL(Q) '$q', reference $ref"
    [ "$(grep -c '^ *[0-9][0-9]*  .*%$' "$T/out")" -eq "$nchunk" ] && ok || bad "$name: expected a table row per chunk"

    "$OWL_BIN" perplexity -m "$M" --kl-divergence-base "$T/base" --kl-divergence >"$T/out" 2>"$T/err" ||
        bad "$name: default path --kl-divergence: exit $?: $(cat "$T/err")"
    k=$(stat "$T/out" "Mean    KLD")
    [ -n "$k" ] && awk -v k="$k" 'BEGIN { exit !(k >= 0 && k < 0.01) }' && ok ||
        bad "$name: KLD of the default path from the exact one '$k', expected < 0.01"
    for s in "Maximum KLD" "99.0%   KLD" "Median  KLD" "Mean    Δp" "RMS Δp" "Mean PPL(Q)/PPL(base)"; do
        grep -q "^$s" "$T/out" && ok || bad "$name: no '$s' line"
    done
done

echo "perplexity: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
