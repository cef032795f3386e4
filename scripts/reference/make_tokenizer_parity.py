#!/usr/bin/env python3
"""Hugging Face `tokenizers` reference ids for tests/golden/test_hf_tokenizers.c.

For each tokenizer.json folder (the four of ../shared/data/tokenizers and
tests/fixtures/tokenizer/smollm2-hf), N strings are generated from a fixed
seed: prose in many scripts, code, emoji (ZWJ sequences, flags, skin
tones), whitespace runs (spaces, tabs, newlines, CRLF, NBSP and other
Unicode spaces), digit runs, punctuation, decomposed letters (for NFC),
mixtures, the tokenizer's own added tokens inside text (and near misses),
random code points (valid UTF-8, surrogates excluded), and characters of
Unicode 15 and 16 (whose tables older libraries lack). Each string is
encoded with Tokenizer.from_file(...).encode(s, add_special_tokens=False)
and with add_special_tokens=True, and decoded back with
decode(ids, skip_special_tokens=False) to record whether the tokenizer
gives the string back exactly.

Then the variants (VARIANTS below: a base folder's tokenizer.json with its
normalizer, pre-tokenizer, decoder, post-processor or added-token flags
replaced, to reach the parts of the format the real files leave unused),
1000 strings each.

Output: tests/fixtures/tokenizer/parity-NAME.txt, one record per string
(a variant's second line is "P <the patch as JSON>"):

    S <byte length>\\n<the string's bytes>\\n
    F <ids with add_special_tokens=False, space-separated>\\n
    T <ids before F> | <ids after F>\\n     (add_special_tokens=True)
    R <1 if decode(encode(s)) == s, else 0>\\n

The script checks that the add_special_tokens=True ids are always "before
+ F + after" (so T holds only the additions). The first line is a
comment (#) naming the folder and the count.

usage: scripts/reference/make_tokenizer_parity.py [N]   (default 5000)
"""
import json
import os
import random
import sys
import tempfile

from tokenizers import Tokenizer

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = os.path.join(HERE, "../../../shared/data/tokenizers")
FIX = os.path.join(HERE, "../../tests/fixtures/tokenizer")
SEED = 20261123

PROSE = {
    "latin": ["Hello world", "The quick brown fox jumps over the lazy dog.", "naïve café résumé", "Ærøskøbing og Ålborg",
              "Straße und Größe", "¿Dónde está la biblioteca?", "Ça va très bien, merci !", "Zażółć gęślą jaźń",
              "Příliš žluťoučký kůň úpěl ďábelské ódy", "Þetta er íslenska", "Đây là tiếng Việt có dấu",
              "I'm sure they've done it, haven't they? We'll see; you'd know.", "It's SHOUTING and it'S mixed",
              "Türkçe öğrenmek çok güzel", "Dit is één test", "Ο", "crème brûlée à la carte"],
    "cyrillic": ["Привет, мир!", "Съешь же ещё этих мягких французских булок", "Україна — це Європа",
                 "Београд је главни град Србије", "ЁЖИК в тумане"],
    "greek": ["Γειά σου Κόσμε", "Ξεσκεπάζω την ψυχοφθόρα βδελυγμία", "ΑΒΓΔ αβγδ ά έ ή"],
    "arabic": ["مرحبا بالعالم", "اللغة العربية جميلة جداً", "١٢٣ ٤٥٦", "فَتْحَة كَسْرَة"],
    "hebrew": ["שלום עולם", "עברית נכתבת מימין לשמאל", "בְּרֵאשִׁית"],
    "devanagari": ["नमस्ते दुनिया", "हिन्दी भाषा बहुत सुंदर है", "संस्कृतम् ॥ ॐ", "१२३४"],
    "thai": ["สวัสดีชาวโลก", "ภาษาไทยไม่มีช่องว่างระหว่างคำ"],
    "cjk": ["你好，世界！", "我爱自然语言处理。", "東京は日本の首都です", "ひらがなとカタカナ、漢字", "繁體中文與简体中文",
            "「引用」『二重』【括弧】", "ｆｕｌｌｗｉｄｔｈ　ＡＢＣ１２３"],
    "korean": ["안녕하세요 세계", "한국어 형태소 분석기", "ㄱㄴㄷ ㅏㅑㅓ"],
    "other": ["Բարեւ աշխարհ", "გამარჯობა მსოფლიო", "ሰላም ዓለም", "வணக்கம் உலகம்", "ಕನ್ನಡ ಭಾಷೆ", "ສະບາຍດີ",
              "မင်္ဂလာပါ", "ཀུན་ལ་བཀྲ་ཤིས", "Ꭳꮼꮅ ᏣᎳᎩ", "ᓀᐦᐃᔭᐍᐏᐣ"],
}

CODE = [
    "def f(x):\n    return x ** 2\n",
    "for (int i = 0; i < n; i++) {\n\tsum += a[i];\n}",
    "#include <stdio.h>\nint main(void) { printf(\"%d\\n\", 42); }",
    "const x = () => { return {a: 1, 'b': [2, 3]}; };",
    "SELECT id, name FROM users WHERE age >= 18 ORDER BY name;",
    "if __name__ == \"__main__\":\n    main()",
    "<div class=\"x\"><a href='https://example.com/?q=1&r=2'>link</a></div>",
    "fn main() { let v: Vec<u8> = vec![1, 2, 3]; println!(\"{:?}\", v); }",
    "    indented\n        more\n\t\ttabs",
    "x+=1;y-=2;z*=3;w/=4;a%=5;b<<=1;c>>=2;d&&e||f",
    "{\"key\": [1, 2.5, -3e10, true, null], \"s\": \"\\u00e9\"}",
    "$ ls -la | grep '^d' > out.txt 2>&1",
    "// comment\n/* block */\n# hash\n-- dash",
    "a_b_c __init__ CamelCaseName snake_case_name SCREAMING_CASE",
    "@decorator\nclass A(B, metaclass=M):\n    pass",
    "```python\nprint('hi')\n```",
    "0x1F 0b1010 0o777 1_000_000 3.14159e-10",
]

EMOJI = ["😀", "👍🏽", "👨‍👩‍👧‍👦", "🏳️‍🌈", "🇫🇷", "🇯🇵🇺🇸", "❤️", "🧑🏿‍💻", "👩‍❤️‍💋‍👨", "✨", "🦀", "🐍", "1️⃣", "©️", "🤷‍♂️",
         "🙈🙉🙊", "🇺🇳", "🏴󠁧󠁢󠁳󠁣󠁴󠁿", "☕", "⚡"]
SPACES = [" ", "  ", "   ", "\t", "\n", "\n\n", "\r\n", "\r", "\u00a0", "\u2009", "\u3000", "\u2028", "\u200b", "\u202f",
          "\u1680", "\u2003", " \n ", "\t \t", "\u0085", "\u000b", "\u000c", "\ufeff"]
PUNCT = list(".,;:!?'\"()[]{}<>@#$%^&*-_=+/\\|`~") + ["...", "—", "–", "“", "”", "‘", "’", "«", "»", "…", "¡", "¿", "·",
                                                    "•", "†", "§", "¶", "€", "£", "¥", "°", "±", "×", "÷", "™", "®"]
DECOMPOSED = ["e\u0301", "a\u0308", "n\u0303", "o\u0302\u0323", "\u1100\u1161\u11a8", "A\u030a", "\u0041\u0300",
              "ﬁ", "Ω", "Å", "ǅ", "①", "²", "ｶ", "㍿", "ſ"]


# blocks of Unicode 15 and 16, which tokenizers' tables know and older
# libraries may not: CJK Ext H, Kawi, Nag Mundari, Garay, Gurung Khema,
# Kirat Rai, Egyptian hieroglyphs Ext-A, legacy computing, new symbols
NEW_BLOCKS = [(0x31350, 0x313FF), (0x11F00, 0x11F59), (0x1E4D0, 0x1E4F9), (0x10D40, 0x10D8F), (0x16100, 0x16139),
              (0x16D40, 0x16D79), (0x13460, 0x134FF), (0x1CC00, 0x1CCF9), (0x1FAE8, 0x1FAE9), (0x2FFC, 0x2FFF),
              (0x31EF, 0x31EF), (0x1C89, 0x1C8A), (0xA7CB, 0xA7DC), (0x16EA0, 0x16ED3)]


def new_unicode(rng):
    a, b = rng.choice(NEW_BLOCKS)
    return "".join(chr(rng.randint(a, b)) for _ in range(rng.randint(1, 4)))


def rand_cpt(rng):
    """A random code point, weighted toward the ranges text uses."""
    r = rng.random()
    if r < 0.3:
        c = rng.randint(0x20, 0x7E)
    elif r < 0.5:
        c = rng.randint(0xA0, 0x24F)
    elif r < 0.7:
        c = rng.randint(0x250, 0x2FFF)
    elif r < 0.85:
        c = rng.randint(0x3000, 0xFFFD)
    else:
        c = rng.randint(0x10000, 0x10FFFF)
    if 0xD800 <= c <= 0xDFFF:
        c = 0xFFFD
    return chr(c)


def digits(rng):
    n = rng.choice([1, 2, 3, 4, 5, 6, 7, 8, 10, 13, 17, 25])
    s = "".join(rng.choice("0123456789") for _ in range(n))
    return rng.choice([s, " " + s, s + " ", "v" + s, s + "." + s[:3], "-" + s, "१२३" + s, "٣" + s])


def make_strings(rng, specials, n):
    scripts = list(PROSE)
    out = []

    def prose():
        return rng.choice(PROSE[rng.choice(scripts)])

    def piece():
        k = rng.random()
        if k < 0.35:
            return prose()
        if k < 0.45:
            return rng.choice(CODE)
        if k < 0.55:
            return rng.choice(EMOJI)
        if k < 0.65:
            return rng.choice(SPACES)
        if k < 0.72:
            return digits(rng)
        if k < 0.8:
            return rng.choice(PUNCT)
        if k < 0.85:
            return rng.choice(DECOMPOSED)
        if k < 0.93 and specials:
            return rng.choice(specials)
        return "".join(rand_cpt(rng) for _ in range(rng.randint(1, 6)))

    fixed = ["", " ", "  ", "\n", "\t", "a", "A", " a", "a ", "Hello", " Hello", "Hello world", "  Hello  world  "]
    fixed += [s for s in specials[:40]]
    fixed += [" " + s + " " for s in specials[:20]]
    fixed += ["x" + s + "y" for s in specials[:20]]
    fixed += [s + s for s in specials[:10]]
    fixed += [s[:-1] for s in specials[:10] if len(s) > 1]
    for s in fixed:
        if len(out) < n:
            out.append(s)
    cats = ["prose", "code", "emoji", "space", "digits", "punct", "decomp", "special", "random", "mixed", "newuni"]
    i = 0
    while len(out) < n:
        cat = cats[i % len(cats)]
        i += 1
        if cat == "prose":
            s = " ".join(prose() for _ in range(rng.randint(1, 4)))
        elif cat == "code":
            s = rng.choice(CODE)
            if rng.random() < 0.5:
                s = s.replace("    ", rng.choice(["  ", "\t", "        "]))
        elif cat == "emoji":
            s = rng.choice(["", " ", "a"]).join(rng.choice(EMOJI) for _ in range(rng.randint(1, 5)))
        elif cat == "space":
            s = "".join(rng.choice(SPACES + ["a", "b", ".", "1"]) for _ in range(rng.randint(1, 12)))
        elif cat == "digits":
            s = " ".join(digits(rng) for _ in range(rng.randint(1, 4)))
        elif cat == "punct":
            s = "".join(rng.choice(PUNCT + [" ", "a", "'s", "'ll", "'S"]) for _ in range(rng.randint(1, 10)))
        elif cat == "decomp":
            s = "".join(rng.choice(DECOMPOSED + ["x", " ", "é"]) for _ in range(rng.randint(1, 8)))
        elif cat == "special":
            if not specials:
                continue
            parts = [rng.choice([prose(), rng.choice(SPACES), rng.choice(specials), rng.choice(specials), "x", ""])
                     for _ in range(rng.randint(1, 6))]
            s = "".join(parts)
        elif cat == "newuni":
            s = "".join(rng.choice([new_unicode(rng), new_unicode(rng), " ", "a", "7", "!", " x", prose()])
                        for _ in range(rng.randint(1, 6)))
        elif cat == "random":
            s = "".join(rand_cpt(rng) for _ in range(rng.randint(1, 40)))
        else:
            s = "".join(piece() for _ in range(rng.randint(2, 8)))
        out.append(s)
    return out


# Variants: a base folder's tokenizer.json with some top-level parts
# replaced ("added_tokens_update": entries set by id), to check the parts
# of the format the five real files do not use against HF. The patch is
# written into the fixture (line "P <json>"); the C test applies it the same
# way to the same base file.
ML = "\u2581"
BL_NOREGEX = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}
VARIANTS = {
    "llama2-metaspace-first": ("llama2", {
        "normalizer": None,
        "pre_tokenizer": {"type": "Metaspace", "replacement": ML, "prepend_scheme": "first", "split": False},
        "decoder": {"type": "Metaspace", "replacement": ML, "prepend_scheme": "first", "split": False}}),
    "llama2-metaspace-always-split": ("llama2", {
        "normalizer": {"type": "NFKC"},
        "pre_tokenizer": {"type": "Metaspace", "replacement": ML, "prepend_scheme": "always", "split": True},
        "decoder": {"type": "Sequence", "decoders": [{"type": "Replace", "pattern": {"String": ML}, "content": " "},
                                                    {"type": "ByteFallback"}, {"type": "Fuse"},
                                                    {"type": "Strip", "content": " ", "start": 1, "stop": 0}]}}),
    "llama2-metaspace-never": ("llama2", {
        "normalizer": {"type": "Lowercase"},
        "pre_tokenizer": {"type": "Metaspace", "replacement": ML, "prepend_scheme": "never", "split": False},
        "decoder": {"type": "Metaspace", "replacement": ML, "prepend_scheme": "never", "split": False},
        "post_processor": {"type": "TemplateProcessing",
                           "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                                      {"SpecialToken": {"id": "</s>", "type_id": 0}}],
                           "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}],
                           "special_tokens": {"<s>": {"id": "<s>", "ids": [1], "tokens": ["<s>"]},
                                              "</s>": {"id": "</s>", "ids": [2], "tokens": ["</s>"]}}}}),
    "llama2-added-normalized": ("llama2", {
        "added_tokens_update": [
            {"id": 21558, "content": "hello", "single_word": False, "lstrip": False, "rstrip": False,
             "normalized": True, "special": False},
            {"id": 1, "content": "<s>", "single_word": False, "lstrip": False, "rstrip": True,
             "normalized": True, "special": True},
            {"id": 2, "content": "</s>", "single_word": True, "lstrip": True, "rstrip": False,
             "normalized": False, "special": True}]}),
    "smollm2-normalizers": ("smollm2", {
        "normalizer": {"type": "Sequence", "normalizers": [
            {"type": "NFKC"}, {"type": "Lowercase"}, {"type": "Strip", "strip_left": True, "strip_right": True},
            {"type": "Replace", "pattern": {"String": "  "}, "content": " "},
            {"type": "Replace", "pattern": {"Regex": "[0-9]{4,}"}, "content": "N"},
            {"type": "Prepend", "prepend": "<"}]},
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True}}),
    "smollm2-bert": ("smollm2", {
        "normalizer": {"type": "Sequence", "normalizers": [{"type": "NFD"}, {"type": "StripAccents"}, {"type": "Lowercase"}]},
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [{"type": "BertPreTokenizer"}, BL_NOREGEX]},
        "post_processor": {"type": "BertProcessing", "sep": ["<|im_end|>", 2], "cls": ["<|im_start|>", 1]}}),
    "smollm2-splits": ("smollm2", {
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"String": " "}, "behavior": "MergedWithNext", "invert": False},
            {"type": "Punctuation", "behavior": "Contiguous"},
            {"type": "Digits", "individual_digits": True},
            {"type": "Split", "pattern": {"Regex": "[aeiou]+"}, "behavior": "MergedWithPrevious", "invert": False},
            BL_NOREGEX]}}),
    "smollm2-whitespace": ("smollm2", {
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Whitespace"},
            {"type": "Split", "pattern": {"Regex": "\\p{Lu}+"}, "behavior": "Contiguous", "invert": True},
            {"type": "Split", "pattern": {"Regex": "[xyz]"}, "behavior": "Removed", "invert": False},
            BL_NOREGEX]}}),
    "smollm2-falcon-like": ("smollm2", {
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Punctuation", "behavior": "Contiguous"},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
            {"type": "Digits", "individual_digits": False}]}}),
    "smollm2-after-bytelevel": ("smollm2", {
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            BL_NOREGEX,
            {"type": "Split", "pattern": {"String": "\u0120"}, "behavior": "MergedWithNext", "invert": False},
            {"type": "Split", "pattern": {"Regex": "\\p{L}+"}, "behavior": "Isolated", "invert": False}]}}),
    "smollm2-added": ("smollm2", {
        "normalizer": {"type": "Lowercase"},
        "added_tokens_update": [
            {"id": 1, "content": "<|im_start|>", "single_word": False, "lstrip": True, "rstrip": False,
             "normalized": False, "special": True},
            {"id": 2, "content": "<|im_end|>", "single_word": False, "lstrip": False, "rstrip": True,
             "normalized": False, "special": True},
            {"id": 28120, "content": "hello", "single_word": True, "lstrip": False, "rstrip": False,
             "normalized": True, "special": False},
            {"id": 6693, "content": "world", "single_word": False, "lstrip": True, "rstrip": True,
             "normalized": False, "special": False}]}),
}


def apply_patch(j, patch):
    j = dict(j)
    for k, v in patch.items():
        if k == "added_tokens_update":
            added = [a for a in j["added_tokens"] if a["id"] not in {u["id"] for u in v}]
            j["added_tokens"] = sorted(added + v, key=lambda a: a["id"])
        else:
            j[k] = v
    return j


def folders():
    for name in sorted(os.listdir(SHARED)):
        yield name, os.path.join(SHARED, name)
    yield "smollm2", os.path.join(FIX, "smollm2-hf")


def write_fixture(name, tok, n, patch=None):
    specials = sorted({a.content for a in tok.get_added_tokens_decoder().values()})
    if patch and "added_tokens_update" in patch:
        specials += [u["content"] for u in patch["added_tokens_update"]] * 4
        specials += [" " + u["content"] + "  " for u in patch["added_tokens_update"]] * 2
        specials += ["x" + u["content"] + "y" for u in patch["added_tokens_update"]] * 2
    rng = random.Random(f"{SEED}-{name}")
    rng.shuffle(specials)
    strings = make_strings(rng, specials, n)
    path = os.path.join(FIX, f"parity-{name}.txt")
    n_rt = 0
    with open(path, "wb") as f:
        f.write(f"# {name}: {len(strings)} strings, tokenizers {__import__('tokenizers').__version__}\n".encode())
        if patch is not None:
            f.write(b"P " + json.dumps(patch, ensure_ascii=True).encode() + b"\n")
        for s in strings:
            plain = tok.encode(s, add_special_tokens=False).ids
            full = tok.encode(s, add_special_tokens=True).ids
            # where plain sits inside full: the additions are before and after it
            k = next((k for k in range(len(full) - len(plain) + 1) if full[k:k + len(plain)] == plain), None)
            if k is None:
                raise SystemExit(f"{name}: add_special_tokens=True ids do not contain the plain ids for {s!r}")
            before, after = full[:k], full[k + len(plain):]
            rt = tok.decode(plain, skip_special_tokens=False) == s
            n_rt += rt
            b = s.encode("utf-8")
            f.write(b"S %d\n" % len(b) + b + b"\n")
            f.write(("F " + " ".join(map(str, plain)) + "\n").encode())
            f.write(("T " + " ".join(map(str, before)) + " | " + " ".join(map(str, after)) + "\n").encode())
            f.write(b"R %d\n" % rt)
    print(f"{name}: {len(strings)} strings, round trip in HF {n_rt}/{len(strings)}, {os.path.getsize(path)} bytes")


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    dirs = dict(folders())
    for name, d in dirs.items():
        write_fixture(name, Tokenizer.from_file(os.path.join(d, "tokenizer.json")), n)
    for name, (base, patch) in VARIANTS.items():
        with open(os.path.join(dirs[base], "tokenizer.json"), encoding="utf-8") as f:
            j = apply_patch(json.load(f), patch)
        with tempfile.TemporaryDirectory() as tmp:
            p = os.path.join(tmp, "tokenizer.json")
            with open(p, "w", encoding="utf-8") as f:
                json.dump(j, f)
            write_fixture(name, Tokenizer.from_file(p), max(1000, n // 5), patch)


if __name__ == "__main__":
    main()
