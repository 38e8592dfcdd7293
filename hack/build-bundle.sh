#!/usr/bin/env bash
# Builds the offline bundle for the local site: component images (etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler, kube-proxy, pause, busybox) as gzipped `docker save` archives,
# the node binaries (kubelet, kubectl, etcdctl), and manifest.json with the sha256 of every file.
# Everything comes from the cached Kubernetes build and Debian packages: no registry.
source "$(dirname "$0")/lib.sh"

K8S_BIN="$CACHE_DIR/kubernetes/$KUBERNETES_VERSION/bin"
BUNDLE="$CACHE_DIR/bundle/$KUBERNETES_VERSION-$(content_hash hack/images hack/build-bundle.sh)"
REPOSITORY=localhost/gardener-autonomous

step "Offline bundle $BUNDLE"
bundle_valid() {
  [ -f "$BUNDLE/manifest.json" ] || return 1
  python3 - "$BUNDLE" <<'PY'
import hashlib, json, pathlib, sys
root = pathlib.Path(sys.argv[1])
manifest = json.loads((root / "manifest.json").read_text())
for entry in manifest["images"] + manifest["binaries"]:
    digest = hashlib.sha256((root / entry["file"]).read_bytes()).hexdigest()
    if digest != entry["sha256"]:
        sys.exit(f"{entry['file']}: sha256 mismatch")
PY
}
# Inventories point at the stable link, so a rebuilt bundle needs no inventory change.
publish() {
  ln -sfn "$(basename "$BUNDLE")" "$CACHE_DIR/bundle/current"
  printf '%s\n' "$CACHE_DIR/bundle/current" >"$CACHE_DIR/bundle-dir"
}
if bundle_valid; then
  info "valid (every sha256 matches)"
  publish
  exit 0
fi
[ -x "$K8S_BIN/kube-apiserver" ] || die "no Kubernetes binaries in $K8S_BIN: run hack/build-kubernetes.sh first"
BASE_IMAGE=$(cat "$CACHE_DIR/debian-image" 2>/dev/null) || die "no Debian base image: run hack/build-node-image.sh first"

apt_install gcc libc6-dev
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/debs" "$WORK/bundle/images" "$WORK/bundle/bin"
(cd "$WORK/debs" && apt-get download etcd-server etcd-client busybox-static >/dev/null 2>&1) \
  || die "apt-get download etcd-server etcd-client busybox-static failed"
for deb in "$WORK"/debs/*.deb; do dpkg-deb -x "$deb" "$WORK/debs/root"; done
ETCD_VERSION=v$("$WORK/debs/root/usr/bin/etcd" --version | awk '/etcd Version/ {print $3}')
BUSYBOX_VERSION=v$(dpkg-deb -f "$WORK"/debs/busybox-static_*.deb Version | sed 's/^[0-9]*://; s/-.*//')

images_json=()
# build_image NAME VERSION CONTEXT [docker build args...]
# The tag ends with the image's own id: a rebuilt image never reuses a tag, so machines that hold
# an older image with the same version import the new one (they compare references, not contents).
build_image() {
  local name=$1 version=$2 context=$3
  shift 3
  local build_ref="$REPOSITORY/$name:build" id ref
  quietly docker build --force-rm -t "$build_ref" "$@" "$context"
  id=$(docker image inspect --format '{{.Id}}' "$build_ref")
  ref="$REPOSITORY/$name:$version-${id:7:8}"
  docker tag "$build_ref" "$ref" && docker rmi "$build_ref" >/dev/null
  info "image $ref"
  # Compressed: a third of the bytes to carry to every machine (imported with gunzip | ctr images import -).
  docker save "$ref" | gzip -6 >"$WORK/bundle/images/$name.tar.gz"
  images_json+=("{\"name\": \"$name\", \"ref\": \"$ref\", \"file\": \"images/$name.tar.gz\"}")
}

ctx="$WORK/ctx-pause" && mkdir -p "$ctx" && cp "$HACK_DIR/images/pause/Dockerfile" "$ctx/"
gcc -static -O2 -s -o "$ctx/pause" "$HACK_DIR/images/pause/pause.c"
build_image pause v1 "$ctx"

ctx="$WORK/ctx-etcd" && mkdir -p "$ctx/rootfs/usr/local/bin" && cp "$HACK_DIR/images/etcd/Dockerfile" "$ctx/"
cp "$WORK/debs/root/usr/bin/etcd" "$WORK/debs/root/usr/bin/etcdctl" "$ctx/rootfs/usr/local/bin/"
for lib in $(ldd "$ctx/rootfs/usr/local/bin/etcd" "$ctx/rootfs/usr/local/bin/etcdctl" | grep -oE '/[^ :]+\.so[^ :]*' | sort -u); do
  mkdir -p "$ctx/rootfs$(dirname "$lib")" && cp -L "$lib" "$ctx/rootfs$lib"
done
build_image etcd "$ETCD_VERSION" "$ctx"

for component in kube-apiserver kube-controller-manager kube-scheduler; do
  ctx="$WORK/ctx-$component" && mkdir -p "$ctx" && cp "$HACK_DIR/images/kube-component/Dockerfile" "$K8S_BIN/$component" "$ctx/"
  build_image "$component" "$KUBERNETES_VERSION" "$ctx" --build-arg "COMPONENT=$component"
done

ctx="$WORK/ctx-kube-proxy" && mkdir -p "$ctx" && cp "$HACK_DIR/images/kube-proxy/Dockerfile" "$K8S_BIN/kube-proxy" "$ctx/"
build_image kube-proxy "$KUBERNETES_VERSION" "$ctx" --build-arg "BASE_IMAGE=$BASE_IMAGE"

ctx="$WORK/ctx-busybox" && mkdir -p "$ctx" && cp "$HACK_DIR/images/busybox/Dockerfile" "$WORK/debs/root/bin/busybox" "$ctx/"
build_image busybox "$BUSYBOX_VERSION" "$ctx"

install -m 0755 "$K8S_BIN/kubelet" "$K8S_BIN/kubectl" "$WORK/debs/root/usr/bin/etcd" "$WORK/debs/root/usr/bin/etcdctl" "$WORK/bundle/bin/"

python3 - "$WORK/bundle" "$KUBERNETES_VERSION" "$ETCD_VERSION" "[$(IFS=,; echo "${images_json[*]}")]" <<'PY'
import hashlib, json, pathlib, sys
root, kubernetes_version, etcd_version, images = pathlib.Path(sys.argv[1]), sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
def sha256(path):
    return hashlib.sha256((root / path).read_bytes()).hexdigest()
for image in images:
    image["sha256"] = sha256(image["file"])
binaries = [{"name": p.name, "file": f"bin/{p.name}", "sha256": sha256(f"bin/{p.name}")} for p in sorted((root / "bin").iterdir())]
manifest = {"apiVersion": "gardener-autonomous/v1", "kind": "OfflineBundle",
            "kubernetesVersion": kubernetes_version, "etcdVersion": etcd_version,
            "images": images, "binaries": binaries}
(root / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
PY
rm -rf "$BUNDLE" && mkdir -p "$(dirname "$BUNDLE")" && mv "$WORK/bundle" "$BUNDLE"
# Bundles built from older inputs are never used again.
find "$(dirname "$BUNDLE")" -mindepth 1 -maxdepth 1 -type d ! -path "$BUNDLE" -exec rm -rf {} +
publish
info "$(du -sh "$BUNDLE" | cut -f1) in $BUNDLE"
