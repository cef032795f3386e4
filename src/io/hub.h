/* hub.h — models from the Hugging Face hub: download into a local cache,
 * and find the cached copy again without the network.
 *
 * The cache lives in $OWL_CACHE, or ~/.cache/owl when that is unset:
 *
 *   <cache>/hub/ORG/NAME/<commit sha>/<files as in the repository>
 *   <cache>/hub/ORG/NAME/refs/<revision>     one line: the commit sha
 *
 * hub_pull asks the hub which files a revision holds
 * (GET {endpoint}/api/models/ORG/NAME/revision/REV?blobs=true, whose JSON
 * gives the commit "sha" and "siblings": [{"rfilename", "size",
 * "lfs": {"sha256", "size"}}]), then fetches each file from
 * {endpoint}/ORG/NAME/resolve/<sha>/<file>, following the hub's redirects
 * to its CDN, into <file>.part; an interrupted download continues from
 * the .part with an HTTP Range request. A finished file must have the size
 * the hub lists and its checksum (sha256 for LFS files, else the git blob
 * id), or it is removed; then it is renamed into place. The endpoint is $HF_ENDPOINT (default
 * https://huggingface.co) and $HF_TOKEN, when set, goes out as
 * "Authorization: Bearer". Errors are one line naming the repository and
 * what to do (HF_TOKEN for gated or private repositories). */
#ifndef OWL_IO_HUB_H
#define OWL_IO_HUB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "owl.h"

#define HUB_SIZE_UNKNOWN UINT64_MAX

/* What hub_pull reports while it works; sizes are HUB_SIZE_UNKNOWN when
 * the hub did not list them. */
typedef struct hub_progress {
    const char *file;     /* path inside the repository */
    int index, n_files;   /* this file is index (1-based) of n_files */
    uint64_t file_done;   /* bytes of this file on disk */
    uint64_t file_size;
    uint64_t total_done;  /* bytes of all files on disk */
    uint64_t total_size;
    uint64_t fetched;     /* bytes received from the network in this pull */
    bool skipped;         /* the file was already complete in the cache */
    bool file_finished;   /* the file is complete and checked */
} hub_progress;

typedef void (*hub_progress_fn)(const hub_progress *p, void *user);

typedef struct hub_pull_params {
    const char *repo;      /* "ORG/NAME" */
    const char *revision;  /* branch, tag or commit; NULL: "main" */
    const char *endpoint;  /* NULL: $HF_ENDPOINT, else https://huggingface.co */
    const char *token;     /* NULL: $HF_TOKEN (unset or empty: none) */
    const char *cache_dir; /* NULL: hub_cache_dir() */
    const char *include;   /* fnmatch(3) pattern on the file path; NULL: all */
    int retries;           /* extra attempts per file after a network error
                              (each continues the .part); 0: none */
    hub_progress_fn progress; /* NULL: none; called often, throttle it */
    void *user;
} hub_pull_params;

typedef struct hub_pull_result {
    char sha[41];         /* the commit the revision points at */
    char dir[4096];       /* <cache>/hub/ORG/NAME/<sha> */
    int n_files;          /* files in the snapshot (after include) */
    int n_fetched;        /* of them, fetched now (not already cached) */
    uint64_t bytes_fetched; /* bytes received from the network */
} hub_pull_result;

/* hub_pull_params with every field at its default (retries 3). */
hub_pull_params hub_pull_default_params(void);

/* Downloads a revision of a repository into the cache and records
 * refs/<revision>. On failure the message is one line; finished files and
 * the .part of the file being fetched stay for the next attempt, except a
 * file whose checksum or size was wrong, which is removed. */
owl_status hub_pull(const hub_pull_params *p, hub_pull_result *out);

/* The cache folder: $OWL_CACHE, else $HOME/.cache/owl. */
owl_status hub_cache_dir(char *buf, size_t cap);

/* True when s reads as ORG/NAME or ORG/NAME@REV (hub names: letters,
 * digits, '.', '_', '-'; no "..", no leading '.' or '-'). */
bool hub_is_repo_name(const char *s);

/* Maps ORG/NAME[@REV] (REV default "main") to what owl_model_load should
 * open in the cached snapshot, without the network: the one .gguf file at
 * its top, else the folder when it holds a config.json. The message says
 * to run `owl pull` when the repository is not cached, and lists the
 * files when there are several .gguf to choose from. */
owl_status hub_resolve_cached(const char *name, char *path, size_t cap);

#endif
