/* hub_server.c — a stand-in for the Hugging Face hub, for testing owl pull
 * without the network.
 *
 * Serves the repositories under --root (ROOT/ORG/NAME/<files>) on
 * 127.0.0.1 at a free port, which it writes to --port-file once it
 * listens, and stops by itself after --lifetime seconds (default 60), so a
 * test can never hang on it. One request per connection, HTTP/1.1:
 *
 *   GET /api/models/ORG/NAME/revision/REV[?blobs=true]
 *       200 {"id", "sha", "siblings": [{"rfilename", "size", "blobId",
 *            "lfs": {"sha256", "size", "pointerSize"}}]}  (as the hub's
 *       model_info answer; lfs only for *.gguf, *.safetensors, *.bin;
 *       blobId the git blob id, SHA-1 of "blob <size>\0" and the bytes)
 *   GET /ORG/NAME/resolve/REV/PATH
 *       LFS files: 302 to /cdn/ORG/NAME/PATH (the hub sends its CDN);
 *       others: the bytes
 *   GET /cdn/ORG/NAME/PATH      the bytes; "Range: bytes=K-" gives a 206
 *
 * REV is "main" or the repository's commit sha (the first 40 hex digits of
 * the sha256 of "ORG/NAME"; /resolve/ takes any 40 hex digits, for
 * --api-json lists); anything else is 404 RevisionNotFound, an
 * unknown repository 404 RepoNotFound, an unknown file 404 EntryNotFound
 * (in the X-Error-Code header, like the hub).
 *
 * Options that make it misbehave on purpose:
 *   --token T        /api and /resolve need "Authorization: Bearer T":
 *                    401 (X-Error-Code: GatedRepo) without it, 401 with
 *                    another token
 *   --drop-after N   the first response for each file longer than N bytes
 *                    sends N bytes of the body and closes the connection
 *   --corrupt        LFS files are served with one byte changed
 *   --api-json FILE  the API answers FILE's bytes instead (malformed lists)
 *   --cdn-host HOST  redirects go to http://HOST:PORT/cdn/... (another host
 *                    name for the same server, as the hub's CDN is)
 *
 * `hub_server --sha256 FILE` prints the sha256 it would list for FILE,
 * `hub_server --blob-id FILE` the git blob id.
 *
 * --log FILE gets one line per request:
 *   "GET /cdn/org/tiny/tiny.gguf status=206 from=1000 sent=1234 auth=0"
 * (from: the range start, sent: body bytes written, auth: a Bearer token
 * came with it), which is how the tests count bytes and see resumes. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "base/sha1.h"
#include "base/sha256.h"

static const char *root, *token, *log_path, *api_json, *cdn_host;
static int port;
static long drop_after = -1;
static bool corrupt;
static char dropped[64][512]; /* the files already cut short once */
static int n_dropped;
static FILE *logf;

/* ---- small helpers ------------------------------------------------------ */

static bool send_all(int fd, const void *p, size_t n) {
    const char *c = p;
    while (n) {
        ssize_t w = send(fd, c, n, 0);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return false;
        c += w;
        n -= (size_t)w;
    }
    return true;
}

static void log_req(const char *path, int status, long from, long sent, bool auth) {
    if (!logf) return;
    fprintf(logf, "GET %s status=%d from=%ld sent=%ld auth=%d\n", path, status, from, sent, auth ? 1 : 0);
    fflush(logf);
}

static void respond(int fd, int status, const char *reason, const char *extra, const char *body) {
    char head[1024];
    size_t n = body ? strlen(body) : 0;
    snprintf(head, sizeof head,
             "HTTP/1.1 %d %s\r\nContent-Length: %zu\r\nContent-Type: application/json\r\n%sConnection: close\r\n\r\n",
             status, reason, n, extra ? extra : "");
    if (send_all(fd, head, strlen(head)) && n) send_all(fd, body, n);
}

static bool is_lfs(const char *name) {
    size_t n = strlen(name);
    static const char *const ext[] = {".gguf", ".safetensors", ".bin"};
    for (size_t i = 0; i < 3; i++) {
        size_t k = strlen(ext[i]);
        if (n >= k && !strcmp(name + n - k, ext[i])) return true;
    }
    return false;
}

static bool file_sha256(const char *path, char hex[65], long *size) {
    FILE *f = fopen(path, "rb");
    if (!f) return false;
    sha256_ctx c;
    sha256_init(&c);
    unsigned char buf[1 << 14];
    size_t r;
    long n = 0;
    while ((r = fread(buf, 1, sizeof buf, f)) > 0) {
        sha256_update(&c, buf, r);
        n += (long)r;
    }
    fclose(f);
    uint8_t d[32];
    sha256_final(&c, d);
    sha256_hex(d, hex);
    *size = n;
    return true;
}

/* git hash-object: SHA-1 of "blob <size>\0" and the bytes */
static bool file_blob_id(const char *path, long size, char hex[41]) {
    FILE *f = fopen(path, "rb");
    if (!f) return false;
    sha1_ctx c;
    sha1_init(&c);
    char head[40];
    int k = snprintf(head, sizeof head, "blob %ld", size);
    sha1_update(&c, head, (size_t)k + 1);
    unsigned char buf[1 << 14];
    size_t r;
    while ((r = fread(buf, 1, sizeof buf, f)) > 0) sha1_update(&c, buf, r);
    fclose(f);
    uint8_t d[20];
    sha1_final(&c, d);
    sha1_hex(d, hex);
    return true;
}

static void repo_sha(const char *repo, char sha[41]) {
    sha256_ctx c;
    uint8_t d[32];
    char hex[65];
    sha256_init(&c);
    sha256_update(&c, repo, strlen(repo));
    sha256_final(&c, d);
    sha256_hex(d, hex);
    memcpy(sha, hex, 40);
    sha[40] = 0;
}

/* appends to a growing string; exits on out-of-memory (a test helper) */
typedef struct str {
    char *p;
    size_t n, cap;
} str;

static void str_add(str *s, const char *t) {
    size_t k = strlen(t);
    if (s->n + k + 1 > s->cap) {
        s->cap = (s->n + k + 1) * 2;
        s->p = realloc(s->p, s->cap);
        if (!s->p) exit(2);
    }
    memcpy(s->p + s->n, t, k + 1);
    s->n += k;
}

/* the siblings of the folder dir (rel: its path inside the repository) */
static void list_files(str *s, const char *dir, const char *rel, bool *first) {
    DIR *d = opendir(dir);
    if (!d) return;
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.') continue;
        char path[4096], rpath[2048];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        snprintf(rpath, sizeof rpath, "%s%s%s", rel, *rel ? "/" : "", e->d_name);
        struct stat sb;
        if (stat(path, &sb) != 0) continue;
        if (S_ISDIR(sb.st_mode)) {
            list_files(s, path, rpath, first);
            continue;
        }
        char hex[65], blob[41], item[4096];
        long size = 0;
        if (!file_sha256(path, hex, &size) || !file_blob_id(path, size, blob)) continue;
        if (is_lfs(e->d_name))
            snprintf(item, sizeof item,
                     "%s{\"rfilename\": \"%s\", \"size\": %ld, \"blobId\": \"%.40s\", "
                     "\"lfs\": {\"size\": %ld, \"sha256\": \"%s\", \"pointerSize\": 134}}",
                     *first ? "" : ", ", rpath, size, hex, size, hex);
        else
            snprintf(item, sizeof item, "%s{\"rfilename\": \"%s\", \"size\": %ld, \"blobId\": \"%s\"}",
                     *first ? "" : ", ", rpath, size, blob);
        str_add(s, item);
        *first = false;
    }
    closedir(d);
}

/* "%2F" and friends back to bytes, in place */
static void url_decode(char *s) {
    char *o = s;
    for (char *p = s; *p; p++) {
        if (p[0] == '%' && p[1] && p[2]) {
            char h[3] = {p[1], p[2], 0};
            *o++ = (char)strtol(h, NULL, 16);
            p += 2;
        } else {
            *o++ = *p;
        }
    }
    *o = 0;
}

/* ---- one request -------------------------------------------------------- */

/* sends the file's bytes from `from` (a Range start), with the drop and
 * corrupt behaviours */
static void send_file(int fd, const char *path, const char *fs_path, long from, bool lfs, bool auth) {
    FILE *f = fopen(fs_path, "rb");
    struct stat sb;
    if (!f || stat(fs_path, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        if (f) fclose(f);
        respond(fd, 404, "Not Found", "X-Error-Code: EntryNotFound\r\n", "{\"error\": \"Entry not found\"}");
        log_req(path, 404, 0, 0, auth);
        return;
    }
    long size = (long)sb.st_size;
    if (from > 0 && from >= size) {
        char extra[128];
        snprintf(extra, sizeof extra, "Content-Range: bytes */%ld\r\n", size);
        respond(fd, 416, "Range Not Satisfiable", extra, NULL);
        fclose(f);
        log_req(path, 416, from, 0, auth);
        return;
    }
    char head[512];
    int status = from > 0 ? 206 : 200;
    if (status == 206)
        snprintf(head, sizeof head,
                 "HTTP/1.1 206 Partial Content\r\nContent-Length: %ld\r\nContent-Range: bytes %ld-%ld/%ld\r\n"
                 "Accept-Ranges: bytes\r\nConnection: close\r\n\r\n",
                 size - from, from, size - 1, size);
    else
        snprintf(head, sizeof head,
                 "HTTP/1.1 200 OK\r\nContent-Length: %ld\r\nAccept-Ranges: bytes\r\nConnection: close\r\n\r\n", size);
    if (!send_all(fd, head, strlen(head))) {
        fclose(f);
        return;
    }
    long limit = size - from;
    bool seen = false;
    for (int i = 0; i < n_dropped; i++) seen = seen || !strcmp(dropped[i], fs_path);
    if (drop_after >= 0 && !seen && limit > drop_after && n_dropped < 64) {
        limit = drop_after;
        snprintf(dropped[n_dropped++], sizeof dropped[0], "%s", fs_path);
    }
    fseek(f, from, SEEK_SET);
    long sent = 0, pos = from;
    unsigned char buf[1 << 14];
    while (sent < limit) {
        size_t want = (size_t)(limit - sent) < sizeof buf ? (size_t)(limit - sent) : sizeof buf;
        size_t r = fread(buf, 1, want, f);
        if (r == 0) break;
        if (corrupt && lfs && size / 2 >= pos && size / 2 < pos + (long)r) buf[size / 2 - pos] ^= 0x5a;
        if (!send_all(fd, buf, r)) break;
        sent += (long)r;
        pos += (long)r;
    }
    fclose(f);
    log_req(path, status, from, sent, auth);
}

static void handle(int fd) {
    char req[16384];
    size_t n = 0;
    while (n + 1 < sizeof req) {
        ssize_t r = recv(fd, req + n, sizeof req - 1 - n, 0);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return;
        n += (size_t)r;
        req[n] = 0;
        if (strstr(req, "\r\n\r\n")) break;
    }
    req[n] = 0;
    char method[16], target[8192];
    if (sscanf(req, "%15s %8191s", method, target) != 2) return;
    bool has_auth = false, auth_ok = !token;
    long from = 0;
    for (char *line = strstr(req, "\r\n"); line && line[2]; line = strstr(line + 2, "\r\n")) {
        char *h = line + 2;
        if (!strncasecmp(h, "Authorization: Bearer ", 22)) {
            has_auth = true;
            size_t k = strcspn(h + 22, "\r\n");
            if (token && k == strlen(token) && !strncmp(h + 22, token, k)) auth_ok = true;
        } else if (!strncasecmp(h, "Range: bytes=", 13)) {
            from = strtol(h + 13, NULL, 10);
        }
    }
    if (strcmp(method, "GET")) {
        respond(fd, 405, "Method Not Allowed", NULL, NULL);
        return;
    }
    char *q = strchr(target, '?');
    if (q) *q = 0;
    url_decode(target);
    if (strstr(target, "..")) {
        respond(fd, 400, "Bad Request", NULL, NULL);
        log_req(target, 400, 0, 0, has_auth);
        return;
    }
    char org[256], name[256], rev[256], rest[4096] = "", fs_path[8192], sha[41], repo[600];

    if (sscanf(target, "/cdn/%255[^/]/%255[^/]/%4095s", org, name, rest) == 3) {
        snprintf(fs_path, sizeof fs_path, "%s/%s/%s/%s", root, org, name, rest);
        send_file(fd, target, fs_path, from, is_lfs(rest), has_auth);
        return;
    }
    bool api = sscanf(target, "/api/models/%255[^/]/%255[^/]/revision/%255s", org, name, rev) == 3;
    bool resolve = !api && sscanf(target, "/%255[^/]/%255[^/]/resolve/%255[^/]/%4095s", org, name, rev, rest) == 4;
    if (!api && !resolve) {
        respond(fd, 404, "Not Found", NULL, "{\"error\": \"not found\"}");
        log_req(target, 404, 0, 0, has_auth);
        return;
    }
    if (!auth_ok) {
        if (has_auth)
            respond(fd, 401, "Unauthorized", NULL, "{\"error\": \"Invalid credentials in Authorization header\"}");
        else
            respond(fd, 401, "Unauthorized", "X-Error-Code: GatedRepo\r\n",
                    "{\"error\": \"Access to this model is restricted. You must be authenticated.\"}");
        log_req(target, 401, 0, 0, has_auth);
        return;
    }
    snprintf(repo, sizeof repo, "%s/%s", org, name);
    repo_sha(repo, sha);
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/%s/%s", root, org, name);
    struct stat sb;
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        respond(fd, 404, "Not Found", "X-Error-Code: RepoNotFound\r\n", "{\"error\": \"Repository not found\"}");
        log_req(target, 404, 0, 0, has_auth);
        return;
    }
    bool any_commit = resolve && strlen(rev) == 40 && strspn(rev, "0123456789abcdef") == 40;
    if (strcmp(rev, "main") && strcmp(rev, sha) && !any_commit) {
        respond(fd, 404, "Not Found", "X-Error-Code: RevisionNotFound\r\n", "{\"error\": \"Invalid rev id\"}");
        log_req(target, 404, 0, 0, has_auth);
        return;
    }
    if (api && api_json) {
        FILE *f = fopen(api_json, "rb");
        str s = {0};
        char buf[4096];
        size_t r;
        str_add(&s, "");
        while (f && (r = fread(buf, 1, sizeof buf - 1, f)) > 0) {
            buf[r] = 0;
            str_add(&s, buf);
        }
        if (f) fclose(f);
        respond(fd, 200, "OK", NULL, s.p);
        log_req(target, 200, 0, (long)s.n, has_auth);
        free(s.p);
        return;
    }
    if (api) {
        str s = {0};
        char head[2048];
        snprintf(head, sizeof head, "{\"id\": \"%s\", \"modelId\": \"%s\", \"sha\": \"%s\", \"private\": false, "
                 "\"gated\": %s, \"siblings\": [", repo, repo, sha, token ? "\"auto\"" : "false");
        str_add(&s, head);
        bool first = true;
        list_files(&s, dir, "", &first);
        str_add(&s, "]}");
        respond(fd, 200, "OK", NULL, s.p);
        log_req(target, 200, 0, (long)s.n, has_auth);
        free(s.p);
        return;
    }
    snprintf(fs_path, sizeof fs_path, "%s/%s", dir, rest);
    if (is_lfs(rest) && stat(fs_path, &sb) == 0) {
        char extra[8192];
        char host[300] = "";
        if (cdn_host) snprintf(host, sizeof host, "http://%.255s:%d", cdn_host, port);
        snprintf(extra, sizeof extra,
                 "Location: %s/cdn/%s/%s?sig=test\r\nX-Repo-Commit: %s\r\nX-Linked-Size: %ld\r\n", host, repo,
                 rest, sha, (long)sb.st_size);
        respond(fd, 302, "Found", extra, NULL);
        log_req(target, 302, 0, 0, has_auth);
        return;
    }
    send_file(fd, target, fs_path, from, false, has_auth);
}

int main(int argc, char **argv) {
    const char *port_file = NULL;
    double lifetime = 60;
    if (argc == 3 && !strcmp(argv[1], "--sha256")) { /* the digest the siblings list gives */
        char hex[65];
        long size;
        if (!file_sha256(argv[2], hex, &size)) return 2;
        printf("%s\n", hex);
        return 0;
    }
    if (argc == 3 && !strcmp(argv[1], "--blob-id")) {
        char hex[65], blob[41];
        long size;
        if (!file_sha256(argv[2], hex, &size) || !file_blob_id(argv[2], size, blob)) return 2;
        printf("%s\n", blob);
        return 0;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--corrupt")) {
            corrupt = true;
            continue;
        }
        if (!v) {
            fprintf(stderr, "hub_server: %s needs a value\n", a);
            return 2;
        }
        i++;
        if (!strcmp(a, "--root")) root = v;
        else if (!strcmp(a, "--port-file")) port_file = v;
        else if (!strcmp(a, "--log")) log_path = v;
        else if (!strcmp(a, "--token")) token = v;
        else if (!strcmp(a, "--drop-after")) drop_after = atol(v);
        else if (!strcmp(a, "--lifetime")) lifetime = atof(v);
        else if (!strcmp(a, "--api-json")) api_json = v;
        else if (!strcmp(a, "--cdn-host")) cdn_host = v;
        else {
            fprintf(stderr, "hub_server: unknown option %s\n", a);
            return 2;
        }
    }
    if (!root || !port_file) {
        fprintf(stderr, "usage: hub_server --root DIR --port-file FILE [--log FILE] [--token T] "
                        "[--drop-after N] [--corrupt] [--api-json FILE] [--cdn-host HOST] [--lifetime SECONDS]\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    if (log_path && !(logf = fopen(log_path, "a"))) {
        fprintf(stderr, "hub_server: cannot open %s\n", log_path);
        return 2;
    }
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t alen = sizeof addr;
    if (ls < 0 || bind(ls, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(ls, 16) != 0 ||
        getsockname(ls, (struct sockaddr *)&addr, &alen) != 0) {
        fprintf(stderr, "hub_server: cannot listen on 127.0.0.1: %s\n", strerror(errno));
        return 2;
    }
    port = ntohs(addr.sin_port);
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", port_file);
    FILE *pf = fopen(tmp, "w");
    if (!pf || fprintf(pf, "%d\n", ntohs(addr.sin_port)) < 0 || fclose(pf) != 0 || rename(tmp, port_file) != 0) {
        fprintf(stderr, "hub_server: cannot write %s\n", port_file);
        return 2;
    }

    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        double left = lifetime - ((double)(now.tv_sec - t0.tv_sec) + (double)(now.tv_nsec - t0.tv_nsec) * 1e-9);
        if (left <= 0) break;
        struct pollfd pfd = {.fd = ls, .events = POLLIN};
        int r = poll(&pfd, 1, (int)(left * 1000) + 1);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) continue;
        int c = accept(ls, NULL, NULL);
        if (c < 0) continue;
        struct timeval tv = {5, 0};
        setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        handle(c);
        shutdown(c, SHUT_WR);
        close(c);
    }
    close(ls);
    if (logf) fclose(logf);
    return 0;
}
