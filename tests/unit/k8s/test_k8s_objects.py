"""The runner behind cluster_objects (plugins/module_utils/_k8s/objects.py): change detection,
diffs, check mode and the order of waits, against a fake client that records every call."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, ClassVar, Optional

import pytest
import yaml

from ansible_collections.gardener.autonomous.plugins.module_utils._k8s import objects
from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.client import Resource
from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.errors import ApiError, KindNotServed
from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.objects import (
    DefinitionError,
    EnsureFailed,
    Options,
    check_definitions,
    comparable,
    diff,
    ensure_objects,
    secret_values,
    visible,
)
from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.predicates import absent
from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.waiter import WaitResult

FIXTURES = yaml.safe_load((Path(__file__).parent / "fixtures" / "objects.yml").read_text())
CRD_API = "apiextensions.k8s.io/v1"
Key = tuple[str, str, Optional[str], str]


class FakeClient:
    """Stores objects by identity; apply merges like a (much simplified) server-side apply and
    answers like the API: server fields added, resourceVersion bumped by real writes only."""

    def __init__(self) -> None:
        self.scopes: dict[tuple[str, str], bool] = {
            ("v1", "ConfigMap"): True,
            ("v1", "Secret"): True,
            ("v1", "Namespace"): False,
            ("v1", "Node"): False,
            ("apps/v1", "DaemonSet"): True,
            (CRD_API, "CustomResourceDefinition"): False,
        }
        self.objects: dict[Key, dict[str, Any]] = {}
        self.calls: list[tuple[str, ...]] = []  # (verb, kind, name, "dry" | "real")
        self.fail_on: dict[str, ApiError] = {}  # name -> error of its real apply
        self._version = 100

    def resource_for(self, api_version: str, kind: str) -> Resource:
        if (api_version, kind) not in self.scopes:
            raise KindNotServed("https://fake", api_version, kind)
        return Resource(api_version, kind, kind.lower() + "s", self.scopes[(api_version, kind)])

    def get(self, api_version: str, kind: str, name: str, namespace: Optional[str] = None) -> Optional[dict[str, Any]]:
        self.calls.append(("get", kind, name))
        found = self.objects.get((api_version, kind, namespace, name))
        return copy.deepcopy(found) if found else None

    def apply(self, obj: dict[str, Any], *, field_manager: str, force: bool, dry_run: bool) -> dict[str, Any]:
        metadata = obj["metadata"]
        self.calls.append(("apply", obj["kind"], metadata["name"], "dry" if dry_run else "real"))
        if not dry_run and metadata["name"] in self.fail_on:
            raise self.fail_on[metadata["name"]]
        key = (obj["apiVersion"], obj["kind"], metadata.get("namespace"), metadata["name"])
        live = self.objects.get(key)
        result = copy.deepcopy(dict(obj))
        result["metadata"] = {**result["metadata"], "managedFields": [{"manager": field_manager}]}
        result["metadata"]["uid"] = (live or {}).get("metadata", {}).get("uid", f"uid-{metadata['name']}")
        result["metadata"]["resourceVersion"] = (live or {}).get("metadata", {}).get("resourceVersion", "0")
        if live and comparable(live) == comparable(result):
            return result
        if not dry_run:
            self._version += 1
            result["metadata"]["resourceVersion"] = str(self._version)
            self.objects[key] = result
            if obj["kind"] == "CustomResourceDefinition":
                spec = obj["spec"]
                for version in spec["versions"]:
                    self.scopes[(f"{spec['group']}/{version['name']}", spec["names"]["kind"])] = True
        return copy.deepcopy(result)

    def merge_patch(
        self,
        api_version: str,
        kind: str,
        name: str,
        patch: dict[str, Any],
        namespace: Optional[str] = None,
        *,
        dry_run: bool = False,
    ) -> dict[str, Any]:
        self.calls.append(("merge_patch", kind, name, "dry" if dry_run else "real"))
        key = (api_version, kind, namespace, name)
        result = _merge(copy.deepcopy(self.objects[key]), patch)
        if not dry_run:
            self.objects[key] = result
        return copy.deepcopy(result)

    def delete(
        self, api_version: str, kind: str, name: str, namespace: Optional[str] = None, *, dry_run: bool = False
    ) -> bool:
        self.calls.append(("delete", kind, name, "dry" if dry_run else "real"))
        key = (api_version, kind, namespace, name)
        if key not in self.objects:
            return False
        if not dry_run:
            del self.objects[key]
        return True

    def put(self, obj: dict[str, Any]) -> None:
        metadata = obj["metadata"]
        stored = copy.deepcopy(obj)
        stored["metadata"].setdefault("resourceVersion", "1")
        self.objects[(obj["apiVersion"], obj["kind"], metadata.get("namespace"), metadata["name"])] = stored

    def writes(self) -> list[tuple[str, ...]]:
        return [call for call in self.calls if call[0] != "get" and call[-1] == "real"]


def _merge(target: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        else:
            target[key] = copy.deepcopy(value)
    return target


def options(state: str = "present", *, check_mode: bool = False, wait: bool = False) -> Options:
    return Options(state, "gardener.autonomous", False, wait, 30, check_mode)


def config_map(name: str = "settings", **data: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": "kube-system"},
        "data": data,
    }


def crd(group: str = "example.com", kind: str = "Widget") -> dict[str, Any]:
    return {
        "apiVersion": CRD_API,
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{kind.lower()}s.{group}"},
        "spec": {
            "group": group,
            "scope": "Namespaced",
            "names": {"kind": kind, "plural": f"{kind.lower()}s"},
            "versions": [{"name": "v1", "served": True, "storage": True}],
        },
    }


def widget(name: str = "w", namespace: str = "default") -> dict[str, Any]:
    return {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": name, "namespace": namespace}}


def actions(report: objects.Report) -> list[str]:
    return [outcome.action for outcome in report.outcomes]


@pytest.fixture
def client() -> FakeClient:
    return FakeClient()


# Change detection


@pytest.mark.parametrize("fixture", FIXTURES, ids=[fixture["name"] for fixture in FIXTURES])
def test_comparable_ignores_what_every_write_changes(fixture: dict[str, Any]) -> None:
    assert (comparable(fixture["live"]) == comparable(fixture["dry_run"])) is fixture["same"]


def test_present_creates_updates_and_leaves_alone(client: FakeClient) -> None:
    first = ensure_objects(client, [config_map(a="1"), config_map("other", b="2")], options())
    assert actions(first) == ["created", "created"]
    assert first.changed

    client.calls.clear()
    again = ensure_objects(client, [config_map(a="1"), config_map("other", b="3")], options())
    assert actions(again) == ["unchanged", "updated"]
    # Only the object that differs is written for real; the other only saw a dry run.
    assert client.writes() == [("apply", "ConfigMap", "other", "real")]
    assert again.outcomes[1].before["data"] == {"b": "2"}
    assert again.outcomes[1].after["data"] == {"b": "3"}

    client.calls.clear()
    third = ensure_objects(client, [config_map(a="1"), config_map("other", b="3")], options())
    assert actions(third) == ["unchanged", "unchanged"]
    assert not third.changed
    assert client.writes() == []


def test_check_mode_only_dry_runs(client: FakeClient) -> None:
    client.put(config_map(a="1"))
    report = ensure_objects(client, [config_map(a="2"), config_map("new", b="1")], options(check_mode=True))
    assert actions(report) == ["updated", "created"]
    assert client.writes() == []
    assert report.outcomes[0].after["data"] == {"a": "2"}  # what the dry run answered
    assert client.objects[("v1", "ConfigMap", "kube-system", "settings")]["data"] == {"a": "1"}


def test_patched_never_creates(client: FakeClient) -> None:
    node = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "cp-0", "labels": {"a": "b"}}}
    report = ensure_objects(client, [node], options("patched"))
    assert actions(report) == ["absent"]
    assert not report.changed
    assert report.warnings == [
        "definitions[0] (Node cp-0) does not exist; state=patched never creates, so nothing was done"
    ]
    assert client.writes() == []


def test_patched_changes_once(client: FakeClient) -> None:
    client.put({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "kube-system"}})
    labelled = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "kube-system", "labels": {"x": "y"}}}
    check = ensure_objects(client, [labelled], options("patched", check_mode=True))
    assert actions(check) == ["patched"]
    assert client.writes() == []
    first = ensure_objects(client, [labelled], options("patched"))
    second = ensure_objects(client, [labelled], options("patched"))
    assert actions(first) == ["patched"]
    assert actions(second) == ["unchanged"]


def test_absent(client: FakeClient) -> None:
    client.put(config_map(a="1"))
    terminating = config_map("going")
    terminating["metadata"]["deletionTimestamp"] = "2026-08-21T10:00:00Z"
    client.put(terminating)
    definitions = [config_map(), config_map("going"), config_map("never")]

    check = ensure_objects(client, definitions, options("absent", check_mode=True))
    assert actions(check) == ["deleted", "absent", "absent"]
    assert client.writes() == []
    assert ("delete", "ConfigMap", "settings", "dry") in client.calls

    report = ensure_objects(client, definitions, options("absent"))
    assert actions(report) == ["deleted", "absent", "absent"]
    # Deletion of "going" was requested before: not requested again.
    assert client.writes() == [("delete", "ConfigMap", "settings", "real")]
    assert report.outcomes[0].after is None


# Definitions


@pytest.mark.parametrize(
    ("definition", "message"),
    [
        ("text", "definitions[1] is not a mapping"),
        ({"kind": "ConfigMap", "metadata": {"name": "x"}}, "definitions[1] needs apiVersion"),
        ({"apiVersion": "v1", "kind": "ConfigMap"}, "definitions[1] needs metadata.name"),
        ({"apiVersion": "v1", "metadata": {"name": 5}}, "definitions[1] needs kind, metadata.name"),
    ],
)
def test_malformed_definitions(definition: Any, message: str) -> None:
    with pytest.raises(DefinitionError, match=r"^" + message.replace("[", r"\[").replace("]", r"\]") + "$"):
        check_definitions([config_map(), definition])


@pytest.mark.parametrize(
    ("definition", "message"),
    [
        (
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}},
            "definitions[1] (ConfigMap x): ConfigMap is namespaced, metadata.namespace is required",
        ),
        (
            {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "x", "namespace": "default"}},
            "definitions[1] (Node default/x): Node is cluster-scoped, remove metadata.namespace",
        ),
        (
            widget(),
            "definitions[1]: the Kubernetes API server https://fake does not serve kind Widget in example.com/v1",
        ),
    ],
)
def test_scope_and_kind_are_checked_before_anything_is_written(
    client: FakeClient, definition: dict[str, Any], message: str
) -> None:
    with pytest.raises(DefinitionError) as raised:
        ensure_objects(client, [config_map(), definition], options())
    assert str(raised.value) == message
    assert client.calls == []


def test_absent_of_a_kind_not_served_is_absent(client: FakeClient) -> None:
    report = ensure_objects(client, [widget()], options("absent"))
    assert actions(report) == ["absent"]
    assert report.warnings == [
        "definitions[0] (Widget default/w): Widget is not served in example.com/v1, so no such object exists"
    ]


def test_a_crd_before_its_objects(client: FakeClient) -> None:
    report = ensure_objects(client, [crd(), widget()], options())
    assert actions(report) == ["created", "created"]
    assert report.warnings == []


def test_check_mode_reports_objects_whose_kind_or_namespace_this_task_creates(client: FakeClient) -> None:
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "new"}}
    in_namespace = {**config_map(), "metadata": {"name": "settings", "namespace": "new"}}
    report = ensure_objects(client, [crd(), widget(), namespace, in_namespace], options(check_mode=True))

    assert actions(report) == ["created"] * 4
    assert client.writes() == []
    assert report.warnings == [
        "definitions[1] (Widget default/w): not validated by the API in check mode, "
        "as its CustomResourceDefinition is only created by this task",
        "definitions[3] (ConfigMap new/settings): not validated by the API in check mode, "
        "as its Namespace new is only created by this task",
    ]
    assert report.outcomes[1].after == widget()


def test_an_api_error_stops_with_what_was_done(client: FakeClient) -> None:
    client.fail_on["bad"] = ApiError("PATCH", "/x", 500, "InternalError", ".spec.x: field not declared in schema")
    with pytest.raises(EnsureFailed) as raised:
        ensure_objects(client, [config_map(), config_map("bad"), config_map("after")], options())
    assert str(raised.value) == (
        "definitions[1] (ConfigMap kube-system/bad): the API refused it (500 InternalError): "
        ".spec.x: field not declared in schema"
    )
    assert actions(raised.value.report) == ["created"]


def test_a_conflict_names_force_conflicts(client: FakeClient) -> None:
    message = 'Apply failed with 1 conflict: conflict with "kubectl" using v1: .data.a'
    client.fail_on["settings"] = ApiError("PATCH", "/x", 409, "Conflict", message)
    with pytest.raises(EnsureFailed, match="set force_conflicts to take over fields another field manager owns"):
        ensure_objects(client, [config_map(a="1")], options())


# Waiting


class RecordingWaiter:
    waits: ClassVar[list[tuple[str, str, Any]]] = []

    def __init__(self, client: FakeClient, predicate: Any, clock: Any) -> None:
        self.client = client
        self.predicate = predicate

    def wait(self, api_version: str, kind: str, name: str, namespace: Optional[str], timeout: float) -> WaitResult:
        RecordingWaiter.waits.append((kind, name, self.predicate))
        # Where in the sequence of writes the wait happened.
        self.client.calls.append(("wait", kind, name))
        return WaitResult(True, None, 0.0, "")


@pytest.fixture
def waiter(monkeypatch: pytest.MonkeyPatch) -> type[RecordingWaiter]:
    RecordingWaiter.waits = []
    monkeypatch.setattr(objects, "Waiter", RecordingWaiter)
    return RecordingWaiter


def test_crds_are_waited_for_at_once_the_rest_after_all_writes(client: FakeClient, waiter: type) -> None:
    daemonset = {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "a", "namespace": "x"}}
    ensure_objects(client, [config_map(), crd(), widget(), daemonset], options(wait=True))

    sequence = [call[:3] for call in client.calls if call[0] == "wait" or call[-1] == "real"]
    assert sequence == [
        ("apply", "ConfigMap", "settings"),
        ("apply", "CustomResourceDefinition", "widgets.example.com"),
        ("wait", "CustomResourceDefinition", "widgets.example.com"),
        ("apply", "Widget", "w"),
        ("apply", "DaemonSet", "a"),
        ("wait", "ConfigMap", "settings"),
        ("wait", "Widget", "w"),
        ("wait", "DaemonSet", "a"),
    ]
    predicates = {kind: predicate.__name__ for kind, _name, predicate in waiter.waits}
    assert predicates == {
        "ConfigMap": "exists",
        "CustomResourceDefinition": "crd_established",
        "Widget": "exists",
        "DaemonSet": "daemonset_ready",
    }


def test_check_mode_never_waits(client: FakeClient, waiter: type) -> None:
    ensure_objects(client, [config_map(), crd()], options(check_mode=True, wait=True))
    assert waiter.waits == []


def test_absent_waits_until_gone_for_what_existed(client: FakeClient, waiter: type) -> None:
    client.put(config_map())
    ensure_objects(client, [config_map(), config_map("never")], options("absent", wait=True))
    assert waiter.waits == [("ConfigMap", "settings", absent)]


def test_patched_waits_for_a_missing_object_to_appear_then_for_readiness(client: FakeClient, waiter: type) -> None:
    client.put(config_map(a="1"))
    ensure_objects(client, [config_map(a="2"), config_map("missing")], options("patched", wait=True))
    # "missing" never appears here (the recording waiter returns no object), so only "settings" is patched.
    assert [(kind, name, predicate.__name__) for kind, name, predicate in waiter.waits] == [
        ("ConfigMap", "missing", "exists"),
        ("ConfigMap", "settings", "exists"),
    ]


# Diffs and secrets


def test_visible_hides_secret_values_and_managed_fields() -> None:
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": "s",
            "managedFields": [{"manager": "x"}],
            "annotations": {
                "kubectl.kubernetes.io/last-applied-configuration": '{"data": {"a": "c2VjcmV0"}}',
                "o": "k",
            },
        },
        "data": {"a": "c2VjcmV0"},
        "stringData": {"b": "secret"},
    }
    shown = visible(secret)
    assert shown == {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": "s",
            "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "<hidden>", "o": "k"},
        },
        "data": {"a": "<hidden>"},
        "stringData": {"b": "<hidden>"},
    }
    assert secret["data"] == {"a": "c2VjcmV0"}  # the input is left alone
    assert visible(None) == {}


def test_visible_leaves_other_kinds_alone() -> None:
    item = config_map(a="1")
    item["metadata"]["managedFields"] = [{"manager": "x"}]
    assert visible(item) == config_map(a="1")


def test_diff_per_object() -> None:
    before = config_map(a="1")
    after = config_map(a="2")
    identity = objects.Identity(3, "v1", "ConfigMap", "settings", "kube-system")
    assert diff(objects.Outcome(identity, "updated", before, after)) == {
        "before": before,
        "after": after,
        "before_header": "definitions[3] (ConfigMap kube-system/settings)",
        "after_header": "definitions[3] (ConfigMap kube-system/settings)",
    }


def test_secret_values_include_the_encoded_string_data() -> None:
    secret = {"kind": "Secret", "data": {"a": "c2VjcmV0"}, "stringData": {"b": "plain"}}
    assert secret_values([config_map(a="visible"), secret, "not a mapping"]) == {"c2VjcmV0", "plain", "cGxhaW4="}
