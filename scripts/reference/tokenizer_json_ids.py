#!/usr/bin/env python3
"""Hugging Face `tokenizers` ids of the ggml-vocab test strings for each
tokenizer.json folder in ../shared/data/tokenizers, for the tokenizer.json
part of tests/golden/test_vocab.c.

The strings are those of ../shared/data/vocab/ggml-vocab-*.gguf.inp (all
the .inp files hold the same 46 strings), read as llama.cpp's
test-tokenizer-0 reads them; ids are from Tokenizer.encode(text,
add_special_tokens=False), one line per string, like the .out files.

usage: scripts/reference/tokenizer_json_ids.py   (writes tests/fixtures/tokenizer/hf-NAME.out)
"""
import os

from tokenizers import Tokenizer

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = os.path.join(HERE, "../../../shared/data")
OUT = os.path.join(HERE, "../../tests/fixtures/tokenizer")


def main():
    raw = open(os.path.join(SHARED, "vocab/ggml-vocab-gpt-2.gguf.inp"), encoding="utf-8").read()
    strings = raw.split("\n__ggml_vocab_test__\n")
    if strings and strings[-1] == "":
        strings.pop()
    for name in sorted(os.listdir(os.path.join(SHARED, "tokenizers"))):
        tok = Tokenizer.from_file(os.path.join(SHARED, "tokenizers", name, "tokenizer.json"))
        with open(os.path.join(OUT, f"hf-{name}.out"), "w") as f:
            for s in strings:
                f.write(" ".join(str(i) for i in tok.encode(s, add_special_tokens=False).ids) + "\n")
        print(name, len(strings), "strings")


if __name__ == "__main__":
    main()
