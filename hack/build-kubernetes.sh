#!/usr/bin/env bash
# Builds the Kubernetes server binaries from Debian's `kubernetes` source package and caches them
# outside the work tree, keyed by version: $CACHE_DIR/kubernetes/<version>/bin/.
# Debian bookworm's source package (1.20.5+really1.20.2) holds the full v1.20.2 tree with vendor/.
source "$(dirname "$0")/lib.sh"

BINARIES=(kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl)
OUT="$CACHE_DIR/kubernetes/$KUBERNETES_VERSION"
STAMP="$OUT/SHA256SUMS"

step "Kubernetes $KUBERNETES_VERSION server binaries"
if [ -f "$STAMP" ] && (cd "$OUT/bin" && sha256sum --quiet -c "$STAMP" 2>/dev/null) \
   && "$OUT/bin/kube-apiserver" --version 2>/dev/null | grep -qx "Kubernetes $KUBERNETES_VERSION"; then
  info "cached in $OUT/bin"
  exit 0
fi
[ "$KUBERNETES_VERSION" = v1.20.2 ] || die "only v1.20.2 can be built here (Debian bookworm's kubernetes source package)"

ensure_deb_src
apt_install golang-go rsync golang-github-modern-go-reflect2-dev dpkg-dev build-essential

WORK="$CACHE_DIR/kubernetes/src"
rm -rf "$WORK" && mkdir -p "$WORK"
cd "$WORK"
info "apt-get source --download-only kubernetes"
apt-get source --download-only kubernetes >/dev/null 2>&1 || die "apt-get source kubernetes failed (is deb-src reachable?)"
orig=$(ls kubernetes_*.orig.tar.* | head -n1)
mkdir tree && tar -xf "$orig" -C tree --strip-components=1
cd tree

# The vendored reflect2 v1.0.1 crashes under Go >= 1.18 (SIGSEGV in mapiterinit on the first
# custom resource write). Debian's 1.0.2 source fixes it.
info "replacing vendor/github.com/modern-go/reflect2 with Debian's 1.0.2"
rm -rf vendor/github.com/modern-go/reflect2
cp -r /usr/share/gocode/src/github.com/modern-go/reflect2 vendor/github.com/modern-go/reflect2
rm -f vendor/github.com/modern-go/reflect2/go.mod vendor/github.com/modern-go/reflect2/go.sum

mkdir -p .go/src/k8s.io && ln -s ../../.. .go/src/k8s.io/kubernetes
what=""
for b in "${BINARIES[@]}"; do what="$what cmd/$b"; done
info "make WHAT=\"${what# }\" (several minutes; log: $WORK/build.log)"
start=$(date +%s)
(
  export GOPATH="$PWD/.go" CGO_ENABLED=0 GOFLAGS=-mod=vendor GO111MODULE=on
  export KUBE_GIT_VERSION="$KUBERNETES_VERSION" KUBE_GIT_TREE_STATE=clean KUBE_GIT_COMMIT=debian-source-package
  cd .go/src/k8s.io/kubernetes
  make WHAT="${what# }" >"$WORK/build.log" 2>&1
) &
pid=$!
while kill -0 "$pid" 2>/dev/null; do
  sleep 30
  info "... $(( $(date +%s) - start )) s, $(tail -n 1 "$WORK/build.log" | cut -c1-100)"
done
wait "$pid" || { tail -n 30 "$WORK/build.log" >&2; die "kubernetes build failed"; }

mkdir -p "$OUT/bin"
for b in "${BINARIES[@]}"; do
  install -m 0755 "_output/bin/$b" "$OUT/bin/$b"
done
(cd "$OUT/bin" && sha256sum "${BINARIES[@]}") >"$STAMP"
"$OUT/bin/kube-apiserver" --version | grep -qx "Kubernetes $KUBERNETES_VERSION" \
  || die "built kube-apiserver reports '$("$OUT/bin/kube-apiserver" --version)', expected Kubernetes $KUBERNETES_VERSION"
rm -rf "$WORK"
info "built in $(( $(date +%s) - start )) s: $OUT/bin"
