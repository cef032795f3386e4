#!/bin/sh
# pull.sh — `owl pull` against tests/hub_server.c, a stand-in for the
# Hugging Face hub on 127.0.0.1 serving org/tiny (the tiny llama GGUF
# fixture as an LFS file behind a 302 to /cdn/, a README, a file in a
# subfolder, a 229 KB text file). Checks: the files arrive byte-identical
# with refs/main naming the commit, the server's sha256 and blob ids agree
# with sha256sum and git, a second pull fetches nothing, dropped
# connections are continued with Range requests for LFS and plain files
# (server byte counts add up to the file sizes exactly), a pull that gave
# up leaves a .part the next pull continues, corrupted bytes are caught by
# the sha256 and removed, 401 without HF_TOKEN and success with
# it (the token not following the redirect to another host), --include;
# 404, a full disk and an unreachable endpoint give one line and exit 1;
# `owl info` / `owl run -m org/tiny` find the cached copy offline.
set -u
unset HF_TOKEN HF_ENDPOINT
: "${OWL_BIN:?}" "${OWL_TMP:?}" "${OWL_HUB_SERVER:?}" "${OWL_FIXTURES:?}"
GGUF=$OWL_FIXTURES/models/tiny-llama-spm.gguf
[ -f "$GGUF" ] || { echo "FAIL: fixture $GGUF is missing" >&2; exit 1; }
T=$OWL_TMP/pull.$$
SERVER_PID=""
stop_server() {
    [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
    SERVER_PID=""
}
mkdir -p "$T" && trap 'stop_server; rm -rf "$T"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }

# the repository the server serves
R=$T/root/org/tiny
mkdir -p "$R/sub"
cp "$GGUF" "$R/tiny.gguf"
printf '# tiny\nA random llama for tests.\n' >"$R/README.md"
printf 'notes\n' >"$R/sub/notes.txt"
seq 1 40000 >"$R/vocab.txt" # not LFS, big enough to be cut short
SIZE=$(wc -c <"$GGUF" | tr -d ' ')

# start_server NAME [options]: serves $T/root, logs to $T/NAME.log, sets PORT
start_server() {
    stop_server
    name=$1
    shift
    rm -f "$T/port"
    "$OWL_HUB_SERVER" --root "$T/root" --port-file "$T/port" --log "$T/$name.log" --lifetime 60 "$@" &
    SERVER_PID=$!
    i=0
    while [ ! -s "$T/port" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
    PORT=$(cat "$T/port" 2>/dev/null)
    [ -n "$PORT" ] || { echo "FAIL: hub_server did not start" >&2; exit 1; }
}

# logged PATTERN LOG: grep -q, given up to 5 s (the server logs a request
# just after its last byte went out, which may be after owl exits)
logged() {
    i=0
    while ! grep -q -- "$1" "$2" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
    grep -q -- "$1" "$2"
}

# pull CACHE [args]: owl pull against the server; stdout, stderr, rc in $T
pull() {
    cache=$1
    shift
    OWL_CACHE=$cache HF_ENDPOINT=http://127.0.0.1:$PORT "$OWL_BIN" pull "$@" >"$T/out" 2>"$T/err"
    rc=$?
}
lines() { wc -l <"$1" | tr -d ' '; }
# one_error FILE: after any progress lines, exactly one "owl pull:" line, the last
one_error() { [ "$(grep -c '^owl pull:' "$1")" -eq 1 ] && tail -n 1 "$1" | grep -q '^owl pull:'; }
# sum of sent= over the log's lines matching a pattern
sent() { grep "$2" "$1" | sed -n 's/.* sent=\([0-9]*\).*/\1/p' | awk '{s += $1} END {print s + 0}'; }

# ---- a plain pull --------------------------------------------------------
start_server plain
C=$T/cache1
pull "$C" org/tiny --revision main
[ "$rc" -eq 0 ] && ok || bad "owl pull: exit $rc: $(cat "$T/err")"
SHA=$(cat "$C/hub/org/tiny/refs/main" 2>/dev/null)
echo "$SHA" | grep -qE '^[0-9a-f]{40}$' && ok || bad "refs/main holds '$SHA', not a commit sha"
S=$C/hub/org/tiny/$SHA
for f in tiny.gguf README.md sub/notes.txt vocab.txt; do
    cmp -s "$R/$f" "$S/$f" && ok || bad "$f did not arrive byte-identical in $S"
done
[ -z "$(find "$C" -name '*.part')" ] && ok || bad "a .part file was left behind"
[ "$(cat "$T/out")" = "$S/tiny.gguf" ] && ok || bad "owl pull printed '$(cat "$T/out")', expected $S/tiny.gguf"
# the LFS file went through the redirect, once, whole
logged "resolve/$SHA/tiny.gguf status=302" "$T/plain.log" && ok || bad "tiny.gguf was not fetched through resolve/<sha> and a 302"
logged "/cdn/org/tiny/tiny.gguf status=200" "$T/plain.log" && ok || bad "tiny.gguf did not come from /cdn/"
[ "$(sent "$T/plain.log" /cdn/)" = "$SIZE" ] && ok || bad "the CDN sent $(sent "$T/plain.log" /cdn/) bytes, the file has $SIZE"
# the sha256 the server lists (src/base/sha256.c) is sha256sum's, so owl's
# check is held to an independent hash
if command -v sha256sum >/dev/null; then
    want=$(sha256sum "$GGUF" | cut -c1-64)
    got=$("$OWL_HUB_SERVER" --sha256 "$GGUF")
    [ "$got" = "$want" ] && ok || bad "hub_server lists sha256 $got, sha256sum says $want"
fi
# and its blobId (src/base/sha1.c) is git's blob id
if command -v git >/dev/null; then
    want=$(git hash-object "$R/vocab.txt")
    got=$("$OWL_HUB_SERVER" --blob-id "$R/vocab.txt")
    [ "$got" = "$want" ] && ok || bad "hub_server lists blobId $got, git hash-object says $want"
fi

# a second pull finds everything cached and fetches nothing
: >"$T/plain.log"
pull "$C" org/tiny
[ "$rc" -eq 0 ] && ok || bad "second owl pull: exit $rc: $(cat "$T/err")"
sleep 0.2 # nothing to wait for: the check is that no file request comes
[ "$(grep -c resolve "$T/plain.log")" -eq 0 ] && ok || bad "the second pull downloaded again: $(cat "$T/plain.log")"
grep -q "already cached" "$T/err" && ok || bad "the second pull did not say the files were cached: $(cat "$T/err")"

# ---- the cached copy, offline (the endpoint is a closed port) ------------
stop_server
for m in org/tiny org/tiny@main "org/tiny@$SHA"; do
    OWL_CACHE=$C HF_ENDPOINT=http://127.0.0.1:1 "$OWL_BIN" info "$m" >"$T/info" 2>"$T/err"
    rc=$?
    [ "$rc" -eq 0 ] && ok || bad "owl info $m: exit $rc: $(cat "$T/err")"
    grep -q "^file: *$S/tiny.gguf\$" "$T/info" && ok || bad "owl info $m did not open $S/tiny.gguf: $(head -1 "$T/info")"
    grep -q '^arch: *llama$' "$T/info" && ok || bad "owl info $m: arch is not llama"
done
OWL_CACHE=$C "$OWL_BIN" run -m org/tiny -p "Hello" -n 4 --temp 0 >"$T/run" 2>"$T/err"
rc=$?
[ "$rc" -eq 0 ] && ok || bad "owl run -m org/tiny: exit $rc: $(cat "$T/err")"
OWL_CACHE=$C "$OWL_BIN" info org/absent >/dev/null 2>"$T/err"
rc=$?
[ "$rc" -eq 1 ] && [ "$(lines "$T/err")" -eq 1 ] && grep -q "owl pull org/absent" "$T/err" && ok ||
    bad "owl info org/absent (not cached): exit $rc, expected 1 and one line naming owl pull: $(cat "$T/err")"
OWL_CACHE=$C "$OWL_BIN" info org/tiny@v2 >/dev/null 2>"$T/err"
rc=$?
[ "$rc" -eq 1 ] && [ "$(lines "$T/err")" -eq 1 ] && ok || bad "owl info org/tiny@v2 (revision not cached): exit $rc: $(cat "$T/err")"

# ---- a dropped connection is continued in the same run -------------------
# (every file over 100000 bytes is cut once: the LFS file from the CDN and
# vocab.txt from /resolve/, whose git blob id is then checked over both parts)
CUT=100000
VSIZE=$(wc -c <"$R/vocab.txt" | tr -d ' ')
start_server drop --drop-after $CUT
C=$T/cache2
pull "$C" org/tiny
[ "$rc" -eq 0 ] && ok || bad "owl pull through dropped connections: exit $rc: $(cat "$T/err")"
for f in tiny.gguf vocab.txt; do
    cmp -s "$R/$f" "$C/hub/org/tiny/$SHA/$f" && ok || bad "$f differs after a dropped connection"
done
logged "/cdn/org/tiny/tiny.gguf status=200 from=0 sent=$CUT " "$T/drop.log" && ok ||
    bad "the server did not cut tiny.gguf after $CUT bytes: $(grep tiny.gguf "$T/drop.log")"
logged "/cdn/org/tiny/tiny.gguf status=206 from=$CUT sent=$((SIZE - CUT)) " "$T/drop.log" && ok ||
    bad "the retry did not continue tiny.gguf from byte $CUT: $(grep tiny.gguf "$T/drop.log")"
[ "$(sent "$T/drop.log" /cdn/)" = "$SIZE" ] && ok || bad "the CDN sent $(sent "$T/drop.log" /cdn/) bytes in all, the file has $SIZE"
logged "/vocab.txt status=200 from=0 sent=$CUT " "$T/drop.log" && ok ||
    bad "the server did not cut vocab.txt after $CUT bytes: $(grep vocab "$T/drop.log")"
logged "/vocab.txt status=206 from=$CUT sent=$((VSIZE - CUT)) " "$T/drop.log" && ok ||
    bad "the retry did not continue vocab.txt from byte $CUT: $(grep vocab "$T/drop.log")"
[ "$(sent "$T/drop.log" vocab.txt)" = "$VSIZE" ] && ok || bad "vocab.txt: $(sent "$T/drop.log" vocab.txt) bytes sent, it has $VSIZE"

# ---- a pull that gave up leaves a .part that the next pull continues -----
DROP=3000000
start_server giveup --drop-after $DROP
C=$T/cache3
pull "$C" org/tiny --retries 0
[ "$rc" -eq 1 ] && one_error "$T/err" && ok || bad "owl pull --retries 0 through a drop: exit $rc, expected 1 and one line: $(cat "$T/err")"
PART=$C/hub/org/tiny/$SHA/tiny.gguf.part
[ "$(wc -c <"$PART" 2>/dev/null | tr -d ' ')" = "$DROP" ] && ok || bad "the .part does not hold the $DROP bytes received"
pull "$C" org/tiny
[ "$rc" -eq 0 ] && ok || bad "owl pull after an interrupted one: exit $rc: $(cat "$T/err")"
cmp -s "$GGUF" "$C/hub/org/tiny/$SHA/tiny.gguf" && ok || bad "tiny.gguf differs after resuming"
[ ! -e "$PART" ] && ok || bad "the .part is still there after the resumed pull"
logged "/cdn/org/tiny/tiny.gguf status=206 from=$DROP sent=$((SIZE - DROP)) " "$T/giveup.log" && ok ||
    bad "the second pull did not continue from byte $DROP: $(grep cdn "$T/giveup.log")"
[ "$(sent "$T/giveup.log" /cdn/)" = "$SIZE" ] && ok || bad "the CDN sent $(sent "$T/giveup.log" /cdn/) bytes over both pulls, the file has $SIZE"

# ---- corrupted bytes: the sha256 catches them, nothing is kept ------------
start_server corrupt --corrupt
C=$T/cache4
pull "$C" org/tiny
[ "$rc" -eq 1 ] && ok || bad "owl pull of a corrupted file: exit $rc, expected 1"
one_error "$T/err" && grep -q "tiny.gguf: checksum mismatch" "$T/err" && ok ||
    bad "a corrupted download was not reported as one checksum line: $(cat "$T/err")"
D=$C/hub/org/tiny/$SHA
[ ! -e "$D/tiny.gguf" ] && [ ! -e "$D/tiny.gguf.part" ] && ok || bad "the corrupted file was kept: $(ls "$D")"
[ ! -e "$C/hub/org/tiny/refs/main" ] && ok || bad "refs/main was written after a failed pull"

# ---- a token: 401 without it, 401 with a wrong one, success with it ------
start_server token --token hf_secret --cdn-host localhost
C=$T/cache5
pull "$C" org/tiny
[ "$rc" -eq 1 ] && [ "$(lines "$T/err")" -eq 1 ] && grep -q "HF_TOKEN" "$T/err" && grep -q "401" "$T/err" && ok ||
    bad "owl pull without the token: exit $rc, expected 1 and one line naming HF_TOKEN and 401: $(cat "$T/err")"
export HF_TOKEN=hf_wrong
pull "$C" org/tiny
[ "$rc" -eq 1 ] && [ "$(lines "$T/err")" -eq 1 ] && grep -q "HF_TOKEN" "$T/err" && ok ||
    bad "owl pull with a wrong token: exit $rc, expected 1 and one line naming HF_TOKEN: $(cat "$T/err")"
HF_TOKEN=hf_secret
pull "$C" org/tiny
unset HF_TOKEN
[ "$rc" -eq 0 ] && ok || bad "owl pull with HF_TOKEN: exit $rc: $(cat "$T/err")"
cmp -s "$GGUF" "$C/hub/org/tiny/$SHA/tiny.gguf" && ok || bad "tiny.gguf differs when fetched with a token"
logged "api/models/org/tiny/revision/main status=200 .* auth=1" "$T/token.log" && ok ||
    bad "the token did not reach the API: $(cat "$T/token.log")"
logged "resolve/$SHA/tiny.gguf status=302 .* auth=1" "$T/token.log" && ok ||
    bad "the token did not reach /resolve/: $(cat "$T/token.log")"
# the redirect leads to another host name (as the hub's CDN is): no token there
logged "/cdn/org/tiny/tiny.gguf status=200 .* auth=0" "$T/token.log" && ok ||
    bad "the token went along the redirect to the CDN host: $(grep cdn "$T/token.log")"

# ---- 404s, an unreachable hub, a bad name: one line, exit 1 --------------
start_server missing
C=$T/cache6
pull "$C" org/nope
[ "$rc" -eq 1 ] && [ "$(lines "$T/err")" -eq 1 ] && grep -q "no such repository" "$T/err" && ok ||
    bad "owl pull org/nope: exit $rc, expected 1 and one 'no such repository' line: $(cat "$T/err")"
pull "$C" org/tiny --revision v9
[ "$rc" -eq 1 ] && [ "$(lines "$T/err")" -eq 1 ] && grep -q "no revision 'v9'" "$T/err" && ok ||
    bad "owl pull --revision v9: exit $rc, expected 1 and one 'no revision' line: $(cat "$T/err")"
pull "$C" org/tiny --include '*.safetensors'
[ "$rc" -eq 1 ] && [ "$(lines "$T/err")" -eq 1 ] && ok || bad "owl pull --include with no match: exit $rc: $(cat "$T/err")"
pull "$C" org/tiny --include '*.md'
[ "$rc" -eq 0 ] && [ -f "$C/hub/org/tiny/$SHA/README.md" ] && [ ! -e "$C/hub/org/tiny/$SHA/tiny.gguf" ] && ok ||
    bad "owl pull --include '*.md' did not fetch README.md alone: exit $rc: $(cat "$T/err")"
# a disk that fills up: the .part is /dev/full, where every write fails with ENOSPC
if [ -w /dev/full ]; then
    C=$T/cache7
    mkdir -p "$C/hub/org/tiny/$SHA"
    ln -s /dev/full "$C/hub/org/tiny/$SHA/tiny.gguf.part"
    pull "$C" org/tiny
    [ "$rc" -eq 1 ] && one_error "$T/err" && grep -q "tiny.gguf: the disk is full" "$T/err" && ok ||
        bad "owl pull onto a full disk: exit $rc, expected 1 and one 'disk is full' line: $(cat "$T/err")"
fi
stop_server
pull "$C" org/tiny
[ "$rc" -eq 1 ] && [ "$(lines "$T/err")" -eq 1 ] && grep -q "cannot download from" "$T/err" && ok ||
    bad "owl pull with the hub down: exit $rc, expected 1 and one line: $(cat "$T/err")"
pull "$C" not-a-repo
[ "$rc" -eq 1 ] && [ "$(lines "$T/err")" -eq 1 ] && ok || bad "owl pull not-a-repo: exit $rc: $(cat "$T/err")"
pull "$C" ../etc
[ "$rc" -eq 1 ] && [ "$(lines "$T/err")" -eq 1 ] && ok || bad "owl pull ../etc: exit $rc: $(cat "$T/err")"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
