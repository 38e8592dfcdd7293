"""Fixtures for tests against a real bootstrap cluster (see tests/support/apiserver.py).

- ``bootstrap_apiserver`` (session): etcd + kube-apiserver v1.20.2 with Gardener's CRDs; carries
  ``server``, ``kubeconfig`` (dict), ``kubeconfig_path``, ``client``, ``ca_pem``, ``token``,
  ``new_client()`` and ``create_namespace()``. Missing binaries fail the tests, naming the script
  that builds them. The startup time is printed in the terminal summary.
- ``bootstrap_apiserver_with_controllers`` (session): the same plus kube-controller-manager (namespace,
  garbage collector and service account controllers), as a bootstrap cluster for tests that delete
  namespaces or rely on garbage collection. A cluster of its own, started on first use: the controllers
  cost ~3 s of startup and add ServiceAccounts and token Secrets to every namespace, which the other
  tests need not see.
- ``namespace``: a fresh namespace per test.
- ``wire``: every HTTP request any client sends during the test (method, URL, headers, thread),
  as they go on the wire.
"""

from __future__ import annotations

import http.client
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from support.apiserver import BootstrapApiserver, SubstrateMissing, start_bootstrap_apiserver

_STARTUP = pytest.StashKey[dict[str, float]]()


@pytest.fixture(scope="session")
def bootstrap_apiserver(request: pytest.FixtureRequest) -> Iterator[BootstrapApiserver]:
    yield from _started(request.config, "bootstrap apiserver ready (CRDs served)", controller_manager=False)


@pytest.fixture(scope="session")
def bootstrap_apiserver_with_controllers(request: pytest.FixtureRequest) -> Iterator[BootstrapApiserver]:
    label = "bootstrap apiserver with kube-controller-manager ready (CRDs served, controllers running)"
    yield from _started(request.config, label, controller_manager=True)


def _started(config: pytest.Config, label: str, *, controller_manager: bool) -> Iterator[BootstrapApiserver]:
    try:
        with start_bootstrap_apiserver(controller_manager=controller_manager) as api:
            config.stash.setdefault(_STARTUP, {})[label] = api.startup_seconds
            yield api
    except SubstrateMissing as error:
        pytest.fail(f"the bootstrap cluster cannot start: {error}", pytrace=False)


@pytest.fixture
def namespace(bootstrap_apiserver: BootstrapApiserver) -> str:
    return bootstrap_apiserver.create_namespace()


@dataclass
class SentRequest:
    method: str
    url: str
    thread: int
    headers: dict[str, str] = field(default_factory=dict)  # lower-case names


@pytest.fixture
def wire(monkeypatch: pytest.MonkeyPatch) -> list[SentRequest]:
    sent: list[SentRequest] = []
    put_request, put_header = http.client.HTTPConnection.putrequest, http.client.HTTPConnection.putheader

    def record_request(connection: http.client.HTTPConnection, method: str, url: str, *args, **kwargs) -> None:
        sent.append(SentRequest(method, url, threading.get_ident()))
        put_request(connection, method, url, *args, **kwargs)

    def record_header(connection: http.client.HTTPConnection, header: str, *values: str) -> None:
        ident = threading.get_ident()
        request = next(request for request in reversed(sent) if request.thread == ident)
        request.headers[header.lower()] = ", ".join(str(value) for value in values)
        put_header(connection, header, *values)

    monkeypatch.setattr(http.client.HTTPConnection, "putrequest", record_request)
    monkeypatch.setattr(http.client.HTTPConnection, "putheader", record_header)
    return sent


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    for label, seconds in config.stash.get(_STARTUP, {}).items():
        terminalreporter.write_line(f"{label} in {seconds:.1f}s")
