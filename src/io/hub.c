/* hub.c — downloads from the Hugging Face hub into owl's cache (libcurl,
 * jansson), and the offline lookup of a cached repository.
 *
 * The protocol, as the hub and huggingface_hub speak it:
 *   GET {endpoint}/api/models/ORG/NAME/revision/REV?blobs=true
 *     200 {"sha": "<40 hex>", "siblings": [{"rfilename": "a/b.gguf",
 *          "size": N, "blobId": "<40 hex>",
 *          "lfs": {"sha256": "<64 hex>", "size": N}}, ...]}
 *     An LFS file is checked against lfs.sha256; another file against
 *     blobId, its git blob id: SHA-1 of "blob <size>\0" and the bytes.
 *     401/403 gated or private, 404 no such repository or revision; the
 *     hub says which in the X-Error-Code header (RepoNotFound,
 *     RevisionNotFound, GatedRepo, EntryNotFound).
 *   GET {endpoint}/ORG/NAME/resolve/<sha>/<file>
 *     200 with the bytes, or a 302 to a CDN (LFS files); with
 *     "Range: bytes=K-" a 206 from byte K (a 200 means start again).
 * Everything the server sends is checked before it is used: the sha is
 * 40 hex digits, a file path is relative with no "." or ".." part, sizes
 * and checksums have their shapes. */
#include "io/hub.h"

#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "base/mem.h"
#include "base/sha1.h"
#include "base/sha256.h"
#include "base/status.h"

#define HUB_PATH 4096
#define HUB_API_MAX ((size_t)64 << 20) /* the largest API answer accepted */

/* ---- names and paths -------------------------------------------------- */

static bool name_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
}

/* one part of ORG/NAME: 1..96 name characters, no leading '.' or '-', no ".." */
static bool valid_name_part(const char *s, size_t n) {
    if (n == 0 || n > 96 || s[0] == '.' || s[0] == '-') return false;
    for (size_t i = 0; i < n; i++) {
        if (!name_char(s[i])) return false;
        if (i + 1 < n && s[i] == '.' && s[i + 1] == '.') return false;
    }
    return true;
}

/* a branch, tag or commit: name characters and '/', no empty, "." or ".." part */
static bool valid_revision(const char *s) {
    size_t n = strlen(s);
    if (n == 0 || n > 255) return false;
    for (size_t i = 0; i < n; i++)
        if (!name_char(s[i]) && s[i] != '/') return false;
    for (const char *p = s;;) {
        const char *e = strchr(p, '/');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == 0 || (len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.')) return false;
        if (!e) break;
        p = e + 1;
    }
    return true;
}

static bool is_hex(const char *s, size_t n) {
    if (strlen(s) != n) return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) return false;
    return true;
}

/* A repository file path from the server: relative, printable, no "",
 * "." or ".." component, no backslash, not over 1024 bytes. */
static bool valid_repo_path(const char *s) {
    size_t n = strlen(s);
    if (n == 0 || n > 1024 || s[0] == '/') return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f || s[i] == '\\') return false;
    for (const char *p = s;;) {
        const char *e = strchr(p, '/');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == 0 || (len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.')) return false;
        if (!e) break;
        p = e + 1;
    }
    return true;
}

bool hub_is_repo_name(const char *s) {
    const char *slash = strchr(s, '/');
    if (!slash) return false;
    const char *at = strchr(slash, '@');
    size_t name_len = at ? (size_t)(at - slash - 1) : strlen(slash + 1);
    if (memchr(slash + 1, '/', name_len)) return false;
    if (!valid_name_part(s, (size_t)(slash - s)) || !valid_name_part(slash + 1, name_len)) return false;
    return !at || valid_revision(at + 1);
}

/* snprintf into a path buffer; false (with a message) when it does not fit */
static bool path_fmt(char *buf, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static bool path_fmt(char *buf, size_t cap, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, cap, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= cap) {
        owl_err(OWL_ERR_ARG, "path too long: %.80s...", buf);
        return false;
    }
    return true;
}

/* mkdir -p of the folder path names (the whole path) */
static owl_status mkdir_p(const char *path) {
    char tmp[HUB_PATH];
    if (!path_fmt(tmp, sizeof tmp, "%s", path)) return OWL_ERR_ARG;
    for (char *p = tmp + 1;; p++) {
        if (*p == '/' || *p == 0) {
            char c = *p;
            *p = 0;
            if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
                return owl_err(OWL_ERR_IO, "cannot create folder %s: %s", tmp, strerror(errno));
            *p = c;
            if (!c) break;
        }
    }
    return OWL_OK;
}

/* a revision as one file name under refs/: '/' becomes "%2F" */
static bool ref_file(char *buf, size_t cap, const char *repo_dir, const char *rev) {
    char esc[800];
    size_t k = 0;
    for (const char *p = rev; *p; p++) {
        if (k + 4 > sizeof esc) return owl_err(OWL_ERR_ARG, "revision too long"), false;
        if (*p == '/') {
            memcpy(esc + k, "%2F", 3);
            k += 3;
        } else {
            esc[k++] = *p;
        }
    }
    esc[k] = 0;
    return path_fmt(buf, cap, "%s/refs/%s", repo_dir, esc);
}

owl_status hub_cache_dir(char *buf, size_t cap) {
    const char *c = getenv("OWL_CACHE");
    if (c && *c) return path_fmt(buf, cap, "%s", c) ? OWL_OK : OWL_ERR_ARG;
    const char *home = getenv("HOME");
    if (!home || !*home)
        return owl_err(OWL_ERR_ARG, "neither OWL_CACHE nor HOME is set: no place for the model cache");
    return path_fmt(buf, cap, "%s/.cache/owl", home) ? OWL_OK : OWL_ERR_ARG;
}

/* percent-encodes s onto dst (every byte but unreserved ones, and '/'
 * unless slash is false) */
static bool url_escape(char *dst, size_t cap, const char *s, bool keep_slash) {
    static const char hex[] = "0123456789ABCDEF";
    size_t k = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        bool plain = name_char((char)*p) || *p == '~' || (keep_slash && *p == '/');
        if (k + (plain ? 1 : 3) >= cap) return false;
        if (plain) {
            dst[k++] = (char)*p;
        } else {
            dst[k++] = '%';
            dst[k++] = hex[*p >> 4];
            dst[k++] = hex[*p & 15];
        }
    }
    dst[k] = 0;
    return true;
}

/* ---- HTTP --------------------------------------------------------------- */

typedef struct http {
    CURL *curl;
    struct curl_slist *headers;
    char errbuf[CURL_ERROR_SIZE];
    char x_error[64];         /* X-Error-Code of the last response */
    const char *endpoint;
    const char *repo, *revision;
    bool has_token;
} http;

static size_t on_header(char *line, size_t size, size_t n, void *user) {
    http *h = user;
    size_t len = size * n;
    if (len >= 5 && !strncmp(line, "HTTP/", 5)) h->x_error[0] = 0; /* a new response */
    static const char key[] = "x-error-code:";
    if (len > sizeof key - 1 && !strncasecmp(line, key, sizeof key - 1)) {
        const char *v = line + sizeof key - 1;
        size_t vn = len - (sizeof key - 1);
        while (vn && (*v == ' ' || *v == '\t')) v++, vn--;
        while (vn && (v[vn - 1] == '\r' || v[vn - 1] == '\n' || v[vn - 1] == ' ')) vn--;
        if (vn >= sizeof h->x_error) vn = sizeof h->x_error - 1;
        for (size_t i = 0; i < vn; i++) h->x_error[i] = name_char(v[i]) ? v[i] : '?';
        h->x_error[vn] = 0;
    }
    return len;
}

static owl_status http_init(http *h, const char *endpoint, const char *token) {
    memset(h, 0, sizeof *h);
    h->endpoint = endpoint;
    h->curl = curl_easy_init();
    if (!h->curl) return owl_err(OWL_ERR_NOMEM, "cannot start libcurl");
    if (token && *token) {
        char auth[4096];
        if (!path_fmt(auth, sizeof auth, "Authorization: Bearer %s", token)) return OWL_ERR_ARG;
        for (const char *p = token; *p; p++)
            if ((unsigned char)*p < 0x21 || *p == 0x7f)
                return owl_err(OWL_ERR_ARG, "HF_TOKEN holds a space or control character");
        h->headers = curl_slist_append(NULL, auth);
        if (!h->headers) return owl_err(OWL_ERR_NOMEM, "out of memory");
        h->has_token = true;
    }
    return OWL_OK;
}

static void http_free(http *h) {
    if (h->curl) curl_easy_cleanup(h->curl);
    curl_slist_free_all(h->headers);
    memset(h, 0, sizeof *h);
}

/* options shared by every request; the caller adds URL, writer, range */
static void http_reset(http *h) {
    CURL *c = h->curl;
    curl_easy_reset(c);
    h->errbuf[0] = 0;
    h->x_error[0] = 0;
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, h->errbuf);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "owl/0.1");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
    /* the token goes to the hub only: libcurl drops a custom Authorization
     * header when a redirect leads to another host (the CDN) */
    if (h->headers) curl_easy_setopt(c, CURLOPT_HTTPHEADER, h->headers);
    curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, h);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L); /* a stall of a minute fails */
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
}

/* Turns a failed transfer into one line. what: "" for the file list,
 * else the file being fetched. */
static owl_status http_fail(http *h, CURLcode rc, const char *what) {
    long code = 0;
    curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &code);
    const char *x = h->x_error;
    const char *sep = *what ? ": " : "";
    if (rc == CURLE_HTTP_RETURNED_ERROR && (code == 401 || code == 403)) {
        if (!strcmp(x, "GatedRepo"))
            return owl_err(OWL_ERR_IO,
                           "%s%s%s: the repository is gated (HTTP %ld): accept its terms on %s/%s and set "
                           "HF_TOKEN to a token of that account",
                           h->repo, sep, what, code, h->endpoint, h->repo);
        if (h->has_token)
            return owl_err(OWL_ERR_IO,
                           "%s%s%s: access denied with the HF_TOKEN given (HTTP %ld): the token is wrong or "
                           "cannot read this repository, or it does not exist",
                           h->repo, sep, what, code);
        return owl_err(OWL_ERR_IO,
                       "%s%s%s: access denied (HTTP %ld): the repository is private or gated, or does not "
                       "exist; set HF_TOKEN to a token that can read it",
                       h->repo, sep, what, code);
    }
    if (rc == CURLE_HTTP_RETURNED_ERROR && code == 404) {
        if (!strcmp(x, "RevisionNotFound"))
            return owl_err(OWL_ERR_IO, "%s: no revision '%s' (HTTP 404)", h->repo, h->revision);
        if (*what || !strcmp(x, "EntryNotFound"))
            return owl_err(OWL_ERR_IO, "%s%s%s: not found on the hub (HTTP 404)", h->repo, sep, what);
        return owl_err(OWL_ERR_IO, "%s: no such repository or revision '%s' on %s (HTTP 404)", h->repo,
                       h->revision, h->endpoint);
    }
    if (rc == CURLE_HTTP_RETURNED_ERROR)
        return owl_err(OWL_ERR_IO, "%s%s%s: the hub answered HTTP %ld", h->repo, sep, what, code);
    return owl_err(OWL_ERR_IO, "%s%s%s: cannot download from %s: %s%s", h->repo, sep, what, h->endpoint,
                   h->errbuf[0] ? h->errbuf : curl_easy_strerror(rc),
                   *what ? " (owl pull again continues the file)" : "");
}

typedef struct membuf {
    char *data;
    size_t len, cap;
    bool too_big;
} membuf;

static size_t on_mem(char *p, size_t size, size_t n, void *user) {
    membuf *b = user;
    size_t len = size * n;
    if (len > HUB_API_MAX - b->len) {
        b->too_big = true;
        return 0;
    }
    if (b->len + len + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + len + 1) cap *= 2;
        char *d = realloc(b->data, cap);
        if (!d) return 0;
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, len);
    b->len += len;
    b->data[b->len] = 0;
    return len;
}

/* ---- the file list ------------------------------------------------------ */

typedef struct hub_file {
    char *name;        /* path inside the repository */
    uint64_t size;     /* HUB_SIZE_UNKNOWN when not listed */
    bool lfs;          /* sha256 below is the content's */
    char sha256[65];
    bool has_blob;     /* not LFS, size known: blob_id is the git blob id */
    char blob_id[41];
} hub_file;

typedef struct file_list {
    hub_file *v;
    int n;
} file_list;

static void file_list_free(file_list *l) {
    for (int i = 0; i < l->n; i++) free(l->v[i].name);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

static bool json_u64(json_t *v, uint64_t *out) {
    if (!json_is_integer(v) || json_integer_value(v) < 0) return false;
    *out = (uint64_t)json_integer_value(v);
    return true;
}

/* Parses the model-info JSON into sha and the files matching include. */
static owl_status parse_info(const membuf *b, const char *repo, const char *include, char sha[41],
                             file_list *out) {
    json_error_t jerr;
    json_t *root = json_loadb(b->data ? b->data : "", b->len, 0, &jerr);
    if (!root) return owl_err(OWL_ERR_FORMAT, "%s: the hub's file list is not JSON: %s", repo, jerr.text);
    owl_status st = OWL_OK;
    json_t *jsha = json_object_get(root, "sha");
    json_t *sib = json_object_get(root, "siblings");
    if (!json_is_string(jsha) || !is_hex(json_string_value(jsha), 40)) {
        st = owl_err(OWL_ERR_FORMAT, "%s: the hub's answer has no commit sha (40 hex digits)", repo);
        goto out;
    }
    if (!json_is_array(sib)) {
        st = owl_err(OWL_ERR_FORMAT, "%s: the hub's answer has no \"siblings\" list of files", repo);
        goto out;
    }
    memcpy(sha, json_string_value(jsha), 41);
    size_t n = json_array_size(sib);
    if (n > 1000000) {
        st = owl_err(OWL_ERR_FORMAT, "%s: the hub lists %zu files", repo, n);
        goto out;
    }
    out->v = owl_xcalloc(n ? n : 1, sizeof *out->v);
    if (!out->v) {
        st = OWL_ERR_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *s = json_array_get(sib, i);
        json_t *name = json_object_get(s, "rfilename");
        if (!json_is_string(name) || !valid_repo_path(json_string_value(name))) {
            char shown[128] = ""; /* the path with control bytes as '?': the message stays one line */
            if (json_is_string(name)) {
                const char *v = json_string_value(name);
                size_t k = 0;
                for (; v[k] && k + 1 < sizeof shown; k++)
                    shown[k] = (unsigned char)v[k] < 0x20 || v[k] == 0x7f ? '?' : v[k];
                shown[k] = 0;
            }
            st = owl_err(OWL_ERR_FORMAT, "%s: file %zu of the hub's list has a missing or unsafe path%s%s", repo, i,
                         json_is_string(name) ? ": " : "", shown);
            goto out;
        }
        const char *fname = json_string_value(name);
        if (include && fnmatch(include, fname, 0) != 0) continue;
        hub_file *f = &out->v[out->n];
        f->size = HUB_SIZE_UNKNOWN;
        json_t *size = json_object_get(s, "size");
        if (size && !json_u64(size, &f->size)) {
            st = owl_err(OWL_ERR_FORMAT, "%s: %s: the hub lists a bad size", repo, fname);
            goto out;
        }
        json_t *lfs = json_object_get(s, "lfs");
        if (json_is_object(lfs)) {
            json_t *h = json_object_get(lfs, "sha256");
            uint64_t lsize;
            if (!json_is_string(h) || !is_hex(json_string_value(h), 64) ||
                !json_u64(json_object_get(lfs, "size"), &lsize) ||
                (f->size != HUB_SIZE_UNKNOWN && f->size != lsize)) {
                st = owl_err(OWL_ERR_FORMAT, "%s: %s: the hub's LFS entry has no valid sha256 and size", repo,
                             fname);
                goto out;
            }
            f->lfs = true;
            f->size = lsize;
            memcpy(f->sha256, json_string_value(h), 65);
        } else if (f->size != HUB_SIZE_UNKNOWN && json_object_get(s, "blobId")) {
            json_t *b = json_object_get(s, "blobId");
            if (!json_is_string(b) || !is_hex(json_string_value(b), 40)) {
                st = owl_err(OWL_ERR_FORMAT, "%s: %s: the hub lists a bad blobId", repo, fname);
                goto out;
            }
            f->has_blob = true;
            memcpy(f->blob_id, json_string_value(b), 41);
        }
        f->name = owl_xstrndup(fname, strlen(fname));
        if (!f->name) {
            st = OWL_ERR_NOMEM;
            goto out;
        }
        out->n++;
    }
out:
    json_decref(root);
    return st;
}

/* ---- one file ----------------------------------------------------------- */

typedef struct download {
    http *h;
    int fd;
    const char *part_path;
    uint64_t offset;      /* bytes in the .part when this transfer began */
    uint64_t written;     /* bytes in the .part now */
    uint64_t received;    /* bytes from the network, all attempts */
    bool started;         /* the first body byte of this transfer was seen */
    bool hashing;         /* LFS: sha256 of the bytes */
    bool hashing_blob;    /* otherwise: git blob id, SHA-1 of a header and the bytes */
    sha1_ctx sha1;
    uint64_t blob_size;   /* the size in that header */
    uint64_t limit;       /* the listed size: a server sending more is cut off */
    bool too_long;
    sha256_ctx sha;
    int write_errno;
    hub_progress prog;
    uint64_t total_before; /* bytes of the files done before this one */
    hub_progress_fn cb;
    void *user;
} download;

/* starts the file's hashes over (a transfer from byte 0) */
static void hash_reset(download *d) {
    sha256_init(&d->sha);
    sha1_init(&d->sha1);
    if (d->hashing_blob) {
        char head[40];
        int k = snprintf(head, sizeof head, "blob %llu", (unsigned long long)d->blob_size);
        sha1_update(&d->sha1, head, (size_t)k + 1); /* with its NUL */
    }
}

static void hash_update(download *d, const void *p, size_t n) {
    if (d->hashing) sha256_update(&d->sha, p, n);
    if (d->hashing_blob) sha1_update(&d->sha1, p, n);
}

static size_t on_file(char *p, size_t size, size_t n, void *user) {
    download *d = user;
    size_t len = size * n;
    if (!d->started) {
        d->started = true;
        long code = 0;
        curl_easy_getinfo(d->h->curl, CURLINFO_RESPONSE_CODE, &code);
        if (d->offset > 0 && code != 206) { /* the server ignored the range: start over */
            if (ftruncate(d->fd, 0) != 0 || lseek(d->fd, 0, SEEK_SET) != 0) {
                d->write_errno = errno;
                return 0;
            }
            d->offset = d->written = 0;
            hash_reset(d);
        }
    }
    if (d->limit != HUB_SIZE_UNKNOWN && len > d->limit - d->written) {
        d->too_long = true;
        return 0;
    }
    for (size_t k = 0; k < len;) {
        ssize_t w = write(d->fd, p + k, len - k);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            d->write_errno = w < 0 ? errno : ENOSPC;
            return 0;
        }
        k += (size_t)w;
    }
    hash_update(d, p, len);
    d->written += len;
    d->received += len;
    if (d->cb) {
        d->prog.file_done = d->written;
        d->prog.total_done = d->total_before + d->written;
        d->prog.fetched = d->received;
        d->cb(&d->prog, d->user);
    }
    return len;
}

/* feeds the first n bytes of fd to the hashes */
static owl_status hash_prefix(int fd, uint64_t n, download *d, const char *path) {
    enum { BUF = 1 << 16 };
    if (lseek(fd, 0, SEEK_SET) != 0) return owl_err(OWL_ERR_IO, "cannot seek %s: %s", path, strerror(errno));
    uint8_t *buf = owl_xmalloc(BUF);
    if (!buf) return OWL_ERR_NOMEM;
    owl_status st = OWL_OK;
    while (n) {
        size_t want = n < BUF ? (size_t)n : BUF;
        ssize_t r = read(fd, buf, want);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            st = owl_err(OWL_ERR_IO, "cannot read %s: %s", path, r < 0 ? strerror(errno) : "cut short");
            break;
        }
        hash_update(d, buf, (size_t)r);
        n -= (uint64_t)r;
    }
    free(buf);
    return st;
}

static bool transient(CURLcode rc, long code) {
    switch (rc) {
    case CURLE_PARTIAL_FILE:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_COULDNT_CONNECT:
        return true;
    case CURLE_HTTP_RETURNED_ERROR:
        return code >= 500 || code == 408 || code == 429;
    default:
        return false;
    }
}

static void pause_ms(long ms) {
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&t, &t) != 0 && errno == EINTR) {
    }
}

static owl_status fetch_file(http *h, const hub_pull_params *p, const char *sha, const char *dir,
                             const hub_file *f, download *d) {
    char path[HUB_PATH], part[HUB_PATH], url[HUB_PATH * 2], esc[HUB_PATH];
    if (!path_fmt(path, sizeof path, "%s/%s", dir, f->name)) return OWL_ERR_ARG;
    if (!path_fmt(part, sizeof part, "%s.part", path)) return OWL_ERR_ARG;
    if (!url_escape(esc, sizeof esc, f->name, true)) return owl_err(OWL_ERR_ARG, "path too long: %s", f->name);
    if (!path_fmt(url, sizeof url, "%s/%s/resolve/%s/%s", h->endpoint, p->repo, sha, esc)) return OWL_ERR_ARG;
    char *slash = strrchr(path, '/');
    *slash = 0;
    owl_status st = mkdir_p(path);
    *slash = '/';
    if (st != OWL_OK) return st;

    d->fd = open(part, O_RDWR | O_CREAT, 0644);
    if (d->fd < 0) return owl_err(OWL_ERR_IO, "cannot create %s: %s", part, strerror(errno));
    d->part_path = part;
    /* one writer per .part: a second owl pull of the same files stops here */
    struct flock lk = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
    if (fcntl(d->fd, F_SETLK, &lk) != 0) {
        st = errno == EACCES || errno == EAGAIN
                 ? owl_err(OWL_ERR_IO, "%s: %s: another owl pull is fetching this file right now", p->repo, f->name)
                 : owl_err(OWL_ERR_IO, "cannot lock %s: %s", part, strerror(errno));
        goto out;
    }
    struct stat sb;
    if (fstat(d->fd, &sb) != 0) {
        st = owl_err(OWL_ERR_IO, "cannot stat %s: %s", part, strerror(errno));
        goto out;
    }
    d->written = (uint64_t)sb.st_size;
    if (f->size != HUB_SIZE_UNKNOWN && d->written > f->size) { /* not ours to continue */
        if (ftruncate(d->fd, 0) != 0) {
            st = owl_err(OWL_ERR_IO, "cannot truncate %s: %s", part, strerror(errno));
            goto out;
        }
        d->written = 0;
    }
    d->hashing = f->lfs;
    d->hashing_blob = f->has_blob;
    d->blob_size = f->size;
    d->limit = f->size;
    d->too_long = false;
    hash_reset(d);
    if ((d->hashing || d->hashing_blob) && d->written && (st = hash_prefix(d->fd, d->written, d, part)) != OWL_OK)
        goto out;

    for (int attempt = 0;; attempt++) {
        if (f->size != HUB_SIZE_UNKNOWN && d->written == f->size) break; /* the .part is whole */
        if (lseek(d->fd, (off_t)d->written, SEEK_SET) < 0) {
            st = owl_err(OWL_ERR_IO, "cannot seek %s: %s", part, strerror(errno));
            goto out;
        }
        http_reset(h);
        d->offset = d->written;
        d->started = false;
        d->write_errno = 0;
        char range[48];
        snprintf(range, sizeof range, "%llu-", (unsigned long long)d->offset);
        curl_easy_setopt(h->curl, CURLOPT_URL, url);
        if (d->offset) curl_easy_setopt(h->curl, CURLOPT_RANGE, range);
        curl_easy_setopt(h->curl, CURLOPT_WRITEFUNCTION, on_file);
        curl_easy_setopt(h->curl, CURLOPT_WRITEDATA, d);
        CURLcode rc = curl_easy_perform(h->curl);
        long code = 0;
        curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &code);
        if (d->write_errno) {
            st = d->write_errno == ENOSPC || d->write_errno == EDQUOT
                     ? owl_err(OWL_ERR_IO, "%s: %s: the disk is full (%s); free some space and run owl pull again",
                               p->repo, f->name, part)
                     : owl_err(OWL_ERR_IO, "%s: cannot write %s: %s", p->repo, part, strerror(d->write_errno));
            goto out;
        }
        if (d->too_long) {
            unlink(part);
            st = owl_err(OWL_ERR_FORMAT, "%s: %s: the server sent more than the %llu bytes the hub lists; the "
                         "download was removed", p->repo, f->name, (unsigned long long)f->size);
            goto out;
        }
        if (rc == CURLE_OK) {
            if (!d->started && d->offset > 0 && code != 206) { /* empty 200: the file is empty */
                if (ftruncate(d->fd, 0) != 0) {
                    st = owl_err(OWL_ERR_IO, "cannot truncate %s: %s", part, strerror(errno));
                    goto out;
                }
                d->written = 0;
                hash_reset(d);
            }
            break;
        }
        if (rc == CURLE_HTTP_RETURNED_ERROR && code == 416 && d->offset > 0) { /* range past the end */
            if (ftruncate(d->fd, 0) != 0) {
                st = owl_err(OWL_ERR_IO, "cannot truncate %s: %s", part, strerror(errno));
                goto out;
            }
            d->written = 0;
            hash_reset(d);
            if (attempt < p->retries) continue;
        }
        if (attempt < p->retries && transient(rc, code)) {
            pause_ms(200L << (attempt < 4 ? attempt : 4));
            continue;
        }
        st = http_fail(h, rc, f->name);
        goto out;
    }

    if (f->size != HUB_SIZE_UNKNOWN && d->written != f->size) {
        unlink(part);
        st = owl_err(OWL_ERR_FORMAT, "%s: %s: received %llu bytes, the hub lists %llu; the download was removed",
                     p->repo, f->name, (unsigned long long)d->written, (unsigned long long)f->size);
        goto out;
    }
    if (f->lfs) {
        uint8_t dg[32];
        char hex[65];
        sha256_final(&d->sha, dg);
        sha256_hex(dg, hex);
        if (strcmp(hex, f->sha256)) {
            unlink(part);
            st = owl_err(OWL_ERR_FORMAT,
                         "%s: %s: checksum mismatch (sha256 %.12s..., the hub lists %.12s...): the download was "
                         "corrupt and was removed; run owl pull again",
                         p->repo, f->name, hex, f->sha256);
            goto out;
        }
    }
    if (f->has_blob) {
        uint8_t dg[20];
        char hex[41];
        sha1_final(&d->sha1, dg);
        sha1_hex(dg, hex);
        if (strcmp(hex, f->blob_id)) {
            unlink(part);
            st = owl_err(OWL_ERR_FORMAT,
                         "%s: %s: checksum mismatch (git blob id %.12s..., the hub lists %.12s...): the download "
                         "was corrupt and was removed; run owl pull again",
                         p->repo, f->name, hex, f->blob_id);
            goto out;
        }
    }
    if (fsync(d->fd) != 0 && errno != EINVAL) {
        st = owl_err(OWL_ERR_IO, "%s: cannot write %s: %s", p->repo, part, strerror(errno));
        goto out;
    }
    if (rename(part, path) != 0) st = owl_err(OWL_ERR_IO, "cannot rename %s: %s", part, strerror(errno));
out:
    close(d->fd);
    d->fd = -1;
    return st;
}

/* ---- pull --------------------------------------------------------------- */

hub_pull_params hub_pull_default_params(void) {
    hub_pull_params p;
    memset(&p, 0, sizeof p);
    p.retries = 3;
    return p;
}

/* writes text to path through a temporary file and a rename */
static owl_status write_atomic(const char *path, const char *text) {
    char tmp[HUB_PATH];
    if (!path_fmt(tmp, sizeof tmp, "%s.tmp", path)) return OWL_ERR_ARG;
    FILE *fp = fopen(tmp, "w");
    if (!fp) return owl_err(OWL_ERR_IO, "cannot create %s: %s", tmp, strerror(errno));
    bool ok = fputs(text, fp) >= 0;
    ok = (fclose(fp) == 0) && ok;
    if (!ok || rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return owl_err(OWL_ERR_IO, "cannot write %s: %s", path, strerror(e));
    }
    return OWL_OK;
}

static bool file_size_of(const char *path, uint64_t *size) {
    struct stat sb;
    if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode)) return false;
    *size = (uint64_t)sb.st_size;
    return true;
}

owl_status hub_pull(const hub_pull_params *p, hub_pull_result *out) {
    memset(out, 0, sizeof *out);
    if (!p->repo || !hub_is_repo_name(p->repo) || strchr(p->repo, '@'))
        return owl_err(OWL_ERR_ARG, "'%s' is not a repository name (ORG/NAME)", p->repo ? p->repo : "");
    const char *rev = p->revision && *p->revision ? p->revision : "main";
    if (!valid_revision(rev)) return owl_err(OWL_ERR_ARG, "'%s' is not a revision name", rev);
    const char *endpoint = p->endpoint;
    if (!endpoint) endpoint = getenv("HF_ENDPOINT");
    if (!endpoint || !*endpoint) endpoint = "https://huggingface.co";
    char ep[1024];
    if (!path_fmt(ep, sizeof ep, "%s", endpoint)) return OWL_ERR_ARG;
    for (size_t n = strlen(ep); n && ep[n - 1] == '/'; n--) ep[n - 1] = 0;
    if (strncmp(ep, "http://", 7) && strncmp(ep, "https://", 8))
        return owl_err(OWL_ERR_ARG, "the hub endpoint '%s' is not an http:// or https:// URL", ep);
    const char *token = p->token ? p->token : getenv("HF_TOKEN");

    char cache[HUB_PATH], repo_dir[HUB_PATH], refs[HUB_PATH];
    owl_status st = p->cache_dir ? (path_fmt(cache, sizeof cache, "%s", p->cache_dir) ? OWL_OK : OWL_ERR_ARG)
                                 : hub_cache_dir(cache, sizeof cache);
    if (st != OWL_OK) return st;
    if (!path_fmt(repo_dir, sizeof repo_dir, "%s/hub/%s", cache, p->repo)) return OWL_ERR_ARG;

    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) return owl_err(OWL_ERR_INTERNAL, "cannot start libcurl");
    http h;
    membuf body = {0};
    file_list files = {0};
    download d;
    memset(&d, 0, sizeof d);
    d.fd = -1;
    if ((st = http_init(&h, ep, token)) != OWL_OK) goto out;
    h.repo = p->repo;
    h.revision = rev;

    /* the file list */
    char erev[800], url[HUB_PATH];
    if (!url_escape(erev, sizeof erev, rev, false) ||
        !path_fmt(url, sizeof url, "%s/api/models/%s/revision/%s?blobs=true", ep, p->repo, erev)) {
        st = owl_err(OWL_ERR_ARG, "revision too long");
        goto out;
    }
    for (int attempt = 0;; attempt++) {
        http_reset(&h);
        body.len = 0;
        curl_easy_setopt(h.curl, CURLOPT_URL, url);
        curl_easy_setopt(h.curl, CURLOPT_WRITEFUNCTION, on_mem);
        curl_easy_setopt(h.curl, CURLOPT_WRITEDATA, &body);
        CURLcode rc = curl_easy_perform(h.curl);
        long code = 0;
        curl_easy_getinfo(h.curl, CURLINFO_RESPONSE_CODE, &code);
        if (rc == CURLE_OK) break;
        if (body.too_big) {
            st = owl_err(OWL_ERR_FORMAT, "%s: the hub's file list is over %zu MiB", p->repo, HUB_API_MAX >> 20);
            goto out;
        }
        if (attempt < p->retries && transient(rc, code) && rc != CURLE_COULDNT_CONNECT) {
            pause_ms(200L << attempt);
            continue;
        }
        st = http_fail(&h, rc, "");
        goto out;
    }
    if ((st = parse_info(&body, p->repo, p->include, out->sha, &files)) != OWL_OK) goto out;
    if (files.n == 0) {
        st = owl_err(OWL_ERR_ARG, "%s: no file of revision '%s' matches '%s'", p->repo, rev,
                     p->include ? p->include : "*");
        goto out;
    }
    if (!path_fmt(out->dir, sizeof out->dir, "%s/%s", repo_dir, out->sha)) {
        st = OWL_ERR_ARG;
        goto out;
    }
    if ((st = mkdir_p(out->dir)) != OWL_OK) goto out;

    /* what is missing, and is there room for it */
    uint64_t total = 0, need = 0;
    bool sizes_known = true;
    for (int i = 0; i < files.n; i++) {
        const hub_file *f = &files.v[i];
        char path[HUB_PATH];
        uint64_t have = 0;
        if (f->size == HUB_SIZE_UNKNOWN) {
            sizes_known = false;
            continue;
        }
        if (!u64_add(total, f->size, &total)) {
            st = owl_err(OWL_ERR_FORMAT, "%s: the sizes the hub lists add up past 2^64 bytes", p->repo);
            goto out;
        }
        if (!path_fmt(path, sizeof path, "%s/%s", out->dir, f->name)) {
            st = OWL_ERR_ARG;
            goto out;
        }
        if (file_size_of(path, &have) && have == f->size) continue;
        char part[HUB_PATH + 8];
        snprintf(part, sizeof part, "%s.part", path);
        if (!file_size_of(part, &have) || have > f->size) have = 0;
        need += f->size - have; /* <= total: no overflow */
    }
    struct statvfs vfs;
    if (statvfs(out->dir, &vfs) == 0) {
        uint64_t avail = (uint64_t)vfs.f_bavail * (uint64_t)vfs.f_frsize;
        if (need > avail) {
            st = owl_err(OWL_ERR_IO, "%s: not enough disk space in %s: the download needs %.1f MiB, %.1f MiB are free",
                         p->repo, cache, (double)need / 1048576.0, (double)avail / 1048576.0);
            goto out;
        }
    }

    out->n_files = files.n;
    uint64_t done = 0;
    for (int i = 0; i < files.n; i++) {
        const hub_file *f = &files.v[i];
        char path[HUB_PATH];
        uint64_t have;
        if (!path_fmt(path, sizeof path, "%s/%s", out->dir, f->name)) {
            st = OWL_ERR_ARG;
            goto out;
        }
        hub_progress pr = {.file = f->name, .index = i + 1, .n_files = files.n, .file_size = f->size,
                           .total_size = sizes_known ? total : HUB_SIZE_UNKNOWN, .total_done = done};
        if (file_size_of(path, &have) && (f->size == HUB_SIZE_UNKNOWN || have == f->size)) {
            done += have;
            pr.file_done = have;
            pr.total_done = done;
            pr.skipped = pr.file_finished = true;
            pr.fetched = d.received;
            if (p->progress) p->progress(&pr, p->user);
            continue;
        }
        d.h = &h;
        d.prog = pr;
        d.total_before = done;
        d.cb = p->progress;
        d.user = p->user;
        if ((st = fetch_file(&h, p, out->sha, out->dir, f, &d)) != OWL_OK) goto out;
        out->n_fetched++;
        done += d.written;
        pr.file_done = d.written;
        pr.total_done = done;
        pr.file_finished = true;
        pr.fetched = d.received;
        if (p->progress) p->progress(&pr, p->user);
    }
    out->bytes_fetched = d.received;

    /* refs/<revision> -> sha */
    char refs_dir[HUB_PATH];
    if (!path_fmt(refs_dir, sizeof refs_dir, "%s/refs", repo_dir) || (st = mkdir_p(refs_dir)) != OWL_OK ||
        !ref_file(refs, sizeof refs, repo_dir, rev)) {
        if (st == OWL_OK) st = OWL_ERR_ARG;
        goto out;
    }
    char line[48];
    snprintf(line, sizeof line, "%s\n", out->sha);
    st = write_atomic(refs, line);
out:
    out->bytes_fetched = d.received;
    file_list_free(&files);
    free(body.data);
    http_free(&h);
    curl_global_cleanup();
    return st;
}

/* ---- the cached copy ---------------------------------------------------- */

static bool ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && !strcmp(s + n - k, suffix);
}

owl_status hub_resolve_cached(const char *name, char *path, size_t cap) {
    if (!hub_is_repo_name(name)) return owl_err(OWL_ERR_ARG, "'%s' is not a repository name (ORG/NAME[@REV])", name);
    char repo[256];
    const char *at = strchr(name, '@');
    size_t rn = at ? (size_t)(at - name) : strlen(name);
    memcpy(repo, name, rn);
    repo[rn] = 0;
    const char *rev = at ? at + 1 : "main";

    char cache[HUB_PATH], repo_dir[HUB_PATH], ref[HUB_PATH], dir[HUB_PATH];
    owl_status st = hub_cache_dir(cache, sizeof cache);
    if (st != OWL_OK) return st;
    if (!path_fmt(repo_dir, sizeof repo_dir, "%s/hub/%s", cache, repo)) return OWL_ERR_ARG;
    char sha[41] = "";
    struct stat sb;
    if (is_hex(rev, 40)) {
        if (!path_fmt(dir, sizeof dir, "%s/%s", repo_dir, rev)) return OWL_ERR_ARG;
        if (stat(dir, &sb) == 0 && S_ISDIR(sb.st_mode)) memcpy(sha, rev, 41);
    }
    if (!sha[0]) {
        if (!ref_file(ref, sizeof ref, repo_dir, rev)) return OWL_ERR_ARG;
        FILE *fp = fopen(ref, "r");
        if (!fp)
            return owl_err(OWL_ERR_IO, "%s%s%s is not in the cache (%s/hub): run `owl pull %s%s%s` first", repo,
                           at ? "@" : "", at ? rev : "", cache, repo, at ? " --revision " : "", at ? rev : "");
        char line[64] = "";
        bool ok = fgets(line, sizeof line, fp) != NULL;
        fclose(fp);
        line[strcspn(line, "\r\n")] = 0;
        if (!ok || !is_hex(line, 40)) return owl_err(OWL_ERR_FORMAT, "%s: not a commit sha; run owl pull again", ref);
        memcpy(sha, line, 41);
        if (!path_fmt(dir, sizeof dir, "%s/%s", repo_dir, sha)) return OWL_ERR_ARG;
    }

    DIR *dp = opendir(dir);
    if (!dp) return owl_err(OWL_ERR_IO, "%s: cannot open the cached copy %s: %s; run owl pull again", repo, dir,
                            strerror(errno));
    int n_gguf = 0;
    bool config = false;
    char gguf[1024] = "", names[512] = "";
    for (struct dirent *e; (e = readdir(dp));) {
        if (!strcmp(e->d_name, "config.json")) config = true;
        if (!ends_with(e->d_name, ".gguf")) continue;
        if (n_gguf++ == 0) snprintf(gguf, sizeof gguf, "%s", e->d_name);
        size_t k = strlen(names);
        if (k + 2 < sizeof names) snprintf(names + k, sizeof names - k, "%s%s", k ? ", " : "", e->d_name);
    }
    closedir(dp);
    if (n_gguf == 1) return path_fmt(path, cap, "%s/%s", dir, gguf) ? OWL_OK : OWL_ERR_ARG;
    if (n_gguf > 1)
        return owl_err(OWL_ERR_ARG, "%s holds %d .gguf files (%s): give the one to use as a path under %s", repo,
                       n_gguf, names, dir);
    if (config) return path_fmt(path, cap, "%s", dir) ? OWL_OK : OWL_ERR_ARG;
    return owl_err(OWL_ERR_UNSUPPORTED, "%s: the cached copy %s holds no .gguf file and no config.json", repo, dir);
}
