# Copyright (c) 2026 gardener.autonomous contributors
# Apache License 2.0 (see LICENSE)
# Note that this module util is PRIVATE to the collection. It can have breaking changes at any time.
"""Keys (secrets that are not certificates): the service-account key, the machines' SSH key pair, the
encryption key, static tokens.

Data by type, as Gardener's secrets manager lays them out:

- ``rsa``: ``id_rsa`` (PEM private key), ``id_rsa.pub`` (PEM SubjectPublicKeyInfo);
- ``ssh``: ``id_rsa`` (OpenSSH private key), ``id_rsa.pub`` (one authorized_keys line, ``ssh-rsa AAAA...``);
- ``aescbc``: ``key`` (``key<unix seconds>``), ``secret`` (base64 of 32 random bytes);
- ``static-token``: ``static_tokens.csv`` (``token,user,uid`` lines, uid = user, no groups) and one data key
  per user holding that user's token.

A stored key is never replaced; only a static token's user list follows the spec (tokens of remaining
users are kept).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
from collections.abc import Mapping
from datetime import datetime

with contextlib.suppress(ImportError):  # material.HAS_CRYPTOGRAPHY says whether it is there
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes

from ansible_collections.gardener.autonomous.plugins.module_utils._pki.errors import PkiError
from ansible_collections.gardener.autonomous.plugins.module_utils._pki.material import (
    new_aescbc_secret,
    new_rsa_key,
    new_ssh_key,
    new_token,
)
from ansible_collections.gardener.autonomous.plugins.module_utils._pki.spec import STATIC_TOKENS_CSV, KeySpec
from ansible_collections.gardener.autonomous.plugins.module_utils._pki.state import OPAQUE, SecretEntry, new_entry


def create_key(spec: KeySpec, now: datetime) -> SecretEntry:
    if spec.type == "rsa":
        pair = new_rsa_key()
        data = {"id_rsa": pair.key, "id_rsa.pub": pair.certificate}
    elif spec.type == "ssh":
        ssh_pair = new_ssh_key()
        data = {"id_rsa": ssh_pair.private_key, "id_rsa.pub": ssh_pair.authorized_key}
    elif spec.type == "aescbc":
        data = {"key": f"key{int(now.timestamp())}".encode(), "secret": new_aescbc_secret().encode()}
    else:
        data = _static_token_data({user: new_token() for user in spec.users}, spec.users)
    return _entry(spec, data, now)


def reconcile_key(spec: KeySpec, stored: SecretEntry, now: datetime) -> tuple[SecretEntry, str | None]:
    """The stored key (of the spec's type), or for a static token with other users an updated one and the reason."""
    problem = _problem(stored)
    if problem:
        raise PkiError(
            f'key "{spec.name}" in the secrets state is not usable: {problem}; keys are never replaced '
            "automatically: restore the state file from a backup, or remove the entry from every control-plane "
            "machine to create a new key"
        )
    if spec.type != "static-token":
        return stored, None
    stored_tokens = _csv_tokens(stored)
    if set(spec.users) == set(stored_tokens):
        return stored, None
    tokens = {user: stored_tokens.get(user) or new_token() for user in spec.users}
    added = [f"+{user}" for user in spec.users if user not in stored_tokens]
    removed = [f"-{user}" for user in sorted(set(stored_tokens) - set(spec.users))]
    return _entry(spec, _static_token_data(tokens, spec.users), now), "users changed: " + ", ".join(added + removed)


def _entry(spec: KeySpec, data: Mapping[str, bytes], now: datetime) -> SecretEntry:
    config = {"kind": "key", "type": spec.type, "users": sorted(spec.users)}
    return new_entry(spec.name, config, data, secret_type=OPAQUE, persist=True, issued_at=now)


def _static_token_data(tokens: Mapping[str, str], users: tuple[str, ...]) -> dict[str, bytes]:
    csv = "".join(f"{tokens[user]},{user},{user}\n" for user in users)
    return {STATIC_TOKENS_CSV: csv.encode(), **{user: tokens[user].encode() for user in users}}


def _csv_tokens(entry: SecretEntry) -> dict[str, str]:
    """Tokens by user from static_tokens.csv; ValueError when it is not such a CSV."""
    tokens = {}
    for line in entry.data[STATIC_TOKENS_CSV].decode().splitlines():
        fields = line.split(",")
        if len(fields) < 3 or not fields[0] or not fields[1]:
            raise ValueError("not a token line")
        tokens[fields[1]] = fields[0]
    return tokens


def _problem(entry: SecretEntry) -> str | None:
    """Why a stored key cannot be used, without quoting it."""
    problems = {
        "rsa": _rsa_problem,
        "ssh": _ssh_problem,
        "aescbc": _aescbc_problem,
        "static-token": _static_token_problem,
    }
    return problems[entry.kind](entry)


def _rsa_problem(entry: SecretEntry) -> str | None:
    try:
        key = serialization.load_pem_private_key(entry.data["id_rsa"], password=None)
    except (ValueError, TypeError):
        return "id_rsa cannot be read"
    return None if isinstance(key, rsa.RSAPrivateKey) else "id_rsa is not an RSA key"


def _ssh_problem(entry: SecretEntry) -> str | None:
    try:
        key = _ssh_private_key(entry.data["id_rsa"])
    except (ValueError, TypeError):
        return "id_rsa cannot be read"
    if not isinstance(key, rsa.RSAPrivateKey):
        return "id_rsa is not an RSA key"
    try:
        public_key = serialization.load_ssh_public_key(entry.data["id_rsa.pub"])
    except (ValueError, TypeError):
        return "id_rsa.pub is not an authorized_keys line"
    if not isinstance(public_key, rsa.RSAPublicKey) or public_key.public_numbers() != key.public_key().public_numbers():
        return "id_rsa.pub does not belong to id_rsa"
    return None


def _ssh_private_key(text: bytes) -> PrivateKeyTypes:
    """Ours are in OpenSSH format; Gardener's own ssh-keypair (from a ShootState) is PEM."""
    if text.startswith(b"-----BEGIN OPENSSH PRIVATE KEY-----"):
        return serialization.load_ssh_private_key(text, password=None)
    return serialization.load_pem_private_key(text, password=None)


def _aescbc_problem(entry: SecretEntry) -> str | None:
    try:
        secret = base64.b64decode(entry.data["secret"], validate=True)
    except (binascii.Error, ValueError):
        return "secret is not base64"
    return None if len(secret) == 32 else "secret is not 32 bytes long"


def _static_token_problem(entry: SecretEntry) -> str | None:
    try:
        tokens = _csv_tokens(entry)
    except ValueError:
        return f"{STATIC_TOKENS_CSV} is not a token CSV"
    if any(entry.data.get(user) != token.encode() for user, token in tokens.items()):
        return f"{STATIC_TOKENS_CSV} and the per-user data keys disagree"
    return None
