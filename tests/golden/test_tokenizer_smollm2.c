/* test_tokenizer_smollm2.c — SmolLM2's own tokenizer and chat template
 * against references, through the public API.
 *
 * tests/fixtures/tokenizer/smollm2.json (scripts/reference/
 * tokenizer_smollm2.py) holds 200 strings (prose in many scripts, code,
 * emoji, whitespace runs, digits, special tokens inside text) with the ids
 * llama.cpp gives for them: plain, with special tokens parsed, and with
 * add_special; and renderings by jinja2 of the GGUF's chat template, a
 * plain ChatML template, Llama 3's and Gemma 2's. Each id list must be equal; decoding the
 * plain ids with the streaming detokenizer must give the text back. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "owl.h"
#include "tokenizer/chat_template.h"

static bool ids_equal(const owl_token *got, size_t n, json_t *want) {
    if (n != json_array_size(want)) return false;
    for (size_t i = 0; i < n; i++)
        if (got[i] != (owl_token)json_integer_value(json_array_get(want, i))) return false;
    return true;
}

static void print_ids(const char *what, const owl_token *ids, size_t n) {
    fprintf(stderr, "  %s:", what);
    for (size_t i = 0; i < n; i++) fprintf(stderr, " %d", ids[i]);
    fprintf(stderr, "\n");
}

static int check_ids(owl_model *m, const char *text, bool add_special, bool parse_special, json_t *want,
                     const char *what) {
    owl_token *ids = NULL;
    size_t n = 0;
    owl_status st = owl_tokenize(m, text, strlen(text), add_special, parse_special, &ids, &n);
    bool ok = st == OWL_OK && ids_equal(ids, n, want);
    CHECK(ok, "%s ids differ for \"%.80s\" (%s)", what, text, st ? owl_last_error() : "");
    if (!ok) {
        print_ids("got ", ids, n);
        owl_token w[4096];
        size_t nw = json_array_size(want);
        for (size_t i = 0; i < nw && i < 4096; i++) w[i] = (owl_token)json_integer_value(json_array_get(want, i));
        print_ids("want", w, nw);
    }
    owl_free(ids);
    return ok;
}

int main(void) {
    const char *fixtures = check_env("OWL_FIXTURES"), *model_path = check_env("OWL_SMOLLM2");
    char path[4096];
    snprintf(path, sizeof path, "%s/tokenizer/smollm2.json", fixtures);
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr);
    CHECK(root != NULL, "%s: %s", path, jerr.text);
    owl_model_params mp = owl_model_default_params();
    mp.vocab_only = true;
    owl_model *m = NULL;
    owl_status st = owl_model_load(model_path, &mp, &m);
    CHECK(st == OWL_OK, "load %s: %s", model_path, owl_last_error());
    if (!root || st) {
        json_decref(root);
        return check_done();
    }

    json_t *cases = json_object_get(root, "cases");
    size_t n_cases = json_array_size(cases), ok_plain = 0, ok_special = 0, ok_add = 0, ok_round = 0;
    CHECK(n_cases >= 200, "only %zu cases", n_cases);
    owl_detok *d = NULL;
    CHECK(owl_detok_new(m, &d) == OWL_OK, "detok_new: %s", owl_last_error());
    for (size_t i = 0; i < n_cases; i++) {
        json_t *c = json_array_get(cases, i);
        const char *text = json_string_value(json_object_get(c, "text"));
        ok_plain += check_ids(m, text, false, false, json_object_get(c, "ids"), "plain");
        ok_special += check_ids(m, text, false, true, json_object_get(c, "ids_special"), "parse_special");
        ok_add += check_ids(m, text, true, true, json_object_get(c, "ids_add_special"), "add_special");

        /* the plain ids, streamed back, are the text again */
        json_t *ids = json_object_get(c, "ids");
        char *out = malloc(strlen(text) * 3 + 16);
        size_t n = 0;
        for (size_t k = 0; k < json_array_size(ids); k++) {
            const char *s;
            size_t l;
            owl_detok_push(d, (owl_token)json_integer_value(json_array_get(ids, k)), &s, &l);
            memcpy(out + n, s, l);
            n += l;
        }
        const char *s;
        size_t l;
        owl_detok_flush(d, &s, &l);
        memcpy(out + n, s, l);
        n += l;
        bool same = n == strlen(text) && memcmp(out, text, n) == 0;
        CHECK(same, "detokenized \"%.*s\" is not \"%.80s\"", (int)(n > 80 ? 80 : n), out, text);
        ok_round += same;
        free(out);
    }
    owl_detok_free(d);
    printf("smollm2: %zu/%zu plain, %zu/%zu parse_special, %zu/%zu add_special match llama.cpp; %zu/%zu round-trip\n",
           ok_plain, n_cases, ok_special, n_cases, ok_add, n_cases, ok_round, n_cases);

    /* chat: the model's template through owl_chat_apply, the others
     * (plain ChatML, Llama 3, Gemma 2) through the renderer directly */
    json_t *chats = json_object_get(root, "chats"), *templates = json_object_get(root, "templates");
    size_t n_chat_ok = 0, n_chats = json_array_size(chats);
    CHECK(n_chats >= 50, "only %zu chats", n_chats);
    for (size_t i = 0; i < n_chats; i++) {
        json_t *c = json_array_get(chats, i), *msgs = json_object_get(c, "messages");
        size_t n = json_array_size(msgs);
        owl_chat_msg mv[16];
        for (size_t k = 0; k < n && k < 16; k++) {
            mv[k].role = json_string_value(json_object_get(json_array_get(msgs, k), "role"));
            mv[k].content = json_string_value(json_object_get(json_array_get(msgs, k), "content"));
        }
        bool gen = json_is_true(json_object_get(c, "add_generation_prompt"));
        const char *want = json_string_value(json_object_get(c, "text")), *name =
            json_string_value(json_object_get(c, "template"));
        char *got = NULL;
        if (strcmp(name, "smollm2") == 0)
            st = owl_chat_apply(m, mv, n, gen, &got);
        else
            st = chat_template_apply(json_string_value(json_object_get(templates, name)),
                                     json_string_value(json_object_get(c, "bos_token")), mv, n, gen, &got);
        /* a conversation jinja2 refuses (raise_exception) is refused too */
        bool ok = want ? st == OWL_OK && strcmp(got, want) == 0 : st == OWL_ERR_ARG && got == NULL;
        CHECK(ok, "chat %zu (%s, %zu messages, gen %d): got \"%s\" want \"%s\" %s", i, name, n, gen,
              got ? got : "", want ? want : "(an error)", st ? owl_last_error() : "");
        n_chat_ok += ok;
        owl_free(got);
    }
    printf("chat: %zu/%zu renderings match jinja2\n", n_chat_ok, n_chats);

    /* any template renders through the Jinja interpreter; a broken one is refused with line and column */
    char *got = NULL;
    owl_chat_msg one = {"user", "hi"};
    st = chat_template_apply("{{ messages[0]['content'] }}", NULL, &one, 1, false, &got);
    CHECK(st == OWL_OK && got && strcmp(got, "hi") == 0, "plain template: status %d, \"%s\"", st,
          got ? got : owl_last_error());
    owl_free(got);
    got = NULL;
    st = chat_template_apply("<|im_start|>{% if tools %}{{ tools }}{% endif %}", NULL, &one, 1, false, &got);
    CHECK(st == OWL_OK && got && strcmp(got, "<|im_start|>") == 0, "tools template: status %d", st);
    owl_free(got);
    got = NULL;
    st = chat_template_apply("{% for m in messages %}\n{{ m.role ) }}{% endfor %}", NULL, &one, 1, false, &got);
    CHECK(st == OWL_ERR_FORMAT && got == NULL && strstr(owl_last_error(), "line 2 column"),
          "broken template: status %d, \"%s\"", st, owl_last_error());

    owl_model_free(m);
    json_decref(root);
    return check_done();
}
