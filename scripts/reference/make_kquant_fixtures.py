#!/usr/bin/env python3
"""make_kquant_fixtures.py — llama.cpp's own K-quant dot products, as golden
data for owl's default path.

Writes tests/fixtures/quants/kdot.bin, read by tests/unit/test_kquant.c.
It calls, through ctypes, the libggml-cpu.so / libggml-base.so of the
llama.cpp build that the benchmarks compare against (default
/work/ext/llama.cpp/build/bin: commit c392e50, GGML_NATIVE on this Zen 4,
so its K-quant dots are the __AVX2__ code of ggml-cpu-quants.c):
  * quantize_row_q8_K (the CPU traits' from_float) turns activation rows
    into Q8_K: owl's act_quantize_q8_K must give the same bytes;
  * the reference quantizers (from_float_ref) make weight rows of Q4_K,
    Q5_K, Q6_K, beside rows of random bytes with sane f16 scales;
  * ggml_vec_dot_qN_K_q8_K (the CPU traits' vec_dot) gives the result
    owl's qdot_qN_K_q8_K_ref must equal bit for bit;
  * the same for Q5_0 weights with Q8_0 activations (quantize_row_q8_0,
    ggml_vec_dot_q5_0_q8_0): Q4_K_M files hold Q5_0 rows.

Activations span the scales a forward pass meets and the edges: Gaussian
rows from 1e-30 to 1e4 in magnitude, rows with outliers, all-negative
rows, ties for the largest magnitude, a zero super-block.

File layout (little endian):
  char[8] "OWLKDOT1", u32 number of cases, then per case:
    u32 ggml type of the weights, u32 n (a multiple of 256),
    u8 weights[row size], f32 x[n], u8 xq[activation row size], f32 dot
  (activations Q8_K for the K-quants, Q8_0 for Q5_0)

Run: python3 scripts/reference/make_kquant_fixtures.py [LIBDIR]
Deterministic (fixed seed). Made with numpy 2.4.6 and llama.cpp c392e50.
"""
import ctypes
import os
import struct
import sys

import numpy as np

OUT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                    "tests", "fixtures", "quants", "kdot.bin"))
Q5_0, Q8_0, Q4_K, Q5_K, Q6_K, Q8_K = 6, 8, 12, 13, 14, 15
BLOCK = {Q5_0: 22, Q8_0: 34, Q4_K: 144, Q5_K: 176, Q6_K: 210, Q8_K: 292}
QK = {Q5_0: 32, Q8_0: 32, Q4_K: 256, Q5_K: 256, Q6_K: 256, Q8_K: 256}
ACT = {Q5_0: Q8_0, Q4_K: Q8_K, Q5_K: Q8_K, Q6_K: Q8_K}
F16_FIELDS = {Q5_0: [0], Q4_K: [0, 2], Q5_K: [0, 2], Q6_K: [208]}  # byte offsets of f16 scales


class TypeTraits(ctypes.Structure):  # struct ggml_type_traits (ggml.h)
    _fields_ = [("type_name", ctypes.c_char_p), ("blck_size", ctypes.c_int64),
                ("blck_size_interleave", ctypes.c_int64), ("type_size", ctypes.c_size_t),
                ("is_quantized", ctypes.c_bool), ("to_float", ctypes.c_void_p),
                ("from_float_ref", ctypes.c_void_p)]


class CpuTraits(ctypes.Structure):  # struct ggml_type_traits_cpu (ggml-cpu.h)
    _fields_ = [("from_float", ctypes.c_void_p), ("vec_dot", ctypes.c_void_p),
                ("vec_dot_type", ctypes.c_int), ("nrows", ctypes.c_int64)]


ROW_FN = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64)
# void vec_dot(int n, float *s, size_t bs, const void *x, size_t bx, const void *y, size_t by, int nrc)
DOT_FN = ctypes.CFUNCTYPE(None, ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p,
                          ctypes.c_size_t, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)


class Ggml:
    def __init__(self, libdir):
        self.base = ctypes.CDLL(os.path.join(libdir, "libggml-base.so"))
        self.cpu = ctypes.CDLL(os.path.join(libdir, "libggml-cpu.so"))
        self.base.ggml_get_type_traits.restype = ctypes.POINTER(TypeTraits)
        self.base.ggml_get_type_traits.argtypes = [ctypes.c_int]
        self.cpu.ggml_get_type_traits_cpu.restype = ctypes.POINTER(CpuTraits)
        self.cpu.ggml_get_type_traits_cpu.argtypes = [ctypes.c_int]
        self.cpu.ggml_cpu_init()

    def quantize(self, t, x, ref):
        x = np.ascontiguousarray(x, dtype=np.float32)
        tt = self.base.ggml_get_type_traits(t).contents
        assert tt.type_size == BLOCK[t]
        fn = tt.from_float_ref if ref else self.cpu.ggml_get_type_traits_cpu(t).contents.from_float
        out = np.zeros(x.size // QK[t] * BLOCK[t], dtype=np.uint8)
        ROW_FN(fn)(x.ctypes.data, out.ctypes.data, x.size)
        return out

    def dot(self, t, w, xq, n):
        ct = self.cpu.ggml_get_type_traits_cpu(t).contents
        assert ct.vec_dot_type == ACT[t]
        s = np.zeros(1, dtype=np.float32)
        DOT_FN(ct.vec_dot)(n, s.ctypes.data, 0, w.ctypes.data, 0, xq.ctypes.data, 0, 1)
        return s[0]


def activations(rng, n, kind):
    if kind == 0:
        return rng.normal(0, 1, n)
    if kind == 1:  # a forward pass's range of scales, per super-block
        return rng.normal(0, 1, n) * np.repeat(np.exp2(rng.uniform(-100, 14, n // 256)), 256)
    if kind == 2:  # outliers
        x = rng.normal(0, 0.05, n)
        x[rng.integers(0, n, 6)] = rng.normal(0, 20, 6)
        return x
    if kind == 3:  # all negative, ties for the largest magnitude of either sign
        x = -np.abs(rng.normal(0, 1, n))
        for b in range(0, n, 256):
            x[b + 10] = 4.0
            x[b + 200] = -4.0
        if n >= 512:
            x[256:512] = 0.0  # a zero super-block
        return x
    if kind == 4:  # halves: x * iscale lands on .5 (round half to even)
        return (rng.integers(-254, 255, n) / 2.0) * np.exp2(rng.integers(-20, 20))
    return rng.normal(0, 1e-30, n)  # tiny but normal d


def weights(ggml, rng, t, n, random_bytes):
    if not random_bytes:
        return ggml.quantize(t, rng.normal(0, 1, n) * rng.uniform(0.01, 3), ref=True)
    nb = n // QK[t]
    blocks = rng.integers(0, 256, size=(nb, BLOCK[t]), dtype=np.uint8)
    for off in F16_FIELDS[t]:
        scale = (np.exp2(rng.uniform(-14, -2, nb)) * np.where(rng.random(nb) < 0.2, -1, 1))
        blocks[:, off:off + 2] = scale.astype(np.float16).view(np.uint8).reshape(-1, 2)
    return blocks.reshape(-1)


def main():
    if sys.byteorder != "little":
        sys.exit("fixtures are little endian")
    libdir = sys.argv[1] if len(sys.argv) > 1 else "/work/ext/llama.cpp/build/bin"
    ggml = Ggml(libdir)
    rng = np.random.default_rng(20261124)
    cases = []
    for t in (Q4_K, Q5_K, Q6_K, Q5_0):
        for i in range(24):
            n = 256 * (1 + i % 8)
            x = activations(rng, n, i % 6).astype(np.float32)
            xq = ggml.quantize(ACT[t], x, ref=False)
            w = weights(ggml, rng, t, n, random_bytes=i % 2 == 1)
            d = ggml.dot(t, w, xq, n)
            cases.append(struct.pack("<II", t, n) + w.tobytes() + x.tobytes() + xq.tobytes() +
                         struct.pack("<f", d))
    with open(OUT, "wb") as f:
        f.write(b"OWLKDOT1" + struct.pack("<I", len(cases)))
        for c in cases:
            f.write(c)
    print(f"{OUT}: {len(cases)} cases, {os.path.getsize(OUT)} bytes")


if __name__ == "__main__":
    main()
