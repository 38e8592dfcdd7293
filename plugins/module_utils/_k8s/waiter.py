# Copyright (c) 2026 gardener.autonomous contributors
# Apache License 2.0 (see LICENSE)
# Note that this module util is PRIVATE to the collection. It can have breaking changes at any time.
"""Waits for one object to satisfy a predicate, driven by watch events rather than polling.

The object is read once (a list by name, which also gives a resourceVersion when it does not
exist yet), then watched from that version; each event is judged at once, so a change is seen
within milliseconds. A predicate's FAILED ends the wait at once.
"""

from __future__ import annotations

import time
from contextlib import closing
from typing import Any, Callable, Dict, Mapping, NamedTuple, Optional, Tuple

from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.client import KubeClient
from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.errors import (
    ApiUnreachable,
    KubeError,
    ResourceExpired,
)
from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.predicates import READY, WAIT, Predicate, Verdict

DEFAULT_TIMEOUT = 120.0
RETRY_PAUSE = 0.5  # between attempts to re-watch after the connection broke


class WaitResult(NamedTuple):
    ok: bool  # False: the predicate answered FAILED
    object: Optional[Dict[str, Any]]  # the last seen state; None when absent
    elapsed: float
    reason: str  # why it failed; empty when ok


class WaitTimeout(KubeError):
    """The predicate was still WAIT when the time was up."""

    def __init__(self, target: str, reason: str, last_seen: Optional[Dict[str, Any]], elapsed: float) -> None:
        super().__init__(target, reason, last_seen, elapsed)
        self.target = target
        self.reason = reason
        self.object = last_seen
        self.elapsed = elapsed

    def __str__(self) -> str:
        return f"gave up waiting for {self.target} after {self.elapsed:.1f}s: {self.reason}"


class _Target(NamedTuple):
    api_version: str
    kind: str
    name: str
    namespace: Optional[str]

    def __str__(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}" if self.namespace else f"{self.kind} {self.name}"


class Waiter:
    """Holds the client and the predicate; ``clock`` is injectable for tests (monotonic seconds)."""

    def __init__(self, client: KubeClient, predicate: Predicate, clock: Callable[[], float] = time.monotonic) -> None:
        self._client = client
        self._predicate = predicate
        self._clock = clock

    def wait(
        self,
        api_version: str,
        kind: str,
        name: str,
        namespace: Optional[str] = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> WaitResult:
        """Returns once the predicate says READY (ok) or FAILED (not ok); raises WaitTimeout otherwise.

        The first read fails fast (wrong server, credentials, kind); a watch that breaks later is
        re-opened until the deadline, as the API server may restart meanwhile.
        """
        if self._client.resource_for(api_version, kind).namespaced and not namespace:
            # Listing by name across all namespaces could find someone else's object.
            raise KubeError(f"{kind} {name} is namespaced: a namespace is required")
        started = self._clock()
        deadline = started + timeout
        target = _Target(api_version, kind, name, namespace)
        obj, version = self._read(target)
        verdict = self._predicate(obj)
        unreachable: Optional[ApiUnreachable] = None
        while verdict.state == WAIT:
            remaining = deadline - self._clock()
            if remaining <= 0:
                reason = f"{verdict.reason} (last attempt: {unreachable})" if unreachable else verdict.reason
                raise WaitTimeout(str(target), reason, obj, self._clock() - started)
            try:
                if version is None:
                    obj, version = self._read(target)
                    verdict = self._predicate(obj)
                else:
                    obj, version, verdict = self._follow(target, obj, version, verdict, deadline)
                unreachable = None
            except ResourceExpired:
                version = None  # the watch window moved past our version: list again
            except ApiUnreachable as error:
                unreachable = error
                time.sleep(min(RETRY_PAUSE, remaining))
        return WaitResult(verdict.state == READY, obj, self._clock() - started, verdict.reason)

    def _read(self, target: _Target) -> Tuple[Optional[Dict[str, Any]], str]:
        listing = self._client.list(
            target.api_version, target.kind, target.namespace, field_selector={"metadata.name": target.name}
        )
        items = listing.get("items") or []
        obj = items[0] if items else None
        return obj, listing["metadata"]["resourceVersion"]

    def _follow(
        self,
        target: _Target,
        obj: Optional[Dict[str, Any]],
        version: str,
        verdict: Verdict,
        deadline: float,
    ) -> Tuple[Optional[Dict[str, Any]], str, Verdict]:
        """Judges watch events until the verdict is not WAIT, the deadline passes or the stream ends."""
        events = self._client.watch(
            target.api_version,
            target.kind,
            target.namespace,
            resource_version=version,
            field_selector={"metadata.name": target.name},
            timeout=deadline - self._clock(),
        )
        with closing(events):
            for event_type, event_object in events:
                version = _resource_version(event_object) or version
                if event_type != "BOOKMARK":
                    obj = None if event_type == "DELETED" else event_object
                    verdict = self._predicate(obj)
                if verdict.state != WAIT or self._clock() >= deadline:
                    break
        return obj, version, verdict


def _resource_version(obj: Mapping[str, Any]) -> Optional[str]:
    return (obj.get("metadata") or {}).get("resourceVersion")
