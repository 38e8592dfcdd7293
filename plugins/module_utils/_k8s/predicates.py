# Copyright (c) 2026 gardener.autonomous contributors
# Apache License 2.0 (see LICENSE)
# Note that this module util is PRIVATE to the collection. It can have breaking changes at any time.
"""Predicates for the waiter: pure functions of an object (None when it does not exist) to a Verdict."""

from __future__ import annotations

from typing import Any, Callable, Dict, Mapping, NamedTuple, Optional

READY = "READY"
WAIT = "WAIT"
FAILED = "FAILED"  # ends the wait at once: waiting longer would not help


class Verdict(NamedTuple):
    state: str  # READY, WAIT or FAILED
    reason: str = ""  # why it is not READY, for the user


Predicate = Callable[[Optional[Mapping[str, Any]]], Verdict]


def condition(obj: Mapping[str, Any], condition_type: str) -> Optional[Mapping[str, Any]]:
    """The ``status.conditions`` entry of that type, if any."""
    for entry in (obj.get("status") or {}).get("conditions") or []:
        if entry.get("type") == condition_type:
            return entry
    return None


def absent(obj: Optional[Mapping[str, Any]]) -> Verdict:
    if obj is None:
        return Verdict(READY)
    metadata = obj.get("metadata") or {}
    deletion = metadata.get("deletionTimestamp")
    if not deletion:
        return Verdict(WAIT, "the object still exists and is not being deleted")
    finalizers = metadata.get("finalizers") or []
    pending = f", finalizers pending: {', '.join(finalizers)}" if finalizers else ""
    return Verdict(WAIT, f"deletion requested at {deletion}{pending}")


def node_ready(obj: Optional[Mapping[str, Any]]) -> Verdict:
    if obj is None:
        return Verdict(WAIT, "the node is not registered")
    ready = condition(obj, "Ready")
    if ready is None:
        return Verdict(WAIT, "the node reports no Ready condition yet")
    if ready.get("status") == "True":
        return Verdict(READY)
    details = ": ".join(part for part in (ready.get("reason"), ready.get("message")) if part)
    return Verdict(WAIT, f"Ready is {ready.get('status')}" + (f" ({details})" if details else ""))


# What "ready" means per kind (kubernetes.core keeps the same kind of registry).
READY_PREDICATES: Dict[str, Predicate] = {"Node": node_ready}
