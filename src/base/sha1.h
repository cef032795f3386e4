/* sha1.h — SHA-1 (FIPS 180-4), incremental.
 *
 * Only to check a small file downloaded from the Hugging Face hub against
 * its git blob id (the SHA-1 of "blob <size>\0" and the bytes), which the
 * hub lists for files not kept in LFS. Not for anything that needs
 * collision resistance. */
#ifndef OWL_BASE_SHA1_H
#define OWL_BASE_SHA1_H

#include <stddef.h>
#include <stdint.h>

typedef struct sha1_ctx {
    uint32_t h[5];
    uint64_t n_bytes;
    uint8_t buf[64];
    size_t n_buf;
} sha1_ctx;

void sha1_init(sha1_ctx *c);
void sha1_update(sha1_ctx *c, const void *data, size_t n);
void sha1_final(sha1_ctx *c, uint8_t digest[20]);
/* hex[41]: 40 hex digits and a NUL */
void sha1_hex(const uint8_t digest[20], char hex[41]);

#endif
