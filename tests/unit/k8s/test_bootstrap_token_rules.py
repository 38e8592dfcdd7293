"""Bootstrap token rules (plugins/module_utils/_k8s/bootstrap_tokens.py): the token format, the ttl,
the Secret gardenadm writes, and when an existing Secret already serves a token."""

from __future__ import annotations

import base64
import re
from datetime import datetime, timedelta, timezone

import pytest

from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.bootstrap_tokens import (
    DEFAULT_DESCRIPTION,
    BootstrapTokenError,
    TokenSpec,
    decoded_data,
    generate_token,
    is_current,
    is_expired,
    parse_token,
    parse_ttl,
    render_secret,
    token_id_of,
    token_info,
    validate_groups,
)

TOKEN = "abcdef.0123456789abcdef"
NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=timezone.utc)
SPEC = TokenSpec("abcdef", "0123456789abcdef", DEFAULT_DESCRIPTION, ())


def test_parse_token_splits_id_and_secret() -> None:
    assert parse_token(TOKEN) == ("abcdef", "0123456789abcdef")


@pytest.mark.parametrize(
    ("token", "problem"),
    [
        ("abcdef0123456789abcdef", "does not have exactly one '.'"),
        ("abc.def.0123456789abcdef", "does not have exactly one '.'"),
        ("abcde.0123456789abcdef", "the id has 5 characters instead of 6"),
        ("abcdef.0123456789abcde", "the secret has 15 characters instead of 16"),
        ("ABCDEF.0123456789abcdef", "the id has characters other than digits and lower-case letters"),
        ("abcdef.0123456789abcdeF", "the secret has characters other than digits and lower-case letters"),
        ("abcdef.0123456789abcd_f", "the secret has characters other than digits and lower-case letters"),
        ("ab.0123456789abcdeF", "the id has 2 characters instead of 6 and the secret has characters other"),
        ("", "does not have exactly one '.'"),
    ],
)
def test_a_malformed_token_is_explained_without_echoing_it(token: str, problem: str) -> None:
    with pytest.raises(BootstrapTokenError) as raised:
        parse_token(token)
    message = str(raised.value)
    assert problem in message
    assert "6 and a secret of 16 characters" in message
    for part in filter(None, re.split(r"[.]", token)):
        assert part not in message


@pytest.mark.parametrize(
    ("ttl", "expected"),
    [
        ("10m", timedelta(minutes=10)),
        ("1h", timedelta(hours=1)),
        ("24h", timedelta(hours=24)),
        ("1h30m", timedelta(minutes=90)),
        ("600s", timedelta(minutes=10)),
        ("23h59m59s", timedelta(hours=24) - timedelta(seconds=1)),
    ],
)
def test_parse_ttl(ttl: str, expected: timedelta) -> None:
    assert parse_ttl(ttl) == expected


@pytest.mark.parametrize(
    ("ttl", "problem"),
    [
        ("25h", "ttl '25h' is longer than 24h; a bootstrap token is valid for 10m to 24h"),
        ("9m59s", "ttl '9m59s' is shorter than 10m; a bootstrap token is valid for 10m to 24h"),
        ("24h1s", "ttl '24h1s' is longer than 24h"),
        ("0m", "ttl '0m' is shorter than 10m"),
        ("1d", "is not a duration such as '10m', '1h' or '1h30m'"),
        ("1.5h", "is not a duration"),
        ("-1h", "is not a duration"),
        ("", "is not a duration"),
        ("h", "is not a duration"),
        ("30m1h", "is not a duration"),
    ],
)
def test_a_bad_ttl_is_explained(ttl: str, problem: str) -> None:
    with pytest.raises(BootstrapTokenError, match=re.escape(problem)):
        parse_ttl(ttl)


def test_groups_must_be_bootstrapper_groups() -> None:
    assert validate_groups(["system:bootstrappers:workers", "system:bootstrappers:a-b:c1"]) == (
        "system:bootstrappers:workers",
        "system:bootstrappers:a-b:c1",
    )
    for group in ("system:masters", "system:bootstrappers:", "system:bootstrappers:Workers", "workers"):
        with pytest.raises(BootstrapTokenError, match=re.escape(f"group {group!r} is not usable")):
            validate_groups([group])


def test_token_id_from_id_token_or_name() -> None:
    assert token_id_of(token_id="abcdef") == "abcdef"
    assert token_id_of(token=TOKEN) == "abcdef"
    assert token_id_of(name="bootstrap-token-abcdef") == "abcdef"
    with pytest.raises(BootstrapTokenError, match="is not 'bootstrap-token-<id>'"):
        token_id_of(name="bootstrap-token-abc")
    with pytest.raises(BootstrapTokenError, match="id 'ABCDEF' is not 6 digits or lower-case letters"):
        token_id_of(token_id="ABCDEF")
    with pytest.raises(BootstrapTokenError, match="the secret has 3 characters"):
        token_id_of(token="abcdef.abc")


def test_generated_tokens_are_well_formed_and_random() -> None:
    tokens = {generate_token() for _token in range(50)}
    assert len(tokens) == 50
    for token in tokens:
        assert re.fullmatch(r"[a-z0-9]{6}\.[a-z0-9]{16}", token)


def test_the_secret_is_gardenadms_shape() -> None:
    secret = render_secret(SPEC, NOW + timedelta(hours=1, microseconds=500))
    assert secret["apiVersion"] == "v1"
    assert secret["kind"] == "Secret"
    assert secret["metadata"] == {"name": "bootstrap-token-abcdef", "namespace": "kube-system"}
    assert secret["type"] == "bootstrap.kubernetes.io/token"
    assert {key: base64.b64decode(value).decode() for key, value in secret["data"].items()} == {
        "description": "Used for joining nodes to a self-hosted shoot cluster via 'gardenadm join'",
        "token-id": "abcdef",
        "token-secret": "0123456789abcdef",
        "expiration": "2026-03-01T13:00:00Z",
        "usage-bootstrap-authentication": "true",
        "usage-bootstrap-signing": "true",
    }


def test_groups_go_to_auth_extra_groups() -> None:
    spec = SPEC._replace(groups=("system:bootstrappers:a", "system:bootstrappers:b"))
    data = decoded_data(render_secret(spec, NOW))
    assert data["auth-extra-groups"] == "system:bootstrappers:a,system:bootstrappers:b"


def test_an_existing_secret_serves_the_token_until_it_expires() -> None:
    secret = render_secret(SPEC, NOW + timedelta(minutes=5))
    assert is_current(secret, SPEC, NOW)
    assert not is_current(secret, SPEC, NOW + timedelta(minutes=5, seconds=1))
    assert not is_current(secret, SPEC._replace(token_secret="fedcba9876543210"), NOW)
    assert not is_current(secret, SPEC._replace(description="other"), NOW)
    assert not is_current(secret, SPEC._replace(groups=("system:bootstrappers:a",)), NOW)
    without_signing = {**secret, "data": {k: v for k, v in secret["data"].items() if k != "usage-bootstrap-signing"}}
    assert not is_current(without_signing, SPEC, NOW)
    assert not is_current({**secret, "type": "Opaque"}, SPEC, NOW)


def test_expiration_rules() -> None:
    assert not is_expired({}, NOW)
    assert not is_expired({"expiration": "2026-03-01T12:00:00Z"}, NOW)
    assert is_expired({"expiration": "2026-03-01T11:59:59Z"}, NOW)
    assert is_expired({"expiration": "tomorrow"}, NOW)  # kube-apiserver treats it as expired too


def test_token_info_reads_the_secret() -> None:
    spec = SPEC._replace(groups=("system:bootstrappers:a",))
    info = token_info(render_secret(spec, NOW - timedelta(seconds=1)), NOW)
    assert info is not None
    assert info.token_id == "abcdef"
    assert info.secret_name == "bootstrap-token-abcdef"
    assert info.expiration == "2026-03-01T11:59:59Z"
    assert info.expired is True
    assert info.description == DEFAULT_DESCRIPTION
    assert info.usages == ["authentication", "signing"]
    assert info.groups == ["system:bootstrappers:a"]
    assert info.token == TOKEN


def test_token_info_skips_secrets_kube_apiserver_would_not_use() -> None:
    secret = render_secret(SPEC, NOW)
    assert token_info({**secret, "metadata": {"name": "bootstrap-token-zzzzzz"}}, NOW) is None
    assert token_info({**secret, "metadata": {"name": "my-token"}}, NOW) is None
