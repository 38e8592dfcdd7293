"""The waiter's event handling with a scripted client (plugins/module_utils/_k8s/waiter.py).

What the real API server cannot be made to do on demand (a 410 in the middle of a wait, a
bookmark, a stream that ends early) is scripted here; tests/integration/k8s covers the rest.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Optional, Union

import pytest

from ansible_collections.gardener.autonomous.plugins.module_utils._k8s import waiter as waiter_module
from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.client import Resource
from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.errors import (
    ApiUnreachable,
    KubeError,
    ResourceExpired,
)
from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.predicates import (
    FAILED,
    READY,
    WAIT,
    Predicate,
    Verdict,
    absent,
)
from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.waiter import Waiter, WaitResult, WaitTimeout

Event = tuple[str, dict[str, Any]]


def obj(version: str, phase: str) -> dict[str, Any]:
    return {"metadata": {"name": "x", "namespace": "ns", "resourceVersion": version}, "phase": phase}


def bookmark(version: str) -> Event:
    return ("BOOKMARK", {"metadata": {"resourceVersion": version}})


def phase_predicate(target: Optional[dict[str, Any]]) -> Verdict:
    phase = target["phase"] if target else "absent"
    if phase == "done":
        return Verdict(READY)
    if phase == "broken":
        return Verdict(FAILED, "it broke")
    return Verdict(WAIT, f"phase is {phase}")


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class ScriptedClient:
    """Answers list() from ``reads`` and watch() from ``watches``, in order; records the calls.

    A watch script is a list of events (then the server closes the stream) or an exception to
    raise. Once the scripts are used up, watches stay quiet until their time is up.
    """

    def __init__(
        self,
        clock: Clock,
        reads: list[tuple[Optional[dict[str, Any]], str]],
        watches: list[Union[list[Event], Exception]],
    ) -> None:
        self.clock = clock
        self.reads = reads
        self.watches = watches
        self.calls: list[tuple[str, Any]] = []

    def resource_for(self, api_version: str, kind: str) -> Resource:
        return Resource(api_version, kind, "things", namespaced=True)

    def list(self, api_version: str, kind: str, namespace: Optional[str], *, field_selector: Any) -> dict[str, Any]:
        self.calls.append(("list", field_selector))
        item, version = self.reads.pop(0)
        return {"metadata": {"resourceVersion": version}, "items": [item] if item else []}

    def watch(self, api_version: str, kind: str, namespace: Optional[str], **options: Any) -> Iterator[Event]:
        self.calls.append(("watch", options["resource_version"]))
        if not self.watches:
            self.clock.now += options["timeout"]
            return
        script = self.watches.pop(0)
        if isinstance(script, Exception):
            raise script
        yield from script


def wait(client: ScriptedClient, predicate: Predicate = phase_predicate, timeout: float = 60) -> WaitResult:
    return Waiter(client, predicate, clock=client.clock).wait("v1", "Thing", "x", "ns", timeout=timeout)


def test_ready_on_the_first_read_needs_no_watch() -> None:
    client = ScriptedClient(Clock(), reads=[(obj("5", "done"), "7")], watches=[])
    result = wait(client)
    assert (result.ok, result.object, result.reason) == (True, obj("5", "done"), "")
    assert client.calls == [("list", {"metadata.name": "x"})]


def test_failed_on_the_first_read_ends_at_once() -> None:
    client = ScriptedClient(Clock(), reads=[(obj("5", "broken"), "7")], watches=[])
    result = wait(client)
    assert (result.ok, result.reason) == (False, "it broke")
    assert [call[0] for call in client.calls] == ["list"]


def test_events_are_judged_until_ready_and_the_watch_starts_at_the_listed_version() -> None:
    client = ScriptedClient(
        Clock(),
        reads=[(obj("5", "pending"), "7")],
        watches=[[("MODIFIED", obj("8", "working")), ("MODIFIED", obj("9", "done")), ("MODIFIED", obj("10", "x"))]],
    )
    result = wait(client)
    assert result.ok
    assert result.object == obj("9", "done")  # the event that made it ready; later ones are not read
    assert client.calls == [("list", {"metadata.name": "x"}), ("watch", "7")]


def test_failed_event_ends_the_wait_with_the_reason() -> None:
    client = ScriptedClient(Clock(), reads=[(None, "7")], watches=[[("ADDED", obj("8", "broken"))]])
    result = wait(client)
    assert (result.ok, result.reason, result.object) == (False, "it broke", obj("8", "broken"))


def test_a_closed_stream_is_watched_again_from_the_last_version_seen() -> None:
    client = ScriptedClient(
        Clock(),
        reads=[(obj("5", "pending"), "7")],
        watches=[[("MODIFIED", obj("8", "working")), bookmark("12")], [("MODIFIED", obj("13", "done"))]],
    )
    assert wait(client, timeout=600).ok
    assert client.calls[1:] == [("watch", "7"), ("watch", "12")]


def test_a_bookmark_does_not_change_the_verdict() -> None:
    client = ScriptedClient(Clock(), reads=[(obj("5", "pending"), "7")], watches=[[bookmark("9")]])
    with pytest.raises(WaitTimeout) as timeout:
        wait(client, timeout=10)
    assert timeout.value.object == obj("5", "pending")
    assert timeout.value.reason == "phase is pending"


def test_expired_version_lists_again() -> None:
    expired = ResourceExpired("GET", "/api/v1/things", 410, "Expired", "too old resource version: 7 (42)")
    client = ScriptedClient(
        Clock(),
        reads=[(obj("5", "pending"), "7"), (obj("40", "working"), "42")],
        watches=[expired, [("MODIFIED", obj("43", "done"))]],
    )
    assert wait(client).ok
    assert [call[0] for call in client.calls] == ["list", "watch", "list", "watch"]
    assert client.calls[3] == ("watch", "42")


def test_deleted_event_means_absent() -> None:
    client = ScriptedClient(Clock(), reads=[(obj("5", "pending"), "7")], watches=[[("DELETED", obj("8", "pending"))]])
    result = wait(client, predicate=absent)
    assert (result.ok, result.object) == (True, None)


def test_timeout_reports_the_last_reason_and_object_and_elapsed_time() -> None:
    clock = Clock()
    client = ScriptedClient(clock, reads=[(obj("5", "pending"), "7")], watches=[[("MODIFIED", obj("8", "working"))]])
    with pytest.raises(WaitTimeout) as timeout:
        wait(client, timeout=30)
    assert (timeout.value.reason, timeout.value.object, timeout.value.elapsed) == (
        "phase is working",
        obj("8", "working"),
        30,
    )
    assert str(timeout.value) == "gave up waiting for Thing ns/x after 30.0s: phase is working"


def test_a_namespaced_kind_needs_a_namespace() -> None:
    client = ScriptedClient(Clock(), reads=[], watches=[])
    with pytest.raises(KubeError, match="Thing x is namespaced: a namespace is required"):
        Waiter(client, phase_predicate).wait("v1", "Thing", "x")
    assert client.calls == []


def test_zero_timeout_checks_once() -> None:
    client = ScriptedClient(Clock(), reads=[(obj("5", "pending"), "7")], watches=[])
    with pytest.raises(WaitTimeout):
        wait(client, timeout=0)
    assert [call[0] for call in client.calls] == ["list"]


def test_the_first_read_fails_fast_when_the_server_is_unreachable() -> None:
    class Unreachable(ScriptedClient):
        def list(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
            raise ApiUnreachable("https://api.test", ConnectionRefusedError("refused"))

    with pytest.raises(ApiUnreachable, match=r"https://api\.test"):
        wait(Unreachable(Clock(), reads=[], watches=[]))


def test_a_broken_watch_is_retried_and_a_final_timeout_names_the_connection_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = Clock()
    pauses: list[float] = []

    def pause(seconds: float) -> None:
        pauses.append(seconds)
        clock.now += seconds

    monkeypatch.setattr(waiter_module.time, "sleep", pause)
    unreachable = ApiUnreachable("https://api.test", ConnectionResetError("reset by peer"))
    client = ScriptedClient(clock, reads=[(obj("5", "pending"), "7")], watches=[unreachable, unreachable])
    with pytest.raises(WaitTimeout) as timeout:
        wait(client, timeout=1.0)
    assert pauses == [0.5, 0.5]
    assert timeout.value.reason == (
        "phase is pending (last attempt: cannot reach the Kubernetes API server https://api.test: reset by peer)"
    )
