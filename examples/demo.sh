#!/usr/bin/env bash
# `make demo`: starts two docker-registry processes on loopback in a temporary folder,
# seeds the source with sample images (one multi-arch), runs crossdock plan, apply and
# a second plan on examples/demo.toml, then stops what it started.
set -euo pipefail
crossdock=${1:?usage: demo.sh PATH/TO/crossdock}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d /tmp/crossdock-demo.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work" "$here/demo-certs"
}
trap cleanup EXIT

for port in 15001 15002; do
  if (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null; then
    echo "demo: port $port on 127.0.0.1 is in use; stop what listens there and retry" >&2
    exit 1
  fi
done

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

step "Starting a source registry (http://127.0.0.1:15001) and a destination (https://127.0.0.1:15002, basic auth)"
mkdir -p "$here/demo-certs" "$work/src" "$work/dst"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=crossdock demo CA" \
  -keyout "$work/ca.key" -out "$here/demo-certs/ca.pem" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout "$work/server.key" \
  -out "$work/server.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' > "$work/san.ext"
openssl x509 -req -in "$work/server.csr" -CA "$here/demo-certs/ca.pem" -CAkey "$work/ca.key" \
  -CAcreateserial -days 2 -extfile "$work/san.ext" -out "$work/server.pem" 2>/dev/null
mkdir -p "$work/skopeo-certs"; cp "$here/demo-certs/ca.pem" "$work/skopeo-certs/ca.crt"
export DEMO_DR_PASSWORD="demo-$(openssl rand -hex 6)"
htpasswd -Bbn admin "$DEMO_DR_PASSWORD" > "$work/htpasswd" 2>/dev/null
cat > "$work/src.yml" <<YML
version: 0.1
log: {level: error, accesslog: {disabled: true}}
storage: {filesystem: {rootdirectory: $work/src}, delete: {enabled: true}}
http: {addr: 127.0.0.1:15001}
YML
cat > "$work/dst.yml" <<YML
version: 0.1
log: {level: error, accesslog: {disabled: true}}
storage: {filesystem: {rootdirectory: $work/dst}, delete: {enabled: true}}
http: {addr: 127.0.0.1:15002, tls: {certificate: $work/server.pem, key: $work/server.key}}
auth: {htpasswd: {realm: demo, path: $work/htpasswd}}
YML
docker-registry serve "$work/src.yml" > "$work/src.log" 2>&1 & pids+=($!)
docker-registry serve "$work/dst.yml" > "$work/dst.log" 2>&1 & pids+=($!)
for i in $(seq 50); do
  curl -s -o /dev/null http://127.0.0.1:15001/v2/ && \
    curl -s -o /dev/null --cacert "$here/demo-certs/ca.pem" https://127.0.0.1:15002/v2/ && break
  sleep 0.1
done

step "Seeding the source with sample images (umoci + skopeo)"
layout="$work/layout"
umoci init --layout "$layout"
# A 16 MiB base layer shared by every image: it crosses to the destination once and
# is mounted into the other repositories.
umoci new --image "$layout:base"
head -c 16M /dev/urandom > "$work/base.bin"
umoci insert --rootless --image "$layout:base" "$work/base.bin" /base.bin
image() {  # image NAME ARCH FILE-CONTENT
  umoci tag --image "$layout:base" "$1"
  mkdir -p "$work/files"
  printf '%s\n' "$3" > "$work/files/$1.txt"
  umoci insert --rootless --image "$layout:$1" "$work/files/$1.txt" "/$1.txt"
  umoci config --image "$layout:$1" --architecture "$2" --os linux
}
push() {  # push REF REPO:TAG
  skopeo copy -q --all --preserve-digests --dest-tls-verify=false "oci:$layout:$1" "docker://127.0.0.1:15001/$2"
}
image api-1 amd64 "api 1.0.0";   push api-1 lib/app/api:v1.0.0
image api-2 amd64 "api 1.1.0";   push api-2 lib/app/api:v1.1.0
image api-rc amd64 "api 2.0 rc"; push api-rc lib/app/api:v2.0.0-rc1
image web-1 amd64 "web 3";       push web-1 lib/app/web:v3.0.0
push web-1 lib/app/web:latest
image tool-amd64 amd64 "tool for amd64"
image tool-arm64 arm64 "tool for arm64"
# A multi-arch OCI index over the two platform images.
desc() { jq -c --arg n "$1" --arg a "$2" '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"]==$n) | {mediaType, digest, size, platform: {architecture: $a, os: "linux"}}' "$layout/index.json"; }
index=$(jq -cn --argjson a "$(desc tool-amd64 amd64)" --argjson b "$(desc tool-arm64 arm64)" \
  '{schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json", manifests: [$a, $b]}')
digest=$(printf '%s' "$index" | sha256sum | cut -d' ' -f1)
printf '%s' "$index" > "$layout/blobs/sha256/$digest"
jq -c --arg d "sha256:$digest" --argjson s "${#index}" \
  '.manifests += [{mediaType: "application/vnd.oci.image.index.v1+json", digest: $d, size: $s, annotations: {"org.opencontainers.image.ref.name": "tool"}}]' \
  "$layout/index.json" > "$layout/index.new" && mv "$layout/index.new" "$layout/index.json"
push tool lib/tools/multi:v1
image other amd64 "not selected"; push other scratch/other:v1
echo "source: lib/app/api (v1.0.0 v1.1.0 v2.0.0-rc1), lib/app/web (v3.0.0 latest), lib/tools/multi:v1 (amd64+arm64), scratch/other:v1"

cd "$here"
state="$work/crossdock.state.json"
step "crossdock plan"
"$crossdock" plan -c demo.toml --state "$state"
step "crossdock apply --auto-approve"
"$crossdock" apply -c demo.toml --state "$state" --auto-approve
step "Checking with skopeo that digests match"
for ref in "lib/app/api:v1.1.0 mirror/app/api:v1.1.0" "lib/tools/multi:v1 mirror/tools/multi:v1"; do
  set -- $ref
  a=$(skopeo inspect --raw --tls-verify=false "docker://127.0.0.1:15001/$1" | sha256sum | cut -c1-16)
  b=$(skopeo inspect --raw --cert-dir "$work/skopeo-certs" --creds "admin:$DEMO_DR_PASSWORD" "docker://127.0.0.1:15002/$2" 2>/dev/null | sha256sum | cut -c1-16) || true
  echo "  $1 sha256:$a…  ->  $2 sha256:$b…"
done
step "crossdock plan again (expect no changes)"
"$crossdock" plan -c demo.toml --state "$state" --detailed-exitcode && echo "(exit 0: no changes)"
step "crossdock state list"
"$crossdock" state list -c demo.toml --state "$state"
