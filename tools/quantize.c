/* quantize.c — `owl quantize IN.gguf OUT.gguf TYPE`: rewrite a model's
 * weights in another tensor type, the way llama.cpp's llama-quantize does.
 *
 * What gets which type follows llama.cpp's rules (src/llama-quant.cpp,
 * llama_tensor_get_type, read to learn, not copied), so that a file made
 * here has the same tensor types and, for the reference quantizers of the
 * type table, the same bytes as llama-quantize's without an imatrix:
 *
 *   - only tensors whose name ends in "weight", with 2 or more dimensions
 *     and not a norm ("_norm.weight") are converted; the rest are copied;
 *   - tensors are written in llama.cpp's order: by layer number (tensors
 *     outside blk.N first), then by name;
 *   - for a quantized TYPE: output.weight (token_embd.weight when the output
 *     is tied) becomes q6_k (q8_0 stays q8_0; q8_0 when a row is not a
 *     whole number of TYPE's blocks); the mixes raise attn_v, ffn_down,
 *     attn_output, attn_qkv per layer (q4_k_m: attn_v and ffn_down in q6_k
 *     for the layers use_more_bits picks: the first and last eighth and
 *     every third in between);
 *   - a row that is not a whole number of 256 falls back: q4_k -> q5_0,
 *     q5_k -> q5_1, q6_k -> q8_0, and to f16 when that does not fit either.
 *     llama.cpp sends q2_k/q3_k to iq4_nl, which owl does not have: owl
 *     uses q4_0 (same 4.5 bits per weight) there.
 *
 * Streaming: the input stays memory-mapped; each tensor is converted a
 * chunk of rows at a time (threads split the rows) and handed to the GGUF
 * writer, so the output never sits in memory whole. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include "args.h"
#include "base/mem.h"
#include "base/status.h"
#include "base/threadpool.h"
#include "cli.h"
#include "io/gguf.h"
#include "io/gguf_write.h"
#include "tensor/dtype.h"

/* llama.cpp's llama_ftype values, stored as general.file_type */
enum {
    FT_F32 = 0, FT_F16 = 1, FT_Q4_0 = 2, FT_Q4_1 = 3, FT_Q8_0 = 7, FT_Q5_0 = 8, FT_Q5_1 = 9,
    FT_Q2_K = 10, FT_Q3_K_S = 11, FT_Q3_K_M = 12, FT_Q3_K_L = 13, FT_Q4_K_S = 14, FT_Q4_K_M = 15,
    FT_Q5_K_S = 16, FT_Q5_K_M = 17, FT_Q6_K = 18, FT_BF16 = 32,
};

static const struct qmix {
    const char *name;
    int ftype;
    int type; /* the default tensor type */
    const char *about;
} mixes[] = {
    {"q4_0", FT_Q4_0, OWL_TYPE_Q4_0, "4.5 bpw"},
    {"q4_1", FT_Q4_1, OWL_TYPE_Q4_1, "5.0 bpw"},
    {"q5_0", FT_Q5_0, OWL_TYPE_Q5_0, "5.5 bpw"},
    {"q5_1", FT_Q5_1, OWL_TYPE_Q5_1, "6.0 bpw"},
    {"q8_0", FT_Q8_0, OWL_TYPE_Q8_0, "8.5 bpw"},
    {"q2_k", FT_Q2_K, OWL_TYPE_Q2_K, "q2_k, attn_v q3_k/q4_k, ffn_down and attn_output q3_k"},
    {"q3_k_s", FT_Q3_K_S, OWL_TYPE_Q3_K, "q3_k everywhere"},
    {"q3_k_m", FT_Q3_K_M, OWL_TYPE_Q3_K, "q3_k, attn_v q5_k/q4_k, ffn_down q5_k/q4_k, attn_output q4_k"},
    {"q3_k_l", FT_Q3_K_L, OWL_TYPE_Q3_K, "q3_k, attn_v, ffn_down and attn_output q5_k"},
    {"q4_k_s", FT_Q4_K_S, OWL_TYPE_Q4_K, "q4_k, first attn_v and ffn_down q5_k"},
    {"q4_k_m", FT_Q4_K_M, OWL_TYPE_Q4_K, "q4_k, half of attn_v and ffn_down q6_k"},
    {"q5_k_s", FT_Q5_K_S, OWL_TYPE_Q5_K, "q5_k everywhere"},
    {"q5_k_m", FT_Q5_K_M, OWL_TYPE_Q5_K, "q5_k, half of attn_v and ffn_down q6_k"},
    {"q6_k", FT_Q6_K, OWL_TYPE_Q6_K, "q6_k everywhere"},
    {"f16", FT_F16, OWL_TYPE_F16, "16-bit float"},
    {"bf16", FT_BF16, OWL_TYPE_BF16, "bfloat16"},
    {"f32", FT_F32, OWL_TYPE_F32, "32-bit float"},
    /* llama-quantize's aliases */
    {"q3_k", FT_Q3_K_M, OWL_TYPE_Q3_K, "= q3_k_m"},
    {"q4_k", FT_Q4_K_M, OWL_TYPE_Q4_K, "= q4_k_m"},
    {"q5_k", FT_Q5_K_M, OWL_TYPE_Q5_K, "= q5_k_m"},
};
enum { N_MIXES = sizeof mixes / sizeof mixes[0] };

static const arg_cmd quantize_cmd = {
    .name = "quantize",
    .synopsis = "IN.gguf OUT.gguf TYPE [options]",
    .about =
        "Writes IN's weights as TYPE into OUT, with llama.cpp's rules for which tensor\n"
        "gets which type (llama-quantize without an imatrix; the bytes are the same\n"
        "as its). Norms and other 1-D tensors are copied. TYPE is one of:\n"
        "  q4_0 q4_1 q5_0 q5_1 q8_0 q2_k q3_k_s q3_k_m q3_k_l q4_k_s q4_k_m q5_k_s q5_k_m\n"
        "  q6_k f16 bf16 f32   (q3_k, q4_k, q5_k mean the _m mixes, as in llama-quantize)\n"
        "A quantized input is only quantized again with --allow-requantize.",
    .footer = "example:\n  owl quantize SmolLM2-135M-F16.gguf SmolLM2-135M-Q4_K_M.gguf q4_k_m",
};

bool quantize_type_known(const char *name) {
    for (int i = 0; i < N_MIXES; i++)
        if (!strcasecmp(name, mixes[i].name)) return true;
    return false;
}

static const char *type_name(int t) {
    const char *n = owl_type_name(t);
    return n ? n : "?";
}

static bool ends_with(const char *s, const char *suffix) {
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !strcmp(s + a - b, suffix);
}

static int layer_of(const char *name) {
    int l = -1;
    if (sscanf(name, "blk.%d.", &l) != 1) return -1;
    return l;
}

/* llama.cpp's tensor order: layer (none = -1 first), then name */
typedef struct qtensor {
    const gguf_tensor *src;
    char name[256];
    int layer;
    int new_type;
} qtensor;

static int qtensor_cmp(const void *a, const void *b) {
    const qtensor *x = a, *y = b;
    if (x->layer != y->layer) return x->layer < y->layer ? -1 : 1;
    return strcmp(x->name, y->name);
}

static bool use_more_bits(int i, int n) { return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2; }

typedef struct mix_state {
    int ftype, default_type;
    bool has_output;
    int n_attn_wv, i_attn_wv, i_ffn_down, n_layer;
    uint32_t n_head, n_head_kv;
    bool is_70b;
} mix_state;

static int blck(int t) { return dtype_get(t)->blck; }

/* The type llama.cpp's llama_tensor_get_type picks for a quantized ftype;
 * *fallback set when the row length forced a fallback. */
static int mix_type(mix_state *st, const char *name, int64_t nx, bool *fallback) {
    int ft = st->ftype, t = st->default_type;
    *fallback = false;
    if (!strcmp(name, "output.weight") || (!st->has_output && !strcmp(name, "token_embd.weight"))) {
        if (nx % blck(t) != 0)
            t = OWL_TYPE_Q8_0;
        else if (t != OWL_TYPE_Q8_0)
            t = OWL_TYPE_Q6_K;
    } else if (!strcmp(name, "token_embd.weight")) {
        /* kept at the default type for the types owl writes */
    } else if (strstr(name, "attn_v.weight")) {
        bool gqa4 = st->n_head_kv && st->n_head / st->n_head_kv >= 4;
        if (ft == FT_Q2_K)
            t = gqa4 ? OWL_TYPE_Q4_K : OWL_TYPE_Q3_K;
        else if (ft == FT_Q3_K_M)
            t = st->i_attn_wv < 2 ? OWL_TYPE_Q5_K : OWL_TYPE_Q4_K;
        else if (ft == FT_Q3_K_L)
            t = OWL_TYPE_Q5_K;
        else if ((ft == FT_Q4_K_M || ft == FT_Q5_K_M) && use_more_bits(st->i_attn_wv, st->n_attn_wv))
            t = OWL_TYPE_Q6_K;
        else if (ft == FT_Q4_K_S && st->i_attn_wv < 4)
            t = OWL_TYPE_Q5_K;
        if (st->is_70b && (t == OWL_TYPE_Q3_K || t == OWL_TYPE_Q4_K)) t = OWL_TYPE_Q5_K;
        st->i_attn_wv++;
    } else if (strstr(name, "attn_k.weight") || strstr(name, "attn_q.weight")) {
        /* only IQ types and 8-expert models change these */
    } else if (strstr(name, "ffn_down")) {
        int i = st->i_ffn_down, n = st->n_layer;
        if (ft == FT_Q2_K)
            t = OWL_TYPE_Q3_K;
        else if (ft == FT_Q3_K_M)
            t = i < n / 16 ? OWL_TYPE_Q5_K : OWL_TYPE_Q4_K;
        else if (ft == FT_Q3_K_L)
            t = OWL_TYPE_Q5_K;
        else if (ft == FT_Q4_K_M) {
            if (use_more_bits(i, n)) t = OWL_TYPE_Q6_K;
        } else if (ft == FT_Q5_K_M && use_more_bits(i, n))
            t = OWL_TYPE_Q6_K;
        else if (ft == FT_Q4_K_S && i < n / 8)
            t = OWL_TYPE_Q5_K;
        st->i_ffn_down++;
    } else if (strstr(name, "attn_output.weight")) {
        if (ft == FT_Q2_K)
            t = OWL_TYPE_Q3_K;
        else if (ft == FT_Q3_K_M)
            t = OWL_TYPE_Q4_K;
        else if (ft == FT_Q3_K_L)
            t = OWL_TYPE_Q5_K;
    } else if (strstr(name, "attn_qkv.weight")) {
        if (ft == FT_Q3_K_M || ft == FT_Q3_K_L)
            t = OWL_TYPE_Q4_K;
        else if (ft == FT_Q4_K_M)
            t = OWL_TYPE_Q5_K;
        else if (ft == FT_Q5_K_M)
            t = OWL_TYPE_Q6_K;
    }
    if (nx % blck(t) != 0) {
        *fallback = true;
        switch (t) {
        case OWL_TYPE_Q2_K:
        case OWL_TYPE_Q3_K: t = OWL_TYPE_Q4_0; break; /* llama.cpp: iq4_nl */
        case OWL_TYPE_Q4_K: t = OWL_TYPE_Q5_0; break;
        case OWL_TYPE_Q5_K: t = OWL_TYPE_Q5_1; break;
        case OWL_TYPE_Q6_K: t = OWL_TYPE_Q8_0; break;
        default: t = OWL_TYPE_F16; break;
        }
        if (nx % blck(t) != 0) t = OWL_TYPE_F16;
    }
    return t;
}

/* ---- the conversion of a chunk of rows, split over threads -------------- */

typedef struct conv_job {
    const dtype_traits *from, *to;
    const uint8_t *src;  /* first row of the chunk */
    uint8_t *dst;
    size_t src_row, dst_row;
    int64_t n_rows, ne0;
    float **scratch; /* (nth) rows of ne0 floats */
} conv_job;

static void conv_rows(void *arg, int ith, int nth) {
    const conv_job *j = arg;
    int64_t per = (j->n_rows + nth - 1) / nth;
    int64_t r0 = per * ith, r1 = r0 + per < j->n_rows ? r0 + per : j->n_rows;
    float *f = j->scratch[ith];
    for (int64_t r = r0; r < r1; r++) {
        j->from->to_float(j->src + (size_t)r * j->src_row, f, j->ne0);
        j->to->from_float(f, j->dst + (size_t)r * j->dst_row, j->ne0);
    }
}

static void human_bytes(char *buf, size_t cap, double b) {
    if (b >= 1024.0 * 1024 * 1024)
        snprintf(buf, cap, "%.2f GiB", b / (1024.0 * 1024 * 1024));
    else
        snprintf(buf, cap, "%.2f MiB", b / (1024.0 * 1024));
}

int cmd_quantize(int argc, char **argv) {
    int32_t n_threads = 0;
    bool pure = false, requant = false, verbose = false;
    const arg_opt opts[] = {
        {"-t", "--threads", ARG_INT, &n_threads, 0, 1024, "N", "threads, 0 = every CPU this process may use"},
        {NULL, "--pure", ARG_FLAG, &pure, 0, 0, NULL, "every converted tensor in TYPE (no mix, no q6_k output)"},
        {NULL, "--allow-requantize", ARG_FLAG, &requant, 0, 0, NULL, "quantize tensors that are already quantized"},
        {"-v", "--verbose", ARG_FLAG, &verbose, 0, 0, NULL, "one line per tensor on stderr"},
    };
    const char *pos[3];
    int n_pos = 0;
    int r = args_parse(&quantize_cmd, opts, sizeof opts / sizeof opts[0], argc, argv, pos, 3, &n_pos);
    if (r != ARGS_OK) return r == ARGS_HELP ? 0 : 1;
    if (n_pos != 3) return cli_fail("quantize", "expected IN.gguf OUT.gguf TYPE (owl quantize --help)");
    const char *in_path = pos[0], *out_path = pos[1], *tname = pos[2];
    const struct qmix *mix = NULL;
    for (int i = 0; i < N_MIXES; i++)
        if (!strcasecmp(tname, mixes[i].name)) mix = &mixes[i];
    if (!mix) return cli_fail("quantize", "unknown TYPE '%s' (owl quantize --help lists them)", tname);
    struct stat si, so;
    if (stat(in_path, &si) == 0 && stat(out_path, &so) == 0 && si.st_dev == so.st_dev && si.st_ino == so.st_ino)
        return cli_fail("quantize", "OUT is the same file as IN (%s)", in_path);

    gguf *g = NULL;
    if (gguf_open(in_path, &g) != OWL_OK) return cli_fail("quantize", "%s", owl_last_error());
    int rc = 1;
    qtensor *ts = NULL;
    gguf_writer *w = NULL;
    threadpool *pool = NULL;
    float **scratch = NULL;
    uint8_t *out_buf = NULL;
    int nth = n_threads > 0 ? n_threads : owl_cpu_count();
    if (nth < 1) nth = 1;

    gguf_str arch = {"llama", 5};
    gguf_get_str(g, "general.architecture", &arch);
    char key[320];
    mix_state st = {.ftype = mix->ftype, .default_type = mix->type};
    snprintf(key, sizeof key, "%.*s.block_count", (int)arch.len, arch.ptr);
    uint32_t u = 0;
    if (gguf_get_u32(g, key, &u) == 1) st.n_layer = (int)u;
    snprintf(key, sizeof key, "%.*s.attention.head_count", (int)arch.len, arch.ptr);
    if (gguf_get_u32(g, key, &u) == 1) st.n_head = u;
    snprintf(key, sizeof key, "%.*s.attention.head_count_kv", (int)arch.len, arch.ptr);
    st.n_head_kv = st.n_head;
    if (gguf_get_u32(g, key, &u) == 1) st.n_head_kv = u;
    st.is_70b = gguf_str_eq(arch, "llama") && st.n_layer == 80;

    ts = owl_xcalloc(g->n_tensors ? (size_t)g->n_tensors : 1, sizeof *ts);
    if (!ts) goto out_nomem;
    int64_t max_ne0 = 1;
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        const gguf_tensor *t = &g->tensors[i];
        if (t->name.len >= sizeof ts[i].name) {
            cli_fail("quantize", "%s: tensor name of %llu bytes is too long", in_path, (unsigned long long)t->name.len);
            goto out;
        }
        ts[i].src = t;
        memcpy(ts[i].name, t->name.ptr, (size_t)t->name.len);
        ts[i].layer = layer_of(ts[i].name);
        if (strstr(ts[i].name, "attn_v.weight") || strstr(ts[i].name, "attn_qkv.weight") ||
            strstr(ts[i].name, "attn_kv_b.weight"))
            st.n_attn_wv++;
        if (!strcmp(ts[i].name, "output.weight")) st.has_output = true;
        if (t->ne[0] > max_ne0) max_ne0 = t->ne[0];
    }
    qsort(ts, (size_t)g->n_tensors, sizeof *ts, qtensor_cmp);

    const dtype_traits *def = dtype_get(mix->type);
    uint64_t in_bytes = 0, out_bytes = 0;
    int n_fallback = 0, n_requant = 0;
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        qtensor *q = &ts[i];
        const gguf_tensor *t = q->src;
        bool convert = ends_with(q->name, "weight") && t->n_dims >= 2 && !strstr(q->name, "_norm.weight") &&
                       !strstr(q->name, "ffn_gate_inp.weight") && strcmp(q->name, "position_embd.weight") &&
                       strcmp(q->name, "token_types.weight");
        int nt = t->type;
        if (convert) {
            nt = mix->type;
            bool fb = false;
            if (def->quantized && !pure)
                nt = mix_type(&st, q->name, t->ne[0], &fb);
            else if (t->ne[0] % blck(nt) != 0) {
                fb = true;
                nt = OWL_TYPE_F16;
            }
            n_fallback += fb;
        }
        const dtype_traits *src_tr = dtype_get(t->type), *dst_tr = dtype_get(nt);
        if (nt != t->type) {
            if (!src_tr->to_float || !dst_tr->from_float) {
                cli_fail("quantize", "%s: cannot convert %s from %s to %s", in_path, q->name, type_name(t->type),
                         type_name(nt));
                goto out;
            }
            if (src_tr->quantized && dst_tr->quantized) {
                if (!requant) {
                    cli_fail("quantize", "%s: %s is already %s; quantizing it again loses quality "
                             "(--allow-requantize does it anyway)", in_path, q->name, type_name(t->type));
                    goto out;
                }
                n_requant++;
            }
        }
        q->new_type = nt;
        in_bytes += t->nbytes;
    }

    if (gguf_writer_open(out_path, &w) != OWL_OK) {
        cli_fail("quantize", "%s", owl_last_error());
        goto out;
    }
    for (uint64_t i = 0; i < g->n_kv; i++) {
        const gguf_kv *kv = &g->kv[i];
        if (gguf_str_eq(kv->key, "general.file_type") || gguf_str_eq(kv->key, "general.quantization_version"))
            continue;
        if (gguf_writer_kv_copy(w, kv) != OWL_OK) {
            cli_fail("quantize", "%s", owl_last_error());
            goto out;
        }
    }
    if (gguf_writer_kv_u32(w, "general.quantization_version", 2) != OWL_OK ||
        gguf_writer_kv_u32(w, "general.file_type", (uint32_t)mix->ftype) != OWL_OK) {
        cli_fail("quantize", "%s", owl_last_error());
        goto out;
    }
    for (uint64_t i = 0; i < g->n_tensors; i++)
        if (gguf_writer_add_tensor(w, ts[i].name, ts[i].new_type, ts[i].src->n_dims, ts[i].src->ne) != OWL_OK) {
            cli_fail("quantize", "%s", owl_last_error());
            goto out;
        }
    if (gguf_writer_begin_data(w) != OWL_OK) {
        cli_fail("quantize", "%s", owl_last_error());
        goto out;
    }

    if (threadpool_new(nth, &pool) != OWL_OK) {
        cli_fail("quantize", "%s", owl_last_error());
        goto out;
    }
    scratch = owl_xcalloc((size_t)nth, sizeof *scratch);
    if (!scratch) goto out_nomem;
    for (int k = 0; k < nth; k++)
        if (!(scratch[k] = owl_xmalloc((size_t)max_ne0 * sizeof(float)))) goto out_nomem;
    const size_t chunk_target = (size_t)8 << 20; /* bytes of output per chunk */
    size_t out_cap = 0;

    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        const qtensor *q = &ts[i];
        const gguf_tensor *t = q->src;
        if (q->new_type == t->type) { /* copied as it is */
            if (gguf_writer_write(w, t->data, t->nbytes) != OWL_OK) {
                cli_fail("quantize", "%s", owl_last_error());
                goto out;
            }
            out_bytes += t->nbytes;
            if (verbose) fprintf(stderr, "[%4llu/%llu] %-32s %-5s copied\n", (unsigned long long)i + 1,
                                 (unsigned long long)g->n_tensors, q->name, type_name(t->type));
            continue;
        }
        conv_job j = {.from = dtype_get(t->type), .to = dtype_get(q->new_type), .ne0 = t->ne[0], .scratch = scratch};
        j.src_row = dtype_row_size(t->type, t->ne[0]);
        j.dst_row = dtype_row_size(q->new_type, t->ne[0]);
        int64_t rows = (int64_t)(t->nbytes / j.src_row);
        int64_t chunk = (int64_t)(chunk_target / j.dst_row);
        if (chunk < nth) chunk = nth;
        if (chunk > rows) chunk = rows;
        size_t need = (size_t)chunk * j.dst_row;
        if (need > out_cap) {
            free(out_buf);
            if (!(out_buf = owl_xmalloc(need))) goto out_nomem;
            out_cap = need;
        }
        for (int64_t r0 = 0; r0 < rows; r0 += chunk) {
            j.n_rows = rows - r0 < chunk ? rows - r0 : chunk;
            j.src = (const uint8_t *)t->data + (size_t)r0 * j.src_row;
            j.dst = out_buf;
            threadpool_run(pool, conv_rows, &j);
            if (gguf_writer_write(w, out_buf, (size_t)j.n_rows * j.dst_row) != OWL_OK) {
                cli_fail("quantize", "%s", owl_last_error());
                goto out;
            }
        }
        out_bytes += (uint64_t)rows * j.dst_row;
        if (verbose)
            fprintf(stderr, "[%4llu/%llu] %-32s %-5s -> %s\n", (unsigned long long)i + 1, (unsigned long long)g->n_tensors,
                    q->name, type_name(t->type), type_name(q->new_type));
    }
    if (gguf_writer_finish(w) != OWL_OK) {
        cli_fail("quantize", "%s", owl_last_error());
        goto out;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    char a[32], b[32];
    human_bytes(a, sizeof a, (double)in_bytes);
    human_bytes(b, sizeof b, (double)out_bytes);
    fprintf(stderr, "owl quantize: %s -> %s (%s): tensors %s -> %s in %.1f s, %d threads", in_path, out_path, mix->name,
            a, b, (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9, nth);
    if (n_fallback) fprintf(stderr, ", %d tensors fell back (rows not a whole number of blocks)", n_fallback);
    if (n_requant) fprintf(stderr, ", %d tensors requantized", n_requant);
    fprintf(stderr, "\n");
    rc = 0;
    goto out;

out_nomem:
    cli_fail("quantize", "%s", owl_last_error());
out:
    gguf_writer_free(w);
    if (scratch)
        for (int k = 0; k < nth; k++) free(scratch[k]);
    free(scratch);
    free(out_buf);
    threadpool_free(pool);
    free(ts);
    gguf_close(g);
    return rc;
}
