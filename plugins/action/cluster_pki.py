# Copyright (c) 2026 gardener.autonomous contributors
# Apache License 2.0 (see LICENSE)
"""Action plugin of gardener.autonomous.cluster_pki: reconciles the cluster's secrets state on the controller."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from ansible import constants as C
from ansible.errors import AnsibleActionFail, AnsibleError
from ansible.module_utils.common.text.converters import to_text
from ansible.parsing.vault import is_encrypted, match_encrypt_secret
from ansible.plugins.action import ActionBase

from ansible_collections.gardener.autonomous.plugins.module_utils._pki.errors import PkiError
from ansible_collections.gardener.autonomous.plugins.module_utils._pki.material import (
    HAS_CRYPTOGRAPHY,
    ca_cert_hash,
    missing_cryptography,
)
from ansible_collections.gardener.autonomous.plugins.module_utils._pki.reconcile import (
    ReconcileResult,
    Validity,
    reconcile,
)
from ansible_collections.gardener.autonomous.plugins.module_utils._pki.spec import KEY_TYPES, USAGES, parse_spec

# The authority whose hash joining machines pin (kubeadm's discovery-token-ca-cert-hash).
CLUSTER_AUTHORITY = "ca"

_NAMES = {"type": "list", "elements": "str", "default": []}
ARGUMENT_SPEC: dict[str, Any] = {
    "states": {"type": "dict", "required": True, "no_log": True},
    "authorities": {
        "type": "list",
        "elements": "dict",
        "default": [],
        "options": {"name": {"type": "str", "required": True}, "common_name": {"type": "str", "required": True}},
    },
    "certificates": {
        "type": "list",
        "elements": "dict",
        "default": [],
        "options": {
            "name": {"type": "str", "required": True},
            "ca": {"type": "str", "required": True},
            "common_name": {"type": "str", "required": True},
            "organizations": _NAMES,
            "dns_names": _NAMES,
            "ip_addresses": _NAMES,
            "usage": {"type": "str", "required": True, "choices": list(USAGES)},
        },
    },
    "keys": {
        "type": "list",
        "elements": "dict",
        "default": [],
        "options": {
            "name": {"type": "str", "required": True},
            "type": {"type": "str", "required": True, "choices": list(KEY_TYPES)},
            "users": _NAMES,
        },
    },
    "certificate_validity_days": {"type": "int", "default": Validity.certificate_validity_days},
    "authority_validity_days": {"type": "int", "default": Validity.authority_validity_days},
    "renew_before_days": {"type": "int", "default": Validity.renew_before_days},
    "encrypt": {"type": "bool", "default": False},
}


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    # Everything happens on the controller.
    _requires_connection = False

    def run(self, tmp: str | None = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        result = super().run(tmp, task_vars)
        if not HAS_CRYPTOGRAPHY:
            raise AnsibleActionFail(missing_cryptography("gardener.autonomous.cluster_pki"))
        _validation, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        try:
            spec = parse_spec(args["authorities"], args["certificates"], args["keys"])
            validity = Validity(
                certificate_validity_days=args["certificate_validity_days"],
                authority_validity_days=args["authority_validity_days"],
                renew_before_days=args["renew_before_days"],
            )
            current = _current_texts(args["states"])
            plaintexts = {host: self._decrypt(host, text) for host, text in current.items()}
            outcome = reconcile(plaintexts, spec, now=datetime.now(timezone.utc), validity=validity)
        except PkiError as error:
            raise AnsibleActionFail(str(error)) from None

        contents = self._contents(current, outcome, encrypt=args["encrypt"])
        secrets = outcome.secrets()
        result.update(
            changed=outcome.secrets_changed or contents != current,
            contents=contents,
            secrets=secrets,
            issued=[{"name": issued.name, "reason": issued.reason} for issued in outcome.issued],
            removed=list(outcome.removed),
            # The result holds key material: its display is censored even where the task lacks no_log.
            _ansible_no_log=True,
        )
        if CLUSTER_AUTHORITY in secrets:
            result["ca_cert_hash"] = ca_cert_hash(secrets[CLUSTER_AUTHORITY]["ca.crt"].encode())
        if outcome.warnings:
            result["warnings"] = list(outcome.warnings)
        return result

    def _contents(self, current: Mapping[str, str], outcome: ReconcileResult, *, encrypt: bool) -> dict[str, str]:
        """What to write to each machine: its current text when it holds the new state in the wanted form (so that
        copying is a no-op and vault ciphertexts do not churn), else the new state."""
        stale = {
            host for host, text in current.items() if host not in outcome.hosts_in_sync or is_encrypted(text) != encrypt
        }
        if not stale:
            return dict(current)
        new_text = self._encrypt(outcome.text) if encrypt else outcome.text
        return {host: new_text if host in stale else text for host, text in current.items()}

    def _decrypt(self, host: str, text: str) -> str:
        if not is_encrypted(text):
            return text
        vault = self._loader._vault
        if not vault.secrets:
            raise AnsibleActionFail(
                f"the secrets state of {host} is vault-encrypted but no vault secret is loaded; "
                "run with --vault-id or --vault-password-file"
            )
        try:
            return to_text(vault.decrypt(text))
        except AnsibleError:
            raise AnsibleActionFail(
                f"the secrets state of {host} cannot be decrypted with the loaded vault secrets; "
                "run with the vault secret it was encrypted with"
            ) from None

    def _encrypt(self, text: str) -> str:
        vault = self._loader._vault
        if not vault.secrets:
            raise AnsibleActionFail(
                "encrypt is true but no vault secret is loaded; run with --vault-id or --vault-password-file"
            )
        vault_id, secret = match_encrypt_secret(vault.secrets, C.DEFAULT_VAULT_ENCRYPT_IDENTITY)
        return to_text(vault.encrypt(text, secret, vault_id=vault_id))


def _current_texts(states: Mapping[str, Any]) -> dict[str, str]:
    if not states:
        raise AnsibleActionFail("states is empty; pass the secrets state of every control-plane machine")
    texts = {}
    for host, value in states.items():
        if value is not None and not isinstance(value, str):
            raise AnsibleActionFail(f"states.{host} must be the text of the secrets state file (null: no file)")
        texts[host] = value or ""
    return texts
