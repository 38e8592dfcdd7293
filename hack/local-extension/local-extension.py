#!/usr/bin/env python3
# Copyright (c) 2026 gardener.autonomous contributors
# Apache License 2.0 (see LICENSE)
"""The local provider extension: Infrastructure, Worker and Bastion objects of type ``local`` in a
bootstrap cluster become Docker networks and systemd containers on this machine (see README.md).

    .venv/bin/python hack/local-extension/local-extension.py start --state-dir DIR --kubeconfig FILE \\
        --site NAME [--node-image IMAGE] [--api-port 6443] [--bastion-ports 2223-2299]
    .venv/bin/python hack/local-extension/local-extension.py status  --state-dir DIR  # exit 0 when running
    .venv/bin/python hack/local-extension/local-extension.py stop    --state-dir DIR
    .venv/bin/python hack/local-extension/local-extension.py cleanup --state-dir DIR  # stop, remove everything

``start`` runs the controller in the background (``run`` in the foreground) with ``extension.pid`` and
``extension.log`` in DIR, and leaves one that runs alone. Everything it creates is recorded by id in
``DIR/resources.json``; ``cleanup`` removes exactly that, also what migrated objects left behind, then DIR.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Optional

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT / ".collections"))

import docker  # noqa: E402
import docker.errors  # noqa: E402

from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.client import KubeClient  # noqa: E402
from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.errors import KubeError  # noqa: E402
from local_extension.bastion import BastionActuator  # noqa: E402
from local_extension.contract import API_VERSION  # noqa: E402
from local_extension.controller import Controller  # noqa: E402
from local_extension.infrastructure import InfrastructureActuator  # noqa: E402
from local_extension.ledger import RESOURCES_FILE, Ledger, clean_up, read_entries  # noqa: E402
from local_extension.site import Site, SiteConfig  # noqa: E402
from local_extension.worker import WorkerActuator  # noqa: E402

PID_FILE = "extension.pid"
LOG_FILE = "extension.log"
NODE_IMAGE_FILE = (
    Path(os.environ.get("GARDENER_AUTONOMOUS_CACHE") or Path.home() / ".cache" / "gardener-autonomous") / "node-image"
)
START_TIMEOUT = 30.0
STOP_TIMEOUT = 30.0  # an operation in progress is finished first


def main() -> int:
    args = parse_args()
    directory = args.state_dir.resolve()
    try:
        if args.command == "start":
            return start(args, directory)
        if args.command == "run":
            return run(args, directory)
        if args.command == "stop":
            return stop(directory)
        if args.command == "cleanup":
            return cleanup(directory)
        return status(directory)
    except RuntimeError as error:
        print(f"local-extension {args.command}: {error}", file=sys.stderr)
        return 1


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["start", "run", "stop", "status", "cleanup"])
    parser.add_argument("--state-dir", type=Path, required=True, help="pid, log and the record of what was created")
    parser.add_argument("--kubeconfig", type=Path, help="the bootstrap cluster (start, run)")
    parser.add_argument("--site", help="the site's name: prefix of every Docker name (start, run)")
    parser.add_argument("--node-image", help=f"machine image (default: the one named in {NODE_IMAGE_FILE})")
    parser.add_argument("--api-port", type=int, default=6443, help="API load balancer on 127.0.0.1")
    parser.add_argument("--bastion-ports", type=port_range, default=port_range("2223-2299"), help="FIRST-LAST")
    args = parser.parse_args()
    if args.command in ("start", "run") and not (args.kubeconfig and args.site):
        parser.error(f"{args.command} needs --kubeconfig and --site")
    return args


def port_range(text: str) -> range:
    first, _, last = text.partition("-")
    try:
        ports = range(int(first), int(last or first) + 1)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not FIRST-LAST") from None
    if not ports or ports.start <= 1024 or ports.stop > 65536:
        raise argparse.ArgumentTypeError(f"{text!r}: ports must lie in 1025-65535, FIRST <= LAST")
    return ports


def start(args: argparse.Namespace, directory: Path) -> int:
    pid = running_pid(directory)
    if pid:
        print(f"local extension already running (pid {pid}, log {directory / LOG_FILE})")
        return 0
    config = site_config(args)  # the rest is checked by ``run``, whose error ends up in the log shown
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    (directory / PID_FILE).unlink(missing_ok=True)
    ports = config.bastion_ports
    command = [
        *(sys.executable, str(Path(__file__).resolve()), "run", "--state-dir", str(directory)),
        *("--kubeconfig", str(args.kubeconfig.resolve()), "--site", config.name, "--node-image", config.node_image),
        *("--api-port", str(config.api_port), "--bastion-ports", f"{ports.start}-{ports.stop - 1}"),
    ]
    with (directory / LOG_FILE).open("ab") as log:
        child = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
    deadline = time.monotonic() + START_TIMEOUT
    while not running_pid(directory):
        if child.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the extension did not start:\n{log_tail(directory)}")
        time.sleep(0.05)
    print(f"local extension running (pid {child.pid}, site {args.site}, log {directory / LOG_FILE})")
    return 0


def run(args: argparse.Namespace, directory: Path) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(threadName)s %(message)s")
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    config = site_config(args)
    check_prerequisites(args.kubeconfig, config)
    site = Site(config, Ledger(directory))
    actuators = {
        actuator.kind: actuator
        for actuator in (InfrastructureActuator(site), WorkerActuator(site), BastionActuator(site))
    }
    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())
    (directory / PID_FILE).write_text(f"{os.getpid()} {start_time(os.getpid())}\n")
    logging.info("watching %s for site %s (node image %s)", ", ".join(actuators), config.name, config.node_image)
    try:
        Controller(args.kubeconfig.resolve(), actuators).run(stopping)
    finally:
        (directory / PID_FILE).unlink(missing_ok=True)
    logging.info("stopped")
    return 0


def site_config(args: argparse.Namespace) -> SiteConfig:
    image = args.node_image
    if not image:
        if not NODE_IMAGE_FILE.is_file():
            raise RuntimeError(f"no --node-image and no {NODE_IMAGE_FILE}: run hack/build-node-image.sh first")
        image = NODE_IMAGE_FILE.read_text().strip()
    return SiteConfig(args.site, image, args.api_port, args.bastion_ports)


def check_prerequisites(kubeconfig: Path, config: SiteConfig) -> None:
    """Fails at once, with the reason, on what would make every reconcile fail."""
    try:
        docker.from_env().images.get(config.node_image)
    except docker.errors.ImageNotFound:
        raise RuntimeError(f"the node image {config.node_image} does not exist: run hack/build-node-image.sh") from None
    except docker.errors.DockerException as error:
        raise RuntimeError(f"the Docker engine cannot be used: {error}") from None
    try:
        with KubeClient.from_kubeconfig(str(kubeconfig)) as client:
            for kind in ("Infrastructure", "Worker", "Bastion", "Cluster"):
                client.resource_for(API_VERSION, kind)
            client.resource_for("machine.sapcloud.io/v1alpha1", "Machine")
    except KubeError as error:
        raise RuntimeError(f"the bootstrap cluster cannot be used: {error}") from None
    if shutil.which("iptables") is None:
        raise RuntimeError("iptables is missing")


def stop(directory: Path) -> int:
    pid = running_pid(directory)
    if not pid:
        print("local extension not running")
        return 0
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT
    while running_pid(directory) == pid:
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            (directory / PID_FILE).unlink(missing_ok=True)
            break
        time.sleep(0.05)
    print(f"local extension stopped (pid {pid})")
    return 0


def status(directory: Path) -> int:
    pid = running_pid(directory)
    resources = read_entries(directory / RESOURCES_FILE)
    report = {
        "state_dir": str(directory),
        "running": bool(pid),
        "pid": pid,
        "log": str(directory / LOG_FILE),
        "resources": {
            section: [entry.get("name") or " ".join(entry["rule"]) for entry in entries]
            for section, entries in resources.items()
        },
    }
    print(json.dumps(report, indent=2))
    return 0 if pid else 1


def cleanup(directory: Path) -> int:
    stop(directory)
    left = clean_up(directory)
    if left:
        print("could not remove (still recorded in resources.json):\n  " + "\n  ".join(left), file=sys.stderr)
        return 1
    shutil.rmtree(directory, ignore_errors=True)
    print(f"local extension's resources removed, {directory} removed")
    return 0


def running_pid(directory: Path) -> Optional[int]:
    """The pid in the pid file if that process still runs: the file also holds the process's start
    time, so a pid the kernel has given to another process since does not count."""
    try:
        pid, started = (directory / PID_FILE).read_text().split()
    except (OSError, ValueError):
        return None
    return int(pid) if start_time(int(pid)) == started else None


def start_time(pid: int) -> Optional[str]:
    """Field 22 of /proc/<pid>/stat: when the process started, in clock ticks since boot."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def log_tail(directory: Path, lines: int = 20) -> str:
    path = directory / LOG_FILE
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.is_file() else "(no log)"


if __name__ == "__main__":
    sys.exit(main())
