#!/usr/bin/env bash
# `make test`: every test stage, a summary line per stage, non-zero exit if any stage failed.
# `make test STAGES="unit lint"` runs a subset.
source "$(dirname "$0")/lib.sh"
cd "$REPO_ROOT"

ALL_STAGES=(hygiene unit ruff lint sanity build integration molecule e2e)
read -r -a STAGES <<<"${*:-${ALL_STAGES[*]}}"
VENV="$REPO_ROOT/.venv"
export PATH="$VENV/bin:$PATH" ANSIBLE_CONFIG="$REPO_ROOT/ansible.cfg" ANSIBLE_FORCE_COLOR=0
LOG_DIR="$REPO_ROOT/tests/output/logs"
mkdir -p "$LOG_DIR"

# Stages run inside `if`, where `set -e` does not apply: each one returns its own status.
stage_hygiene() {
  # No binary, image or archive is committed; no registry host name appears in the repository.
  local bad=0 file
  while IFS= read -r file; do
    [ -f "$file" ] || continue
    if [ "$(stat -c %s "$file")" -gt 1048576 ]; then echo "too large to be source: $file"; bad=1; fi
    if ! grep -Iq . "$file" && [ -s "$file" ]; then echo "binary file: $file"; bad=1; fi
  done < <(git ls-files --cached --others --exclude-standard)
  # An image reference with a registry domain looks like "<name>.<tld>/<path>:<tag>"; the only
  # registry this project names is localhost.
  if git ls-files --cached --others --exclude-standard -z | xargs -0 grep -InE \
      '\b[a-z0-9-]+(\.[a-z0-9-]+)+(:[0-9]+)?/[a-z0-9._/-]+:[A-Za-z0-9._-]+\b' 2>/dev/null \
      | grep -vE 'localhost/|https?://|[a-z]+\.(yml|yaml|py|md|sh|j2|json|cfg|txt)/' ; then
    echo "image references with a registry host (above)"; bad=1
  fi
  return $bad
}

stage_unit() { pytest -q tests/unit; }

stage_ruff() { ruff check . && ruff format --check .; }

stage_lint() { ansible-lint --offline --profile production; }

# ansible-test needs the collection under ansible_collections/<namespace>/<name>.
sanity_tree() {
  local tree="$REPO_ROOT/tests/output/sanity/ansible_collections/gardener/autonomous"
  rm -rf "$REPO_ROOT/tests/output/sanity" && mkdir -p "$tree"
  # What the built collection ships: git's files minus galaxy.yml's build_ignore, matched the way
  # ansible-galaxy matches it (fnmatch on each leading part of the path). Repository tooling (hack/,
  # molecule/ ...) is no part of the collection and follows no collection rules.
  git ls-files --cached --others --exclude-standard -z | "$VENV/bin/python" -c '
import fnmatch, os, sys, yaml
patterns = yaml.safe_load(open("galaxy.yml"))["build_ignore"]
for path in filter(None, sys.stdin.read().split("\0")):
    parts = path.split("/")
    ignored = any(fnmatch.fnmatch("/".join(parts[:n]), p) for n in range(1, len(parts) + 1) for p in patterns)
    if not ignored and os.path.lexists(path):
        sys.stdout.write(path + "\0")
' | rsync -a --from0 --files-from=- ./ "$tree/"
  # ansible-test lists a collection's files with `git ls-files` from the nearest directory holding
  # .git; without a repository of its own the copy would be this (ignored) part of the work tree,
  # and every test would pass on "All targets skipped".
  git -C "$tree" init -q
  printf '%s\n' "$tree"
}

# Every sanity test, pylint included, per ansible-core line: the controller-side tests on the line's own
# Python, compile and import on every target Python found (hack/setup-sanity.sh).
stage_sanity() {
  local tree version status=0 begin
  tree=$(sanity_tree)
  bash "$HACK_DIR/setup-sanity.sh"
  for version in $(cat "$CACHE_DIR/sanity/versions"); do
    info "ansible-test sanity, ansible-core $version (Python $(cat "$CACHE_DIR/sanity/$version/python"))"
    begin=$SECONDS
    (cd "$tree" && PATH="$(cat "$CACHE_DIR/sanity/target-path"):$PATH" \
       "$CACHE_DIR/sanity/$version/venv/bin/ansible-test" sanity --requirements --color no) || status=1
    info "ansible-core $version: $(( SECONDS - begin )) s"
  done
  return $status
}

stage_build() {
  local out="$REPO_ROOT/tests/output/build"
  rm -rf "$out" && mkdir -p "$out"
  ansible-galaxy collection build --force --output-path "$out" >/dev/null || return 1
  local tarball
  tarball=$(ls "$out"/gardener-autonomous-*.tar.gz) || return 1
  if tar -tzf "$tarball" | grep -E '^(hack|molecule|bench|\.venv|\.collections|inventories/local/\.site)/'; then
    echo "the built collection contains repository tooling (above)"; return 1
  fi
  echo "built $(basename "$tarball") ($(du -h "$tarball" | cut -f1), $(tar -tzf "$tarball" | wc -l) files)"
}

stage_integration() { pytest -q tests/integration; }

stage_molecule() {
  local scenario status=0
  for scenario in $(ls molecule); do
    [ -f "molecule/$scenario/molecule.yml" ] || continue
    info "molecule test -s $scenario"
    molecule test -s "$scenario" || status=1
  done
  return $status
}

stage_e2e() { pytest -q tests/e2e; }

declare -A RESULT TIME
failed=0
for stage in "${STAGES[@]}"; do
  declare -F "stage_$stage" >/dev/null || die "unknown stage '$stage' (stages: ${ALL_STAGES[*]})"
  step "stage $stage (log: tests/output/logs/$stage.log)"
  begin=$SECONDS
  if "stage_$stage" 2>&1 | tee "$LOG_DIR/$stage.log"; then RESULT[$stage]=PASS; else RESULT[$stage]=FAIL; failed=1; fi
  TIME[$stage]=$(( SECONDS - begin ))
done

echo
echo "Summary"
for stage in "${STAGES[@]}"; do
  printf '  %-4s %-12s %5d s\n' "${RESULT[$stage]}" "$stage" "${TIME[$stage]}"
done
exit $failed
