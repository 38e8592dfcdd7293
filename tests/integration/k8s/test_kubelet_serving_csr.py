"""kubelet_serving_csr through ansible-playbook against a real kube-apiserver v1.20.2.

The CSRs are created the way a kubelet creates them: by a client authenticated as the node
(client certificate ``CN=system:node:<node>, O=system:nodes`` from the fixture's CA), since the API
sets ``spec.username`` and ``spec.groups`` from the creator. No kube-controller-manager runs, so
approved CSRs are never issued; that does not matter to the approver.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Optional

import pytest
from support.apiserver import BootstrapApiserver
from support.csr import csr_manifest, request_pem
from support.playbook import PlaybookRunner

from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.client import KubeClient
from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.kubeconfig import ClientConfig

pytestmark = pytest.mark.substrate

MODULE = "gardener.autonomous.kubelet_serving_csr"
CSR_API = "certificates.k8s.io/v1"
CSR = "CertificateSigningRequest"
NODE_IP = "10.250.0.10"


@pytest.fixture(scope="module")
def api(bootstrap_apiserver: BootstrapApiserver) -> Iterator[BootstrapApiserver]:
    """Lets nodes create CSRs, as kubeadm and Gardener bind it (system:node-bootstrapper)."""
    binding_name = f"test-nodes-create-csrs-{uuid.uuid4().hex[:8]}"
    bootstrap_apiserver.client.create(
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": binding_name},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": "system:node-bootstrapper",
            },
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "system:nodes"}],
        }
    )
    yield bootstrap_apiserver
    bootstrap_apiserver.client.delete("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", binding_name)


class Node:
    """A registered Node (with addresses) and a client authenticated as its kubelet."""

    def __init__(self, api: BootstrapApiserver, workdir: Path, *, registered: bool = True) -> None:
        self.api = api
        defaults = {"group/gardener.autonomous.kubernetes": {"kubeconfig": str(api.kubeconfig_path)}}
        self.runner = PlaybookRunner(workdir, defaults)
        self.seconds = 0.0  # of the last run
        self.name = f"n-{uuid.uuid4().hex[:8]}"
        self.user = f"system:node:{self.name}"
        self.created: list[str] = []
        cert, key = api.pki.issue_pem(self.user, organization="system:nodes")
        self.client = KubeClient(
            ClientConfig(server=api.server, ca_data=api.ca_pem, client_cert_data=cert, client_key_data=key)
        )
        if registered:
            api.client.create({"apiVersion": "v1", "kind": "Node", "metadata": {"name": self.name}})
            addresses = [{"type": "InternalIP", "address": NODE_IP}, {"type": "Hostname", "address": self.name}]
            api.client.merge_patch("v1", "Node", self.name, {"status": {"addresses": addresses}}, subresource="status")

    def request(self, common_name: Optional[str] = None, **kwargs: Any) -> str:
        """A request as its kubelet makes it; keyword arguments change what it asks for."""
        names = {"dns_names": [self.name], "ip_addresses": [NODE_IP]}
        names.update({key: kwargs.pop(key) for key in ("dns_names", "ip_addresses", "emails") if key in kwargs})
        return request_pem(common_name or self.user, **names, **kwargs)

    def submit(self, request: str, *, by: Optional[KubeClient] = None, **kwargs: Any) -> str:
        created = (by or self.client).create(csr_manifest(request, **kwargs))
        self.created.append(created["metadata"]["name"])
        return created["metadata"]["name"]

    def run(self, *steps: tuple[dict[str, Any], dict[str, Any]]) -> list[dict[str, Any]]:
        """One task per (module arguments, task keywords); node_name is added."""
        started = time.monotonic()
        results = self.runner.run(MODULE, *[({"node_name": self.name, **args}, keywords) for args, keywords in steps])
        self.seconds = time.monotonic() - started
        return results

    def csr(self, name: str) -> dict[str, Any]:
        return self.api.client.get(CSR_API, CSR, name)

    def conditions(self, name: str) -> list[tuple[str, str, str]]:
        return [
            (entry["type"], entry["reason"], entry["message"])
            for entry in (self.csr(name).get("status") or {}).get("conditions") or []
        ]

    def clean_up(self) -> None:
        self.client.close()
        for name in self.created:
            self.api.client.delete(CSR_API, CSR, name)
        self.api.client.delete("v1", "Node", self.name)


@pytest.fixture
def node(api: BootstrapApiserver, tmp_path: Path) -> Iterator[Node]:
    node = Node(api, tmp_path)
    yield node
    node.clean_up()


APPROVED = "Approving kubelet server certificate CSR (all checks passed)"


def test_approves_the_good_request_and_denies_the_bad_ones(node: Node) -> None:
    good = node.submit(node.request())
    wrong_cn = node.submit(node.request("system:node:someone-else"))
    extra_san = node.submit(node.request(dns_names=[node.name, "evil.example"]))
    client_usage = node.submit(node.request(), usages=["digital signature", "key encipherment", "client auth"])
    forged = node.submit(node.request(), by=node.api.client)  # someone else asking for the node's name
    other_signer = node.submit(node.request(), signer="kubernetes.io/kube-apiserver-client-kubelet")

    first, again = node.run(({}, {}), ({}, {}))

    assert first["changed"] is True
    assert first["approved"] == [good]
    assert first["already_approved"] == []
    assert first["left_pending"] == []
    reasons = {entry["name"]: entry["reason"] for entry in first["denied"]}
    assert reasons == {
        wrong_cn: f"the subject's common name is system:node:someone-else, not {node.user}",
        extra_san: "SANs not among the node's addresses: DNS:evil.example",
        client_usage: "usages ['client auth', 'digital signature', 'key encipherment'] are not exactly "
        "digital signature, server auth and optionally key encipherment",
        forged: f"requested by 'admin', not by the node's user '{node.user}'",
    }
    assert node.conditions(good) == [("Approved", "RequestApproved", APPROVED)]
    for name, reason in reasons.items():
        assert node.conditions(name) == [
            ("Denied", "RequestDenied", f"Denying kubelet server certificate CSR ({reason})")
        ]
    assert node.conditions(other_signer) == []  # not a serving certificate: not the module's business

    assert again["changed"] is False
    assert (again["approved"], again["denied"], again["already_approved"]) == ([], [], [good])
    assert node.conditions(good) == [("Approved", "RequestApproved", APPROVED)]


def test_given_addresses_are_allowed_and_mismatches_can_stay_pending(node: Node) -> None:
    extra = node.submit(node.request(ip_addresses=[NODE_IP, "192.0.2.7"], dns_names=[f"{node.name}.example"]))
    stays = node.submit(node.request(ip_addresses=["198.51.100.1"]))

    (result,) = node.run(
        ({"addresses": ["192.0.2.7", f"{node.name}.example"], "deny_mismatched": False, "wait": 0}, {})
    )

    assert result["approved"] == [extra]
    assert result["denied"] == []
    assert result["left_pending"] == [{"name": stays, "reason": "SANs not among the node's addresses: IP:198.51.100.1"}]
    assert node.conditions(stays) == []


def test_check_mode_decides_nothing(node: Node) -> None:
    good = node.submit(node.request())
    bad = node.submit(node.request("system:node:someone-else"))

    (check,) = node.run(({}, {"check_mode": True}))

    assert check["changed"] is True
    assert check["approved"] == [good]
    assert [entry["name"] for entry in check["denied"]] == [bad]
    assert node.conditions(good) == node.conditions(bad) == []


def test_waits_for_the_request_to_appear(node: Node) -> None:
    names: list[str] = []
    submitted_at: list[float] = []

    def kubelet_starts_later() -> None:
        time.sleep(1)
        submitted_at.append(time.monotonic())
        # a client of its own: KubeClient is one per thread
        cert, key = node.api.pki.issue_pem(node.user, organization="system:nodes")
        config = ClientConfig(
            server=node.api.server, ca_data=node.api.ca_pem, client_cert_data=cert, client_key_data=key
        )
        with KubeClient(config) as client:
            names.append(node.submit(node.request(), by=client))

    started = time.monotonic()
    thread = threading.Thread(target=kubelet_starts_later)
    thread.start()
    try:
        (result,) = node.run(({"wait": 60}, {}))
    finally:
        thread.join()

    assert not result.get("failed"), result
    assert result["changed"] is True
    assert result["approved"] == names
    assert node.conditions(names[0]) == [("Approved", "RequestApproved", APPROVED)]
    assert submitted_at[0] - started >= 1
    assert node.seconds < 30


def test_no_request_and_nothing_approved(api: BootstrapApiserver, tmp_path: Path) -> None:
    node = Node(api, tmp_path, registered=False)
    try:
        timed_out, not_waiting = node.run(({"wait": 2}, {}), ({"wait": 0}, {}))
    finally:
        node.clean_up()
    assert timed_out["failed"] is True
    assert timed_out["msg"] == (
        f"no pending kubelet serving certificate request of node {node.name} appeared within 2s, "
        "and the node has no approved one"
    )
    assert not not_waiting.get("failed")
    assert not_waiting["changed"] is False
    assert (not_waiting["approved"], not_waiting["denied"], not_waiting["already_approved"]) == ([], [], [])
