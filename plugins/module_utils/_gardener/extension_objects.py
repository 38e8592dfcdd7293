# Copyright (c) 2026 gardener.autonomous contributors
# Apache License 2.0 (see LICENSE)
# Note that this module util is PRIVATE to the collection. It can have breaking changes at any time.
"""Declares one Gardener extension object (Infrastructure, Worker, Bastion ...) the way gardenlet and
gardenadm deploy it, and waits until its extension controller has acted.

- present: server-side apply of the spec; only a new object, a changed spec or a forced reconcile gets
  the ``gardener.cloud/operation: reconcile`` annotation and a new timestamp, so that a rerun against
  an unchanged, ready object changes nothing.
- absent: confirm the deletion (``confirmation.gardener.cloud/deletion``, which gardener's deletion
  protection asks for) and delete; the extension removes its finalizer when it has cleaned up.
- migrated: annotate ``gardener.cloud/operation: migrate`` and wait for ``lastOperation`` Migrate/Succeeded.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Dict, List, Mapping, Optional

from ansible_collections.gardener.autonomous.plugins.module_utils._gardener.extensions import (
    OPERATION_ANNOTATION,
    TIMESTAMP_ANNOTATION,
    extension_migrated,
    extension_ready,
    operation_annotations,
)
from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.client import (
    DEFAULT_FIELD_MANAGER,
    KubeClient,
    KubeObject,
)
from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.errors import ApiError, KindNotServed, KubeError
from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.predicates import (
    FAILED,
    WAIT,
    Predicate,
    Verdict,
    absent,
)
from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.timestamps import parse_rfc3339
from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.waiter import Waiter, WaitTimeout

EXTENSIONS_API_VERSION = "extensions.gardener.cloud/v1alpha1"
MACHINE_API_VERSION = "machine.sapcloud.io/v1alpha1"
DELETION_CONFIRMATION_ANNOTATION = "confirmation.gardener.cloud/deletion"
# Written by the API server, never declared: left out of comparisons, diffs and results.
SERVER_METADATA = ("uid", "resourceVersion", "generation", "creationTimestamp", "managedFields", "selfLink")
STATUS_KEYS = ("providerStatus", "state", "lastOperation", "lastError")


class ExtensionFailed(KubeError):
    """The extension reported an error, or did not finish in time; ``result`` is what is known so far."""

    def __init__(self, message: str, result: Dict[str, Any]) -> None:
        super().__init__(message)
        self.message = message
        self.result = result

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class Request:
    """What the task asks for (the module's options)."""

    kind: str
    namespace: str
    name: str
    state: str = "present"
    spec: Mapping[str, Any] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    force_reconcile: bool = False
    wait: bool = True
    wait_timeout: float = 600.0
    field_manager: str = DEFAULT_FIELD_MANAGER

    def __str__(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}"


@dataclass(frozen=True)
class _Change:
    changed: bool
    before: Optional[KubeObject]
    after: Optional[KubeObject]  # predicted by a dry run in check mode


def run(client: KubeClient, request: Request, *, now: datetime, check_mode: bool, diff: bool) -> Dict[str, Any]:
    """Brings the object to ``request.state`` and returns the module result; raises ExtensionFailed."""
    _check_annotations(request)
    if request.state == "present":
        change = _ensure_present(client, request, now=now, check_mode=check_mode)
    elif request.state == "absent":
        change = _ensure_absent(client, request, check_mode=check_mode)
    else:
        change = _ensure_migrated(client, request, now=now, check_mode=check_mode)
    result: Dict[str, Any] = {"changed": change.changed}
    if diff:
        result["diff"] = {"before": _declared(change.before), "after": _declared(change.after)}
    final = change.after
    if request.wait and not check_mode:
        final = _wait(client, request, result)
    if request.state != "absent":
        result.update(_describe(client, request, final))
    return result


def _check_annotations(request: Request) -> None:
    reserved = sorted({OPERATION_ANNOTATION, TIMESTAMP_ANNOTATION} & set(request.annotations))
    if reserved:
        raise KubeError(
            f"{request}: annotations must not set {', '.join(reserved)}; the module sets them "
            "(use force_reconcile or state=migrated)"
        )


# present


def _ensure_present(client: KubeClient, request: Request, *, now: datetime, check_mode: bool) -> _Change:
    existing = client.get(EXTENSIONS_API_VERSION, request.kind, request.name, request.namespace)
    if existing is not None and existing["metadata"].get("deletionTimestamp"):
        raise KubeError(
            f"{request} is being deleted (since {existing['metadata']['deletionTimestamp']}); "
            "it can be created again once the deletion has finished"
        )
    manifest = _manifest(request, existing)
    predicted = _apply(client, request, manifest, dry_run=True)
    dropped = _dropped_fields(manifest["spec"], predicted.get("spec") or {}, ".spec")
    if dropped:
        # Servers that cannot type a CRD's schema for server-side apply (a Worker on 1.20) or that only warn
        # about unknown fields (1.25+) prune them silently instead of rejecting the object.
        raise KubeError(f"{request}: {', '.join(dropped)}: field not declared in the {request.kind} schema")
    reconcile = existing is None or request.force_reconcile or existing.get("spec") != predicted.get("spec")
    if not reconcile and _comparable(existing) == _comparable(predicted):
        return _Change(False, existing, existing)
    if reconcile and existing is not None and _migrated(existing):
        # The extension leaves a migrated object alone: the wait could only time out.
        raise KubeError(
            f"{request} was migrated (lastOperation Migrate Succeeded), and an extension does not reconcile a "
            "migrated object; its state belongs to the cluster it moved to (delete the object to start anew)"
        )
    if reconcile:
        manifest["metadata"]["annotations"].update(operation_annotations("reconcile", now))
    return _Change(True, existing, _apply(client, request, manifest, dry_run=check_mode))


def _manifest(request: Request, existing: Optional[KubeObject]) -> Dict[str, Any]:
    """What the module applies. The operation annotations already on the object are applied again
    unchanged: left out, server-side apply would remove the ones this field manager set before, which
    would change the object on every run and could cancel a request the extension has not picked up."""
    current = ((existing or {}).get("metadata") or {}).get("annotations") or {}
    annotations = {key: current[key] for key in (OPERATION_ANNOTATION, TIMESTAMP_ANNOTATION) if key in current}
    annotations.update(request.annotations)
    metadata: Dict[str, Any] = {"name": request.name, "namespace": request.namespace, "annotations": annotations}
    if request.labels:
        metadata["labels"] = dict(request.labels)
    return {
        "apiVersion": EXTENSIONS_API_VERSION,
        "kind": request.kind,
        "metadata": metadata,
        "spec": copy.deepcopy(dict(request.spec)),
    }


def _apply(client: KubeClient, request: Request, manifest: Mapping[str, Any], *, dry_run: bool) -> KubeObject:
    try:
        # force: the module owns what it declares, as gardenlet owns the extension objects it deploys.
        return client.apply(manifest, field_manager=request.field_manager, force=True, dry_run=dry_run)
    except ApiError as error:
        if error.status in (400, 422, 500):  # schema and validation errors (1.20 answers 500 for unknown fields)
            raise KubeError(f"{request}: the API server rejected the object: {error.message}") from None
        raise


def _dropped_fields(sent: Any, kept: Any, path: str) -> List[str]:
    """The paths of fields in ``sent`` that the API server's answer ``kept`` no longer has."""
    if isinstance(sent, Mapping) and isinstance(kept, Mapping):
        missing = [f"{path}.{key}" for key in sent if key not in kept and sent[key] is not None]
        nested = [_dropped_fields(value, kept[key], f"{path}.{key}") for key, value in sent.items() if key in kept]
        return missing + [found for fields in nested for found in fields]
    if isinstance(sent, list) and isinstance(kept, list) and len(sent) == len(kept):
        nested = [_dropped_fields(item, kept[index], f"{path}[{index}]") for index, item in enumerate(sent)]
        return [found for fields in nested for found in fields]
    return []


def _comparable(obj: Optional[Mapping[str, Any]]) -> Optional[Dict[str, Any]]:
    if obj is None:
        return None
    return {**{key: value for key, value in obj.items() if key != "status"}, "metadata": _declared_metadata(obj)}


def _declared_metadata(obj: Mapping[str, Any]) -> Dict[str, Any]:
    return {key: value for key, value in (obj.get("metadata") or {}).items() if key not in SERVER_METADATA}


# absent


def _ensure_absent(client: KubeClient, request: Request, *, check_mode: bool) -> _Change:
    existing = client.get(EXTENSIONS_API_VERSION, request.kind, request.name, request.namespace)
    if existing is None:
        return _Change(False, None, None)
    if existing["metadata"].get("deletionTimestamp"):
        return _Change(False, existing, existing)  # requested before: only wait
    confirmation = {"metadata": {"annotations": {DELETION_CONFIRMATION_ANNOTATION: "true"}}}
    client.merge_patch(
        EXTENSIONS_API_VERSION, request.kind, request.name, confirmation, request.namespace, dry_run=check_mode
    )
    client.delete(EXTENSIONS_API_VERSION, request.kind, request.name, request.namespace, dry_run=check_mode)
    return _Change(True, existing, None)


# migrated


def _ensure_migrated(client: KubeClient, request: Request, *, now: datetime, check_mode: bool) -> _Change:
    existing = client.get(EXTENSIONS_API_VERSION, request.kind, request.name, request.namespace)
    if existing is None or _migrated(existing) or _pending_operation(existing) == "migrate":
        return _Change(False, existing, existing)
    patch = {"metadata": {"annotations": operation_annotations("migrate", now)}}
    after = client.merge_patch(
        EXTENSIONS_API_VERSION, request.kind, request.name, patch, request.namespace, dry_run=check_mode
    )
    return _Change(True, existing, after)


def _migrated(obj: Mapping[str, Any]) -> bool:
    last_operation = (obj.get("status") or {}).get("lastOperation") or {}
    return (last_operation.get("type"), last_operation.get("state")) == ("Migrate", "Succeeded")


def _pending_operation(obj: Mapping[str, Any]) -> Optional[str]:
    return ((obj.get("metadata") or {}).get("annotations") or {}).get(OPERATION_ANNOTATION)


# waiting


def ready_for_request(obj: Optional[Mapping[str, Any]]) -> Verdict:
    """Gardener's readiness rule, but a lastError older than the current request does not end the wait:
    after a new reconcile request the previous attempt's error stays in the status until the extension
    has tried again, and failing on it would make a failed object impossible to repair."""
    verdict = extension_ready(obj)
    if verdict.state == FAILED and obj is not None and _error_predates_request(obj):
        return Verdict(
            WAIT, f"the extension has not finished a new attempt yet; the last one ended in {verdict.reason}"
        )
    return verdict


def _error_predates_request(obj: Mapping[str, Any]) -> bool:
    """The lastError belongs to an earlier attempt: the extension has not picked up the request yet (the
    annotation is still there, or the new generation not observed), it is working on it (Processing), or
    it wrote the error before the request's timestamp. Times compare to the second, as in gardener's own
    check: metav1.Time keeps whole seconds, so an error from the same second as the request counts."""
    metadata = obj.get("metadata") or {}
    annotations = metadata.get("annotations") or {}
    status = obj.get("status") or {}
    if OPERATION_ANNOTATION in annotations or status.get("observedGeneration") != metadata.get("generation"):
        return True
    if (status.get("lastOperation") or {}).get("state") == "Processing":
        return True
    requested, failed = annotations.get(TIMESTAMP_ANNOTATION), status["lastError"].get("lastUpdateTime")
    try:
        return bool(requested and failed) and parse_rfc3339(failed) < parse_rfc3339(requested).replace(microsecond=0)
    except ValueError:
        return False


_WAIT_PREDICATES: Dict[str, Predicate] = {
    "present": ready_for_request,
    "absent": absent,
    "migrated": extension_migrated,
}
_GOALS = {"present": "ready", "absent": "gone", "migrated": "migrated"}


def _wait(client: KubeClient, request: Request, result: Dict[str, Any]) -> Optional[KubeObject]:
    waiter = Waiter(client, _WAIT_PREDICATES[request.state])
    try:
        outcome = waiter.wait(
            EXTENSIONS_API_VERSION, request.kind, request.name, request.namespace, timeout=request.wait_timeout
        )
    except WaitTimeout as error:
        failed = {**result, **_describe(client, request, error.object)}
        raise ExtensionFailed(
            f"{request} is not {_GOALS[request.state]} after {error.elapsed:.0f}s: {error.reason}", failed
        ) from None
    if not outcome.ok:
        failed = {**result, **_describe(client, request, outcome.object)}
        raise ExtensionFailed(f"{request} failed: {outcome.reason}", failed)
    return outcome.object


# results


def _describe(client: KubeClient, request: Request, obj: Optional[Mapping[str, Any]]) -> Dict[str, Any]:
    status = (obj or {}).get("status") or {}
    described: Dict[str, Any] = {
        "object": _without_managed_fields(obj),
        "status": {key: status.get(key) for key in STATUS_KEYS},
    }
    if request.kind == "Infrastructure":
        described["provider_status"] = status.get("providerStatus")
    elif request.kind == "Worker":
        described["machines"] = _machines(client, request.namespace)
        described["machine_deployments"] = status.get("machineDeployments") or []
    elif request.kind == "Bastion":
        ingress = status.get("ingress") or {}
        described["ingress"] = {key: ingress[key] for key in ("ip", "hostname") if ingress.get(key)}
    return described


def _machines(client: KubeClient, namespace: str) -> List[Dict[str, Any]]:
    """The machine-controller-manager's Machines in the namespace, sorted by name (none without its CRDs)."""
    try:
        items = client.list(MACHINE_API_VERSION, "Machine", namespace).get("items") or []
    except KindNotServed:
        return []
    described = [
        {
            "name": item["metadata"]["name"],
            "phase": ((item.get("status") or {}).get("currentStatus") or {}).get("phase"),
            "addresses": (item.get("status") or {}).get("addresses") or [],
            "node": (item["metadata"].get("labels") or {}).get("node"),
            "class_name": ((item.get("spec") or {}).get("class") or {}).get("name"),
        }
        for item in items
    ]
    return sorted(described, key=lambda machine: machine["name"])


def _without_managed_fields(obj: Optional[Mapping[str, Any]]) -> Optional[Dict[str, Any]]:
    if obj is None:
        return None
    metadata = {key: value for key, value in (obj.get("metadata") or {}).items() if key != "managedFields"}
    return {**obj, "metadata": metadata}


def _declared(obj: Optional[Mapping[str, Any]]) -> Dict[str, Any]:
    """The part of an object a diff shows: metadata without server fields, and spec."""
    if obj is None:
        return {}
    return {"metadata": _declared_metadata(obj), "spec": obj.get("spec") or {}}
