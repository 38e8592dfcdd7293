# Copyright (c) 2026 gardener.autonomous contributors
# Apache License 2.0 (see LICENSE)
# Note that this module util is PRIVATE to the collection. It can have breaking changes at any time.
"""The desired secrets (authorities, certificates, keys) and their validation.

``parse_spec`` turns plain lists of dicts (the action's options) into a ``PkiSpec`` or raises ``PkiError``
naming the field and the fix. Everything after it can rely on a consistent spec.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ansible_collections.gardener.autonomous.plugins.module_utils._pki.errors import PkiError

USAGES = ("server", "client", "peer")
KEY_TYPES = ("rsa", "ssh", "aescbc", "static-token")
STATIC_TOKENS_CSV = "static_tokens.csv"

# labels.name is a Kubernetes label value.
_NAME = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
_NAME_MAX = 63
_DNS_LABEL = r"[A-Za-z0-9]([-A-Za-z0-9_]*[A-Za-z0-9])?"
_DNS_NAME = re.compile(rf"^(\*\.)?{_DNS_LABEL}(\.{_DNS_LABEL})*$")
# A user name is both a Secret data key and a field of kube-apiserver's token CSV.
_USER = re.compile(r"^[-._A-Za-z0-9]+$")


@dataclass(frozen=True)
class AuthoritySpec:
    name: str
    common_name: str


@dataclass(frozen=True)
class CertificateSpec:
    name: str
    ca: str
    common_name: str
    organizations: tuple[str, ...]  # sorted, unique
    dns_names: tuple[str, ...]  # sorted, unique
    ip_addresses: tuple[str, ...]  # normalized, sorted, unique
    usage: str


@dataclass(frozen=True)
class KeySpec:
    name: str
    type: str
    users: tuple[str, ...]  # static-token only, in the given order


@dataclass(frozen=True)
class PkiSpec:
    authorities: tuple[AuthoritySpec, ...]
    certificates: tuple[CertificateSpec, ...]
    keys: tuple[KeySpec, ...]


def parse_spec(
    authorities: Sequence[Mapping[str, Any]],
    certificates: Sequence[Mapping[str, Any]],
    keys: Sequence[Mapping[str, Any]],
) -> PkiSpec:
    """Validate the desired secrets; raise ``PkiError`` naming the field and the fix."""
    spec = PkiSpec(
        authorities=tuple(_authority(f"authorities[{i}]", item) for i, item in enumerate(authorities)),
        certificates=tuple(_certificate(f"certificates[{i}]", item) for i, item in enumerate(certificates)),
        keys=tuple(_key(f"keys[{i}]", item) for i, item in enumerate(keys)),
    )
    _check_unique_names(spec)
    _check_ca_references(spec)
    return spec


def _authority(field: str, item: Mapping[str, Any]) -> AuthoritySpec:
    return AuthoritySpec(name=_name(field, item), common_name=_text(f"{field}.common_name", item.get("common_name")))


def _certificate(field: str, item: Mapping[str, Any]) -> CertificateSpec:
    usage = _choice(f"{field}.usage", item.get("usage"), USAGES)
    dns_names = _texts(f"{field}.dns_names", item.get("dns_names"))
    for dns_name in dns_names:
        if not _DNS_NAME.match(dns_name):
            raise PkiError(f"{field}.dns_names: {dns_name!r} is not a DNS name; use names like api.example.com")
    return CertificateSpec(
        name=_name(field, item),
        ca=_text(f"{field}.ca", item.get("ca")),
        common_name=_text(f"{field}.common_name", item.get("common_name")),
        organizations=tuple(sorted(set(_texts(f"{field}.organizations", item.get("organizations"))))),
        dns_names=tuple(sorted(set(dns_names))),
        ip_addresses=_ip_addresses(field, item),
        usage=usage,
    )


def _ip_addresses(field: str, item: Mapping[str, Any]) -> tuple[str, ...]:
    addresses = set()
    for value in _texts(f"{field}.ip_addresses", item.get("ip_addresses")):
        try:
            addresses.add(ipaddress.ip_address(value))
        except ValueError:
            raise PkiError(
                f'{field}.ip_addresses of "{item.get("name")}": {value!r} is not an IP address; '
                "use IPv4 or IPv6 addresses such as 10.250.0.10"
            ) from None
    return tuple(str(address) for address in sorted(addresses, key=lambda a: (a.version, a)))


def _key(field: str, item: Mapping[str, Any]) -> KeySpec:
    key_type = _choice(f"{field}.type", item.get("type"), KEY_TYPES)
    users = tuple(_texts(f"{field}.users", item.get("users")))
    if key_type != "static-token":
        if users:
            raise PkiError(f"{field}.users: only keys of type static-token have users; remove users")
        return KeySpec(name=_name(field, item), type=key_type, users=())
    if not users:
        raise PkiError(f"{field}.users: a static-token key needs at least one user; list the users")
    for user in users:
        if not _USER.match(user) or user == STATIC_TOKENS_CSV:
            raise PkiError(
                f"{field}.users: {user!r} is not a valid user name; use letters, digits, '-', '_' and '.' "
                f"(and not {STATIC_TOKENS_CSV})"
            )
    if len(set(users)) != len(users):
        raise PkiError(f"{field}.users: users are listed more than once; list each user once")
    return KeySpec(name=_name(field, item), type=key_type, users=users)


def _name(field: str, item: Mapping[str, Any]) -> str:
    name = _text(f"{field}.name", item.get("name"))
    if len(name) > _NAME_MAX or not _NAME.match(name):
        raise PkiError(
            f"{field}.name: {name!r} is not a valid secret name; use at most {_NAME_MAX} letters, digits, "
            "'-', '_' or '.', starting and ending with a letter or digit"
        )
    return name


def _text(field: str, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise PkiError(f"{field}: a non-empty string is required")
    # A plain str: subclasses (such as Ansible's tagged strings) cannot be represented in YAML.
    return str(value)


def _choice(field: str, value: Any, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise PkiError(f"{field}: {value!r} is not one of {', '.join(choices)}; set one of them")
    return str(value)


def _texts(field: str, value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise PkiError(f"{field}: a list of strings is required")
    return [_text(f"{field}[{i}]", element) for i, element in enumerate(value)]


def _check_unique_names(spec: PkiSpec) -> None:
    seen: dict[str, str] = {}
    for kind, items in (("authorities", spec.authorities), ("certificates", spec.certificates), ("keys", spec.keys)):
        for item in items:
            if item.name in seen:
                raise PkiError(
                    f'{kind}: the name "{item.name}" is also used in {seen[item.name]}; '
                    "secret names must be unique across authorities, certificates and keys"
                )
            seen[item.name] = kind


def _check_ca_references(spec: PkiSpec) -> None:
    authorities = sorted(authority.name for authority in spec.authorities)
    for i, certificate in enumerate(spec.certificates):
        if certificate.ca not in authorities:
            raise PkiError(
                f'certificates[{i}].ca of "{certificate.name}": "{certificate.ca}" is not an authority; '
                f"declare it under authorities or use one of: {', '.join(authorities) or '(none declared)'}"
            )
