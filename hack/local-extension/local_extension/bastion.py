"""Bastion: a systemd container on both networks of the site, sshd published on 127.0.0.1:<port>.

``spec.userData`` (base64 of a shell script; gardenadm's creates the ``gardener`` user's authorized key)
runs inside it once, as root, after systemd has booted; each distinct script runs once. A real
provider's bastion is reachable on port 22 of ``status.ingress``; this one is published on a port of
127.0.0.1 from the extension's ``--bastion-ports`` range, so ``status.ingress`` is {ip: 127.0.0.1,
hostname: localhost} and clients of the local provider read the port from ``status.providerStatus``
(``BastionStatus``, see the README). Every ``spec.ingress[].ipBlock.cidr`` is checked: at least one must
contain 127.0.0.1, else nobody it allows could connect.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import ipaddress
from typing import Any

from docker.models.containers import Container

from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.client import KubeClient
from local_extension.contract import CONFIGURATION_PROBLEM, PROVIDER_API_VERSION, Cluster, KubeObject, ReconcileError
from local_extension.infrastructure import FRONT, NODES
from local_extension.site import OWNER_NAME_LABEL, SYSTEMD_CONTAINER, Owner, Site, published_port

ROLE = "bastion"
SSH_PORT = "22/tcp"
USER_DATA_PATH = "/var/lib/local-extension/user-data"
USER_DATA_DONE = "/var/lib/local-extension/user-data.sha256"  # the checksum of the script that ran
BASTION_HOSTS = (2, 9)  # .2-.9 of the machine network (.3 is the load balancer's)
LOOPBACK = ipaddress.ip_address("127.0.0.1")


class BastionActuator:
    kind = "Bastion"

    def __init__(self, site: Site) -> None:
        self.site = site

    def reconcile(self, client: KubeClient, obj: KubeObject, cluster: Cluster) -> dict[str, Any]:
        owner = Owner.of(obj)
        check_ingress(obj["spec"].get("ingress") or [])
        script = user_data(obj)
        with self.site.lock:
            bastion = self._bastion(owner)
        self.site.wait_for_systemd(bastion)
        self._run_once(bastion, script)
        return {
            "ingress": {"ip": str(LOOPBACK), "hostname": "localhost"},
            "providerStatus": {
                "apiVersion": PROVIDER_API_VERSION,
                "kind": "BastionStatus",
                "container": {"name": bastion.name, "id": bastion.id},
                "port": published_port(bastion, SSH_PORT),
            },
        }

    def delete(self, client: KubeClient, obj: KubeObject) -> None:
        owner = Owner.of(obj)
        for bastion in self.site.containers(owner.namespace, ROLE, **{OWNER_NAME_LABEL: owner.name}):
            self.site.remove_container(bastion)

    def _bastion(self, owner: Owner) -> Container:
        existing = self.site.containers(owner.namespace, ROLE, **{OWNER_NAME_LABEL: owner.name})
        if existing:
            bastion = existing[0]
        else:
            front = self.site.infrastructure_network(owner.namespace, FRONT)
            nodes = self.site.infrastructure_network(owner.namespace, NODES)
            name = f"{self.site.config.name}-bastion-{owner.name}"
            self.site.check_free_name(name, owner)
            bastion = self.site.create_container(
                name,
                owner,
                ROLE,
                hostname=name[:63],
                ports={SSH_PORT: ("127.0.0.1", self.site.free_bastion_port())},
                network=front.name,
                **SYSTEMD_CONTAINER,
            )
            nodes.connect(bastion, ipv4_address=self.site.free_address(nodes, *BASTION_HOSTS))
        if bastion.status != "running":
            bastion.start()
            bastion.reload()
        return bastion

    def _run_once(self, bastion: Container, script: str) -> None:
        checksum = hashlib.sha256(script.encode()).hexdigest()
        if self.site.read_file(bastion, USER_DATA_DONE) == checksum:
            return
        self.site.run(bastion, ["mkdir", "-p", USER_DATA_PATH.rsplit("/", 1)[0]])
        self.site.write_file(bastion, USER_DATA_PATH, script, mode=0o700)
        code, output = self.site.run(bastion, ["/bin/bash", USER_DATA_PATH])
        if code != 0:
            tail = "\n".join(output.strip().splitlines()[-5:])
            raise ReconcileError(f"spec.userData exited with {code} in {bastion.name}: {tail}", CONFIGURATION_PROBLEM)
        self.site.write_file(bastion, USER_DATA_DONE, checksum, mode=0o600)


def check_ingress(ingress: list[dict[str, Any]]) -> None:
    cidrs = [(entry.get("ipBlock") or {}).get("cidr", "") for entry in ingress]
    for cidr in cidrs:
        try:
            network = ipaddress.ip_network(cidr, strict=False)
        except ValueError:
            raise ReconcileError(f"spec.ingress: {cidr!r} is not a CIDR", CONFIGURATION_PROBLEM) from None
        if LOOPBACK in network:
            return
    raise ReconcileError(
        f"spec.ingress allows {', '.join(cidrs) or 'nobody'}, but the local bastion is published on 127.0.0.1 "
        "only: allow a CIDR that contains 127.0.0.1 (e.g. 127.0.0.1/32)",
        CONFIGURATION_PROBLEM,
    )


def user_data(obj: KubeObject) -> str:
    try:
        return base64.b64decode(obj["spec"]["userData"], validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise ReconcileError("spec.userData is not base64 of a shell script", CONFIGURATION_PROBLEM) from None
