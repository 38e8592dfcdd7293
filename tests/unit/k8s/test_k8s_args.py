"""The shared connection options (plugins/module_utils/_k8s/args.py): which parts of a kubeconfig
stay masked in module output."""

from __future__ import annotations

from typing import Any

import pytest
from ansible.module_utils.common.parameters import _list_no_log_values

from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.args import (
    AUTH_ARG_SPEC,
    kubeconfig_credentials,
    reveal_kubeconfig,
    string_leaves,
)

KEY = "LS0tLS1CRUdJTiBFQyBQUklWQVRFIEtFWS0tLS0t"
CERT = "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0t"
KUBECONFIG: dict[str, Any] = {
    "apiVersion": "v1",
    "kind": "Config",
    "current-context": "admin",
    "clusters": [{"name": "c", "cluster": {"server": "https://localhost:443", "certificate-authority-data": "Q0E="}}],
    "users": [
        {"name": "admin", "user": {"client-certificate-data": CERT, "client-key-data": KEY}},
        {"name": "robot", "user": {"token": "t0k3n-abc", "tokenFile": "/var/run/token"}},
        {"name": "legacy", "user": {"username": "u", "password": "pa55w0rd"}},
        {
            "name": "oidc",
            "user": {"auth-provider": {"name": "oidc", "config": {"id-token": "eyJ.id", "refresh-token": "r3fr"}}},
        },
    ],
    "contexts": [{"name": "admin", "context": {"cluster": "c", "user": "admin"}}],
}


def test_credentials_of_a_kubeconfig_dict() -> None:
    assert kubeconfig_credentials(KUBECONFIG) == {CERT, KEY, "t0k3n-abc", "pa55w0rd", "eyJ.id", "r3fr"}


def test_a_path_has_no_credentials() -> None:
    assert kubeconfig_credentials("/etc/kubernetes/admin.conf") == set()


@pytest.mark.parametrize("kubeconfig", [KUBECONFIG, "/etc/kubernetes/admin.conf", {"replicas": 3, "on": True}])
def test_string_leaves_are_what_ansible_masks(kubeconfig: Any) -> None:
    masked_by_ansible = _list_no_log_values(AUTH_ARG_SPEC, {"kubeconfig": kubeconfig, "context": None})
    assert set(string_leaves(kubeconfig)) == masked_by_ansible


def test_reveal_keeps_only_credentials_masked() -> None:
    no_log_values = _list_no_log_values(AUTH_ARG_SPEC, {"kubeconfig": KUBECONFIG}) | {"another-secret"}
    assert "v1" in no_log_values  # what Ansible alone would mask, everywhere in the output
    reveal_kubeconfig(no_log_values, KUBECONFIG)
    assert no_log_values == {CERT, KEY, "t0k3n-abc", "pa55w0rd", "eyJ.id", "r3fr", "another-secret"}


def test_reveal_unmasks_a_path() -> None:
    no_log_values = {"/etc/kubernetes/admin.conf"}
    reveal_kubeconfig(no_log_values, "/etc/kubernetes/admin.conf")
    assert no_log_values == set()


def test_the_spec_never_logs_the_kubeconfig() -> None:
    assert AUTH_ARG_SPEC["kubeconfig"] == {"type": "raw", "default": "/etc/kubernetes/admin.conf", "no_log": True}
    assert AUTH_ARG_SPEC["context"] == {"type": "str"}
