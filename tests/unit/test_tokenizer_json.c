/* test_tokenizer_json.c — tokenizer.json files that are wrong: wrong JSON
 * types, missing keys, huge numbers, ids out of range, invalid UTF-8,
 * merges of unknown tokens, broken post-processors and configs. Each must
 * be refused with one clear error (the file named, the problem said, one
 * line) and the right status, leaving nothing allocated (run under ASan);
 * a minimal well-formed file must load and tokenize; a richer one cut short
 * at every byte and mutated 1500 times must never crash. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "check.h"
#include "tokenizer/tokenizer.h"

#define VOCAB "\"vocab\": {\"a\": 0, \"b\": 1, \"ab\": 2}"
#define BL "\"pre_tokenizer\": {\"type\": \"ByteLevel\"}, \"decoder\": {\"type\": \"ByteLevel\"}"
/* a well-formed byte-level BPE with ... standing for the rest */
#define OK_MODEL "\"model\": {\"type\": \"BPE\", " VOCAB ", \"merges\": [\"a b\"]}"

typedef struct bad_case {
    const char *name, *json, *config, *msg;
    owl_status want;
} bad_case;

static const bad_case cases[] = {
    {"syntax", "{\"model\": ", NULL, "tokenizer.json:", OWL_ERR_FORMAT},
    {"array_root", "[1, 2]", NULL, "not a JSON object", OWL_ERR_FORMAT},
    {"no_model", "{}", NULL, "model", OWL_ERR_FORMAT},
    {"model_string", "{\"model\": \"BPE\"}", NULL, "model", OWL_ERR_FORMAT},
    {"type_number", "{\"model\": {\"type\": 5, " VOCAB "}}", NULL, "model.type", OWL_ERR_FORMAT},
    {"wordpiece", "{\"model\": {\"type\": \"WordPiece\", \"vocab\": {}}}", NULL, "WordPiece", OWL_ERR_UNSUPPORTED},
    {"no_vocab", "{\"model\": {\"type\": \"BPE\", \"merges\": []}, " BL "}", NULL, "model.vocab", OWL_ERR_FORMAT},
    {"vocab_array", "{\"model\": {\"type\": \"BPE\", \"vocab\": [\"a\"], \"merges\": []}, " BL "}", NULL, "model.vocab",
     OWL_ERR_FORMAT},
    {"id_negative", "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": -3}, \"merges\": []}, " BL "}", NULL, "not an id",
     OWL_ERR_FORMAT},
    {"id_string", "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": \"0\"}, \"merges\": []}, " BL "}", NULL,
     "not an id", OWL_ERR_FORMAT},
    {"id_float", "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 1.5}, \"merges\": []}, " BL "}", NULL, "not an id",
     OWL_ERR_FORMAT},
    {"id_huge", "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 99999999999999999999999999}, \"merges\": []}, " BL "}",
     NULL, "too big integer", OWL_ERR_FORMAT},
    {"id_2e9", "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 2000000000}, \"merges\": []}, " BL "}", NULL,
     "not an id", OWL_ERR_FORMAT},
    {"id_far", "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 900000000}, \"merges\": []}, " BL "}", NULL,
     "not an id", OWL_ERR_FORMAT},
    {"id_1e300", "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 1e300}, \"merges\": []}, " BL "}", NULL, "not an id",
     OWL_ERR_FORMAT},
    {"empty_vocab", "{\"model\": {\"type\": \"BPE\", \"vocab\": {}, \"merges\": []}, " BL "}", NULL, "empty vocabulary",
     OWL_ERR_FORMAT},
    {"no_merges", "{\"model\": {\"type\": \"BPE\", " VOCAB "}, " BL "}", NULL, "model.merges", OWL_ERR_FORMAT},
    {"merges_object", "{\"model\": {\"type\": \"BPE\", " VOCAB ", \"merges\": {}}, " BL "}", NULL, "model.merges",
     OWL_ERR_FORMAT},
    {"merge_number", "{\"model\": {\"type\": \"BPE\", " VOCAB ", \"merges\": [7]}, " BL "}", NULL, "merges[0]",
     OWL_ERR_FORMAT},
    {"merge_nospace", "{\"model\": {\"type\": \"BPE\", " VOCAB ", \"merges\": [\"ab\"]}, " BL "}", NULL, "merges[0]",
     OWL_ERR_FORMAT},
    {"merge_one", "{\"model\": {\"type\": \"BPE\", " VOCAB ", \"merges\": [[\"a\"]]}, " BL "}", NULL, "merges[0]",
     OWL_ERR_FORMAT},
    {"merge_unknown", "{\"model\": {\"type\": \"BPE\", " VOCAB ", \"merges\": [\"a b\", \"a z\"]}, " BL "}", NULL,
     "merges[1]: 'z' is not in the vocabulary", OWL_ERR_FORMAT},
    {"merge_result", "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 1}, \"merges\": [[\"a\", \"b\"]]}, " BL "}",
     NULL, "'ab' is not in the vocabulary", OWL_ERR_FORMAT},
    {"added_string", "{" OK_MODEL ", \"added_tokens\": \"x\", " BL "}", NULL, "added_tokens", OWL_ERR_FORMAT},
    {"added_no_id", "{" OK_MODEL ", \"added_tokens\": [{\"content\": \"<s>\"}], " BL "}", NULL, "added_tokens[0]",
     OWL_ERR_FORMAT},
    {"added_far_id", "{" OK_MODEL ", \"added_tokens\": [{\"id\": 5000000, \"content\": \"<s>\"}], " BL "}", NULL,
     "added_tokens[0]", OWL_ERR_FORMAT},
    {"added_content", "{" OK_MODEL ", \"added_tokens\": [{\"id\": 3, \"content\": 42}], " BL "}", NULL, "added_tokens[0]",
     OWL_ERR_FORMAT},
    {"added_empty", "{" OK_MODEL ", \"added_tokens\": [{\"id\": 3, \"content\": \"\"}], " BL "}", NULL, "added_tokens[0]",
     OWL_ERR_FORMAT},
    {"added_flag", "{" OK_MODEL ", \"added_tokens\": [{\"id\": 3, \"content\": \"<s>\", \"special\": \"yes\"}], " BL "}",
     NULL, "special", OWL_ERR_FORMAT},
    {"bad_utf8", "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\xff\": 0}, \"merges\": []}, " BL "}", NULL,
     "tokenizer.json:", OWL_ERR_FORMAT},
    {"nul_in_string", "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\\u0000b\": 0}, \"merges\": []}, " BL "}", NULL,
     "tokenizer.json:", OWL_ERR_FORMAT},
    {"lone_surrogate", "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"\\ud800\": 0}, \"merges\": []}, " BL "}", NULL,
     "tokenizer.json:", OWL_ERR_FORMAT},
    {"byte_fallback_str", "{\"model\": {\"type\": \"BPE\", " VOCAB ", \"merges\": [], \"byte_fallback\": \"yes\"}, " BL "}",
     NULL, "byte_fallback", OWL_ERR_FORMAT},
    {"dropout", "{\"model\": {\"type\": \"BPE\", " VOCAB ", \"merges\": [], \"dropout\": 0.1}, " BL "}", NULL, "dropout",
     OWL_ERR_UNSUPPORTED},
    {"unk_missing", "{\"model\": {\"type\": \"BPE\", " VOCAB ", \"merges\": [], \"unk_token\": \"<unk>\"}, " BL "}", NULL,
     "unk_token", OWL_ERR_FORMAT},
    {"norm_untyped", "{" OK_MODEL ", \"normalizer\": {}, " BL "}", NULL, "normalizer without a type", OWL_ERR_FORMAT},
    {"norm_unknown", "{" OK_MODEL ", \"normalizer\": {\"type\": \"Precompiled\"}, " BL "}", NULL, "Precompiled",
     OWL_ERR_UNSUPPORTED},
    {"norm_seq", "{" OK_MODEL ", \"normalizer\": {\"type\": \"Sequence\", \"normalizers\": 3}, " BL "}", NULL,
     "Sequence", OWL_ERR_FORMAT},
    {"norm_replace", "{" OK_MODEL ", \"normalizer\": {\"type\": \"Replace\", \"pattern\": {\"String\": \"a\"}}, " BL "}",
     NULL, "Replace", OWL_ERR_FORMAT},
    {"norm_regex", "{" OK_MODEL ", \"normalizer\": {\"type\": \"Replace\", \"pattern\": {\"Regex\": \"[\"}, "
                   "\"content\": \"x\"}, " BL "}",
     NULL, "Replace normalizer regex", OWL_ERR_UNSUPPORTED},
    {"split_regex", "{" OK_MODEL ", \"pre_tokenizer\": {\"type\": \"Split\", \"behavior\": \"Isolated\", "
                    "\"pattern\": {\"Regex\": \"(unclosed\"}}, \"decoder\": {\"type\": \"ByteLevel\"}}",
     NULL, "regex", OWL_ERR_UNSUPPORTED},
    {"split_behavior", "{" OK_MODEL ", \"pre_tokenizer\": {\"type\": \"Split\", \"behavior\": \"Sideways\", "
                       "\"pattern\": {\"Regex\": \"a\"}}, \"decoder\": {\"type\": \"ByteLevel\"}}",
     NULL, "behavior", OWL_ERR_FORMAT},
    {"split_nopattern", "{" OK_MODEL ", \"pre_tokenizer\": {\"type\": \"Split\", \"behavior\": \"Isolated\", "
                        "\"pattern\": 5}, \"decoder\": {\"type\": \"ByteLevel\"}}",
     NULL, "pattern", OWL_ERR_FORMAT},
    {"pre_unknown", "{" OK_MODEL ", \"pre_tokenizer\": {\"type\": \"UnicodeScripts\"}, \"decoder\": {\"type\": \"ByteLevel\"}}",
     NULL, "UnicodeScripts", OWL_ERR_UNSUPPORTED},
    {"metaspace_scheme", "{" OK_MODEL ", \"pre_tokenizer\": {\"type\": \"Metaspace\", \"prepend_scheme\": \"sometimes\"}}",
     NULL, "prepend_scheme", OWL_ERR_FORMAT},
    {"not_byte_level", "{" OK_MODEL "}", NULL, "neither byte-level", OWL_ERR_UNSUPPORTED},
    {"decoder_unknown", "{" OK_MODEL ", \"pre_tokenizer\": {\"type\": \"ByteLevel\"}, \"decoder\": {\"type\": \"CTC\"}}",
     NULL, "CTC", OWL_ERR_UNSUPPORTED},
    {"post_unknown_id", "{" OK_MODEL ", " BL ", \"post_processor\": {\"type\": \"TemplateProcessing\", \"single\": "
                        "[{\"SpecialToken\": {\"id\": \"<s>\"}}, {\"Sequence\": {\"id\": \"A\"}}], \"special_tokens\": "
                        "{\"<s>\": {\"ids\": [70000]}}}}",
     NULL, "post_processor", OWL_ERR_FORMAT},
    {"post_no_ids", "{" OK_MODEL ", " BL ", \"post_processor\": {\"type\": \"TemplateProcessing\", \"single\": "
                    "[{\"SpecialToken\": {\"id\": \"<s>\"}}], \"special_tokens\": {}}}",
     NULL, "has no ids", OWL_ERR_FORMAT},
    {"post_single", "{" OK_MODEL ", " BL ", \"post_processor\": {\"type\": \"TemplateProcessing\", \"single\": 1}}",
     NULL, "single", OWL_ERR_FORMAT},
    {"post_too_many", "{" OK_MODEL ", " BL ", \"post_processor\": {\"type\": \"TemplateProcessing\", \"single\": "
                      "[{\"SpecialToken\": {\"id\": \"x\"}}], \"special_tokens\": {\"x\": {\"ids\": "
                      "[0,0,0,0,0,0,0,0,0,0,0,0]}}}}",
     NULL, "more than", OWL_ERR_UNSUPPORTED},
    {"config_syntax", "{" OK_MODEL ", " BL "}", "{\"bos_token\": ", "tokenizer_config.json:", OWL_ERR_FORMAT},
    {"config_array", "{" OK_MODEL ", " BL "}", "[]", "tokenizer_config.json: not a JSON object", OWL_ERR_FORMAT},
};

static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL, "cannot write %s", path);
    if (!f) return;
    fputs(text, f);
    fclose(f);
}

/* A folder OWL_TMP/tokjson_NAME with tokenizer.json (and the config). */
static void make_dir(char *dir, size_t cap, const char *name, const char *json, const char *config) {
    char path[4300];
    snprintf(dir, cap, "%s/tokjson_%s", check_env("OWL_TMP"), name);
    mkdir(dir, 0755);
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    write_file(path, json);
    snprintf(path, sizeof path, "%s/tokenizer_config.json", dir);
    if (config) write_file(path, config);
    else remove(path);
}

static void test_bad(void) {
    char dir[4096];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const bad_case *c = &cases[i];
        make_dir(dir, sizeof dir, c->name, c->json, c->config);
        tokenizer *t = NULL;
        owl_status st = tokenizer_from_hf_dir(dir, &t);
        const char *e = owl_last_error();
        CHECK(st == c->want && t == NULL, "%s: status %d (want %d), \"%s\"", c->name, st, c->want, e);
        CHECK(strstr(e, c->msg) != NULL, "%s: the message \"%s\" does not say \"%s\"", c->name, e, c->msg);
        CHECK(strstr(e, dir) == e && strchr(e, '\n') == NULL, "%s: the message \"%s\" is not one line naming the file",
              c->name, e);
        tokenizer_free(t);
    }
    printf("%zu malformed or unsupported tokenizer.json files refused\n", sizeof cases / sizeof cases[0]);

    /* nesting deeper than the JSON parser allows */
    size_t depth = 5000, n = 0;
    char *deep = malloc(depth * 64 + 256);
    n += (size_t)sprintf(deep, "{" OK_MODEL ", " BL ", \"normalizer\": ");
    for (size_t k = 0; k < depth; k++) n += (size_t)sprintf(deep + n, "{\"type\": \"Sequence\", \"normalizers\": [");
    for (size_t k = 0; k < depth; k++) n += (size_t)sprintf(deep + n, "]}");
    sprintf(deep + n, "}");
    make_dir(dir, sizeof dir, "deep", deep, NULL);
    free(deep);
    tokenizer *t = NULL;
    owl_status st = tokenizer_from_hf_dir(dir, &t);
    CHECK(st == OWL_ERR_FORMAT && t == NULL, "deep nesting: status %d, \"%s\"", st, owl_last_error());
    /* too many normalizer steps */
    char many[8192];
    n = (size_t)sprintf(many, "{" OK_MODEL ", " BL ", \"normalizer\": {\"type\": \"Sequence\", \"normalizers\": [");
    for (int k = 0; k < 100; k++) n += (size_t)sprintf(many + n, "%s{\"type\": \"NFC\"}", k ? ", " : "");
    sprintf(many + n, "]}}");
    make_dir(dir, sizeof dir, "many_steps", many, NULL);
    st = tokenizer_from_hf_dir(dir, &t);
    CHECK(st == OWL_ERR_UNSUPPORTED && t == NULL, "100 normalizer steps: status %d, \"%s\"", st, owl_last_error());

    snprintf(dir, sizeof dir, "%s/tokjson_missing_folder_owl", check_env("OWL_TMP"));
    st = tokenizer_from_hf_dir(dir, &t);
    CHECK(st == OWL_ERR_IO && t == NULL && strstr(owl_last_error(), "cannot open"), "missing folder: %d, %s", st,
          owl_last_error());
}

/* the well-formed minimal file loads and merges; holes in the ids are filled */
static void test_good(void) {
    char dir[4096];
    make_dir(dir, sizeof dir, "good",
             "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 1, \"ab\": 2, \"c\": 5}, \"merges\": "
             "[[\"a\", \"b\"]]}, \"added_tokens\": [{\"id\": 7, \"content\": \"<s>\", \"special\": true}], " BL
             ", \"post_processor\": {\"type\": \"TemplateProcessing\", \"single\": [{\"SpecialToken\": {\"id\": \"<s>\"}}, "
             "{\"Sequence\": {\"id\": \"A\"}}], \"special_tokens\": {\"<s>\": {\"ids\": [7]}}}}",
             "{\"model_max_length\": 1000000000000000019884624838656, \"bos_token\": \"<s>\"}");
    tokenizer *t = NULL;
    owl_status st = tokenizer_from_hf_dir(dir, &t);
    CHECK(st == OWL_OK, "good: %s", owl_last_error());
    if (st) return;
    CHECK(tokenizer_n_vocab(t) == 8 && tokenizer_bos(t) == 7, "good: %d tokens, bos %d", tokenizer_n_vocab(t),
          tokenizer_bos(t));
    owl_token *ids = NULL;
    size_t n = 0;
    st = tokenizer_encode(t, "ab<s>c", 6, true, true, &ids, &n);
    CHECK(st == OWL_OK && n == 4 && ids[0] == 7 && ids[1] == 2 && ids[2] == 7 && ids[3] == 5, "good: \"ab<s>c\" -> %zu ids",
          n);
    char *text = NULL;
    size_t len = 0;
    if (st == OWL_OK) {
        CHECK(tokenizer_decode(t, ids, n, true, &text, &len) == OWL_OK && len == 3 && memcmp(text, "abc", 3) == 0,
              "good: decode skipping specials gives \"%.*s\"", (int)len, text ? text : "");
        free(text);
    }
    owl_token bad = 99;
    CHECK(tokenizer_chat_template(t) == NULL, "good: a chat template from nowhere");
    CHECK(tokenizer_decode(t, &bad, 1, false, &text, &len) == OWL_ERR_ARG && text == NULL, "decode of id 99 accepted");
    free(ids);
    tokenizer_free(t);
}

/* A well-formed file cut short at every byte and with bytes changed
 * (seeded): each load either fails with a message or gives a tokenizer
 * that encodes and decodes; nothing crashes or leaks (under ASan). */
static void test_mutations(void) {
    static const char good[] =
        "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 1, \"ab\": 2, \"\\u2581\": 3, \"<0x41>\": 4}, "
        "\"merges\": [\"a b\"], \"byte_fallback\": false, \"unk_token\": null}, \"added_tokens\": [{\"id\": 5, "
        "\"content\": \"<s>\", \"special\": true, \"lstrip\": true, \"rstrip\": false, \"normalized\": false, "
        "\"single_word\": true}], \"normalizer\": {\"type\": \"Sequence\", \"normalizers\": [{\"type\": \"NFKC\"}, "
        "{\"type\": \"Lowercase\"}]}, \"pre_tokenizer\": {\"type\": \"Sequence\", \"pretokenizers\": [{\"type\": "
        "\"Split\", \"pattern\": {\"Regex\": \"\\\\s+\"}, \"behavior\": \"MergedWithNext\", \"invert\": false}, "
        "{\"type\": \"ByteLevel\", \"add_prefix_space\": false, \"use_regex\": true}]}, \"decoder\": {\"type\": "
        "\"ByteLevel\"}, \"post_processor\": {\"type\": \"TemplateProcessing\", \"single\": [{\"SpecialToken\": "
        "{\"id\": \"<s>\"}}, {\"Sequence\": {\"id\": \"A\"}}], \"special_tokens\": {\"<s>\": {\"ids\": [5]}}}}";
    size_t n = strlen(good), loaded = 0, refused = 0;
    char *buf = malloc(n + 1), dir[4096];
    uint32_t seed = 12345;
    static const char repl[] = "\"{}[]:,0-9e\\ \xff\x80" "ab";
    for (size_t k = 0; k < n + 1500; k++) {
        memcpy(buf, good, n + 1);
        if (k < n) {
            buf[k] = 0; /* cut short */
        } else {
            for (int j = 0; j < 3; j++) {
                seed = seed * 1103515245u + 12345u;
                size_t at = (seed >> 8) % n;
                seed = seed * 1103515245u + 12345u;
                buf[at] = repl[(seed >> 8) % (sizeof repl - 1)];
            }
        }
        make_dir(dir, sizeof dir, "mutant", buf, NULL);
        tokenizer *t = NULL;
        owl_status st = tokenizer_from_hf_dir(dir, &t);
        if (st) {
            refused++;
            CHECK(t == NULL && owl_last_error()[0], "mutant %zu: status %d without a message", k, st);
            continue;
        }
        loaded++;
        owl_token *ids = NULL;
        size_t m = 0;
        st = tokenizer_encode(t, "ab <s> AB\xff b", 13, true, true, &ids, &m);
        CHECK(st == OWL_OK, "mutant %zu loads but does not encode: %s", k, owl_last_error());
        char *text = NULL;
        size_t len;
        if (st == OWL_OK) CHECK(tokenizer_decode(t, ids, m, false, &text, &len) == OWL_OK, "mutant %zu: decode", k);
        free(text);
        free(ids);
        tokenizer_free(t);
    }
    free(buf);
    printf("%zu mutants of a tokenizer.json: %zu refused with a message, %zu loaded and tokenize\n", loaded + refused,
           refused, loaded);
    CHECK(loaded > 0 && refused > n, "mutants: %zu loaded, %zu refused", loaded, refused);
}

/* The chat template in chat_template.jinja (newer transformers) when the
 * config has none: SmolLM2's folder; and one with a NUL byte is refused. */
static void test_template_file(void) {
    char dir[4096], path[4300];
    snprintf(dir, sizeof dir, "%s/tokenizer/smollm2-hf", check_env("OWL_FIXTURES"));
    tokenizer *t = NULL;
    owl_status st = tokenizer_from_hf_dir(dir, &t);
    CHECK(st == OWL_OK, "smollm2-hf: %s", owl_last_error());
    const char *tm = st ? NULL : tokenizer_chat_template(t);
    CHECK(tm && strncmp(tm, "{% for message in messages %}", 29) == 0 && strstr(tm, "<|im_start|>"),
          "smollm2-hf: chat template \"%.40s\"", tm ? tm : "(none)");
    tokenizer_free(t);
    make_dir(dir, sizeof dir, "nul_template", "{" OK_MODEL ", " BL "}", NULL);
    snprintf(path, sizeof path, "%s/chat_template.jinja", dir);
    FILE *f = fopen(path, "wb");
    if (f) {
        fwrite("{{ x }}\0y", 1, 9, f);
        fclose(f);
    }
    t = NULL;
    st = tokenizer_from_hf_dir(dir, &t);
    CHECK(st == OWL_ERR_FORMAT && t == NULL && strstr(owl_last_error(), "chat_template.jinja"), "NUL template: %d %s", st,
          owl_last_error());
    remove(path);
}

int main(void) {
    test_bad();
    test_template_file();
    test_good();
    test_mutations();
    return check_done();
}
