#!/usr/bin/env python3
"""make_models.py — random-weight llama-shaped models for benchmarking.

Speed does not depend on what the weights say, so the benchmark models are
random: every matrix ~ N(0, 0.02), norms 1.0, written as F16 with gguf-py
(a tensor at a time, streamed: the 7B F16 file is 13.5 GB and never sits in
memory), with a real tokenizer copied from a GGUF vocabulary so that both
owl and llama.cpp's llama-bench load them. The F16 file is then quantized
with `owl quantize` to each requested type.

Shapes (--shape):
  135m  SmolLM2-135M: n_embd 576, 30 layers, 9 heads, 3 KV heads, n_ff 1536,
        vocab 49152 (SmolLM2's own tokenizer, from the default model file),
        output tied to token_embd, rope_theta 100000, context 8192
  1b    Llama-3.2-1B's body: n_embd 2048, 16 layers, 32 heads, 8 KV heads,
        n_ff 8192, untied output, rope_theta 500000 — but the 32000-token
        Llama/SentencePiece vocabulary (ggml-vocab-llama-spm.gguf) instead of
        Llama 3's 128256, so the 1B class is not dominated by a 128k output
        matrix (1.10 B parameters instead of 1.24 B)
  7b    LLaMA-2-7B: n_embd 4096, 32 layers, 32 heads, 32 KV heads, n_ff 11008,
        vocab 32000 (ggml-vocab-llama-spm.gguf), untied, rope_theta 10000

Files: $OWL_CACHE/bench (default ~/.cache/owl/bench)/owl-bench-SHAPE-TYPE.gguf;
an existing file is kept unless --force. Example:

  python3 scripts/bench/make_models.py --owl build/owl --shape 1b --types q4_0,q8_0,q4_k_m
  python3 scripts/bench/make_models.py --owl build/owl --shape 7b --types q4_0 --delete-f16
"""
import argparse
import os
import subprocess
import sys
import zlib

import numpy as np

import gguf

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
SHARED = os.environ.get("OWL_SHARED_DIR", os.path.join(os.path.dirname(REPO), "shared"))
CACHE = os.path.join(os.environ.get("OWL_CACHE", os.path.expanduser("~/.cache/owl")), "bench")

SHAPES = {
    "135m": dict(n_embd=576, n_layer=30, n_head=9, n_head_kv=3, n_ff=1536, tied=True, rope_theta=100000.0,
                 n_ctx=8192, vocab="smollm2", name="SmolLM2-135M shape"),
    "1b": dict(n_embd=2048, n_layer=16, n_head=32, n_head_kv=8, n_ff=8192, tied=False, rope_theta=500000.0,
               n_ctx=8192, vocab="llama-spm", name="Llama-3.2-1B shape, 32000 vocab"),
    "7b": dict(n_embd=4096, n_layer=32, n_head=32, n_head_kv=32, n_ff=11008, tied=False, rope_theta=10000.0,
               n_ctx=4096, vocab="llama-spm", name="LLaMA-2-7B shape"),
}


def vocab_file(which):
    if which == "smollm2":
        return os.environ.get("OWL_SMOLLM2", os.path.expanduser("~/.cache/owl/SmolLM2-135M-Instruct.Q4_1.gguf"))
    return os.path.join(SHARED, "data", "vocab", "ggml-vocab-llama-spm.gguf")


def copy_tokenizer(w, path):
    """Copies every tokenizer.* key of path into the writer; returns n_vocab."""
    r = gguf.GGUFReader(path)
    n_vocab = None
    for f in r.fields.values():
        if not f.name.startswith("tokenizer."):
            continue
        vt = f.types[0]
        if vt == gguf.GGUFValueType.ARRAY:
            w.add_key_value(f.name, f.contents(), vt, sub_type=f.types[1])
            if f.name == "tokenizer.ggml.tokens":
                n_vocab = len(f.data)
        else:
            w.add_key_value(f.name, f.contents(), vt)
    if not n_vocab:
        sys.exit(f"make_models: {path} has no tokenizer.ggml.tokens")
    return n_vocab


def tensor_list(s, n_vocab):
    """(name, numpy shape (rows, cols) or (n,)) in llama.cpp's usual order."""
    e, f = s["n_embd"], s["n_ff"]
    hd = e // s["n_head"]
    kv = hd * s["n_head_kv"]
    out = [("token_embd.weight", (n_vocab, e))]
    for i in range(s["n_layer"]):
        p = f"blk.{i}."
        out += [(p + "attn_norm.weight", (e,)), (p + "attn_q.weight", (e, e)), (p + "attn_k.weight", (kv, e)),
                (p + "attn_v.weight", (kv, e)), (p + "attn_output.weight", (e, e)), (p + "ffn_norm.weight", (e,)),
                (p + "ffn_gate.weight", (f, e)), (p + "ffn_up.weight", (f, e)), (p + "ffn_down.weight", (e, f))]
    out.append(("output_norm.weight", (e,)))
    if not s["tied"]:
        out.append(("output.weight", (n_vocab, e)))
    return out


def write_f16(shape, path, seed):
    s = SHAPES[shape]
    tmp = path + ".part"
    w = gguf.GGUFWriter(tmp, "llama")
    w.add_name(f"owl-bench {shape} (random weights, {s['name']})")
    w.add_context_length(s["n_ctx"])
    w.add_embedding_length(s["n_embd"])
    w.add_block_count(s["n_layer"])
    w.add_feed_forward_length(s["n_ff"])
    w.add_head_count(s["n_head"])
    w.add_head_count_kv(s["n_head_kv"])
    w.add_rope_dimension_count(s["n_embd"] // s["n_head"])
    w.add_rope_freq_base(s["rope_theta"])
    w.add_layer_norm_rms_eps(1e-5)
    w.add_file_type(gguf.LlamaFileType.MOSTLY_F16)
    n_vocab = copy_tokenizer(w, vocab_file(s["vocab"]))
    w.add_vocab_size(n_vocab)
    tensors = tensor_list(s, n_vocab)
    for name, shp in tensors:
        dt = np.float32 if len(shp) == 1 else np.float16
        w.add_tensor_info(name, shp, np.dtype(dt), int(np.prod(shp)) * np.dtype(dt).itemsize)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_ti_data_to_file()
    n_params = 0
    for k, (name, shp) in enumerate(tensors):
        if len(shp) == 1:
            w.write_tensor_data(np.ones(shp, dtype=np.float32))
        else:
            rng = np.random.default_rng([seed, zlib.crc32(name.encode())])
            a = np.empty(shp, dtype=np.float16)
            step = max(1, (1 << 24) // shp[1])  # rows per slice: 16M values
            for r in range(0, shp[0], step):
                a[r:r + step] = (rng.standard_normal((min(step, shp[0] - r), shp[1]), dtype=np.float32) * 0.02)
            w.write_tensor_data(a)
            del a
        n_params += int(np.prod(shp))
        print(f"\r  {k + 1}/{len(tensors)} tensors", end="", file=sys.stderr, flush=True)
    w.close()
    os.replace(tmp, path)
    print(f"\n  {path}: {n_params / 1e9:.3f} B parameters", file=sys.stderr)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shape", choices=sorted(SHAPES), required=True)
    ap.add_argument("--types", default="q4_0", help="comma-separated owl quantize types (f16 = the F16 file)")
    ap.add_argument("--owl", default=os.path.join(REPO, "build", "owl"), help="the owl binary (for owl quantize)")
    ap.add_argument("--out", default=CACHE, help=f"folder (default {CACHE})")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--force", action="store_true", help="rebuild files that exist")
    ap.add_argument("--delete-f16", action="store_true", help="remove the F16 file after quantizing")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    f16 = os.path.join(a.out, f"owl-bench-{a.shape}-f16.gguf")
    types = [t.strip().lower() for t in a.types.split(",") if t.strip()]
    wanted = [(t, os.path.join(a.out, f"owl-bench-{a.shape}-{t}.gguf")) for t in types if t != "f16"]
    todo = [(t, p) for t, p in wanted if a.force or not os.path.exists(p)]
    if todo or "f16" in types:
        if a.force or not os.path.exists(f16):
            print(f"make_models: writing {f16}", file=sys.stderr)
            write_f16(a.shape, f16, a.seed)
    for t, p in todo:
        cmd = [a.owl, "quantize", "-t", str(a.threads), f16, p, t]
        print("make_models: " + " ".join(cmd), file=sys.stderr)
        subprocess.run(cmd, check=True)
    if a.delete_f16 and "f16" not in types and os.path.exists(f16):
        os.remove(f16)
    for t in types:
        print(f16 if t == "f16" else os.path.join(a.out, f"owl-bench-{a.shape}-{t}.gguf"))


if __name__ == "__main__":
    main()
