"""The local site on this machine's Docker engine: networks, containers and the firewall rule, each
labelled with the site and its owner and recorded in the ledger by id the moment it exists."""

from __future__ import annotations

import contextlib
import io
import ipaddress
import socket
import subprocess
import tarfile
import threading
import time
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any, Optional

import docker
import docker.errors
from docker.models.containers import Container
from docker.models.networks import Network

from local_extension.contract import CONFIGURATION_PROBLEM, KubeObject, ReconcileError
from local_extension.ledger import Ledger, remove_rule

# The same site label as hack/local-site.yml; the others say which object a resource belongs to.
SITE_LABEL = "gardener-autonomous/site"
NAMESPACE_LABEL = "local.extensions.gardener.cloud/namespace"
OWNER_KIND_LABEL = "local.extensions.gardener.cloud/owner-kind"
OWNER_NAME_LABEL = "local.extensions.gardener.cloud/owner-name"
ROLE_LABEL = "local.extensions.gardener.cloud/role"

# What a systemd container needs on this VM (test-substrate.md section 1: --privileged fails here), as
# hack/local-site.yml runs its bastion and machines.
SYSTEMD_CONTAINER: dict[str, Any] = {
    "cap_add": ["ALL"],
    "cap_drop": ["SYS_RESOURCE"],
    "security_opt": ["seccomp=unconfined", "apparmor=unconfined"],
    "cgroupns": "private",
    "tmpfs": {"/run": "", "/run/lock": ""},
}
SYSTEMD_TIMEOUT = 60.0
PROBE_PAUSE = 0.25


@dataclass(frozen=True)
class SiteConfig:
    name: str  # prefix of every Docker name, value of the site label
    node_image: str
    api_port: int  # the API load balancer on 127.0.0.1
    bastion_ports: range  # bastions' sshd on 127.0.0.1


@dataclass(frozen=True)
class Owner:
    kind: str
    namespace: str
    name: str

    @classmethod
    def of(cls, obj: KubeObject) -> Owner:
        return cls(obj["kind"], obj["metadata"]["namespace"], obj["metadata"]["name"])

    def __str__(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}"

    def labels(self, site: str, role: str) -> dict[str, str]:
        return {
            SITE_LABEL: site,
            NAMESPACE_LABEL: self.namespace,
            OWNER_KIND_LABEL: self.kind,
            OWNER_NAME_LABEL: self.name,
            ROLE_LABEL: role,
        }


class Site:
    """Thread-safe: ``lock`` serializes choosing an address or port and taking it."""

    def __init__(self, config: SiteConfig, ledger: Ledger) -> None:
        self.config = config
        self.docker = docker.from_env()
        self.ledger = ledger
        self.lock = threading.RLock()

    # Finding

    def namespace_labels(self, namespace: str, role: str, **labels: str) -> dict[str, str]:
        return {SITE_LABEL: self.config.name, NAMESPACE_LABEL: namespace, ROLE_LABEL: role, **labels}

    def containers(self, namespace: str, role: str, **labels: str) -> list[Container]:
        wanted = self.namespace_labels(namespace, role, **labels)
        found = self.docker.containers.list(all=True, filters={"label": [f"{k}={v}" for k, v in wanted.items()]})
        return sorted(found, key=lambda container: container.name)

    def networks(self, namespace: str, role: str) -> list[Network]:
        wanted = self.namespace_labels(namespace, role)
        return self.docker.networks.list(filters={"label": [f"{k}={v}" for k, v in wanted.items()]})

    def network(self, name: str) -> Optional[Network]:
        try:
            return self.docker.networks.get(name)
        except docker.errors.NotFound:
            return None

    def infrastructure_network(self, namespace: str, role: str) -> Network:
        """The namespace's network of that role, which its Infrastructure creates."""
        found = self.networks(namespace, role)
        if not found:
            raise ReconcileError(
                f"the site {self.config.name} has no {role} for namespace {namespace}: "
                "the Infrastructure is not reconciled yet",
                "ERR_RETRYABLE_INFRA_DEPENDENCIES",
            )
        return found[0]

    def check_free_name(self, name: str, owner: Owner) -> None:
        """Called when no container of ours has the name: one that does belongs to someone else."""
        try:
            other = self.docker.containers.get(name)
        except docker.errors.NotFound:
            return
        self.check_owner(other.labels, owner, f"container {name}")
        raise ReconcileError(f"container {name} exists but is not the one {owner} expects", CONFIGURATION_PROBLEM)

    def check_owner(self, labels: dict[str, str], owner: Owner, what: str) -> None:
        """A resource with our name that someone else owns is never taken over."""
        if labels.get(SITE_LABEL) != self.config.name or labels.get(NAMESPACE_LABEL) != owner.namespace:
            holder = " ".join(
                f"{part} {labels[key]}"
                for part, key in (("site", SITE_LABEL), ("namespace", NAMESPACE_LABEL))
                if key in labels
            )
            raise ReconcileError(
                f"{what} belongs to {holder or 'something else on this machine'}, not to {owner}: "
                "one local site serves one Shoot",
                CONFIGURATION_PROBLEM,
            )

    # Creating and removing

    def create_network(self, name: str, owner: Owner, role: str, *, subnet: Optional[str] = None) -> Network:
        ipam = None
        if subnet:
            gateway = nth_address(subnet, 1)
            ipam = docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(subnet=subnet, gateway=gateway)])
        network = self.docker.networks.create(
            name, driver="bridge", internal=bool(subnet), ipam=ipam, labels=owner.labels(self.config.name, role)
        )
        self.ledger.record_network(network.id, name, str(owner))
        return network

    def remove_network(self, network: Network) -> None:
        try:
            network.remove()
        except docker.errors.NotFound:
            pass
        except docker.errors.APIError as error:
            raise ReconcileError(f"cannot remove network {network.name}: {error.explanation}") from None
        self.ledger.forget_network(network.id)

    def create_container(self, name: str, owner: Owner, role: str, **options: Any) -> Container:
        """Created, not started: files can be put into it first. Recorded with its anonymous volumes."""
        labels = {**owner.labels(self.config.name, role), **options.pop("labels", {})}
        container = self.docker.containers.create(
            self.config.node_image, name=name, labels=labels, restart_policy={"Name": "no"}, **options
        )
        volumes = [mount["Name"] for mount in container.attrs.get("Mounts") or [] if mount.get("Type") == "volume"]
        self.ledger.record_container(container.id, name, volumes, str(owner))
        return container

    def remove_container(self, container: Container) -> None:
        with contextlib.suppress(docker.errors.NotFound):
            container.remove(force=True, v=True)
        self.ledger.forget_container(container.id)

    def connect(
        self, network: Network, container: Container, address: str, aliases: Optional[list[str]] = None
    ) -> None:
        network.connect(container, ipv4_address=address, aliases=aliases)

    # Firewall rules of the machine network (the same two hack/local-site.yml adds)

    def firewall_rules(self, network: Network) -> list[list[str]]:
        bridge = f"br-{network.id[:12]}"
        return [
            # The host reaches the machines only through a bastion.
            ["OUTPUT", "-o", bridge, "-j", "REJECT"],
            # Docker drops traffic on an internal network from or to addresses outside its subnet; pod
            # networks are routed between the machines over exactly that bridge.
            ["DOCKER-USER", "-i", bridge, "-o", bridge, "-j", "ACCEPT"],
        ]

    def ensure_firewall_rules(self, network: Network, owner: Owner) -> None:
        for rule in self.firewall_rules(network):
            self.ledger.record_rule(rule, str(owner))
            if subprocess.run(["iptables", "-C", *rule], capture_output=True, check=False).returncode == 0:
                continue
            inserted = subprocess.run(["iptables", "-I", *rule], capture_output=True, text=True, check=False)
            if inserted.returncode != 0:
                raise ReconcileError(f"iptables -I {' '.join(rule)} failed: {inserted.stderr.strip()}")

    def remove_firewall_rules(self, network: Network) -> None:
        for rule in self.firewall_rules(network):
            if not remove_rule(rule):
                raise ReconcileError(f"iptables -D {' '.join(rule)} failed")
            self.ledger.forget_rule(rule)

    # Addresses and ports (call with ``lock`` held until the container that takes one is started)

    def free_address(self, network: Network, first: int, last: int) -> str:
        network.reload()
        subnet = network.attrs["IPAM"]["Config"][0]["Subnet"]
        taken = {entry["IPv4Address"].split("/")[0] for entry in (network.attrs.get("Containers") or {}).values()}
        for index in range(first, last + 1):
            address = nth_address(subnet, index)
            if address not in taken:
                return address
        raise ReconcileError(
            f"no free address .{first}-.{last} left in {network.name} ({subnet})", "ERR_INFRA_RESOURCES_DEPLETED"
        )

    def free_bastion_port(self) -> int:
        taken = {
            int(binding["HostPort"])
            for container in self.docker.containers.list(
                all=True, filters={"label": f"{SITE_LABEL}={self.config.name}"}
            )
            for bindings in (container.attrs["HostConfig"].get("PortBindings") or {}).values()
            for binding in bindings or []
        }
        for port in self.config.bastion_ports:
            if port not in taken and port_is_free(port):
                return port
        ports = self.config.bastion_ports
        raise ReconcileError(f"no free bastion port in {ports.start}-{ports.stop - 1}", "ERR_INFRA_RESOURCES_DEPLETED")

    # Inside containers

    def run(self, container: Container, command: list[str]) -> tuple[int, str]:
        result = container.exec_run(command)
        return result.exit_code, result.output.decode(errors="replace")

    def wait_for_systemd(self, container: Container) -> None:
        """Until systemd has booted (``systemctl`` fails with "Failed to connect to bus" at first)."""
        deadline = time.monotonic() + SYSTEMD_TIMEOUT
        while True:
            _, output = self.run(container, ["systemctl", "is-system-running", "--wait"])
            if output.strip() in ("running", "degraded"):
                return
            if time.monotonic() > deadline:
                raise ReconcileError(
                    f"systemd in {container.name} did not boot within {SYSTEMD_TIMEOUT:.0f}s: {output}"
                )
            time.sleep(PROBE_PAUSE)

    def sshd_answers(self, container: Container) -> bool:
        """sshd greets on port 22 inside the container (the host itself cannot reach the machine network)."""
        code, output = self.run(container, ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/22 && head -c 4 <&3"])
        return code == 0 and output.startswith("SSH-")

    def write_file(self, container: Container, path: str, content: str, mode: int = 0o644) -> None:
        target = PurePosixPath(path)
        data = content.encode()
        archive = io.BytesIO()
        with tarfile.open(fileobj=archive, mode="w") as tar:
            member = tarfile.TarInfo(target.name)
            member.size, member.mode, member.mtime = len(data), mode, int(time.time())
            tar.addfile(member, io.BytesIO(data))
        container.put_archive(str(target.parent), archive.getvalue())

    def read_file(self, container: Container, path: str) -> Optional[str]:
        try:
            chunks, _ = container.get_archive(path)
        except docker.errors.NotFound:
            return None
        with tarfile.open(fileobj=io.BytesIO(b"".join(chunks))) as tar:
            member = tar.extractfile(tar.getmembers()[0])
            return member.read().decode() if member else None


def nth_address(cidr: str, index: int) -> str:
    return str(ipaddress.ip_network(cidr, strict=False).network_address + index)


def port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def published_port(container: Container, port: str) -> int:
    """The host port that ``port`` (e.g. ``22/tcp``) is published on, as configured."""
    return int(container.attrs["HostConfig"]["PortBindings"][port][0]["HostPort"])
