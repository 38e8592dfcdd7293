"""The cluster the main playbook brings up on the local site: ready, idempotent, quiet in check mode."""

from __future__ import annotations

from e2e import localsite as e2e


def test_the_api_server_is_ready_through_the_load_balancer(brought_up) -> None:
    readyz = e2e.kubectl("get", "--raw", "/readyz")
    assert readyz.returncode == 0, readyz.stderr
    assert readyz.stdout == "ok"


def test_every_machine_is_a_ready_node_with_its_role(brought_up) -> None:
    nodes = {node["metadata"]["name"]: node for node in e2e.kubectl_json("get", "nodes")["items"]}
    assert sorted(nodes) == e2e.inventory_hosts("control_plane") + e2e.inventory_hosts("workers")
    for name, node in nodes.items():
        ready = next(c for c in node["status"]["conditions"] if c["type"] == "Ready")
        assert ready["status"] == "True", f"{name}: {ready}"
        role = "control-plane" if name in e2e.inventory_hosts("control_plane") else "worker"
        assert f"node-role.kubernetes.io/{role}" in node["metadata"]["labels"], name
    for name in e2e.inventory_hosts("control_plane"):
        taints = nodes[name]["spec"].get("taints", [])
        assert {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"} in taints


def test_a_second_run_changes_nothing_on_any_host(brought_up) -> None:
    assert brought_up.second.returncode == 0, brought_up.second.output[-3000:]
    assert brought_up.second.recap, "no recap in the second run's output"
    assert brought_up.second.changed_hosts() == {}


def test_check_mode_on_the_converged_site_reports_no_change(brought_up) -> None:
    assert brought_up.check.returncode == 0, brought_up.check.output[-3000:]
    assert brought_up.check.changed_hosts() == {}


def test_no_bootstrap_token_is_left_behind(brought_up) -> None:
    secrets = e2e.kubectl_json("get", "secrets", "--namespace", "kube-system")["items"]
    assert [s["metadata"]["name"] for s in secrets if s["type"] == "bootstrap.kubernetes.io/token"] == []


def test_the_machines_kernel_settings_are_untouched(brought_up) -> None:
    # kubelet wants other values for these VM-wide keys; the node containers must not have written them.
    assert e2e.kernel_settings() == brought_up.kernel_before
