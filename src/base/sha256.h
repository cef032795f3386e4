/* sha256.h — SHA-256 (FIPS 180-4), incremental.
 *
 * Used to check files downloaded from the Hugging Face hub against the
 * sha256 the hub lists for LFS files. Feed bytes with sha256_update in any
 * pieces; sha256_final gives the 32-byte digest, sha256_hex its 64
 * lower-case hex digits. */
#ifndef OWL_BASE_SHA256_H
#define OWL_BASE_SHA256_H

#include <stddef.h>
#include <stdint.h>

typedef struct sha256_ctx {
    uint32_t h[8];     /* chaining state */
    uint64_t n_bytes;  /* bytes fed so far */
    uint8_t buf[64];   /* the block being filled */
    size_t n_buf;      /* bytes in buf */
} sha256_ctx;

void sha256_init(sha256_ctx *c);
void sha256_update(sha256_ctx *c, const void *data, size_t n);
void sha256_final(sha256_ctx *c, uint8_t digest[32]);
/* hex[65]: 64 hex digits and a NUL */
void sha256_hex(const uint8_t digest[32], char hex[65]);

#endif
