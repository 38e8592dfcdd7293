#!/usr/bin/env bash
# The project's tool venv (.venv, pinned by requirements-dev.txt) and the run-time collections,
# taken offline from the PyPI `ansible` package (Galaxy is unreachable) into .collections/.
source "$(dirname "$0")/lib.sh"

VENV="$REPO_ROOT/.venv"
PYTHON=${PYTHON:-python3.11}
ANSIBLE_PACKAGE=ansible==12.3.0
# Collections the roles, molecule's docker driver and the local-site tooling use.
COLLECTIONS=(ansible.posix community.docker community.general community.crypto kubernetes.core ansible.utils)

step "Python venv (.venv)"
command -v "$PYTHON" >/dev/null || PYTHON=python3
wanted=$(cat "$REPO_ROOT/requirements-dev.txt" | sha256sum | cut -c1-16)
if [ -x "$VENV/bin/python" ] && [ "$(cat "$VENV/.requirements" 2>/dev/null)" = "$wanted" ]; then
  info "up to date"
else
  rm -rf "$VENV"
  "$PYTHON" -m venv "$VENV"
  info "pip install -r requirements-dev.txt (about a minute)"
  quietly "$VENV/bin/pip" install -q -r "$REPO_ROOT/requirements-dev.txt"
  echo "$wanted" >"$VENV/.requirements"
fi

step "Collections from the PyPI $ANSIBLE_PACKAGE package (.collections)"
COLL="$REPO_ROOT/.collections/ansible_collections"
stamp="$ANSIBLE_PACKAGE ${COLLECTIONS[*]}"
if [ "$(cat "$REPO_ROOT/.collections/.stamp" 2>/dev/null)" = "$stamp" ] && [ -L "$COLL/gardener/autonomous" ]; then
  info "up to date"
else
  wheel_dir="$CACHE_DIR/wheels"
  mkdir -p "$wheel_dir"
  if ! ls "$wheel_dir"/ansible-12.3.0-*.whl >/dev/null 2>&1; then
    info "pip download $ANSIBLE_PACKAGE (54 MB)"
    quietly "$VENV/bin/pip" download -q --no-deps -d "$wheel_dir" "$ANSIBLE_PACKAGE"
  fi
  rm -rf "$REPO_ROOT/.collections"
  "$VENV/bin/python" - "$(ls "$wheel_dir"/ansible-12.3.0-*.whl)" "$REPO_ROOT/.collections" "${COLLECTIONS[@]}" <<'PY'
import sys, zipfile
wheel, target, wanted = sys.argv[1], sys.argv[2], sys.argv[3:]
prefixes = tuple("ansible_collections/%s/%s/" % tuple(name.split(".")) for name in wanted)
with zipfile.ZipFile(wheel) as archive:
    members = [m for m in archive.namelist() if m.startswith(prefixes)]
    archive.extractall(target, members)
PY
  # The collection itself, so that playbooks in this repository resolve gardener.autonomous.*.
  mkdir -p "$COLL/gardener"
  ln -s ../../.. "$COLL/gardener/autonomous"
  echo "$stamp" >"$REPO_ROOT/.collections/.stamp"
  info "extracted ${COLLECTIONS[*]}"
fi
