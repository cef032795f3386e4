#!/usr/bin/env python3
"""make_quant_fixtures.py — golden fixtures for owl's tensor types.

Writes tests/fixtures/quants/<type>.bin, read by tests/unit/test_dequant.c.
Two independent references:
  * gguf-py (pip package `gguf`, module gguf.quants), numpy code that
    mirrors ggml's reference C; float16 conversions come from numpy, the
    same conversion gguf-py uses when it writes F16 tensors;
  * llama.cpp's own C code (ggml's *_ref quantizers and to_float), called
    through ctypes in the libggml-base.so that llama-cpp-python ships.
Where both can dequantize a block, the script asserts they agree bit for
bit before writing anything.

For each type:
  * dequantize sections: quantized bytes and the float32 values the
    reference dequantizes them to. The bytes are
      (a) edge-case and random floats quantized by gguf-py where gguf-py
          can quantize the type (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, BF16, F16);
      (b) random bytes with sane f16 scales (finite, some subnormal, some
          negative) -- the K-quants (Q2_K..Q6_K), which gguf-py only
          dequantizes, are covered this way;
      (c) Gaussian and edge-case rows quantized by llama.cpp's reference
          quantizer (every quantized type, K-quants included), i.e. blocks
          as real model files hold them;
      (d) a few rows of the real SmolLM2 model file when it is present
          (Q4_1 and Q8_0 tensors), dequantized by gguf-py.
  * quantize sections where a reference quantizes: input floats and the
    bytes gguf-py (Q4_0..Q8_0, F16, BF16) or llama.cpp (also Q8_1, Q8_K,
    Q2_K..Q6_K) makes of them; owl's from_float must give the same bytes.
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

Run: python3 scripts/reference/make_quant_fixtures.py [model.gguf]
(default model: ~/.cache/owl/SmolLM2-135M-Instruct.Q4_1.gguf). The output
is deterministic (fixed seeds). Made with gguf 0.19.0, numpy 2.4.6,
llama-cpp-python 0.3.36.
"""
import ctypes
import os
import struct
import sys

import numpy as np
from gguf import GGUFReader, quants
from gguf.constants import GGML_QUANT_SIZES, GGMLQuantizationType as T

OUT_DIR = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "fixtures", "quants"))

KIND_DEQUANT, KIND_QUANT, KIND_F16_TABLE = 1, 2, 3

# types gguf-py can quantize, and those it can only dequantize
QUANTIZABLE = [T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1, T.Q8_0]
K_QUANTS = [T.Q2_K, T.Q3_K, T.Q4_K, T.Q5_K, T.Q6_K]
# K-quants owl can quantize: llama.cpp's quantizer gives their quantize fixtures
OWL_QUANTIZES_K = (T.Q2_K, T.Q3_K, T.Q4_K, T.Q5_K, T.Q6_K)

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
    t = rng.normal(0, 0.02, block); t[rng.integers(0, block, 3)] = [1.5, -2.0, 0.9]; rows.append(t)  # outliers
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
    return secs


def k_quant(qtype, rng):
    raw = random_blocks(rng, qtype, 6).reshape(-1)
    deq = quants.dequantize(raw.reshape(1, -1), qtype).reshape(-1)
    assert np.all(np.isfinite(deq))
    return [section(KIND_DEQUANT, deq.size, raw.tobytes(), deq)]


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


class Ggml:
    """llama.cpp's reference quantizers and dequantizers, through ctypes in
    the libggml-base.so / libggml-cpu.so that llama-cpp-python ships."""

    class TypeTraits(ctypes.Structure):  # struct ggml_type_traits (ggml.h)
        _fields_ = [("type_name", ctypes.c_char_p), ("blck_size", ctypes.c_int64),
                    ("blck_size_interleave", ctypes.c_int64), ("type_size", ctypes.c_size_t),
                    ("is_quantized", ctypes.c_bool), ("to_float", ctypes.c_void_p),
                    ("from_float_ref", ctypes.c_void_p)]

    class CpuTraits(ctypes.Structure):  # struct ggml_type_traits_cpu (ggml-cpu.h)
        _fields_ = [("from_float", ctypes.c_void_p), ("vec_dot", ctypes.c_void_p),
                    ("vec_dot_type", ctypes.c_int), ("nrows", ctypes.c_int64)]

    ROW_FN = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64)

    def __init__(self):
        try:
            import llama_cpp
        except ImportError:
            sys.exit("llama-cpp-python is needed (pip install llama-cpp-python)")
        lib = os.path.join(os.path.dirname(llama_cpp.__file__), "lib")
        self.base = ctypes.CDLL(os.path.join(lib, "libggml-base.so"))
        self.cpu = ctypes.CDLL(os.path.join(lib, "libggml-cpu.so"))
        self.base.ggml_get_type_traits.restype = ctypes.POINTER(self.TypeTraits)
        self.base.ggml_get_type_traits.argtypes = [ctypes.c_int]
        self.cpu.ggml_get_type_traits_cpu.restype = ctypes.POINTER(self.CpuTraits)
        self.cpu.ggml_get_type_traits_cpu.argtypes = [ctypes.c_int]

    def traits(self, qtype):
        tt = self.base.ggml_get_type_traits(int(qtype)).contents
        assert (tt.blck_size, tt.type_size) == GGML_QUANT_SIZES[qtype] or qtype == T.Q8_1, qtype
        return tt

    def quantize(self, qtype, x):
        tt = self.traits(qtype)
        fn = tt.from_float_ref
        if not fn and qtype == T.Q8_K:   # Q8_K's reference lives in ggml-cpu
            fn = self.cpu.ggml_get_type_traits_cpu(int(qtype)).contents.from_float
        assert fn, qtype
        x = np.ascontiguousarray(x, dtype=np.float32)
        out = np.zeros(x.size // tt.blck_size * tt.type_size, dtype=np.uint8)
        self.ROW_FN(fn)(x.ctypes.data, out.ctypes.data, x.size)
        return out

    def dequantize(self, qtype, raw):
        tt = self.traits(qtype)
        assert tt.to_float, qtype
        raw = np.ascontiguousarray(raw, dtype=np.uint8)
        n = raw.size // tt.type_size * tt.blck_size
        out = np.zeros(n, dtype=np.float32)
        self.ROW_FN(tt.to_float)(raw.ctypes.data, out.ctypes.data, n)
        return out


def llama_cpp_sections(ggml, qtype, rng):
    """Rows quantized by llama.cpp's reference quantizer, dequantized by
    llama.cpp; gguf-py must dequantize them to the same bits."""
    block = 256 if qtype in K_QUANTS or qtype == T.Q8_K else 32
    n_blocks = 18 if block == 256 else 24     # 13 edge cases, the rest Gaussian
    x = edge_floats(rng, block, n_blocks)
    raw = ggml.quantize(qtype, x)
    secs = []
    if qtype not in (T.Q8_1, T.Q8_K):     # no dequantizer in ggml-base for these
        deq = ggml.dequantize(qtype, raw)
        ref = quants.dequantize(raw.reshape(1, -1), qtype).reshape(-1)
        if not np.array_equal(deq.view(np.uint32), ref.view(np.uint32)):
            sys.exit(f"{qtype.name}: llama.cpp and gguf-py dequantize differently")
        secs.append(section(KIND_DEQUANT, deq.size, raw.tobytes(), deq))
    if qtype in QUANTIZABLE or qtype in (T.Q8_1, T.Q8_K) + OWL_QUANTIZES_K:
        if qtype in QUANTIZABLE:
            with np.errstate(all="ignore"):
                mine = quants.quantize(x.reshape(1, -1), qtype).reshape(-1)
            if not np.array_equal(mine, raw):
                sys.exit(f"{qtype.name}: llama.cpp and gguf-py quantize differently")
        secs.append(section(KIND_QUANT, x.size, raw.tobytes(), x))
    return secs


def model_sections(path):
    """A few rows of each quantized type in a real model file."""
    out = {}
    if not os.path.exists(path):
        print(f"note: {path} not found, no real-model blocks")
        return out
    reader = GGUFReader(path)
    for t in reader.tensors:
        qt = T(int(t.tensor_type))
        if qt in out or qt not in QUANTIZABLE + K_QUANTS:
            continue
        rows = np.asarray(t.data)[:1].reshape(-1)     # the first row's bytes
        if rows.size > 4096:
            rows = rows[:4096 // GGML_QUANT_SIZES[qt][1] * GGML_QUANT_SIZES[qt][1]]
        raw = np.ascontiguousarray(rows, dtype=np.uint8)
        deq = quants.dequantize(raw.reshape(1, -1), qt).reshape(-1)
        print(f"real blocks: {t.name} ({qt.name}), {raw.size} bytes")
        out[qt] = [section(KIND_DEQUANT, deq.size, raw.tobytes(), deq)]
    return out


def main():
    if sys.byteorder != "little":
        sys.exit("fixtures are little endian; run on a little-endian host")
    model = sys.argv[1] if len(sys.argv) > 1 else os.path.expanduser(
        "~/.cache/owl/SmolLM2-135M-Instruct.Q4_1.gguf")
    ggml = Ggml()
    rng = np.random.default_rng(20261123)
    f16_fixture(rng)
    bf16_fixture(rng)
    secs = {}
    for t in QUANTIZABLE:
        secs[t] = simple_quant(t, rng)
    for t in K_QUANTS:
        secs[t] = k_quant(t, rng)
    rng = np.random.default_rng(1123)
    for t in QUANTIZABLE + K_QUANTS + [T.Q8_1, T.Q8_K]:
        secs.setdefault(t, []).extend(llama_cpp_sections(ggml, t, rng))
    for t, more in model_sections(model).items():
        secs[t].extend(more)
    for t, s in secs.items():
        write(t, s)


if __name__ == "__main__":
    main()
