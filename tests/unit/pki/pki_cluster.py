"""A cluster-like PKI spec and helpers to reconcile and edit states, shared by the PKI tests."""

from __future__ import annotations

import copy
from datetime import datetime, timezone
from typing import Any

from ansible_collections.gardener.autonomous.plugins.module_utils._pki.reconcile import (
    ReconcileResult,
    Validity,
    reconcile,
)
from ansible_collections.gardener.autonomous.plugins.module_utils._pki.spec import parse_spec
from ansible_collections.gardener.autonomous.plugins.module_utils._pki.state import (
    SecretEntry,
    parse_state,
    serialize_state,
)

NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)
HOSTS = ("cp-0", "cp-1", "cp-2")
NODE_IPS = {"cp-0": "10.250.0.10", "cp-1": "10.250.0.11", "cp-2": "10.250.0.12"}


def cluster_spec() -> dict[str, list[dict[str, Any]]]:
    """Authorities, certificates and keys as the pki role passes them (a fresh copy per call)."""
    certificates: list[dict[str, Any]] = [
        {
            "name": "kube-apiserver",
            "ca": "ca",
            "common_name": "kube-apiserver",
            "dns_names": ["kubernetes", "kubernetes.default", "kubernetes.default.svc", "api.example.com"],
            "ip_addresses": ["10.252.0.1", *NODE_IPS.values()],
            "usage": "server",
        },
        {"name": "admin", "ca": "ca", "common_name": "admin", "organizations": ["system:masters"], "usage": "client"},
        {"name": "kube-apiserver-etcd-client", "ca": "ca-etcd", "common_name": "kube-apiserver", "usage": "client"},
        {
            "name": "kubelet-serving-cp-0",
            "ca": "ca-kubelet",
            "common_name": "cp-0",
            "dns_names": ["cp-0"],
            "ip_addresses": [NODE_IPS["cp-0"]],
            "usage": "server",
        },
    ]
    for node, ip in NODE_IPS.items():
        certificates.append(
            {
                "name": f"etcd-server-{node}",
                "ca": "ca-etcd",
                "common_name": node,
                "dns_names": [node, "localhost"],
                "ip_addresses": [ip, "127.0.0.1"],
                "usage": "server",
            }
        )
        certificates.append(
            {"name": f"etcd-peer-{node}", "ca": "ca-etcd", "common_name": node, "ip_addresses": [ip], "usage": "peer"}
        )
    return copy.deepcopy(
        {
            "authorities": [
                {"name": "ca", "common_name": "kubernetes"},
                {"name": "ca-etcd", "common_name": "etcd"},
                {"name": "ca-kubelet", "common_name": "kubelet"},
            ],
            "certificates": certificates,
            "keys": [
                {"name": "service-account-key", "type": "rsa"},
                {"name": "kube-apiserver-etcd-encryption-key", "type": "aescbc"},
                {"name": "kube-apiserver-static-token", "type": "static-token", "users": ["health-check"]},
                {"name": "ssh-keypair", "type": "ssh"},
            ],
        }
    )


def run(
    states: dict[str, str], spec: dict[str, list[dict[str, Any]]] | None = None, now: datetime = NOW, **validity: int
) -> ReconcileResult:
    return reconcile(states, parse_spec(**(spec or cluster_spec())), now=now, validity=Validity(**validity))


def on_all_hosts(text: str) -> dict[str, str]:
    return dict.fromkeys(HOSTS, text)


def with_entry(text: str, entry: SecretEntry) -> str:
    """The state ``text`` with ``entry`` put in place of the entry of the same name."""
    entries = parse_state(text, "test")
    entries[entry.name] = entry
    return serialize_state(entries.values())


def entry_of(text: str, name: str) -> SecretEntry:
    return parse_state(text, "test")[name]
