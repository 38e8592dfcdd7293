# Copyright (c) 2026 gardener.autonomous contributors
# Apache License 2.0 (see LICENSE)
from __future__ import annotations

DOCUMENTATION = r"""
name: ca_cert_hash
short_description: The pin of a CA certificate, as kubeadm writes it
version_added: 0.1.0
description:
  - Returns C(sha256:<hex>) of the DER-encoded SubjectPublicKeyInfo of a PEM certificate, the format of kubeadm's
    C(--discovery-token-ca-cert-hash), to pin the cluster CA when machines join.
author:
  - gardener.autonomous contributors (@gardener)
requirements:
  - cryptography on the controller.
options:
  _input:
    description: The CA certificate (PEM).
    type: str
    required: true
"""

EXAMPLES = r"""
- name: Refuse a cluster CA that is not the pinned one
  ansible.builtin.assert:
    that: (cluster_ca_pem | gardener.autonomous.ca_cert_hash) == pinned_hash
"""

RETURN = r"""
_value:
  description: The pin, C(sha256:) followed by 64 lower-case hex digits.
  type: str
"""

from typing import Any

from ansible.errors import AnsibleFilterError

from ansible_collections.gardener.autonomous.plugins.module_utils._pki.material import (
    HAS_CRYPTOGRAPHY,
    missing_cryptography,
)
from ansible_collections.gardener.autonomous.plugins.module_utils._pki.material import ca_cert_hash as _ca_cert_hash


def ca_cert_hash(pem: str) -> str:
    if not HAS_CRYPTOGRAPHY:
        raise AnsibleFilterError(missing_cryptography("the filter gardener.autonomous.ca_cert_hash"))
    try:
        return _ca_cert_hash(str(pem).encode())
    except ValueError as error:
        raise AnsibleFilterError(f"ca_cert_hash: not a PEM certificate ({error})") from error


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"ca_cert_hash": ca_cert_hash}
