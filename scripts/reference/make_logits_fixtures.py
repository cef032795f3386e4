#!/usr/bin/env python3
"""make_logits_fixtures.py — teacher-forced reference logits for owl's golden test.

For each model (SmolLM2-135M-Instruct Q4_1, and the tiny random llama with a
SentencePiece vocab made by make_tiny_llama.py) and each prompt of
golden_prompts.py, it builds a sequence of exactly SEQ_LEN (64) token ids:
the prompt ids, then transformers' greedy continuation. It then runs that
sequence once through transformers and stores the logits of every position.
tests/golden/test_logits.c feeds the stored ids to owl and compares.

The reference is transformers on the GGUF's own weights:
AutoModelForCausalLM.from_pretrained(dir, gguf_file=...) dequantizes every
tensor with gguf-py and undoes llama.cpp's Q/K row permutation (the GGUF
stores Q and K rows so that rope rotates adjacent pairs; transformers rotates
the two halves of a head). The script checks both: every weight transformers
holds equals gguf-py's dequantization of the GGUF tensor, with Q/K rows
permuted back by our own implementation of the permutation. The model is then
cast to float64, so the stored logits carry no float32 rounding of their own;
the float32 model's distance from them is printed and kept in the summary,
as a yardstick for owl's exact (float32) path.

Output, per model, tests/fixtures/logits/<name>.logits (little-endian):

    offset 0   char magic[8]   "OWLLOGIT"
           8   u32 version     1
          12   u32 n_seq       sequences (prompts)
          16   u32 n_tok       tokens per sequence (64)
          20   u32 n_vocab
          24   n_seq sequence records, each:
                 i32 n_prompt           how many leading ids are the prompt
                 i32 tokens[n_tok]      the ids fed to the model
                 n_tok row records, row t = logits after tokens[0..t]:
                   f32 scale            max |logit| of the row / 32767
                   i32 argmax           argmax of the float64 logits
                   f32 top1             largest logit
                   f32 margin           largest minus second largest logit
                   i16 q[n_vocab]       logit[v] ~= q[v] * scale

Quantizing to int16 with a per-row scale costs at most scale/2, about
1.5e-5 x max|logit|: far below the test's bound of 1e-3 x max|logit|.
A JSON summary (prompts, lengths, smallest margins) is written beside it.

Usage: make_logits_fixtures.py [--only smollm2|tiny] [--out tests/fixtures/logits]
Needs: torch, transformers, accelerate, gguf, jinja2, llama-cpp-python.
"""

import argparse
import json
import os
import struct
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import golden_prompts as gp  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
MODELS = {
    "smollm2": dict(
        path=os.path.expanduser("~/.cache/owl/SmolLM2-135M-Instruct.Q4_1.gguf"),
        out="smollm2-135m-instruct-q4_1",
        chat=True,
    ),
    "tiny": dict(
        path=os.path.join(ROOT, "tests/fixtures/models/tiny-llama-spm.gguf"),
        out="tiny-llama-spm",
        chat=False,
    ),
}

MAGIC = b"OWLLOGIT"
VERSION = 1

# GGUF tensor name (after "blk.N.") -> transformers parameter (after "model.layers.N.")
BLOCK_NAMES = {
    "attn_norm": "input_layernorm",
    "attn_q": "self_attn.q_proj",
    "attn_k": "self_attn.k_proj",
    "attn_v": "self_attn.v_proj",
    "attn_output": "self_attn.o_proj",
    "ffn_norm": "post_attention_layernorm",
    "ffn_gate": "mlp.gate_proj",
    "ffn_up": "mlp.up_proj",
    "ffn_down": "mlp.down_proj",
}


def unpermute_rows(w, n_head):
    """GGUF (llama.cpp) Q/K row order -> Hugging Face row order.

    llama.cpp's converter orders the rows of each head as (half, pair) ->
    (pair, half): row 2*i + h of a GGUF head is row h*(d/2) + i of the HF head.
    """
    rows = w.shape[0]
    d = rows // n_head
    return w.reshape(n_head, d // 2, 2, -1).transpose(0, 2, 1, 3).reshape(w.shape)


def check_weights(model, gguf_path):
    """Every weight of the transformers model equals gguf-py's dequantization."""
    import gguf

    r = gguf.GGUFReader(gguf_path)
    cfg = model.config
    sd = model.state_dict()
    seen = set()
    for t in r.tensors:
        w = gguf.dequantize(t.data, t.tensor_type).astype(np.float32)
        w = w.reshape([int(x) for x in reversed(t.shape)])
        name = t.name.removesuffix(".weight")
        if name == "token_embd":
            hf = "model.embed_tokens.weight"
        elif name == "output_norm":
            hf = "model.norm.weight"
        elif name == "output":
            hf = "lm_head.weight"
        else:
            _, layer, part = name.split(".")
            hf = f"model.layers.{layer}.{BLOCK_NAMES[part]}.weight"
            if part == "attn_q":
                w = unpermute_rows(w, cfg.num_attention_heads)
            elif part == "attn_k":
                w = unpermute_rows(w, cfg.num_key_value_heads)
        mine = sd[hf].detach().cpu().numpy()
        if mine.shape != w.shape or not np.array_equal(mine, w):
            raise SystemExit(f"{gguf_path}: {t.name} ({t.tensor_type.name}) differs from {hf}")
        seen.add(hf)
    tied = "lm_head.weight" not in seen
    if tied:
        if not np.array_equal(sd["lm_head.weight"].numpy(), sd["model.embed_tokens.weight"].numpy()):
            raise SystemExit("tied output: lm_head differs from the embeddings")
        seen.add("lm_head.weight")
    missing = set(sd) - seen
    if missing:
        raise SystemExit(f"weights not found in the GGUF: {sorted(missing)[:5]}")
    print(f"  {len(r.tensors)} tensors equal gguf-py's dequantization (tied output: {tied})")


def load(gguf_path):
    import torch
    from transformers import AutoModelForCausalLM

    d, f = os.path.split(gguf_path)
    model = AutoModelForCausalLM.from_pretrained(d, gguf_file=f, dtype=torch.float32,
                                                 attn_implementation="eager")
    model.eval()
    check_weights(model, gguf_path)
    return model


def forward(model, ids):
    import torch

    with torch.no_grad():
        out = model(torch.tensor([ids], dtype=torch.long), use_cache=False)
    return out.logits[0].double().numpy()  # (T, V)


def greedy_fill(model, ids, n):
    """ids extended to n tokens by greedy decoding (EOS does not stop it)."""
    ids = list(ids)
    while len(ids) < n:
        ids.append(int(np.argmax(forward(model, ids)[-1])))
    return ids


def write_fixture(path, seqs):
    """seqs: [(n_prompt, ids, logits float64 (T, V))]."""
    n_tok, n_vocab = seqs[0][2].shape
    with open(path, "wb") as f:
        f.write(MAGIC + struct.pack("<4I", VERSION, len(seqs), n_tok, n_vocab))
        for n_prompt, ids, logits in seqs:
            f.write(struct.pack("<i", n_prompt))
            f.write(np.asarray(ids, dtype="<i4").tobytes())
            for row in logits:
                amax, top1, margin = gp.top2(row)
                scale = float(np.max(np.abs(row))) / 32767.0
                q = np.rint(row / scale).astype("<i2")
                f.write(struct.pack("<fiff", scale, amax, top1, margin))
                f.write(q.tobytes())


def make(key, out_dir):
    m = MODELS[key]
    print(f"{key}: {m['path']}")
    prompts = gp.prompts_for(m["path"], m["chat"])
    prompt_ids = gp.tokenize_llamacpp(m["path"], [t for _, t in prompts])
    gp.check_with_transformers(m["path"], [t for _, t in prompts], prompt_ids)
    import copy

    model32 = load(m["path"])
    model = copy.deepcopy(model32).double()
    seqs, summary = [], []
    for (name, text), pids in zip(prompts, prompt_ids):
        if len(pids) >= gp.SEQ_LEN:
            raise SystemExit(f"prompt {name} has {len(pids)} tokens")
        ids = greedy_fill(model, pids, gp.SEQ_LEN)
        logits = forward(model, ids)
        # the continuation is the argmax of the very logits we store
        for t in range(len(pids), gp.SEQ_LEN):
            assert ids[t] == int(np.argmax(logits[t - 1])), (name, t)
        margins = [gp.top2(r)[2] for r in logits]
        maxabs = float(np.max(np.abs(logits)))
        # how far plain float32 (what owl's exact path computes in) lands
        l32 = forward(model32, ids)
        f32_ratio = float(np.max(np.abs(l32 - logits))) / maxabs
        f32_same = int(np.sum(np.argmax(l32, 1) == np.argmax(logits, 1)))
        seqs.append((len(pids), ids, logits))
        summary.append(dict(name=name, text=text, n_prompt=len(pids), ids=ids,
                            max_abs_logit=maxabs, min_top2_margin=min(margins),
                            min_margin_position=int(np.argmin(margins)),
                            float32_max_diff_ratio=f32_ratio, float32_argmax_equal=f32_same))
        print(f"  {name:7s} prompt {len(pids):2d} tokens, max|logit| {maxabs:7.3f}, "
              f"smallest top-2 margin {min(margins):.2e} at row {int(np.argmin(margins))}; "
              f"transformers float32: max|diff|/max|logit| {f32_ratio:.1e}, "
              f"argmax equal {f32_same}/{len(ids)}")
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, m["out"] + ".logits")
    write_fixture(path, seqs)
    with open(os.path.join(out_dir, m["out"] + ".json"), "w") as f:
        json.dump(dict(model=os.path.basename(m["path"]), seq_len=gp.SEQ_LEN,
                       reference="transformers float64 on the GGUF's dequantized weights",
                       prompts=summary), f, indent=1, ensure_ascii=False)
    print(f"  wrote {path} ({os.path.getsize(path)} bytes)")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", choices=sorted(MODELS))
    ap.add_argument("--out", default=os.path.join(ROOT, "tests/fixtures/logits"))
    a = ap.parse_args()
    for key in [a.only] if a.only else sorted(MODELS):
        make(key, a.out)


if __name__ == "__main__":
    main()
