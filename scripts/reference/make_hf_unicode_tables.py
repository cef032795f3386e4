#!/usr/bin/env python3
"""Character tables of Hugging Face `tokenizers`, for src/tokenizer/hf_unicode.c.

tokenizers answers some character questions with tables of other Unicode
versions than owl's libraries (utf8proc, PCRE2): Lowercase is Rust's
to_lowercase (Unicode 16), Digits is Rust's is_numeric, Punctuation and
StripAccents and the NF* normalizers come from older crates, Whitespace
uses the regex crate's \\w. This script asks tokenizers itself, for every
code point, and writes what owl needs to answer the same way:

  hf_lower_delta   code points whose lowercase differs from utf8proc's
  hf_nfd_keep, hf_nfkd_keep, hf_nfkc_keep, hf_nfc_keep
                   code points tokenizers leaves unchanged that utf8proc
                   (de)composes, and combining marks whose class it does
                   not know (so it reorders nothing around them)
  hf_mark_ranges   what StripAccents removes
  hf_re_numeric, hf_re_punct, hf_re_word
                   regex class contents (ranges) of Digits, Punctuation
                   and \\w
  hf_prop_delta    for \\p{L}, \\p{N}, ... in Split regexes: the code points
                   tokenizers' regex engine (Oniguruma, newer Unicode) counts
                   that PCRE2 does not

usage: scripts/reference/make_hf_unicode_tables.py   (writes src/tokenizer/hf_unicode.c)
"""
import ctypes
import os

import tokenizers
from tokenizers import normalizers, pre_tokenizers

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "../../src/tokenizer/hf_unicode.c")
CHARS = [chr(c) for c in range(2, 0x110000) if not (0xD800 <= c <= 0xDFFF)]
SEP = "\x01"
U = ctypes.CDLL("libutf8proc.so.2")
U.utf8proc_tolower.restype = ctypes.c_int32
U.utf8proc_map.restype = ctypes.c_ssize_t
LIBC = ctypes.CDLL("libc.so.6")


def chunks():
    for i in range(0, len(CHARS), 4096):
        yield CHARS[i:i + 4096]


def per_char(fn):
    """fn over each character, through SEP-joined chunks (SEP maps to itself)."""
    out = []
    for c in chunks():
        r = fn(SEP.join(c)).split(SEP)
        assert len(r) == len(c)
        out += r
    return out


def utf8proc_map(s, opts):
    b = s.encode()
    dst = ctypes.c_void_p()
    n = U.utf8proc_map(b, len(b), ctypes.byref(dst), opts)
    r = ctypes.string_at(dst, n).decode()
    LIBC.free(dst)
    return r


def isolated(pt):
    """code points a pre-tokenizer puts alone in a piece"""
    s = set()
    for c in chunks():
        for piece, _ in pt.pre_tokenize_str(SEP.join(c)):
            if len(piece) == 1 and piece != SEP:
                s.add(ord(piece))
    return s


def ranges(cps):
    cps = sorted(cps)
    out = []
    for c in cps:
        if out and out[-1][1] == c - 1:
            out[-1][1] = c
        else:
            out.append([c, c])
    return out


def re_class(cps):
    return "".join(f"\\\\x{{{a:X}}}" if a == b else f"\\\\x{{{a:X}}}-\\\\x{{{b:X}}}" for a, b in ranges(cps))


def c_list(name, cps):
    body = ",".join(f"0x{c:X}" for c in sorted(cps)) or "0"
    return f"const uint32_t {name}[] = {{{body}}};\nconst size_t {name}_n = {len(cps)};\n"


PROPS = ["L", "Lu", "Ll", "Lt", "Lm", "Lo", "M", "Mn", "Mc", "Me", "N", "Nd", "Nl", "No",
         "P", "Pc", "Pd", "Ps", "Pe", "Pi", "Pf", "Po", "S", "Sm", "Sc", "Sk", "So"]


def pcre2_set(pat):
    """code points PCRE2 (the library owl links) matches with pat, UTF + UCP"""
    P = ctypes.CDLL("libpcre2-8.so.0")
    P.pcre2_compile_8.restype = ctypes.c_void_p
    P.pcre2_compile_8.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint32, ctypes.POINTER(ctypes.c_int),
                                  ctypes.POINTER(ctypes.c_size_t), ctypes.c_void_p]
    P.pcre2_match_data_create_8.restype = ctypes.c_void_p
    P.pcre2_match_data_create_8.argtypes = [ctypes.c_uint32, ctypes.c_void_p]
    P.pcre2_match_8.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_size_t, ctypes.c_uint32,
                                ctypes.c_void_p, ctypes.c_void_p]
    err, off = ctypes.c_int(), ctypes.c_size_t()
    b = pat.encode()
    code = P.pcre2_compile_8(b, len(b), 0x00080000 | 0x00020000, ctypes.byref(err), ctypes.byref(off), None)
    md = P.pcre2_match_data_create_8(4, None)
    out = set()
    for ch in CHARS:
        e = ch.encode()
        if P.pcre2_match_8(code, e, len(e), 0, 0, md, None) >= 0:
            out.add(ord(ch))
    return out


def prop_deltas():
    """for each \\p{X}: what tokenizers' regex engine (Oniguruma) counts in X
    beyond what PCRE2 does; where PCRE2 counts some that it does not, all
    of X (exact)"""
    out = []
    for prop in PROPS:
        hf = isolated(pre_tokenizers.Split(tokenizers.Regex("\\p{%s}" % prop), "isolated"))
        pc = pcre2_set("^\\p{%s}$" % prop)
        if pc - hf:  # PCRE2 counts some it does not: the whole set, explicitly
            out.append((prop, True, hf))
        else:
            out.append((prop, False, hf - pc))
    return out


def main():
    low = per_char(normalizers.Lowercase().normalize_str)
    delta = []
    for ch, o in zip(CHARS, low):
        c = ord(ch)
        if c == 0x130:
            assert o == "i\u0307"
            continue
        assert len(o) == 1, (hex(c), o)
        if ord(o) != U.utf8proc_tolower(c):
            delta.append((c, ord(o)))
    keeps = {}
    STABLE, COMPAT, COMPOSE, DECOMPOSE = 1 << 1, 1 << 2, 1 << 3, 1 << 4
    for name, norm, opts in [("nfc", normalizers.NFC(), STABLE | COMPOSE), ("nfd", normalizers.NFD(), STABLE | DECOMPOSE),
                             ("nfkc", normalizers.NFKC(), STABLE | COMPOSE | COMPAT),
                             ("nfkd", normalizers.NFKD(), STABLE | DECOMPOSE | COMPAT)]:
        keep = []
        for ch, o in zip(CHARS, per_char(norm.normalize_str)):
            if o != utf8proc_map(ch, opts):
                assert o == ch, (name, hex(ord(ch)), o)  # tokenizers leaves it as it is
                keep.append(ord(ch))
        keeps[name] = keep
    # combining classes tokenizers' normalizer does not know (it sees
    # starters there and reorders nothing across them): kept as well
    class Prop(ctypes.Structure):
        _fields_ = [("category", ctypes.c_int16), ("combining_class", ctypes.c_int16)]
    U.utf8proc_get_property.restype = ctypes.POINTER(Prop)
    nfd = normalizers.NFD()
    starters = [ord(ch) for ch in CHARS if U.utf8proc_get_property(ord(ch)).contents.combining_class > 1 and
                nfd.normalize_str(ch + "\u0334").endswith("\u0334")]
    for name in keeps:
        keeps[name] = sorted(set(keeps[name]) | set(starters))
    stripped = [ord(ch) for ch, o in zip(CHARS, per_char(normalizers.StripAccents().normalize_str)) if o == ""]
    numeric = isolated(pre_tokenizers.Digits(individual_digits=True))
    punct = isolated(pre_tokenizers.Punctuation())
    word = isolated(pre_tokenizers.Whitespace())  # word characters stand alone between SEPs ([^\w\s])
    deltas = prop_deltas()
    with open(OUT, "w") as f:
        f.write(f"""/* hf_unicode.c — character tables of Hugging Face tokenizers {tokenizers.__version__}, so that
 * owl's normalizers and pre-tokenizers answer as it does where its Unicode
 * tables differ from utf8proc's and PCRE2's. Generated by
 * scripts/reference/make_hf_unicode_tables.py (which asks tokenizers about
 * every code point); do not edit. */
#include "hf_unicode.h"

/* lowercase mappings that differ from utf8proc_tolower: (code point, lowercase) */
const uint32_t hf_lower_delta[][2] = {{{",".join(f"{{0x{a:X},0x{b:X}}}" for a, b in delta) or "{0,0}"}}};
const size_t hf_lower_delta_n = {len(delta)};

/* code points the normalizer leaves as they are, though utf8proc maps them */
""")
        for name in ("nfc", "nfd", "nfkc", "nfkd"):
            f.write(c_list(f"hf_{name}_keep", keeps[name]))
        rs = ranges(stripped)
        f.write("\n/* what StripAccents removes: ranges (first, last) */\n")
        f.write("const uint32_t hf_mark_ranges[][2] = {" + ",".join(f"{{0x{a:X},0x{b:X}}}" for a, b in rs) + "};\n")
        f.write(f"const size_t hf_mark_ranges_n = {len(rs)};\n\n")
        f.write("/* regex class contents: Digits (Rust is_numeric), Punctuation, \\\\w (Whitespace) */\n")
        f.write(f'const char hf_re_numeric[] = "{re_class(numeric)}";\n')
        f.write(f'const char hf_re_punct[] = "{re_class(punct)}";\n')
        f.write(f'const char hf_re_word[] = "{re_class(word)}";\n')
        rw = ranges(word)
        f.write("\n/* the same \\\\w as ranges (first, last), for single_word added tokens */\n")
        f.write("const uint32_t hf_word_ranges[][2] = {" + ",".join(f"{{0x{a:X},0x{b:X}}}" for a, b in rw) + "};\n")
        f.write(f"const size_t hf_word_ranges_n = {len(rw)};\n")
        f.write("\n/* \\\\p{X} of tokenizer.json regexes: the code points tokenizers' Oniguruma counts in X beyond\n"
                " * PCRE2's tables, or (exact) all of them where PCRE2 counts some it does not */\n")
        f.write("const hf_prop hf_prop_delta[] = {\n")
        for prop, exact, d in deltas:
            f.write(f'    {{"{prop}", {"true" if exact else "false"}, "{re_class(d)}"}},\n')
        f.write("};\n")
        f.write(f"const size_t hf_prop_delta_n = {len(deltas)};\n")
    print(f"lower {len(delta)}, keep " + ", ".join(f"{k} {len(v)}" for k, v in keeps.items()) +
          f", marks {len(stripped)}, numeric {len(numeric)}, punct {len(punct)}, word {len(word)}")


if __name__ == "__main__":
    main()
