"""The medium-touch substrate as a user runs it: hack/bootstrap-cluster.py and
hack/local-extension/local-extension.py as processes, and the choices a test site needs (ports, subnet,
node image). Missing substrate fails the test with the reason."""

from __future__ import annotations

import ipaddress
import json
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import pytest
from support.apiserver import CACHE_DIR

REPO_ROOT = Path(__file__).resolve().parents[3]
BOOTSTRAP_CLUSTER = REPO_ROOT / "hack" / "bootstrap-cluster.py"
LOCAL_EXTENSION = REPO_ROOT / "hack" / "local-extension" / "local-extension.py"
API_PORTS = range(6600, 6700)
BASTION_PORTS = "2400-2499"
SUBNETS = ipaddress.ip_network("10.241.0.0/16")


@dataclass(frozen=True)
class BootstrapCluster:
    state_dir: Path
    kubeconfig: Path
    port: int


@dataclass(frozen=True)
class LocalExtension:
    state_dir: Path
    site: str
    nodes_cidr: str
    api_port: int
    node_image: str

    def command(self, command: str) -> subprocess.CompletedProcess[str]:
        return run_script(LOCAL_EXTENSION, command, "--state-dir", str(self.state_dir))

    def recorded(self) -> dict[str, Any]:
        path = self.state_dir / "resources.json"
        return json.loads(path.read_text()) if path.exists() else {}


def run_script(script: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(script), *args], capture_output=True, text=True, timeout=180, check=False, cwd=REPO_ROOT
    )


def free_port(ports: range, *, but: tuple[int, ...] = ()) -> int:
    for port in ports:
        if port in but:
            continue
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    pytest.fail(f"no free port on 127.0.0.1 in {ports.start}-{ports.stop - 1}", pytrace=False)


def free_subnet(client: docker.DockerClient) -> str:
    """A /24 of 10.241.0.0/16 that no Docker network on this machine overlaps."""
    taken = [
        ipaddress.ip_network(config["Subnet"])
        for network in client.networks.list()
        for config in (network.attrs.get("IPAM") or {}).get("Config") or []
        if config.get("Subnet") and ":" not in config["Subnet"]
    ]
    for subnet in SUBNETS.subnets(new_prefix=24):
        if not any(subnet.overlaps(other) for other in taken):
            return str(subnet)
    pytest.fail("no free /24 in 10.241.0.0/16 for a machine network", pytrace=False)


def node_image(client: docker.DockerClient) -> str:
    recorded = CACHE_DIR / "node-image"
    if not recorded.is_file():
        pytest.fail(f"no node image recorded in {recorded}: run hack/build-node-image.sh first", pytrace=False)
    image = recorded.read_text().strip()
    try:
        client.images.get(image)
    except docker.errors.ImageNotFound:
        pytest.fail(f"the node image {image} is not in Docker: run hack/build-node-image.sh", pytrace=False)
    return image
