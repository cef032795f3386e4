/* jinja.h — a sandboxed Jinja interpreter for chat templates.
 *
 * Renders a template the way Python Jinja2 does under the environment
 * transformers' apply_chat_template sets up: ImmutableSandboxedEnvironment
 * with trim_blocks, lstrip_blocks and the loopcontrols extension (break,
 * continue), its tojson filter (json.dumps with ensure_ascii=False), and the
 * globals raise_exception, strftime_now, namespace and dict. Values follow
 * Python's rules (str(), repr(), truthiness, ==, +) so the output is byte
 * for byte what Jinja2 prints.
 *
 * Sandbox: a template reaches nothing outside the context it is given (no
 * file, process, import or include); loop iterations, call depth, output
 * size and memory are bounded by the constants below and exceeding one is
 * an OWL_ERR_FORMAT error naming the limit, as is a syntax error (with its
 * line and column). A template that fails on what it was given (its
 * raise_exception(msg), with msg in the message, or Python's TypeError,
 * UndefinedError... with the template line) fails with OWL_ERR_ARG.
 *
 * Not there (none of the chat templates seen uses them): include, import,
 * extends and block (a sandbox has nothing to load), recursive loops, the
 * cycler/joiner/lipsum globals, str.format specs; map/select/unique/items
 * are computed eagerly, so on a value that is not iterable they fail where
 * Jinja2's lazy generators would only fail once iterated. Case mapping uses
 * Unicode's simple mappings (plus German sharp s), not every special case
 * of Python's full mappings. */
#ifndef OWL_TOKENIZER_JINJA_H
#define OWL_TOKENIZER_JINJA_H

#include <jansson.h>
#include <stddef.h>
#include <time.h>

#include "owl.h"

enum {
    JINJA_MAX_ITERATIONS = 1000000,  /* loop iterations + macro calls, per render */
    JINJA_MAX_DEPTH = 200,           /* nested macro calls / expression depth */
    JINJA_MAX_OUTPUT = 64 << 20,     /* bytes, when the caller gives 0 */
    JINJA_MAX_MEMORY = 256 << 20,    /* bytes of values and text per render */
};

typedef struct jinja_opts {
    size_t max_output;     /* bytes; 0: JINJA_MAX_OUTPUT */
    const struct tm *now;  /* strftime_now's time; NULL: the local time */
} jinja_opts;

/* Renders tmpl with the variables of context (a JSON object: messages,
 * add_generation_prompt, tools, bos_token, ...; NULL: none). *out is
 * malloc'd (free()); NULL on error. */
owl_status jinja_render(const char *tmpl, json_t *context, size_t max_output, char **out);
owl_status jinja_render_opts(const char *tmpl, json_t *context, const jinja_opts *opts, char **out);

/* The same in two steps, for a template rendered many times (a server):
 * parse once, then render from any number of threads at once (the parsed
 * template is read-only). */
typedef struct jinja_template jinja_template;
owl_status jinja_template_parse(const char *tmpl, jinja_template **out);
owl_status jinja_template_render(const jinja_template *t, json_t *context, const jinja_opts *opts, char **out);
void jinja_template_free(jinja_template *t); /* NULL is fine */

#endif
