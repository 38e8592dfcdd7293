# Copyright (c) 2026 gardener.autonomous contributors
# Apache License 2.0 (see LICENSE)
# Note that this module util is PRIVATE to the collection. It can have breaking changes at any time.
"""Argument specs shared by the Kubernetes modules, documented by the doc fragment
``gardener.autonomous.kubernetes_auth`` (plugins/doc_fragments/kubernetes_auth.py): change both together."""

from __future__ import annotations

import collections.abc
from typing import Any, Dict, Iterator, Set

DEFAULT_KUBECONFIG = "/etc/kubernetes/admin.conf"

# ``no_log`` keeps the option out of the target's journal. Ansible would then also mask every
# string in it wherever it appears ("v1", a path, a user name): ``reveal_kubeconfig`` narrows that
# down to the credentials.
AUTH_ARG_SPEC: Dict[str, Dict[str, Any]] = {
    "kubeconfig": {"type": "raw", "default": DEFAULT_KUBECONFIG, "no_log": True},
    "context": {"type": "str"},
}

# Keys whose values authenticate (users[].user, and the config of an auth-provider).
_CREDENTIAL_KEYS = frozenset(
    {
        "client-certificate-data",
        "client-key-data",
        "token",
        "password",
        "id-token",
        "refresh-token",
        "access-token",
        "client-secret",
    }
)


def reveal_kubeconfig(no_log_values: Set[str], kubeconfig: Any) -> None:
    """Masks only the credentials of ``kubeconfig`` (a path is no secret) in all output.

    ``no_log_values`` is the module's set of strings Ansible masks; it changes in place.
    """
    no_log_values.difference_update(string_leaves(kubeconfig))
    no_log_values.update(kubeconfig_credentials(kubeconfig))


def kubeconfig_credentials(kubeconfig: Any) -> Set[str]:
    """The credential values anywhere in a kubeconfig dict; none in a path."""
    found: Set[str] = set()
    if isinstance(kubeconfig, collections.abc.Mapping):
        for key, value in kubeconfig.items():
            if key in _CREDENTIAL_KEYS and isinstance(value, str) and value:
                found.add(value)
            else:
                found.update(kubeconfig_credentials(value))
    elif isinstance(kubeconfig, list):
        for item in kubeconfig:
            found.update(kubeconfig_credentials(item))
    return found


def string_leaves(value: Any) -> Iterator[str]:
    """Every leaf as Ansible adds it to the masked strings of a no_log option (numbers as text)."""
    if isinstance(value, str):
        if value:
            yield value
    elif isinstance(value, collections.abc.Mapping):
        for item in value.values():
            yield from string_leaves(item)
    elif isinstance(value, list):
        for item in value:
            yield from string_leaves(item)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        yield str(value)
