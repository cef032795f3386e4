/* vocab.h — the inside of struct tokenizer, shared by the files of
 * tokenizer/: the vocabulary (text, score, attributes of each token), the
 * lookups built at load, the special ids and the flags read from GGUF.
 *
 * Not part of the public API; other modules use tokenizer.h. */
#ifndef OWL_TOKENIZER_VOCAB_H
#define OWL_TOKENIZER_VOCAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pretokenize.h"
#include "strmap.h"
#include "tokenizer.h"

/* Token attributes (bits). GGUF token types map to one of the first six. */
enum {
    TOK_NORMAL = 1 << 0,       /* type 1 */
    TOK_UNKNOWN = 1 << 1,      /* type 2: <unk> */
    TOK_CONTROL = 1 << 2,      /* type 3: <s>, <|im_end|>; never from plain text */
    TOK_USER_DEFINED = 1 << 3, /* type 4: added tokens, always matched whole */
    TOK_UNUSED = 1 << 4,       /* type 5 */
    TOK_BYTE = 1 << 5,         /* type 6: SentencePiece <0xXX> */
    TOK_LSTRIP = 1 << 6,       /* eats the spaces before it */
    TOK_RSTRIP = 1 << 7,       /* eats the spaces after it */
    TOK_NOMERGE = 1 << 8,      /* SPM from merges: no merge forms this piece */
    TOK_SINGLE_WORD = 1 << 9,  /* tokenizer.json: matched only between non-word characters */
    TOK_NORMALIZED = 1 << 10,  /* tokenizer.json: matched in the normalized text */
    TOK_ADDED = 1 << 11,       /* tokenizer.json: an added token (only these are split out) */
};

typedef enum tok_kind {
    TOK_KIND_BPE, /* "gpt2": byte-level BPE with a regex pre-tokenizer */
    TOK_KIND_SPM, /* "llama": SentencePiece BPE with byte fallback */
    TOK_KIND_WPM, /* "bert": WordPiece */
} tok_kind;

typedef struct tok_entry {
    uint32_t off, len; /* text in tokenizer.text (NUL-terminated there) */
    float score;
    uint16_t attr;
} tok_entry;

#define TOK_MAX_EOG 16
#define TOK_MAX_POST 8

struct tokenizer {
    tok_kind kind;
    pretok_type pre;
    char pre_name[32];
    int32_t n_vocab;
    tok_entry *tokens; /* (n_vocab) */
    char *text;        /* all token texts, each NUL-terminated */
    size_t text_used, text_cap;
    strmap text_to_id; /* token text -> id (a later duplicate wins) */

    /* decoded bytes of each token (byte-level mapping undone, ▁ -> space,
     * <0xXX> -> the byte); control tokens: their text */
    char *piece;          /* pool */
    uint32_t *piece_off;  /* (n_vocab + 1) */
    size_t max_piece_len;

    /* BPE: (left id << 32 | right id) -> (rank, merged id) */
    pairmap merges;
    int32_t byte_id[256]; /* BPE: id of the byte's mapped character;
                             SPM: id of <0xXX> (or of the byte itself); -1 */
    bool ignore_merges;   /* a whole word that is a token is taken as is */
    pretok *pretok;

    /* special tokens split out before the model runs, longest first */
    int32_t *special; /* ids with CONTROL, USER_DEFINED or UNKNOWN */
    size_t n_special;
    strmap special_map;      /* special text -> index in special[] */
    uint32_t *special_lens;  /* the distinct lengths of special texts */
    size_t n_special_lens;
    bool special_first[256]; /* first bytes of the special texts */

    size_t max_token_len;

    bool add_bos, add_eos, add_space_prefix, clean_spaces;
    bool strip_lead_space; /* decoding removes one leading space (tokenizer_decode) */

    /* tokenizer.json's pipeline (hf set): added tokens matched leftmost-
     * longest (non-normalized ones in the raw text, then normalized ones in
     * each normalized piece), the normalizer, then the pre-tokenizer:
     * byte-level BPE: prefix_space (ByteLevel add_prefix_space) and the
     * regex steps of pretok; SPM: Metaspace (spaces -> "▁", "▁" in front
     * per meta_prepend, spm_split) or the normalizer's own "▁" */
    bool hf;
    struct normalizer *norm; /* NULL: none */
    bool prefix_space;
    enum { META_NONE, META_NEVER, META_FIRST, META_ALWAYS } meta_prepend;
    bool spm_split;
    /* added tokens with normalized set, by their normalized text (what the
     * normalized pass of partition looks for) */
    char *nadd_text;
    strmap nadd_map;
    uint32_t *nadd_lens; /* distinct lengths, longest first */
    size_t n_nadd_lens;
    bool nadd_first[256];
    struct nadd_entry {
        int32_t id;
        uint32_t off, len; /* the normalized text in nadd_text */
    } *nadd; /* by id; tokenizer_decode gives this text for them, as tokenizers does */
    size_t n_nadd;
    /* tokenizer.json's post-processor: with add_special, these ids go
     * before and after the text's (instead of add_bos/add_eos) */
    bool has_post;
    int n_post_before, n_post_after;
    owl_token post_before[TOK_MAX_POST], post_after[TOK_MAX_POST];
    owl_token bos, eos, eot, eom, unk, sep, pad;
    owl_token eog[TOK_MAX_EOG];
    int n_eog;

    char *chat_template; /* NUL-terminated copy, or NULL */
};

/* Loading, for the loaders: vocab_alloc (n tokens, text_bytes of texts
 * with their NULs), vocab_set for every id once, merges, the special ids
 * and flags, then vocab_finish builds the rest. */
owl_status vocab_alloc(tokenizer *t, int32_t n, size_t text_bytes);
void vocab_set(tokenizer *t, int32_t id, const char *s, size_t len, float score, uint16_t attr);
/* BPE: merge of texts a and b at rank; ignored when a part or the result
 * is no token. buf/cap: scratch the caller frees. */
owl_status vocab_add_merge(tokenizer *t, const char *a, size_t la, const char *b, size_t lb, int32_t rank,
                           char **buf, size_t *cap);
void vocab_add_eog(tokenizer *t, owl_token id);
/* name: the model's name (per-model token attributes). */
owl_status vocab_finish(tokenizer *t, const char *name, size_t name_len);

static inline const char *tok_text(const tokenizer *t, int32_t id) {
    return t->text + t->tokens[id].off;
}

/* The models: append the ids of one fragment of plain text to out.
 * Each returns OWL_OK or OWL_ERR_NOMEM. */
typedef struct tok_ids {
    owl_token *v;
    size_t n, cap;
} tok_ids;
owl_status tok_ids_push(tok_ids *ids, owl_token id);

owl_status bpe_encode(const tokenizer *t, const char *text, size_t len, tok_ids *out);
owl_status spm_encode(const tokenizer *t, const char *text, size_t len, bool space_prefix, tok_ids *out);
owl_status wpm_encode(const tokenizer *t, const char *text, size_t len, tok_ids *out);

/* Byte-level BPE's byte <-> character mapping (GPT-2's bytes_to_unicode):
 * the code point that stands for byte b, and the byte for a code point
 * (-1 when the code point stands for no byte). */
uint32_t bpe_byte_to_cpt(uint8_t b);
int bpe_cpt_to_byte(uint32_t cpt);

/* UTF-8 helpers. */
size_t utf8_encode(uint32_t cpt, char out[4]);
/* Length of the sequence a lead byte starts (1 for invalid leads), the
 * same rule SentencePiece and llama.cpp use to cut text into characters. */
static inline size_t utf8_len_lead(unsigned char c) {
    static const uint8_t lut[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
    return lut[c >> 4];
}
/* Decodes one well-formed UTF-8 character at s[0..n): its length, or 0 if
 * the bytes there are not a complete well-formed character. */
size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cpt);
/* A malloc'd copy of text with each byte that starts no well-formed
 * character replaced by U+FFFD; NULL with *same set when text is valid
 * (NULL without *same: out of memory). */
char *utf8_sanitize(const char *text, size_t len, size_t *out_len, bool *same);

#endif
