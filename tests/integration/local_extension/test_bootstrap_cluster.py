"""hack/bootstrap-cluster.py: the long-running bootstrap cluster of the medium-touch local site."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import stat
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from medium_touch import API_PORTS, BOOTSTRAP_CLUSTER, free_port, run_script

from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.client import KubeClient
from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.predicates import absent
from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.waiter import Waiter

pytestmark = pytest.mark.substrate


@pytest.fixture
def state_dir() -> Iterator[Path]:
    parent = Path(tempfile.mkdtemp(prefix="bootstrap-cluster-", dir="/dev/shm" if Path("/dev/shm").is_dir() else None))
    yield parent / "cluster"
    run_script(BOOTSTRAP_CLUSTER, "stop", "--state-dir", str(parent / "cluster"))
    shutil.rmtree(parent, ignore_errors=True)


def cluster(command: str, state_dir: Path, *args: str) -> tuple[int, str]:
    done = run_script(BOOTSTRAP_CLUSTER, command, "--state-dir", str(state_dir), *args)
    return done.returncode, done.stdout + done.stderr


def test_starts_once_serves_gardeners_crds_and_stops_by_pid_without_a_trace(state_dir: Path) -> None:
    port = free_port(API_PORTS)
    code, output = cluster("start", state_dir, "--port", str(port))
    assert code == 0 and f"running at https://127.0.0.1:{port}" in output, output
    record = json.loads((state_dir / "cluster.json").read_text())
    pids = [process["pid"] for process in record["processes"]]
    assert [Path(process["binary"]).name for process in record["processes"]] == [
        "etcd",
        "kube-apiserver",
        "kube-controller-manager",
    ]
    assert all(os.getsid(pid) == pid for pid in pids)  # their own sessions: they outlive the starter

    kubeconfig = state_dir / "admin.kubeconfig"
    assert stat.S_IMODE(kubeconfig.stat().st_mode) == 0o600
    with KubeClient.from_kubeconfig(str(kubeconfig)) as client:
        for kind in ("Infrastructure", "Worker", "Bastion", "Cluster"):
            assert client.list("extensions.gardener.cloud/v1alpha1", kind)["items"] == []
        assert client.list("machine.sapcloud.io/v1alpha1", "Machine")["items"] == []
        client.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "bootstrap"}})
        client.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "namespace": "bootstrap"}})
        client.delete("v1", "Namespace", "bootstrap")
        assert Waiter(client, absent).wait("v1", "Namespace", "bootstrap", timeout=10).ok  # as in a kind cluster
    code, output = cluster("status", state_dir)
    assert code == 0 and json.loads(output)["healthy"] is True

    code, output = cluster("start", state_dir, "--port", str(port))
    assert code == 0 and "already running" in output
    assert json.loads((state_dir / "cluster.json").read_text()) == record  # left alone

    code, output = cluster("stop", state_dir)
    assert code == 0, output
    assert not any(running(pid) for pid in pids)
    assert not state_dir.exists()
    code, output = cluster("status", state_dir)
    assert code == 1 and json.loads(output)["running"] is False


def running(pid: int) -> bool:
    """Exited processes may stay zombies until init reaps them."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_a_cluster_without_a_controller_manager_is_replaced(state_dir: Path) -> None:
    code, output = cluster("start", state_dir, "--port", str(free_port(API_PORTS)))
    assert code == 0, output
    record_path = state_dir / "cluster.json"
    record = json.loads(record_path.read_text())
    # A cluster as started before kube-controller-manager was part of it: etcd and kube-apiserver only.
    controller_manager = record["processes"].pop()["pid"]
    record_path.write_text(json.dumps(record))
    os.kill(controller_manager, signal.SIGTERM)
    deadline = time.monotonic() + 10
    while running(controller_manager) and time.monotonic() < deadline:
        time.sleep(0.05)

    code, output = cluster("status", state_dir)
    assert code == 1 and json.loads(output)["healthy"] is False
    code, output = cluster("start", state_dir, "--port", str(free_port(API_PORTS)))
    assert code == 0 and "it was not healthy" in output, output
    assert not any(running(process["pid"]) for process in record["processes"])
    code, output = cluster("status", state_dir)
    assert code == 0 and json.loads(output)["healthy"] is True


def test_start_refuses_a_port_in_use(state_dir: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        code, output = cluster("start", state_dir, "--port", str(taken.getsockname()[1]))
    assert code == 1 and "is in use" in output
    assert not state_dir.exists()


def test_stop_leaves_a_directory_that_holds_no_cluster_alone(state_dir: Path) -> None:
    state_dir.mkdir()
    (state_dir / "precious").write_text("not a cluster\n")
    code, output = cluster("stop", state_dir)
    assert code == 1 and "holds no bootstrap cluster" in output
    assert (state_dir / "precious").exists()
