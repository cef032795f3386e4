#!/usr/bin/env python3
"""make_quant_fixtures.py — golden fixtures for owl's tensor types.

Writes tests/fixtures/quants/<type>.bin, read by tests/unit/test_dequant.c.
The reference is gguf-py (pip package `gguf`, module gguf.quants), which
mirrors ggml's reference C code; float16 conversions come from numpy, the
same conversion gguf-py uses when it writes F16 tensors.

For each type:
  * dequantize sections: quantized bytes and the float32 values gguf-py
    dequantizes them to. The bytes are (a) edge-case and random floats
    quantized by gguf-py where gguf-py can quantize the type (Q4_0, Q4_1,
    Q5_0, Q5_1, Q8_0, BF16, F16) and (b) random bytes with sane f16 scales
    (finite, some subnormal, some negative), which is how the K-quants
    (Q2_K..Q6_K) are covered: gguf-py only dequantizes them.
  * a quantize section where gguf-py quantizes: input floats and the bytes
    gguf-py makes of them; owl's from_float must give the same bytes.
  * f16.bin also holds the f32 value of every one of the 65536 f16 bit
    patterns.

File layout (little endian):
  offset 0   char[8]  magic "OWLQFIX1"
         8   u32      type (ggml_type / owl_type value)
        12   u32      number of sections
  then each section:
         u32 kind     1 = dequantize: u8 bytes[n_bytes], then f32 out[n]
                      2 = quantize:   f32 in[n], then u8 bytes[n_bytes]
                      3 = f16 table:  f32 out[n] (n = 65536) for the
                          16-bit patterns 0..65535 (n_bytes = 0)
         u32 reserved (0)
         u64 n        elements
         u64 n_bytes  bytes of the quantized data
         payload as above

Run from the repository root:  python3 scripts/reference/make_quant_fixtures.py
The output is deterministic (fixed seeds).
"""
import os
import struct
import sys

import numpy as np
from gguf import quants
from gguf.constants import GGML_QUANT_SIZES, GGMLQuantizationType as T

OUT_DIR = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "fixtures", "quants"))

KIND_DEQUANT, KIND_QUANT, KIND_F16_TABLE = 1, 2, 3

# types gguf-py can quantize, and those it can only dequantize
QUANTIZABLE = [T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1, T.Q8_0]
K_QUANTS = [T.Q2_K, T.Q3_K, T.Q4_K, T.Q5_K, T.Q6_K]

# byte offsets of the f16 scale fields inside each block (the rest of a
# random block may be any bytes)
F16_FIELDS = {
    T.Q4_0: [0], T.Q4_1: [0, 2], T.Q5_0: [0], T.Q5_1: [0, 2], T.Q8_0: [0],
    T.Q2_K: [80, 82], T.Q3_K: [108], T.Q4_K: [0, 2], T.Q5_K: [0, 2], T.Q6_K: [208],
}


def section(kind, n, raw, floats):
    head = struct.pack("<IIQQ", kind, 0, n, len(raw))
    f = np.ascontiguousarray(floats, dtype="<f4").tobytes()
    return head + (raw + f if kind == KIND_DEQUANT else f + raw)


def write(qtype, sections):
    os.makedirs(OUT_DIR, exist_ok=True)
    path = os.path.join(OUT_DIR, qtype.name.lower() + ".bin")
    with open(path, "wb") as fp:
        fp.write(b"OWLQFIX1" + struct.pack("<II", int(qtype), len(sections)))
        for s in sections:
            fp.write(s)
    print(f"{path}: {os.path.getsize(path)} bytes")


def sane_f16(rng, count):
    """Finite f16 scales: mostly realistic magnitudes, some tiny (subnormal),
    some large, both signs."""
    exp = rng.uniform(-12, -1, size=count)
    pick = rng.random(count)
    exp = np.where(pick < 0.1, rng.uniform(-24, -14, size=count), exp)   # subnormal
    exp = np.where(pick > 0.92, rng.uniform(2, 15, size=count), exp)     # large
    sign = np.where(rng.random(count) < 0.25, -1.0, 1.0)
    v = (sign * np.exp2(exp)).astype(np.float16)
    assert np.all(np.isfinite(v))
    return v


def random_blocks(rng, qtype, n_blocks):
    _, size = GGML_QUANT_SIZES[qtype]
    blocks = rng.integers(0, 256, size=(n_blocks, size), dtype=np.uint8)
    blocks[0, :] = 0x00                 # an all-zero block
    if n_blocks > 1:
        blocks[1, :] = 0xff             # every quant and scale bit set
    for off in F16_FIELDS[qtype]:
        blocks[:, off:off + 2] = sane_f16(rng, n_blocks).view(np.uint8).reshape(n_blocks, 2)
    return blocks


def edge_floats(rng, block, n_blocks):
    """Blocks of floats that stress the quantizers: zeros, ties for the
    largest magnitude, tiny, large, negative, mixed magnitudes, constant."""
    rows = []
    rows.append(np.zeros(block))
    t = np.zeros(block); t[3] = -3.0; t[7] = 3.0; rows.append(t)           # |max| tie, negative first
    t = np.zeros(block); t[5] = 3.0; t[9] = -3.0; rows.append(t)           # |max| tie, positive first
    rows.append(rng.normal(0, 1e-6, block))                               # tiny: d is an f16 subnormal
    rows.append(rng.normal(0, 1e-30, block))                              # so tiny d rounds to 0 in f16
    rows.append(rng.normal(0, 2000.0, block))                             # large (d still finite in f16)
    rows.append(-np.abs(rng.normal(0, 1, block)))                         # all negative
    rows.append(np.abs(rng.normal(0, 1, block)) + 5.0)                    # all positive, offset
    rows.append(np.full(block, 0.7))                                      # constant
    rows.append(rng.normal(0, 1, block) * np.exp2(rng.integers(-10, 10, block)))  # mixed magnitudes
    rows.append(np.arange(block) - block / 2.0)                           # a ramp: exact halves
    rows.append((np.arange(block) - block / 2.0) / 8.0)
    while len(rows) < n_blocks:
        rows.append(rng.normal(0, 1, block) * rng.uniform(0.01, 3))
    return np.concatenate(rows[:n_blocks]).astype(np.float32)


def simple_quant(qtype, rng):
    block, size = GGML_QUANT_SIZES[qtype]
    x = edge_floats(rng, block, 24)
    with np.errstate(all="ignore"):
        q = quants.quantize(x.reshape(1, -1), qtype).reshape(-1)
    q = np.ascontiguousarray(q, dtype=np.uint8)
    assert q.size == x.size // block * size
    rnd = random_blocks(rng, qtype, 24).reshape(-1)
    secs = []
    for raw in (q, rnd):
        deq = quants.dequantize(raw.reshape(1, -1), qtype).reshape(-1)
        secs.append(section(KIND_DEQUANT, deq.size, raw.tobytes(), deq))
    secs.append(section(KIND_QUANT, x.size, q.tobytes(), x))
    write(qtype, secs)


def k_quant(qtype, rng):
    raw = random_blocks(rng, qtype, 6).reshape(-1)
    deq = quants.dequantize(raw.reshape(1, -1), qtype).reshape(-1)
    assert np.all(np.isfinite(deq))
    write(qtype, [section(KIND_DEQUANT, deq.size, raw.tobytes(), deq)])


def f32_rounding_cases(rng, half_bits):
    """f32 bit patterns at and around the rounding points of a 16-bit float
    that keeps half_bits mantissa bits (10 for f16, 7 for bf16): exact
    ties with either parity, one ulp below and above, plus special values."""
    drop = 23 - half_bits                 # f32 mantissa bits dropped
    half = 1 << (drop - 1)
    base = rng.integers(0, 1 << 31, size=200, dtype=np.uint64) & ~np.uint64((1 << drop) - 1)
    cases = [base, base + half, base + half - 1, base + half + 1,  # ties and neighbours
             base + (1 << drop) + half]                           # tie with the other parity
    special = [0x00000000, 0x80000000, 0x7f800000, 0xff800000,     # zeros, infs
               0x7fc00000, 0xffc00000, 0x7fc02000, 0x7fe00001,     # quiet nans with payloads
               0x00000001, 0x807fffff, 0x00400000,                 # f32 subnormals
               0x3f800000, 0xbf800000, 0x7f7fffff, 0xff7fffff]     # one, largest finite
    out = np.concatenate([np.array(special, dtype=np.uint64)] + cases).astype(np.uint32)
    sign = (rng.random(out.size) < 0.5).astype(np.uint32) << np.uint32(31)
    out[len(special):] |= sign[len(special):]
    return out


def f16_fixture(rng):
    secs = []
    # every f16 pattern -> f32 (numpy; exact)
    table = np.arange(65536, dtype=np.uint32).astype(np.uint16).view(np.float16).astype(np.float32)
    secs.append(section(KIND_F16_TABLE, 65536, b"", table))
    # f32 -> f16: ties to even at normal and subnormal f16 spacings, the
    # overflow edge 65520, inf, nan, f32 subnormals, and random values
    bits = list(f32_rounding_cases(rng, 10))
    for e in range(-26, -13):              # the f16 subnormal range and its edges
        for frac in (0.0, 0.25, 0.5, 0.75, 1.5, 2.5, 3.5):
            v = np.float32(2.0 ** e * (1 + frac))
            bits.append(int(np.array(v, dtype=np.float32).view(np.uint32)))
    for v in (65504.0, 65519.0, 65519.996, 65520.0, 65536.0, 2.0 ** -24, 2.0 ** -25,
              2.0 ** -25 * 1.0000001, 2.0 ** -14, 2.0 ** -14 * (1 - 2 ** -11), 1.0 + 2 ** -11,
              1.0 + 3 * 2 ** -11):
        for s in (1.0, -1.0):
            bits.append(int(np.array(s * v, dtype=np.float32).view(np.uint32)))
    bits += list(rng.normal(0, 1, 200).astype(np.float32).view(np.uint32))
    bits += list((rng.normal(0, 1, 200) * np.exp2(rng.integers(-30, 17, 200))).astype(np.float32).view(np.uint32))
    x = np.array(bits, dtype=np.uint32).view(np.float32)
    with np.errstate(all="ignore"):
        h = quants.quantize(x, T.F16).view(np.uint16)
    secs.append(section(KIND_QUANT, x.size, h.tobytes(), x))
    write(T.F16, secs)


def bf16_fixture(rng):
    bits = list(f32_rounding_cases(rng, 7))
    bits += [0x7f7f8000, 0x7f7f7fff, 0x7f7fffff, 0x3f808000, 0x3f818000, 0x00008000, 0x00018000,
             0x7f800001, 0xff800001]       # overflow to inf, ties, subnormal ties, signalling nans
    bits += list(rng.normal(0, 1, 200).astype(np.float32).view(np.uint32))
    x = np.array(bits, dtype=np.uint32).view(np.float32)
    with np.errstate(all="ignore"):
        h = quants.quantize(x.reshape(1, -1), T.BF16).reshape(-1)
    h = np.ascontiguousarray(h, dtype=np.uint8)
    rnd = rng.integers(0, 1 << 16, size=512, dtype=np.uint32).astype(np.uint16)
    rnd[:4] = [0x0000, 0x8000, 0x7f80, 0xff80]
    deq = quants.dequantize(rnd.view(np.uint8).reshape(1, -1), T.BF16).reshape(-1)
    write(T.BF16, [section(KIND_QUANT, x.size, h.tobytes(), x),
                   section(KIND_DEQUANT, deq.size, rnd.tobytes(), deq)])


def main():
    if sys.byteorder != "little":
        sys.exit("fixtures are little endian; run on a little-endian host")
    rng = np.random.default_rng(20261123)
    f16_fixture(rng)
    bf16_fixture(rng)
    for t in QUANTIZABLE:
        simple_quant(t, rng)
    for t in K_QUANTS:
        k_quant(t, rng)


if __name__ == "__main__":
    main()
