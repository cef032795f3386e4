#!/usr/bin/env python3
"""make_greedy_fixtures.py — llama.cpp's greedy generations for owl's golden test.

With llama.cpp (llama-cpp-python, n_ctx 512, CPU) and SmolLM2-135M-Instruct
Q4_1, for each prompt of golden_prompts.py (the same prompt ids as the logits
fixture) it generates N_GREEDY (64) tokens greedily: at each step the argmax
of llama.cpp's logits, EOS and <|im_end|> not stopping it. It records, per
step, the token and llama.cpp's top-2 margin (largest minus second largest
logit). The argmax rule is checked against llama.cpp's own greedy sampler
(Llama.generate with temp 0, top_k 1).

To tell a real difference from a near tie it also records, per step,
llama.cpp's top CAND candidates (ids and logits), and the float64 reference
(transformers on the same dequantized weights, as in make_logits_fixtures.py)
run along llama.cpp's sequence: its argmax and top-2 margin at each step.

tests/golden/test_greedy.c makes owl generate from the same ids and compares.
Where owl and llama.cpp first disagree, the test accepts the difference only
if the gap between llama.cpp's logits of its token and of owl's token is
below the near-tie threshold stored here, derived from a measurement:

llama.cpp does not compute in float32: for Q4_1 weights it quantizes the
activations to 8 bits (Q8_1) before each matrix product, and keeps the KV
cache in f16. Its logits therefore sit some distance from the float64 truth:
the script measures, on the teacher-forced sequences of the logits fixture
and on the greedy sequences, how much llama.cpp's top-2 margin (its top-1
minus its top-2 logit) differs from the reference's margin between the same
two tokens. The threshold is the largest such change seen, rounded up to
two significant digits: llama.cpp can rank two tokens against the truth
whenever they are closer than that, so an engine computing in float32 (owl's
exact path) may rightly pick the other one. owl's default path quantizes
activations too and lands about as far from the truth as llama.cpp, so the
test allows it twice the threshold (two engines each within X of the truth
are within 2X of each other).

Output: tests/fixtures/greedy/smollm2-135m-instruct-q4_1.greedy, text,
whitespace-separated, '#' lines are comments:

    model <file name>
    n_prompts <P>
    n_gen <G>
    n_cand <C>
    near_tie <threshold in logits>
    then P records:
    prompt <name> <n_prompt>
    ids <n_prompt prompt ids>
    gen <G generated ids>
    margin <G llama.cpp top-2 margins>
    ref_argmax <G argmax of the float64 reference along the same ids>
    ref_margin <G its top-2 margins>
    G lines: cand <C ids> <their C llama.cpp logits>   (best first)

and a JSON beside it with the texts and the measurement.

Usage: make_greedy_fixtures.py
Needs: llama-cpp-python, torch, transformers, accelerate, numpy, gguf, jinja2.
"""

import json
import os
import struct
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import golden_prompts as gp  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
MODEL = os.path.expanduser("~/.cache/owl/SmolLM2-135M-Instruct.Q4_1.gguf")
LOGITS = os.path.join(ROOT, "tests/fixtures/logits/smollm2-135m-instruct-q4_1.logits")
OUT = os.path.join(ROOT, "tests/fixtures/greedy/smollm2-135m-instruct-q4_1")
CAND = 5
# Another quantization of the same model (argv: MODEL NAME): the published
# Q4_1 requantized by `owl quantize --allow-requantize Q4_1.gguf OUT TYPE`
# (byte-identical to llama-quantize's, scripts/bench/check_quantize.sh).
# It has no teacher-forced logits fixture, so its near-tie threshold is
# measured on its greedy sequences alone, and the JSON records the
# model's SHA-256 for tests/integration/greedy_requant.sh to check.
if len(sys.argv) == 3:
    MODEL = os.path.abspath(sys.argv[1])
    LOGITS = None
    OUT = os.path.join(ROOT, "tests/fixtures/greedy/" + sys.argv[2])


def read_logits_fixture(path):
    """[(n_prompt, ids, logits (T, V) float64)] from a .logits file."""
    with open(path, "rb") as f:
        magic = f.read(8)
        assert magic == b"OWLLOGIT", magic
        version, n_seq, n_tok, n_vocab = struct.unpack("<4I", f.read(16))
        assert version == 1
        out = []
        for _ in range(n_seq):
            (n_prompt,) = struct.unpack("<i", f.read(4))
            ids = np.frombuffer(f.read(4 * n_tok), dtype="<i4").tolist()
            rows = np.empty((n_tok, n_vocab))
            for t in range(n_tok):
                scale, _, _, _ = struct.unpack("<fiff", f.read(16))
                rows[t] = np.frombuffer(f.read(2 * n_vocab), dtype="<i2") * np.float64(scale)
            out.append((n_prompt, ids, rows))
    return out


def new_llama(logits_all):
    from llama_cpp import Llama

    return Llama(model_path=MODEL, n_ctx=512, logits_all=logits_all, n_threads=2,
                 verbose=False)


def margin_changes(got, ref):
    """Per row: |llama.cpp's top-2 margin - the reference's margin of the same pair|."""
    out = []
    for g, r in zip(got, ref):
        a, b = np.argsort(g)[-2:][::-1]
        out.append(abs((g[a] - g[b]) - (r[a] - r[b])))
    return out


def teacher_forced_changes(llm):
    """margin_changes on the teacher-forced sequences of the logits fixture."""
    changes, ratios = [], []
    for _, ids, ref in read_logits_fixture(LOGITS):
        llm.reset()
        llm.eval(ids)
        got = np.array(llm.scores[: len(ids)], dtype=np.float64)
        ratios.append(float(np.max(np.abs(got - ref)) / np.max(np.abs(ref))))
        changes += margin_changes(got, ref)
    return changes, ratios


def greedy(llm, ids):
    """N_GREEDY argmax tokens after ids, and llama.cpp's logits rows (G, V)."""
    llm.reset()
    llm.eval(ids)
    toks, rows = [], []
    for _ in range(gp.N_GREEDY):
        row = np.array(llm.scores[llm.n_tokens - 1], dtype=np.float64)
        t = int(np.argmax(row))
        toks.append(t)
        rows.append(row)
        llm.eval([t])
    return toks, np.array(rows)


def sampler_greedy(llm, ids):
    """The same through llama.cpp's own sampler chain at temperature 0, top-k 1."""
    out = []
    for t in llm.generate(ids, top_k=1, top_p=1.0, min_p=0.0, temp=0.0, repeat_penalty=1.0,
                          reset=True):
        out.append(int(t))
        if len(out) == gp.N_GREEDY:
            break
    return out


def round_up(x):
    """x rounded up to two significant digits."""
    r = float(f"{x:.2g}")
    return r if r >= x else float(f"{x + 10 ** (np.floor(np.log10(x)) - 1):.2g}")


def main():
    import copy

    from make_logits_fixtures import forward, load

    prompts = gp.prompts_for(MODEL, True)
    prompt_ids = gp.tokenize_llamacpp(MODEL, [t for _, t in prompts])
    if LOGITS:
        for (name, _), pids, (n_prompt, ids, _) in zip(prompts, prompt_ids, read_logits_fixture(LOGITS)):
            assert ids[:n_prompt] == pids, f"{name}: prompt ids differ from the logits fixture"

    llm, plain = new_llama(True), new_llama(False)
    tf_changes, ratios = teacher_forced_changes(llm) if LOGITS else ([], [])
    runs = []
    for (name, text), pids in zip(prompts, prompt_ids):
        toks, rows = greedy(llm, pids)
        own = sampler_greedy(plain, pids)
        if own != toks:
            k = next(i for i, (a, b) in enumerate(zip(own, toks)) if a != b)
            raise SystemExit(f"{name}: argmax and llama.cpp's greedy sampler differ at step {k}")
        runs.append((name, text, pids, toks, rows,
                     llm.detokenize(toks).decode("utf-8", errors="replace")))
    llm.close()
    plain.close()

    model = copy.deepcopy(load(MODEL)).double()
    records, summary, g_changes = [], [], []
    for name, text, pids, toks, rows, gen_text in runs:
        ref = forward(model, pids + toks)[len(pids) - 1: len(pids) - 1 + gp.N_GREEDY]
        g_changes += margin_changes(rows, ref)
        margins = [gp.top2(r)[2] for r in rows]
        ref_top = [gp.top2(r) for r in ref]
        cands = [np.argsort(r)[::-1][:CAND] for r in rows]
        records.append((name, pids, toks, margins, ref_top, cands, rows))
        agree = sum(int(a == t[0]) for a, t in zip(toks, ref_top))
        summary.append(dict(name=name, prompt=text, n_prompt=len(pids), generated=gen_text,
                            min_margin=min(margins), min_margin_step=int(np.argmin(margins)),
                            steps_where_float64_agrees=agree))
        print(f"  {name:7s} {len(pids):2d} prompt tokens, smallest llama.cpp margin "
              f"{min(margins):.3f} at step {int(np.argmin(margins))}, float64 argmax agrees at "
              f"{agree}/{gp.N_GREEDY} steps: {gen_text[:50]!r}")

    allc = np.array(tf_changes + g_changes)
    near_tie = round_up(float(np.max(allc)))
    meas = dict(max_diff_over_max_logit=ratios,
                top2_margin_change_median=float(np.median(allc)),
                top2_margin_change_p99=float(np.percentile(allc, 99)),
                top2_margin_change_max=float(np.max(allc)), rows=int(allc.size),
                near_tie=near_tie)
    print(f"llama.cpp vs float64: max|diff|/max|logit| per teacher-forced prompt "
          f"{', '.join(f'{r:.1e}' for r in ratios)}; change of the top-2 margin over "
          f"{allc.size} rows: median {meas['top2_margin_change_median']:.3f}, 99% "
          f"{meas['top2_margin_change_p99']:.3f}, max {meas['top2_margin_change_max']:.3f}; "
          f"near-tie threshold {near_tie}")

    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    import hashlib

    with open(MODEL, "rb") as f:
        sha = hashlib.sha256(f.read()).hexdigest()
    with open(OUT + ".greedy", "w") as f:
        f.write(f"# llama.cpp greedy generations of {os.path.basename(MODEL)} (n_ctx 512, CPU);\n")
        f.write(f"# model sha256 {sha}\n")
        f.write("# made by scripts/reference/make_greedy_fixtures.py, read by tests/golden/test_greedy.c\n")
        f.write(f"model {os.path.basename(MODEL)}\nn_prompts {len(records)}\n"
                f"n_gen {gp.N_GREEDY}\nn_cand {CAND}\nnear_tie {near_tie}\n")
        for name, pids, toks, margins, ref_top, cands, rows in records:
            f.write(f"prompt {name} {len(pids)}\n")
            f.write("ids " + " ".join(map(str, pids)) + "\n")
            f.write("gen " + " ".join(map(str, toks)) + "\n")
            f.write("margin " + " ".join(f"{m:.5f}" for m in margins) + "\n")
            f.write("ref_argmax " + " ".join(str(t[0]) for t in ref_top) + "\n")
            f.write("ref_margin " + " ".join(f"{t[2]:.5f}" for t in ref_top) + "\n")
            for c, row in zip(cands, rows):
                f.write("cand " + " ".join(map(str, c)) + " " +
                        " ".join(f"{row[i]:.5f}" for i in c) + "\n")
    with open(OUT + ".json", "w") as f:
        json.dump(dict(model=os.path.basename(MODEL), sha256=sha, measurement=meas, prompts=summary), f,
                  indent=1, ensure_ascii=False)
    print(f"wrote {OUT}.greedy")


if __name__ == "__main__":
    main()
