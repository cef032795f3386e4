/* chat_template.c — the chat formats owl renders; see chat_template.h.
 *
 * ChatML is recognised by "<|im_start|>" in the template. Its default
 * system message is the string literal '<|im_start|>system\n...<|im_end|>\n'
 * of the template (Jinja escapes \n, \t, \\, \' undone), inserted before
 * the first message when that is not a system message; when the template
 * guards it with loop.first (SmolLM2), an empty conversation gets none.
 * Templates with tool calling or reasoning blocks need the real Jinja
 * semantics and are refused. */
#include "chat_template.h"

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
    if (b.fail || sys.fail) {
        free(b.p);
        return owl_err(OWL_ERR_NOMEM, "out of memory rendering a chat");
    }
    if (!b.p) {
        b.p = owl_xstrndup("", 0);
        if (!b.p) return OWL_ERR_NOMEM;
    }
    *out = b.p;
    return OWL_OK;
}

owl_status chat_template_apply(const char *tmpl, const owl_chat_msg *msgs, size_t n_msgs, bool add_generation_prompt,
                               char **out) {
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
    return owl_err(OWL_ERR_UNSUPPORTED,
                   "chat: template not recognised (owl renders ChatML templates; general Jinja templates are not "
                   "supported yet)");
}
