# Copyright (c) 2026 gardener.autonomous contributors
# Apache License 2.0 (see LICENSE)
# Note that this module util is PRIVATE to the collection. It can have breaking changes at any time.
"""Bootstrap tokens as ``gardenadm token create|delete`` keeps them (gardenadm.md section 3.7).

A token ``<id>.<secret>`` lives in the Secret ``kube-system/bootstrap-token-<id>`` of type
``bootstrap.kubernetes.io/token``; kube-apiserver (``--enable-bootstrap-token-auth``) authenticates
it as ``system:bootstrap:<id>`` until its ``expiration``. Error messages never contain a token.
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets
import string
from datetime import datetime, timedelta
from typing import Any, Callable, Dict, List, Mapping, NamedTuple, Optional, Sequence, Tuple

from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.client import KubeClient, KubeObject
from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.errors import KubeError
from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.timestamps import (
    format_rfc3339,
    parse_rfc3339,
)

NAMESPACE = "kube-system"
SECRET_TYPE = "bootstrap.kubernetes.io/token"  # noqa: S105 - a Secret type, not a password
NAME_PREFIX = "bootstrap-token-"
CHARSET = string.digits + string.ascii_lowercase
ID_LENGTH = 6
SECRET_LENGTH = 16
DEFAULT_DESCRIPTION = "Used for joining nodes to a self-hosted shoot cluster via 'gardenadm join'"
DEFAULT_TTL = "1h"
MIN_TTL = timedelta(minutes=10)
MAX_TTL = timedelta(hours=24)
GROUP_PREFIX = "system:bootstrappers:"
USAGES = ("authentication", "signing")  # both set, as gardenadm does

_PART = re.compile(r"[a-z0-9]+")
_ID = re.compile(r"[a-z0-9]{6}")
_NAME = re.compile(NAME_PREFIX + r"(?P<id>[a-z0-9]{6})")
# The group pattern kube-apiserver accepts in auth-extra-groups (k8s.io/cluster-bootstrap).
_GROUP = re.compile(r"system:bootstrappers:[a-z0-9:-]{0,255}[a-z0-9]")
_DURATION = re.compile(r"(?:(?P<hours>\d+)h)?(?:(?P<minutes>\d+)m)?(?:(?P<seconds>\d+)s)?")


class BootstrapTokenError(KubeError):
    """An unusable token, ttl, group or Secret; the message names the problem, never the token."""


class TokenSpec(NamedTuple):
    """What the Secret of a token holds."""

    token_id: str
    token_secret: str
    description: str
    groups: Tuple[str, ...]


class TokenInfo(NamedTuple):
    """A token as ``bootstrap_token_info`` reports it; ``token`` is ``<id>.<secret>``."""

    token_id: str
    secret_name: str
    expiration: Optional[str]
    expired: bool
    description: str
    usages: List[str]
    groups: List[str]
    token: str


class Outcome(NamedTuple):
    changed: bool
    token: Optional[str]  # None for a generated token in check mode
    token_id: Optional[str]
    secret_name: Optional[str]
    expiration: Optional[str]


# Parsing and validation


def parse_token(token: str) -> Tuple[str, str]:
    """Splits ``<id>.<secret>``; the error says which part is malformed and never quotes the token."""
    rule = (
        f"a bootstrap token is '<id>.<secret>': an id of {ID_LENGTH} and a secret of {SECRET_LENGTH} "
        "characters, each a digit or a lower-case letter a-z"
    )
    if not isinstance(token, str) or token.count(".") != 1:
        raise BootstrapTokenError(f"{rule}; this one does not have exactly one '.'")
    token_id, token_secret = token.split(".")
    problems = [
        problem
        for problem in (_part_problem("id", token_id, ID_LENGTH), _part_problem("secret", token_secret, SECRET_LENGTH))
        if problem
    ]
    if problems:
        raise BootstrapTokenError(f"{rule}; in this one {' and '.join(problems)}")
    return token_id, token_secret


def _part_problem(part: str, value: str, length: int) -> Optional[str]:
    if len(value) != length:
        return f"the {part} has {len(value)} characters instead of {length}"
    if not _PART.fullmatch(value):
        return f"the {part} has characters other than digits and lower-case letters a-z"
    return None


def parse_ttl(ttl: str) -> timedelta:
    """A duration such as ``10m``, ``1h``, ``1h30m`` or ``24h``, between 10 minutes and 24 hours."""
    match = _DURATION.fullmatch(ttl.strip()) if isinstance(ttl, str) else None
    if match is None or not any(match.groupdict().values()):
        raise BootstrapTokenError(
            f"ttl {ttl!r} is not a duration such as '10m', '1h' or '1h30m' (units h, m and s, whole numbers)"
        )
    duration = timedelta(**{unit: int(value) for unit, value in match.groupdict().items() if value})
    if duration < MIN_TTL or duration > MAX_TTL:
        bound = "shorter than 10m" if duration < MIN_TTL else "longer than 24h"
        raise BootstrapTokenError(f"ttl {ttl!r} is {bound}; a bootstrap token is valid for 10m to 24h")
    return duration


def validate_groups(groups: Sequence[str]) -> Tuple[str, ...]:
    for group in groups:
        if not _GROUP.fullmatch(group):
            raise BootstrapTokenError(
                f"group {group!r} is not usable: extra groups start with {GROUP_PREFIX!r} followed by "
                "lower-case letters, digits, ':' or '-'"
            )
    return tuple(groups)


def token_id_of(token_id: Optional[str] = None, token: Optional[str] = None, name: Optional[str] = None) -> str:
    """The id from whichever of id, token or Secret name is given."""
    if token:
        return parse_token(token)[0]
    if name:
        match = _NAME.fullmatch(name)
        if match is None:
            raise BootstrapTokenError(f"name {name!r} is not '{NAME_PREFIX}<id>' with a 6-character id")
        return match["id"]
    if token_id and _ID.fullmatch(token_id):
        return token_id
    raise BootstrapTokenError(f"id {token_id!r} is not {ID_LENGTH} digits or lower-case letters a-z")


def generate_token() -> str:
    def random_part(length: int) -> str:
        return "".join(secrets.choice(CHARSET) for _position in range(length))

    return f"{random_part(ID_LENGTH)}.{random_part(SECRET_LENGTH)}"


def secret_name(token_id: str) -> str:
    return NAME_PREFIX + token_id


# The Secret


def render_secret(spec: TokenSpec, expiration: datetime) -> KubeObject:
    """The Secret exactly as gardenadm writes it, plus ``auth-extra-groups`` when groups are given."""
    data = {
        "description": spec.description,
        "token-id": spec.token_id,
        "token-secret": spec.token_secret,
        "expiration": format_rfc3339(expiration),
        **{f"usage-bootstrap-{usage}": "true" for usage in USAGES},
    }
    if spec.groups:
        data["auth-extra-groups"] = ",".join(spec.groups)
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": secret_name(spec.token_id), "namespace": NAMESPACE},
        "type": SECRET_TYPE,
        "data": {key: _b64(value) for key, value in data.items()},
    }


def decoded_data(secret: Mapping[str, Any]) -> Dict[str, str]:
    decoded = {}
    for key, value in (secret.get("data") or {}).items():
        try:
            decoded[key] = base64.b64decode(value, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            decoded[key] = ""  # not a value a bootstrap token field can have: never equal to a wanted one
    return decoded


def is_expired(data: Mapping[str, str], now: datetime) -> bool:
    """No expiration never expires; an unreadable one counts as expired, as kube-apiserver treats it."""
    text = data.get("expiration")
    if not text:
        return False
    try:
        return parse_rfc3339(text) < now
    except ValueError:
        return True


def usages_of(data: Mapping[str, str]) -> List[str]:
    prefix = "usage-bootstrap-"
    return sorted(key[len(prefix) :] for key, value in data.items() if key.startswith(prefix) and value == "true")


def groups_of(data: Mapping[str, str]) -> List[str]:
    return [group for group in data.get("auth-extra-groups", "").split(",") if group]


def is_current(secret: Mapping[str, Any], spec: TokenSpec, now: datetime) -> bool:
    """The Secret already serves the token: same secret, description, usages and groups, not expired."""
    data = decoded_data(secret)
    return (
        secret.get("type") == SECRET_TYPE
        and data.get("token-id") == spec.token_id
        and secrets.compare_digest(data.get("token-secret", "").encode(), spec.token_secret.encode())
        and data.get("description", "") == spec.description
        and usages_of(data) == sorted(USAGES)
        and groups_of(data) == list(spec.groups)
        and not is_expired(data, now)
    )


def token_info(secret: Mapping[str, Any], now: datetime) -> Optional[TokenInfo]:
    """None for a Secret kube-apiserver would not read as a bootstrap token (name and token-id disagree)."""
    match = _NAME.fullmatch((secret.get("metadata") or {}).get("name", ""))
    data = decoded_data(secret)
    if match is None or data.get("token-id") != match["id"]:
        return None
    return TokenInfo(
        token_id=match["id"],
        secret_name=match.group(0),
        expiration=data.get("expiration") or None,
        expired=is_expired(data, now),
        description=data.get("description", ""),
        usages=usages_of(data),
        groups=groups_of(data),
        token=f"{match['id']}.{data.get('token-secret', '')}",
    )


def _b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


# Against the API


class BootstrapTokens:
    """Creates, updates, deletes and lists tokens; ``now`` is injectable for tests (aware UTC)."""

    def __init__(self, client: KubeClient, now: Callable[[], datetime], check_mode: bool = False) -> None:
        self._client = client
        self._now = now
        self._check_mode = check_mode

    def ensure(self, token: Optional[str], ttl: timedelta, description: str, groups: Sequence[str]) -> Outcome:
        """Without ``token`` a new one is created (always a change); with it, the Secret is made to
        match unless it already does and has not expired (its expiration is then kept)."""
        if token is None:
            return self._create_generated(ttl, description, tuple(groups))
        token_id, token_secret = parse_token(token)
        spec = TokenSpec(token_id, token_secret, description, tuple(groups))
        existing = self._client.get("v1", "Secret", secret_name(token_id), NAMESPACE)
        if existing is not None and is_current(existing, spec, self._now()):
            expiration = decoded_data(existing).get("expiration") or None
            return Outcome(False, token, token_id, secret_name(token_id), expiration)
        desired = render_secret(spec, self._now() + ttl)
        if not self._check_mode:
            if existing is None:
                self._client.create(desired)
            else:
                self._replace(existing, desired)
        return Outcome(True, token, token_id, secret_name(token_id), _expiration(desired))

    def _create_generated(self, ttl: timedelta, description: str, groups: Tuple[str, ...]) -> Outcome:
        if self._check_mode:
            return Outcome(True, None, None, None, format_rfc3339(self._now() + ttl))
        token = generate_token()
        token_id, token_secret = parse_token(token)
        desired = render_secret(TokenSpec(token_id, token_secret, description, groups), self._now() + ttl)
        # Like gardenadm, a taken id (one chance in 36**6 per token) fails the create rather than
        # touching someone else's token.
        self._client.create(desired)
        return Outcome(True, token, token_id, secret_name(token_id), _expiration(desired))

    def _replace(self, existing: Mapping[str, Any], desired: KubeObject) -> None:
        """Makes the data exactly the desired one (keys no longer wanted are removed)."""
        if existing.get("type") != SECRET_TYPE:
            raise BootstrapTokenError(
                f"Secret {NAMESPACE}/{desired['metadata']['name']} exists with type {existing.get('type')!r}, "
                f"not {SECRET_TYPE!r}; a Secret's type cannot change: delete it first"
            )
        data: Dict[str, Optional[str]] = dict.fromkeys(existing.get("data") or {})
        data.update(desired["data"])
        patch = {"metadata": {"resourceVersion": existing["metadata"]["resourceVersion"]}, "data": data}
        self._client.merge_patch("v1", "Secret", desired["metadata"]["name"], patch, NAMESPACE)

    def delete(self, token_id: str) -> bool:
        """True when the Secret existed (and is deleted unless in check mode)."""
        name = secret_name(token_id)
        if self._check_mode:
            return self._client.get("v1", "Secret", name, NAMESPACE) is not None
        return self._client.delete("v1", "Secret", name, NAMESPACE)

    def list(self) -> List[TokenInfo]:
        listing = self._client.list("v1", "Secret", NAMESPACE, field_selector={"type": SECRET_TYPE})
        now = self._now()
        found = (token_info(item, now) for item in listing.get("items") or [])
        return sorted((info for info in found if info is not None), key=lambda info: info.token_id)


def _expiration(secret: Mapping[str, Any]) -> str:
    return decoded_data(secret)["expiration"]
