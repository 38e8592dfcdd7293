"""bootstrap_token and bootstrap_token_info through ansible-playbook against a real kube-apiserver
v1.20.2 that authenticates bootstrap tokens (--enable-bootstrap-token-auth)."""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Optional

import pytest
from support.apiserver import BootstrapApiserver
from support.playbook import PlaybookRunner

from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.client import KubeClient
from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.errors import ApiError
from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.kubeconfig import ClientConfig
from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.timestamps import (
    format_rfc3339,
    parse_rfc3339,
)

pytestmark = pytest.mark.substrate

MODULE = "gardener.autonomous.bootstrap_token"
INFO = "gardener.autonomous.bootstrap_token_info"
JOIN_DESCRIPTION = "Used for joining nodes to a self-hosted shoot cluster via 'gardenadm join'"
TOKEN_FORMAT = re.compile(r"[a-z0-9]{6}\.[a-z0-9]{16}")
MASKED = "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"
NO_LOG = {"no_log": True}
Step = tuple[dict[str, Any], dict[str, Any]]


@pytest.fixture(scope="module")
def api(bootstrap_apiserver: BootstrapApiserver) -> BootstrapApiserver:
    """kube-apiserver creates kube-system itself; should a future fixture not, it is created here."""
    if bootstrap_apiserver.client.get("v1", "Namespace", "kube-system") is None:
        bootstrap_apiserver.client.create(
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "kube-system"}}
        )
    return bootstrap_apiserver


class Tokens:
    """Runs tasks against the fixture's API server and deletes every token Secret it saw at the end."""

    def __init__(self, api: BootstrapApiserver, workdir: Path) -> None:
        self.api = api
        defaults = {"group/gardener.autonomous.kubernetes": {"kubeconfig": str(api.kubeconfig_path)}}
        (workdir / "v").mkdir()
        (workdir / "vvv").mkdir()
        self.runner = PlaybookRunner(workdir / "v", defaults)
        self.verbose_runner = PlaybookRunner(workdir / "vvv", defaults, verbosity=3)
        self.output = ""
        self.seen: set[str] = set()

    def run(self, *steps: Step, module: str = MODULE, verbose: bool = False) -> list[dict[str, Any]]:
        """One task of ``module`` per (arguments, task keywords); ``output`` holds what was printed."""
        runner = self.verbose_runner if verbose else self.runner
        results = runner.run(module, *steps)
        self.output = runner.output
        self.seen.update(result["secret_name"] for result in results if result.get("secret_name"))
        return results

    def secret(self, token_id: str) -> Optional[dict[str, Any]]:
        self.seen.add(f"bootstrap-token-{token_id}")
        return self.api.client.get("v1", "Secret", f"bootstrap-token-{token_id}", "kube-system")

    def data(self, token_id: str) -> dict[str, str]:
        secret = self.secret(token_id)
        assert secret is not None
        return {key: base64.b64decode(value).decode() for key, value in secret["data"].items()}

    def write_expiration(self, token_id: str, expiration: datetime) -> None:
        encoded = base64.b64encode(format_rfc3339(expiration).encode()).decode()
        patch = {"data": {"expiration": encoded}}
        self.api.client.merge_patch("v1", "Secret", f"bootstrap-token-{token_id}", patch, "kube-system")

    def clean_up(self) -> None:
        for name in self.seen:
            self.api.client.delete("v1", "Secret", name, "kube-system")


@pytest.fixture
def tokens(api: BootstrapApiserver, tmp_path: Path) -> Iterator[Tokens]:
    tokens = Tokens(api, tmp_path)
    yield tokens
    tokens.clean_up()


def task(keywords: Optional[dict[str, Any]] = None, **args: Any) -> Step:
    """Module arguments and task keywords of one step."""
    return args, keywords or {}


def token_client(api: BootstrapApiserver, token: str) -> KubeClient:
    return KubeClient(ClientConfig(server=api.server, ca_data=api.ca_pem, token=token))


def token_secrets(api: BootstrapApiserver) -> dict[str, str]:
    """Name -> resourceVersion of every bootstrap token Secret."""
    listing = api.client.list("v1", "Secret", "kube-system", field_selector={"type": "bootstrap.kubernetes.io/token"})
    return {item["metadata"]["name"]: item["metadata"]["resourceVersion"] for item in listing["items"]}


def near(expiration: str, expected: datetime) -> bool:
    return abs(parse_rfc3339(expiration) - expected) < timedelta(minutes=1)


def test_a_created_token_is_gardenadms_secret(tokens: Tokens) -> None:
    created, with_groups = tokens.run(task(NO_LOG, ttl="2h"), task(groups=["system:bootstrappers:workers"]))

    assert created["changed"] is True
    assert not created.get("failed")
    token = created["token"]
    assert TOKEN_FORMAT.fullmatch(token)
    token_id, token_secret = token.split(".")
    assert created["id"] == token_id
    assert created["secret_name"] == f"bootstrap-token-{token_id}"
    assert near(created["expiration"], datetime.now(timezone.utc) + timedelta(hours=2))

    secret = tokens.secret(token_id)
    assert secret is not None
    assert secret["metadata"]["name"] == f"bootstrap-token-{token_id}"
    assert secret["metadata"]["namespace"] == "kube-system"
    assert secret["type"] == "bootstrap.kubernetes.io/token"
    data = tokens.data(token_id)
    assert sorted(data) == sorted(
        [
            "description",
            "token-id",
            "token-secret",
            "expiration",
            "usage-bootstrap-authentication",
            "usage-bootstrap-signing",
        ]
    )
    assert data["description"] == JOIN_DESCRIPTION
    assert data["token-id"] == token_id
    assert data["token-secret"] == token_secret
    assert data["expiration"] == created["expiration"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", data["expiration"])
    assert data["usage-bootstrap-authentication"] == "true"
    assert data["usage-bootstrap-signing"] == "true"

    assert tokens.data(with_groups["id"])["auth-extra-groups"] == "system:bootstrappers:workers"
    assert near(with_groups["expiration"], datetime.now(timezone.utc) + timedelta(hours=1))  # the default ttl


def test_a_given_token_is_kept_until_it_differs_or_expires(tokens: Tokens) -> None:
    token = "tok123.0123456789abcdef"
    first, again, check, other_description = tokens.run(
        task(token=token, ttl="10m"),
        task(token=token, ttl="24h"),
        task({"check_mode": True}, token=token),
        task(token=token, description="join workers"),
        verbose=True,  # shows the invocation
    )

    assert first["changed"] is True
    assert (again["changed"], check["changed"]) == (False, False)
    # An unchanged token keeps its expiration: the ttl counts from when it was written.
    assert again["expiration"] == first["expiration"]
    assert near(first["expiration"], datetime.now(timezone.utc) + timedelta(minutes=10))
    # Returned as it is (the task is to set no_log); the invocation keeps it masked.
    assert first["token"] == again["token"] == token
    assert f"token: {MASKED}" in tokens.output
    assert (first["id"], first["secret_name"]) == ("tok123", "bootstrap-token-tok123")
    assert other_description["changed"] is True
    assert near(other_description["expiration"], datetime.now(timezone.utc) + timedelta(hours=1))
    assert tokens.data("tok123")["description"] == "join workers"

    tokens.write_expiration("tok123", datetime.now(timezone.utc) - timedelta(minutes=1))
    renewed, unchanged = tokens.run(
        task(token=token, description="join workers"), task(token=token, description="join workers")
    )
    assert renewed["changed"] is True
    assert near(renewed["expiration"], datetime.now(timezone.utc) + timedelta(hours=1))
    assert unchanged["changed"] is False
    assert tokens.data("tok123")["expiration"] == renewed["expiration"]


def test_groups_are_removed_when_no_longer_given(tokens: Tokens) -> None:
    token = "grp123.0123456789abcdef"
    with_group, without = tokens.run(task(token=token, groups=["system:bootstrappers:workers"]), task(token=token))
    assert with_group["changed"] is True
    assert without["changed"] is True
    assert "auth-extra-groups" not in tokens.data("grp123")


def test_bad_input_fails_clearly_without_showing_the_token(tokens: Tokens) -> None:
    bad_token = "abcdef.0123456789ABCDEF"
    results = tokens.run(
        task(token=bad_token),
        task(state="absent", token=bad_token),
        task(ttl="25h"),
        task(ttl="5m"),
        task(ttl="a day"),
        task(groups=["system:masters"]),
        task(state="absent"),
        task(id="abcdef"),
    )
    bad, bad_absent, long_ttl, short_ttl, unreadable_ttl, bad_group, nothing_to_delete, id_for_present = results

    for result in results:
        assert result.get("failed") is True, result
        assert not result.get("changed")
    for result in (bad, bad_absent):
        assert "the secret has characters other than digits and lower-case letters a-z" in result["msg"]
        assert "an id of 6 and a secret of 16 characters" in result["msg"]
    assert long_ttl["msg"] == "ttl '25h' is longer than 24h; a bootstrap token is valid for 10m to 24h"
    assert short_ttl["msg"] == "ttl '5m' is shorter than 10m; a bootstrap token is valid for 10m to 24h"
    assert "is not a duration such as '10m', '1h' or '1h30m'" in unreadable_ttl["msg"]
    assert "group 'system:masters' is not usable" in bad_group["msg"]
    assert "state is absent but any of the following are missing: id, token, name" in nothing_to_delete["msg"]
    assert "id and name only select a token to delete" in id_for_present["msg"]
    everything = tokens.output + json.dumps(results)
    for secret_text in (bad_token, "0123456789ABCDEF"):
        assert secret_text not in everything
    assert tokens.secret("abcdef") is None


def test_delete_by_id_by_token_and_by_name(tokens: Tokens) -> None:
    first, second, third = tokens.run(task(NO_LOG), task(NO_LOG), task(NO_LOG))
    deleted = tokens.run(
        task(state="absent", id=first["id"]),
        task(state="absent", token=second["token"]),
        task(state="absent", name=third["secret_name"]),
        task(state="absent", id=first["id"]),
        task(state="absent", name="bootstrap-token-zzzzzz"),
    )
    by_id, by_token, by_name, again, never_existed = deleted
    assert [result["changed"] for result in deleted] == [True, True, True, False, False]
    assert not any(result.get("failed") for result in deleted)
    assert (by_id["id"], by_token["id"], by_name["id"]) == (first["id"], second["id"], third["id"])
    assert by_token["secret_name"] == second["secret_name"]
    assert "token" not in by_token
    assert (again["id"], never_existed["id"]) == (first["id"], "zzzzzz")
    for result in (first, second, third):
        assert tokens.secret(result["id"]) is None
    assert second["token"].split(".")[1] not in tokens.output


def test_info_lists_tokens_and_shows_secrets_only_when_asked(tokens: Tokens) -> None:
    token = "inf123.0123456789abcdef"
    tokens.run(task(token=token, description="for the list", groups=["system:bootstrappers:a"]))
    tokens.write_expiration("inf123", datetime.now(timezone.utc) - timedelta(seconds=5))
    listed, with_secret = tokens.run(task(), task(NO_LOG, with_secret=True), module=INFO)

    assert listed["changed"] is False
    entry = next(entry for entry in listed["tokens"] if entry["id"] == "inf123")
    assert entry == {
        "id": "inf123",
        "secret_name": "bootstrap-token-inf123",
        "expiration": tokens.data("inf123")["expiration"],
        "expired": True,
        "description": "for the list",
        "usages": ["authentication", "signing"],
        "groups": ["system:bootstrappers:a"],
    }
    assert "0123456789abcdef" not in json.dumps(listed)
    assert next(entry for entry in with_secret["tokens"] if entry["id"] == "inf123")["token"] == token
    assert [entry["id"] for entry in listed["tokens"]] == sorted(entry["id"] for entry in listed["tokens"])


def test_check_mode_writes_nothing(tokens: Tokens) -> None:
    existing = "chk123.0123456789abcdef"
    tokens.run(task(token=existing))
    before = token_secrets(tokens.api)
    check = {"check_mode": True}
    generated, given, delete, update = tokens.run(
        task(check),
        task(check, token="new123.0123456789abcdef"),
        task(check, state="absent", id="chk123"),
        task(check, token=existing, description="changed"),
    )

    assert generated["changed"] is True
    assert generated["token"] is None
    assert generated["id"] is None
    assert near(generated["expiration"], datetime.now(timezone.utc) + timedelta(hours=1))
    assert given["changed"] is True
    assert given["token"] == "new123.0123456789abcdef"
    assert tokens.secret("new123") is None
    assert delete["changed"] is True
    assert update["changed"] is True
    assert tokens.data("chk123")["description"] == JOIN_DESCRIPTION
    assert token_secrets(tokens.api) == before
    assert "bootstrap-token-chk123" in before


def test_a_no_log_task_never_shows_the_token_even_at_vvv(tokens: Tokens) -> None:
    given = "vvv123.0123456789abcdef"
    created, generated = tokens.run(task(NO_LOG, token=given), task(NO_LOG), verbose=True)
    output = tokens.output
    (listed,) = tokens.run(task(NO_LOG, with_secret=True), module=INFO, verbose=True)
    output += tokens.output
    (deleted,) = tokens.run(task(NO_LOG, state="absent", token=given), verbose=True)
    output += tokens.output

    assert (created["token"], created["changed"], deleted["changed"]) == (given, True, True)
    assert TOKEN_FORMAT.fullmatch(generated["token"])
    assert any(entry.get("token") == generated["token"] for entry in listed["tokens"])
    assert output.count("<localhost> EXEC") >= 3  # really -vvv
    for secret_text in (given, "0123456789abcdef", generated["token"], generated["token"].split(".")[1]):
        assert secret_text not in output


def test_the_token_authenticates_until_it_expires(tokens: Tokens) -> None:
    (created,) = tokens.run(task(NO_LOG))
    token_id = created["id"]
    with token_client(tokens.api, created["token"]) as client:
        with pytest.raises(ApiError) as forbidden:
            client.list("v1", "Secret", "kube-system")
        assert forbidden.value.status == 403
        assert f'User "system:bootstrap:{token_id}" cannot list resource "secrets"' in forbidden.value.message
        review = {
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SelfSubjectAccessReview",
            "spec": {"resourceAttributes": {"verb": "list", "resource": "secrets", "namespace": "kube-system"}},
        }
        assert client.create(review)["status"]["allowed"] is False  # only an authenticated user gets an answer

    wrong_secret = f"{token_id}.{'0' * 16}"
    with token_client(tokens.api, wrong_secret) as client, pytest.raises(ApiError) as wrong:
        client.list("v1", "Secret", "kube-system")
    assert wrong.value.status == 401


def test_an_expired_token_is_rejected(tokens: Tokens) -> None:
    expired, later = "exp123.0123456789abcdef", "lat123.0123456789abcdef"
    tokens.run(task(token=expired))
    tokens.write_expiration("exp123", datetime.now(timezone.utc) - timedelta(minutes=1))
    tokens.run(task(token=later))
    # kube-apiserver reads the Secrets from an informer, in the order they were written: once the later
    # token authenticates, it has seen the expiration too. (Tokens are never used before that: it
    # caches successful authentications for 10 s.)
    assert authenticates(tokens.api, later)
    with token_client(tokens.api, expired) as client, pytest.raises(ApiError) as unauthorized:
        client.list("v1", "Namespace")
    assert unauthorized.value.status == 401


def authenticates(api: BootstrapApiserver, token: str, timeout: float = 10.0) -> bool:
    """Whether the API server authenticates the token within ``timeout`` (its informer may lag)."""
    deadline = time.monotonic() + timeout
    with token_client(api, token) as client:
        while True:
            try:
                client.list("v1", "Namespace")
                return True
            except ApiError as error:
                if error.status == 403:
                    return True
                if error.status != 401 or time.monotonic() > deadline:
                    return False
            time.sleep(0.05)
