#!/usr/bin/env python3
"""make_hf_models.py — tiny random Hugging Face model folders and their logits.

Writes tests/fixtures/hf/<name>/ (config.json, safetensors, tokenizer.json,
tokenizer_config.json, generation_config.json) with transformers'
save_pretrained, and tests/fixtures/logits/hf-<name>.logits (+ .json) in the
format of make_logits_fixtures.py, for tests/golden/test_hf_logits.c:

    llama    LlamaForCausalLM, untied lm_head, llama3 rope_scaling, GQA,
             SHARDED across >= 2 files (model.safetensors.index.json)
    mistral  MistralForCausalLM, sliding_window 16 (< the 64-token sequences),
             dynamic NTK rope scaling (factor 2, max_position_embeddings 32 <
             64: theta raised for the whole 64-token forward)
    qwen2    Qwen2ForCausalLM, q/k/v biases, tied embeddings, linear
             rope_scaling (factor 2), weights in BF16
    qwen3    Qwen3ForCausalLM, q/k RMSNorm, head_dim 32 != hidden/heads, yarn
             rope scaling (factor 4, original context 32: frequencies 0, 1
             extrapolated/blended, the rest interpolated; cos/sin x 1.139)
    llama-fp8  the llama layout with every Linear weight stored as
             float8_e4m3fn plus weight_scale_inv, one f32 scale per 32x32
             block (DeepSeek-V3's layout, smaller blocks so a tiny matrix has
             several, and partial ones: ffn 112); quantization_config names
             quant_method fp8 and the block size. The reference model holds
             the dequantized weights (e4m3 value * scale, in float32).

All share a byte-level BPE tokenizer of 512 tokens trained on the fly with
`tokenizers` (seeded corpus below), eos "<|endoftext|>" = 0; the
generation_config.json of each lists eos_token_id [0, 1].

Reference: transformers in float64 (the float32 model cast to double) on
the very weights saved (BF16 ones rounded first); sequences are the five
plain prompts of golden_prompts.py tokenized by the tokenizer, greedily
continued to 64 tokens. Weight scales as make_tiny_llama.py, so logits are
O(1-10) and top-2 margins are far above float32 error.

SmolLM2-135M-Instruct as HF folders (F32 and BF16): see make_smollm2_bf16.

Usage: make_hf_models.py [--only NAME|smollm2-bf16]
Needs: torch, transformers, tokenizers, safetensors.
"""

import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import golden_prompts as gp  # noqa: E402
import make_logits_fixtures as mlf  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "tests", "fixtures", "hf")
LOGITS = os.path.join(ROOT, "tests", "fixtures", "logits")
SEED = 20261124
VOCAB = 512
NAMES = ["llama", "mistral", "qwen2", "qwen3", "llama-fp8"]
STD = dict(embed=1.0, q=0.15, k=0.15, v=0.2, o=0.12, gate=0.15, up=0.15, down=0.12, output=0.4)

CORPUS = [t for _, t in gp.PLAIN_PROMPTS] + [
    "The quick brown fox jumps over the lazy dog. " * 3,
    "def add(a, b):\n    return a + b\n\nclass Point:\n    pass\n",
    "Paris is the capital of France. Berlin is the capital of Germany.",
    "Once upon a time, in a small village by the sea, there lived an old fisherman.",
    "1, 2, 3, 4, 5, 6, 7, 8, 9, 10. The numbers go on and on.",
    "Le chat est sur la table. La maison est grande et belle.",
]


def make_tokenizer(d):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tr = trainers.BpeTrainer(vocab_size=VOCAB, special_tokens=["<|endoftext|>", "<|im_end|>"],
                             initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(CORPUS * 20, tr)
    assert tok.get_vocab_size() == VOCAB, tok.get_vocab_size()
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|endoftext|>",
                                   bos_token="<|endoftext|>", unk_token="<|endoftext|>")
    fast.save_pretrained(d)
    return fast


def cfg_for(name):
    from transformers import LlamaConfig, MistralConfig, Qwen2Config, Qwen3Config

    common = dict(vocab_size=VOCAB, hidden_size=64, intermediate_size=128, num_hidden_layers=3,
                  num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=2048,
                  rms_norm_eps=1e-5, bos_token_id=0, eos_token_id=0, attn_implementation="eager")
    if name in ("llama", "llama-fp8"):
        c = dict(common, tie_word_embeddings=False, rope_theta=500000.0,
                 rope_scaling=dict(rope_type="llama3", factor=8.0, low_freq_factor=1.0,
                                   high_freq_factor=4.0, original_max_position_embeddings=64))
        if name == "llama-fp8":
            c["intermediate_size"] = 112
        return LlamaConfig(**c)
    if name == "mistral":
        return MistralConfig(**dict(common, tie_word_embeddings=False, rope_theta=10000.0,
                                    sliding_window=16, max_position_embeddings=32,
                                    rope_scaling=dict(rope_type="dynamic", factor=2.0)))
    if name == "qwen2":
        return Qwen2Config(**dict(common, tie_word_embeddings=True, rope_theta=1000000.0,
                                  rope_scaling=dict(rope_type="linear", factor=2.0)))
    if name == "qwen3":
        return Qwen3Config(**dict(common, tie_word_embeddings=False, rope_theta=1000000.0,
                                  head_dim=32,
                                  rope_scaling=dict(rope_type="yarn", factor=4.0,
                                                    original_max_position_embeddings=32)))
    raise SystemExit(name)


def build(name):
    import torch
    from transformers import AutoModelForCausalLM

    cfg = cfg_for(name)
    model = AutoModelForCausalLM.from_config(cfg).to(torch.float32).eval()
    g = torch.Generator().manual_seed(SEED + NAMES.index(name))
    bf16 = name == "qwen2"
    sd = {}
    for k, v in model.state_dict().items():
        if "rotary" in k or (cfg.tie_word_embeddings and k == "lm_head.weight"):
            continue
        if k.endswith("norm.weight"):
            w = 1 + torch.randn(v.shape, generator=g) * 0.2
        elif k.endswith(".bias"):
            w = torch.randn(v.shape, generator=g) * 0.1
        else:
            key = ("embed" if "embed" in k else "output" if "lm_head" in k else
                   k.split(".")[-2].split("_")[0])
            w = torch.randn(v.shape, generator=g) * STD[key]
        sd[k] = w.bfloat16().float() if bf16 else w
    model.load_state_dict(sd, strict=False)
    if cfg.tie_word_embeddings:
        model.tie_weights()
    return model


def fp8_quantize(w, block):
    """(e4m3 tensor, f32 scale_inv per block, dequantized f32) of a 2-D weight."""
    import torch

    R, C = w.shape
    sr, sc = -(-R // block), -(-C // block)
    scale = torch.empty(sr, sc, dtype=torch.float32)
    q = torch.empty(R, C, dtype=torch.float8_e4m3fn)
    for i in range(sr):
        for j in range(sc):
            blk = w[i * block:(i + 1) * block, j * block:(j + 1) * block]
            s = float(blk.abs().max()) / 448.0
            s = s if s > 0 else 1.0
            scale[i, j] = s
            q[i * block:(i + 1) * block, j * block:(j + 1) * block] = (blk / s).to(torch.float8_e4m3fn)
    deq = q.float() * scale.repeat_interleave(block, 0)[:R].repeat_interleave(block, 1)[:, :C]
    return q, scale, deq


def save(name, model, tok):
    import copy

    import torch
    from safetensors.torch import save_file

    d = os.path.join(OUT, name)
    os.makedirs(d, exist_ok=True)
    for f in os.listdir(d):
        os.remove(os.path.join(d, f))
    tok.save_pretrained(d)
    model.generation_config.eos_token_id = [0, 1]
    model.generation_config.temperature = 0.7
    model.generation_config.top_p = 0.9
    model.generation_config.do_sample = True
    if name == "llama-fp8":
        block = 32
        sd, fixed = {}, {}
        for k, v in model.state_dict().items():
            if k.endswith("proj.weight"):
                q, s, deq = fp8_quantize(v.detach().float(), block)
                sd[k], sd[k + "_scale_inv"] = q.contiguous(), s.contiguous()
                fixed[k] = deq
            else:
                sd[k] = v.detach().contiguous()
        model.load_state_dict(fixed, strict=False)
        save_file(sd, os.path.join(d, "model.safetensors"), metadata={"format": "pt"})
        cfg = model.config.to_dict()
        cfg["architectures"] = ["LlamaForCausalLM"]
        cfg["quantization_config"] = dict(quant_method="fp8", activation_scheme="dynamic",
                                          fmt="e4m3", weight_block_size=[block, block])
        with open(os.path.join(d, "config.json"), "w") as f:
            json.dump(cfg, f, indent=2)
        model.generation_config.save_pretrained(d)
    elif name == "qwen2":
        copy.deepcopy(model).to(torch.bfloat16).save_pretrained(d)
    elif name == "llama":
        model.save_pretrained(d, max_shard_size="200KB")
        assert os.path.exists(os.path.join(d, "model.safetensors.index.json"))
    else:
        model.save_pretrained(d)
    # the reference model is the one the folder loads back as (transformers)
    return d


def make(name):
    import copy

    from transformers import AutoTokenizer

    d = os.path.join(OUT, name)
    os.makedirs(d, exist_ok=True)
    tok = make_tokenizer(d)
    model32 = build(name)
    save(name, model32, tok)
    if name != "llama-fp8":  # transformers reads the folder back: same weights
        from transformers import AutoModelForCausalLM
        import torch
        back = AutoModelForCausalLM.from_pretrained(d, dtype=torch.float32,
                                                    attn_implementation="eager").eval()
        for k, v in back.state_dict().items():
            assert torch.equal(v, model32.state_dict()[k]), k
        model32 = back  # the reference is the folder as transformers loads it
    tok = AutoTokenizer.from_pretrained(d)
    model = copy.deepcopy(model32).double()
    seqs, summary = [], []
    for pname, text in gp.PLAIN_PROMPTS:
        pids = tok(text)["input_ids"][:40]
        ids = mlf.greedy_fill(model, pids, gp.SEQ_LEN)
        logits = mlf.forward(model, ids)
        margins = [gp.top2(r)[2] for r in logits]
        maxabs = float(np.max(np.abs(logits)))
        l32 = mlf.forward(model32, ids)
        f32_ratio = float(np.max(np.abs(l32 - logits))) / maxabs
        seqs.append((len(pids), ids, logits))
        summary.append(dict(name=pname, n_prompt=len(pids), ids=ids, max_abs_logit=maxabs,
                            min_top2_margin=min(margins), float32_max_diff_ratio=f32_ratio))
        print(f"  {name} {pname:7s} prompt {len(pids):2d}, max|logit| {maxabs:6.2f}, "
              f"min margin {min(margins):.2e}, f32 {f32_ratio:.1e}")
    os.makedirs(LOGITS, exist_ok=True)
    path = os.path.join(LOGITS, f"hf-{name}.logits")
    mlf.write_fixture(path, seqs)
    with open(os.path.join(LOGITS, f"hf-{name}.json"), "w") as f:
        json.dump(dict(model=f"tests/fixtures/hf/{name}", seq_len=gp.SEQ_LEN,
                       reference="transformers float64 on the folder's weights", prompts=summary),
                  f, indent=1, ensure_ascii=False)
    sz = sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d))
    print(f"  wrote {d} ({sz} bytes), {path}")


def make_smollm2_bf16():
    """Reference logits for SmolLM2-135M-Instruct as an HF folder in BF16.

    tests/golden/test_hf_logits.c writes the folders itself from the GGUF
    (every tensor dequantized with owl's own code, Q/K rows permuted back to
    HF's order, stored as F32 or rounded to BF16), so no 270 MB folder is
    committed. The F32 folder holds exactly the dequantized GGUF weights, the
    reference of smollm2-135m-instruct-q4_1.logits, which it reuses. For BF16
    this writes hf-smollm2-135m-bf16.logits: transformers on the GGUF
    (make_logits_fixtures.load, which checks every weight against gguf-py),
    each parameter rounded to bfloat16 (round-to-nearest-even, as owl's
    f32_to_bf16), then float64; the token ids are those of the Q4_1 fixture."""
    import copy

    import torch

    src = os.path.join(LOGITS, "smollm2-135m-instruct-q4_1.json")
    with open(src) as f:
        prompts = json.load(f)["prompts"]
    model32 = mlf.load(mlf.MODELS["smollm2"]["path"])
    with torch.no_grad():
        for p in model32.parameters():
            p.copy_(p.bfloat16().float())
    model = copy.deepcopy(model32).double()
    seqs, summary = [], []
    for pr in prompts:
        ids = pr["ids"]
        logits = mlf.forward(model, ids)
        margins = [gp.top2(r)[2] for r in logits]
        maxabs = float(np.max(np.abs(logits)))
        seqs.append((pr["n_prompt"], ids, logits))
        summary.append(dict(name=pr["name"], n_prompt=pr["n_prompt"], ids=ids, max_abs_logit=maxabs,
                            min_top2_margin=min(margins)))
        print(f"  smollm2 bf16 {pr['name']:7s} max|logit| {maxabs:6.2f}, min margin {min(margins):.2e}")
    path = os.path.join(LOGITS, "hf-smollm2-135m-bf16.logits")
    mlf.write_fixture(path, seqs)
    with open(os.path.join(LOGITS, "hf-smollm2-135m-bf16.json"), "w") as f:
        json.dump(dict(model="SmolLM2-135M-Instruct.Q4_1.gguf dequantized, as an HF folder in BF16",
                       seq_len=gp.SEQ_LEN, reference="transformers float64 on the bf16-rounded weights",
                       prompts=summary), f, indent=1, ensure_ascii=False)
    print(f"  wrote {path}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only")
    a = ap.parse_args()
    for n in NAMES:
        if a.only in (None, n):
            make(n)
    if a.only in (None, "smollm2-bf16"):
        make_smollm2_bf16()


if __name__ == "__main__":
    main()
