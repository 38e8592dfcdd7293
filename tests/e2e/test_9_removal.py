"""Removing a worker and then a control-plane machine leaves a healthy cluster."""

from __future__ import annotations

import json

from e2e import localsite as e2e


def remove(machine: str) -> e2e.Run:
    return e2e.site_playbook("playbooks/remove-node.yml", "-e", f"remove_node={machine}", log=f"remove-{machine}.log")


def test_a_worker_then_a_control_plane_machine_are_removed(brought_up) -> None:
    worker = remove("e2e-worker-3")
    assert worker.returncode == 0, worker.output[-5000:]
    control_plane = remove("e2e-cp-2")
    assert control_plane.returncode == 0, control_plane.output[-5000:]

    nodes = {node["metadata"]["name"] for node in e2e.kubectl_json("get", "nodes")["items"]}
    assert "e2e-worker-3" not in nodes
    assert "e2e-cp-2" not in nodes
    assert e2e.kubectl("get", "--raw", "/readyz").stdout == "ok"
    survivors = ["e2e-cp-0", "e2e-cp-1"]
    for port in (2379, 2382):
        listed = e2e.etcdctl("e2e-cp-0", port, "member list --write-out json", hosts=survivors)
        assert sorted(member["name"] for member in json.loads(listed.stdout)["members"]) == survivors
        health = e2e.etcdctl("e2e-cp-0", port, "endpoint health", hosts=survivors)
        assert health.returncode == 0, health.stdout + health.stderr
