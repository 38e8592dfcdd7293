"""A thread that plays a Gardener extension controller for one kind in one namespace, on the real API.

It acts on what the modules request, as gardener's extension library does:

- ``gardener.cloud/operation: reconcile``: remove the annotation and add the finalizer, write lastOperation
  Processing (an earlier lastError stays), then the outcome: Succeeded (observedGeneration, lastOperation
  with lastUpdateTime now, kind-specific fields) or, for names in ``failing``, a lastError with codes.
- ``gardener.cloud/operation: migrate``: write lastOperation Migrate/Succeeded, remove the finalizer, then
  the annotation.
- a deletion: remove the finalizer, so that the object goes.

Objects named in ``ignored`` are left alone (an extension that is down). ``errors_written`` records when
each error was written (time.time()), ``deleted_with`` the annotations of each object it saw deleted.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from typing import Any, Optional

from support.apiserver import BootstrapApiserver
from support.objects import extension_status

from ansible_collections.gardener.autonomous.plugins.module_utils._gardener.extensions import OPERATION_ANNOTATION
from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.client import KubeClient
from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.errors import ApiError

API_VERSION = "extensions.gardener.cloud/v1alpha1"
FINALIZER = "extensions.gardener.cloud/local"
ERROR_CODES = ["ERR_INFRA_QUOTA_EXCEEDED", "ERR_CONFIGURATION_PROBLEM"]
ERROR_DESCRIPTION = "quota for vCPUs exceeded in region local"

# What each kind's controller reports besides the common status.
KIND_STATUS: dict[str, dict[str, Any]] = {
    "Infrastructure": {
        "providerStatus": {
            "apiVersion": "local.provider.extensions.gardener.cloud/v1alpha1",
            "kind": "InfrastructureStatus",
            "networks": {"nodes": "10.250.0.0/24"},
        }
    },
    "Worker": {"machineDeployments": [{"name": "shoot--garden--root-control-plane-z1", "minimum": 1, "maximum": 1}]},
    "Bastion": {"ingress": {"ip": "203.0.113.10"}},
}


class FakeExtension:
    def __init__(
        self,
        api: BootstrapApiserver,
        kind: str,
        namespace: str,
        *,
        failing: Iterable[str] = (),
        ignored: Iterable[str] = (),
        delay: float = 0.3,
    ) -> None:
        self.kind = kind
        self.namespace = namespace
        self.failing = set(failing)
        self.ignored = set(ignored)
        self.delay = delay  # before acting, so that the module is already waiting
        self.errors_written: dict[str, float] = {}
        self.deleted_with: dict[str, dict[str, str]] = {}
        self.problems: list[str] = []  # what went wrong in the thread, for the test to assert on
        self._api = api
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"fake-{kind}", daemon=True)

    def __enter__(self) -> FakeExtension:
        self._ready = threading.Event()
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError(f"the fake {self.kind} extension did not start watching")
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join(10)
        assert not self.problems, self.problems

    def _run(self) -> None:
        with self._api.new_client() as client:
            version = client.list(API_VERSION, self.kind, self.namespace)["metadata"]["resourceVersion"]
            self._ready.set()
            while not self._stop.is_set():
                for event_type, obj in client.watch(
                    API_VERSION, self.kind, self.namespace, resource_version=version, timeout=1
                ):
                    version = obj["metadata"].get("resourceVersion") or version
                    if event_type in ("ADDED", "MODIFIED"):
                        self._act(client, obj)
                    if self._stop.is_set():
                        return

    def _act(self, client: KubeClient, event_object: Mapping[str, Any]) -> None:
        if event_object["metadata"]["name"] in self.ignored:
            return
        # Like a controller, act on the object as it is now: the event may be older than our own writes.
        obj = client.get(API_VERSION, self.kind, event_object["metadata"]["name"], self.namespace)
        if obj is None:
            return
        metadata = obj["metadata"]
        operation = (metadata.get("annotations") or {}).get(OPERATION_ANNOTATION)
        try:
            if metadata.get("deletionTimestamp") and FINALIZER in (metadata.get("finalizers") or []):
                self.deleted_with[metadata["name"]] = dict(metadata.get("annotations") or {})
                time.sleep(self.delay)
                self._patch(client, metadata, {"metadata": {"finalizers": None}})
            elif operation == "reconcile":
                time.sleep(self.delay)
                self._reconcile(client, metadata)
            elif operation == "migrate":
                time.sleep(self.delay)
                self._patch(
                    client, metadata, extension_status("Succeeded", metadata["generation"], operation="Migrate")
                )
                self._patch(client, metadata, {"metadata": {"finalizers": None}})
                self._patch(client, metadata, {"metadata": {"annotations": {OPERATION_ANNOTATION: None}}})
        except ApiError as error:
            if error.status != 404:  # gone meanwhile: nothing to do
                self.problems.append(str(error))

    def _reconcile(self, client: KubeClient, metadata: Mapping[str, Any]) -> None:
        name = metadata["name"]
        self._patch(
            client, metadata, {"metadata": {"finalizers": [FINALIZER], "annotations": {OPERATION_ANNOTATION: None}}}
        )
        processing = {"type": "Reconcile", "state": "Processing", "progress": 1, "description": "Reconciling"}
        processing["lastUpdateTime"] = _seconds(datetime.now(timezone.utc))
        self._patch(client, metadata, {"status": {"lastOperation": processing}})
        if name in self.failing:
            now = datetime.now(timezone.utc)
            error = {"description": ERROR_DESCRIPTION, "codes": ERROR_CODES, "lastUpdateTime": _seconds(now)}
            self._patch(client, metadata, extension_status("Error", metadata["generation"], last_error=error))
            self.errors_written[name] = time.time()
            return
        status = extension_status("Succeeded", metadata["generation"], operation="Reconcile")
        status["status"].update(KIND_STATUS.get(self.kind, {}))
        self._patch(client, metadata, status)

    def _patch(self, client: KubeClient, metadata: Mapping[str, Any], patch: dict[str, Any]) -> None:
        subresource: Optional[str] = "status" if "status" in patch else None
        client.merge_patch(API_VERSION, self.kind, metadata["name"], patch, self.namespace, subresource=subresource)


def _seconds(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
