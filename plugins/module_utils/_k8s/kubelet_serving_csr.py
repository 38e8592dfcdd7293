# Copyright (c) 2026 gardener.autonomous contributors
# Apache License 2.0 (see LICENSE)
# Note that this module util is PRIVATE to the collection. It can have breaking changes at any time.
"""Approves a node's kubelet serving certificate requests after the checks of Gardener's
gardener-resource-manager CSR approver (``pkg/resourcemanager/controller/csrapprover``), and denies
the node's requests that fail them.

A request belongs to node ``n`` when its signer is ``kubernetes.io/kubelet-serving`` and it was
made by ``system:node:n`` or asks for ``CN=system:node:n`` (so that a forged request for the node
is denied, not ignored). It is approved only when all of these hold:

- made by ``system:node:n`` in group ``system:nodes``;
- usages exactly digital signature, server auth and optionally key encipherment;
- subject ``CN=system:node:n`` and exactly one organization, ``system:nodes``;
- at least one SAN, only DNS names and IP addresses, each one among the Node's
  ``status.addresses`` or the addresses given (Gardener compares with the Node only; a machine
  about to register has no Node yet, hence the given ones).
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import time
from contextlib import closing
from typing import Any, Callable, Iterable, List, Mapping, NamedTuple, Optional, Sequence, Set

from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.client import KubeClient, KubeObject
from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.errors import (
    ApiError,
    ApiUnreachable,
    KindNotServed,
    KubeError,
    ResourceExpired,
)
from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.pkcs10 import (
    CertificateRequest,
    Pkcs10Error,
    parse_pem,
)

KIND = "CertificateSigningRequest"
API_VERSIONS = ("certificates.k8s.io/v1", "certificates.k8s.io/v1beta1")  # v1 since Kubernetes 1.19
SIGNER = "kubernetes.io/kubelet-serving"
NODE_USER_PREFIX = "system:node:"
NODES_GROUP = "system:nodes"
REQUIRED_USAGES = frozenset({"digital signature", "server auth"})
OPTIONAL_USAGES = frozenset({"key encipherment"})  # RSA keys need it, ECDSA keys do not
FINAL_CONDITIONS = ("Approved", "Denied", "Failed")
RETRY_PAUSE = 0.5  # before watching again after the connection broke
CONFLICT_ATTEMPTS = 3  # another approver writing the same request at the same moment


class CsrWaitTimeout(KubeError):
    def __init__(self, node_name: str, waited: float) -> None:
        super().__init__(node_name, waited)
        self.node_name = node_name
        self.waited = waited

    def __str__(self) -> str:
        return (
            f"no pending kubelet serving certificate request of node {self.node_name} appeared within "
            f"{self.waited:.0f}s, and the node has no approved one"
        )


class Allowed(NamedTuple):
    """The SANs a node may have in its serving certificate."""

    dns_names: frozenset
    ip_addresses: frozenset  # canonical text, as pkcs10 writes them


class Decision(NamedTuple):
    name: str
    reason: str


class Outcome(NamedTuple):
    approved: List[str]  # approved now (or would be, in check mode)
    denied: List[Decision]  # denied now (or would be)
    left_pending: List[Decision]  # failed the checks, not denied (deny_mismatched off)
    already_approved: List[str]

    @property
    def changed(self) -> bool:
        return bool(self.approved or self.denied)


# The rules


def node_user(node_name: str) -> str:
    return NODE_USER_PREFIX + node_name


def allowed_addresses(node: Optional[Mapping[str, Any]], extra: Iterable[str]) -> Allowed:
    """Every address of the Node (any type) and the extra ones, as DNS names or IP addresses."""
    addresses = [entry.get("address", "") for entry in ((node or {}).get("status") or {}).get("addresses") or []]
    dns_names: Set[str] = set()
    ip_addresses: Set[str] = set()
    for address in [*addresses, *extra]:
        try:
            ip_addresses.add(str(ipaddress.ip_address(address)))
        except ValueError:
            if address:
                dns_names.add(address.lower())
    return Allowed(frozenset(dns_names), frozenset(ip_addresses))


def certificate_request(csr: Mapping[str, Any]) -> CertificateRequest:
    """The parsed ``spec.request`` (base64 of PEM in the API's JSON)."""
    try:
        pem = base64.b64decode((csr.get("spec") or {}).get("request") or "", validate=True).decode("ascii")
    except (binascii.Error, UnicodeDecodeError):
        raise Pkcs10Error("spec.request is not base64 of PEM text") from None
    return parse_pem(pem)


def belongs_to(csr: Mapping[str, Any], node_name: str) -> bool:
    spec = csr.get("spec") or {}
    if spec.get("signerName") != SIGNER:
        return False
    if spec.get("username") == node_user(node_name):
        return True
    try:
        return node_user(node_name) in certificate_request(csr).common_names
    except Pkcs10Error:
        return False  # neither made by the node nor readable as a request for it


def final_condition(csr: Mapping[str, Any]) -> Optional[str]:
    """Approved, Denied or Failed (a failed signing outranks an approval); None while pending."""
    types = {entry.get("type") for entry in (csr.get("status") or {}).get("conditions") or []}
    return next((kind for kind in reversed(FINAL_CONDITIONS) if kind in types), None)


def is_pending(csr: Mapping[str, Any]) -> bool:
    return final_condition(csr) is None and not (csr.get("status") or {}).get("certificate")


def mismatch(csr: Mapping[str, Any], node_name: str, allowed: Allowed) -> Optional[str]:
    """Why the request must not be approved for ``node_name``; None when every check passes."""
    spec = csr.get("spec") or {}
    user = node_user(node_name)
    if spec.get("username") != user:
        return f"requested by {spec.get('username')!r}, not by the node's user {user!r}"
    if NODES_GROUP not in (spec.get("groups") or []):
        return f"the requesting user is not in group {NODES_GROUP!r}"
    usages = set(spec.get("usages") or [])
    if not REQUIRED_USAGES <= usages <= REQUIRED_USAGES | OPTIONAL_USAGES:
        return f"usages {sorted(usages)} are not exactly digital signature, server auth and optionally key encipherment"
    try:
        request = certificate_request(csr)
    except Pkcs10Error as error:
        return f"the request cannot be read: {error}"
    return _subject_mismatch(request, user) or _san_mismatch(request, allowed)


def _subject_mismatch(request: CertificateRequest, user: str) -> Optional[str]:
    if request.common_names != (user,):
        return f"the subject's common name is {', '.join(request.common_names) or 'missing'}, not {user}"
    if request.organizations != (NODES_GROUP,):
        found = ", ".join(request.organizations) or "none"
        return f"the subject's organizations are {found}, not exactly {NODES_GROUP}"
    return None


def _san_mismatch(request: CertificateRequest, allowed: Allowed) -> Optional[str]:
    if request.other_names:
        return f"SANs other than DNS names and IP addresses: {', '.join(request.other_names)}"
    if not request.dns_names and not request.ip_addresses:
        return "no DNS names or IP addresses in the SANs"
    unknown = [f"DNS:{name}" for name in request.dns_names if name.lower() not in allowed.dns_names]
    unknown += [f"IP:{address}" for address in request.ip_addresses if address not in allowed.ip_addresses]
    if unknown:
        return f"SANs not among the node's addresses: {', '.join(unknown)}"
    return None


def decision_condition(approve: bool, reason: str) -> KubeObject:
    """As gardener-resource-manager writes it; the API sets the timestamps."""
    if approve:
        return {
            "type": "Approved",
            "status": "True",
            "reason": "RequestApproved",
            "message": f"Approving kubelet server certificate CSR ({reason})",
        }
    return {
        "type": "Denied",
        "status": "True",
        "reason": "RequestDenied",
        "message": f"Denying kubelet server certificate CSR ({reason})",
    }


# Against the API


class KubeletServingCsrApprover:
    """Decides the pending serving certificate requests of one node; ``clock`` is injectable for tests."""

    def __init__(
        self,
        client: KubeClient,
        node_name: str,
        extra_addresses: Sequence[str] = (),
        *,
        deny_mismatched: bool = True,
        check_mode: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._node_name = node_name
        self._extra_addresses = list(extra_addresses)
        self._deny_mismatched = deny_mismatched
        self._check_mode = check_mode
        self._clock = clock

    def api_version(self) -> str:
        """certificates.k8s.io/v1 when served (1.19+), else v1beta1, by discovery."""
        for api_version in API_VERSIONS:
            try:
                self._client.resource_for(api_version, KIND)
            except KindNotServed:
                continue
            return api_version
        raise KindNotServed(self._client.server, API_VERSIONS[-1], KIND)

    def run(self, wait: float) -> Outcome:
        """Decides what is pending. With nothing pending and nothing approved before, waits up to
        ``wait`` seconds (watching) for a request of the node; never waits in check mode."""
        api_version = self.api_version()
        listing = self._client.list(api_version, KIND)
        mine = [csr for csr in listing.get("items") or [] if belongs_to(csr, self._node_name)]
        already_approved = [_name(csr) for csr in mine if final_condition(csr) == "Approved"]
        pending = [csr for csr in mine if is_pending(csr)]
        if not pending and not already_approved and wait > 0 and not self._check_mode:
            pending = self._wait_for_pending(api_version, listing["metadata"]["resourceVersion"], wait)
        outcome = Outcome([], [], [], already_approved)
        if pending:
            allowed = allowed_addresses(self._client.get("v1", "Node", self._node_name), self._extra_addresses)
            for csr in pending:
                self._decide(api_version, csr, allowed, outcome)
        return outcome

    def _decide(self, api_version: str, csr: KubeObject, allowed: Allowed, outcome: Outcome) -> None:
        reason = mismatch(csr, self._node_name, allowed)
        if reason is not None and not self._deny_mismatched:
            outcome.left_pending.append(Decision(_name(csr), reason))
            return
        condition = decision_condition(reason is None, reason or "all checks passed")
        if not self._check_mode:
            decided_by_others = self._write_condition(api_version, csr, condition)
            if decided_by_others is not None:
                if decided_by_others == "Approved":
                    outcome.already_approved.append(_name(csr))
                return
        if reason is None:
            outcome.approved.append(_name(csr))
        else:
            outcome.denied.append(Decision(_name(csr), reason))

    def _write_condition(self, api_version: str, csr: KubeObject, condition: KubeObject) -> Optional[str]:
        """Adds the condition through the approval subresource, guarded by the resourceVersion so that a
        decision someone else made meanwhile is never overwritten; returns that decision, if any."""
        for _attempt in range(CONFLICT_ATTEMPTS):
            patch = {
                "metadata": {"resourceVersion": csr["metadata"]["resourceVersion"]},
                "status": {"conditions": [*((csr.get("status") or {}).get("conditions") or []), condition]},
            }
            try:
                self._client.merge_patch(api_version, KIND, _name(csr), patch, subresource="approval")
                return None
            except ApiError as error:
                if error.status != 409:
                    raise
            current = self._client.get(api_version, KIND, _name(csr))
            if current is None or not is_pending(current):
                return final_condition(current) if current is not None else "Deleted"
            csr = current
        raise KubeError(f"{KIND} {_name(csr)} kept changing while its decision was written; run again")

    def _wait_for_pending(self, api_version: str, version: Optional[str], timeout: float) -> List[KubeObject]:
        """Watches requests from ``version`` until one of the node's is pending; re-lists when the
        version expired and re-watches when the connection broke, until the deadline."""
        started = self._clock()
        deadline = started + timeout
        while True:
            remaining = deadline - self._clock()
            if remaining <= 0:
                raise CsrWaitTimeout(self._node_name, self._clock() - started)
            try:
                if version is None:
                    listing = self._client.list(api_version, KIND)
                    pending = [csr for csr in listing.get("items") or [] if self._is_pending_mine(csr)]
                    if pending:
                        return pending
                    version = listing["metadata"]["resourceVersion"]
                    continue
                events = self._client.watch(api_version, KIND, resource_version=version, timeout=remaining)
                with closing(events):
                    for event_type, obj in events:
                        version = (obj.get("metadata") or {}).get("resourceVersion") or version
                        if event_type in ("ADDED", "MODIFIED") and self._is_pending_mine(obj):
                            return [obj]
            except ResourceExpired:
                version = None  # the watch window moved past our version: list again
            except ApiUnreachable:
                time.sleep(min(RETRY_PAUSE, remaining))

    def _is_pending_mine(self, csr: Mapping[str, Any]) -> bool:
        return belongs_to(csr, self._node_name) and is_pending(csr)


def _name(csr: Mapping[str, Any]) -> str:
    return csr["metadata"]["name"]
