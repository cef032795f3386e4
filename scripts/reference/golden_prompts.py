"""golden_prompts.py — the prompts of owl's golden tests, and how they become ids.

Shared by make_logits_fixtures.py and make_greedy_fixtures.py so the logits
fixtures (teacher-forced, compared with transformers) and the greedy fixtures
(compared with llama.cpp) start from the very same prompt token ids.

Prompts are tokenized by llama.cpp (llama-cpp-python, vocab only) with
add_special=True, so BOS is added exactly when the GGUF's
tokenizer.ggml.add_bos_token says so, and parse_special=True, so the ChatML
markers of the chat prompt become their single special ids. The ids are
cross-checked against transformers' tokenizer built from the same GGUF.
"""

import numpy as np

# Every teacher-forced sequence is exactly this many tokens: prompt ids, then
# a greedy continuation.
SEQ_LEN = 64
# New tokens generated greedily after each prompt for the greedy fixtures.
N_GREEDY = 64

CHAT_MESSAGES = [{"role": "user", "content": "What is the capital of France? Answer in one sentence."}]

# name -> text (the chat prompt is rendered with the model's template).
PLAIN_PROMPTS = [
    ("code", 'def fibonacci(n):\n    """Return the n-th Fibonacci number."""\n'),
    ("french", "La Révolution française commença en 1789, lorsque"),
    ("prose",
     "The old lighthouse keeper climbed the spiral stairs every evening at dusk. "
     "He had done so for forty years, through storms and calm summer nights, and the "
     "villagers said"),
    ("list", "Three facts about the Moon:\n1."),
    # only for models without a chat template (the tiny llama): five in all
    ("cjk", "東京は日本の首都で、人口は"),
]


def render_chat(gguf_path):
    """The chat prompt rendered by the GGUF's own chat template (Jinja2)."""
    import jinja2
    from gguf import GGUFReader

    r = GGUFReader(gguf_path)
    tmpl = r.fields["tokenizer.chat_template"].contents()
    env = jinja2.Environment(trim_blocks=True, lstrip_blocks=True)
    # the transformers renderer also uses these options for chat templates
    return env.from_string(tmpl).render(messages=CHAT_MESSAGES, add_generation_prompt=True)


def prompts_for(gguf_path, with_chat):
    """[(name, text)], five: the chat prompt first if the model has a template."""
    if with_chat:
        return [("chat", render_chat(gguf_path))] + PLAIN_PROMPTS[:4]
    return list(PLAIN_PROMPTS)


def tokenize_llamacpp(gguf_path, texts):
    """Token ids of each text as llama.cpp tokenizes them (BOS per the GGUF)."""
    from llama_cpp import Llama

    llm = Llama(model_path=gguf_path, vocab_only=True, verbose=False)
    ids = [llm.tokenize(t.encode("utf-8"), add_bos=True, special=True) for t in texts]
    llm.close()
    return ids


def check_with_transformers(gguf_path, texts, ids):
    """transformers' tokenizer built from the same GGUF gives the same ids."""
    import os

    from transformers import AutoTokenizer

    d, f = os.path.split(gguf_path)
    tok = AutoTokenizer.from_pretrained(d, gguf_file=f)
    for t, i in zip(texts, ids):
        j = tok(t, add_special_tokens=True).input_ids
        if list(j) != list(i):
            raise SystemExit(f"{gguf_path}: llama.cpp and transformers tokenize {t[:40]!r} "
                             f"differently: {i[:10]} vs {j[:10]}")


def top2(row):
    """(argmax, top-1 value, top-1 minus top-2) of a logits row (float64)."""
    row = np.asarray(row, dtype=np.float64)
    i = int(np.argmax(row))
    part = np.partition(row, -2)[-2:]
    return i, float(part[1]), float(part[1] - part[0])
