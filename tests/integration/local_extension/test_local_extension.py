"""The local provider extension (hack/local-extension) against a real bootstrap cluster and the real Docker
engine, as gardenadm bootstrap uses it: an Infrastructure, a Worker with one machine, a Bastion to reach it.

The tests run in file order on one site (one machine keeps the runtime modest): creation first, then
fault injection, migrate, restore, deletion and finally ``cleanup``.
"""

from __future__ import annotations

import base64
import ipaddress
import socket
import subprocess
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Optional

import docker
import pytest
from medium_touch import BootstrapCluster, LocalExtension

from ansible_collections.gardener.autonomous.plugins.module_utils._gardener.extensions import (
    OPERATION_ANNOTATION,
    extension_migrated,
    extension_ready,
    operation_annotations,
)
from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.client import KubeClient, KubeObject
from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.predicates import (
    READY,
    WAIT,
    Predicate,
    Verdict,
    absent,
)
from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.waiter import Waiter, WaitResult

pytestmark = pytest.mark.substrate

API = "extensions.gardener.cloud/v1alpha1"
MACHINE_API = "machine.sapcloud.io/v1alpha1"
PROVIDER_API = "local.provider.extensions.gardener.cloud/v1alpha1"
FINALIZER = "extensions.gardener.cloud/local"
FAIL = "local.extensions.gardener.cloud/fail"
DELAY = "local.extensions.gardener.cloud/delay"
SHOOT = "root"
BASTION = "gardenadm-bootstrap"


@dataclass(frozen=True)
class Shoot:
    """The shoot's namespace in the bootstrap cluster, and the site the extension serves it with."""

    client: KubeClient
    namespace: str
    domain: str
    key: Path  # private key; the Worker's and the bastion's authorized key is key.pub
    extension: LocalExtension
    docker: docker.DockerClient


@pytest.fixture(scope="module")
def shoot(
    bootstrap_cluster: BootstrapCluster,
    local_extension: LocalExtension,
    docker_client: docker.DockerClient,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Shoot]:
    key = tmp_path_factory.mktemp("ssh") / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True, timeout=30)
    namespace = f"shoot--garden--{local_extension.site}"
    domain = f"{local_extension.site}.autonomous.test"
    with KubeClient.from_kubeconfig(str(bootstrap_cluster.kubeconfig)) as client:
        client.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
        client.create(cluster_resource(namespace, domain, local_extension.nodes_cidr))
        yield Shoot(client, namespace, domain, key, local_extension, docker_client)


@pytest.fixture(scope="module")
def infrastructure(shoot: Shoot) -> KubeObject:
    spec = {"type": "local", "region": "local", "secretRef": {"name": "cloudprovider", "namespace": shoot.namespace}}
    return create_and_wait(shoot, "Infrastructure", SHOOT, spec)


@pytest.fixture(scope="module")
def worker(shoot: Shoot, infrastructure: KubeObject) -> KubeObject:
    pool = {
        "name": "control-plane",
        "machineType": "local",
        "machineImage": {"name": "debian", "version": "12"},
        "minimum": 1,
        "maximum": 1,
        "maxSurge": 1,
        "maxUnavailable": 0,
        "zones": ["local-a"],
        "userDataSecretRef": {"name": "osc-control-plane", "key": "cloud_config"},
    }
    spec = {
        "type": "local",
        "region": "local",
        "secretRef": {"name": "cloudprovider", "namespace": shoot.namespace},
        "sshPublicKey": base64.b64encode(public_key(shoot).encode()).decode(),
        # What gardenlet does: the Infrastructure's providerStatus goes into the Worker.
        "infrastructureProviderStatus": infrastructure["status"]["providerStatus"],
        "pools": [pool],
    }
    return create_and_wait(shoot, "Worker", SHOOT, spec)


@pytest.fixture(scope="module")
def bastion(shoot: Shoot, infrastructure: KubeObject) -> KubeObject:
    # As gardenadm's bastion user data: the user's authorized key, then sshd.
    script = (
        "#!/bin/bash\nset -eu\n"
        "install -d -m 0700 -o gardener -g gardener /home/gardener/.ssh\n"
        f"echo '{public_key(shoot)}' >/home/gardener/.ssh/authorized_keys\n"
        "chown gardener:gardener /home/gardener/.ssh/authorized_keys\n"
        "chmod 0600 /home/gardener/.ssh/authorized_keys\n"
        "systemctl start ssh\n"
    )
    spec = {
        "type": "local",
        "userData": base64.b64encode(script.encode()).decode(),
        "ingress": [{"ipBlock": {"cidr": "127.0.0.1/32"}}],
    }
    return create_and_wait(shoot, "Bastion", BASTION, spec)


# Creation


def test_infrastructure_becomes_ready_with_the_networks_the_rule_and_the_load_balancer(
    infrastructure: KubeObject, shoot: Shoot
) -> None:
    status = infrastructure["status"]
    assert_succeeded(infrastructure, "Create")
    assert status["nodesCIDR"] == shoot.extension.nodes_cidr
    provider = status["providerStatus"]
    assert (provider["apiVersion"], provider["kind"]) == (PROVIDER_API, "InfrastructureStatus")
    nodes = shoot.docker.networks.get(provider["networks"]["nodes"]["id"])
    front = shoot.docker.networks.get(provider["networks"]["front"]["id"])
    assert nodes.name == f"{shoot.extension.site}-nodes" and nodes.attrs["Internal"] is True
    assert nodes.attrs["IPAM"]["Config"][0]["Subnet"] == shoot.extension.nodes_cidr
    assert front.name == f"{shoot.extension.site}-front" and front.attrs["Internal"] is False
    assert reject_rule_present(nodes.id)
    balancer = shoot.docker.containers.get(provider["apiLoadBalancer"]["id"])
    assert balancer.status == "running"
    assert balancer.attrs["HostConfig"]["PortBindings"]["443/tcp"] == [
        {"HostIp": "127.0.0.1", "HostPort": str(shoot.extension.api_port)}
    ]
    endpoint = balancer.attrs["NetworkSettings"]["Networks"][nodes.name]
    assert endpoint["IPAddress"] == host(shoot.extension.nodes_cidr, 3)
    assert f"api.{shoot.domain}" in endpoint["Aliases"]
    assert provider["apiLoadBalancer"]["port"] == shoot.extension.api_port
    recorded = shoot.extension.recorded()
    assert {nodes.id, front.id} <= {entry["id"] for entry in recorded["networks"]}
    assert balancer.id in {entry["id"] for entry in recorded["containers"]}
    assert ["OUTPUT", "-o", f"br-{nodes.id[:12]}", "-j", "REJECT"] in [entry["rule"] for entry in recorded["iptables"]]


def test_worker_creates_the_machine_container_and_the_machine_objects(worker: KubeObject, shoot: Shoot) -> None:
    assert_succeeded(worker, "Create")
    deployment = f"{shoot.namespace}-control-plane-z1"
    assert worker["status"]["machineDeployments"] == [{"name": deployment, "minimum": 1, "maximum": 1}]
    assert worker["status"]["machineDeploymentsLastUpdateTime"]
    [machine] = machines(shoot)
    name, address = machine["metadata"]["name"], host(shoot.extension.nodes_cidr, 10)
    assert "node" not in machine["metadata"]["labels"]
    assert machine["spec"]["class"] == {"kind": "MachineClass", "name": deployment}
    assert machine["status"]["addresses"] == [
        {"type": "InternalIP", "address": address},
        {"type": "Hostname", "address": name},
    ]
    assert machine["status"]["currentStatus"]["phase"] == "Available"
    machine_class = shoot.client.get(MACHINE_API, "MachineClass", deployment, shoot.namespace)
    assert machine_class["nodeTemplate"]["zone"] == "local-a"
    assert shoot.client.get(MACHINE_API, "MachineDeployment", deployment, shoot.namespace)["spec"]["replicas"] == 1
    [machine_set] = shoot.client.list(MACHINE_API, "MachineSet", shoot.namespace)["items"]
    assert machine["metadata"]["ownerReferences"][0]["uid"] == machine_set["metadata"]["uid"]

    container = shoot.docker.containers.get(f"{shoot.extension.site}-{name}")
    config = container.attrs["HostConfig"]
    assert container.status == "running" and container.attrs["Config"]["Hostname"] == name
    assert container.attrs["Config"]["Image"] == shoot.extension.node_image
    # The flags of hack/local-site.yml.
    assert (config["CapAdd"], config["CapDrop"]) == (["ALL"], ["SYS_RESOURCE"])
    assert sorted(config["SecurityOpt"]) == ["apparmor=unconfined", "seccomp=unconfined"]
    assert config["CgroupnsMode"] == "private" and set(config["Tmpfs"]) == {"/run", "/run/lock"}
    assert [device["PathOnHost"] for device in config["Devices"]] == ["/dev/kmsg"]
    assert config["Sysctls"] == {"net.ipv4.ip_forward": "1", "net.ipv4.conf.all.route_localnet": "1"}
    assert config["Binds"] == ["/lib/modules:/lib/modules:ro"] and config["RestartPolicy"]["Name"] == "no"
    volumes = {mount["Destination"] for mount in container.attrs["Mounts"] if mount["Type"] == "volume"}
    assert volumes == {"/var/lib/containerd", "/var/lib/kubelet", "/var/lib/etcd-main", "/var/lib/etcd-events"}
    assert container.attrs["NetworkSettings"]["Networks"][f"{shoot.extension.site}-nodes"]["IPAddress"] == address
    keys = container.exec_run(["cat", "/home/gardener/.ssh/authorized_keys"]).output.decode()
    assert keys.strip() == public_key(shoot)
    assert f"server {container.name} {address}:443 check" in load_balancer_config(shoot)


def test_ssh_reaches_the_machine_only_through_the_bastion(
    bastion: KubeObject,
    worker: KubeObject,
    shoot: Shoot,
    tmp_path: Path,
) -> None:
    assert_succeeded(bastion, "Create")
    assert bastion["status"]["ingress"] == {"ip": "127.0.0.1", "hostname": "localhost"}
    provider = bastion["status"]["providerStatus"]
    assert (provider["apiVersion"], provider["kind"]) == (PROVIDER_API, "BastionStatus")
    assert 2400 <= provider["port"] <= 2499
    bastion_container = shoot.docker.containers.get(provider["container"]["id"])
    [machine] = machines(shoot)
    machine_container = shoot.docker.containers.get(f"{shoot.extension.site}-{name_of(machine)}")
    config = ssh_config(
        tmp_path,
        key=shoot.key,
        port=provider["port"],
        address=address_of(machine),
        bastion=bastion_container,
        machine=machine_container,
    )

    through = ssh(config, "machine", "hostname")
    assert (through.returncode, through.stdout.strip()) == (0, name_of(machine)), through.stderr
    direct = ssh(config, "machine", "true", "-o", "ProxyJump=none", "-o", "ConnectTimeout=3")
    assert direct.returncode == 255 and "refused" in direct.stderr  # the host's own traffic is rejected


def test_load_balancer_forwards_to_the_control_plane_machine(worker: KubeObject, shoot: Shoot) -> None:
    [machine] = machines(shoot)
    container = shoot.docker.containers.get(f"{shoot.extension.site}-{name_of(machine)}")
    container.exec_run(["socat", "TCP-LISTEN:443,fork,reuseaddr", "SYSTEM:echo hello-from-the-machine"], detach=True)
    deadline, answer = time.monotonic() + 15, ""
    while answer != "hello-from-the-machine" and time.monotonic() < deadline:  # haproxy's check: up within ~4 s
        answer = tcp_greeting(shoot.extension.api_port)
        time.sleep(0.2)
    assert answer == "hello-from-the-machine"


def test_a_bastion_whose_ingress_excludes_loopback_is_a_configuration_problem(
    shoot: Shoot, infrastructure: KubeObject
) -> None:
    spec = {
        "type": "local",
        "userData": base64.b64encode(b"true\n").decode(),
        "ingress": [{"ipBlock": {"cidr": "192.0.2.0/24"}}],
    }
    shoot.client.create(extension_object("Bastion", "closed", shoot.namespace, spec))
    result = wait(shoot, "Bastion", "closed")
    assert not result.ok
    error = result.object["status"]["lastError"]
    assert error["codes"] == ["ERR_CONFIGURATION_PROBLEM"]
    assert "192.0.2.0/24" in error["description"] and "127.0.0.1" in error["description"]
    assert not shoot.docker.containers.list(all=True, filters={"name": f"{shoot.extension.site}-bastion-closed"})
    shoot.client.delete(API, "Bastion", "closed", shoot.namespace)
    assert wait(shoot, "Bastion", "closed", absent).ok


# Fault injection


def test_an_injected_failure_is_reported_at_once_and_retried(shoot: Shoot, infrastructure: KubeObject) -> None:
    started = time.monotonic()
    request(shoot, "Infrastructure", SHOOT, "reconcile", {FAIL: "ERR_INFRA_QUOTA_EXCEEDED:quota exceeded in local"})
    result = wait(shoot, "Infrastructure", SHOOT)
    assert not result.ok and time.monotonic() - started < 2
    status = result.object["status"]
    assert status["lastError"]["codes"] == ["ERR_INFRA_QUOTA_EXCEEDED"]
    assert status["lastError"]["description"] == "quota exceeded in local" and status["lastError"]["lastUpdateTime"]
    assert (status["lastOperation"]["type"], status["lastOperation"]["state"]) == ("Reconcile", "Error")
    assert FAIL not in result.object["metadata"]["annotations"]  # it fails the next reconcile only
    # The extension retries as gardener's do (after 1 s), and the failure is gone.
    assert wait(shoot, "Infrastructure", SHOOT, succeeded_without_error, timeout=10).ok


def test_an_injected_delay_holds_the_reconcile_in_processing(shoot: Shoot, bastion: KubeObject) -> None:
    seen: list[str] = []

    def observed(obj: Optional[Mapping[str, Any]]) -> Verdict:
        seen.append(((obj or {}).get("status") or {}).get("lastOperation", {}).get("state", ""))
        return extension_ready(obj)

    request(shoot, "Bastion", BASTION, "reconcile", {DELAY: "1.5"})
    result = wait(shoot, "Bastion", BASTION, observed)
    assert result.ok and result.elapsed >= 1.5 and "Processing" in seen
    shoot.client.merge_patch(API, "Bastion", BASTION, {"metadata": {"annotations": {DELAY: None}}}, shoot.namespace)


# Migrate, restore, delete


def test_migrate_keeps_the_machines_and_leaves_the_worker_alone(shoot: Shoot, worker: KubeObject) -> None:
    before = machine_containers(shoot)
    request(shoot, "Worker", SHOOT, "migrate")
    result = wait(shoot, "Worker", SHOOT, extension_migrated)
    assert result.ok
    metadata, status = result.object["metadata"], result.object["status"]
    assert (status["lastOperation"]["type"], status["lastOperation"]["state"]) == ("Migrate", "Succeeded")
    assert not metadata.get("finalizers") and OPERATION_ANNOTATION not in (metadata.get("annotations") or {})
    assert machine_containers(shoot) == before
    assert len(machines(shoot)) == 1
    # A migrated object belongs to the cluster that took over: requests are no longer served.
    request(shoot, "Worker", SHOOT, "reconcile")
    time.sleep(1)
    ignored = shoot.client.get(API, "Worker", SHOOT, shoot.namespace)
    assert ignored["metadata"]["annotations"][OPERATION_ANNOTATION] == "reconcile"
    assert ignored["status"]["lastOperation"]["type"] == "Migrate"


def test_restore_adopts_the_existing_machines(shoot: Shoot, worker: KubeObject) -> None:
    before = machine_containers(shoot)
    request(shoot, "Worker", SHOOT, "restore")
    result = wait(shoot, "Worker", SHOOT)
    assert result.ok
    assert result.object["status"]["lastOperation"]["type"] == "Restore"
    assert result.object["metadata"]["finalizers"] == [FINALIZER]
    assert machine_containers(shoot) == before


def test_deletion_removes_the_containers_the_machine_objects_and_the_finalizer(
    shoot: Shoot,
    worker: KubeObject,
    bastion: KubeObject,
) -> None:
    [machine] = machine_containers(shoot)
    container = shoot.docker.containers.get(machine)
    volumes = [mount["Name"] for mount in container.attrs["Mounts"] if mount["Type"] == "volume"]
    bastion_id = bastion["status"]["providerStatus"]["container"]["id"]
    for kind, name in (("Worker", SHOOT), ("Bastion", BASTION)):
        shoot.client.delete(API, kind, name, shoot.namespace)
        assert wait(shoot, kind, name, absent, timeout=60).ok
    assert not machine_containers(shoot)
    assert all(gone(shoot.docker.containers, ident) for ident in (machine, bastion_id))
    assert all(gone(shoot.docker.volumes, volume) for volume in volumes)
    for kind in ("Machine", "MachineSet", "MachineDeployment", "MachineClass"):
        assert shoot.client.list(MACHINE_API, kind, shoot.namespace)["items"] == []
    assert load_balancer_config(shoot).split("backend control-plane")[1].strip() == ""  # no servers left
    recorded = {entry["id"] for entry in shoot.extension.recorded()["containers"]}
    assert machine not in recorded and bastion_id not in recorded


def test_cleanup_removes_everything_it_created_also_after_migrate(shoot: Shoot, infrastructure: KubeObject) -> None:
    request(shoot, "Infrastructure", SHOOT, "migrate")
    assert wait(shoot, "Infrastructure", SHOOT, extension_migrated).ok
    recorded = shoot.extension.recorded()
    assert recorded["networks"] and recorded["containers"]  # the migrated infrastructure is still there

    cleaned = shoot.extension.command("cleanup")
    assert cleaned.returncode == 0, cleaned.stderr
    assert all(gone(shoot.docker.containers, entry["id"]) for entry in recorded["containers"])
    assert all(gone(shoot.docker.volumes, volume) for entry in recorded["containers"] for volume in entry["volumes"])
    assert all(gone(shoot.docker.networks, entry["id"]) for entry in recorded["networks"])
    assert not any(reject_rule_present_for(entry["rule"]) for entry in recorded["iptables"])
    site = f"gardener-autonomous/site={shoot.extension.site}"
    assert not shoot.docker.containers.list(all=True, filters={"label": site})
    assert not shoot.docker.networks.list(filters={"label": site})
    assert not shoot.extension.state_dir.exists()
    assert shoot.extension.command("status").returncode == 1  # stopped as well


# Helpers


def cluster_resource(namespace: str, domain: str, nodes_cidr: str) -> dict[str, Any]:
    machine = {"type": "local", "image": {"name": "debian", "version": "12"}}
    shoot = {
        "apiVersion": "core.gardener.cloud/v1beta1",
        "kind": "Shoot",
        "metadata": {"name": SHOOT, "namespace": "garden"},
        "spec": {
            "dns": {"domain": domain},
            "networking": {"type": "local-bridge", "nodes": nodes_cidr},
            "provider": {
                "type": "local",
                "workers": [
                    {"name": "control-plane", "controlPlane": {}, "machine": machine, "minimum": 1, "maximum": 1}
                ],
            },
        },
    }
    cloud_profile = {
        "apiVersion": "core.gardener.cloud/v1beta1",
        "kind": "CloudProfile",
        "metadata": {"name": "local"},
        "spec": {"type": "local", "machineTypes": [{"name": "local", "cpu": "2", "gpu": "0", "memory": "4Gi"}]},
    }
    return {
        "apiVersion": API,
        "kind": "Cluster",
        "metadata": {"name": namespace},
        "spec": {"shoot": shoot, "cloudProfile": cloud_profile},
    }


def extension_object(kind: str, name: str, namespace: str, spec: Mapping[str, Any]) -> dict[str, Any]:
    annotations = operation_annotations("reconcile", datetime.now(timezone.utc))  # as gardenlet deploys them
    return {
        "apiVersion": API,
        "kind": kind,
        "metadata": {"name": name, "namespace": namespace, "annotations": annotations},
        "spec": dict(spec),
    }


def create_and_wait(shoot: Shoot, kind: str, name: str, spec: Mapping[str, Any]) -> KubeObject:
    shoot.client.create(extension_object(kind, name, shoot.namespace, spec))
    result = wait(shoot, kind, name, timeout=120)
    assert result.ok, f"{kind} {name} failed: {result.reason}"
    return result.object


def request(shoot: Shoot, kind: str, name: str, operation: str, annotations: Optional[dict[str, str]] = None) -> None:
    wanted = {**operation_annotations(operation, datetime.now(timezone.utc)), **(annotations or {})}
    shoot.client.merge_patch(API, kind, name, {"metadata": {"annotations": wanted}}, shoot.namespace)


def wait(shoot: Shoot, kind: str, name: str, predicate: Predicate = extension_ready, timeout: float = 30) -> WaitResult:
    return Waiter(shoot.client, predicate).wait(API, kind, name, shoot.namespace, timeout=timeout)


def succeeded_without_error(obj: Optional[Mapping[str, Any]]) -> Verdict:
    status = (obj or {}).get("status") or {}
    if (status.get("lastOperation") or {}).get("state") == "Succeeded" and not status.get("lastError"):
        return Verdict(READY)
    return Verdict(WAIT, "not reconciled without error yet")


def assert_succeeded(obj: KubeObject, operation: str) -> None:
    metadata, status = obj["metadata"], obj["status"]
    last = status["lastOperation"]
    assert (last["type"], last["state"], last["progress"]) == (operation, "Succeeded", 100) and last["lastUpdateTime"]
    assert status["observedGeneration"] == metadata["generation"] and not status.get("lastError")
    assert metadata["finalizers"] == [FINALIZER] and OPERATION_ANNOTATION not in metadata["annotations"]


def machines(shoot: Shoot) -> list[KubeObject]:
    return shoot.client.list(MACHINE_API, "Machine", shoot.namespace)["items"]


def name_of(machine: KubeObject) -> str:
    return machine["metadata"]["name"]


def address_of(machine: KubeObject) -> str:
    return next(entry["address"] for entry in machine["status"]["addresses"] if entry["type"] == "InternalIP")


def machine_containers(shoot: Shoot) -> list[str]:
    labels = [f"gardener-autonomous/site={shoot.extension.site}", "local.extensions.gardener.cloud/role=machine"]
    return sorted(container.id for container in shoot.docker.containers.list(all=True, filters={"label": labels}))


def load_balancer_config(shoot: Shoot) -> str:
    balancer = shoot.docker.containers.get(f"{shoot.extension.site}-api")
    return balancer.exec_run(["cat", "/etc/haproxy/haproxy.cfg"]).output.decode()


def gone(collection: Any, ident: str) -> bool:
    try:
        collection.get(ident)
    except docker.errors.NotFound:
        return True
    return False


def host(cidr: str, index: int) -> str:
    return str(ipaddress.ip_network(cidr).network_address + index)


def reject_rule_present(network_id: str) -> bool:
    return reject_rule_present_for(["OUTPUT", "-o", f"br-{network_id[:12]}", "-j", "REJECT"])


def reject_rule_present_for(rule: list[str]) -> bool:
    return subprocess.run(["iptables", "-C", *rule], capture_output=True, check=False).returncode == 0


def public_key(shoot: Shoot) -> str:
    return shoot.key.with_suffix(".pub").read_text().strip()


def ssh_config(directory: Path, *, key: Path, port: int, address: str, bastion: Any, machine: Any) -> Path:
    """known_hosts from each container's own host key, and the machine behind the bastion (ProxyJump)."""
    known_hosts = directory / "known_hosts"
    lines = []
    for alias, container in (("bastion", bastion), ("machine", machine)):
        host_key = container.exec_run(["cat", "/etc/ssh/ssh_host_ed25519_key.pub"]).output.decode().split()[:2]
        lines.append(f"{alias} {' '.join(host_key)}")
    known_hosts.write_text("\n".join(lines) + "\n")
    config = directory / "ssh_config"
    config.write_text(
        "Host *\n"
        f"    User gardener\n    IdentityFile {key}\n    IdentitiesOnly yes\n    BatchMode yes\n"
        f"    UserKnownHostsFile {known_hosts}\n    StrictHostKeyChecking yes\n"
        f"Host bastion\n    HostName 127.0.0.1\n    Port {port}\n    HostKeyAlias bastion\n"
        f"Host machine\n    HostName {address}\n    ProxyJump bastion\n    HostKeyAlias machine\n"
    )
    return config


def ssh(config: Path, target: str, command: str, *options: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["ssh", "-F", str(config), *options, target, command], capture_output=True, text=True, timeout=60, check=False
    )


def tcp_greeting(port: int) -> str:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as connection:
            return connection.recv(100).decode(errors="replace").strip()
    except OSError:
        return ""
