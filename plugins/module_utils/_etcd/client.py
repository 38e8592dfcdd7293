# Copyright (c) 2026 gardener.autonomous contributors
# Apache License 2.0 (see LICENSE)
# Note that this module util is PRIVATE to the collection. It can have breaking changes at any time.
"""etcd's v3 JSON gateway (``POST /v3/...``, etcd 3.4 and newer) over https with a client certificate.

Each request goes to the endpoints in order until one answers. A failure records whether
something answered at that address (TLS or etcd itself) or nothing did (refused, unreachable, no
connection in time): only the latter means that no cluster runs there. An error etcd itself
returns ends the search, unless it is ``Unavailable`` (no leader, unhealthy cluster, timeout),
which another member may not have. uint64 IDs travel as decimal strings.
"""

from __future__ import annotations

import http.client
import json
import socket
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from ansible_collections.gardener.autonomous.plugins.module_utils._etcd.membership import Member

CONNECT_TIMEOUT = 2.0
GRPC_UNAVAILABLE = 14  # etcd's code for temporary errors: no leader, unhealthy cluster, request timed out


@dataclass(frozen=True)
class EndpointFailure:
    endpoint: str
    reason: str
    answered: bool  # something answered at the address (TLS or etcd), so a cluster may run there
    code: int | None = None  # etcd's (gRPC) status code when etcd itself returned the error

    def __str__(self) -> str:
        return f"{self.endpoint}: {self.reason}"


class EtcdError(Exception):
    """A request failed at every endpoint it was sent to; the message names each and its reason."""

    def __init__(self, action: str, failures: Sequence[EndpointFailure]) -> None:
        super().__init__(action, failures)
        self.action = action
        self.failures = tuple(failures)

    def __str__(self) -> str:
        if not self.failures:
            return f"etcd {self.action}: no endpoint to ask"
        return f"etcd {self.action} failed: " + "; ".join(str(failure) for failure in self.failures)

    @property
    def answered(self) -> bool:
        return any(failure.answered for failure in self.failures)

    @property
    def transient(self) -> bool:
        return any(failure.code == GRPC_UNAVAILABLE for failure in self.failures)


def tls_context(ca_path: str, cert_path: str, key_path: str) -> ssl.SSLContext:
    """Verifies the server against `ca_path` (host name included) and presents the client certificate."""
    context = ssl.create_default_context(cafile=ca_path)
    # An empty password: an encrypted key fails here instead of prompting on a terminal.
    context.load_cert_chain(cert_path, key_path, password="")
    return context


def check_endpoint(endpoint: str) -> tuple[str, int]:
    """`https://host:port` -> (host, port); ValueError otherwise."""
    parts = urlsplit(endpoint)
    try:
        port = parts.port
    except ValueError:
        port = None
    if parts.scheme != "https" or not parts.hostname or port is None or parts.path not in ("", "/"):
        raise ValueError(f"etcd endpoint {endpoint!r} must be https://<host>:<port>")
    return parts.hostname, port


class EtcdClient:
    def __init__(self, endpoints: Sequence[str], context: ssl.SSLContext, timeout: float) -> None:
        for endpoint in endpoints:
            check_endpoint(endpoint)
        self.endpoints = list(endpoints)
        self.context = context
        self.timeout = timeout

    def with_endpoints(self, endpoints: Sequence[str]) -> EtcdClient:
        return EtcdClient(endpoints, self.context, self.timeout)

    def member_list(self) -> list[Member]:
        return members_from_json(self._call("member list", "/v3/cluster/member/list", {}))

    def member_add(self, peer_urls: Sequence[str]) -> list[Member]:
        """Adds a voting member; returns the membership including it."""
        body = {"peerURLs": list(peer_urls)}
        return members_from_json(self._call("member add", "/v3/cluster/member/add", body))

    def member_remove(self, member_id: int) -> list[Member]:
        """Removes a member; returns the remaining membership."""
        return members_from_json(self._call("member remove", "/v3/cluster/member/remove", {"ID": str(member_id)}))

    def _call(self, action: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        failures: list[EndpointFailure] = []
        for endpoint in self.endpoints:
            answer = self._post(endpoint, path, body)
            if not isinstance(answer, EndpointFailure):
                return answer
            failures.append(answer)
            if answer.code is not None and answer.code != GRPC_UNAVAILABLE:
                break  # etcd decided; other members would say the same
        raise EtcdError(action, failures)

    def _post(self, endpoint: str, path: str, body: dict[str, Any]) -> dict[str, Any] | EndpointFailure:
        raw = self._connect(endpoint)
        if isinstance(raw, EndpointFailure):
            return raw
        host, port = check_endpoint(endpoint)
        connection = http.client.HTTPSConnection(host, port, context=self.context, timeout=self.timeout)
        try:
            raw.settimeout(self.timeout)
            connection.sock = self.context.wrap_socket(raw, server_hostname=host)
            connection.request("POST", path, json.dumps(body), {"Content-Type": "application/json"})
            response = connection.getresponse()
            return _answer(endpoint, response.status, response.read())
        except ssl.SSLError as error:
            return EndpointFailure(endpoint, f"TLS: {_describe(error)}", True)
        except socket.timeout:
            return EndpointFailure(endpoint, f"timeout: no answer within {self.timeout:g} s", True)
        except (OSError, http.client.HTTPException) as error:  # reset or closed mid-request
            return EndpointFailure(endpoint, _describe(error), True)
        finally:
            raw.close()
            connection.close()

    def _connect(self, endpoint: str) -> socket.socket | EndpointFailure:
        """A TCP connection; failing here means that nothing answers at the address."""
        connect_timeout = min(CONNECT_TIMEOUT, self.timeout)
        try:
            return socket.create_connection(check_endpoint(endpoint), timeout=connect_timeout)
        except socket.timeout:
            return EndpointFailure(endpoint, f"timeout: no connection within {connect_timeout:g} s", False)
        except ConnectionRefusedError:
            return EndpointFailure(endpoint, "connection refused", False)
        except OSError as error:  # unreachable network or host, unknown host name
            return EndpointFailure(endpoint, _describe(error), False)


def _answer(endpoint: str, status: int, data: bytes) -> dict[str, Any] | EndpointFailure:
    try:
        document = json.loads(data.decode("utf-8"))
    except ValueError:
        return EndpointFailure(endpoint, f"HTTP {status} without a JSON body", True)
    if not isinstance(document, dict):
        return EndpointFailure(endpoint, f"HTTP {status}: unexpected answer", True)
    if status != 200:
        message = document.get("message") or document.get("error") or "no message"
        code = document.get("code")
        return EndpointFailure(endpoint, f"HTTP {status}: {message}", True, code if isinstance(code, int) else None)
    return document


def members_from_json(document: dict[str, Any]) -> list[Member]:
    """The `members` of a member list/add/remove answer (uint64 IDs as decimal strings)."""
    return [
        Member(
            id=int(item["ID"]),
            name=item.get("name", ""),
            peer_urls=tuple(item.get("peerURLs", ())),
            client_urls=tuple(item.get("clientURLs", ())),
        )
        for item in document.get("members", ())
    ]


def _describe(error: BaseException) -> str:
    if isinstance(error, ssl.SSLCertVerificationError):
        return f"certificate verify failed: {error.verify_message}"
    if isinstance(error, OSError) and error.strerror and not isinstance(error, ssl.SSLError):
        return error.strerror
    return str(error) or type(error).__name__
