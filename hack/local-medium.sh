#!/usr/bin/env bash
# The medium-touch local site: a bootstrap cluster (etcd, kube-apiserver, kube-controller-manager with
# Gardener's CRDs) and the local provider extension on this machine. `start` leaves running ones alone;
# `stop` removes everything the extension created (by id), then the bootstrap cluster and the artifacts.
source "$(dirname "$0")/lib.sh"

SITE_DIR="$REPO_ROOT/inventories/local-medium"
STATE="$SITE_DIR/.site"
PYTHON="$REPO_ROOT/.venv/bin/python"

case "${1:-}" in
  start)
    step "Bootstrap cluster and local provider extension (medium touch)"
    "$PYTHON" "$HACK_DIR/bootstrap-cluster.py" start --state-dir "$STATE/bootstrap-cluster" --port 6643
    "$PYTHON" "$HACK_DIR/local-extension/local-extension.py" start --state-dir "$STATE/local-extension" \
      --kubeconfig "$STATE/bootstrap-cluster/admin.kubeconfig" --site local-medium --api-port 6444 \
      --bastion-ports 2230-2299
    ;;
  stop)
    step "Removing the medium-touch local site"
    if [ -d "$STATE/local-extension" ]; then
      "$PYTHON" "$HACK_DIR/local-extension/local-extension.py" cleanup --state-dir "$STATE/local-extension"
    fi
    if [ -d "$STATE/bootstrap-cluster" ]; then
      "$PYTHON" "$HACK_DIR/bootstrap-cluster.py" stop --state-dir "$STATE/bootstrap-cluster"
    fi
    rm -rf "$STATE" "$SITE_DIR/artifacts"
    ;;
  *)
    die "usage: $0 start|stop"
    ;;
esac
