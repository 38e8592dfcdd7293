"""Losing one of three control-plane machines leaves the API serving; it rejoins by itself when it comes back."""

from __future__ import annotations

import json
import subprocess

from e2e import localsite as e2e

STOPPED = "e2e-cp-0"


def api_ready() -> bool:
    return e2e.kubectl("get", "--raw", "/readyz", timeout=20).stdout == "ok"


def node_ready(name: str) -> bool:
    node = e2e.kubectl("get", "node", name, "--output", "json")
    if node.returncode != 0:
        return False
    conditions = json.loads(node.stdout)["status"]["conditions"]
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


def etcd_healthy(machine: str) -> bool:
    return all(e2e.etcdctl(machine, port, "endpoint health").returncode == 0 for port in (2379, 2382))


def test_the_api_survives_a_stopped_control_plane_machine_which_rejoins(brought_up) -> None:
    subprocess.run(["docker", "stop", STOPPED], check=True, capture_output=True)
    try:
        # The load balancer notices within seconds; after that every request must succeed.
        e2e.wait_until(api_ready, timeout=30, what="the API answering without " + STOPPED)
        answers = [api_ready() for _ in range(10)]
        assert all(answers), answers
        created = e2e.kubectl("create", "configmap", "written-without-cp-0", "--from-literal=a=b")
        assert created.returncode == 0, created.stderr
    finally:
        subprocess.run(["docker", "start", STOPPED], check=True, capture_output=True)
    e2e.wait_until(lambda: node_ready(STOPPED), timeout=240, what=f"{STOPPED} Ready again")
    e2e.wait_until(lambda: etcd_healthy("e2e-cp-1"), timeout=120, what="every etcd member healthy again")
    # The machine came back by itself: its static pods run again, with nobody having touched it.
    pods = e2e.kubectl_json("get", "pods", "--namespace", "kube-system", "--field-selector", f"spec.nodeName={STOPPED}")
    e2e.kubectl("delete", "configmap", "written-without-cp-0")
    assert {pod["metadata"]["name"] for pod in pods["items"]} >= {f"kube-apiserver-{STOPPED}", f"etcd-main-{STOPPED}"}
