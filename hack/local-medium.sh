#!/usr/bin/env bash
# The medium-touch local site: a bootstrap cluster (etcd, kube-apiserver, kube-controller-manager with
# Gardener's CRDs) and the local provider extension on this machine. `start` leaves running ones alone;
# `stop` removes everything the extension created (by id), then the bootstrap cluster and the artifacts.
source "$(dirname "$0")/lib.sh"

# Another inventory, name and ports let tests run their own medium site beside the developer's.
SITE_DIR=${MEDIUM_INVENTORY:-$REPO_ROOT/inventories/local-medium}
SITE_NAME=${MEDIUM_SITE:-local-medium}
BOOTSTRAP_PORT=${MEDIUM_BOOTSTRAP_PORT:-6643}
API_PORT=${MEDIUM_API_PORT:-6444}
BASTION_PORTS=${MEDIUM_BASTION_PORTS:-2230-2299}
STATE="$SITE_DIR/.site"
PYTHON="$REPO_ROOT/.venv/bin/python"

case "${1:-}" in
  start)
    step "Bootstrap cluster and local provider extension (medium touch)"
    "$PYTHON" "$HACK_DIR/bootstrap-cluster.py" start --state-dir "$STATE/bootstrap-cluster" --port "$BOOTSTRAP_PORT"
    "$PYTHON" "$HACK_DIR/local-extension/local-extension.py" start --state-dir "$STATE/local-extension" \
      --kubeconfig "$STATE/bootstrap-cluster/admin.kubeconfig" --site "$SITE_NAME" --api-port "$API_PORT" \
      --bastion-ports "$BASTION_PORTS"
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
