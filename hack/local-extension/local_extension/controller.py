"""The controller: one watch per kind over every namespace (list, then watch from that version), a work
queue of object keys, and workers that run the contract for one key at a time. A failed operation is
retried with exponential backoff (1 s doubling up to 60 s), like controller-runtime's requeue."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.client import KubeClient
from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.errors import (
    ApiError,
    ApiUnreachable,
    ResourceExpired,
)
from local_extension.contract import API_VERSION, Actuator, ReconcileError, Reconciler, Request, worth_queueing
from local_extension.workqueue import WorkQueue

WATCH_SECONDS = 60.0
RELIST_PAUSE = 1.0  # after the API could not be reached
CONFLICT_RETRY = 0.1  # someone changed the object while we worked on it
FIRST_RETRY, LAST_RETRY = 1.0, 60.0
WORKERS = 4

log = logging.getLogger(__name__)


class Controller:
    def __init__(self, kubeconfig: Path, actuators: Mapping[str, Actuator]) -> None:
        self._kubeconfig = kubeconfig
        self._kinds = list(actuators)
        self._reconciler = Reconciler(actuators)
        self._queue = WorkQueue()
        self._failures: dict[Request, int] = {}
        self._failures_lock = threading.Lock()
        self._stop = threading.Event()
        self._workers: list[threading.Thread] = []

    def run(self, stop: threading.Event) -> None:
        """Until ``stop`` is set; an operation in progress is finished first."""
        for kind in self._kinds:
            threading.Thread(target=self._watch, args=(kind,), name=f"watch-{kind}", daemon=True).start()
        self._workers = [threading.Thread(target=self._work, name=f"worker-{n}") for n in range(WORKERS)]
        for worker in self._workers:
            worker.start()
        stop.wait()
        self._stop.set()
        self._queue.close()
        for worker in self._workers:
            worker.join()

    def _client(self) -> KubeClient:
        return KubeClient.from_kubeconfig(str(self._kubeconfig))

    def _watch(self, kind: str) -> None:
        generations: dict[Request, int] = {}  # as last seen, to tell spec changes from status changes
        with self._client() as client:
            while not self._stop.is_set():
                try:
                    version = self._list(client, kind, generations)
                    while not self._stop.is_set():
                        version = self._follow(client, kind, version, generations)
                except ResourceExpired:
                    continue  # the watch window moved past our version: list again
                except (ApiUnreachable, ApiError) as error:
                    log.warning("watching %s: %s", kind, error)
                    time.sleep(RELIST_PAUSE)

    def _list(self, client: KubeClient, kind: str, generations: dict[Request, int]) -> str:
        listing = client.list(API_VERSION, kind)
        generations.clear()
        for item in listing["items"]:
            self._see(kind, "ADDED", item, generations)
        return listing["metadata"]["resourceVersion"]

    def _follow(self, client: KubeClient, kind: str, version: str, generations: dict[Request, int]) -> str:
        for event_type, obj in client.watch(API_VERSION, kind, resource_version=version, timeout=WATCH_SECONDS):
            version = obj["metadata"].get("resourceVersion") or version
            if event_type in ("ADDED", "MODIFIED", "DELETED"):
                self._see(kind, event_type, obj, generations)
            if self._stop.is_set():
                break
        return version

    def _see(self, kind: str, event_type: str, obj: Mapping[str, Any], generations: dict[Request, int]) -> None:
        request = Request(kind, obj["metadata"]["namespace"], obj["metadata"]["name"])
        if event_type == "DELETED":
            generations.pop(request, None)
            return
        previous = generations.get(request)
        generations[request] = obj["metadata"].get("generation", 0)
        if worth_queueing(event_type, obj, previous):
            self._queue.add(request)

    def _work(self) -> None:
        with self._client() as client:
            while True:
                request = self._queue.get()
                if request is None:
                    return
                try:
                    retry = self._handle(client, request)
                finally:
                    self._queue.done(request)
                if retry:
                    self._queue.add(request, retry)

    def _handle(self, client: KubeClient, request: Request) -> float:
        """Runs the contract; returns when to try again (0: not needed)."""
        try:
            self._reconciler.handle(client, request)
        except ApiError as error:
            return self._after_api_error(request, error)
        except ReconcileError:
            return self._backoff(request)  # the reconciler has written and logged it
        except Exception as error:  # the API out of reach, or a bug (with its traceback)
            log.warning("%s: %s", request, error, exc_info=not isinstance(error, ApiUnreachable))
            return self._backoff(request)
        with self._failures_lock:
            self._failures.pop(request, None)
        return 0.0

    def _after_api_error(self, request: Request, error: ApiError) -> float:
        if error.status == 404:
            return 0.0  # gone meanwhile
        if error.status == 409:
            return CONFLICT_RETRY
        log.warning("%s: %s", request, error)
        return self._backoff(request)

    def _backoff(self, request: Request) -> float:
        with self._failures_lock:
            failures = self._failures[request] = self._failures.get(request, 0) + 1
        return min(LAST_RETRY, FIRST_RETRY * 2 ** (failures - 1))
