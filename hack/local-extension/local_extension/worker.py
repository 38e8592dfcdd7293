"""Worker: machines as systemd containers, and the machine-controller-manager objects that describe them.

Per pool and zone a MachineDeployment ``<namespace>-<pool>-z<n>`` (the pool's ``minimum`` spread over
its zones, as gardener does), with one MachineClass, one MachineSet and a Machine per container. A
machine is a container on the machine network (the flags of hack/local-site.yml), at the lowest free
address from .10, hostname = Machine name, with ``spec.sshPublicKey`` as the ``gardener`` user's
authorized key. Its Machine reports ``status.addresses`` (InternalIP, Hostname) and
``status.currentStatus.phase`` Pending, then Available once sshd answers; the reconcile finishes when
every machine is Available. The load balancer's backends are the control-plane pool's machines: the
Shoot's pool with ``controlPlane``, a pool named or labelled ``control-plane``, or the only pool.
No rolling updates: changed machine settings apply to machines created afterwards.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import ipaddress
import secrets
import string
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Optional

from docker.models.containers import Container
from docker.models.networks import Network
from docker.types import Mount

from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.client import KubeClient
from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.timestamps import format_rfc3339
from local_extension import loadbalancer
from local_extension.contract import CONFIGURATION_PROBLEM, FIELD_MANAGER, Cluster, KubeObject, ReconcileError
from local_extension.site import OWNER_NAME_LABEL, PROBE_PAUSE, SYSTEMD_CONTAINER, Owner, Site

MACHINE_API = "machine.sapcloud.io/v1alpha1"
WORKER_LABEL = "local.extensions.gardener.cloud/worker"  # on the MCM objects
DEPLOYMENT_LABEL = "local.extensions.gardener.cloud/machine-deployment"  # on the machine containers
MACHINE_LABEL = "local.extensions.gardener.cloud/machine"
POOL_LABEL = "worker.gardener.cloud/pool"
CONTROL_PLANE = "control-plane"
CONTROL_PLANE_NODE_LABEL = "node-role.kubernetes.io/control-plane"
FIRST_MACHINE_HOST = 10
MACHINE_TIMEOUT = 120.0
CAPACITY = ("cpu", "gpu", "memory")  # of a CloudProfile machine type
MCM_KINDS = ("Machine", "MachineSet", "MachineDeployment", "MachineClass")  # in deletion order
MACHINE_CONTAINER: dict[str, Any] = {
    **SYSTEMD_CONTAINER,
    "devices": ["/dev/kmsg:/dev/kmsg:rwm"],
    # Namespaced keys only: kube-proxy needs both and must not write them itself.
    "sysctls": {"net.ipv4.ip_forward": "1", "net.ipv4.conf.all.route_localnet": "1"},
    "volumes": {"/lib/modules": {"bind": "/lib/modules", "mode": "ro"}},
}
# Anonymous volumes: containerd's overlayfs snapshots and etcd data must not sit on overlayfs.
MACHINE_VOLUMES = ("/var/lib/containerd", "/var/lib/kubelet", "/var/lib/etcd-main", "/var/lib/etcd-events")


@dataclass(frozen=True)
class Deployment:
    """One MachineDeployment: a pool's machines in one zone."""

    name: str
    pool: Mapping[str, Any]
    zone: str
    replicas: int
    maximum: int
    control_plane: bool

    @property
    def set_name(self) -> str:
        # MCM names MachineSets <deployment>-<hash>; the hash here only has to be stable.
        return f"{self.name}-{hashlib.sha256(self.name.encode()).hexdigest()[:5]}"


class WorkerActuator:
    kind = "Worker"

    def __init__(self, site: Site) -> None:
        self.site = site

    def reconcile(self, client: KubeClient, obj: KubeObject, cluster: Cluster) -> dict[str, Any]:
        owner = Owner.of(obj)
        network = self._machine_network(obj)
        key = authorized_key(obj)
        deployments = plan(obj, cluster)
        with self.site.lock:
            self._remove_machines(owner, keep={deployment.name for deployment in deployments})
            machines = {deployment.name: self._scale(owner, deployment, network, key) for deployment in deployments}
        self._remove_objects(client, owner, deployments)
        for deployment in deployments:
            self._declare(client, owner, deployment, cluster, machines[deployment.name])
        loadbalancer.sync(self.site, owner.namespace)
        for deployment in deployments:
            self._wait_available(client, owner, deployment, machines[deployment.name])
        return {
            "machineDeployments": [
                {"name": deployment.name, "minimum": deployment.replicas, "maximum": deployment.maximum}
                for deployment in deployments
            ],
            "machineDeploymentsLastUpdateTime": now(),
        }

    def delete(self, client: KubeClient, obj: KubeObject) -> None:
        owner = Owner.of(obj)
        with self.site.lock:
            self._remove_machines(owner, keep=set())
        self._remove_objects(client, owner, [])
        loadbalancer.sync(self.site, owner.namespace)

    # Containers

    def _machine_network(self, obj: KubeObject) -> Network:
        status = obj["spec"].get("infrastructureProviderStatus") or {}
        nodes = (status.get("networks") or {}).get("nodes") or {}
        if not nodes.get("id"):
            raise ReconcileError(
                "spec.infrastructureProviderStatus has no networks.nodes.id: copy the Infrastructure's "
                "status.providerStatus into it",
                CONFIGURATION_PROBLEM,
            )
        network = self.site.network(nodes["id"])
        if network is None:
            raise ReconcileError(
                f"the machine network {nodes.get('name')} ({nodes['id'][:12]}) does not exist: reconcile the "
                "Infrastructure and copy its status.providerStatus again",
                "ERR_RETRYABLE_INFRA_DEPENDENCIES",
            )
        return network

    def _machines(self, owner: Owner, **labels: str) -> list[Container]:
        return self.site.containers(
            owner.namespace, loadbalancer.MACHINE_ROLE, **{OWNER_NAME_LABEL: owner.name, **labels}
        )

    def _remove_machines(self, owner: Owner, keep: set[str]) -> None:
        for machine in self._machines(owner):
            if machine.labels[DEPLOYMENT_LABEL] not in keep:
                self.site.remove_container(machine)

    def _scale(self, owner: Owner, deployment: Deployment, network: Network, key: str) -> list[Container]:
        machines = self._machines(owner, **{DEPLOYMENT_LABEL: deployment.name})
        for extra in machines[deployment.replicas :]:
            self.site.remove_container(extra)
        machines = machines[: deployment.replicas]
        for machine in machines:
            if machine.status != "running":
                machine.start()
        while len(machines) < deployment.replicas:
            machines.append(self._create_machine(owner, deployment, network, key))
        return machines

    def _create_machine(self, owner: Owner, deployment: Deployment, network: Network, key: str) -> Container:
        machine = f"{deployment.set_name}-{random_suffix()}"
        subnet = ipaddress.ip_network(network.attrs["IPAM"]["Config"][0]["Subnet"])
        address = self.site.free_address(network, FIRST_MACHINE_HOST, subnet.num_addresses - 2)
        labels = {
            DEPLOYMENT_LABEL: deployment.name,
            MACHINE_LABEL: machine,
            POOL_LABEL: deployment.pool["name"],
            loadbalancer.CONTROL_PLANE_LABEL: str(deployment.control_plane).lower(),
            loadbalancer.MACHINE_ADDRESS_LABEL: address,
        }
        container = self.site.create_container(
            f"{self.site.config.name}-{machine}",
            owner,
            loadbalancer.MACHINE_ROLE,
            labels=labels,
            hostname=machine,
            network=network.name,
            networking_config={network.name: self.site.docker.api.create_endpoint_config(ipv4_address=address)},
            mounts=[Mount(target=path, source=None, type="volume") for path in MACHINE_VOLUMES],
            **MACHINE_CONTAINER,
        )
        if key:
            # Root-owned and world-readable: sshd reads it as the user, and StrictModes accepts root as owner.
            self.site.write_file(container, "/home/gardener/.ssh/authorized_keys", key)
        container.start()
        container.reload()
        return container

    def _wait_available(
        self, client: KubeClient, owner: Owner, deployment: Deployment, machines: list[Container]
    ) -> None:
        deadline = time.monotonic() + MACHINE_TIMEOUT
        for machine in machines:
            while not self.site.sshd_answers(machine):
                if time.monotonic() > deadline:
                    raise ReconcileError(
                        f"machine {machine.labels[MACHINE_LABEL]} did not answer SSH within {MACHINE_TIMEOUT:.0f}s",
                        "ERR_RETRYABLE_INFRA_DEPENDENCIES",
                    )
                time.sleep(PROBE_PAUSE)
            set_phase(client, owner.namespace, machine, "Available")
        available = {"replicas": len(machines), "readyReplicas": len(machines), "availableReplicas": len(machines)}
        for kind, name in (("MachineSet", deployment.set_name), ("MachineDeployment", deployment.name)):
            status = {**available, "updatedReplicas": len(machines)} if kind == "MachineDeployment" else available
            client.merge_patch(MACHINE_API, kind, name, {"status": status}, owner.namespace, subresource="status")

    # machine-controller-manager objects

    def _declare(
        self, client: KubeClient, owner: Owner, deployment: Deployment, cluster: Cluster, machines: list[Container]
    ) -> None:
        labels = {WORKER_LABEL: owner.name, POOL_LABEL: deployment.pool["name"], "name": deployment.name}
        metadata = {"namespace": owner.namespace, "labels": labels}
        machine_class_ref = {"kind": "MachineClass", "name": deployment.name}
        template = {"metadata": {"labels": labels}, "spec": {"class": machine_class_ref}}
        apply(
            client,
            {
                "kind": "MachineClass",
                "metadata": {"name": deployment.name, **metadata},
                **machine_class(deployment, cluster),
            },
        )
        parent = apply(
            client,
            {
                "kind": "MachineDeployment",
                "metadata": {"name": deployment.name, **metadata},
                "spec": {"replicas": deployment.replicas, "selector": {"matchLabels": labels}, "template": template},
            },
        )
        machine_set = apply(
            client,
            {
                "kind": "MachineSet",
                "metadata": {"name": deployment.set_name, **metadata, "ownerReferences": [reference(parent)]},
                "spec": {
                    "replicas": deployment.replicas,
                    "selector": {"matchLabels": labels},
                    "machineClass": machine_class_ref,
                    "template": template,
                },
            },
        )
        for machine in machines:
            name = machine.labels[MACHINE_LABEL]
            apply(
                client,
                {
                    "kind": "Machine",
                    "metadata": {"name": name, **metadata, "ownerReferences": [reference(machine_set)]},
                    "spec": {
                        "class": machine_class_ref,
                        "providerID": f"local:///{owner.namespace}/{name}",
                    },
                },
            )
            phase = "Available" if self.site.sshd_answers(machine) else "Pending"
            set_phase(client, owner.namespace, machine, phase)

    def _remove_objects(self, client: KubeClient, owner: Owner, deployments: list[Deployment]) -> None:
        """Deletes the MCM objects of this Worker that no longer stand for a planned deployment or a machine."""
        wanted = {deployment.name for deployment in deployments}
        wanted |= {deployment.set_name for deployment in deployments}
        wanted |= {machine.labels[MACHINE_LABEL] for machine in self._machines(owner)}
        for kind in MCM_KINDS:
            for item in client.list(MACHINE_API, kind, owner.namespace, label_selector={WORKER_LABEL: owner.name})[
                "items"
            ]:
                if item["metadata"]["name"] not in wanted:
                    client.delete(MACHINE_API, kind, item["metadata"]["name"], owner.namespace)


def plan(obj: KubeObject, cluster: Cluster) -> list[Deployment]:
    namespace = obj["metadata"]["namespace"]
    pools = obj["spec"]["pools"]
    control_plane = control_plane_pool(pools, cluster)
    deployments = []
    for pool in pools:
        zones = pool.get("zones") or [""]
        for index, zone in enumerate(zones):
            deployments.append(
                Deployment(
                    name=f"{namespace}-{pool['name']}-z{index + 1}",
                    pool=pool,
                    zone=zone,
                    replicas=share(pool.get("minimum", 0), len(zones), index),
                    maximum=share(pool.get("maximum", 0), len(zones), index),
                    control_plane=pool["name"] == control_plane,
                )
            )
    too_long = [deployment.set_name for deployment in deployments if len(deployment.set_name) > 57]
    if too_long:
        raise ReconcileError(
            f"machine names would exceed 63 characters, the limit of a host name: {', '.join(too_long)}-xxxxx",
            CONFIGURATION_PROBLEM,
        )
    return deployments


def control_plane_pool(pools: list[Mapping[str, Any]], cluster: Cluster) -> Optional[str]:
    names = [pool["name"] for pool in pools]
    if cluster.control_plane_pool in names:
        return cluster.control_plane_pool
    labelled = [pool["name"] for pool in pools if CONTROL_PLANE_NODE_LABEL in (pool.get("labels") or {})]
    named = [name for name in names if name == CONTROL_PLANE]
    candidates = named or labelled or (names if len(names) == 1 else [])
    return candidates[0] if candidates else None


def share(total: int, zones: int, index: int) -> int:
    """Gardener's distribution over zones: the remainder goes to the first zones."""
    base, remainder = divmod(total, zones)
    return base + (1 if index < remainder else 0)


def machine_class(deployment: Deployment, cluster: Cluster) -> dict[str, Any]:
    """The MachineClass fields; the node template's capacity as gardener takes it: the pool's own, else
    the CloudProfile's machine type."""
    pool = deployment.pool
    machine_type = pool.get("machineType", "")
    capacity = (pool.get("nodeTemplate") or {}).get("capacity")
    if not capacity:
        capacity = {key: value for key, value in cluster.machine_type(machine_type).items() if key in CAPACITY}
    if not capacity:
        raise ReconcileError(
            f"pool {pool['name']}: no nodeTemplate.capacity and no machine type {machine_type!r} in the CloudProfile",
            CONFIGURATION_PROBLEM,
        )
    return {
        "nodeTemplate": {
            "capacity": capacity,
            "instanceType": machine_type,
            "region": "local",
            "zone": deployment.zone,
        },
        "providerSpec": {"image": pool.get("machineImage") or {}, "machineType": machine_type},
        "provider": "local",
    }


def authorized_key(obj: KubeObject) -> str:
    encoded = obj["spec"].get("sshPublicKey")
    if not encoded:
        return ""
    try:
        return base64.b64decode(encoded, validate=True).decode().strip() + "\n"
    except (binascii.Error, UnicodeDecodeError):
        raise ReconcileError("spec.sshPublicKey is not base64 of an SSH public key", CONFIGURATION_PROBLEM) from None


def apply(client: KubeClient, obj: dict[str, Any]) -> KubeObject:
    return client.apply({"apiVersion": MACHINE_API, **obj}, field_manager=FIELD_MANAGER, force=True)


def reference(owner: KubeObject) -> dict[str, Any]:
    return {
        "apiVersion": MACHINE_API,
        "kind": owner["kind"],
        "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def set_phase(client: KubeClient, namespace: str, machine: Container, phase: str) -> None:
    name = machine.labels[MACHINE_LABEL]
    status = {
        "addresses": [
            {"type": "InternalIP", "address": machine.labels[loadbalancer.MACHINE_ADDRESS_LABEL]},
            {"type": "Hostname", "address": name},
        ],
        "currentStatus": {"phase": phase, "lastUpdateTime": now()},
    }
    client.merge_patch(MACHINE_API, "Machine", name, {"status": status}, namespace, subresource="status")


def random_suffix() -> str:
    return "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(5))


def now() -> str:
    return format_rfc3339(datetime.now(timezone.utc))
