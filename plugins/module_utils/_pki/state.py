# Copyright (c) 2026 gardener.autonomous contributors
# Apache License 2.0 (see LICENSE)
# Note that this module util is PRIVATE to the collection. It can have breaking changes at any time.
"""The secrets state: a YAML list of ShootState ``spec.gardener`` entries in SecretState format.

One entry per secret; its identity is ``labels.name``. The serialization is deterministic (entries sorted
by ``labels.name``, keys sorted), so an unchanged state serializes byte-identically.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ansible_collections.gardener.autonomous.plugins.module_utils._pki.errors import PkiError
from ansible_collections.gardener.autonomous.plugins.module_utils._pki.spec import STATIC_TOKENS_CSV
from ansible_collections.gardener.autonomous.plugins.module_utils._yaml import dump, load, yaml

HEADER = "# Cluster secrets state of gardener.autonomous: ShootState spec.gardener entries (SecretState format).\n"
MANAGER_IDENTITY = "gardener-autonomous"
OPAQUE = "Opaque"
TLS = "kubernetes.io/tls"

AUTHORITY = "authority"
CERTIFICATE = "certificate"
# Keys are of kind rsa, ssh, aescbc or static-token (their spec type); anything else is "other".
OTHER = "other"

_RESTORE = "restore the file from another control-plane machine"


@dataclass(frozen=True)
class SecretEntry:
    """One secret of the state, with its data decoded to bytes."""

    entry_name: str
    labels: Mapping[str, str]
    secret_type: str
    data: Mapping[str, bytes] = field(repr=False)  # key material stays out of reprs and tracebacks

    @property
    def name(self) -> str:
        return self.labels["name"]

    @property
    def kind(self) -> str:
        """What the data holds: authority, certificate, rsa, ssh, aescbc, static-token or other."""
        keys = set(self.data)
        if {"ca.crt", "ca.key"} <= keys:
            return AUTHORITY
        if self.secret_type == TLS:
            return CERTIFICATE
        if "id_rsa" in keys:
            # Both RSA kinds name their data alike; an SSH key's public half is an authorized_keys line.
            return "ssh" if self.data.get("id_rsa.pub", b"").startswith(b"ssh-rsa ") else "rsa"
        if {"key", "secret"} <= keys:
            return "aescbc"
        if STATIC_TOKENS_CSV in keys:
            return "static-token"
        return OTHER

    def text(self) -> dict[str, str]:
        """The data as text, the way files on the machines hold it."""
        try:
            return {key: value.decode("utf-8") for key, value in self.data.items()}
        except UnicodeDecodeError:
            raise PkiError(f'secret "{self.name}" holds data that is not UTF-8 text') from None


def new_entry(
    name: str,
    config: Mapping[str, Any],
    data: Mapping[str, bytes],
    *,
    secret_type: str,
    persist: bool,
    issued_at: datetime,
    valid_until: datetime | None = None,
) -> SecretEntry:
    """An entry named ``<name>-<hash of config>`` with the labels Gardener's secrets manager sets."""
    labels = {
        "managed-by": "secrets-manager",
        "manager-identity": MANAGER_IDENTITY,
        "name": name,
        "issued-at-time": str(int(issued_at.timestamp())),
    }
    if persist:
        labels["persist"] = "true"
    if valid_until is not None:
        labels["valid-until-time"] = str(int(valid_until.timestamp()))
    digest = hashlib.sha256(json.dumps(config, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    return SecretEntry(f"{name}-{digest[:8]}", labels, secret_type, dict(data))


def parse_state(text: str, source: str) -> dict[str, SecretEntry]:
    """Entries by ``labels.name``; empty text means no state. ``source`` names the machine in errors."""
    where = f"the secrets state of {source}"
    try:
        # str(): libyaml takes exact str only, not subclasses such as Ansible's tagged strings.
        document = load(str(text))
    except yaml.YAMLError as error:
        # The YAML error's own text quotes the offending line, which may be key material.
        mark = getattr(error, "problem_mark", None)
        position = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise PkiError(f"{where} is not valid YAML{position}; {_RESTORE}") from None
    if document is None:
        return {}
    if not isinstance(document, list):
        raise PkiError(f"{where} is not a list of entries; {_RESTORE}")
    entries: dict[str, SecretEntry] = {}
    for index, item in enumerate(document):
        entry = _parse_entry(item, f"{where}, entry {index}")
        if entry.name in entries:
            raise PkiError(f'{where} holds secret "{entry.name}" twice; {_RESTORE}')
        entries[entry.name] = entry
    return entries


def serialize_state(entries: Iterable[SecretEntry]) -> str:
    document = [
        {
            "name": entry.entry_name,
            "type": "secret",
            "labels": dict(entry.labels),
            "data": {
                "type": entry.secret_type,
                "immutable": True,
                "data": {key: base64.b64encode(value).decode("ascii") for key, value in entry.data.items()},
            },
        }
        for entry in sorted(entries, key=lambda entry: entry.name)
    ]
    return HEADER + dump(document, sort_keys=True)


def _parse_entry(item: Any, where: str) -> SecretEntry:
    if not isinstance(item, dict) or item.get("type") != "secret" or not isinstance(item.get("name"), str):
        raise PkiError(f'{where} is not a secret entry (a mapping with name and type "secret"); {_RESTORE}')
    labels = item.get("labels")
    if not _is_text_mapping(labels) or not labels.get("name"):
        raise PkiError(f"{where}: labels must map strings to strings and include name; {_RESTORE}")
    state = item.get("data")
    if not isinstance(state, dict) or not isinstance(state.get("type"), str) or not _is_text_mapping(state.get("data")):
        raise PkiError(f"{where}: data must be a SecretState ({{type, data: {{key: base64}}}}); {_RESTORE}")
    return SecretEntry(
        entry_name=item["name"],
        labels=dict(labels),
        secret_type=state["type"],
        data={key: _decode(value, f"{where}, data key {key}") for key, value in state["data"].items()},
    )


def _is_text_mapping(value: Any) -> bool:
    return isinstance(value, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())


def _decode(value: str, where: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise PkiError(f"{where} is not valid base64; {_RESTORE}") from None
