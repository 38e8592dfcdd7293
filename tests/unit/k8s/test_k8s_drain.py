"""The runner behind node_drain (plugins/module_utils/_k8s/drain.py): pod filters on fixtures,
eviction API discovery, retries of refused evictions against a fake client and clock."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import pytest
import yaml

from ansible_collections.gardener.autonomous.plugins.module_utils._k8s import drain
from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.drain import (
    Drainer,
    DrainFailed,
    DrainOptions,
    classify,
    eviction_api_version,
    gone_or_replaced,
    pod_name,
    refusal,
)
from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.errors import ApiError, KubeError
from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.predicates import READY, WAIT, Verdict

FIXTURES = yaml.safe_load((Path(__file__).parent / "fixtures" / "drain_pods.yml").read_text())


def fate(pod: dict[str, Any], *, force: bool, delete_emptydir_data: bool) -> str:
    plan = classify([pod], force=force, delete_emptydir_data=delete_emptydir_data)
    if plan.skipped:
        return f"skip: {plan.skipped[0]['reason']}"
    if plan.refused:
        return "; ".join(f"refuse: {what}" for what in plan.refused)
    assert plan.evict == [pod]
    return "evict"


@pytest.mark.parametrize("fixture", FIXTURES, ids=[fixture["name"] for fixture in FIXTURES])
def test_filters(fixture: dict[str, Any]) -> None:
    pod = fixture["pod"]
    assert fate(pod, force=False, delete_emptydir_data=False) == fixture["expected"]
    assert fate(pod, force=True, delete_emptydir_data=True) == fixture["with_options"]


def test_every_refusal_is_named_at_once() -> None:
    pods = [fixture["pod"] for fixture in FIXTURES]
    plan = classify(pods, force=False, delete_emptydir_data=False)
    assert refusal(plan) == (
        "cannot evict pods with local storage (emptyDir), allowed by delete_emptydir_data: default/cache-0; "
        "cannot evict pods without a controller, allowed by force: default/debug"
    )
    assert [pod_name(pod) for pod in plan.evict] == ["default/web-5d9c-x7kq2", "default/one-off", "default/crashed"]


def test_force_lets_unmanaged_pods_go_and_says_so() -> None:
    pods = [fixture["pod"] for fixture in FIXTURES]
    plan = classify(pods, force=True, delete_emptydir_data=True)
    assert plan.refused == {}
    assert plan.forced == ["default/debug"]
    assert len(plan.evict) == 5


def test_an_unmanaged_pod_with_local_storage_needs_both_options() -> None:
    pod = {"metadata": {"namespace": "a", "name": "b"}, "spec": {"volumes": [{"name": "v", "emptyDir": {}}]}}
    assert classify([pod], force=True, delete_emptydir_data=False).refused == {drain.LOCAL_STORAGE: ["a/b"]}
    assert classify([pod], force=False, delete_emptydir_data=True).refused == {drain.UNMANAGED: ["a/b"]}


def test_gone_or_replaced() -> None:
    predicate = gone_or_replaced("uid-1")
    assert predicate(None) == Verdict(READY)
    assert predicate({"metadata": {"uid": "uid-2"}}) == Verdict(READY)  # a StatefulSet's new pod
    assert predicate({"metadata": {"uid": "uid-1", "deletionTimestamp": "2026-08-21T10:00:00Z"}}) == Verdict(
        WAIT, "deletion requested at 2026-08-21T10:00:00Z"
    )


class DiscoveryClient:
    server = "https://fake"

    def __init__(self, entries: list[dict[str, Any]]) -> None:
        self.entries = entries

    def api_resources(self, api_version: str) -> list[dict[str, Any]]:
        assert api_version == "v1"
        return self.entries


@pytest.mark.parametrize(
    ("entry", "version"),
    [
        ({"name": "pods/eviction", "group": "policy", "version": "v1beta1", "kind": "Eviction"}, "policy/v1beta1"),
        ({"name": "pods/eviction", "group": "policy", "version": "v1", "kind": "Eviction"}, "policy/v1"),
    ],
)
def test_eviction_api_version_is_discovered(entry: dict[str, Any], version: str) -> None:
    client = DiscoveryClient([{"name": "pods", "kind": "Pod"}, entry, {"name": "pods/status", "kind": "Pod"}])
    assert eviction_api_version(client) == version  # type: ignore[arg-type]


def test_no_eviction_api_is_an_error() -> None:
    with pytest.raises(KubeError, match="does not serve pods/eviction"):
        eviction_api_version(DiscoveryClient([{"name": "pods", "kind": "Pod"}]))  # type: ignore[arg-type]


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def pod(name: str) -> dict[str, Any]:
    return {
        "metadata": {
            "namespace": "default",
            "name": name,
            "uid": f"uid-{name}",
            "ownerReferences": [{"kind": "ReplicaSet", "name": "rs", "controller": True}],
        },
        "status": {"phase": "Running"},
    }


class EvictionClient(DiscoveryClient):
    """A node with pods; evictions of the pods in ``guarded`` get 429, of ``gone`` 404."""

    def __init__(self, pods: list[dict[str, Any]], guarded: set[str], gone: set[str] = frozenset()) -> None:
        super().__init__([{"name": "pods/eviction", "group": "policy", "version": "v1"}])
        self.pods = pods
        self.guarded = guarded
        self.gone = gone
        self.evictions: list[tuple[str, dict[str, Any]]] = []
        self.node: dict[str, Any] = {"metadata": {"name": "worker-1"}, "spec": {}}

    def get(self, api_version: str, kind: str, name: str, namespace: Optional[str] = None) -> dict[str, Any]:
        return self.node

    def list(self, api_version: str, kind: str, namespace: Optional[str] = None, **selectors: Any) -> dict[str, Any]:
        assert selectors == {"field_selector": {"spec.nodeName": "worker-1"}}
        return {"items": self.pods}

    def merge_patch(self, api_version: str, kind: str, name: str, patch: dict[str, Any], **options: Any) -> None:
        self.node["spec"].update(patch["spec"])

    def create_subresource(
        self, api_version: str, kind: str, name: str, body: dict[str, Any], namespace: str, **options: Any
    ) -> dict[str, Any]:
        assert options == {"subresource": "eviction"}
        self.evictions.append((name, body))
        if name in self.gone:
            raise ApiError("POST", "/x", 404, "NotFound", f'pods "{name}" not found')
        if name in self.guarded:
            raise ApiError(
                "POST",
                "/x",
                429,
                "TooManyRequests",
                "Cannot evict pod as it would violate the pod's disruption budget.",
                causes=("The disruption budget guard needs 1 healthy pods and has 1 currently",),
            )
        return {}


def drainer(client: EvictionClient, clock: Clock, monkeypatch: pytest.MonkeyPatch, **overrides: Any) -> Drainer:
    monkeypatch.setattr(drain.time, "sleep", clock.sleep)
    monkeypatch.setattr(Drainer, "_wait_gone", lambda self, pods: None)  # the waiter has its own tests
    settings = {
        "timeout": 10,
        "grace_period": 0,
        "force": False,
        "delete_emptydir_data": False,
        "delete_node": False,
        "check_mode": False,
        **overrides,
    }
    return Drainer(client, "worker-1", DrainOptions(**settings), clock)  # type: ignore[arg-type]


def test_a_refused_eviction_is_retried_until_the_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    client = EvictionClient([pod("free"), pod("guarded")], guarded={"guarded"})
    clock = Clock()
    with pytest.raises(DrainFailed) as raised:
        drainer(client, clock, monkeypatch).drain()

    assert str(raised.value) == (
        "node worker-1 is cordoned, but gave up evicting after 10s: pod default/guarded: Cannot evict pod as it "
        "would violate the pod's disruption budget. (The disruption budget guard needs 1 healthy pods and has 1 "
        "currently)"
    )
    report = raised.value.report
    assert report.changed is True
    assert report.evicted == ["default/free"]
    # Every EVICTION_RETRY_PAUSE seconds, and once more at the deadline.
    attempts = [name for name, _body in client.evictions if name == "guarded"]
    assert len(attempts) == 6
    assert clock.now == 10
    assert client.evictions[0][1] == {
        "apiVersion": "policy/v1",
        "kind": "Eviction",
        "metadata": {"name": "free", "namespace": "default"},
        "deleteOptions": {"gracePeriodSeconds": 0},
    }


def test_an_eviction_that_goes_through_later(monkeypatch: pytest.MonkeyPatch) -> None:
    client = EvictionClient([pod("guarded")], guarded={"guarded"})
    clock = Clock()
    original = client.create_subresource

    def budget_frees_up(*args: Any, **kwargs: Any) -> dict[str, Any]:
        if clock.now >= 4:
            client.guarded = set()
        return original(*args, **kwargs)

    client.create_subresource = budget_frees_up  # type: ignore[method-assign]
    report = drainer(client, clock, monkeypatch).drain()
    assert report.evicted == ["default/guarded"]
    assert clock.now == 4


def test_a_pod_gone_before_its_eviction_is_not_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    client = EvictionClient([pod("web"), pod("vanished")], guarded=set(), gone={"vanished"})
    report = drainer(client, Clock(), monkeypatch, grace_period=None).drain()
    assert report.evicted == ["default/web"]
    assert "deleteOptions" not in client.evictions[0][1]  # each pod's own grace period


def test_check_mode_evicts_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    client = EvictionClient([pod("web")], guarded=set())
    calls: list[dict[str, Any]] = []
    client.merge_patch = lambda *args, **options: calls.append(options)  # type: ignore[method-assign]
    report = drainer(client, Clock(), monkeypatch, check_mode=True).drain()
    assert report.changed is True
    assert report.evicted == ["default/web"]
    assert client.evictions == []
    assert calls == [{"dry_run": True}]


def test_pods_gone_before_their_eviction_change_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    client = EvictionClient([pod("vanished")], guarded=set(), gone={"vanished"})
    client.node["spec"]["unschedulable"] = True
    report = drainer(client, Clock(), monkeypatch).drain()
    assert report.changed is False
    assert report.evicted == []


def test_evictions_before_a_timeout_count_as_changes(monkeypatch: pytest.MonkeyPatch) -> None:
    client = EvictionClient([pod("free"), pod("guarded")], guarded={"guarded"})
    client.node["spec"]["unschedulable"] = True  # cordoned before: only the eviction changes something
    with pytest.raises(DrainFailed) as raised:
        drainer(client, Clock(), monkeypatch).drain()
    assert raised.value.report.changed is True
    assert raised.value.report.evicted == ["default/free"]
