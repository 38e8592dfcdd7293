# Copyright (c) 2026 gardener.autonomous contributors
# Apache License 2.0 (see LICENSE)
# Note that this module util is PRIVATE to the collection. It can have breaking changes at any time.
"""Gardener extension objects (extensions.gardener.cloud): the operation annotations that ask a
controller to act, and the predicates that tell when it has (gardener's checkExtensionObject)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Dict, Mapping, Optional

from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.predicates import (
    FAILED,
    READY,
    WAIT,
    Predicate,
    Verdict,
)
from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.timestamps import (
    format_rfc3339,
    format_rfc3339_nano,
    parse_rfc3339,
)

OPERATION_ANNOTATION = "gardener.cloud/operation"
TIMESTAMP_ANNOTATION = "gardener.cloud/timestamp"
OPERATIONS = ("reconcile", "migrate", "restore", "wait-for-state")

# Kinds that carry the common extension status (lastOperation, lastError, observedGeneration).
# Cluster is not one of them: it has no status to wait for.
EXTENSION_KINDS = (
    "BackupBucket",
    "BackupEntry",
    "Bastion",
    "ContainerRuntime",
    "ControlPlane",
    "DNSRecord",
    "Extension",
    "Infrastructure",
    "Network",
    "OperatingSystemConfig",
    "SelfHostedShootExposure",
    "Worker",
)


def operation_annotations(operation: str, now: datetime) -> Dict[str, str]:
    """The annotations that request ``operation``, stamped with ``now`` (an aware datetime)."""
    if operation not in OPERATIONS:
        raise ValueError(f"unknown gardener operation {operation!r}, expected one of {', '.join(OPERATIONS)}")
    return {OPERATION_ANNOTATION: operation, TIMESTAMP_ANNOTATION: format_rfc3339_nano(now)}


def extension_ready(obj: Optional[Mapping[str, Any]]) -> Verdict:
    """Ready as gardener's checkExtensionObject decides, checked in the same order; lastError fails fast."""
    if obj is None:
        return Verdict(WAIT, "the object does not exist")
    status = obj.get("status") or {}
    if status.get("lastError"):
        return Verdict(FAILED, _describe_error(status["lastError"]))
    reason = _not_ready_reason(obj.get("metadata") or {}, status)
    return Verdict(WAIT, reason) if reason else Verdict(READY)


def _not_ready_reason(metadata: Mapping[str, Any], status: Mapping[str, Any]) -> Optional[str]:
    annotations = metadata.get("annotations") or {}
    generation, observed = metadata.get("generation", 0), status.get("observedGeneration", 0)
    if observed != generation:
        return f"observed generation outdated ({observed}/{generation})"
    if OPERATION_ANNOTATION in annotations:
        return f"gardener operation {annotations[OPERATION_ANNOTATION]!r} is not yet picked up"
    last_operation = status.get("lastOperation")
    if not last_operation:
        return "the extension did not record a last operation yet"
    if last_operation.get("state") != "Succeeded":
        return f"extension state is not Succeeded but {last_operation.get('state')}"
    if TIMESTAMP_ANNOTATION in annotations:
        return _outdated_reason(annotations[TIMESTAMP_ANNOTATION], last_operation)
    return None


def _describe_error(last_error: Mapping[str, Any]) -> str:
    codes = last_error.get("codes") or []
    suffix = f" (codes: {', '.join(codes)})" if codes else ""
    return f"error during reconciliation: {last_error.get('description', '')}{suffix}"


def _outdated_reason(timestamp: str, last_operation: Mapping[str, Any]) -> Optional[str]:
    """The last update must not be older than the requesting timestamp truncated to the second
    (metav1.Time, and so lastUpdateTime, keeps whole seconds only)."""
    try:
        requested = parse_rfc3339(timestamp).replace(microsecond=0)
    except ValueError as error:
        # Gardener keeps waiting as well: a new operation request brings a new timestamp.
        return f"cannot parse {TIMESTAMP_ANNOTATION} annotation: {error}"
    try:
        updated = parse_rfc3339(last_operation.get("lastUpdateTime"))
    except ValueError:
        return "the last operation has no valid lastUpdateTime"
    if updated < requested:
        return (
            f"extension is not reconciled yet: requested at {format_rfc3339(requested)}, "
            f"last update at {format_rfc3339_nano(updated)}"
        )
    return None


def extension_migrated(obj: Optional[Mapping[str, Any]]) -> Verdict:
    """The migrate operation finished: lastOperation Migrate/Succeeded and the annotation removed.

    An object that is gone has nothing left to migrate (as in gardener). A lastError does not end
    the wait: gardener keeps waiting too, as controllers retry a failed migration.
    """
    if obj is None:
        return Verdict(READY)
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    status = obj.get("status") or {}
    last_operation = status.get("lastOperation") or {}
    last_error = status.get("lastError")
    error_note = f"; {_describe_error(last_error)}" if last_error else ""
    if (last_operation.get("type"), last_operation.get("state")) != ("Migrate", "Succeeded"):
        progress = f"{last_operation.get('type')} {last_operation.get('state')}" if last_operation else "none"
        return Verdict(WAIT, f"migration not finished, last operation: {progress}{error_note}")
    if OPERATION_ANNOTATION in annotations:
        return Verdict(WAIT, f"gardener operation {annotations[OPERATION_ANNOTATION]!r} is not yet removed")
    return Verdict(READY)


# What "ready" means per extension kind, next to the generic registry in _k8s.predicates.
READY_PREDICATES: Dict[str, Predicate] = dict.fromkeys(EXTENSION_KINDS, extension_ready)
