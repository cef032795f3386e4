/* test_sha1.c — SHA-1 against the FIPS 180-2 example vectors (empty, "abc",
 * the 56-byte two-block message, a million 'a'), git's blob id of
 * "hello\n" (what the hub lists for a small file), and the same digest
 * whatever pieces the bytes are fed in. */
#include <string.h>

#include "base/sha1.h"
#include "check.h"

static void digest_hex(const void *p, size_t n, char hex[41]) {
    sha1_ctx c;
    uint8_t d[20];
    sha1_init(&c);
    sha1_update(&c, p, n);
    sha1_final(&c, d);
    sha1_hex(d, hex);
}

int main(void) {
    static const struct {
        const char *msg, *hex;
    } vectors[] = {
        {"", "da39a3ee5e6b4b0d3255bfef95601890afd80709"},
        {"abc", "a9993e364706816aba3e25717850c26c9cd0d89d"},
        {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "84983e441c3bd26ebaae4aa1f95129e5e54670f1"},
    };
    char hex[41];
    for (size_t i = 0; i < sizeof vectors / sizeof vectors[0]; i++) {
        digest_hex(vectors[i].msg, strlen(vectors[i].msg), hex);
        CHECK(!strcmp(hex, vectors[i].hex), "sha1(\"%s\") = %s, expected %s", vectors[i].msg, hex, vectors[i].hex);
    }

    char block[1000];
    memset(block, 'a', sizeof block);
    sha1_ctx c;
    uint8_t d[20];
    sha1_init(&c);
    for (int i = 0; i < 1000; i++) sha1_update(&c, block, sizeof block);
    sha1_final(&c, d);
    sha1_hex(d, hex);
    CHECK(!strcmp(hex, "34aa973cd4c4daa4f61eeb2bdbad27316534016f"), "sha1 of a million 'a' = %s", hex);

    /* git hash-object of a file holding "hello\n" */
    static const char blob[] = "blob 6\0hello\n";
    digest_hex(blob, sizeof blob - 1, hex);
    CHECK(!strcmp(hex, "ce013625030ba8dba906f756967f9e9ca394464a"), "git blob id of hello = %s", hex);

    uint8_t msg[200];
    for (size_t i = 0; i < sizeof msg; i++) msg[i] = (uint8_t)(i * 37 + 11);
    int bad = 0;
    for (size_t n = 0; n <= sizeof msg; n++) {
        char whole[41];
        digest_hex(msg, n, whole);
        for (size_t k = 0; k <= n; k++) {
            sha1_init(&c);
            sha1_update(&c, msg, k);
            sha1_update(&c, msg + k, n - k);
            sha1_final(&c, d);
            sha1_hex(d, hex);
            if (strcmp(hex, whole)) bad++;
        }
    }
    CHECK(bad == 0, "%d split feeds differ from the one-piece digest", bad);
    return check_done();
}
