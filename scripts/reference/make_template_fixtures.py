#!/usr/bin/env python3
"""Renderings of real chat templates by Python Jinja2, exactly as
transformers' apply_chat_template renders them, for
tests/golden/test_templates.c.

Templates: every ../shared/data/templates/*.jinja, the chat_template of
every ../shared/data/tokenizers/*/tokenizer_config.json that has one, and
the tokenizer.chat_template of SmolLM2's GGUF. Each is rendered on the same
set of conversations (system, multi-turn, generation prompt on and off,
unicode, tool definitions, assistant tool calls and tool results, odd
inputs) through transformers.utils.chat_template_utils.render_jinja_template,
i.e. the same ImmutableSandboxedEnvironment(trim_blocks, lstrip_blocks,
loopcontrols), tojson, raise_exception, namespace and context
(messages, tools, documents, add_generation_prompt, special tokens). The
only change: strftime_now formats a fixed date (2024-07-26 09:30:00) so the
fixtures are reproducible; the C test installs the same date.

One JSON file per template in tests/fixtures/templates/NAME.json:
  {"name", "source", "template", "cases": [{"context": {...}, "text": "..."}
   or {"context": {...}, "error": "message"}]}
where context is exactly what the template sees.

More templates, when given the path of llama.cpp's tests/test-chat-template.cpp
(environment variable LLAMA_CPP_CHAT_TESTS; the source is only read for the
template strings it carries, ~30 older models' templates): they go to
tests/fixtures/templates-extra/ in the same layout.

The language-feature fixture for tests/unit/test_jinja.c is written too
(tests/fixtures/jinja/features.json, see FEATURES below).

usage: scripts/reference/make_template_fixtures.py [shared_data_dir] [smollm2.gguf] [out_dir]
"""
import datetime
import glob
import json
import os
import sys

import gguf
import jinja2
from transformers.utils import chat_template_utils as ctu

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "../../../shared/data")
GGUF = sys.argv[2] if len(sys.argv) > 2 else os.path.expanduser("~/.cache/owl/SmolLM2-135M-Instruct.Q4_1.gguf")
OUT = sys.argv[3] if len(sys.argv) > 3 else os.path.join(HERE, "../../tests/fixtures/templates")

FIXED = datetime.datetime(2024, 7, 26, 9, 30, 0)


def fixed_strftime_now(fmt):
    return FIXED.strftime(fmt)


TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Get the current weather in a city.",
            "parameters": {
                "type": "object",
                "properties": {
                    "city": {"type": "string", "description": "The city, e.g. Paris"},
                    "unit": {"type": "string", "enum": ["celsius", "fahrenheit"], "description": "Unit"},
                },
                "required": ["city"],
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "search",
            "description": "Search the web — returns the top results.",
            "parameters": {
                "type": "object",
                "properties": {
                    "query": {"type": "string", "description": "What to look for"},
                    "limit": {"type": "integer", "description": "How many results", "default": 3},
                    "threshold": {"type": "number", "description": "Minimum score", "default": 0.5},
                },
                "required": ["query"],
            },
        },
    },
]

CALL = {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": {"city": "Paris", "unit": "celsius"}}}
CALL2 = {"id": "call_2", "type": "function", "function": {"name": "search", "arguments": {"query": "café near Louvre", "limit": 2}}}


def conversations():
    u = lambda c: {"role": "user", "content": c}
    a = lambda c: {"role": "assistant", "content": c}
    s = lambda c: {"role": "system", "content": c}
    C = []
    C.append(([u("Hello!")], True, None))
    C.append(([u("Hello!")], False, None))
    C.append(([s("You are a helpful assistant."), u("What is 2+2?")], True, None))
    C.append(([s("You are terse."), u("Hi"), a("Hello."), u("How are you?")], True, None))
    C.append(([u("Hi"), a("Hello! How can I help?"), u("Tell me a joke."), a("Why did the chicken cross the road?")], False, None))
    C.append(([s("Be kind."), u("One"), a("Two"), u("Three"), a("Four"), u("Five")], True, None))
    C.append(([u("  Ünïcödé: 日本語, emoji 🦉, Привет  \n")], True, None))
    C.append(([u("Quotes ' \" and {{ braces }} {% tags %}\nnew\tline\\backslash")], True, None))
    C.append(([s("Multi\nline\nsystem"), u("x")], False, None))
    C.append(([u("a"), a("b")], True, None))
    C.append(([s("Only a system message.")], True, None))
    C.append(([], True, None))
    C.append(([u("What's the weather in Paris?")], True, TOOLS))
    C.append(([s("You can call tools."), u("What's the weather in Paris?")], True, TOOLS))
    C.append(([u("What's the weather in Paris?"), {"role": "assistant", "content": "", "tool_calls": [CALL]},
               {"role": "tool", "name": "get_weather", "tool_call_id": "call_1", "content": "{\"temperature\": 21, \"sky\": \"clear\"}"}],
              True, TOOLS))
    C.append(([u("Weather in Paris and cafés?"), {"role": "assistant", "content": "", "tool_calls": [CALL, CALL2]},
               {"role": "tool", "name": "get_weather", "tool_call_id": "call_1", "content": "21 C"},
               {"role": "tool", "name": "search", "tool_call_id": "call_2", "content": "Café Marly"},
               a("It is 21 C; try Café Marly."), u("Thanks!")], True, TOOLS))
    C.append(([u("Weather?"), {"role": "assistant", "content": "", "tool_calls": [CALL]},
               {"role": "tool", "name": "get_weather", "tool_call_id": "call_1", "content": "sunny"}], False, None))
    C.append(([u("Hi"), u("Are you there?")], True, None))
    C.append(([a("I start."), u("ok")], True, None))
    # the plain conversations again, with tools offered
    C += [(m, g, TOOLS) for (m, g, t) in C[:11] if t is None]
    return C


# context some templates read besides the standard one
EXTRA = {
    "fireworks-ai-llama-3-firefunction-v2": {
        "functions": json.dumps([t["function"] for t in TOOLS], indent=4),
        "datetime": "2024-07-26 09:30",
    },
    # transformers passes every special token, this one reads the additional ones
    "llamacpp-ai-sage-GigaChat-20B-A3B-instruct": {
        "additional_special_tokens": ["<|message_sep|>", "<|role_sep|>", "<|file_start|>", "<|file_end|>", "<|function_call|>"],
    },
}


def render(template, ctx):
    env_tmpl = ctu._compile_jinja_template(template)
    env_tmpl.environment.globals["strftime_now"] = fixed_strftime_now
    kwargs = {k: v for k, v in ctx.items() if k not in ("messages", "tools", "add_generation_prompt")}
    out, _ = ctu.render_jinja_template(
        conversations=[ctx["messages"]], tools=ctx["tools"], chat_template=template,
        add_generation_prompt=ctx["add_generation_prompt"], **kwargs)
    return out[0]


def token_text(t):
    if isinstance(t, dict):
        return t.get("content")
    return t


def templates():
    res = []
    for path in sorted(glob.glob(os.path.join(DATA, "templates", "*.jinja"))):
        name = os.path.basename(path)[: -len(".jinja")]
        with open(path, encoding="utf-8") as f:
            t = f.read()
        fam = name.lower()
        if "llama-3" in fam or "llama3" in fam or "firefunction" in fam or "hermes" in fam or "functionary" in fam or "distill-llama" in fam:
            bos, eos = "<|begin_of_text|>", "<|eot_id|>"
        elif "qwen" in fam:
            bos, eos = None, "<|im_end|>"
        elif "deepseek" in fam:
            bos, eos = "<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>"
        elif "gemma" in fam:
            bos, eos = "<bos>", "<eos>"
        elif "cohere" in fam:
            bos, eos = "<BOS_TOKEN>", "<|END_OF_TURN_TOKEN|>"
        else:
            bos, eos = "<s>", "</s>"
        res.append((name, "data/templates/" + os.path.basename(path), t, bos, eos))
    for path in sorted(glob.glob(os.path.join(DATA, "tokenizers", "*", "tokenizer_config.json"))):
        d = json.load(open(path, encoding="utf-8"))
        t = d.get("chat_template")
        if not t:
            continue
        if isinstance(t, list):
            t = next(x["template"] for x in t if x["name"] == "default")
        folder = os.path.basename(os.path.dirname(path))
        res.append(("tokenizer-" + folder, "data/tokenizers/%s/tokenizer_config.json" % folder, t,
                    token_text(d.get("bos_token")), token_text(d.get("eos_token"))))
    r = gguf.GGUFReader(GGUF)
    f = r.fields["tokenizer.chat_template"]
    t = bytes(f.parts[f.data[0]]).decode("utf-8")
    toks = r.fields["tokenizer.ggml.tokens"]

    def tok(i):
        return bytes(toks.parts[toks.data[i]]).decode("utf-8")

    bos = tok(int(r.fields["tokenizer.ggml.bos_token_id"].parts[-1][0]))
    eos = tok(int(r.fields["tokenizer.ggml.eos_token_id"].parts[-1][0]))
    res.append(("smollm2-gguf", "SmolLM2-135M-Instruct GGUF tokenizer.chat_template", t, bos, eos))
    return res


def cpp_string(lit):
    out, i = [], 0
    esc = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "'": "'"}
    while i < len(lit):
        ch = lit[i]
        if ch == "\\" and i + 1 < len(lit):
            out.append(esc.get(lit[i + 1], "\\" + lit[i + 1]))
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def extra_templates():
    path = os.environ.get("LLAMA_CPP_CHAT_TESTS")
    if not path:
        return []
    import re
    src = open(path, encoding="utf-8").read()
    lit = r'(?:u8)?"((?:[^"\\]|\\.)*)"'
    res = []
    pat = re.compile(r"/\* \.name= \*/ " + lit + r",\s*/\* \.template_str= \*/ " + lit + r".*?/\* \.bos_token= \*/ "
                     + lit + r",\s*/\* \.eos_token= \*/ " + lit, re.S)
    seen = set()
    for m in pat.finditer(src):
        name, t, bos, eos = (cpp_string(g) for g in m.groups())
        slug = re.sub(r"[^A-Za-z0-9.]+", "-", name).strip("-")[:60]
        if slug in seen or t in seen:
            continue
        seen.add(slug)
        seen.add(t)
        res.append(("llamacpp-" + slug, "llama.cpp tests/test-chat-template.cpp: " + name, t, bos or "<s>", eos or "</s>"))
    return res


def main():
    os.makedirs(OUT, exist_ok=True)
    extra_out = os.path.join(OUT, "..", "templates-extra")
    for name, source, t, bos, eos in templates() + extra_templates():
        out_dir = extra_out if name.startswith("llamacpp-") else OUT
        os.makedirs(out_dir, exist_ok=True)
        cases = []
        n_ok = 0
        for msgs, gen, tools in conversations():
            ctx = {"messages": msgs, "tools": tools, "documents": None, "add_generation_prompt": gen}
            if bos is not None:
                ctx["bos_token"] = bos
            if eos is not None:
                ctx["eos_token"] = eos
            ctx.update(EXTRA.get(name, {}))
            try:
                text = render(t, json.loads(json.dumps(ctx)))
                cases.append({"context": ctx, "text": text})
                n_ok += 1
            except (jinja2.exceptions.TemplateError, TypeError, ValueError, KeyError, AttributeError, IndexError) as e:
                cases.append({"context": ctx, "error": "%s: %s" % (type(e).__name__, e)})
        with open(os.path.join(out_dir, name + ".json"), "w", encoding="utf-8") as f:
            json.dump({"name": name, "source": source, "template": t, "cases": cases}, f, ensure_ascii=False, indent=1)
            f.write("\n")
        print("%-50s %2d rendered, %2d errors" % (name, n_ok, len(cases) - n_ok), file=sys.stderr)


# ---- random expressions: {{ EXPR }} built from literals, operators, filters and tests, with a fixed seed ----
# Into tests/fixtures/jinja/expressions.json (same layout as features.json). Filters whose Jinja2 result is a
# lazy iterator with an address in its repr (reverse, unique, items) are left out; results that print an object
# address are dropped.

EXPR_LITS = ["0", "1", "-3", "7", "2.5", "-0.5", "1e3", "0.1", "'abc'", "'A b'", "''", "' x '", "'é'", "none", "true",
             "false", "[1, 2, 3]", "[]", "['b', 'a']", "{'k': 1, 'j': 'v'}", "{}", "(1, 'a')", "n", "s", "l", "d", "f", "z",
             "nope", "u"]
EXPR_BIN = ["+", "-", "*", "/", "//", "%", "**", "~", "==", "!=", "<", ">", "<=", ">=", "in", "not in", "and", "or"]
EXPR_FILT = ["length", "string", "upper", "lower", "tojson", "first", "last", "list", "join", "join(',')", "trim", "int",
             "float", "round", "round(1)", "abs", "default('D')", "default('D', true)", "capitalize", "title", "sort",
             "sum", "min", "max", "count", "wordcount", "replace('a', 'Z')", "indent(2)", "batch(2)|list", "select|list",
             "reject|list", "map('string')|list", "dictsort", "tojson(indent=1)", "safe", "e"]
EXPR_TESTS = ["defined", "none", "string", "number", "integer", "float", "mapping", "iterable", "sequence", "odd", "even",
              "true", "false", "boolean", "lower", "upper", "divisibleby(2)", "in([1, 'abc'])", "eq(1)"]
EXPR_CTX = {"n": 7, "s": "Hello World", "l": [3, 1, 2], "d": {"b": 2, "a": 1}, "f": 2.5, "z": None, "u": "日本語"}


def random_expr(rng, d=0):
    r = rng.random()
    if d > 3 or r < 0.3:
        return rng.choice(EXPR_LITS)
    if r < 0.55:
        return "(%s %s %s)" % (random_expr(rng, d + 1), rng.choice(EXPR_BIN), random_expr(rng, d + 1))
    if r < 0.75:
        return "(%s | %s)" % (random_expr(rng, d + 1), rng.choice(EXPR_FILT))
    if r < 0.82:
        return "(%s is %s%s)" % (random_expr(rng, d + 1), rng.choice(["", "not "]), rng.choice(EXPR_TESTS))
    if r < 0.88:
        return "(%s if %s else %s)" % (random_expr(rng, d + 1), random_expr(rng, d + 1), random_expr(rng, d + 1))
    if r < 0.94:
        a, b, c = rng.choice(["", "0", "1", "-1", "-2", "5"]), rng.choice(["", "2", "-1", "9"]), rng.choice(["", "", "-1", "2"])
        return "%s[%s:%s%s]" % (rng.choice(["s", "l", "u", "'hello'", "[1,2,3,4]"]), a, b, (":" + c) if c else "")
    return "%s[%s]" % (rng.choice(["s", "l", "d", "u", "[1,2]"]), rng.choice(["0", "-1", "'k'", "3", "1"]))


def expressions(count=2000):
    import random
    rng = random.Random(20241123)
    cases, seen = [], set()
    while len(cases) < count:
        t = "{{ %s }}" % random_expr(rng)
        if t in seen:
            continue
        seen.add(t)
        try:
            text = ctu._compile_jinja_template(t).render(**json.loads(json.dumps(EXPR_CTX)))
            if " at 0x" in text:
                continue
            cases.append({"template": t, "text": text})
        except Exception as e:  # noqa: BLE001
            cases.append({"template": t, "error": "%s: %s" % (type(e).__name__, e)})
    with open(os.path.join(OUT, "..", "jinja", "expressions.json"), "w", encoding="utf-8") as f:
        json.dump({"context": EXPR_CTX, "cases": cases}, f, ensure_ascii=False, indent=0)
        f.write("\n")
    print("expressions: %d, %d raise" % (len(cases), sum("error" in c for c in cases)), file=sys.stderr)




# ---- language features: small templates, each on its own context ------------------------------------------
# Rendered the same way (transformers' environment) into tests/fixtures/jinja/features.json for
# tests/unit/test_jinja.c.

FEATURE_CTX = {
    "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": " Héllo, wörld! "},
                 {"role": "assistant", "content": "Hi.", "tool_calls": [CALL]}],
    "s": "Hello World", "u": "日本語テキスト", "n": 7, "f": 2.5, "t": True, "z": None,
    "l": [3, 1, 2], "d": {"b": 2, "a": 1, "c": {"x": [1, 2.0, "y"]}}, "e": [], "tools": TOOLS,
}

FEATURES = [
    # whitespace control, trim_blocks, lstrip_blocks, comments, raw
    "a\n  {% if t %}\n    b\n  {% endif %}\nc",
    "a  {%- if t -%}  b  {%- endif -%}  c",
    "x {# comment #}\ny\n  {# own line #}\nz",
    "{{ 'a' }}\n{{ 'b' }}\n",
    "  {%+ if t %}keep{% endif %}\n",
    "{% if t +%}\nnewline kept{% endif %}",
    "{% raw %}{{ not evaluated }} {% if %}{% endraw %}!",
    "line1\r\nline2\r\n{% if t %}\r\nx{% endif %}\n\n",
    "{{- ' lead' -}}   \n  {{- 'trail ' -}}",
    "a\u00a0\u2003 {%- if t -%} \u3000\u00a0b{% endif %}\n\u00a0 {% if t %}c{% endif %}\u2028{# x #}\n \u00a0{% if t %}d{% endif %}",
    # literals, operators, printing
    "{{ 1 + 2 * 3 }} {{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ -7 % 3 }} {{ 2 ** 10 }} {{ 7 / 2 }} {{ 6 / 2 }}",
    "{{ 0.1 + 0.2 }} {{ 1e20 }} {{ 1.5e-7 }} {{ 100.0 }} {{ 1/3 }} {{ 2.5 * 4 }} {{ -0.0 }} {{ 123456789.125 }}",
    "{{ 'a' ~ 1 ~ none ~ true ~ 2.0 }} {{ 'x' * 3 }} {{ [1] + [2, 3] }} {{ 'ab' + 'cd' }}",
    "{{ none }} {{ true }} {{ false }} {{ [1, 'a', none, true, 1.5] }} {{ {'k': 'v', 'n': [1]} }} {{ ('t',) }} {{ (1, 2) }}",
    "{{ \"it's\" }} {{ ['it\\'s', \"q\\\"\", 'a\\nb'] }} {{ 'tab\\there' }} {{ '\\u00e9\\x41' }}",
    "{{ 1 < 2 }} {{ 'a' < 'b' }} {{ [1, 2] == [1, 2] }} {{ 1 == 1.0 }} {{ 1 != 2 }} {{ 2 >= 2 }} {{ true == 1 }}",
    "{{ 'ell' in s }} {{ 3 in l }} {{ 'a' in d }} {{ 'q' not in s }} {{ 5 not in l }}",
    "{{ t and 'yes' }} {{ z or 'fallback' }} {{ not t }} {{ e or 'empty' }} {{ 0 and 1 }}",
    "{{ 'yes' if t else 'no' }} {{ 'yes' if z else 'no' }} [{{ 'only' if z }}]",
    "{{ s[0] }} {{ s[-1] }} {{ s[1:4] }} {{ s[::-1] }} {{ s[::2] }} {{ l[1:] }} {{ l[::-1] }} {{ u[2:4] }} {{ u[::-1] }} {{ s[-3:] }}",
    "{{ d.a }} {{ d['b'] }} {{ d.c.x[2] }} {{ messages[1].role }} {{ l.1 }} [{{ d.missing }}] [{{ messages[5] }}]",
    # statements
    "{% set x = 5 %}{% set y, w = 1, 2 %}{{ x + y + w }}",
    "{% set ns = namespace(found=false, n=0) %}{% for m in messages %}{% if m.role == 'user' %}{% set ns.found = true %}{% endif %}{% set ns.n = ns.n + 1 %}{% endfor %}{{ ns.found }} {{ ns.n }}",
    "{% set v = 1 %}{% for i in l %}{% set v = i %}{% endfor %}{{ v }}",
    "{% for i in l %}{{ loop.index }}/{{ loop.index0 }}/{{ loop.revindex }}/{{ loop.first }}/{{ loop.last }}/{{ loop.length }}/{{ loop.previtem }}/{{ loop.nextitem }} {% endfor %}",
    "{% for i in l %}{{ loop.cycle('odd', 'even') }}{% endfor %}",
    "{% for i in e %}x{% else %}empty{% endfor %} {% for i in l if i > 1 %}{{ i }}{{ loop.length }}{% endfor %}",
    "{% for i in range(10) %}{% if i == 2 %}{% continue %}{% endif %}{% if i == 5 %}{% break %}{% endif %}{{ i }}{% endfor %}",
    "{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %} {% for k in d %}{{ k }}{% endfor %}",
    "{% for c in 'héllo' %}[{{ c }}]{% endfor %} {% for a, b in [[1, 2], [3, 4]] %}{{ a * b }}{% endfor %}",
    "{% if n > 10 %}big{% elif n > 5 %}medium{% elif n > 0 %}small{% else %}neg{% endif %}",
    "{% set block %}  captured {{ n }}  {% endset %}[{{ block }}]",
    "{% set block | upper | trim %}  captured  {% endset %}[{{ block }}]",
    "{% filter upper %}shout {{ s }}{% endfilter %}",
    "{% macro m(a, b='dflt', c=none) %}<{{ a }}|{{ b }}|{{ c }}|{{ varargs }}|{{ kwargs }}>{% endmacro %}{{ m(1) }}{{ m(1, 2, 3, 4) }}{{ m(a=1, c=3, zz=9) }}",
    "{% macro outer() %}[{{ caller() }}]{% endmacro %}{% call outer() %}inside {{ n }}{% endcall %}",
    "{% macro wrap(x) %}({{ caller(x * 2) }}){% endmacro %}{% call(v) wrap(4) %}v={{ v }}{% endcall %}",
    "{% macro fact(k) %}{% if k <= 1 %}1{% else %}{{ k * fact(k - 1) | int }}{% endif %}{% endmacro %}{{ fact(6) }}",
    "{% generation %}gen block {{ n }}{% endgeneration %}",
    "{% set a = 1 %}{% with a = a + 1, b = 'x' %}{{ a }}{{ b }}{% set a = 9 %}{{ a }}{% endwith %}{{ a }}[{{ b }}]",
    # filters
    "{{ s | upper }} {{ s | lower }} {{ 'hello wORLD-foo' | title }} {{ 'hELLO' | capitalize }} {{ '  pad  ' | trim }}|{{ 'xxhixx' | trim('x') }}",
    "{{ l | length }} {{ s | length }} {{ u | length }} {{ d | length }} {{ l | first }} {{ l | last }} {{ l | sort }} {{ l | sort(reverse=true) }} {{ l | reverse | list }} {{ l | sum }} {{ l | min }} {{ l | max }}",
    "{{ l | join(', ') }} {{ messages | map(attribute='role') | join('/') }} {{ ['b', 'A', 'a', 'B'] | unique | list }} {{ [1, 2, 3, 4] | select('odd') | list }} {{ [1, 2, 3, 4] | reject('even') | list }}",
    "{{ messages | selectattr('role', 'equalto', 'user') | list | length }} {{ messages | rejectattr('role', 'in', ['system', 'user']) | map(attribute='content') | first }} {{ messages | selectattr('tool_calls', 'defined') | list | length }}",
    "{{ d | tojson }} {{ l | tojson }} {{ 'é\"\\n' | tojson }} {{ none | tojson }} {{ f | tojson }} {{ {'a': true} | tojson }}",
    "{{ d | tojson(indent=2) }}\n{{ tools[0] | tojson(indent=4) }}\n{{ d | tojson(separators=(',', ':')) }} {{ d | tojson(sort_keys=true) }} {{ e | tojson(indent=2) }}",
    "{{ d | items | list }} {{ d | dictsort }} {{ 'a,b,,c'.split(',') }} {{ ' a  b '.split() }} {{ 'a b c'.split(' ', 1) }}",
    "{{ 'x' | default('dflt') }} {{ undefined_var | default('dflt') }} {{ '' | default('dflt', true) }} {{ z | default('dflt') }} {{ undefined_var | d('d2') }}",
    "{{ '42' | int }} {{ '4.7' | int }} {{ 'abc' | int }} {{ 'abc' | int(-1) }} {{ 3.9 | int }} {{ '2.5' | float }} {{ 3 | float }} {{ 2.567 | round(2) }} {{ 2.5 | round }} {{ 3.5 | round }} {{ -3 | abs }}",
    "{{ 'a\\nb\\n\\nc' | indent(2) }}|{{ 'a\\nb' | indent(3, true) }}|{{ 'a\\n\\nb' | indent(2, blank=true) }}",
    "{{ 'aXbXc' | replace('X', '-') }} {{ 'aaa' | replace('a', 'b', 2) }} {{ n | string }} {{ l | string }} {{ 'one two  three' | wordcount }}",
    "{{ [1, 2, 3, 4, 5] | batch(2) | list }} {{ 'a&b<c>\"d\\'' | escape }} {{ ('<' | safe) + '<' }} {{ '<b>' | safe }}",
    "{{ [{'n': 'b', 'v': 2}, {'n': 'a', 'v': 1}] | sort(attribute='n') | map(attribute='v') | list }} {{ ['B', 'a', 'C'] | sort }} {{ ['B', 'a', 'C'] | sort(case_sensitive=true) }}",
    "{{ [1, 2] | map('string') | join('+') }} {{ ['a', 'b'] | map('upper') | list }} {{ [' x ', 'y '] | map('trim') | list }}",
    "{{ 'héllo wörld ß' | upper }} {{ 'ÉCOLE Ωμέγα' | lower }} {{ 'élan vital-ñu (x' | title }} {{ 'élan ÉLAN' | capitalize }} {{ 'straße'.upper() }} {{ \"they're 1st\".title() }} {{ 'ǆemal'.capitalize() }}",
    "{{ '%s-%d-%5.2f-%r-%%-%x|%-4s|%04d' % ('a', 7, 3.14159, 'q', 255, 'ab', 42) }} {{ 'one %s' % 'arg' }} {{ '%s and %s' | format('x', 2) }}",
    "{{ 'é😀\x7f\x01' | tojson(ensure_ascii=true) }} {{ u | tojson(ensure_ascii=true) }} {{ nope | sort | list }} {{ nope | sum }} [{{ nope | max }}] {{ nope | length }} [{{ nope | join(',') }}] {{ nope | list }}",
    "{{ '{} and {}: {{x}}'.format(n, s) }} {{ '{1}{0}{name}'.format('a', 'b', name='c') }} {% set ns = namespace(a=1, b='x') %}{{ ns }}",
    # tests
    "{{ n is defined }} {{ nope is defined }} {{ nope is undefined }} {{ z is none }} {{ n is not none }} {{ s is string }} {{ n is number }} {{ f is float }} {{ n is integer }} {{ t is boolean }}",
    "{{ d is mapping }} {{ l is mapping }} {{ l is iterable }} {{ s is iterable }} {{ n is iterable }} {{ l is sequence }} {{ n is odd }} {{ n is even }} {{ 9 is divisibleby 3 }} {{ n is in l }} {{ 1 is in l }}",
    "{{ s is equalto 'Hello World' }} {{ n is eq 7 }} {{ n is ne 7 }} {{ n is lt 10 }} {{ n is gt 10 }} {{ n is ge 7 }} {{ n is le 6 }} {{ 'abc' is lower }} {{ 'ABC' is upper }} {{ t is true }} {{ t is false }} {{ z is sameas none }}",
    # methods
    "{{ s.upper() }} {{ s.lower() }} {{ ' x '.strip() }}|{{ ' x '.lstrip() }}|{{ ' x '.rstrip() }}|{{ 'xxaxx'.strip('x') }} {{ s.startswith('Hell') }} {{ s.endswith('ld') }} {{ s.startswith(('x', 'H')) }}",
    "{{ s.replace('l', 'L') }} {{ s.find('o') }} {{ s.find('z') }} {{ s.count('l') }} {{ '-'.join(['a', 'b']) }} {{ s.title() }} {{ 'hello world'.capitalize() }} {{ 'a\\nb\\r\\nc'.splitlines() }} {{ '123'.isdigit() }}",
    "{{ d.get('a') }} {{ d.get('zz') }} {{ d.get('zz', 'dv') }} {{ d.keys() | list }} {{ d.values() | list | length }} {{ l.index(2) }} {{ l.count(3) }}",
    "{{ range(3) | list }} {{ range(1, 10, 3) | list }} {{ range(5, 0, -2) | list }} {{ dict(a=1, b=2) }} {{ namespace(a=1).a }}",
    "{{ strftime_now('%Y-%m-%d %H:%M %b %B %A %a %d') }}",
    "{{ messages[0]['content'] }}{% for message in messages[1:] %}|{{ message['role'] }}:{{ message['content'] | trim }}{% endfor %}",
    "{{ (messages | last).tool_calls[0].function.arguments | tojson }} {{ messages[-1].tool_calls[0]['function']['name'] }}",
    "{% set x = {'a': [1, {'b': 'c'}]} %}{{ x.a[1].b }} {{ x['a'][0] + 1 }} {{ x | length }}",
    "{{ 'abc' ~ n ~ f }} {{ -n }} {{ +n }} {{ -f | abs }} {{ (1, 2)[0] }} {{ [3, 4][-1] }}",
    # errors (jinja2 raises)
    "{{ raise_exception('custom failure message') }}",
    "{{ nope.attr }}",
    "{{ nope['k'] }}",
    "{{ 1 + 'a' }}",
    "{% for x in z %}{{ x }}{% endfor %}",
    "{{ l.append(4) }}",
    "{{ 1 / 0 }}",
    "{{ messages | map(attribute='role') | tojson }}",
    "{{ n | length }}",
    "{% set ns = namespace() %}{% set ns._x = 1 %}",
    "{% set q = 1 %}{% set q.a = 2 %}",
    "{{ 'a' < 1 }}",
]


def features():
    cases = []
    for t in FEATURES:
        ctx = json.loads(json.dumps(FEATURE_CTX))
        try:
            compiled = ctu._compile_jinja_template(t)
            compiled.environment.globals["strftime_now"] = fixed_strftime_now
            text = compiled.render(**ctx)
            cases.append({"template": t, "text": text})
        except Exception as e:  # noqa: BLE001 - any failure of jinja2 is a failure owl must also report
            cases.append({"template": t, "error": "%s: %s" % (type(e).__name__, e)})
    out = os.path.join(OUT, "..", "jinja")
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "features.json"), "w", encoding="utf-8") as f:
        json.dump({"context": FEATURE_CTX, "cases": cases}, f, ensure_ascii=False, indent=1)
        f.write("\n")
    n_err = sum("error" in c for c in cases)
    print("features: %d templates, %d render, %d raise" % (len(cases), len(cases) - n_err, n_err), file=sys.stderr)
    for c in cases:
        if "error" in c:
            print("  error:", c["template"][:60], "->", c["error"][:100], file=sys.stderr)


# ---- random statements: text and whitespace around tags with -/+ signs, nested if/for/set/macro/comments ----
# Into tests/fixtures/jinja/statements.json: whitespace control, trim_blocks and lstrip_blocks in every
# combination the generator reaches.

STMT_TEXT = ["a", " ", "\n", "  \n", "\t", "x y", "\n\n  ", "  ", "\n  \n", "b\n", " c ", "\r\n"]


def tag_open(rng, kind):
    return "{" + kind + rng.choice(["", "", "-", "+"]) + rng.choice([" ", "  ", "\n", ""])


def tag_close(rng, kind):
    return rng.choice([" ", "", "\n "]) + rng.choice(["", "", "-", "+"]) + kind + "}"


def random_body(rng, depth):
    out = []
    for _ in range(rng.randint(1, 5)):
        r = rng.random()
        if r < 0.4 or depth > 2:
            out.append(rng.choice(STMT_TEXT))
        elif r < 0.55:
            out.append(tag_open(rng, "{") + rng.choice(["x", "i", "loop.index", "'v'", "ns.c", "m(1)"]) + tag_close(rng, "}"))
        elif r < 0.65:
            out.append(tag_open(rng, "#") + rng.choice(["c", " note ", ""]) + tag_close(rng, "#"))
        elif r < 0.78:
            out.append(tag_open(rng, "%") + "if " + rng.choice(["t", "not t", "x == 1", "i is odd"]) + tag_close(rng, "%"))
            out.append(random_body(rng, depth + 1))
            if rng.random() < 0.4:
                out.append(tag_open(rng, "%") + "else" + tag_close(rng, "%"))
                out.append(random_body(rng, depth + 1))
            out.append(tag_open(rng, "%") + "endif" + tag_close(rng, "%"))
        elif r < 0.9:
            out.append(tag_open(rng, "%") + "for i in " + rng.choice(["[1, 2]", "range(3)", "[]"]) + tag_close(rng, "%"))
            out.append(random_body(rng, depth + 1))
            out.append(tag_open(rng, "%") + "endfor" + tag_close(rng, "%"))
        else:
            out.append(tag_open(rng, "%") + rng.choice(["set ns.c = ns.c + 1", "set x = 2", "set y = 'q'"]) + tag_close(rng, "%"))
    return "".join(out)


def statements(count=1000):
    import random
    rng = random.Random(7)
    cases, seen = [], set()
    while len(cases) < count:
        t = ("{%- set ns = namespace(c=0) -%}{%- macro m(k) -%}<{{ k }}>{%- endmacro -%}" if rng.random() < 0.5 else "") + \
            random_body(rng, 0)
        if "ns." in t and "namespace" not in t:
            t = "{% set ns = namespace(c=0) %}" + t
        if "m(1)" in t and "macro" not in t:
            t = "{% macro m(k) %}<{{ k }}>{% endmacro %}" + t
        if t in seen:
            continue
        seen.add(t)
        try:
            text = ctu._compile_jinja_template(t).render(t=True, x=1)
            cases.append({"template": t, "text": text})
        except Exception as e:  # noqa: BLE001
            cases.append({"template": t, "error": "%s: %s" % (type(e).__name__, e)})
    with open(os.path.join(OUT, "..", "jinja", "statements.json"), "w", encoding="utf-8") as f:
        json.dump({"context": {"t": True, "x": 1}, "cases": cases}, f, ensure_ascii=False, indent=0)
        f.write("\n")
    print("statements: %d, %d raise" % (len(cases), sum("error" in c for c in cases)), file=sys.stderr)


# ---- random blocks: if/elif/else, for with filters and else, break/continue, set/filter/call blocks, macros ----
# Into tests/fixtures/jinja/blocks.json: scoping (what a set inside a loop, its else, a filter, set or call
# block leaves outside), for-else after break/continue, loop variables, caller().

BLK_TEXT = ["a", " ", "\n", "  \n", "x y", "\n\n  ", "b\n", " c "]
BLK_PRE = "{%- set ns = namespace(c=0) -%}{%- macro m(k) -%}<{{ k }}>{%- endmacro -%}{%- macro w(a) -%}({{ caller(a * 2) }}){%- endmacro -%}{%- set y = 'y0' -%}"


def blk_op(rng, k):
    return "{" + k + rng.choice(["", "", "-", "+"]) + rng.choice([" ", "\n", ""])


def blk_cl(rng, k):
    return rng.choice([" ", "", "\n "]) + rng.choice(["", "", "-"] + (["+"] if k != "}" else [])) + k + "}"


def blk_body(rng, d, inloop):
    out = []
    for _ in range(rng.randint(1, 4)):
        r = rng.random()
        if r < 0.3 or d > 3:
            out.append(rng.choice(BLK_TEXT))
        elif r < 0.45:
            exprs = ["x", "ns.c", "m(x)", "y", "ns.c ~ '|'", "[1,2] | join('-')"]
            if inloop: exprs += ["i", "loop.index", "loop.first", "loop.last", "loop.length", "loop.cycle('o', 'e')", "loop.previtem", "i * x"]
            out.append(blk_op(rng, "{") + rng.choice(exprs) + blk_cl(rng, "}"))
        elif r < 0.55:
            out.append(blk_op(rng, "%") + "if " + rng.choice(["t", "not t", "x == 1", "ns.c > 1"] + (["i is odd", "loop.last"] if inloop else [])) + blk_cl(rng, "%"))
            out.append(blk_body(rng, d + 1, inloop))
            if rng.random() < 0.3:
                out.append(blk_op(rng, "%") + "elif ns.c == 2" + blk_cl(rng, "%")); out.append(blk_body(rng, d + 1, inloop))
            if rng.random() < 0.4:
                out.append(blk_op(rng, "%") + "else" + blk_cl(rng, "%")); out.append(blk_body(rng, d + 1, inloop))
            out.append(blk_op(rng, "%") + "endif" + blk_cl(rng, "%"))
        elif r < 0.7:
            out.append(blk_op(rng, "%") + "for i in " + rng.choice(["[1, 2]", "range(3)", "[]", "'ab'", "range(4) if i != 2"]).replace(" if i != 2", "") + (" if i != 1" if rng.random() < 0.2 else "") + blk_cl(rng, "%"))
            out.append(blk_body(rng, d + 1, True))
            if rng.random() < 0.2:
                out.append(blk_op(rng, "%") + "else" + blk_cl(rng, "%")); out.append(blk_body(rng, d + 1, inloop))
            out.append(blk_op(rng, "%") + "endfor" + blk_cl(rng, "%"))
        elif r < 0.76 and inloop:
            out.append(blk_op(rng, "%") + rng.choice(["break", "continue"]) + blk_cl(rng, "%"))
        elif r < 0.82:
            out.append(blk_op(rng, "%") + rng.choice(["set ns.c = ns.c + 1", "set x = x + 1", "set y = 'q' ~ x"]) + blk_cl(rng, "%"))
        elif r < 0.87:
            out.append(blk_op(rng, "%") + "set y" + rng.choice(["", " | upper", " | trim"]) + blk_cl(rng, "%") + blk_body(rng, d + 1, inloop) + blk_op(rng, "%") + "endset" + blk_cl(rng, "%"))
        elif r < 0.92:
            out.append(blk_op(rng, "%") + "filter " + rng.choice(["upper", "trim", "replace('a', 'A')"]) + blk_cl(rng, "%") + blk_body(rng, d + 1, inloop) + blk_op(rng, "%") + "endfilter" + blk_cl(rng, "%"))
        else:
            out.append(blk_op(rng, "%") + "call(v) w(x)" + blk_cl(rng, "%") + "[" + blk_body(rng, d + 1, inloop) + "]{{ v }}" + blk_op(rng, "%") + "endcall" + blk_cl(rng, "%"))
    return "".join(out)

def blocks(count=1000):
    import random
    rng = random.Random(11)
    cases = []
    for _ in range(count):
        t = BLK_PRE + blk_body(rng, 0, False)
        try:
            cases.append({"template": t, "text": ctu._compile_jinja_template(t).render(t=True, x=1)})
        except Exception as e:  # noqa: BLE001
            cases.append({"template": t, "error": "%s: %s" % (type(e).__name__, e)})
    with open(os.path.join(OUT, "..", "jinja", "blocks.json"), "w", encoding="utf-8") as f:
        json.dump({"context": {"t": True, "x": 1}, "cases": cases}, f, ensure_ascii=False, indent=0)
        f.write("\n")
    print("blocks: %d, %d raise" % (len(cases), sum("error" in c for c in cases)), file=sys.stderr)


if __name__ == "__main__":
    main()
    features()
    expressions()
    statements()
    blocks()
