#!/usr/bin/env bash
# Benchmark: how long the main playbook takes to add one worker to a site with 2 existing nodes and to one
# with 8 (1 control-plane machine + 1 or 7 workers). Adding a machine must cost the same however many
# there are: the roles ask the cluster which workers joined and touch only the new one.
# Results: bench/results/add-worker.json (and the runs' logs next to it).
source "$(dirname "$0")/../hack/lib.sh"
cd "$REPO_ROOT"
export ANSIBLE_CONFIG="$REPO_ROOT/ansible.cfg" ANSIBLE_CALLBACKS_ENABLED=ansible.posix.profile_tasks
PLAYBOOK="$REPO_ROOT/.venv/bin/ansible-playbook"
RESULTS="$REPO_ROOT/bench/results"
mkdir -p "$RESULTS"

site() { "$PLAYBOOK" hack/local-site.yml -e @bench/site/local-site.yml -e "local_site_state=$1" "${@:2}" >"$RESULTS/site.log" 2>&1 \
  || { tail -n 30 "$RESULTS/site.log"; die "local site $1 failed"; }; }
converge() { "$PLAYBOOK" -i bench/site playbooks/autonomous-shoot.yml >"$RESULTS/$1.log" 2>&1 \
  || { tail -n 40 "$RESULTS/$1.log"; die "the main playbook failed ($1)"; }; }

declare -A SECONDS_FOR
for existing_workers in 1 7; do
  nodes=$((existing_workers + 1))
  step "site with $nodes nodes"
  site absent
  site present -e "local_site_worker_count=$existing_workers"
  converge "converge-$nodes-nodes"
  site present -e "local_site_worker_count=$((existing_workers + 1))"
  begin=$(date +%s.%N)
  converge "add-worker-to-$nodes-nodes"
  SECONDS_FOR[$nodes]=$(python3 -c "print(round($(date +%s.%N) - $begin, 1))")
  info "adding one worker to $nodes nodes took ${SECONDS_FOR[$nodes]} s"
  site absent
done
python3 - "${SECONDS_FOR[2]}" "${SECONDS_FOR[8]}" "$RESULTS/add-worker.json" <<'PY'
import json, platform, sys, datetime
two, eight, path = float(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
result = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
          "machine": f"{platform.node()} ({platform.machine()})",
          "add_one_worker_seconds": {"2_existing_nodes": two, "8_existing_nodes": eight},
          "ratio_8_to_2": round(eight / two, 2)}
open(path, "w").write(json.dumps(result, indent=2) + "\n")
print(json.dumps(result, indent=2))
PY
