/* hf_config.c — config.json and generation_config.json of a Hugging Face
 * llama-family folder -> hparams (hf_config.h), with jansson. Each getter
 * checks the JSON type and the range and names the JSON path on error. */
#include "hf_config.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/mem.h"
#include "../base/status.h"

static const char *const families[] = {"LlamaForCausalLM", "MistralForCausalLM", "Qwen2ForCausalLM",
                                       "Qwen3ForCausalLM"};

const char *hf_config_supported(void) {
    return "LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM, Qwen3ForCausalLM";
}

#define LIM (1 << 20)

static const char *jtype(const json_t *v) {
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a real number";
    case JSON_TRUE: case JSON_FALSE: return "a boolean";
    default: return "null";
    }
}

/* An integer at obj.key (path prefix pre) in [lo, hi]; def when absent/null. */
static owl_status get_int(const char *path, const char *pre, json_t *obj, const char *key, bool required,
                          long long def, long long lo, long long hi, int32_t *out) {
    json_t *v = json_object_get(obj, key);
    long long x = def;
    if (!v || json_is_null(v)) {
        if (required) return owl_err(OWL_ERR_FORMAT, "%s: %s.%s is missing", path, pre, key);
    } else if (!json_is_integer(v)) {
        return owl_err(OWL_ERR_FORMAT, "%s: %s.%s must be an integer, not %s", path, pre, key, jtype(v));
    } else {
        x = json_integer_value(v);
    }
    if (x < lo || x > hi)
        return owl_err(OWL_ERR_FORMAT, "%s: %s.%s = %lld is out of range [%lld, %lld]", path, pre, key, x,
                       lo, hi);
    *out = (int32_t)x;
    return OWL_OK;
}

static owl_status get_num(const char *path, const char *pre, json_t *obj, const char *key, bool required,
                          double def, double lo, double hi, double *out) {
    json_t *v = json_object_get(obj, key);
    double x = def;
    if (!v || json_is_null(v)) {
        if (required) return owl_err(OWL_ERR_FORMAT, "%s: %s.%s is missing", path, pre, key);
    } else if (!json_is_number(v)) {
        return owl_err(OWL_ERR_FORMAT, "%s: %s.%s must be a number, not %s", path, pre, key, jtype(v));
    } else {
        x = json_number_value(v);
    }
    if (!(x >= lo && x <= hi))
        return owl_err(OWL_ERR_FORMAT, "%s: %s.%s = %g is out of range [%g, %g]", path, pre, key, x, lo, hi);
    *out = x;
    return OWL_OK;
}

static owl_status get_bool(const char *path, json_t *obj, const char *key, bool def, bool *out) {
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v)) {
        *out = def;
        return OWL_OK;
    }
    if (!json_is_boolean(v))
        return owl_err(OWL_ERR_FORMAT, "%s: $.%s must be a boolean, not %s", path, key, jtype(v));
    *out = json_is_true(v);
    return OWL_OK;
}

static owl_status get_str(const char *path, json_t *obj, const char *key, const char **out) {
    json_t *v = json_object_get(obj, key);
    *out = NULL;
    if (!v || json_is_null(v)) return OWL_OK;
    if (!json_is_string(v))
        return owl_err(OWL_ERR_FORMAT, "%s: $.%s must be a string, not %s", path, key, jtype(v));
    *out = json_string_value(v);
    return OWL_OK;
}

/* llama 3 scaling as per-frequency divisors (old inv_freq / new inv_freq). */
static owl_status llama3_freqs(const char *path, const char *where, json_t *rs, hf_config *c) {
    hparams *hp = &c->hp;
    double factor, lo_f, hi_f;
    int32_t old_ctx;
    owl_status s;
    if ((s = get_num(path, where, rs, "factor", true, 1, 1e-3, 1e6, &factor)) ||
        (s = get_num(path, where, rs, "low_freq_factor", true, 1, 1e-6, 1e6, &lo_f)) ||
        (s = get_num(path, where, rs, "high_freq_factor", true, 4, 1e-6, 1e6, &hi_f)) ||
        (s = get_int(path, where, rs, "original_max_position_embeddings", true, 8192, 1, 1 << 30,
                     &old_ctx)))
        return s;
    if (!(hi_f > lo_f))
        return owl_err(OWL_ERR_FORMAT, "%s: %s: high_freq_factor %g must exceed low_freq_factor %g",
                       path, where, hi_f, lo_f);
    int32_t n = hp->n_rot / 2;
    c->rope_freqs = owl_xreallocarray(NULL, (size_t)n, sizeof(float));
    if (!c->rope_freqs) return OWL_ERR_NOMEM;
    double lo_wl = old_ctx / lo_f, hi_wl = old_ctx / hi_f;
    for (int32_t i = 0; i < n; i++) {
        double inv = 1.0 / pow((double)hp->rope_theta, (double)(2 * i) / hp->n_rot);
        double wl = 2 * 3.14159265358979323846 / inv, nf;
        if (wl < hi_wl)
            nf = inv;
        else if (wl > lo_wl)
            nf = inv / factor;
        else {
            double sm = (old_ctx / wl - lo_f) / (hi_f - lo_f);
            nf = (1 - sm) * inv / factor + sm * inv;
        }
        c->rope_freqs[i] = (float)(inv / nf);
    }
    hp->rope_orig_ctx = old_ctx;
    return OWL_OK;
}

/* YaRN as transformers computes it: per-frequency blend of interpolated
 * (inv_freq / factor) and extrapolated (inv_freq) frequencies over a linear
 * ramp between the correction dims of beta_fast and beta_slow rotations,
 * as divisors; cos and sin scaled by attention_factor. */
static owl_status yarn_freqs(const char *path, const char *where, json_t *rs, hf_config *c) {
    hparams *hp = &c->hp;
    double factor, af, mscale, mscale_all, beta_fast, beta_slow;
    int32_t orig;
    owl_status s;
    if ((s = get_num(path, where, rs, "factor", true, 1, 1e-3, 1e6, &factor)) ||
        (s = get_num(path, where, rs, "attention_factor", false, -1, -1, 1e3, &af)) ||
        (s = get_num(path, where, rs, "mscale", false, 0, 0, 1e3, &mscale)) ||
        (s = get_num(path, where, rs, "mscale_all_dim", false, 0, 0, 1e3, &mscale_all)) ||
        (s = get_num(path, where, rs, "beta_fast", false, 32, 1e-6, 1e6, &beta_fast)) ||
        (s = get_num(path, where, rs, "beta_slow", false, 1, 1e-6, 1e6, &beta_slow)) ||
        (s = get_int(path, where, rs, "original_max_position_embeddings", false, hp->n_ctx_train, 1, 1 << 30,
                     &orig)))
        return s;
    bool truncate = true;
    json_t *tr = json_object_get(rs, "truncate");
    if (tr && !json_is_null(tr)) {
        if (!json_is_boolean(tr))
            return owl_err(OWL_ERR_FORMAT, "%s: %s.truncate must be a boolean", path, where);
        truncate = json_is_true(tr);
    }
    if (af < 0) {
#define YARN_MSCALE(sc, m) ((sc) <= 1 ? 1.0 : 0.1 * (m) * log(sc) + 1.0)
        af = mscale > 0 && mscale_all > 0 ? YARN_MSCALE(factor, mscale) / YARN_MSCALE(factor, mscale_all)
                                          : YARN_MSCALE(factor, 1.0);
#undef YARN_MSCALE
    }
    const double two_pi = 2 * 3.14159265358979323846, dim = hp->n_rot, base = hp->rope_theta;
    double lo = dim * log(orig / (beta_fast * two_pi)) / (2 * log(base));
    double hi = dim * log(orig / (beta_slow * two_pi)) / (2 * log(base));
    if (truncate) lo = floor(lo), hi = ceil(hi);
    if (lo < 0) lo = 0;
    if (hi > dim - 1) hi = dim - 1;
    if (lo == hi) hi += 0.001;
    int32_t n = hp->n_rot / 2;
    c->rope_freqs = owl_xreallocarray(NULL, (size_t)n, sizeof(float));
    if (!c->rope_freqs) return OWL_ERR_NOMEM;
    for (int32_t i = 0; i < n; i++) {
        double ramp = (i - lo) / (hi - lo);
        ramp = ramp < 0 ? 0 : ramp > 1 ? 1 : ramp;
        double ext = 1 - ramp; /* extrapolation weight */
        double inv = 1.0 / pow(base, 2.0 * i / dim);
        double nf = inv / factor * (1 - ext) + inv * ext;
        c->rope_freqs[i] = (float)(inv / nf);
    }
    hp->rope_scaling = ROPE_SCALING_YARN;
    hp->rope_attn_factor = (float)af;
    hp->rope_orig_ctx = orig;
    return OWL_OK;
}

static owl_status rope(const char *path, json_t *root, hf_config *c) {
    hparams *hp = &c->hp;
    /* transformers >= 5 writes rope_parameters (rope_theta inside); older
     * configs rope_scaling beside a top-level rope_theta */
    json_t *rs = json_object_get(root, "rope_parameters");
    const char *where = "$.rope_parameters";
    if (!rs || json_is_null(rs)) rs = json_object_get(root, "rope_scaling"), where = "$.rope_scaling";
    hp->rope_scaling = ROPE_SCALING_NONE;
    hp->rope_factor = 1.0f;
    hp->rope_orig_ctx = hp->n_ctx_train;
    if (!rs || json_is_null(rs)) return OWL_OK;
    if (!json_is_object(rs))
        return owl_err(OWL_ERR_FORMAT, "%s: %s must be an object or null, not %s", path, where, jtype(rs));
    if (!json_object_get(root, "rope_theta") && json_object_get(rs, "rope_theta")) {
        double theta;
        owl_status s = get_num(path, where, rs, "rope_theta", true, 10000, 1e-3, 1e12, &theta);
        if (s) return s;
        hp->rope_theta = (float)theta;
    }
    const char *type = NULL;
    json_t *t = json_object_get(rs, "rope_type");
    if (!t) t = json_object_get(rs, "type");
    if (!json_is_string(t))
        return owl_err(OWL_ERR_FORMAT, "%s: %s.rope_type must be a string", path, where);
    type = json_string_value(t);
    if (strcmp(type, "default") == 0) return OWL_OK;
    if (strcmp(type, "linear") == 0) {
        double f;
        owl_status s = get_num(path, where, rs, "factor", true, 1, 1e-3, 1e6, &f);
        if (s) return s;
        hp->rope_scaling = ROPE_SCALING_LINEAR;
        hp->rope_factor = (float)f;
        return OWL_OK;
    }
    if (strcmp(type, "llama3") == 0) return llama3_freqs(path, where, rs, c);
    if (strcmp(type, "yarn") == 0) return yarn_freqs(path, where, rs, c);
    if (strcmp(type, "dynamic") == 0) {
        double f;
        owl_status s = get_num(path, where, rs, "factor", true, 1, 1.0, 1e6, &f);
        if (s) return s;
        if (hp->n_rot <= 2)
            return owl_err(OWL_ERR_UNSUPPORTED, "%s: dynamic rope scaling needs head_dim > 2", path);
        hp->rope_scaling = ROPE_SCALING_DYNAMIC;
        hp->rope_factor = (float)f;
        hp->rope_orig_ctx = hp->n_ctx_train; /* transformers: max_position_embeddings */
        return OWL_OK;
    }
    return owl_err(OWL_ERR_UNSUPPORTED, "%s: %s.rope_type \"%.32s\" is unknown (supported: linear, dynamic, llama3, yarn)",
                   path, where, type);
}

owl_status hf_config_parse(const char *path, const char *text, size_t len, hf_config *c) {
    memset(c, 0, sizeof *c);
    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return owl_err(OWL_ERR_FORMAT, "%s: line %d column %d: %s", path, jerr.line, jerr.column, jerr.text);
    owl_status s = OWL_OK;
    hparams *hp = &c->hp;
    if (!json_is_object(root)) {
        s = owl_err(OWL_ERR_FORMAT, "%s: $ must be an object, not %s", path, jtype(root));
        goto done;
    }
    json_t *ar = json_object_get(root, "architectures");
    if (!json_is_array(ar) || json_array_size(ar) != 1 || !json_is_string(json_array_get(ar, 0))) {
        s = owl_err(OWL_ERR_FORMAT, "%s: $.architectures must be an array of one string", path);
        goto done;
    }
    const char *an = json_string_value(json_array_get(ar, 0));
    int fam = -1;
    for (int i = 0; i < (int)(sizeof families / sizeof families[0]); i++)
        if (strcmp(an, families[i]) == 0) fam = i;
    if (fam < 0) {
        s = owl_err(OWL_ERR_UNSUPPORTED, "%s: architecture '%.64s' is not supported (supported: %s)", path, an,
                    hf_config_supported());
        goto done;
    }
    snprintf(c->arch, sizeof c->arch, "%s", an);
    const char *act = NULL;
    if ((s = get_str(path, root, "hidden_act", &act))) goto done;
    if (act && strcmp(act, "silu") != 0) {
        s = owl_err(OWL_ERR_UNSUPPORTED, "%s: $.hidden_act \"%.32s\" is not supported (only silu)", path, act);
        goto done;
    }
    if ((s = get_int(path, "$", root, "vocab_size", true, 0, 1, 1 << 24, &hp->n_vocab)) ||
        (s = get_int(path, "$", root, "hidden_size", true, 0, 1, LIM, &hp->n_embd)) ||
        (s = get_int(path, "$", root, "intermediate_size", true, 0, 1, LIM, &hp->n_ff)) ||
        (s = get_int(path, "$", root, "num_hidden_layers", true, 0, 1, 4096, &hp->n_layer)) ||
        (s = get_int(path, "$", root, "num_attention_heads", true, 0, 1, 4096, &hp->n_head)) ||
        (s = get_int(path, "$", root, "num_key_value_heads", false, hp->n_head, 1, hp->n_head, &hp->n_head_kv)) ||
        (s = get_int(path, "$", root, "max_position_embeddings", false, 2048, 1, 1 << 30, &hp->n_ctx_train)))
        goto done;
    if (hp->n_head % hp->n_head_kv) {
        s = owl_err(OWL_ERR_FORMAT, "%s: %d attention heads do not split into %d kv heads", path, hp->n_head,
                    hp->n_head_kv);
        goto done;
    }
    if ((s = get_int(path, "$", root, "head_dim", false, hp->n_embd / hp->n_head, 2, 4096, &hp->head_dim)))
        goto done;
    if (hp->head_dim % 2) {
        s = owl_err(OWL_ERR_FORMAT, "%s: $.head_dim = %d is odd", path, hp->head_dim);
        goto done;
    }
    double eps, theta;
    if ((s = get_num(path, "$", root, "rms_norm_eps", false, 1e-6, 0, 1, &eps)) ||
        (s = get_num(path, "$", root, "rope_theta", false, 10000, 1e-3, 1e12, &theta)))
        goto done;
    hp->norm_eps = (float)eps;
    hp->rope_theta = (float)theta;
    hp->rope_style = ROPE_STYLE_NEOX; /* HF q/k rows are in rotate_half order */
    hp->n_rot = hp->head_dim;
    double prf = 1.0;
    if ((s = get_num(path, "$", root, "partial_rotary_factor", false, 1.0, 0.0, 1.0, &prf))) goto done;
    if (prf != 1.0) {
        s = owl_err(OWL_ERR_UNSUPPORTED, "%s: $.partial_rotary_factor = %g is not supported yet", path, prf);
        goto done;
    }
    if ((s = rope(path, root, c))) goto done;
    if ((s = get_bool(path, root, "tie_word_embeddings", false, &hp->tied_output))) goto done;
    hp->qk_norm = fam == 3;
    hp->sliding_window = 0;
    bool use_sw = fam == 1;
    if (fam == 2 || fam == 3)
        if ((s = get_bool(path, root, "use_sliding_window", false, &use_sw))) goto done;
    int32_t sw = 0;
    if ((s = get_int(path, "$", root, "sliding_window", false, 0, 0, 1 << 30, &sw))) goto done;
    if (use_sw) {
        if (fam != 1) {
            int32_t mwl = 0;
            if ((s = get_int(path, "$", root, "max_window_layers", false, hp->n_layer, 0, 4096, &mwl))) goto done;
            if (mwl < hp->n_layer && sw > 0) {
                s = owl_err(OWL_ERR_UNSUPPORTED,
                            "%s: sliding window on only some layers (max_window_layers %d < %d) is not supported yet",
                            path, mwl, hp->n_layer);
                goto done;
            }
        }
        hp->sliding_window = sw;
    }
    json_t *qc = json_object_get(root, "quantization_config");
    if (qc && !json_is_null(qc)) {
        const char *qm = NULL;
        if (!json_is_object(qc)) {
            s = owl_err(OWL_ERR_FORMAT, "%s: $.quantization_config must be an object, not %s", path, jtype(qc));
            goto done;
        }
        if ((s = get_str(path, qc, "quant_method", &qm))) goto done;
        if (!qm || strcmp(qm, "fp8") != 0) {
            s = owl_err(OWL_ERR_UNSUPPORTED, "%s: $.quantization_config.quant_method \"%.32s\" is not supported (only fp8)",
                        path, qm ? qm : "");
            goto done;
        }
        json_t *bs = json_object_get(qc, "weight_block_size");
        c->fp8_block[0] = c->fp8_block[1] = 128;
        if (bs) {
            if (!json_is_array(bs) || json_array_size(bs) != 2 || !json_is_integer(json_array_get(bs, 0)) ||
                !json_is_integer(json_array_get(bs, 1))) {
                s = owl_err(OWL_ERR_FORMAT, "%s: $.quantization_config.weight_block_size must be [int, int]", path);
                goto done;
            }
            for (int i = 0; i < 2; i++) {
                json_int_t v = json_integer_value(json_array_get(bs, (size_t)i));
                if (v < 1 || v > 1 << 16) {
                    s = owl_err(OWL_ERR_FORMAT, "%s: $.quantization_config.weight_block_size[%d] = %lld is out of range [1, 65536]",
                                path, i, (long long)v);
                    goto done;
                }
                c->fp8_block[i] = (int)v;
            }
        }
    }
done:
    json_decref(root);
    if (s != OWL_OK) hf_config_free(c);
    return s;
}

static owl_status add_eos(const char *path, json_t *v, hf_config *c) {
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > (1 << 24))
        return owl_err(OWL_ERR_FORMAT, "%s: $.eos_token_id must be a token id or a list of them", path);
    if (c->n_eos < HF_MAX_EOS) c->eos[c->n_eos++] = (int32_t)json_integer_value(v);
    return OWL_OK;
}

owl_status hf_generation_parse(const char *path, const char *text, size_t len, hf_config *c) {
    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return owl_err(OWL_ERR_FORMAT, "%s: line %d column %d: %s", path, jerr.line, jerr.column, jerr.text);
    owl_status s = OWL_OK;
    if (!json_is_object(root)) {
        s = owl_err(OWL_ERR_FORMAT, "%s: $ must be an object, not %s", path, jtype(root));
        goto done;
    }
    json_t *e = json_object_get(root, "eos_token_id");
    if (json_is_array(e)) {
        size_t i;
        json_t *v;
        json_array_foreach(e, i, v) if ((s = add_eos(path, v, c))) goto done;
    } else if (e && !json_is_null(e)) {
        if ((s = add_eos(path, e, c))) goto done;
    }
    double x;
    int32_t k;
    if (json_object_get(root, "temperature")) {
        if ((s = get_num(path, "$", root, "temperature", false, 1, 0, 100, &x))) goto done;
        c->temperature = (float)x;
        c->has_temp = true;
    }
    if (json_object_get(root, "top_p")) {
        if ((s = get_num(path, "$", root, "top_p", false, 1, 0, 1, &x))) goto done;
        c->top_p = (float)x;
        c->has_top_p = true;
    }
    if (json_object_get(root, "top_k")) {
        if ((s = get_int(path, "$", root, "top_k", false, 0, 0, 1 << 24, &k))) goto done;
        c->top_k = k;
        c->has_top_k = true;
    }
    bool ds = false; /* transformers' default: greedy unless do_sample */
    if ((s = get_bool(path, root, "do_sample", false, &ds))) goto done;
    if (!ds) { /* greedy */
        c->temperature = 0;
        c->has_temp = true;
    }
done:
    json_decref(root);
    return s;
}

static owl_status read_file(const char *path, char **buf, size_t *len, bool *missing) {
    FILE *f = fopen(path, "rb");
    *buf = NULL;
    *missing = false;
    if (!f) {
        *missing = true;
        return owl_err(OWL_ERR_IO, "%s: cannot open", path);
    }
    char *b = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n + 4096 > cap) {
            if (cap > (16u << 20)) {
                free(b);
                fclose(f);
                return owl_err(OWL_ERR_FORMAT, "%s: larger than 16 MiB", path);
            }
            cap = cap ? cap * 2 : 8192;
            char *nb = owl_xrealloc(b, cap);
            if (!nb) {
                free(b);
                fclose(f);
                return OWL_ERR_NOMEM;
            }
            b = nb;
        }
        size_t r = fread(b + n, 1, cap - n, f);
        n += r;
        if (r == 0) break;
    }
    fclose(f);
    *buf = b;
    *len = n;
    return OWL_OK;
}

owl_status hf_config_load(const char *dir, hf_config *c) {
    memset(c, 0, sizeof *c);
    char p[4096];
    if ((size_t)snprintf(p, sizeof p, "%s/config.json", dir) >= sizeof p)
        return owl_err(OWL_ERR_ARG, "%s: path too long", dir);
    char *buf;
    size_t len;
    bool missing;
    owl_status s = read_file(p, &buf, &len, &missing);
    if (s != OWL_OK) return s;
    s = hf_config_parse(p, buf, len, c);
    free(buf);
    if (s != OWL_OK) return s;
    snprintf(p, sizeof p, "%s/generation_config.json", dir);
    s = read_file(p, &buf, &len, &missing);
    if (s != OWL_OK) {
        if (missing) {
            owl_err_clear();
            return OWL_OK;
        }
        hf_config_free(c);
        return s;
    }
    s = hf_generation_parse(p, buf, len, c);
    free(buf);
    if (s != OWL_OK) hf_config_free(c);
    return s;
}

void hf_config_free(hf_config *c) {
    free(c->rope_freqs);
    c->rope_freqs = NULL;
}
