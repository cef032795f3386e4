#!/bin/sh
# malformed_hub.sh — `owl pull` given broken or hostile file lists by
# tests/hub_server.c (--api-json): not JSON, no commit sha, siblings not a
# list, paths that climb out of the cache or are absolute, a bad size, a
# bad LFS entry or blobId, a listed size, sha256 or git blob id the bytes
# do not match. Each is one line on stderr and exit 1, nothing is written
# outside the cache, and no file that failed its check is kept. Labelled malformed: the sanitizer
# pass runs it again.
set -u
unset HF_TOKEN HF_ENDPOINT
: "${OWL_BIN:?}" "${OWL_TMP:?}" "${OWL_HUB_SERVER:?}"
T=$OWL_TMP/malformed_hub.$$
SERVER_PID=""
stop_server() {
    [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
    SERVER_PID=""
}
mkdir -p "$T" && trap 'stop_server; rm -rf "$T"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }

R=$T/root/org/tiny
mkdir -p "$R"
printf '# tiny\n' >"$R/README.md"                    # 7 bytes
printf 'weights, not really\n' >"$R/model.safetensors" # 20 bytes, LFS
SHA=0123456789abcdef0123456789abcdef01234567
H64=${SHA}0123456789abcdef01234567

# case NAME JSON EXPECT: the API answers JSON; owl pull must exit 1 with
# one stderr line matching EXPECT
case_() {
    name=$1 json=$2 expect=$3
    stop_server
    printf '%s' "$json" >"$T/api.json"
    rm -f "$T/port"
    "$OWL_HUB_SERVER" --root "$T/root" --port-file "$T/port" --api-json "$T/api.json" --lifetime 30 &
    SERVER_PID=$!
    i=0
    while [ ! -s "$T/port" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
    PORT=$(cat "$T/port" 2>/dev/null)
    [ -n "$PORT" ] || { echo "FAIL: hub_server did not start" >&2; exit 1; }
    C=$T/cache.$name
    OWL_CACHE=$C HF_ENDPOINT=http://127.0.0.1:$PORT "$OWL_BIN" pull org/tiny >"$T/out" 2>"$T/err"
    rc=$?
    n=$(wc -l <"$T/err" | tr -d ' ')
    [ "$rc" -eq 1 ] && [ "$n" -eq 1 ] && grep -q -- "$expect" "$T/err" && ok ||
        bad "$name: exit $rc, $n lines, expected 1 and one line with '$expect': $(cat "$T/err")"
    [ ! -e "$C/hub/org/tiny/refs/main" ] && ok || bad "$name: refs/main written after a failed pull"
}

case_ not_json '{"sha": "'$SHA'", "siblings": [' "not JSON"
case_ empty '' "not JSON"
case_ no_sha '{"siblings": []}' "no commit sha"
case_ short_sha '{"sha": "0123abc", "siblings": []}' "no commit sha"
case_ upper_sha '{"sha": "0123456789ABCDEF0123456789ABCDEF01234567", "siblings": []}' "no commit sha"
case_ no_siblings '{"sha": "'$SHA'"}' "siblings"
case_ siblings_object '{"sha": "'$SHA'", "siblings": {"rfilename": "README.md"}}' "siblings"
case_ no_rfilename '{"sha": "'$SHA'", "siblings": [{"size": 7}]}' "missing or unsafe path"
case_ climb '{"sha": "'$SHA'", "siblings": [{"rfilename": "../../../escaped.txt", "size": 7}]}' "unsafe path"
case_ climb_mid '{"sha": "'$SHA'", "siblings": [{"rfilename": "a/../../escaped.txt", "size": 7}]}' "unsafe path"
case_ absolute '{"sha": "'$SHA'", "siblings": [{"rfilename": "/tmp/escaped.txt", "size": 7}]}' "unsafe path"
case_ empty_part '{"sha": "'$SHA'", "siblings": [{"rfilename": "a//b", "size": 7}]}' "unsafe path"
case_ control '{"sha": "'$SHA'", "siblings": [{"rfilename": "a\nb", "size": 7}]}' "unsafe path"
case_ neg_size '{"sha": "'$SHA'", "siblings": [{"rfilename": "README.md", "size": -7}]}' "bad size"
case_ str_size '{"sha": "'$SHA'", "siblings": [{"rfilename": "README.md", "size": "7"}]}' "bad size"
case_ lfs_no_sha '{"sha": "'$SHA'", "siblings": [{"rfilename": "model.safetensors", "size": 20, "lfs": {"size": 20}}]}' "LFS entry"
case_ lfs_bad_sha '{"sha": "'$SHA'", "siblings": [{"rfilename": "model.safetensors", "size": 20, "lfs": {"size": 20, "sha256": "xyz"}}]}' "LFS entry"
case_ lfs_size_differs '{"sha": "'$SHA'", "siblings": [{"rfilename": "model.safetensors", "size": 20, "lfs": {"size": 21, "sha256": "'$H64'"}}]}' "LFS entry"
# well-formed lists the bytes do not match: the file is removed
case_ size_wrong '{"sha": "'$SHA'", "siblings": [{"rfilename": "README.md", "size": 5}]}' "sent more than the 5 bytes the hub lists"
BIG=9223372036854775807
case_ size_sum '{"sha": "'$SHA'", "siblings": [{"rfilename": "a", "size": '$BIG'}, {"rfilename": "b", "size": '$BIG'}, {"rfilename": "c", "size": '$BIG'}]}' "add up past"
case_ size_huge '{"sha": "'$SHA'", "siblings": [{"rfilename": "README.md", "size": '$BIG'}]}' "not enough disk space"
case_ size_short '{"sha": "'$SHA'", "siblings": [{"rfilename": "README.md", "size": 9}]}' "received 7 bytes, the hub lists 9"
case_ sha_wrong '{"sha": "'$SHA'", "siblings": [{"rfilename": "model.safetensors", "size": 20, "lfs": {"size": 20, "sha256": "'$H64'"}}]}' "checksum mismatch"
D=$T/cache.sha_wrong/hub/org/tiny/$SHA
[ ! -e "$D/model.safetensors" ] && [ ! -e "$D/model.safetensors.part" ] && ok || bad "sha_wrong: the file was kept"
D=$T/cache.size_wrong/hub/org/tiny/$SHA
[ ! -e "$D/README.md" ] && [ ! -e "$D/README.md.part" ] && ok || bad "size_wrong: the file was kept"
case_ blob_wrong '{"sha": "'$SHA'", "siblings": [{"rfilename": "README.md", "size": 7, "blobId": "'$SHA'"}]}' "checksum mismatch (git blob id"
D=$T/cache.blob_wrong/hub/org/tiny/$SHA
[ ! -e "$D/README.md" ] && [ ! -e "$D/README.md.part" ] && ok || bad "blob_wrong: the file was kept"
case_ blob_bad '{"sha": "'$SHA'", "siblings": [{"rfilename": "README.md", "size": 7, "blobId": 7}]}' "bad blobId"
# a file named in the list the server does not have: 404 for that file
case_ missing_file '{"sha": "'$SHA'", "siblings": [{"rfilename": "absent.bin", "size": 3}]}' "absent.bin: not found"
stop_server

# nothing escaped the cache folders
[ -z "$(find "$T" /tmp -maxdepth 1 -name escaped.txt 2>/dev/null)" ] && ok || bad "a file escaped the cache"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
