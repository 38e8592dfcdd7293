#!/usr/bin/env bash
# One venv per ansible-core line that meta/runtime.yml covers, each on a Python that line supports,
# for `ansible-test sanity`. Also the offline stand-in for the get-pip script that ansible-test
# would download from a host that is unreachable here (test-substrate.md §4).
source "$(dirname "$0")/lib.sh"

# ansible-core line, exact version, Python
LINES=(
  "2.19 2.19.14 3.11"
  "2.20 2.20.10 3.12"
  "2.21 2.21.5 3.13"
)
SANITY="$CACHE_DIR/sanity"
mkdir -p "$SANITY"

python_for() {
  local want=$1 candidate
  for candidate in "python$want" "$HOME/.pyenv/versions/$want"*/bin/python3; do
    if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null | grep -qx "$want"; then
      command -v "$candidate"
      return 0
    fi
  done
  return 1
}

step "ansible-test venvs"
: >"$SANITY/versions.new"
for line in "${LINES[@]}"; do
  read -r series version python <<<"$line"
  interpreter=$(python_for "$python") || die "Python $python is needed for ansible-core $series sanity tests (pyenv has it on these machines)"
  venv="$SANITY/$series/venv"
  if [ "$("$venv/bin/ansible-test" --version 2>/dev/null)" != "ansible-test version $version" ]; then
    info "ansible-core $version on Python $python"
    rm -rf "$SANITY/$series" && mkdir -p "$SANITY/$series"
    "$interpreter" -m venv "$venv"
    quietly "$venv/bin/pip" install -q "ansible-core==$version"
  fi
  echo "$python" >"$SANITY/$series/python"
  echo "$series" >>"$SANITY/versions.new"
  # The pip version this ansible-test bootstraps into its venvs.
  pip_version=$("$venv/bin/python" - <<'PY'
import re, pathlib, ansible_test
source = (pathlib.Path(ansible_test.__file__).parent / "_internal/python_requirements.py").read_text()
print(re.search(r"pip='([0-9.]+)'", source).group(1))
PY
)
  stand_in="$HOME/.ansible/test/cache/get_pip_${pip_version//./_}.py"
  if [ ! -f "$stand_in" ]; then
    mkdir -p "$(dirname "$stand_in")"
    cat >"$stand_in" <<'PY'
# Offline stand-in for ansible-test's get-pip download (written by gardener.autonomous hack/setup-sanity.sh).
import ensurepip
import os
import subprocess
import sys

ensurepip.bootstrap(upgrade=True)
# ensurepip points PIP_CONFIG_FILE at /dev/null, which would hide the machine's pip configuration.
os.environ.pop("PIP_CONFIG_FILE", None)
args = [arg for arg in sys.argv[1:] if arg not in ("--no-setuptools", "--no-wheel")]
sys.exit(subprocess.call([sys.executable, "-m", "pip", "install", *args]))
PY
  fi
done
mv "$SANITY/versions.new" "$SANITY/versions"
info "ansible-core $(paste -sd' ' "$SANITY/versions")"

# The target Pythons: ansible-test runs compile and import for modules and module_utils on every
# Python the ansible-core line supports on targets (3.8-3.13 for 2.19, 3.9-3.14 for 2.20 and 2.21)
# that it finds as python<version> on PATH, and skips the others with a warning. pyenv's shims for
# versions other than the global one do not run, so the interpreters' own directories go on PATH.
found=() directories=()
for python in 3.8 3.9 3.10 3.11 3.12 3.13 3.14; do
  interpreter=$(python_for "$python") || continue
  found+=("$python")
  directories+=("$(dirname "$interpreter")")
done
(IFS=:; echo "${directories[*]}") >"$SANITY/target-path"
info "target Pythons ${found[*]}"
