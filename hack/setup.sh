#!/usr/bin/env bash
# `make setup`: everything a fresh Debian 12 machine needs to run the local site and the tests.
# Each step checks its own output and skips itself when that output exists and is valid.
source "$(dirname "$0")/lib.sh"

started=$(date +%s)
timed() {
  local begin=$SECONDS
  "$@"
  info "($(( SECONDS - begin )) s)"
}
apt_install openssh-client iptables gcc libc6-dev rsync
timed bash "$HACK_DIR/setup-docker.sh"
timed bash "$HACK_DIR/setup-venv.sh"
timed bash "$HACK_DIR/build-node-image.sh"
timed bash "$HACK_DIR/build-kubernetes.sh"
timed bash "$HACK_DIR/build-bundle.sh"
# The tests and the README use the cluster's own kubectl version.
ln -sf "$CACHE_DIR/kubernetes/$KUBERNETES_VERSION/bin/kubectl" "$REPO_ROOT/.venv/bin/kubectl"
step "setup done in $(( $(date +%s) - started )) s"
