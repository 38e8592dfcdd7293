# Copyright (c) 2026 gardener.autonomous contributors
# Apache License 2.0 (see LICENSE)
# Note that this module util is PRIVATE to the collection. It can have breaking changes at any time.
"""The reconcile rules: the state files of all control-plane machines + the spec -> the new state.

- Authorities and keys (everything that is not a certificate) must be identical on every machine that
  holds them; they are created when missing and never replaced or removed. An authority that cannot sign
  stops the run; one that expires within ``renew_before_days`` is kept with a warning.
- Of a certificate's copies the best is kept (valid for the spec, signed by the current CA, latest
  notBefore). It is re-issued only when missing, when its key does not match, when CN, O, usage or SANs
  differ from the spec, when another CA signed it, or when it expires within ``renew_before_days``.
- Certificates no longer in the spec are removed.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import NamedTuple

with contextlib.suppress(ImportError):  # material.HAS_CRYPTOGRAPHY says whether it is there
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
    from cryptography.x509.oid import NameOID

from ansible_collections.gardener.autonomous.plugins.module_utils._pki.errors import PkiError
from ansible_collections.gardener.autonomous.plugins.module_utils._pki.keys import create_key, reconcile_key
from ansible_collections.gardener.autonomous.plugins.module_utils._pki.material import (
    Authority,
    PemPair,
    create_authority,
    issue_certificate,
    load_authority,
    load_certificate,
    public_keys_match,
    signed_by,
    subject_alternative_names,
    subject_values,
    usage_of,
)
from ansible_collections.gardener.autonomous.plugins.module_utils._pki.spec import (
    AuthoritySpec,
    CertificateSpec,
    PkiSpec,
)
from ansible_collections.gardener.autonomous.plugins.module_utils._pki.state import (
    AUTHORITY,
    CERTIFICATE,
    OPAQUE,
    TLS,
    SecretEntry,
    new_entry,
    parse_state,
    serialize_state,
)

_NEVER = datetime.min.replace(tzinfo=timezone.utc)


@dataclass(frozen=True)
class Issued:
    """A secret that was created or re-issued, and the human reason ("created", "expires in 12 days")."""

    name: str
    reason: str


@dataclass(frozen=True)
class Validity:
    """How long new secrets are valid and when certificates are renewed, in days."""

    certificate_validity_days: int = 365
    authority_validity_days: int = 3650
    renew_before_days: int = 30

    def __post_init__(self) -> None:
        if self.certificate_validity_days < 1 or self.authority_validity_days < 1:
            raise PkiError("certificate_validity_days and authority_validity_days must be at least 1")
        if not 0 <= self.renew_before_days < self.certificate_validity_days:
            raise PkiError(
                f"renew_before_days ({self.renew_before_days}) must be at least 0 and less than "
                f"certificate_validity_days ({self.certificate_validity_days}); "
                "otherwise every run re-issues every certificate"
            )


@dataclass(frozen=True)
class ReconcileResult:
    entries: tuple[SecretEntry, ...]  # the new state, sorted by labels.name
    text: str = field(repr=False)  # its serialization
    issued: tuple[Issued, ...]
    removed: tuple[str, ...]  # certificates no longer in the spec
    warnings: tuple[str, ...]  # never contain key material
    hosts_in_sync: frozenset[str]  # machines whose state already equals the new state

    @property
    def secrets_changed(self) -> bool:
        return bool(self.issued or self.removed)

    def secrets(self) -> dict[str, dict[str, str]]:
        """Data of every secret as text, by ``labels.name``: ``secrets()["ca"]["ca.crt"]``."""
        return {entry.name: entry.text() for entry in self.entries}


def reconcile(
    states: Mapping[str, str], spec: PkiSpec, *, now: datetime, validity: Validity | None = None
) -> ReconcileResult:
    """Reconcile the state files' texts (by machine; empty text = no file) with ``spec`` at ``now`` (aware).

    Raises ``PkiError`` when the machines disagree on an authority or key, or a stored one is unusable.
    """
    validity = validity or Validity()
    parsed = {host: parse_state(states[host], host) for host in sorted(states)}
    persistent, certificate_copies = _merge(parsed)
    _check_stored_kinds(spec, persistent, certificate_copies)

    draft = _Draft(dict(persistent))
    authorities = {
        authority.name: _reconcile_authority(authority, persistent.get(authority.name), now, validity, draft)
        for authority in spec.authorities
    }
    for key in spec.keys:
        stored = persistent.get(key.name)
        if stored is None:
            draft.put(create_key(key, now), "created")
        else:
            draft.put(*reconcile_key(key, stored, now))
    for certificate in spec.certificates:
        copies = certificate_copies.get(certificate.name, [])
        draft.put(*_reconcile_certificate(certificate, copies, authorities[certificate.ca], now, validity))

    return ReconcileResult(
        entries=tuple(draft.entries[name] for name in sorted(draft.entries)),
        text=serialize_state(draft.entries.values()),
        issued=tuple(draft.issued),
        removed=tuple(sorted(set(certificate_copies) - {c.name for c in spec.certificates})),
        warnings=tuple(draft.warnings),
        hosts_in_sync=frozenset(host for host, state in parsed.items() if state == draft.entries),
    )


@dataclass
class _Draft:
    """The new state while it is being built."""

    entries: dict[str, SecretEntry]
    issued: list[Issued] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def put(self, entry: SecretEntry, reason: str | None) -> None:
        self.entries[entry.name] = entry
        if reason:
            self.issued.append(Issued(entry.name, reason))


class _Copy(NamedTuple):
    """A stored copy of a certificate, its notBefore and why it must be re-issued (empty: it is good)."""

    entry: SecretEntry
    not_before: datetime
    reasons: list[str]


def _merge(
    parsed: Mapping[str, Mapping[str, SecretEntry]],
) -> tuple[dict[str, SecretEntry], dict[str, list[SecretEntry]]]:
    """Authorities and keys agreed by all machines, and every machine's copy of each certificate."""
    copies: dict[str, list[tuple[str, SecretEntry]]] = {}
    for host, state in parsed.items():
        for name, entry in state.items():
            copies.setdefault(name, []).append((host, entry))
    persistent: dict[str, SecretEntry] = {}
    certificates: dict[str, list[SecretEntry]] = {}
    for name, held in copies.items():
        if all(entry.kind == CERTIFICATE for _host, entry in held):
            certificates[name] = [entry for _host, entry in held]
            continue
        first_host, first = held[0]
        for host, entry in held[1:]:
            if (entry.secret_type, entry.data) != (first.secret_type, first.data):
                raise PkiError(
                    f'secret "{name}" differs between {first_host} and {host}; restore the secrets state file of '
                    "the machine that is wrong from a good machine, then run again"
                )
        persistent[name] = first
    return persistent, certificates


def _check_stored_kinds(
    spec: PkiSpec, persistent: Mapping[str, SecretEntry], certificate_copies: Mapping[str, object]
) -> None:
    declared = {authority.name: AUTHORITY for authority in spec.authorities}
    declared.update({key.name: key.type for key in spec.keys})
    declared.update({certificate.name: CERTIFICATE for certificate in spec.certificates})
    for name, kind in declared.items():
        stored = persistent[name].kind if name in persistent else CERTIFICATE if name in certificate_copies else kind
        if stored != kind:
            raise PkiError(
                f'secret "{name}" is stored as {stored} but the spec declares it as {kind}; stored secrets are never '
                "replaced by another kind: rename it in the spec, or remove its entry from every control-plane machine"
            )


def _reconcile_authority(
    spec: AuthoritySpec, stored: SecretEntry | None, now: datetime, validity: Validity, draft: _Draft
) -> Authority:
    if stored is not None:
        authority = _load_authority(spec.name, stored, now)
        draft.warnings += _authority_warnings(spec, authority, now, timedelta(days=validity.renew_before_days))
        return authority
    pair = create_authority(spec.common_name, now, validity.authority_validity_days)
    entry = new_entry(
        spec.name,
        {"kind": AUTHORITY, "common_name": spec.common_name},
        {"ca.crt": pair.certificate, "ca.key": pair.key},
        secret_type=OPAQUE,
        persist=True,
        issued_at=now,
        valid_until=now + timedelta(days=validity.authority_validity_days),
    )
    draft.put(entry, "created")
    return load_authority(pair, now)


def _load_authority(name: str, stored: SecretEntry, now: datetime) -> Authority:
    try:
        return load_authority(PemPair(stored.data["ca.crt"], stored.data["ca.key"]), now)
    except ValueError as problem:
        raise PkiError(
            f'authority "{name}" in the secrets state is not usable: {problem}; authorities are never replaced '
            "automatically: restore the state file from a backup, or remove the entry from every control-plane "
            "machine to create a new CA (its certificates are then re-issued and every client must trust the new CA)"
        ) from None


def _authority_warnings(spec: AuthoritySpec, authority: Authority, now: datetime, renew_before: timedelta) -> list[str]:
    warnings = []
    not_after = authority.certificate.not_valid_after_utc
    if not_after - now < renew_before:
        warnings.append(
            f'authority "{spec.name}" {_expiry(not_after - now)} (on {not_after:%Y-%m-%d}); authorities are never '
            "renewed automatically: plan a CA rotation"
        )
    common_names = subject_values(authority.certificate, NameOID.COMMON_NAME)
    if common_names != [spec.common_name]:
        warnings.append(
            f'authority "{spec.name}" has the common name {", ".join(common_names) or "(none)"} but the spec asks '
            f'for "{spec.common_name}"; the stored CA is kept'
        )
    return warnings


def _reconcile_certificate(
    spec: CertificateSpec, copies: list[SecretEntry], authority: Authority, now: datetime, validity: Validity
) -> tuple[SecretEntry, str | None]:
    """The best stored copy if it is good, else a new certificate and the reason."""
    renew_before = timedelta(days=validity.renew_before_days)
    assessed = sorted(
        (_assess(copy, spec, authority, now=now, renew_before=renew_before) for copy in copies),
        key=lambda copy: copy.not_before,
        reverse=True,
    )
    good = next((copy.entry for copy in assessed if not copy.reasons), None)
    if good is not None:
        return good, None
    pair = issue_certificate(spec, authority, now, validity.certificate_validity_days)
    config = {
        "kind": CERTIFICATE,
        "common_name": spec.common_name,
        "organizations": list(spec.organizations),
        "dns_names": list(spec.dns_names),
        "ip_addresses": list(spec.ip_addresses),
        "usage": spec.usage,
        "ca": spec.ca,
    }
    entry = new_entry(
        spec.name,
        config,
        {"tls.crt": pair.certificate, "tls.key": pair.key},
        secret_type=TLS,
        persist=False,
        issued_at=now,
        valid_until=now + timedelta(days=validity.certificate_validity_days),
    )
    return entry, "; ".join(assessed[0].reasons) if assessed else "created"


def _assess(
    entry: SecretEntry, spec: CertificateSpec, authority: Authority, *, now: datetime, renew_before: timedelta
) -> _Copy:
    try:
        certificate, key = load_certificate(PemPair(entry.data["tls.crt"], entry.data["tls.key"]))
    except (KeyError, ValueError):
        return _Copy(entry, _NEVER, ["the stored certificate or key cannot be read"])
    reasons = _reissue_reasons(certificate, key, spec, authority, now=now, renew_before=renew_before)
    return _Copy(entry, certificate.not_valid_before_utc, reasons)


def _reissue_reasons(
    certificate: x509.Certificate,
    key: PrivateKeyTypes,
    spec: CertificateSpec,
    authority: Authority,
    *,
    now: datetime,
    renew_before: timedelta,
) -> list[str]:
    reasons = []
    if not public_keys_match(certificate, key):
        reasons.append("key does not match the certificate")
    if not signed_by(certificate, authority.certificate):
        reasons.append("signed by a different CA")
    common_names = subject_values(certificate, NameOID.COMMON_NAME)
    if common_names != [spec.common_name]:
        reasons.append(f"common name changed: {', '.join(common_names) or '(none)'} -> {spec.common_name}")
    organizations = set(subject_values(certificate, NameOID.ORGANIZATION_NAME))
    if organizations != set(spec.organizations):
        reasons.append(f"organizations changed: {_difference(organizations, spec.organizations)}")
    usage = usage_of(certificate)
    if usage != spec.usage:
        reasons.append(f"usage changed: {usage or 'other'} -> {spec.usage}")
    dns_names, ip_addresses = subject_alternative_names(certificate)
    if (dns_names, ip_addresses) != (set(spec.dns_names), set(spec.ip_addresses)):
        changes = [_difference(dns_names, spec.dns_names), _difference(ip_addresses, spec.ip_addresses)]
        reasons.append("SANs changed: " + ", ".join(change for change in changes if change))
    remaining = certificate.not_valid_after_utc - now
    if remaining < renew_before:
        reasons.append(_expiry(remaining))
    return reasons


def _difference(old: set[str], new: Iterable[str]) -> str:
    wanted = set(new)
    return ", ".join([f"+{value}" for value in sorted(wanted - old)] + [f"-{value}" for value in sorted(old - wanted)])


def _expiry(remaining: timedelta) -> str:
    if remaining < timedelta(0):
        return f"expired {_days(-remaining)} ago"
    return f"expires in {_days(remaining)}"


def _days(delta: timedelta) -> str:
    return "1 day" if delta.days == 1 else f"{delta.days} days"
