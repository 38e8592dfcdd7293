"""Gardener's extension contract (gardenadm.md section 3.3), the way gardener's extension library
implements it for every kind, around an actuator that does the kind's work:

- which operation an object asks for (gardener's ComputeOperationType and ShouldSkipOperation); a
  migrated object is left alone until a restore is requested;
- reconcile (Create, Reconcile): add the finalizer and remove ``gardener.cloud/operation: reconcile``
  at the start, lastOperation Processing, the work, then observedGeneration, lastOperation Succeeded
  (progress 100, lastUpdateTime now) and no lastError; a failure writes lastError {description, codes,
  lastUpdateTime} and lastOperation Error (progress 50), and the controller retries later;
- restore: the same, adopting what exists, with the annotation removed at the end;
- migrate: keep every resource, lastOperation Migrate Succeeded, remove the finalizer, then the
  annotation;
- deletion: delete the resources, lastOperation Delete Succeeded, remove the finalizer.

Fault injection for tests: ``local.extensions.gardener.cloud/fail: "<CODE>:<description>"`` makes the
next reconcile fail with that lastError (the extension removes the annotation when it takes it);
``local.extensions.gardener.cloud/delay: "<seconds>"`` sleeps that long before a reconcile finishes.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable, NoReturn, Optional, Protocol

from ansible_collections.gardener.autonomous.plugins.module_utils._gardener.extensions import OPERATION_ANNOTATION
from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.client import KubeClient
from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.timestamps import format_rfc3339

API_VERSION = "extensions.gardener.cloud/v1alpha1"
PROVIDER_API_VERSION = "local.provider.extensions.gardener.cloud/v1alpha1"
EXTENSION_TYPE = "local"
FINALIZER = "extensions.gardener.cloud/local"
FAIL_ANNOTATION = "local.extensions.gardener.cloud/fail"
DELAY_ANNOTATION = "local.extensions.gardener.cloud/delay"
FIELD_MANAGER = "local-extension"
CONFIGURATION_PROBLEM = "ERR_CONFIGURATION_PROBLEM"

KubeObject = dict[str, Any]
log = logging.getLogger(__name__)


class ReconcileError(Exception):
    """A failure the object's lastError reports: ``description`` and gardener error ``codes``."""

    def __init__(self, description: str, *codes: str) -> None:
        super().__init__(description, *codes)
        self.description = description
        self.codes = list(codes)

    def __str__(self) -> str:
        return self.description + (f" ({', '.join(self.codes)})" if self.codes else "")


@dataclass(frozen=True)
class Cluster:
    """The ``Cluster`` resource named after the namespace: the Shoot the objects belong to, and its CloudProfile."""

    shoot: Mapping[str, Any]
    cloud_profile: Mapping[str, Any]

    def networking(self, key: str) -> str:
        value = ((self.shoot.get("spec") or {}).get("networking") or {}).get(key)
        if not value:
            raise ReconcileError(
                f"the Shoot in the Cluster resource has no spec.networking.{key}", CONFIGURATION_PROBLEM
            )
        return value

    @property
    def dns_domain(self) -> str:
        domain = ((self.shoot.get("spec") or {}).get("dns") or {}).get("domain")
        if not domain:
            raise ReconcileError("the Shoot in the Cluster resource has no spec.dns.domain", CONFIGURATION_PROBLEM)
        return domain

    @property
    def control_plane_pool(self) -> Optional[str]:
        """The name of the Shoot's worker pool with ``controlPlane`` set, if any."""
        workers = ((self.shoot.get("spec") or {}).get("provider") or {}).get("workers") or []
        return next((pool["name"] for pool in workers if pool.get("controlPlane") is not None), None)

    def machine_type(self, name: str) -> Mapping[str, Any]:
        """The CloudProfile's entry for a machine type (cpu, gpu, memory ...); empty when it has none."""
        types = (self.cloud_profile.get("spec") or {}).get("machineTypes") or []
        return next((entry for entry in types if entry.get("name") == name), {})


class Actuator(Protocol):
    kind: str

    def reconcile(self, client: KubeClient, obj: KubeObject, cluster: Cluster) -> dict[str, Any]:
        """Creates or adopts what ``obj`` describes; returns the status fields of the kind."""

    def delete(self, client: KubeClient, obj: KubeObject) -> None:
        """Removes what belongs to ``obj``; finds it without the Cluster, which may be gone already."""


@dataclass(frozen=True)
class Request:
    kind: str
    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}"


def is_local(obj: Mapping[str, Any]) -> bool:
    return (obj.get("spec") or {}).get("type") == EXTENSION_TYPE


def operation_type(obj: Mapping[str, Any]) -> str:
    """Gardener's ComputeOperationType."""
    metadata = obj["metadata"]
    requested = (metadata.get("annotations") or {}).get(OPERATION_ANNOTATION)
    last = (obj.get("status") or {}).get("lastOperation")
    if requested == "migrate":
        return "Migrate"
    if metadata.get("deletionTimestamp"):
        return "Delete"
    if requested == "restore":
        return "Restore"
    if last is None:
        return "Create"
    if last.get("type") in ("Create", "Migrate", "Restore") and last.get("state") != "Succeeded":
        return last["type"]
    return "Reconcile"


def is_migrated(obj: Mapping[str, Any]) -> bool:
    last = (obj.get("status") or {}).get("lastOperation") or {}
    return (last.get("type"), last.get("state")) == ("Migrate", "Succeeded")


def wanted_operation(obj: Mapping[str, Any]) -> Optional[str]:
    """What to do now, or None when the object is at rest, migrated, waiting for state or not ours."""
    if not is_local(obj):
        return None
    operation = operation_type(obj)
    metadata = obj["metadata"]
    requested = (metadata.get("annotations") or {}).get(OPERATION_ANNOTATION)
    if operation not in ("Migrate", "Restore") and is_migrated(obj):
        return None
    if operation == "Delete":
        return operation if FINALIZER in (metadata.get("finalizers") or []) else None
    if operation in ("Migrate", "Restore"):
        return operation
    if requested == "wait-for-state":
        return None
    status = obj.get("status") or {}
    last = status.get("lastOperation") or {}
    pending = (
        requested == "reconcile"
        or last.get("state") != "Succeeded"
        or status.get("observedGeneration") != metadata.get("generation")
    )
    return operation if pending else None


def worth_queueing(event_type: str, obj: Mapping[str, Any], previous_generation: Optional[int]) -> bool:
    """Gardener's event filters: an object that appears (the first list, a new object) when it wants an
    operation; a change only when it asks for one (operation annotation, deletion) or when its spec
    changed (the generation). The status changes of our own work pass none of them."""
    if not is_local(obj):
        return False
    if event_type == "ADDED":
        return wanted_operation(obj) is not None
    metadata = obj["metadata"]
    requested = (metadata.get("annotations") or {}).get(OPERATION_ANNOTATION)
    return (
        requested in ("reconcile", "migrate", "restore")
        or bool(metadata.get("deletionTimestamp"))
        or metadata.get("generation") != previous_generation
    )


class Reconciler:
    """Runs one operation on one object and writes its outcome; raises ReconcileError after writing it
    (the caller retries later). ``sleep`` is injectable for tests."""

    def __init__(self, actuators: Mapping[str, Actuator], sleep: Callable[[float], None] = time.sleep) -> None:
        self._actuators = actuators
        self._sleep = sleep

    def handle(self, client: KubeClient, request: Request) -> None:
        obj = client.get(API_VERSION, request.kind, request.name, request.namespace)
        operation = wanted_operation(obj) if obj else None
        if operation is None:
            return
        log.info("%s: %s", request, operation)
        steps = {"Migrate": self._migrate, "Delete": self._delete, "Restore": self._restore}
        steps.get(operation, self._reconcile)(client, obj, operation)

    def _reconcile(self, client: KubeClient, obj: KubeObject, operation: str) -> None:
        obj, failure = self._take_request(client, obj)
        obj = self._processing(client, obj, operation, f"Reconciling the {obj['kind']}")
        fields = self._work(client, obj, operation, failure)
        self._succeeded(client, obj, operation, fields)

    def _restore(self, client: KubeClient, obj: KubeObject, operation: str) -> None:
        obj, failure = self._take_request(client, obj, keep_operation=True)
        obj = self._processing(client, obj, operation, f"Restoring the {obj['kind']}")
        fields = self._work(client, obj, operation, failure)
        obj = self._metadata(client, obj, {"annotations": {OPERATION_ANNOTATION: None}})
        self._succeeded(client, obj, operation, fields)

    def _migrate(self, client: KubeClient, obj: KubeObject, operation: str) -> None:
        # Every resource stays: the machines now belong to the cluster that takes over.
        obj = self._processing(client, obj, operation, f"Migrating the {obj['kind']}")
        obj = self._succeeded(client, obj, operation, {})
        obj = self._metadata(client, obj, {"finalizers": without_finalizer(obj)})
        self._metadata(client, obj, {"annotations": {OPERATION_ANNOTATION: None}})

    def _delete(self, client: KubeClient, obj: KubeObject, operation: str) -> None:
        obj = self._processing(client, obj, operation, f"Deleting the {obj['kind']}")
        try:
            self._actuators[obj["kind"]].delete(client, obj)
        except Exception as error:
            self._fail(client, obj, operation, error)
        obj = self._succeeded(client, obj, operation, {})
        self._metadata(client, obj, {"finalizers": without_finalizer(obj)})

    def _take_request(
        self, client: KubeClient, obj: KubeObject, *, keep_operation: bool = False
    ) -> tuple[KubeObject, Optional[ReconcileError]]:
        """Adds the finalizer, removes the reconcile request and takes an injected failure, in one patch."""
        annotations = obj["metadata"].get("annotations") or {}
        changes: dict[str, Any] = {}
        finalizers = obj["metadata"].get("finalizers") or []
        if FINALIZER not in finalizers:
            changes["finalizers"] = [*finalizers, FINALIZER]
        removed = [FAIL_ANNOTATION] if FAIL_ANNOTATION in annotations else []
        if OPERATION_ANNOTATION in annotations and not keep_operation:
            removed.append(OPERATION_ANNOTATION)
        if removed:
            changes["annotations"] = dict.fromkeys(removed)
        failure = injected_failure(annotations.get(FAIL_ANNOTATION))
        return (self._metadata(client, obj, changes) if changes else obj), failure

    def _work(
        self, client: KubeClient, obj: KubeObject, operation: str, failure: Optional[ReconcileError]
    ) -> dict[str, Any]:
        try:
            cluster = read_cluster(client, obj["metadata"]["namespace"])
            fields = {} if failure else self._actuators[obj["kind"]].reconcile(client, obj, cluster)
            self._sleep(injected_delay(obj))
            if failure:
                raise failure
        except Exception as error:
            self._fail(client, obj, operation, error)
        return fields

    def _succeeded(self, client: KubeClient, obj: KubeObject, operation: str, fields: Mapping[str, Any]) -> KubeObject:
        done = {"Delete": "deleted", "Migrate": "migrated", "Restore": "restored"}.get(operation, "reconciled")
        status = {
            **fields,
            "observedGeneration": obj["metadata"]["generation"],
            "lastOperation": last_operation(operation, "Succeeded", 100, f"Successfully {done} the {obj['kind']}"),
            "lastError": None,
        }
        log.info(
            "%s %s/%s: %s succeeded", obj["kind"], obj["metadata"]["namespace"], obj["metadata"]["name"], operation
        )
        return self._status(client, obj, status)

    def _fail(self, client: KubeClient, obj: KubeObject, operation: str, error: Exception) -> NoReturn:
        """Writes the failure into the status and raises it as a ReconcileError. Whatever the actuator
        raises is the object's failure (Docker, a rejected machine object ...), described as it is."""
        failure = error if isinstance(error, ReconcileError) else ReconcileError(f"{type(error).__name__}: {error}")
        now = format_rfc3339(datetime.now(timezone.utc))
        status = {
            "observedGeneration": obj["metadata"]["generation"],
            "lastOperation": last_operation(operation, "Error", 50, failure.description),
            "lastError": {"description": failure.description, "codes": failure.codes or None, "lastUpdateTime": now},
        }
        self._status(client, obj, status)
        metadata = obj["metadata"]
        log.warning("%s %s/%s: %s failed: %s", obj["kind"], metadata["namespace"], metadata["name"], operation, failure)
        raise failure from (None if failure is error else error)

    def _processing(self, client: KubeClient, obj: KubeObject, operation: str, description: str) -> KubeObject:
        return self._status(client, obj, {"lastOperation": last_operation(operation, "Processing", 1, description)})

    def _status(self, client: KubeClient, obj: KubeObject, fields: Mapping[str, Any]) -> KubeObject:
        metadata = obj["metadata"]
        return client.merge_patch(
            API_VERSION,
            obj["kind"],
            metadata["name"],
            {"status": dict(fields)},
            metadata["namespace"],
            subresource="status",
        )

    def _metadata(self, client: KubeClient, obj: KubeObject, changes: Mapping[str, Any]) -> KubeObject:
        """A merge patch that fails with 409 when the object changed since it was read: finalizers are
        a list, and a list in a merge patch replaces the whole list."""
        metadata = obj["metadata"]
        patch = {"metadata": {**changes, "resourceVersion": metadata["resourceVersion"]}}
        return client.merge_patch(API_VERSION, obj["kind"], metadata["name"], patch, metadata["namespace"])


def read_cluster(client: KubeClient, namespace: str) -> Cluster:
    cluster = client.get(API_VERSION, "Cluster", namespace)
    if cluster is None:
        raise ReconcileError(
            f"there is no Cluster resource {namespace} (named after the namespace)", CONFIGURATION_PROBLEM
        )
    spec = cluster.get("spec") or {}
    return Cluster(spec.get("shoot") or {}, spec.get("cloudProfile") or {})


def last_operation(operation: str, state: str, progress: int, description: str) -> dict[str, Any]:
    return {
        "type": operation,
        "state": state,
        "progress": progress,
        "description": description,
        "lastUpdateTime": format_rfc3339(datetime.now(timezone.utc)),
    }


def without_finalizer(obj: Mapping[str, Any]) -> list[str]:
    return [name for name in obj["metadata"].get("finalizers") or [] if name != FINALIZER]


def injected_failure(value: Optional[str]) -> Optional[ReconcileError]:
    if value is None:
        return None
    code, _, description = value.partition(":")
    codes = [code.strip()] if code.strip() else []
    return ReconcileError(description.strip() or f"failure injected by {FAIL_ANNOTATION}", *codes)


def injected_delay(obj: Mapping[str, Any]) -> float:
    value = (obj["metadata"].get("annotations") or {}).get(DELAY_ANNOTATION)
    if value is None:
        return 0.0
    try:
        return max(0.0, float(value))
    except ValueError:
        raise ReconcileError(
            f"{DELAY_ANNOTATION} must be a number of seconds, not {value!r}", CONFIGURATION_PROBLEM
        ) from None
