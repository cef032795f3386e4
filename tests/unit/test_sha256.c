/* test_sha256.c — SHA-256 against the FIPS 180-2 example vectors (empty,
 * "abc", the 56-byte two-block message, a million 'a'), and the same digest
 * whatever pieces the bytes are fed in. */
#include <string.h>

#include "base/sha256.h"
#include "check.h"

static void digest_hex(const void *p, size_t n, char hex[65]) {
    sha256_ctx c;
    uint8_t d[32];
    sha256_init(&c);
    sha256_update(&c, p, n);
    sha256_final(&c, d);
    sha256_hex(d, hex);
}

int main(void) {
    static const struct {
        const char *msg, *hex;
    } vectors[] = {
        {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
        {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
        {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
        {"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
         "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"},
    };
    char hex[65];
    for (size_t i = 0; i < sizeof vectors / sizeof vectors[0]; i++) {
        digest_hex(vectors[i].msg, strlen(vectors[i].msg), hex);
        CHECK(!strcmp(hex, vectors[i].hex), "sha256(\"%s\") = %s, expected %s", vectors[i].msg, hex,
              vectors[i].hex);
    }

    /* a million 'a', fed 1000 bytes at a time */
    char block[1000];
    memset(block, 'a', sizeof block);
    sha256_ctx c;
    uint8_t d[32];
    sha256_init(&c);
    for (int i = 0; i < 1000; i++) sha256_update(&c, block, sizeof block);
    sha256_final(&c, d);
    sha256_hex(d, hex);
    CHECK(!strcmp(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"),
          "sha256 of a million 'a' = %s", hex);

    /* every length 0..200 and every split point: one piece or two give the
     * same digest (covers the padding boundaries at 55, 56 and 64 bytes) */
    uint8_t msg[200];
    for (size_t i = 0; i < sizeof msg; i++) msg[i] = (uint8_t)(i * 37 + 11);
    int bad = 0;
    for (size_t n = 0; n <= sizeof msg; n++) {
        char whole[65];
        digest_hex(msg, n, whole);
        for (size_t k = 0; k <= n; k++) {
            sha256_init(&c);
            sha256_update(&c, msg, k);
            sha256_update(&c, msg + k, n - k);
            sha256_final(&c, d);
            sha256_hex(d, hex);
            if (strcmp(hex, whole)) bad++;
        }
    }
    CHECK(bad == 0, "%d split feeds differ from the one-piece digest", bad);
    return check_done();
}
