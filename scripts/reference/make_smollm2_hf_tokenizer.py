#!/usr/bin/env python3
"""SmolLM2's tokenizer as a Hugging Face tokenizer.json, for
tests/golden/test_hf_tokenizers.c: transformers reads the GGUF's tokenizer
(AutoTokenizer.from_pretrained(dir, gguf_file=...)), save_pretrained writes
tokenizer.json and tokenizer_config.json; tokenizer.json is saved again
without indentation by `tokenizers` (same content, half the size).

usage: scripts/reference/make_smollm2_hf_tokenizer.py [path/to/SmolLM2-135M-Instruct.Q4_1.gguf]
writes tests/fixtures/tokenizer/smollm2-hf/{tokenizer.json,tokenizer_config.json,chat_template.jinja}
"""
import os
import shutil
import sys
import tempfile

from tokenizers import Tokenizer
from transformers import AutoTokenizer

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "../../tests/fixtures/tokenizer/smollm2-hf")


def main():
    gguf = sys.argv[1] if len(sys.argv) > 1 else os.path.expanduser("~/.cache/owl/SmolLM2-135M-Instruct.Q4_1.gguf")
    tok = AutoTokenizer.from_pretrained(os.path.dirname(gguf), gguf_file=os.path.basename(gguf))
    os.makedirs(OUT, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        tok.save_pretrained(tmp)
        Tokenizer.from_file(os.path.join(tmp, "tokenizer.json")).save(os.path.join(OUT, "tokenizer.json"), pretty=False)
        for name in ("tokenizer_config.json", "chat_template.jinja"):
            if os.path.exists(os.path.join(tmp, name)):
                shutil.copy(os.path.join(tmp, name), os.path.join(OUT, name))
    print("wrote", OUT)


if __name__ == "__main__":
    main()
