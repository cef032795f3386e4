/* test_safetensors.c — the safetensors reader, the tensor directory of a
 * Hugging Face folder (shards, FP8 with block scales) and config.json
 * parsing, on well-formed and malformed input.
 *
 * Each malformed case must give one clear error (the status and a message
 * naming the problem) and no crash or leak (the ASan build of `make test`
 * runs this too). Files are written under OWL_TMP. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "io/hf_config.h"
#include "io/safetensors.h"
#include "io/tensor_dir.h"
#include "owl.h"

static char tmp[4096];

/* Writes u64 hlen (or the real length when hlen == UINT64_MAX), header, data. */
static void write_st(const char *path, const char *header, uint64_t hlen, const void *data, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) {
        perror(path);
        exit(1);
    }
    uint64_t L = hlen == UINT64_MAX ? strlen(header) : hlen;
    unsigned char b[8];
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)(L >> (8 * i));
    fwrite(b, 1, 8, f);
    fwrite(header, 1, strlen(header), f);
    if (n) fwrite(data, 1, n, f);
    fclose(f);
}

static void write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "wb");
    if (!f) {
        perror(path);
        exit(1);
    }
    fputs(text, f);
    fclose(f);
}

/* The file must be refused with FORMAT and a message containing want. */
static void expect_bad(const char *label, const char *header, uint64_t hlen, size_t ndata, const char *want) {
    char path[4200];
    snprintf(path, sizeof path, "%s/bad.safetensors", tmp);
    static unsigned char zeros[256];
    write_st(path, header, hlen, zeros, ndata);
    safetensors *st = NULL;
    owl_status s = safetensors_open(path, &st);
    const char *msg = owl_last_error();
    CHECK(s == OWL_ERR_FORMAT && st == NULL, "%s: status %d", label, (int)s);
    CHECK(strstr(msg, want) != NULL, "%s: message \"%s\" lacks \"%s\"", label, msg, want);
    CHECK(strstr(msg, "bad.safetensors") != NULL, "%s: message \"%s\" does not name the file", label, msg);
    safetensors_close(st);
}

static void test_valid(void) {
    char path[4200];
    snprintf(path, sizeof path, "%s/ok.safetensors", tmp);
    float a[6] = {1, 2, 3, 4, 5, 6};
    unsigned char data[24 + 8];
    memcpy(data, a, 24);
    uint16_t bf[4] = {0x3f80, 0x4000, 0xbf80, 0x0000}; /* 1, 2, -1, 0 */
    memcpy(data + 24, bf, 8);
    write_st(path,
             "{\"__metadata__\":{\"format\":\"pt\"},\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],"
             "\"data_offsets\":[0,24]},\"b\":{\"dtype\":\"BF16\",\"shape\":[4],\"data_offsets\":[24,32]},"
             "\"e\":{\"dtype\":\"F16\",\"shape\":[0,5],\"data_offsets\":[32,32]}}",
             UINT64_MAX, data, sizeof data);
    safetensors *st = NULL;
    owl_status s = safetensors_open(path, &st);
    CHECK(s == OWL_OK, "valid file: %s", owl_last_error());
    if (s != OWL_OK) return;
    CHECK(st->n_tensors == 3, "3 tensors, got %zu", st->n_tensors);
    const st_tensor *t = &st->tensors[0];
    float a5;
    memcpy(&a5, (const unsigned char *)t->data + 20, 4); /* the header length leaves it unaligned */
    CHECK(strcmp(t->name, "a") == 0 && t->dtype == ST_F32 && t->n_dims == 2 && t->shape[0] == 2 &&
              t->shape[1] == 3 && t->nbytes == 24 && a5 == 6.0f,
          "tensor a as written");
    CHECK(st->tensors[1].dtype == ST_BF16 && st->tensors[1].nbytes == 8, "tensor b as written");
    CHECK(st->tensors[2].nbytes == 0, "empty tensor e takes no bytes");
    safetensors_close(st);
}

static void test_malformed(void) {
    expect_bad("empty header", "", 0, 0, "not a JSON object"); /* the 8-byte length only */
    {
        char path[4200];
        snprintf(path, sizeof path, "%s/bad.safetensors", tmp);
        write_text(path, "abc");
        safetensors *st = NULL;
        CHECK(safetensors_open(path, &st) == OWL_ERR_FORMAT && strstr(owl_last_error(), "too short"),
              "3-byte file: %s", owl_last_error());
    }
    expect_bad("header length past the end", "{}", 1000, 0, "past the end of the file");
    expect_bad("huge header length", "{}", (uint64_t)1 << 40, 0, "exceeds the limit");
    expect_bad("bad JSON", "{\"a\": {\"dtype\": ", UINT64_MAX, 0, "header JSON");
    expect_bad("not an object", "[1, 2, 3]", UINT64_MAX, 0, "not a JSON object");
    expect_bad("duplicate names", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
               "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", UINT64_MAX, 8, "header JSON");
    expect_bad("unknown dtype", "{\"a\":{\"dtype\":\"F7\",\"shape\":[1],\"data_offsets\":[0,4]}}", UINT64_MAX, 4,
               "unknown dtype");
    expect_bad("dtype/shape mismatch", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,20]}}",
               UINT64_MAX, 24, "data_offsets hold 20");
    expect_bad("bf16 read as f32 size", "{\"a\":{\"dtype\":\"BF16\",\"shape\":[4],\"data_offsets\":[0,16]}}",
               UINT64_MAX, 16, "is 8 bytes");
    expect_bad("overlap", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
               "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", UINT64_MAX, 16, "overlap");
    expect_bad("out of the file", "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[8,24]}}", UINT64_MAX,
               16, "past the end of the data");
    expect_bad("end before begin", "{\"a\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,4]}}", UINT64_MAX,
               16, "end before they begin");
    expect_bad("shape overflow", "{\"a\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904,4611686018427387904],"
               "\"data_offsets\":[0,4]}}", UINT64_MAX, 16, "overflows");
    expect_bad("shape of strings", "{\"a\":{\"dtype\":\"F32\",\"shape\":[\"2\"],\"data_offsets\":[0,8]}}",
               UINT64_MAX, 16, "shape[0]");
    expect_bad("negative dim", "{\"a\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", UINT64_MAX, 16,
               "shape[0]");
    expect_bad("dtype not a string", "{\"a\":{\"dtype\":4,\"shape\":[2],\"data_offsets\":[0,8]}}", UINT64_MAX, 16,
               "\"dtype\"");
    expect_bad("offsets of reals", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0.0,8]}}", UINT64_MAX,
               16, "data_offsets");
    expect_bad("three offsets", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8,9]}}", UINT64_MAX,
               16, "data_offsets");
    expect_bad("entry not an object", "{\"a\":[1,2]}", UINT64_MAX, 0, "not a JSON object");
    expect_bad("extra key", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],\"x\":1}}", UINT64_MAX,
               16, "unexpected keys");
    expect_bad("metadata not strings", "{\"__metadata__\":{\"k\":1}}", UINT64_MAX, 0, "__metadata__");
    expect_bad("too many dims", "{\"a\":{\"dtype\":\"U8\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,1]}}",
               UINT64_MAX, 1, "dimensions");
}

static void test_e4m3(void) {
    CHECK(f8_e4m3_to_f32(0x00) == 0.0f, "e4m3 0x00 = 0");
    CHECK(f8_e4m3_to_f32(0x38) == 1.0f, "e4m3 0x38 = 1");
    CHECK(f8_e4m3_to_f32(0xb8) == -1.0f, "e4m3 0xb8 = -1");
    CHECK(f8_e4m3_to_f32(0x01) == 0x1p-9f, "e4m3 0x01 = 2^-9 (smallest subnormal)");
    CHECK(f8_e4m3_to_f32(0x07) == 7 * 0x1p-9f, "e4m3 0x07 = 7 * 2^-9");
    CHECK(f8_e4m3_to_f32(0x08) == 0x1p-6f, "e4m3 0x08 = 2^-6 (smallest normal)");
    CHECK(f8_e4m3_to_f32(0x7e) == 448.0f, "e4m3 0x7e = 448 (largest)");
    CHECK(f8_e4m3_to_f32(0x78) == 256.0f, "e4m3 0x78 = 256 (exponent 15 is finite)");
    CHECK(isnan(f8_e4m3_to_f32(0x7f)) && isnan(f8_e4m3_to_f32(0xff)), "e4m3 0x7f, 0xff are NaN");
    CHECK(f8_e4m3_to_f32(0x3c) == 1.5f, "e4m3 0x3c = 1.5");
}

/* A folder with one FP8 2x3 weight (block 2x2 -> scales 1x2) */
static void test_fp8_dir(void) {
    char d[4200], p[4300];
    snprintf(d, sizeof d, "%s/fp8", tmp);
    mkdir(d, 0755);
    snprintf(p, sizeof p, "%s/model.safetensors", d);
    unsigned char data[6 + 8];
    const unsigned char q[6] = {0x38, 0x40, 0xb8, 0x3c, 0x00, 0x7e}; /* 1 2 -1 / 1.5 0 448 */
    memcpy(data, q, 6);
    float sc[2] = {0.5f, 2.0f};
    memcpy(data + 6, sc, 8);
    write_st(p, "{\"w\":{\"dtype\":\"F8_E4M3\",\"shape\":[2,3],\"data_offsets\":[0,6]},"
                "\"w_scale_inv\":{\"dtype\":\"F32\",\"shape\":[1,2],\"data_offsets\":[6,14]}}",
             UINT64_MAX, data, sizeof data);
    tensor_dir *td = NULL;
    owl_status s = tensor_dir_from_hf(d, 2, 2, &td);
    CHECK(s == OWL_OK, "fp8 folder: %s", owl_last_error());
    if (s == OWL_OK) {
        const td_tensor *t = tensor_dir_find(td, "w");
        CHECK(t && t->type == OWL_TYPE_F32 && t->ne[0] == 3 && t->ne[1] == 2, "w: f32 (3, 2)");
        CHECK(td->n == 1 && !tensor_dir_find(td, "w_scale_inv"), "the scales are not listed");
        if (t) {
            const float *v = t->data;
            const float want[6] = {0.5f, 1.0f, -2.0f, 0.75f, 0.0f, 896.0f};
            bool same = true;
            for (int i = 0; i < 6; i++) same = same && v[i] == want[i];
            CHECK(same, "w = e4m3 * block scale: %g %g %g %g %g %g", v[0], v[1], v[2], v[3], v[4], v[5]);
        }
        tensor_dir_free(td);
    }
    /* the scales' shape must match the blocks */
    s = tensor_dir_from_hf(d, 128, 128, &td);
    CHECK(s == OWL_ERR_FORMAT && strstr(owl_last_error(), "w_scale_inv"), "wrong block size: %s",
          owl_last_error());
    /* FP8 without scales */
    write_st(p, "{\"w\":{\"dtype\":\"F8_E4M3\",\"shape\":[2,3],\"data_offsets\":[0,6]}}", UINT64_MAX, data, 6);
    s = tensor_dir_from_hf(d, 2, 2, &td);
    CHECK(s == OWL_ERR_UNSUPPORTED && strstr(owl_last_error(), "w_scale_inv"), "FP8 without scales: %s",
          owl_last_error());
}

static void test_shards(void) {
    char d[4200], p[4300];
    snprintf(d, sizeof d, "%s/shards", tmp);
    mkdir(d, 0755);
    float a[2] = {1, 2};
    snprintf(p, sizeof p, "%s/s1.safetensors", d);
    write_st(p, "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", UINT64_MAX, a, 8);
    snprintf(p, sizeof p, "%s/s2.safetensors", d);
    write_st(p, "{\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", UINT64_MAX, a, 8);
    snprintf(p, sizeof p, "%s/model.safetensors.index.json", d);
    write_text(p, "{\"metadata\":{},\"weight_map\":{\"a\":\"s1.safetensors\",\"b\":\"s2.safetensors\"}}");
    tensor_dir *td = NULL;
    owl_status s = tensor_dir_from_hf(d, 0, 0, &td);
    CHECK(s == OWL_OK && td && td->n == 2 && td->n_files == 2, "two shards: %s", owl_last_error());
    tensor_dir_free(td);
    write_text(p, "{\"weight_map\":{\"a\":\"s2.safetensors\",\"b\":\"s2.safetensors\"}}");
    s = tensor_dir_from_hf(d, 0, 0, &td);
    CHECK(s == OWL_ERR_FORMAT && strstr(owl_last_error(), "'a' is not in s2.safetensors"), "misplaced: %s",
          owl_last_error());
    write_text(p, "{\"weight_map\":{\"a\":\"../s1.safetensors\"}}");
    s = tensor_dir_from_hf(d, 0, 0, &td);
    CHECK(s == OWL_ERR_FORMAT && strstr(owl_last_error(), "not a file name"), "shard outside: %s",
          owl_last_error());
    write_text(p, "{\"weight_map\":{\"a\":\"s1.safetensors\",\"b\":\"s1.safetensors\"}}");
    s = tensor_dir_from_hf(d, 0, 0, &td);
    CHECK(s == OWL_ERR_FORMAT, "b not in s1: %s", owl_last_error());
    {
        char p2[4300];
        snprintf(p2, sizeof p2, "%s/s2.safetensors", d);
        write_st(p2, "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", UINT64_MAX, a, 8);
        write_text(p, "{\"weight_map\":{\"a\":\"s1.safetensors\",\"b\":\"s2.safetensors\"}}");
        s = tensor_dir_from_hf(d, 0, 0, &td);
        CHECK(s == OWL_ERR_FORMAT && strstr(owl_last_error(), "'a' is in both s1.safetensors and s2.safetensors"),
              "a tensor in two shards: %s", owl_last_error());
        write_st(p2, "{\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", UINT64_MAX, a, 8);
    }
    write_text(p, "{\"weight_map\":[1]}");
    s = tensor_dir_from_hf(d, 0, 0, &td);
    CHECK(s == OWL_ERR_FORMAT && strstr(owl_last_error(), "weight_map"), "weight_map not an object: %s",
          owl_last_error());
    write_text(p, "{\"weight_map\":{\"a\":\"s1.safetensors\",\"b\":\"s3.safetensors\"}}");
    s = tensor_dir_from_hf(d, 0, 0, &td);
    CHECK(s == OWL_ERR_IO && strstr(owl_last_error(), "s3.safetensors"), "missing shard: %s", owl_last_error());
}

#define CFG_HEAD "{\"architectures\":[\"LlamaForCausalLM\"],\"vocab_size\":512,\"intermediate_size\":128,"
#define CFG_TAIL "\"num_attention_heads\":4,\"num_key_value_heads\":2,\"hidden_act\":\"silu\"}"

static void cfg_bad(const char *label, const char *text, owl_status want_s, const char *want) {
    hf_config c;
    owl_status s = hf_config_parse("config.json", text, strlen(text), &c);
    const char *msg = owl_last_error();
    CHECK(s == want_s, "%s: status %d, want %d (%s)", label, (int)s, (int)want_s, msg);
    CHECK(strstr(msg, want) != NULL, "%s: message \"%s\" lacks \"%s\"", label, msg, want);
    if (s == OWL_OK) hf_config_free(&c);
}

static void test_config(void) {
    const char *ok = CFG_HEAD "\"hidden_size\":64,\"num_hidden_layers\":2,\"rope_theta\":500000.0,"
                              "\"rope_scaling\":{\"rope_type\":\"llama3\",\"factor\":8.0,\"low_freq_factor\":1.0,"
                              "\"high_freq_factor\":4.0,\"original_max_position_embeddings\":8192},"
                              "\"tie_word_embeddings\":true," CFG_TAIL;
    hf_config c;
    owl_status s = hf_config_parse("config.json", ok, strlen(ok), &c);
    CHECK(s == OWL_OK, "valid config: %s", owl_last_error());
    if (s == OWL_OK) {
        CHECK(c.hp.n_embd == 64 && c.hp.n_layer == 2 && c.hp.n_head == 4 && c.hp.n_head_kv == 2 &&
                  c.hp.head_dim == 16 && c.hp.n_vocab == 512 && c.hp.tied_output &&
                  c.hp.rope_style == ROPE_STYLE_NEOX && c.hp.rope_theta == 500000.0f,
              "hparams from config");
        CHECK(c.rope_freqs && c.rope_freqs[0] == 1.0f && fabsf(c.rope_freqs[7] - 8.0f) < 1e-4f,
              "llama3: high frequencies kept, low ones divided by 8 (%g, %g)", c.rope_freqs ? c.rope_freqs[0] : 0,
              c.rope_freqs ? c.rope_freqs[7] : 0);
        hf_config_free(&c);
    }
    cfg_bad("wrong type", CFG_HEAD "\"hidden_size\":\"64\",\"num_hidden_layers\":2," CFG_TAIL, OWL_ERR_FORMAT,
            "$.hidden_size must be an integer, not a string");
    cfg_bad("bool as int", CFG_HEAD "\"hidden_size\":true,\"num_hidden_layers\":2," CFG_TAIL, OWL_ERR_FORMAT,
            "$.hidden_size must be an integer");
    cfg_bad("missing key", CFG_HEAD "\"hidden_size\":64," CFG_TAIL, OWL_ERR_FORMAT, "$.num_hidden_layers is missing");
    cfg_bad("huge integer", CFG_HEAD "\"hidden_size\":1099511627776,\"num_hidden_layers\":2," CFG_TAIL,
            OWL_ERR_FORMAT, "$.hidden_size = 1099511627776 is out of range");
    cfg_bad("huger than JSON", CFG_HEAD "\"hidden_size\":99999999999999999999999,\"num_hidden_layers\":2," CFG_TAIL,
            OWL_ERR_FORMAT, "config.json: line 1");
    cfg_bad("real for int", CFG_HEAD "\"hidden_size\":1e30,\"num_hidden_layers\":2," CFG_TAIL, OWL_ERR_FORMAT,
            "$.hidden_size must be an integer, not a real number");
    cfg_bad("zero heads", CFG_HEAD "\"hidden_size\":64,\"num_hidden_layers\":2,\"num_attention_heads\":0}",
            OWL_ERR_FORMAT, "$.num_attention_heads = 0 is out of range");
    cfg_bad("kv heads do not divide", CFG_HEAD "\"hidden_size\":64,\"num_hidden_layers\":2,\"num_attention_heads\":4,"
            "\"num_key_value_heads\":3}", OWL_ERR_FORMAT, "do not split");
    cfg_bad("eps NaN-like", CFG_HEAD "\"hidden_size\":64,\"num_hidden_layers\":2,\"rms_norm_eps\":5.0," CFG_TAIL,
            OWL_ERR_FORMAT, "$.rms_norm_eps = 5 is out of range");
    cfg_bad("rope factor type", CFG_HEAD "\"hidden_size\":64,\"num_hidden_layers\":2,\"rope_scaling\":{\"type\":"
            "\"linear\",\"factor\":\"2\"}," CFG_TAIL, OWL_ERR_FORMAT, "$.rope_scaling.factor must be a number");
    cfg_bad("longrope", CFG_HEAD "\"hidden_size\":64,\"num_hidden_layers\":2,\"rope_scaling\":{\"rope_type\":"
            "\"longrope\",\"factor\":4}," CFG_TAIL, OWL_ERR_UNSUPPORTED, "\"longrope\" is unknown");
    cfg_bad("unsupported arch", "{\"architectures\":[\"GPT2LMHeadModel\"]}", OWL_ERR_UNSUPPORTED,
            "architecture 'GPT2LMHeadModel' is not supported (supported: LlamaForCausalLM, MistralForCausalLM, "
            "Qwen2ForCausalLM, Qwen3ForCausalLM)");
    cfg_bad("no architectures", "{\"vocab_size\":5}", OWL_ERR_FORMAT, "$.architectures");
    cfg_bad("not an object", "[1]", OWL_ERR_FORMAT, "$ must be an object");
    cfg_bad("bad JSON", "{\"architectures\":", OWL_ERR_FORMAT, "config.json: line 1");
    cfg_bad("gelu", CFG_HEAD "\"hidden_size\":64,\"num_hidden_layers\":2,\"hidden_act\":\"gelu\"}",
            OWL_ERR_UNSUPPORTED, "$.hidden_act \"gelu\"");
    cfg_bad("tie not bool", CFG_HEAD "\"hidden_size\":64,\"num_hidden_layers\":2,\"tie_word_embeddings\":1," CFG_TAIL,
            OWL_ERR_FORMAT, "$.tie_word_embeddings must be a boolean");

    hf_config g;
    memset(&g, 0, sizeof g);
    const char *gen = "{\"eos_token_id\":[7,9],\"temperature\":0.6,\"top_p\":0.9,\"top_k\":20,\"do_sample\":true}";
    s = hf_generation_parse("generation_config.json", gen, strlen(gen), &g);
    CHECK(s == OWL_OK && g.n_eos == 2 && g.eos[0] == 7 && g.eos[1] == 9 && g.has_temp &&
              fabsf(g.temperature - 0.6f) < 1e-6f && g.top_k == 20,
          "generation_config: %s", owl_last_error());
    const char *bad = "{\"eos_token_id\":\"x\"}";
    s = hf_generation_parse("generation_config.json", bad, strlen(bad), &g);
    CHECK(s == OWL_ERR_FORMAT && strstr(owl_last_error(), "$.eos_token_id"), "bad eos: %s", owl_last_error());
}

/* A folder's generation_config.json: eos ids end generations, sampling defaults */
static void test_folder_defaults(void) {
    char d[4200];
    snprintf(d, sizeof d, "%s/hf/llama", check_env("OWL_FIXTURES"));
    owl_model *m = NULL;
    owl_status s = owl_model_load(d, NULL, &m);
    CHECK(s == OWL_OK, "load %s: %s", d, owl_last_error());
    if (s != OWL_OK) return;
    CHECK(owl_token_is_eog(m, 0) && owl_token_is_eog(m, 1) && !owl_token_is_eog(m, 2),
          "eos_token_id [0, 1] end generations, 2 does not");
    owl_sampler_params p = owl_sampler_default_params();
    p.top_k = 33;
    owl_model_sampler_defaults(m, &p);
    CHECK(fabsf(p.temp - 0.7f) < 1e-6f && fabsf(p.top_p - 0.9f) < 1e-6f && p.top_k == 33,
          "generation_config temperature 0.7, top_p 0.9, top_k untouched: %g %g %d", p.temp, p.top_p, p.top_k);
    owl_model_info info;
    owl_model_get_info(m, &info);
    CHECK(strcmp(info.arch, "LlamaForCausalLM") == 0 && info.n_layer == 3 && info.n_tensors == 30,
          "info of the folder: %s, %d layers, %llu tensors", info.arch, info.n_layer,
          (unsigned long long)info.n_tensors);
    owl_model_free(m);
    const char *greedy = "{\"temperature\":0.6}";
    hf_config g;
    memset(&g, 0, sizeof g);
    s = hf_generation_parse("generation_config.json", greedy, strlen(greedy), &g);
    CHECK(s == OWL_OK && g.has_temp && g.temperature == 0.0f, "no do_sample: greedy, as transformers");
}

int main(void) {
    snprintf(tmp, sizeof tmp, "%s/test_safetensors.%d", check_env("OWL_TMP"), (int)getpid());
    mkdir(check_env("OWL_TMP"), 0755);
    mkdir(tmp, 0755);
    test_valid();
    test_malformed();
    test_e4m3();
    test_fp8_dir();
    test_shards();
    test_config();
    test_folder_defaults();
    return check_done();
}
