/* chat_template.c — the chat formats owl renders; see chat_template.h.
 *
 * ChatML is recognised by "<|im_start|>" in the template. Its default
 * system message is the string literal '<|im_start|>system\n...<|im_end|>\n'
 * of the template (Jinja escapes \n, \t, \\, \' undone), inserted before
 * the first message when that is not a system message; when the template
 * guards it with loop.first (SmolLM2), an empty conversation gets none.
 * Templates with tool calling or reasoning blocks need the real Jinja
 * semantics and are refused.
 *
 * Two more templates are recognised by their exact text (as published in
 * the models' tokenizer_config.json): Llama 3's original Instruct template
 * (it always ends with the assistant header) and Gemma 2's (no system
 * role, user/model turns must alternate, contents trimmed like Python's
 * str.strip). */
#include "chat_template.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../base/mem.h"
#include "../base/status.h"

typedef struct sbuf {
    char *p;
    size_t n, cap;
    bool fail;
} sbuf;

static void sb_add(sbuf *b, const char *s, size_t n) {
    if (b->fail) return;
    size_t need;
    if (!size_add(b->n, n + 1, &need)) {
        b->fail = true;
        return;
    }
    if (need > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < need) cap *= 2;
        char *p = owl_xrealloc(b->p, cap);
        if (!p) {
            b->fail = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}

static void sb_str(sbuf *b, const char *s) { sb_add(b, s, strlen(s)); }

/* A newline in a Jinja string literal: a real one or the escape \n;
 * its length at p, or 0. */
static size_t newline_at(const char *p) {
    if (p[0] == '\n') return 1;
    if (p[0] == '\\' && p[1] == 'n') return 2;
    return 0;
}

/* The text of the default system message in a ChatML template, unescaped
 * into out; false when the template has none. */
static bool chatml_default_system(const char *tmpl, sbuf *out) {
    static const char open[] = "<|im_start|>system", close[] = "<|im_end|>";
    for (const char *p = tmpl; (p = strstr(p, open)) != NULL; p++) {
        if (p == tmpl || (p[-1] != '\'' && p[-1] != '"')) continue;
        char quote = p[-1];
        size_t nl = newline_at(p + sizeof open - 1);
        if (!nl) continue;
        const char *s = p + sizeof open - 1 + nl, *e = s;
        while (*e && *e != quote && strncmp(e, close, sizeof close - 1) != 0) e += (*e == '\\' && e[1]) ? 2 : 1;
        if (strncmp(e, close, sizeof close - 1) != 0) continue;
        nl = newline_at(e + sizeof close - 1);
        if (!nl || e[sizeof close - 1 + nl] != quote) continue;
        for (const char *q = s; q < e; q++) {
            if (*q == '\\' && q + 1 < e) {
                q++;
                char c = *q == 'n' ? '\n' : *q == 't' ? '\t' : *q;
                sb_add(out, &c, 1);
            } else {
                sb_add(out, q, 1);
            }
        }
        return true;
    }
    return false;
}

/* Python's str.isspace for one code point (Jinja's trim is str.strip) */
static bool py_space(uint32_t c) {
    return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

static uint32_t dec(const unsigned char *p, size_t n, size_t *len) {
    size_t l = (p[0] < 0x80) ? 1 : (p[0] >= 0xF0) ? 4 : (p[0] >= 0xE0) ? 3 : (p[0] >= 0xC0) ? 2 : 1;
    if (l > n) l = 1;
    uint32_t c = l == 1 ? p[0] : (uint32_t)(p[0] & (0x7F >> l));
    for (size_t i = 1; i < l; i++) c = (c << 6) | (p[i] & 0x3F);
    *len = l;
    return c;
}

/* content with leading and trailing whitespace removed, into b */
static void sb_trim(sbuf *b, const char *z) {
    const unsigned char *s = (const unsigned char *)z, *e = s + strlen(z);
    size_t l;
    while (s < e && py_space(dec(s, (size_t)(e - s), &l))) s += l;
    while (e > s) {
        const unsigned char *q = e - 1;
        while (q > s && (*q & 0xC0) == 0x80 && e - q < 4) q--;
        if (!py_space(dec(q, (size_t)(e - q), &l)) || q + l != e) break;
        e = q;
    }
    sb_add(b, (const char *)s, (size_t)(e - s));
}

static const char llama3_template[] =
    "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + "
    "message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 "
    "%}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{{ "
    "'<|start_header_id|>assistant<|end_header_id|>\n\n' }}";

static const char gemma_template[] =
    "{{ bos_token }}{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}{% "
    "endif %}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ "
    "raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if "
    "(message['role'] == 'assistant') %}{% set role = 'model' %}{% else %}{% set role = message['role'] %}{% endif "
    "%}{{ '<start_of_turn>' + role + '\n' + message['content'] | trim + '<end_of_turn>\n' }}{% endfor %}{% if "
    "add_generation_prompt %}{{'<start_of_turn>model\n'}}{% endif %}";

/* true when tmpl is text, up to whitespace at the end */
static bool same_template(const char *tmpl, const char *text) {
    size_t n = strlen(text);
    if (strncmp(tmpl, text, n) != 0) return false;
    for (const char *p = tmpl + n; *p; p++)
        if (*p != ' ' && *p != '\n' && *p != '\t' && *p != '\r') return false;
    return true;
}

static owl_status finish(sbuf *b, char **out) {
    if (b->fail) {
        free(b->p);
        return owl_err(OWL_ERR_NOMEM, "out of memory rendering a chat");
    }
    if (!b->p) {
        b->p = owl_xstrndup("", 0);
        if (!b->p) return OWL_ERR_NOMEM;
    }
    *out = b->p;
    return OWL_OK;
}

static owl_status llama3(const char *bos, const owl_chat_msg *msgs, size_t n, char **out) {
    sbuf b = {0};
    for (size_t i = 0; i < n; i++) {
        if (i == 0) sb_str(&b, bos);
        sb_str(&b, "<|start_header_id|>");
        sb_str(&b, msgs[i].role);
        sb_str(&b, "<|end_header_id|>\n\n");
        sb_trim(&b, msgs[i].content);
        sb_str(&b, "<|eot_id|>");
    }
    sb_str(&b, "<|start_header_id|>assistant<|end_header_id|>\n\n");
    return finish(&b, out);
}

static owl_status gemma(const char *bos, const owl_chat_msg *msgs, size_t n, bool gen, char **out) {
    if (n == 0) return owl_err(OWL_ERR_ARG, "chat: Gemma's template needs at least one message");
    if (strcmp(msgs[0].role, "system") == 0)
        return owl_err(OWL_ERR_ARG, "chat: Gemma's template: System role not supported");
    sbuf b = {0};
    sb_str(&b, bos);
    for (size_t i = 0; i < n; i++) {
        if ((strcmp(msgs[i].role, "user") == 0) != (i % 2 == 0)) {
            free(b.p);
            return owl_err(OWL_ERR_ARG, "chat: Gemma's template: Conversation roles must alternate "
                                        "user/assistant/user/assistant/... (message %zu)", i);
        }
        sb_str(&b, "<start_of_turn>");
        sb_str(&b, strcmp(msgs[i].role, "assistant") == 0 ? "model" : msgs[i].role);
        sb_str(&b, "\n");
        sb_trim(&b, msgs[i].content);
        sb_str(&b, "<end_of_turn>\n");
    }
    if (gen) sb_str(&b, "<start_of_turn>model\n");
    return finish(&b, out);
}

static owl_status chatml(const char *tmpl, const owl_chat_msg *msgs, size_t n, bool gen, char **out) {
    sbuf b = {0}, sys = {0};
    bool has_default = chatml_default_system(tmpl, &sys);
    bool only_with_messages = strstr(tmpl, "loop.first") != NULL;
    if (has_default && (n > 0 || !only_with_messages) && (n == 0 || strcmp(msgs[0].role, "system") != 0)) {
        sb_str(&b, "<|im_start|>system\n");
        sb_add(&b, sys.p ? sys.p : "", sys.n);
        sb_str(&b, "<|im_end|>\n");
    }
    for (size_t i = 0; i < n; i++) {
        sb_str(&b, "<|im_start|>");
        sb_str(&b, msgs[i].role);
        sb_str(&b, "\n");
        sb_str(&b, msgs[i].content);
        sb_str(&b, "<|im_end|>\n");
    }
    if (gen) sb_str(&b, "<|im_start|>assistant\n");
    free(sys.p);
    if (sys.fail) b.fail = true;
    return finish(&b, out);
}

owl_status chat_template_apply(const char *tmpl, const char *bos_text, const owl_chat_msg *msgs, size_t n_msgs,
                               bool add_generation_prompt, char **out) {
    *out = NULL;
    if (n_msgs && !msgs) return owl_err(OWL_ERR_ARG, "chat: messages is NULL");
    for (size_t i = 0; i < n_msgs; i++) {
        if (!msgs[i].role || !msgs[i].content) return owl_err(OWL_ERR_ARG, "chat: message %zu has no role or content", i);
        const char *r = msgs[i].role;
        if (strcmp(r, "system") && strcmp(r, "user") && strcmp(r, "assistant"))
            return owl_err(OWL_ERR_UNSUPPORTED, "chat: role '%.32s' of message %zu (system, user, assistant are)", r, i);
    }
    if (!tmpl) return owl_err(OWL_ERR_UNSUPPORTED, "chat: the model has no tokenizer.chat_template");
    if (strstr(tmpl, "<|im_start|>")) {
        static const char *const needs_jinja[] = {"tool_call", "tools", "<think>", "reasoning_content"};
        for (size_t k = 0; k < sizeof needs_jinja / sizeof needs_jinja[0]; k++)
            if (strstr(tmpl, needs_jinja[k]))
                return owl_err(OWL_ERR_UNSUPPORTED,
                               "chat: this ChatML template uses '%s', which needs a Jinja engine owl does not have yet",
                               needs_jinja[k]);
        return chatml(tmpl, msgs, n_msgs, add_generation_prompt, out);
    }
    if (!bos_text) bos_text = "";
    if (same_template(tmpl, llama3_template)) return llama3(bos_text, msgs, n_msgs, out);
    if (same_template(tmpl, gemma_template)) return gemma(bos_text, msgs, n_msgs, add_generation_prompt, out);
    return owl_err(OWL_ERR_UNSUPPORTED,
                   "chat: template not recognised (owl renders ChatML, Llama 3's and Gemma 2's templates; general Jinja "
                   "templates are not supported yet)");
}
