"""ShootState pieces that need no API server (plugins/module_utils/_gardener/shootstate.py): the machine-state
encoding, merging and parsing SecretState entries, the file form and the content comparison."""

from __future__ import annotations

import base64
import copy
import gzip
import json
from typing import Any

import pytest

from ansible_collections.gardener.autonomous.plugins.module_utils._gardener.shootstate import (
    ShootStateError,
    dump_shoot_state,
    load_shoot_state,
    machine_state_entry,
    machine_state_of,
    merge_secrets,
    same_content,
    secrets_state,
    summarize,
)

SECRET_KEY = base64.b64encode(b"PRIVATE KEY MATERIAL").decode()
MACHINE_STATE = {
    "machineDeployments": {
        "md-1": {
            "replicas": 1,
            "machineSets": [{"metadata": {"name": "ms-1", "namespace": "ns"}, "spec": {"replicas": 1}}],
            "machines": [{"metadata": {"name": "m-1", "namespace": "ns"}, "spec": {"providerID": "local://m-1"}}],
        }
    }
}


def secret(name: str, label: str | None, key: str = SECRET_KEY, **state: Any) -> dict[str, Any]:
    labels = {"name": label, "persist": "true"} if label else {}
    return {"name": name, "type": "secret", "labels": labels, "data": {"data": {"key": key}, "type": "Opaque", **state}}


def shoot_state(*gardener: dict[str, Any], timestamp: str = "2026-08-21T10:00:00Z") -> dict[str, Any]:
    return {
        "apiVersion": "core.gardener.cloud/v1beta1",
        "kind": "ShootState",
        "metadata": {"name": "root", "namespace": "garden", "annotations": {"gardener.cloud/timestamp": timestamp}},
        "spec": {"gardener": list(gardener), "extensions": [{"kind": "Worker", "name": "root", "state": {"a": 1}}]},
    }


def test_machine_state_is_gzipped_json_in_base64_and_the_same_every_time() -> None:
    entry = machine_state_entry(MACHINE_STATE)
    assert entry["name"] == entry["type"] == "machine-state"
    compressed = base64.b64decode(entry["data"]["state"])
    assert compressed[:2] == b"\x1f\x8b"  # gzip
    assert json.loads(gzip.decompress(compressed)) == MACHINE_STATE
    assert machine_state_entry(copy.deepcopy(MACHINE_STATE)) == entry  # no mtime in the gzip header
    assert machine_state_of(shoot_state(entry)) == MACHINE_STATE
    assert machine_state_of(shoot_state()) == {}


def test_a_broken_machine_state_is_an_error() -> None:
    broken = {
        "name": "machine-state",
        "type": "machine-state",
        "data": {"state": base64.b64encode(b"no gzip").decode()},
    }
    with pytest.raises(ShootStateError, match=r"^the machine-state entry cannot be decoded: "):
        machine_state_of(shoot_state(broken))


def test_given_secrets_replace_the_clusters_by_their_name_label() -> None:
    cluster = [secret("ca-11111111", "ca"), secret("ssh-keypair-2222", "ssh-keypair"), secret("unlabelled", None)]
    given = [secret("ca-99999999", "ca", key=base64.b64encode(b"new").decode()), secret("unlabelled", None, "AA==")]
    merged = merge_secrets(cluster, given)
    assert [entry["name"] for entry in merged] == ["ca-99999999", "ssh-keypair-2222", "unlabelled"]
    assert merged[0] == given[0] and merged[2] == given[1]


def test_a_given_secret_replaces_a_cluster_entry_of_the_same_name_whatever_its_label() -> None:
    merged = merge_secrets([secret("ca-11111111", "old-name")], [secret("ca-11111111", "ca")])
    assert merged == [secret("ca-11111111", "ca")]


def test_secrets_parse_back_as_secret_state_entries_sorted_by_name() -> None:
    entries = [secret("b-2", "b", immutable=True), secret("a-1", "a")]
    parsed = secrets_state(shoot_state(*entries, machine_state_entry(MACHINE_STATE)))
    assert parsed == [entries[1], entries[0]]


def test_secrets_in_gardeners_older_plain_map_format_come_back_as_secret_state() -> None:
    legacy = {"name": "ca-1", "type": "secret", "labels": {"name": "ca"}, "data": {"ca.crt": SECRET_KEY}}
    assert secrets_state(shoot_state(legacy)) == [
        {
            "name": "ca-1",
            "type": "secret",
            "labels": {"name": "ca"},
            "data": {"data": {"ca.crt": SECRET_KEY}, "type": "Opaque"},
        }
    ]


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ({"name": "x", "type": "secret", "data": "flat"}, "x): data must be a SecretState"),
        (secret("x", "x", key="not base64!"), "x): data.data must map keys to base64 strings"),
        ({**secret("x", "x"), "labels": {"name": 1}}, "x): labels must map strings to strings"),
        (secret("x", "x", immutable="yes"), "x): data.type must be a string and data.immutable a boolean"),
        ({"type": "secret", "data": {}}, 'is not a secret entry (a mapping with a name and type "secret")'),
    ],
)
def test_a_bad_secret_entry_is_named_without_its_data(entry: dict[str, Any], problem: str) -> None:
    with pytest.raises(ShootStateError) as raised:
        secrets_state(shoot_state(entry))
    assert str(raised.value).startswith("spec.gardener[0]")
    assert problem in str(raised.value)
    assert SECRET_KEY not in str(raised.value) and "not base64!" not in str(raised.value)


def test_only_a_shoot_state_parses() -> None:
    with pytest.raises(ShootStateError, match=r"^not a ShootState"):
        secrets_state({"apiVersion": "v1", "kind": "Secret"})


def test_the_file_form_starts_with_the_kind_and_loads_back() -> None:
    state = shoot_state(secret("ca-1", "ca"), machine_state_entry(MACHINE_STATE))
    text = dump_shoot_state(state)
    assert text.startswith("apiVersion: core.gardener.cloud/v1beta1\nkind: ShootState\nmetadata:\n")
    assert load_shoot_state(text, "shootstate.yaml") == state


def test_a_broken_file_is_named_without_quoting_it() -> None:
    with pytest.raises(ShootStateError) as raised:
        load_shoot_state(f"key: {SECRET_KEY}\n  - : [", "/site/shootstate.yaml")
    assert str(raised.value) == "/site/shootstate.yaml is not valid YAML"
    with pytest.raises(ShootStateError, match=r"^/site/shootstate\.yaml is not a ShootState$"):
        load_shoot_state("- a list\n", "/site/shootstate.yaml")


def test_content_compares_without_the_timestamp() -> None:
    older, newer = (
        shoot_state(secret("ca-1", "ca")),
        shoot_state(secret("ca-1", "ca"), timestamp="2026-08-22T00:00:00Z"),
    )
    assert same_content(older, newer)
    assert not same_content(older, shoot_state(secret("ca-2", "ca")))
    assert older["metadata"]["annotations"]  # compared on copies


def test_the_summary_holds_names_and_counts_only() -> None:
    summary = summarize(shoot_state(secret("ca-1", "ca"), machine_state_entry(MACHINE_STATE)))
    assert summary == {
        "secrets": 1,
        "extensions": 1,
        "machines": 1,
        "secret_names": ["ca-1"],
        "extension_names": ["Worker/root"],
        "machine_names": ["m-1"],
    }
