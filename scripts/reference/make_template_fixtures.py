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


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, source, t, bos, eos in templates():
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
        with open(os.path.join(OUT, name + ".json"), "w", encoding="utf-8") as f:
            json.dump({"name": name, "source": source, "template": t, "cases": cases}, f, ensure_ascii=False, indent=1)
            f.write("\n")
        print("%-50s %2d rendered, %2d errors" % (name, n_ok, len(cases) - n_ok), file=sys.stderr)


if __name__ == "__main__":
    main()
