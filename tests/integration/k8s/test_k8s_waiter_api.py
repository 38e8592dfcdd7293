"""The waiter against a real kube-apiserver: an "extension controller" thread changes the object
while the test waits, and the test measures how fast the waiter notices."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from typing import Callable

import pytest
from support.apiserver import BootstrapApiserver
from support.objects import EXTENSIONS_API, extension_status, infrastructure
from support.tcp_proxy import TcpProxy

from ansible_collections.gardener.autonomous.plugins.module_utils._gardener.extensions import (
    OPERATION_ANNOTATION,
    extension_migrated,
    extension_ready,
    operation_annotations,
)
from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.client import KubeClient
from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.kubeconfig import ClientConfig
from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.predicates import absent, node_ready
from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.waiter import Waiter, WaitTimeout

pytestmark = pytest.mark.substrate

# Typically milliseconds; the margin is for a loaded machine. That the wait is event driven is
# shown by the requests (one read, one watch), not by this bound.
NOTICED_WITHIN = 0.5


@contextmanager
def controller(api: BootstrapApiserver, act: Callable[[KubeClient], None], delay: float = 0.3) -> Iterator[list]:
    """Runs ``act`` on its own client in another thread after ``delay``; yields [when act finished]."""
    finished: list[float] = []
    errors: list[BaseException] = []

    def run() -> None:
        time.sleep(delay)
        try:
            with api.new_client() as client:
                act(client)
            finished.append(time.monotonic())
        except BaseException as error:  # surfaced in the test thread below
            errors.append(error)

    thread = threading.Thread(target=run)
    thread.start()
    try:
        yield finished
    finally:
        thread.join(timeout=30)
    if errors:
        raise errors[0]


def _remove_operation(client: KubeClient, name: str, namespace: str) -> None:
    patch = {"metadata": {"annotations": {OPERATION_ANNOTATION: None}}}
    client.merge_patch(EXTENSIONS_API, "Infrastructure", name, patch, namespace)


def _status(client: KubeClient, name: str, namespace: str, patch: dict) -> None:
    client.merge_patch(EXTENSIONS_API, "Infrastructure", name, patch, namespace, subresource="status")


def test_extension_ready_is_noticed_from_the_watch_at_once(
    bootstrap_apiserver: BootstrapApiserver, namespace: str, wire: list
) -> None:
    client = bootstrap_apiserver.new_client()
    client.create(infrastructure("infra", namespace, operation_annotations("reconcile", datetime.now(timezone.utc))))

    def reconcile(controller_client: KubeClient) -> None:
        _remove_operation(controller_client, "infra", namespace)
        _status(controller_client, "infra", namespace, extension_status("Processing", 1))
        time.sleep(0.2)
        _status(controller_client, "infra", namespace, extension_status("Succeeded", 1))

    already_sent = len(wire)
    with controller(bootstrap_apiserver, reconcile) as finished:
        result = Waiter(client, extension_ready).wait(EXTENSIONS_API, "Infrastructure", "infra", namespace, timeout=30)
        noticed = time.monotonic()
    assert result.ok, result.reason
    assert result.object["status"]["lastOperation"]["state"] == "Succeeded"
    latency = noticed - finished[0]
    assert latency < NOTICED_WITHIN, f"noticed {latency:.3f}s after the status patch"
    # One read, one watch, no polling: everything else came as events.
    mine = [request for request in wire[already_sent:] if request.thread == threading.get_ident()]
    assert [(request.method, "watch=1" in request.url) for request in mine] == [("GET", False), ("GET", True)]


def test_last_error_fails_fast_with_description_and_codes(
    bootstrap_apiserver: BootstrapApiserver, namespace: str
) -> None:
    client = bootstrap_apiserver.new_client()
    client.create(infrastructure("broken", namespace))
    last_error = {"description": "credentials rejected", "codes": ["ERR_INFRA_UNAUTHORIZED"]}

    def fail(controller_client: KubeClient) -> None:
        _status(controller_client, "broken", namespace, extension_status("Error", 1, last_error=last_error))

    with controller(bootstrap_apiserver, fail) as finished:
        result = Waiter(client, extension_ready).wait(EXTENSIONS_API, "Infrastructure", "broken", namespace, timeout=30)
        noticed = time.monotonic()
    assert not result.ok
    assert result.reason == "error during reconciliation: credentials rejected (codes: ERR_INFRA_UNAUTHORIZED)"
    assert noticed - finished[0] < NOTICED_WITHIN


def test_timeout_carries_the_reason_and_the_last_object(
    bootstrap_apiserver: BootstrapApiserver, namespace: str
) -> None:
    client = bootstrap_apiserver.new_client()
    client.create(infrastructure("slow", namespace))

    def progress(controller_client: KubeClient) -> None:
        _status(controller_client, "slow", namespace, extension_status("Processing", 1))

    with controller(bootstrap_apiserver, progress), pytest.raises(WaitTimeout) as timeout:
        Waiter(client, extension_ready).wait(EXTENSIONS_API, "Infrastructure", "slow", namespace, timeout=1.0)
    assert timeout.value.reason == "extension state is not Succeeded but Processing"
    assert timeout.value.object["status"]["lastOperation"]["state"] == "Processing"
    assert 1.0 <= timeout.value.elapsed < 2.0
    assert str(timeout.value).startswith(f"gave up waiting for Infrastructure {namespace}/slow after 1.")


def test_absent_after_delete(bootstrap_apiserver: BootstrapApiserver, namespace: str) -> None:
    client = bootstrap_apiserver.new_client()
    client.create(infrastructure("doomed", namespace))
    waiter = Waiter(client, absent)
    with controller(
        bootstrap_apiserver, lambda c: c.delete(EXTENSIONS_API, "Infrastructure", "doomed", namespace)
    ) as finished:
        result = waiter.wait(EXTENSIONS_API, "Infrastructure", "doomed", namespace, timeout=30)
        noticed = time.monotonic()
    assert result.ok
    assert result.object is None
    assert noticed - finished[0] < NOTICED_WITHIN
    # Already absent: answered by the first read.
    assert waiter.wait(EXTENSIONS_API, "Infrastructure", "doomed", namespace, timeout=0).ok


def test_waits_for_an_object_that_does_not_exist_yet(bootstrap_apiserver: BootstrapApiserver) -> None:
    client = bootstrap_apiserver.new_client()
    ready = {"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "kubelet is posting ready status"}

    def register(controller_client: KubeClient) -> None:
        controller_client.create({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node-late"}})
        controller_client.merge_patch(
            "v1", "Node", "node-late", {"status": {"conditions": [ready]}}, subresource="status"
        )

    with controller(bootstrap_apiserver, register):
        result = Waiter(client, node_ready).wait("v1", "Node", "node-late", timeout=30)
    assert result.ok
    assert result.object["metadata"]["name"] == "node-late"


def test_migrated(bootstrap_apiserver: BootstrapApiserver, namespace: str) -> None:
    client = bootstrap_apiserver.new_client()
    client.create(infrastructure("moving", namespace, operation_annotations("migrate", datetime.now(timezone.utc))))

    def migrate(controller_client: KubeClient) -> None:
        _status(controller_client, "moving", namespace, extension_status("Succeeded", 1, operation="Migrate"))
        time.sleep(0.2)
        _remove_operation(controller_client, "moving", namespace)

    with controller(bootstrap_apiserver, migrate) as finished:
        result = Waiter(client, extension_migrated).wait(EXTENSIONS_API, "Infrastructure", "moving", namespace, 30)
        noticed = time.monotonic()
    assert result.ok
    assert OPERATION_ANNOTATION not in result.object["metadata"].get("annotations", {})
    assert noticed - finished[0] < NOTICED_WITHIN


def test_a_broken_watch_is_reopened(bootstrap_apiserver: BootstrapApiserver, namespace: str) -> None:
    api = bootstrap_apiserver
    api.client.create(infrastructure("resilient", namespace))
    stamp = (datetime.now(timezone.utc) - timedelta(seconds=5)).replace(microsecond=0)
    with TcpProxy(int(api.server.rsplit(":", 1)[1])) as proxy:
        config = ClientConfig(server=f"https://127.0.0.1:{proxy.port}", ca_data=api.ca_pem, token=api.token)

        connections_before_cut: list[int] = []

        def cut_then_reconcile(controller_client: KubeClient) -> None:
            connections_before_cut.append(proxy.accepted)
            proxy.drop_connections()
            time.sleep(0.2)
            _status(controller_client, "resilient", namespace, extension_status("Succeeded", 1, updated=stamp))

        with KubeClient(config) as client, controller(api, cut_then_reconcile):
            result = Waiter(client, extension_ready).wait(EXTENSIONS_API, "Infrastructure", "resilient", namespace, 30)
        assert result.ok, result.reason
        assert proxy.accepted > connections_before_cut[0]  # the watch was opened again
