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


def exists(obj: Optional[Mapping[str, Any]]) -> Verdict:
    return Verdict(READY) if obj is not None else Verdict(WAIT, "the object does not exist")


def _generation_observed(obj: Mapping[str, Any]) -> Optional[Verdict]:
    """WAIT while the controller has not seen the latest spec: its status would describe an older one."""
    generation = (obj.get("metadata") or {}).get("generation") or 0
    observed = (obj.get("status") or {}).get("observedGeneration") or 0
    if observed < generation:
        return Verdict(WAIT, f"the controller has not observed generation {generation} yet (observed: {observed})")
    return None


def deployment_ready(obj: Optional[Mapping[str, Any]]) -> Verdict:
    """Rolled out as ``kubectl rollout status`` judges it; a passed progress deadline is FAILED."""
    if obj is None:
        return Verdict(WAIT, "the deployment does not exist")
    pending = _generation_observed(obj)
    if pending:
        return pending
    progressing = condition(obj, "Progressing")
    if progressing and progressing.get("reason") == "ProgressDeadlineExceeded":
        return Verdict(FAILED, f"progress deadline exceeded: {progressing.get('message') or 'no message'}")
    rolling = _deployment_rolling(obj.get("status") or {}, (obj.get("spec") or {}).get("replicas", 1))
    return Verdict(WAIT, rolling) if rolling else Verdict(READY)


def _deployment_rolling(status: Mapping[str, Any], desired: int) -> str:
    """What the rollout still waits for; empty when done."""
    updated = status.get("updatedReplicas") or 0
    if updated < desired:
        return f"{updated} of {desired} replicas updated"
    old = (status.get("replicas") or 0) - updated
    if old > 0:
        return f"{old} old replicas pending termination"
    available = status.get("availableReplicas") or 0
    if available < updated:
        return f"{available} of {updated} updated replicas available"
    return ""


def daemonset_ready(obj: Optional[Mapping[str, Any]]) -> Verdict:
    """Rolled out as ``kubectl rollout status`` judges it; with OnDelete pods are only replaced when
    deleted, so only availability counts."""
    if obj is None:
        return Verdict(WAIT, "the daemonset does not exist")
    pending = _generation_observed(obj)
    if pending:
        return pending
    status = obj.get("status") or {}
    desired = status.get("desiredNumberScheduled") or 0
    strategy = ((obj.get("spec") or {}).get("updateStrategy") or {}).get("type", "RollingUpdate")
    updated = status.get("updatedNumberScheduled") or 0
    if strategy == "RollingUpdate" and updated < desired:
        return Verdict(WAIT, f"{updated} of {desired} pods updated")
    available = status.get("numberAvailable") or 0
    if available < desired:
        return Verdict(WAIT, f"{available} of {desired} pods available")
    return Verdict(READY)


def crd_established(obj: Optional[Mapping[str, Any]]) -> Verdict:
    """Established means served; names the API rejected (NamesAccepted False) never will be."""
    if obj is None:
        return Verdict(WAIT, "the custom resource definition does not exist")
    established = condition(obj, "Established")
    if established and established.get("status") == "True":
        return Verdict(READY)
    names = condition(obj, "NamesAccepted")
    if names and names.get("status") == "False":
        return Verdict(
            FAILED, f"names not accepted: {names.get('message') or names.get('reason') or 'no reason given'}"
        )
    return Verdict(WAIT, "not Established yet")


# What "ready" means per kind (kubernetes.core keeps the same kind of registry); any other kind is
# ready when it exists.
READY_PREDICATES: Dict[str, Predicate] = {
    "Node": node_ready,
    "Deployment": deployment_ready,
    "DaemonSet": daemonset_ready,
    "CustomResourceDefinition": crd_established,
}


def ready_predicate(kind: str) -> Predicate:
    return READY_PREDICATES.get(kind, exists)
