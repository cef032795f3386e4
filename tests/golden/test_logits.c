/* test_logits.c — owl's logits against transformers' on the same weights.
 *
 * Two models: SmolLM2-135M-Instruct Q4_1 (env OWL_SMOLLM2; tied output,
 * Q8_0 embeddings) and the tiny random llama with llama's SentencePiece
 * vocabulary (tests/fixtures/models/tiny-llama-spm.gguf; untied output, F16
 * and F32 weights, 2 query heads per KV head). For each, five sequences of
 * 64 token ids (a prompt, then transformers' greedy continuation) are fed to
 * owl's exact path (context params.exact = true) as one batch asking for the
 * logits of every row, and every row is held to the reference:
 *   - max |owl - ref| <= 1e-3 x max |ref| of that row,
 *   - the same argmax.
 * The first sequence is decoded again token by token (batches of one), to
 * cover the decode path as well as the prefill. The default (fast) path is
 * run too and its figures printed, not held to these bounds: it quantizes
 * activations, which the acceptance does not ask of it.
 *
 * The fixtures come from scripts/reference/make_logits_fixtures.py
 * (transformers in float64 on the GGUF's dequantized weights). Byte layout
 * of tests/fixtures/logits/<model>.logits, all little-endian:
 *
 *     char magic[8] "OWLLOGIT"; u32 version (1); u32 n_seq; u32 n_tok;
 *     u32 n_vocab; then n_seq records:
 *       i32 n_prompt; i32 tokens[n_tok];
 *       n_tok rows (row t = logits after tokens[0..t]):
 *         f32 scale; i32 argmax; f32 top1; f32 margin (top1 - top2);
 *         i16 q[n_vocab]            logit[v] = q[v] * scale
 *
 * The int16 rounding is at most scale/2 = 1.5e-5 x max|row|, which is
 * most of the max|diff| printed; the error at the reference's top-1 logit,
 * stored as f32, is printed too and shows owl's own error. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "owl.h"

#include "logits_fixture.h"

static void test_model(const char *label, const char *model_path, const char *fixture_path) {
    printf("%s: %s\n", label, model_path);
    fixture f;
    bool have = fixture_read(fixture_path, &f);
    CHECK(have, "%s: fixture %s", label, fixture_path);
    if (!have) return;
    owl_model_params mp = owl_model_default_params();
    owl_model *m = NULL;
    owl_status st = owl_model_load(model_path, &mp, &m);
    CHECK(st == OWL_OK, "%s: owl_model_load: %s", label, owl_last_error());
    if (st != OWL_OK) {
        fixture_free(&f);
        return;
    }
    owl_model_info info;
    owl_model_get_info(m, &info);
    CHECK(info.n_vocab == (int32_t)f.n_vocab, "%s: n_vocab %d, fixture %u", label, info.n_vocab,
          f.n_vocab);
    if (info.n_vocab != (int32_t)f.n_vocab) goto done;

    owl_context *exact = new_ctx(m, f.n_tok, true);
    owl_context *fast = new_ctx(m, f.n_tok, false);
    tally all = {0}, all_fast = {0};
    for (uint32_t s = 0; exact && s < f.n_seq; s++) {
        tally t = {0};
        run_batch(exact, &f, s, true, "exact, one batch", &t);
        print_tally("exact, one batch", s, &f, &t);
        tally_merge(&all, &t);
    }
    if (exact) {
        tally t = {0};
        run_one_by_one(exact, &f, 0, "exact, token by token", &t);
        print_tally("exact, token by token", 0, &f, &t);
        tally_merge(&all, &t);
    }
    for (uint32_t s = 0; fast && s < f.n_seq; s++) {
        tally t = {0};
        run_batch(fast, &f, s, false, "default (not checked)", &t);
        print_tally("default (not checked)", s, &f, &t);
        tally_merge(&all_fast, &t);
    }
    printf("%s: exact path max|diff|/max|logit| %.2e (top-1 %.1e), argmax equal %d/%d rows; "
           "default path %.2e (top-1 %.1e), %d/%d\n",
           label, all.worst_ratio, all.top1_ratio, all.argmax_same, all.rows,
           all_fast.worst_ratio, all_fast.top1_ratio, all_fast.argmax_same, all_fast.rows);
    owl_context_free(exact);
    owl_context_free(fast);
done:
    owl_model_free(m);
    fixture_free(&f);
}

int main(void) {
    const char *fx = check_env("OWL_FIXTURES");
    char model[4096], logits[4096];

    snprintf(logits, sizeof logits, "%s/logits/smollm2-135m-instruct-q4_1.logits", fx);
    test_model("SmolLM2-135M-Instruct Q4_1", check_env("OWL_SMOLLM2"), logits);

    snprintf(model, sizeof model, "%s/models/tiny-llama-spm.gguf", fx);
    snprintf(logits, sizeof logits, "%s/logits/tiny-llama-spm.logits", fx);
    test_model("tiny llama (SPM vocab)", model, logits);
    return check_done();
}
