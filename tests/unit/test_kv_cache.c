/* test_kv_cache.c — the KV cache's cell bookkeeping: which cells a batch
 * gets, that a full cache refuses a batch without changing, and that
 * removing positions frees exactly those cells. */
#include <string.h>

#include "check.h"
#include "runtime/kv_cache.h"

int main(void) {
    kv_cache kv;
    int32_t cells[16];
    CHECK(kv_cache_init(&kv, 2, 8, 6, OWL_TYPE_F32) == OWL_OK, "init: %s", owl_last_error());

    /* a prompt of 5 tokens of seq 0 takes the lowest cells */
    CHECK(kv_cache_find(&kv, 5, cells) == OWL_OK, "find 5 of 8");
    for (int i = 0; i < 5; i++) {
        CHECK(cells[i] == i, "cell %d given for row %d", cells[i], i);
        kv_cache_take(&kv, cells[i], i, 0);
    }
    CHECK(kv_cache_seq_pos_max(&kv, 0) == 4, "pos max of seq 0 is %d", kv_cache_seq_pos_max(&kv, 0));
    CHECK(kv_cache_seq_pos_max(&kv, 1) == -1, "an empty sequence has pos max -1");

    /* 4 more do not fit: refused, nothing changes */
    kv_cell before[8];
    memcpy(before, kv.cells, sizeof before);
    CHECK(kv_cache_find(&kv, 4, cells) == OWL_ERR_FULL, "4 tokens into 3 free cells must be refused");
    CHECK(strstr(owl_last_error(), "3 of 8 cells free") != NULL, "message: %s", owl_last_error());
    CHECK(memcmp(before, kv.cells, sizeof before) == 0 && kv.n_used == 5, "a refused batch changed the cache");

    /* seq 1 takes 2 cells; K/V rows of different cells and layers do not overlap */
    CHECK(kv_cache_find(&kv, 2, cells) == OWL_OK, "find 2");
    kv_cache_take(&kv, cells[0], 0, 1);
    kv_cache_take(&kv, cells[1], 1, 1);
    CHECK(kv_cache_seq_pos_max(&kv, 1) == 1, "pos max of seq 1");
    CHECK((char *)kv_cache_k(&kv, 1, 0) - (char *)kv_cache_k(&kv, 0, 0) == 8 * 6 * 4 &&
              (char *)kv_cache_v(&kv, 0, 1) - (char *)kv_cache_v(&kv, 0, 0) == 6 * 4,
          "K/V layout is (layer, cell, row)");

    /* forget positions [2, 4) of seq 0: exactly cells 2 and 3 come free */
    kv_cache_seq_rm(&kv, 0, 2, 4);
    CHECK(kv.n_used == 5, "used after rm: %u", kv.n_used);
    CHECK(kv.cells[2].seq < 0 && kv.cells[3].seq < 0 && kv.cells[4].seq == 0 && kv.cells[5].seq == 1,
          "rm freed the wrong cells");
    CHECK(kv_cache_seq_pos_max(&kv, 0) == 4, "pos 4 of seq 0 stays");
    CHECK(kv_cache_find(&kv, 3, cells) == OWL_OK && cells[0] == 2 && cells[1] == 3 && cells[2] == 7,
          "holes are reused first: got %d %d %d", cells[0], cells[1], cells[2]);

    /* to the end (p1 < 0) of seq 0 from 1 */
    kv_cache_seq_rm(&kv, 0, 1, -1);
    CHECK(kv_cache_seq_pos_max(&kv, 0) == 0 && kv_cache_seq_pos_max(&kv, 1) == 1,
          "rm of seq 0 from pos 1 on: pos max %d, seq 1 %d", kv_cache_seq_pos_max(&kv, 0),
          kv_cache_seq_pos_max(&kv, 1));
    /* every sequence */
    kv_cache_seq_rm(&kv, -1, 0, -1);
    CHECK(kv.n_used == 0 && kv.end == 0, "rm of everything leaves used %u end %u", kv.n_used, kv.end);
    kv_cache_free(&kv);

    /* an f16 cache has 2-byte elements */
    CHECK(kv_cache_init(&kv, 2, 8, 6, OWL_TYPE_F16) == OWL_OK, "f16 init: %s", owl_last_error());
    CHECK((char *)kv_cache_k(&kv, 1, 1) - (char *)kv_cache_k(&kv, 0, 0) == (8 * 6 + 6) * 2, "f16 layout");
    kv_cache_free(&kv);
    CHECK(kv_cache_init(&kv, 2, 8, 6, OWL_TYPE_Q8_0) == OWL_ERR_ARG, "a quantized cache type is refused");

    /* absurd sizes fail cleanly */
    CHECK(kv_cache_init(&kv, 1 << 30, 1u << 31, 1 << 30, OWL_TYPE_F16) == OWL_ERR_NOMEM, "an overflowing cache size must fail");
    CHECK(kv_cache_init(&kv, 0, 8, 6, OWL_TYPE_F32) == OWL_ERR_ARG, "zero layers must fail");
    return check_done();
}
