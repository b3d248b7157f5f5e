#!/usr/bin/env bash
# vigil patch: every error path exits 2 with exactly one line "vigil patch: ..." on stderr that
# names the problem, and writes nothing to stdout.
set -euo pipefail
: "${VIGIL:?}" "${SRC_DIR:?}"
T="$SRC_DIR/tests/patcher"
w=$(mktemp -d)
trap 'rm -rf "$w"' EXIT
fail=0
n=0

# expect_error SUBSTRING ARGS... : runs `vigil patch ARGS...` (stdin from /dev/null).
expect_error() {
  local want=$1; shift
  n=$((n + 1))
  local rc=0
  "$VIGIL" patch "$@" >"$w/out" 2>"$w/err" </dev/null || rc=$?
  local lines; lines=$(wc -l <"$w/err")
  if [ "$rc" != 2 ] || [ "$lines" != 1 ] || [ -s "$w/out" ] || ! grep -q '^vigil patch: ' "$w/err" ||
     ! grep -qF -- "$want" "$w/err"; then
    echo "FAIL: vigil patch $* (rc=$rc, want exit 2 and one line containing '$want'):"
    cat "$w/err" "$w/out"
    fail=1
  fi
}

# expect_error_in CONTENT SUBSTRING ecs|cfn [ARGS...]: the same, with CONTENT (printf %b) as --in.
expect_error_in() {
  local content=$1 want=$2 target=$3
  shift 3
  printf '%b' "$content" >"$w/in.$n"
  expect_error "$want" "$target" --image vigil:test --in "$w/in.$n" "$@"
}

# A minimal task definition with one container; $1 = extra JSON members of the container,
# $2 = extra members of the task.
task() {
  printf '{"family": "t", "containerDefinitions": [{"name": "app", "image": "busybox", "entryPoint": ["/bin/app"]%s}]%s}\n' "$1" "$2"
}
IMG=(--image vigil:test)

# Command line
expect_error "missing target" 
expect_error "unknown target 'k8s'" k8s
expect_error "unknown option '--bogus'" ecs --bogus 1 "${IMG[@]}"
expect_error "unexpected argument 'stray'" ecs stray
expect_error "--in needs a value" ecs "${IMG[@]}" --in
expect_error "missing --image" ecs --in "$T/ecs/seed-before.json"
expect_error "--volume-path 'vigil'" ecs "${IMG[@]}" --volume-path vigil
expect_error "--volume-path '/'" ecs "${IMG[@]}" --volume-path /

# Input
expect_error "cannot read task definition $w/missing.json" ecs "${IMG[@]}" --in "$w/missing.json"
printf '{\n  "family": x\n}\n' >"$w/bad.json"
expect_error "invalid JSON at line 2, column 13" ecs "${IMG[@]}" --in "$w/bad.json"
expect_error "stdin: empty input; expected a task definition" ecs "${IMG[@]}"
expect_error_in '[1, 2]\n' "input is a JSON array" ecs
expect_error_in '{"family": "t"}\n' "task definition 't': no containerDefinitions" ecs
expect_error_in '{"family": "t", "containerDefinitions": []}\n' "containerDefinitions must be a non-empty list" ecs
echo '{"family": "t", "containerDefinitions": [{"image": "x"}]}' >"$w/noname.json"
expect_error_in '{"family": "t", "containerDefinitions": [{"name": "a"}, {"name": "a"}]}\n' "containerDefinitions[1]: two containers are named 'a'" ecs
expect_error "containerDefinitions[0]: no name" ecs "${IMG[@]}" --in "$w/noname.json"

# Container selection
task "" "" >"$w/t.json"
expect_error "--container web: no container named 'web' in task definition 't' (containers: app)" ecs "${IMG[@]}" --in "$w/t.json" --container web
expect_error "--exclude web: no container named 'web'" ecs "${IMG[@]}" --in "$w/t.json" --exclude web
expect_error "--container vigil-init: that name is reserved" ecs "${IMG[@]}" --in "$w/t.json" --container vigil-init
expect_error "--container app and --exclude app: pick one" ecs "${IMG[@]}" --in "$w/t.json" --container app --exclude app
task ', "dockerLabels": {"vigil.io/injection": "disabled"}' "" >"$w/label.json"
expect_error "selected with --container but labelled vigil.io/injection: disabled" ecs "${IMG[@]}" --in "$w/label.json" --container app

# Platform
task "" ', "runtimePlatform": {"operatingSystemFamily": "WINDOWS_SERVER_2022_CORE"}' >"$w/win.json"
expect_error "operatingSystemFamily is WINDOWS_SERVER_2022_CORE: vigil runs only in Linux containers" ecs "${IMG[@]}" --in "$w/win.json"
task "" ', "runtimePlatform": {"cpuArchitecture": "RISCV"}' >"$w/arch.json"
expect_error "cpuArchitecture is 'RISCV', expected X86_64 or ARM64" ecs "${IMG[@]}" --in "$w/arch.json"

# Entrypoint resolution and --image-config
D="$T/ecs/describe-output-no-entrypoint.json"
expect_error "containerDefinitions[0] (api): no entryPoint in the task definition" ecs "${IMG[@]}" --in "$D" --exclude log_router --offline
expect_error "(log_router): no entryPoint in the task definition, so the container runs its image's ENTRYPOINT, which vigil patch cannot see offline; pass --image-config log_router=FILE" ecs "${IMG[@]}" --in "$D" --image-config "api=$T/ecs/image-config-api.json" --offline
expect_error "--image-config 'api': expected CONTAINER=FILE" ecs "${IMG[@]}" --in "$D" --image-config api
expect_error "cannot read --image-config file $w/none.json" ecs "${IMG[@]}" --in "$D" --image-config "api=$w/none.json"
expect_error "--image-config $w/bad.json: invalid JSON at line 2" ecs "${IMG[@]}" --in "$D" --image-config "api=$w/bad.json"
echo '{"architecture": "arm64"}' >"$w/noconfig.json"
expect_error "no config.Entrypoint or Config.Entrypoint found" ecs "${IMG[@]}" --in "$D" --image-config "api=$w/noconfig.json"
echo '[{"Config": {}}, {"Config": {}}]' >"$w/two.json"
expect_error "describes 2 images, expected one" ecs "${IMG[@]}" --in "$D" --image-config "api=$w/two.json"
echo '{"config": {"Entrypoint": "/bin/app"}}' >"$w/string.json"
expect_error "Entrypoint must be a list of strings" ecs "${IMG[@]}" --in "$D" --image-config "api=$w/string.json"
expect_error "--image-config api: given twice" ecs "${IMG[@]}" --in "$D" --image-config "api=$T/ecs/image-config-api.json" --image-config "api=$T/ecs/image-config-api.json"
expect_error "--image-config nope: no container named 'nope'" ecs "${IMG[@]}" --in "$D" --image-config "nope=$T/ecs/image-config-api.json"
echo '{"family": "t", "containerDefinitions": [{"name": "app", "image": "x"}]}' >"$w/bare.json"
echo '{"config": {"Entrypoint": null, "Cmd": null}}' >"$w/nothing.json"
expect_error "has neither Entrypoint nor Cmd and the task sets no command" ecs "${IMG[@]}" --in "$w/bare.json" --image-config "app=$w/nothing.json"
expect_error_in '{"family": "t", "containerDefinitions": [{"name": "app", "image": "x", "entryPoint": []}]}\n' "entryPoint is an empty list" ecs
expect_error_in '{"family": "t", "containerDefinitions": [{"name": "app", "image": "x", "entryPoint": "/bin/app"}]}\n' "entryPoint must be a list, not string" ecs

# Conflicts with what is there
task ', "linuxParameters": {"capabilities": {"drop": ["SYS_PTRACE"]}}' "" >"$w/drop.json"
expect_error "linuxParameters.capabilities.drop removes SYS_PTRACE" ecs "${IMG[@]}" --in "$w/drop.json"
task ', "mountPoints": [{"sourceVolume": "data", "containerPath": "/vigil"}]' "" >"$w/mount.json"
expect_error "mountPoints already mounts something at /vigil" ecs "${IMG[@]}" --in "$w/mount.json"
task "" ', "volumes": [{"name": "vigil", "efsVolumeConfiguration": {"fileSystemId": "fs-1"}}]' >"$w/vol.json"
expect_error "a volume named 'vigil' already exists with efsVolumeConfiguration" ecs "${IMG[@]}" --in "$w/vol.json"
expect_error_in '{"family": "t", "containerDefinitions": [{"name": "app", "image": "x", "entryPoint": ["/bin/app"]}, {"name": "vigil-init", "image": "someone-else"}]}\n' "a container named vigil-init already exists with another image (\"someone-else\")" ecs
"$VIGIL" patch ecs "${IMG[@]}" --in "$w/t.json" --out "$w/patched.json"
expect_error "already patched for another volume path or CPU architecture" ecs "${IMG[@]}" --in "$w/patched.json" --volume-path /other
expect_error "a container named vigil-init already exists with another image" ecs --image vigil:new --in "$w/patched.json"
task ', "environment": [{"name": "VIGIL_OPTS"}]' "" >"$w/env.json"
expect_error "VIGIL_OPTS in environment must be a string, not null" ecs "${IMG[@]}" --in "$w/env.json" --opts=--trace=info
expect_error "cannot write --out $w/no/such/dir/out.json" ecs "${IMG[@]}" --in "$w/t.json" --out "$w/no/such/dir/out.json"

# CloudFormation
expect_error_in 'Resources: [\n' "template: invalid YAML at line 2" cfn
expect_error_in 'Description: nothing\n' "template: no Resources section" cfn
expect_error_in 'Resources: {}\n---\nResources: {}\n' "template: holds 2 YAML documents, expected one" cfn
expect_error_in 'Resources:\n  T:\n    Type: AWS::ECS::TaskDefinition\n' "resource T: no Properties" cfn
expect_error_in 'Resources:\n  B:\n    Type: AWS::S3::Bucket\n' "no AWS::ECS::TaskDefinition resource" cfn
expect_error_in 'Resources:\n  T:\n    Type: AWS::ECS::TaskDefinition\n    Properties:\n      ContainerDefinitions: !If [C, [], []]\n' "resource T: ContainerDefinitions is computed by !If, but vigil patch needs it as a literal non-empty list" cfn
expect_error_in 'Resources:\n  T:\n    Type: AWS::ECS::TaskDefinition\n    Properties:\n      ContainerDefinitions:\n        - !If [C, {Name: a}, !Ref AWS::NoValue]\n' "resource T: ContainerDefinitions[0] is computed by !If, but vigil patch needs it as a literal object" cfn
expect_error_in 'Resources:\n  T:\n    Type: AWS::ECS::TaskDefinition\n    Properties:\n      ContainerDefinitions:\n        - Name: app\n          EntryPoint: {"Fn::Split": [" ", "a b"]}\n' "EntryPoint is computed by Fn::Split" cfn
expect_error_in 'Resources:\n  T:\n    Type: AWS::ECS::TaskDefinition\n    Properties:\n      ContainerDefinitions:\n        - Name: !Sub "${X}-app"\n' "ContainerDefinitions[0].Name is computed by !Sub" cfn

[ "$fail" = 0 ] && echo "ok: $n error cases"
exit "$fail"
