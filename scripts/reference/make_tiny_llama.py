#!/usr/bin/env python3
"""make_tiny_llama.py — a tiny random llama with a SentencePiece vocab, as GGUF.

Writes tests/fixtures/models/tiny-llama-spm.gguf: a LlamaForCausalLM with
random (seeded) weights and the real 32000-token SentencePiece vocabulary of
llama (tokenizer.ggml.* keys copied from shared/data/vocab/ggml-vocab-llama-spm.gguf).
It covers what SmolLM2 does not: an untied output projection, F16 weights,
grouped-query attention with 2 heads per KV head, rope_theta 10000, and an
SPM vocabulary with byte fallback.

    hidden 64, 4 layers, 4 heads (head_dim 16), 2 KV heads, ffn 128,
    vocab 32000, rope_theta 10000, rms eps 1e-5, context 2048

Tensor types: token_embd, output and the ffn matrices F16; attention
matrices and norms F32. Weights stored as F16 are rounded to f16 in torch
first, so transformers and owl compute with identical numbers.

The weights are drawn in Hugging Face's layout (rope rotates the two halves
of a head). As llama.cpp's converter does, the rows of attn_q / attn_k are
permuted within each head so that the GGUF follows llama.cpp's rope
convention (rope rotates adjacent pairs): HF row h*(d/2) + i becomes GGUF
row 2*i + h. Scales are chosen so that attention is far from uniform and the
logits are O(1-10).

Checks before it finishes: transformers loading the written GGUF holds the
very same weights, and llama.cpp (llama-cpp-python) on the GGUF gives the
same logits as transformers up to llama.cpp's f16 rounding, which proves the
permutation follows llama.cpp's convention (a wrong one changes logits by O(1)).

Usage: make_tiny_llama.py [--out tests/fixtures/models/tiny-llama-spm.gguf]
Needs: torch, transformers, accelerate, gguf, llama-cpp-python.
"""

import argparse
import os

import numpy as np

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
VOCAB = os.path.join(ROOT, "..", "shared", "data", "vocab", "ggml-vocab-llama-spm.gguf")
SEED = 20261123

HIDDEN, LAYERS, HEADS, KV_HEADS, FFN, CTX = 64, 4, 4, 2, 128, 2048
ROPE_THETA, RMS_EPS = 10000.0, 1e-5

# standard deviation of each weight (norm weights are 1 + 0.2 N(0,1))
STD = dict(embed=1.0, q=0.15, k=0.15, v=0.2, o=0.12, gate=0.15, up=0.15, down=0.12, output=0.4)
F16_NAMES = ("token_embd", "output", "ffn_gate", "ffn_up", "ffn_down")


def permute_rows(w, n_head):
    """Hugging Face Q/K row order -> GGUF (llama.cpp) row order, per head."""
    d = w.shape[0] // n_head
    return w.reshape(n_head, 2, d // 2, -1).transpose(0, 2, 1, 3).reshape(w.shape)


def build_model(n_vocab):
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    cfg = LlamaConfig(vocab_size=n_vocab, hidden_size=HIDDEN, intermediate_size=FFN,
                      num_hidden_layers=LAYERS, num_attention_heads=HEADS,
                      num_key_value_heads=KV_HEADS, max_position_embeddings=CTX,
                      rms_norm_eps=RMS_EPS, rope_theta=ROPE_THETA, tie_word_embeddings=False,
                      bos_token_id=1, eos_token_id=2, attn_implementation="eager")
    model = LlamaForCausalLM(cfg).to(torch.float32).eval()
    g = torch.Generator().manual_seed(SEED)

    def rand(shape, std, f16):
        w = torch.randn(shape, generator=g, dtype=torch.float32) * std
        return w.half().float() if f16 else w

    sd = {"model.embed_tokens.weight": rand((n_vocab, HIDDEN), STD["embed"], True),
          "lm_head.weight": rand((n_vocab, HIDDEN), STD["output"], True),
          "model.norm.weight": 1 + rand((HIDDEN,), 0.2, False)}
    hd = HIDDEN // HEADS
    for i in range(LAYERS):
        p = f"model.layers.{i}."
        sd[p + "input_layernorm.weight"] = 1 + rand((HIDDEN,), 0.2, False)
        sd[p + "post_attention_layernorm.weight"] = 1 + rand((HIDDEN,), 0.2, False)
        sd[p + "self_attn.q_proj.weight"] = rand((HEADS * hd, HIDDEN), STD["q"], False)
        sd[p + "self_attn.k_proj.weight"] = rand((KV_HEADS * hd, HIDDEN), STD["k"], False)
        sd[p + "self_attn.v_proj.weight"] = rand((KV_HEADS * hd, HIDDEN), STD["v"], False)
        sd[p + "self_attn.o_proj.weight"] = rand((HIDDEN, HEADS * hd), STD["o"], False)
        sd[p + "mlp.gate_proj.weight"] = rand((FFN, HIDDEN), STD["gate"], True)
        sd[p + "mlp.up_proj.weight"] = rand((FFN, HIDDEN), STD["up"], True)
        sd[p + "mlp.down_proj.weight"] = rand((HIDDEN, FFN), STD["down"], True)
    missing, unexpected = model.load_state_dict(sd, strict=False)
    missing = [m for m in missing if "rotary" not in m]
    assert not missing and not unexpected, (missing, unexpected)
    return model


def gguf_tensors(model):
    """(GGUF name, numpy array in GGUF row order and storage dtype)."""
    sd = {k: v.detach().numpy() for k, v in model.state_dict().items()}
    out = [("token_embd.weight", sd["model.embed_tokens.weight"]),
           ("output_norm.weight", sd["model.norm.weight"]),
           ("output.weight", sd["lm_head.weight"])]
    for i in range(LAYERS):
        p = f"model.layers.{i}."
        out += [
            (f"blk.{i}.attn_norm.weight", sd[p + "input_layernorm.weight"]),
            (f"blk.{i}.attn_q.weight", permute_rows(sd[p + "self_attn.q_proj.weight"], HEADS)),
            (f"blk.{i}.attn_k.weight", permute_rows(sd[p + "self_attn.k_proj.weight"], KV_HEADS)),
            (f"blk.{i}.attn_v.weight", sd[p + "self_attn.v_proj.weight"]),
            (f"blk.{i}.attn_output.weight", sd[p + "self_attn.o_proj.weight"]),
            (f"blk.{i}.ffn_norm.weight", sd[p + "post_attention_layernorm.weight"]),
            (f"blk.{i}.ffn_gate.weight", sd[p + "mlp.gate_proj.weight"]),
            (f"blk.{i}.ffn_up.weight", sd[p + "mlp.up_proj.weight"]),
            (f"blk.{i}.ffn_down.weight", sd[p + "mlp.down_proj.weight"]),
        ]
    res = []
    for name, w in out:
        f16 = name.split(".")[-2] in F16_NAMES
        w16 = w.astype(np.float16)
        if f16:
            assert np.array_equal(w16.astype(np.float32), w), name  # already f16 values
        res.append((name, np.ascontiguousarray(w16 if f16 else w.astype(np.float32))))
    return res


def write_gguf(path, model, vocab):
    import gguf

    f = vocab.fields
    w = gguf.GGUFWriter(path, arch="llama")
    w.add_name("tiny-llama-spm (random weights, owl test fixture)")
    w.add_context_length(CTX)
    w.add_embedding_length(HIDDEN)
    w.add_block_count(LAYERS)
    w.add_feed_forward_length(FFN)
    w.add_head_count(HEADS)
    w.add_head_count_kv(KV_HEADS)
    w.add_layer_norm_rms_eps(RMS_EPS)
    w.add_rope_freq_base(ROPE_THETA)
    w.add_rope_dimension_count(HIDDEN // HEADS)
    w.add_vocab_size(len(f["tokenizer.ggml.tokens"].data))
    w.add_file_type(gguf.LlamaFileType.MOSTLY_F16)
    w.add_tokenizer_model(f["tokenizer.ggml.model"].contents())
    w.add_tokenizer_pre(f["tokenizer.ggml.pre"].contents())
    w.add_token_list(f["tokenizer.ggml.tokens"].contents())
    w.add_token_scores(f["tokenizer.ggml.scores"].contents())
    w.add_token_types(f["tokenizer.ggml.token_type"].contents())
    w.add_bos_token_id(f["tokenizer.ggml.bos_token_id"].contents())
    w.add_eos_token_id(f["tokenizer.ggml.eos_token_id"].contents())
    w.add_unk_token_id(f["tokenizer.ggml.unknown_token_id"].contents())
    w.add_add_bos_token(f["tokenizer.ggml.add_bos_token"].contents())
    w.add_add_eos_token(f["tokenizer.ggml.add_eos_token"].contents())
    for name, arr in gguf_tensors(model):
        w.add_tensor(name, arr)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def check_transformers(path, model):
    """transformers, loading the GGUF, holds exactly our weights."""
    import torch
    from transformers import AutoModelForCausalLM

    d, fn = os.path.split(path)
    back = AutoModelForCausalLM.from_pretrained(d, gguf_file=fn, dtype=torch.float32)
    a, b = model.state_dict(), back.state_dict()
    for k, v in a.items():
        if "rotary" in k:
            continue
        assert torch.equal(v, b[k]), f"transformers reads {k} differently from the GGUF"
    assert not back.config.tie_word_embeddings
    print("  transformers reads back identical weights (untied output)")


def check_llamacpp(path, model):
    """llama.cpp's logits on the GGUF agree with transformers' on our model."""
    import torch
    from llama_cpp import Llama

    rng = np.random.default_rng(SEED)
    ids = [1] + [int(x) for x in rng.integers(3, model.config.vocab_size, 63)]
    with torch.no_grad():
        ref = model.double()(torch.tensor([ids])).logits[0].numpy()
    model.float()
    llm = Llama(model_path=path, n_ctx=128, n_batch=64, logits_all=True, verbose=False,
                n_threads=2)
    llm.eval(ids)
    got = np.array(llm.scores[: len(ids)], dtype=np.float64)
    llm.close()
    ratio = float(np.max(np.abs(got - ref)) / np.max(np.abs(ref)))
    same = int(np.sum(np.argmax(got, 1) == np.argmax(ref, 1)))
    print(f"  llama.cpp vs transformers: max|diff| / max|logit| = {ratio:.2e}, "
          f"argmax equal at {same}/{len(ids)} positions, max|logit| {np.max(np.abs(ref)):.2f}")
    if ratio > 1e-2:
        raise SystemExit("llama.cpp disagrees with transformers: wrong Q/K permutation?")


def main():
    import gguf

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(ROOT, "tests/fixtures/models/tiny-llama-spm.gguf"))
    a = ap.parse_args()
    vocab = gguf.GGUFReader(VOCAB)
    assert vocab.fields["tokenizer.ggml.model"].contents() == "llama"
    model = build_model(len(vocab.fields["tokenizer.ggml.tokens"].data))
    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    write_gguf(a.out, model, vocab)
    print(f"wrote {a.out} ({os.path.getsize(a.out)} bytes)")
    check_transformers(a.out, model)
    check_llamacpp(a.out, model)


if __name__ == "__main__":
    main()
