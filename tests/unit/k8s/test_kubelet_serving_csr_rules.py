"""The kubelet serving CSR rules (plugins/module_utils/_k8s/kubelet_serving_csr.py and pkcs10.py) on
requests built with ``cryptography``, and the approver's API handling with a scripted client for
what a real API server does not do on demand (a conflicting decision, a cluster without v1)."""

from __future__ import annotations

import base64
from typing import Any, Optional

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from support.csr import csr_as_read, request_pem

from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.client import Resource
from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.errors import ApiError, KindNotServed
from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.kubelet_serving_csr import (
    Allowed,
    KubeletServingCsrApprover,
    allowed_addresses,
    belongs_to,
    final_condition,
    is_pending,
    mismatch,
)
from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.pkcs10 import Pkcs10Error, parse_der, parse_pem

NODE = {
    "metadata": {"name": "n1"},
    "status": {
        "addresses": [
            {"type": "InternalIP", "address": "10.250.0.10"},
            {"type": "Hostname", "address": "n1"},
            {"type": "ExternalIP", "address": "fd00::10"},
        ]
    },
}
ALLOWED = allowed_addresses(NODE, ["n1.nodes.example", "192.0.2.7"])
GOOD = request_pem("system:node:n1", dns_names=["n1"], ip_addresses=["10.250.0.10"])


def test_allowed_addresses_are_the_nodes_and_the_given_ones() -> None:
    assert allowed_addresses(NODE, ["n1.nodes.example", "192.0.2.7"]) == Allowed(
        dns_names=frozenset({"n1", "n1.nodes.example"}),
        ip_addresses=frozenset({"10.250.0.10", "fd00::10", "192.0.2.7"}),
    )
    assert allowed_addresses(None, ["N1.Example", "fd00:0:0::1"]) == Allowed(
        frozenset({"n1.example"}), frozenset({"fd00::1"})
    )


def test_a_good_request_passes() -> None:
    assert mismatch(csr_as_read(GOOD), "n1", ALLOWED) is None


def test_a_good_rsa_request_with_key_encipherment_passes() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    request = request_pem("system:node:n1", dns_names=["N1.nodes.example"], ip_addresses=["fd00:0::10"], key=key)
    usages = ["digital signature", "key encipherment", "server auth"]
    assert mismatch(csr_as_read(request, usages=usages), "n1", ALLOWED) is None


@pytest.mark.parametrize(
    ("csr", "reason"),
    [
        (
            csr_as_read(request_pem("system:node:n2", dns_names=["n1"])),
            "the subject's common name is system:node:n2, not system:node:n1",
        ),
        (
            csr_as_read(request_pem(None, dns_names=["n1"])),
            "the subject's common name is missing, not system:node:n1",
        ),
        (
            csr_as_read(request_pem("system:node:n1", dns_names=["n1", "evil.example"], ip_addresses=["10.0.0.9"])),
            "SANs not among the node's addresses: DNS:evil.example, IP:10.0.0.9",
        ),
        (
            csr_as_read(GOOD, usages=["digital signature", "key encipherment", "client auth"]),
            "usages ['client auth', 'digital signature', 'key encipherment'] are not exactly digital signature, "
            "server auth and optionally key encipherment",
        ),
        (
            csr_as_read(GOOD, usages=["digital signature", "server auth", "client auth"]),
            "usages ['client auth', 'digital signature', 'server auth'] are not exactly",
        ),
        (csr_as_read(GOOD, usages=["server auth"]), "usages ['server auth'] are not exactly"),
        (
            csr_as_read(GOOD, username="system:bootstrap:abcdef"),
            "requested by 'system:bootstrap:abcdef', not by the node's user 'system:node:n1'",
        ),
        (
            csr_as_read(GOOD, groups=["system:authenticated"]),
            "the requesting user is not in group 'system:nodes'",
        ),
        (
            csr_as_read(request_pem("system:node:n1", ["system:nodes", "system:masters"], dns_names=["n1"])),
            "the subject's organizations are system:nodes, system:masters, not exactly system:nodes",
        ),
        (
            csr_as_read(request_pem("system:node:n1", [], dns_names=["n1"])),
            "the subject's organizations are none, not exactly system:nodes",
        ),
        (csr_as_read(request_pem("system:node:n1")), "no DNS names or IP addresses in the SANs"),
        (
            csr_as_read(request_pem("system:node:n1", dns_names=["n1"], emails=["root@n1"], uris=["spiffe://n1"])),
            "SANs other than DNS names and IP addresses: email:root@n1, URI:spiffe://n1",
        ),
    ],
    ids=[
        "wrong-cn",
        "no-cn",
        "extra-san",
        "client-usage",
        "client-and-server-usage",
        "missing-digital-signature",
        "wrong-user",
        "not-in-nodes-group",
        "two-organizations",
        "no-organization",
        "no-san",
        "email-and-uri-san",
    ],
)
def test_a_request_failing_a_check_says_why(csr: dict[str, Any], reason: str) -> None:
    found = mismatch(csr, "n1", ALLOWED)
    assert found is not None
    assert found.startswith(reason)


def test_an_unreadable_request_is_a_mismatch() -> None:
    csr = csr_as_read(GOOD)
    csr["spec"]["request"] = base64.b64encode(b"-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n").decode()
    assert mismatch(csr, "n1", ALLOWED) == "the request cannot be read: no PEM block of type CERTIFICATE REQUEST"
    csr["spec"]["request"] = "not base64!"
    assert mismatch(csr, "n1", ALLOWED) == "the request cannot be read: spec.request is not base64 of PEM text"


def test_truncated_der_is_an_error_not_a_crash() -> None:
    der = base64.b64decode("".join(GOOD.splitlines()[1:-1]))
    for cut in (1, 2, 10, len(der) // 2, len(der) - 1):
        with pytest.raises(Pkcs10Error):
            parse_der(der[:cut])
    assert parse_pem(GOOD).common_names == ("system:node:n1",)


def test_which_requests_belong_to_the_node() -> None:
    assert belongs_to(csr_as_read(GOOD), "n1")
    assert not belongs_to(csr_as_read(GOOD), "n2")
    # a request for the node by someone else is the node's business: it gets denied, not ignored
    assert belongs_to(csr_as_read(GOOD, username="system:bootstrap:abcdef"), "n1")
    # the node's own client certificate request is for another signer
    assert not belongs_to(csr_as_read(GOOD, signer="kubernetes.io/kube-apiserver-client-kubelet"), "n1")


def test_final_conditions() -> None:
    approved = {"type": "Approved", "status": "True"}
    failed = {"type": "Failed", "status": "True"}
    assert final_condition(csr_as_read(GOOD)) is None
    assert is_pending(csr_as_read(GOOD))
    assert final_condition(csr_as_read(GOOD, conditions=[approved])) == "Approved"
    assert final_condition(csr_as_read(GOOD, conditions=[approved, failed])) == "Failed"
    assert final_condition(csr_as_read(GOOD, conditions=[{"type": "Denied"}])) == "Denied"
    issued = csr_as_read(GOOD)
    issued["status"]["certificate"] = "Y2VydA=="
    assert not is_pending(issued)


class ScriptedClient:
    """Serves the CSRs given; ``served`` lists the apiVersions discovery finds; ``conflicts`` makes
    that many approval writes fail with 409 after ``decided_meanwhile`` is applied."""

    server = "https://scripted"

    def __init__(
        self,
        csrs: list[dict[str, Any]],
        served: tuple[str, ...] = ("certificates.k8s.io/v1", "certificates.k8s.io/v1beta1"),
        decided_meanwhile: Optional[dict[str, Any]] = None,
    ) -> None:
        self.csrs = {csr["metadata"]["name"]: csr for csr in csrs}
        self.served = served
        self.decided_meanwhile = decided_meanwhile
        self.patches: list[tuple[str, str, dict[str, Any]]] = []

    def resource_for(self, api_version: str, kind: str) -> Resource:
        if api_version not in self.served:
            raise KindNotServed(self.server, api_version, kind)
        return Resource(api_version, kind, "certificatesigningrequests", False)

    def list(self, api_version: str, kind: str) -> dict[str, Any]:
        return {"items": list(self.csrs.values()), "metadata": {"resourceVersion": "10"}}

    def get(self, api_version: str, kind: str, name: str, namespace: Optional[str] = None) -> Any:
        return NODE if kind == "Node" else self.csrs.get(name)

    def merge_patch(self, api_version: str, kind: str, name: str, patch: dict, **kwargs: Any) -> dict[str, Any]:
        assert kwargs == {"subresource": "approval"}
        self.patches.append((api_version, name, patch))
        if self.decided_meanwhile is not None:
            conditions = [self.decided_meanwhile]
            self.csrs[name] = {**self.csrs[name], "status": {"conditions": conditions}}
            self.decided_meanwhile = None
            raise ApiError("PATCH", f"/{name}/approval", 409, "Conflict", "the object has been modified")
        return self.csrs[name]


def test_v1beta1_is_used_where_v1_is_not_served() -> None:
    client = ScriptedClient([csr_as_read(GOOD, name="a")], served=("certificates.k8s.io/v1beta1",))
    outcome = KubeletServingCsrApprover(client, "n1").run(wait=0)
    assert outcome.approved == ["a"]
    assert [api_version for api_version, _name, _patch in client.patches] == ["certificates.k8s.io/v1beta1"]
    patch = client.patches[0][2]
    assert patch["metadata"] == {"resourceVersion": "1"}
    assert patch["status"]["conditions"] == [
        {
            "type": "Approved",
            "status": "True",
            "reason": "RequestApproved",
            "message": "Approving kubelet server certificate CSR (all checks passed)",
        }
    ]


def test_a_decision_made_meanwhile_by_someone_else_is_kept() -> None:
    approved_elsewhere = {"type": "Approved", "status": "True", "reason": "KubectlApprove"}
    client = ScriptedClient([csr_as_read(GOOD, name="a")], decided_meanwhile=approved_elsewhere)
    outcome = KubeletServingCsrApprover(client, "n1").run(wait=0)
    assert len(client.patches) == 1  # not written again over the other decision
    assert outcome.approved == []
    assert outcome.already_approved == ["a"]
    assert not outcome.changed


def test_mismatches_are_left_pending_when_not_denying_and_nothing_is_written_in_check_mode() -> None:
    bad = csr_as_read(request_pem("system:node:n1", dns_names=["evil.example"]), name="bad")
    client = ScriptedClient([csr_as_read(GOOD, name="good"), bad])
    outcome = KubeletServingCsrApprover(client, "n1", deny_mismatched=False, check_mode=True).run(wait=60)
    assert client.patches == []
    assert outcome.approved == ["good"]
    assert [decision.name for decision in outcome.left_pending] == ["bad"]
    assert outcome.denied == []
    assert outcome.changed
