#!/usr/bin/env python3
# Copyright (c) 2026 gardener.autonomous contributors
# Apache License 2.0 (see LICENSE)
"""The local site's bootstrap cluster for medium touch (gardenadm bootstrap): etcd, kube-apiserver and
kube-controller-manager v1.20.2 on 127.0.0.1 with Gardener's extension and machine CRDs, running until
stopped. The controller manager runs the namespace, garbage collector and service account controllers, so
that a deleted namespace goes away with everything in it, as in a kind cluster.

    .venv/bin/python hack/bootstrap-cluster.py start  --state-dir DIR [--port 6643]
    .venv/bin/python hack/bootstrap-cluster.py status --state-dir DIR    # exit 0 only when healthy
    .venv/bin/python hack/bootstrap-cluster.py stop   --state-dir DIR

DIR (e.g. inventories/local-medium/.site/bootstrap-cluster) holds everything: certificates, etcd data,
logs, ``admin.kubeconfig`` (0600) and ``cluster.json`` (server and process ids). ``start`` leaves a
healthy cluster alone; a cluster that is not healthy (say, after a reboot, or one started before
kube-controller-manager was part of it) is replaced by a new, empty one. ``stop`` ends the recorded
processes by id and removes DIR. The engine is the one the integration tests use
(tests/support/apiserver.py); the CRDs are read from ../shared/gardener-crds at each start.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shutil
import signal
import socket
import sys
import time
from pathlib import Path
from typing import Any, Optional

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO_ROOT / ".collections"), str(REPO_ROOT / "tests")]

from support.apiserver import CRDS_DIR, StartupFailed, SubstrateMissing, bring_up  # noqa: E402

from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.client import KubeClient  # noqa: E402
from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.errors import KubeError  # noqa: E402

DEFAULT_PORT = 6643
RECORD = "cluster.json"
KUBECONFIG = "admin.kubeconfig"
VALIDITY = datetime.timedelta(days=365)  # the site may live long; a test cluster's certificates last a day
STOP_TIMEOUT = 10.0
HEALTH_TIMEOUT = 5.0
CONTROLLER_MANAGER = "kube-controller-manager"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["start", "stop", "status"])
    parser.add_argument("--state-dir", type=Path, required=True, help="where the cluster keeps its files")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="kube-apiserver port on 127.0.0.1")
    args = parser.parse_args()
    directory = args.state_dir.resolve()
    try:
        if args.command == "start":
            return start(directory, args.port)
        if args.command == "stop":
            return stop(directory)
        return status(directory)
    except (SubstrateMissing, StartupFailed, RuntimeError) as error:
        print(f"bootstrap-cluster {args.command}: {error}", file=sys.stderr)
        return 1


def start(directory: Path, port: int) -> int:
    record = read_record(directory)
    if record and healthy(directory, record):
        print(f"bootstrap cluster already running at {record['server']} (kubeconfig {directory / KUBECONFIG})")
        return 0
    if record:
        print(f"replacing the bootstrap cluster in {directory}: it was not healthy", file=sys.stderr)
        stop(directory)
    elif directory.exists() and any(directory.iterdir()):
        raise RuntimeError(f"{directory} is not empty and holds no bootstrap cluster: choose another directory")
    ensure_port_free(port)
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    api = bring_up(directory, CRDS_DIR, port=port, detached=True, validity=VALIDITY, controller_manager=True)
    api.client.close()
    write_record(
        directory,
        {
            "server": api.server,
            "kubeconfig": str(api.kubeconfig_path),
            "processes": [{"binary": process.args[0], "pid": process.pid} for process in api.processes],
        },
    )
    print(
        f"bootstrap cluster running at {api.server} after {api.startup_seconds:.1f}s (kubeconfig {api.kubeconfig_path})"
    )
    return 0


def stop(directory: Path) -> int:
    record = read_record(directory)
    if record is None:
        if directory.exists() and any(directory.iterdir()):
            raise RuntimeError(f"{directory} holds no bootstrap cluster ({RECORD} is missing): left as it is")
        print(f"no bootstrap cluster in {directory}")
        return 0
    for process in reversed(record["processes"]):
        end_process(process["pid"], process["binary"], directory)
    shutil.rmtree(directory)
    print(f"bootstrap cluster stopped, {directory} removed")
    return 0


def status(directory: Path) -> int:
    record = read_record(directory)
    report: dict[str, Any] = {"state_dir": str(directory), "running": False, "healthy": False}
    if record:
        report.update(
            server=record["server"],
            kubeconfig=record["kubeconfig"],
            running=all(is_ours(p["pid"], p["binary"], directory) for p in record["processes"]),
            healthy=healthy(directory, record),
        )
    print(json.dumps(report, indent=2))
    return 0 if report["healthy"] else 1


def healthy(directory: Path, record: dict[str, Any]) -> bool:
    """Every process is ours and alive, kube-controller-manager among them, and the API answers an authenticated
    request with the CRDs served."""
    if not all(is_ours(p["pid"], p["binary"], directory) for p in record["processes"]):
        return False
    if not any(Path(p["binary"]).name == CONTROLLER_MANAGER for p in record["processes"]):
        return False
    try:
        with KubeClient.from_kubeconfig(record["kubeconfig"], timeout=HEALTH_TIMEOUT) as client:
            return bool(client.api_resources("extensions.gardener.cloud/v1alpha1"))
    except KubeError:
        return False


def is_ours(pid: int, binary: str, directory: Path) -> bool:
    """The pid still runs ``binary`` with files in ``directory``: a reused pid is never signalled."""
    try:
        arguments = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z" and arguments[0] == binary and any(str(directory) in argument for argument in arguments)


def end_process(pid: int, binary: str, directory: Path) -> None:
    if not is_ours(pid, binary, directory):
        return
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT
    while is_ours(pid, binary, directory):
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            deadline = time.monotonic() + STOP_TIMEOUT
        time.sleep(0.05)


def ensure_port_free(port: int) -> None:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as error:
            raise RuntimeError(f"127.0.0.1:{port} is in use ({error.strerror}): choose another --port") from None


def read_record(directory: Path) -> Optional[dict[str, Any]]:
    path = directory / RECORD
    return json.loads(path.read_text()) if path.is_file() else None


def write_record(directory: Path, record: dict[str, Any]) -> None:
    path = directory / RECORD
    path.touch(mode=0o600)
    path.write_text(json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    sys.exit(main())
