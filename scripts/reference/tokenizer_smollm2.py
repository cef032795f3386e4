#!/usr/bin/env python3
"""Golden ids for SmolLM2's tokenizer (GGUF pre "smollm") and renderings of
its chat template, for tests/golden/test_tokenizer_smollm2.c.

Token ids come from llama.cpp (llama-cpp-python, vocab_only) for ~200
diverse strings, three ways: plain (no BOS/EOS, special tokens not parsed),
with special tokens parsed, and with add_special. The same strings are
also run through the Hugging Face tokenizer that transformers builds from
the GGUF; where the two references disagree the case is marked
"hf_differs" (the test follows llama.cpp, the reference GGUF models are
made for). Chat renderings come from jinja2 with the settings transformers
uses for apply_chat_template (ImmutableSandboxedEnvironment, trim_blocks,
lstrip_blocks, raise_exception), on the template stored in the GGUF, a
plain ChatML template, Llama 3's (data/tokenizers/llama3) and Gemma 2's
(data/templates); a conversation the template refuses is marked "error".

usage: scripts/reference/tokenizer_smollm2.py [model.gguf] > tests/fixtures/tokenizer/smollm2.json
"""
import json
import os
import random
import sys

import gguf
import jinja2.sandbox
import llama_cpp

MODEL = sys.argv[1] if len(sys.argv) > 1 else os.path.expanduser("~/.cache/owl/SmolLM2-135M-Instruct.Q4_1.gguf")


def strings():
    s = [
        "", " ", "  ", "\t", "\n", "\n\n", "\r\n", " \r\n\r\n ", "Hello world", " Hello world", "Hello, world!",
        "The quick brown fox jumps over the lazy dog.",
        "It's, I'm, you're, we've, they'll, she'd, can't — IT'S, I'M, WE'LL, They'RE",
        "Le cœur a ses raisons que la raison ne connaît point.",
        "Größenwahn und Übermut: Straße, Fußgänger, Äpfel.",
        "Привет, как дела? Москва — столица России.",
        "Η γρήγορη καφέ αλεπού πηδάει πάνω από τον τεμπέλη σκύλο.",
        "مرحبا بالعالم، كيف حالك اليوم؟",
        "שלום עולם, מה שלומך?",
        "नमस्ते दुनिया, आप कैसे हैं?",
        "我想在苹果公司工作，但是我还在学习编程。",
        "東京は日本の首都です。ひらがな、カタカナ、漢字。",
        "안녕하세요 세계! 한국어 텍스트입니다.",
        "สวัสดีชาวโลก ภาษาไทยไม่มีช่องว่างระหว่างคำ",
        "Tiếng Việt có dấu: Cửa Việt, Hà Nội, Sài Gòn.",
        "Türkçe: İstanbul, ığdır, şeker, çiçek.",
        "Polski: zażółć gęślą jaźń.",
        "ქართული ენა — Georgian script",
        "Ἐν ἀρχῇ ἦν ὁ λόγος",
        "🦙 llama, 🚀 rocket, 😀😃😄, 👍🏽 thumbs, 👨‍👩‍👧‍👦 family, 🇫🇷🇯🇵 flags, ❤️‍🔥",
        "😶‍🌫️ (multiple emojis concatenated) ✅ (only emoji that has its own token)",
        "int main(void) {\n    printf(\"hello %d\\n\", 42);\n    return 0;\n}\n",
        "def f(x):\n\treturn [i**2 for i in range(x) if i % 3 == 0]\n",
        "for (size_t i = 0; i < n; ++i) { a[i] += b[i] * c; }",
        "{\"name\": \"owl\", \"version\": [1, 2, 3], \"ok\": true, \"nested\": {\"k\": null}}",
        "<html><body class=\"main\"><p>Hello &amp; welcome</p></body></html>",
        "SELECT id, name FROM users WHERE age >= 18 ORDER BY name DESC;",
        "$ ls -la /usr/local/bin | grep -E '^-rwx' && echo done",
        "https://huggingface.co/HuggingFaceTB/SmolLM2-135M-Instruct?x=1&y=2#frag",
        "user@example.com, +1 (555) 123-4567",
        "3", "33", "333", "3333", "12345678901234567890", "3.14159", "1,000,000.50", "-42", "1e-9", "0x1F 0b1010",
        "v1.2.3-rc4", "2024-11-23T22:00:00Z", "½ ¾ ² ³ ① ② Ⅻ ٣٤ ५६",
        "    Hello\n    Hello", "a  b   c    d     e", "trailing spaces   ", "   leading spaces",
        "\t\ttabs\tand\tspaces  \t mixed", "line1\nline2\n\nline4\n\n\n", "\u00a0nbsp\u00a0here", "ideographic\u3000space",
        "zero\u200bwidth\u200djoiner", "e\u0301 combining acute, n\u0303", "Ａｂｃ fullwidth １２３",
        "!!!!!!", "???", "...", "—–-", "''\"\"``", "(((nested)))", "a/b\\c|d", "~!@#$%^&*()_+{}|:\"<>?",
        "<|im_start|>user\nHi there<|im_end|>\n<|im_start|>assistant\n",
        "text <|endoftext|> more text", "<|im_start|><|im_end|>", "<|im_start", "im_end|>", "<repo_name>owl<file_sep>x",
        "<jupyter_code>print(1)<jupyter_output>1", "a<|im_end|>b", "<<|im_start|>>", " <|im_start|> ",
        "I'm", "i'M", "'s", "' era", "don't stop", "rock 'n' roll",
        "CamelCaseIdentifier and snake_case_identifier and SCREAMING_CASE",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        "ababababababababababababababababab",
    ]
    rng = random.Random(20241123)
    pools = [
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
        "0123456789",
        " \t\n",
        ".,;:!?'\"()[]{}<>/\\|-_+=*&^%$#@~`",
        "éèêëàâäôöûüçñßøåæœ",
        "абвгдежзийклмнопрстуфхцчшщъыьэюя",
        "的一是不了人我在有他这为之大来以个中上们",
        "あいうえおかきくけこアイウエオ",
        "🦙🚀😀👍🏽❤️✅🇫🇷",
        "\u00a0\u3000\u200b\u2028",
    ]
    while len(s) < 200:
        n = rng.randint(1, 40)
        out = []
        for _ in range(n):
            pool = pools[rng.randrange(len(pools))]
            out.append(pool[rng.randrange(len(pool))] * rng.choice([1, 1, 1, 2, 3]))
        s.append("".join(out))
    return s


def main():
    llm = llama_cpp.Llama(model_path=MODEL, vocab_only=True, verbose=False)
    try:
        from transformers import AutoTokenizer

        hf = AutoTokenizer.from_pretrained(os.path.dirname(MODEL), gguf_file=os.path.basename(MODEL))
    except Exception as e:  # the HF cross-check is optional
        print("note: no HF tokenizer from the GGUF:", e, file=sys.stderr)
        hf = None
    cases = []
    n_hf_diff = 0
    for text in strings():
        b = text.encode("utf-8")
        ids = llm.tokenize(b, add_bos=False, special=False)
        case = {
            "text": text,
            "ids": ids,
            "ids_special": llm.tokenize(b, add_bos=False, special=True),
            "ids_add_special": llm.tokenize(b, add_bos=True, special=True),
        }
        if hf is not None:
            hf_ids = hf.encode(text, add_special_tokens=False, split_special_tokens=True)
            if hf_ids != ids:
                case["hf_differs"] = True
                n_hf_diff += 1
        cases.append(case)
    print(f"{len(cases)} strings; the HF tokenizer built from the GGUF differs on {n_hf_diff}", file=sys.stderr)

    reader = gguf.GGUFReader(MODEL)
    tmpl = reader.fields["tokenizer.chat_template"].contents()
    env = jinja2.sandbox.ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)

    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    env.globals["raise_exception"] = raise_exception
    shared = os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../../shared/data")
    llama3 = json.load(open(os.path.join(shared, "tokenizers/llama3/tokenizer_config.json")))["chat_template"]
    gemma2 = open(os.path.join(shared, "templates/google-gemma-2-2b-it.jinja")).read()
    plain_chatml = (
        "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}"
        "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
    )
    convs = [
        [],
        [{"role": "user", "content": "Hello!"}],
        [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "What is 2+2?"}],
        [
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Hello! How can I help?"},
            {"role": "user", "content": "Tell me a joke\nabout owls."},
        ],
        [{"role": "assistant", "content": "I speak first."}, {"role": "system", "content": "late system"}],
        [{"role": "user", "content": "unicode: 🦙 Größe 東京"}],
        [{"role": "user", "content": "  padded\n\t "}, {"role": "assistant", "content": "\u3000ok\u00a0"}],
    ]
    chats = []
    templates = (("smollm2", tmpl, "<|im_start|>"), ("chatml", plain_chatml, ""),
                 ("llama3", llama3, "<|begin_of_text|>"), ("gemma2", gemma2, "<bos>"))
    for name, t, bos in templates:
        jt = env.from_string(t)
        for msgs in convs:
            for gen in (False, True):
                case = {"template": name, "bos_token": bos, "messages": msgs, "add_generation_prompt": gen}
                try:
                    case["text"] = jt.render(messages=msgs, add_generation_prompt=gen, bos_token=bos)
                except jinja2.exceptions.TemplateError:
                    case["error"] = True
                chats.append(case)
    json.dump({"model": os.path.basename(MODEL), "reference": f"llama-cpp-python {llama_cpp.__version__}",
               "templates": {name: t for name, t, _ in templates}, "cases": cases, "chats": chats},
              sys.stdout, ensure_ascii=False, indent=0)
    print()


if __name__ == "__main__":
    main()
