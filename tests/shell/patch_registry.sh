#!/usr/bin/env bash
# vigil patch reads a missing entrypoint from the image's registry: real registries (Debian's
# docker-registry, started here on 127.0.0.1, without and with htpasswd auth) holding images
# pushed by hand (tests/shell/patch_registry.py), and a Bearer-token front like Docker Hub's.
# Checks the patched entryPoint/command (Docker v2 manifests, OCI indexes for amd64 and arm64,
# digests, CloudFormation), that every patched task is valid RegisterTaskDefinition input
# (botocore), credentials from the docker config (auths, a credential helper), and the one-line
# errors: missing tag, unreachable registry, auth failures, no image for the platform, too
# large, not JSON, --offline. Only loopback addresses are contacted.
set -euo pipefail
: "${VIGIL:?}" "${SRC_DIR:?}"
REGISTRY=/usr/bin/docker-registry
[ -x "$REGISTRY" ] || { echo "SKIP: $REGISTRY not installed (Debian package docker-registry)"; exit 77; }
# libcurl and urllib would send loopback requests to a proxy.
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY
HELPER="$SRC_DIR/tests/shell/patch_registry.py"
w=$(mktemp -d)
pids=()
cleanup() {
  # (start_registry runs in $(...), a subshell: its servers' pids are in files)
  for f in "$w"/*/pid; do [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null || true; done
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$w"
}
trap cleanup EXIT
fail=0
export DOCKER_CONFIG="$w/no-docker-config"  # never the user's ~/.docker

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

wait_port() {
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "FAIL: nothing listens on 127.0.0.1:$1"; cat "$2"; exit 1
}

# start_registry NAME [htpasswd-file]: prints the port.
start_registry() {
  local dir="$w/$1" port
  port=$(free_port)
  mkdir -p "$dir/storage"
  cat >"$dir/config.yml" <<EOF
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $dir/storage
http:
  addr: 127.0.0.1:$port
EOF
  [ -z "${2:-}" ] || printf 'auth:\n  htpasswd:\n    realm: vigil-test\n    path: %s\n' "$2" >>"$dir/config.yml"
  "$REGISTRY" serve "$dir/config.yml" >"$dir/log" 2>&1 &
  echo $! >"$dir/pid"
  wait_port "$port" "$dir/log"
  echo "$port"
}

IMG=(--image vigil:test)
PREFIX='["/vigil/rootfs/bin/vigil-launch", "run", "--"]'  # the same for amd64 and arm64

# task FILE IMAGE [EXTRA-CONTAINER-MEMBERS] [EXTRA-TASK-MEMBERS]: a task with one container "app".
task() {
  printf '{"family": "t", "memory": "512", "containerDefinitions": [{"name": "app", "image": "%s", "essential": true%s}]%s}\n' \
    "$2" "${3:-}" "${4:-}" >"$1"
}

# expect_patch NAME FILE ENTRY-JSON COMMAND-JSON [ARGS...]: patch ecs FILE succeeds, is valid for
# botocore, and container "app" gets PREFIX + ENTRY and COMMAND (null: none).
expect_patch() {
  local name=$1 file=$2 entry=$3 command=$4
  shift 4
  local out="$w/$name.out.json"
  if ! "$VIGIL" patch ecs "${IMG[@]}" --in "$file" --out "$out" "$@" 2>"$w/$name.err"; then
    echo "FAIL $name: vigil patch failed:"; cat "$w/$name.err"; fail=1; return
  fi
  if ! python3 - "$out" "$entry" "$command" <<'EOF'
import json, sys
doc = json.load(open(sys.argv[1]))
app = next(c for c in doc["containerDefinitions"] if c["name"] == "app")
want_entry, want_cmd = json.loads(sys.argv[2]), json.loads(sys.argv[3])
if app["entryPoint"] != want_entry or app.get("command") != want_cmd:
    sys.exit(f"entryPoint {app['entryPoint']} command {app.get('command')}, want {want_entry} {want_cmd}")
EOF
  then
    echo "FAIL $name"; fail=1; return
  fi
  outputs+=("$out")  # validated together at the end (botocore is slow to load)
}
outputs=()

# expect_error NAME FILE SUBSTRING [ARGS...]: exit 2, one line "vigil patch: ..." containing SUBSTRING.
expect_error() {
  local name=$1 file=$2 want=$3
  shift 3
  local rc=0
  "$VIGIL" patch ecs "${IMG[@]}" --in "$file" "$@" >"$w/out" 2>"$w/err" || rc=$?
  if [ "$rc" != 2 ] || [ "$(wc -l <"$w/err")" != 1 ] || [ -s "$w/out" ] || ! grep -q '^vigil patch: ' "$w/err" ||
     ! grep -qF -- "$want" "$w/err"; then
    echo "FAIL $name (rc=$rc, want exit 2 and one line containing '$want'):"; cat "$w/err" "$w/out"; fail=1
  fi
}

# 1. A registry without authentication.
P=$(start_registry open)
R="127.0.0.1:$P"
push() { python3 "$HELPER" push "http://$R" "$@"; }
APP_DIGEST=$(push app:1 '[{"arch": "amd64", "entrypoint": ["/docker-entrypoint.sh"], "cmd": ["nginx", "-g", "daemon off;"]}]')
push cmdonly:1 '[{"arch": "amd64", "cmd": ["/bin/server", "--port", "80"]}]' >/dev/null
push empty:1 '[{"arch": "amd64"}]' >/dev/null
push multi:1 '[{"arch": "amd64", "entrypoint": ["/amd64-entry"], "cmd": ["a"]}, {"arch": "arm64", "entrypoint": ["/arm64-entry"], "cmd": ["b"]}]' >/dev/null
push amd64only:1 '[{"arch": "amd64", "entrypoint": ["/e"]}, {"arch": "386", "entrypoint": ["/e"]}]' >/dev/null

# entry ITEMS-JSON: the patched entryPoint, wrapper prefix + ITEMS.
entry() {
  python3 -c 'import json, sys; print(json.dumps(json.loads(sys.argv[1]) + json.loads(sys.argv[2])))' "$PREFIX" "$1"
}
ARM64=', "runtimePlatform": {"cpuArchitecture": "ARM64", "operatingSystemFamily": "LINUX"}'

task "$w/app.json" "$R/app:1"
expect_patch docker-v2 "$w/app.json" "$(entry '["/docker-entrypoint.sh"]')" '["nginx", "-g", "daemon off;"]'
task "$w/app-cmd.json" "$R/app:1" ', "command": ["nginx", "-T"]'
expect_patch task-command "$w/app-cmd.json" "$(entry '["/docker-entrypoint.sh"]')" '["nginx", "-T"]'
task "$w/digest.json" "$R/app@$APP_DIGEST"
expect_patch digest "$w/digest.json" "$(entry '["/docker-entrypoint.sh"]')" '["nginx", "-g", "daemon off;"]'
task "$w/tag-digest.json" "$R/app:gone@$APP_DIGEST"
expect_patch tag-and-digest "$w/tag-digest.json" "$(entry '["/docker-entrypoint.sh"]')" '["nginx", "-g", "daemon off;"]'
task "$w/cmdonly.json" "$R/cmdonly:1"
expect_patch cmd-only "$w/cmdonly.json" "$(entry '[]')" '["/bin/server", "--port", "80"]'
task "$w/multi.json" "$R/multi:1"
expect_patch index-amd64 "$w/multi.json" "$(entry '["/amd64-entry"]')" '["a"]'
task "$w/multi-arm.json" "$R/multi:1" "" "$ARM64"
expect_patch index-arm64 "$w/multi-arm.json" "$(entry '["/arm64-entry"]')" '["b"]'
# --image-config still wins: container c's image does not exist in the registry.
printf '{"family": "t", "memory": "512", "containerDefinitions": [{"name": "app", "image": "%s"}, {"name": "b", "image": "%s"}, {"name": "c", "image": "%s/nothing:1"}]}\n' \
  "$R/app:1" "$R/app:1" "$R" >"$w/three.json"
printf '{"config": {"Entrypoint": ["/offline"]}}' >"$w/offline-config.json"
expect_patch image-config-wins "$w/three.json" "$(entry '["/docker-entrypoint.sh"]')" '["nginx", "-g", "daemon off;"]' \
  --image-config "c=$w/offline-config.json"

# CloudFormation: the same lookup for a template's task definition.
cat >"$w/template.json" <<EOF
{"Resources": {"Task": {"Type": "AWS::ECS::TaskDefinition", "Properties": {"Family": "t", "Memory": "512",
  "ContainerDefinitions": [{"Name": "app", "Image": "$R/app:1", "Command": ["x"]}]}}}}
EOF
cat >"$w/check_cfn.py" <<'EOF'
import json, sys
c = json.load(open(sys.argv[1]))["Resources"]["Task"]["Properties"]["ContainerDefinitions"][0]
sys.exit(0 if c["EntryPoint"] == json.loads(sys.argv[2]) and c["Command"] == ["x"] else f"got {c}")
EOF
if ! "$VIGIL" patch cfn "${IMG[@]}" --in "$w/template.json" --out "$w/template.out.json" 2>"$w/err" ||
   ! python3 "$w/check_cfn.py" "$w/template.out.json" "$(entry '["/docker-entrypoint.sh"]')"; then
  echo "FAIL cfn"; cat "$w/err"; fail=1
elif ! python3 "$SRC_DIR/tests/patcher/validate_ecs.py" --cfn "$w/template.out.json"; then
  echo "FAIL cfn: not valid"; fail=1
fi

# Errors.
task "$w/missing.json" "$R/app:nope"
expect_error missing-tag "$w/missing.json" "containerDefinitions[0] (app): no entryPoint in the task definition and the image's ENTRYPOINT could not be read: registry $R: tag 'nope' not found in $R/app (HTTP 404: MANIFEST_UNKNOWN: manifest unknown); check the image name and tag; or pass --image-config app=FILE"
task "$w/norepo.json" "$R/nothing/here"
expect_error missing-repo "$w/norepo.json" "registry $R: tag 'latest' not found in $R/nothing/here (HTTP 404"
Q=$(free_port)  # nothing listens there
task "$w/unreachable.json" "127.0.0.1:$Q/app:1"
expect_error unreachable "$w/unreachable.json" "registry 127.0.0.1:$Q unreachable (http://127.0.0.1:$Q/v2/app/manifests/1): Failed to connect to 127.0.0.1 port $Q"
task "$w/noplatform.json" "$R/amd64only:1" "" "$ARM64"
expect_error no-platform "$w/noplatform.json" "registry $R: $R/amd64only:1 has no image for linux/arm64 (it has: linux/amd64, linux/386); check the task's runtimePlatform.cpuArchitecture"
task "$w/empty.json" "$R/empty:1"
expect_error empty-config "$w/empty.json" "the image config of 'app' (from its registry) has neither Entrypoint nor Cmd and the task sets no command"
task "$w/badref.json" "$R/App:1"
expect_error bad-reference "$w/badref.json" "image '$R/App:1': the repository is not lower-case letters"
task "$w/offline.json" "$R/app:1"
expect_error offline "$w/offline.json" "no entryPoint in the task definition, so the container runs its image's ENTRYPOINT, which vigil patch cannot see offline; pass --image-config app=FILE" --offline
# Plain http only for loopback and --insecure-registry hosts: an http token realm elsewhere is refused.

# 2. A Bearer-token front like Docker Hub's (anonymous token), proxying to the open registry.
python3 "$HELPER" front "$w/front.port" "http://$R" 2>"$w/front.log" &
pids+=($!)
for _ in $(seq 100); do [ -s "$w/front.port" ] && break; sleep 0.1; done
F="127.0.0.1:$(cat "$w/front.port")"
task "$w/token.json" "$F/multi:1"
expect_patch bearer-anonymous "$w/token.json" "$(entry '["/amd64-entry"]')" '["a"]'
task "$w/deny.json" "$F/deny/app:1"
expect_error bearer-refused "$w/deny.json" "registry $F: authentication failed: the token service $F refused an anonymous token (HTTP 401: UNAUTHORIZED: access denied); run \`docker login $F\`"
task "$w/big.json" "$F/big:1"
expect_error too-large "$w/big.json" "registry $F: the tag '1' is larger than 4 MiB; refused"
task "$w/garbage.json" "$F/garbage:1"
expect_error not-json "$w/garbage.json" "registry $F: the tag '1' of $F/garbage:1 is not JSON"

# 3. A registry with htpasswd (Basic) authentication; credentials from the docker config.
if hash=$(python3 -W ignore -c 'import crypt; print(crypt.crypt("s3cret", crypt.mksalt(crypt.METHOD_BLOWFISH)))' 2>/dev/null) &&
   [ -n "$hash" ]; then
  echo "vigil:$hash" >"$w/htpasswd"
  A="127.0.0.1:$(start_registry auth "$w/htpasswd")"
  python3 "$HELPER" push "http://$A" app:1 '[{"arch": "amd64", "entrypoint": ["/secret-entry"]}]' vigil:s3cret >/dev/null
  task "$w/auth.json" "$A/app:1"
  expect_error basic-no-credentials "$w/auth.json" "registry $A needs credentials and the docker config ($w/no-docker-config/config.json) has none for it: run \`docker login $A\`"
  mkdir -p "$w/dc-wrong" "$w/dc-right" "$w/dc-helper" "$w/bin"
  printf '{"auths": {"%s": {"auth": "%s"}}}' "$A" "$(printf vigil:wrong | base64)" >"$w/dc-wrong/config.json"
  DOCKER_CONFIG="$w/dc-wrong" expect_error basic-refused "$w/auth.json" "registry $A: authentication failed for $A/app (HTTP 401: UNAUTHORIZED: authentication required): the credentials from docker config $w/dc-wrong/config.json were refused"
  printf '{"auths": {"http://%s/": {"auth": "%s"}}}' "$A" "$(printf vigil:s3cret | base64)" >"$w/dc-right/config.json"
  DOCKER_CONFIG="$w/dc-right" expect_patch basic-auths "$w/auth.json" "$(entry '["/secret-entry"]')" null
  # A credential helper (as docker-credential-ecr-login is for ECR), found in PATH; it wins
  # over the wrong auths entry.
  printf '{"credHelpers": {"%s": "vigiltest"}, "auths": {"%s": {"auth": "%s"}}}' "$A" "$A" "$(printf vigil:wrong | base64)" \
    >"$w/dc-helper/config.json"
  printf '#!/bin/sh\nread -r server\n[ "$1" = get ] && printf %s "$server"\n' \
    "'{\"ServerURL\": \"%s\", \"Username\": \"vigil\", \"Secret\": \"s3cret\"}'" >"$w/bin/docker-credential-vigiltest"
  chmod +x "$w/bin/docker-credential-vigiltest"
  DOCKER_CONFIG="$w/dc-helper" PATH="$w/bin:$PATH" expect_patch credential-helper "$w/auth.json" "$(entry '["/secret-entry"]')" null
  DOCKER_CONFIG="$w/dc-helper" expect_error helper-missing "$w/auth.json" "credential helper docker-credential-vigiltest (named in $w/dc-helper/config.json) cannot be run: No such file or directory"
else
  echo "note: python3 crypt (bcrypt) unavailable: the htpasswd registry cases are not run"
fi

if ! python3 "$SRC_DIR/tests/patcher/validate_ecs.py" "${outputs[@]}"; then
  echo "FAIL: a patched task is not valid RegisterTaskDefinition input"; fail=1
fi
[ "$fail" = 0 ] && echo "patch_registry: all ${#outputs[@]} patched tasks and the errors as expected"
exit "$fail"
