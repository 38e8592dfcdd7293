# Copyright (c) 2026 gardener.autonomous contributors
# Apache License 2.0 (see LICENSE)
# Note that this module util is PRIVATE to the collection. It can have breaking changes at any time.
"""A small Kubernetes REST client on http.client and ssl (standard library only).

It sends exactly the content types the API needs: JSON for create, server-side apply
(``application/apply-patch+yaml``) and merge patch (``application/merge-patch+json``); never a
strategic merge patch, which custom resources reject with 415.
"""

from __future__ import annotations

import http.client
import json
import math
import os
import shutil
import socket
import ssl
import tempfile
from typing import Any, Dict, Iterator, List, Mapping, NamedTuple, Optional, Tuple, Type, Union
from urllib.parse import quote, urlencode

from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.errors import (
    ApiError,
    ApiUnreachable,
    KindNotServed,
    KubeconfigError,
    KubeError,
    ResourceExpired,
)
from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.kubeconfig import (
    ClientConfig,
    KubeconfigSource,
    load_kubeconfig,
    server_address,
)

JSON = "application/json"
APPLY_PATCH = "application/apply-patch+yaml"
MERGE_PATCH = "application/merge-patch+json"
DEFAULT_FIELD_MANAGER = "gardener.autonomous"
DEFAULT_TIMEOUT = 30.0
DEFAULT_WATCH_TIMEOUT = 300.0
USER_AGENT = "gardener.autonomous"

KubeObject = Dict[str, Any]
Selector = Union[str, Mapping[str, str], None]

# A kept-alive connection the server has closed in the meantime fails with one of these on reuse.
_STALE_CONNECTION_ERRORS = (
    http.client.RemoteDisconnected,
    ConnectionResetError,
    ConnectionAbortedError,
    BrokenPipeError,
    ssl.SSLEOFError,
)


class Resource(NamedTuple):
    """A kind as the API serves it: its plural resource name and whether it lives in namespaces."""

    api_version: str
    kind: str
    plural: str
    namespaced: bool


class _HTTPSConnection(http.client.HTTPSConnection):
    """Verifies the server certificate (and sends SNI) for ``server_hostname``, not the URL's host."""

    def __init__(
        self, host: str, port: int, *, tls: ssl.SSLContext, server_hostname: str, timeout: Optional[float]
    ) -> None:
        super().__init__(host, port, timeout=timeout, context=tls)
        self._tls = tls
        self._server_hostname = server_hostname

    def connect(self) -> None:
        sock = socket.create_connection((self.host, self.port), self.timeout, self.source_address)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            self.sock = self._tls.wrap_socket(sock, server_hostname=self._server_hostname)
        except BaseException:
            sock.close()
            raise


class KubeClient:
    """One API server over one persistent HTTPS connection, reopened when it breaks.

    Discovery (kind -> resource) is cached per client. Not thread-safe: one client per thread.
    """

    def __init__(self, config: ClientConfig, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.config = config
        self.server = config.server
        self._address = server_address(config.server)
        self._timeout = timeout
        self._tls = _tls_context(config)
        self._connection: Optional[_HTTPSConnection] = None
        self._connection_reused = False
        self._resources: Dict[str, Dict[str, Resource]] = {}

    @classmethod
    def from_kubeconfig(
        cls, kubeconfig: KubeconfigSource, context: Optional[str] = None, timeout: float = DEFAULT_TIMEOUT
    ) -> KubeClient:
        return cls(load_kubeconfig(kubeconfig, context), timeout)

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def __enter__(self) -> KubeClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # Discovery

    def resource_for(self, api_version: str, kind: str) -> Resource:
        known = self._resources.get(api_version)
        if known is None or kind not in known:
            # A kind missing from the cache may come from a CRD installed since: look once more.
            known = self._resources[api_version] = self._discover(api_version)
        if kind not in known:
            raise KindNotServed(self.server, api_version, kind)
        return known[kind]

    def api_resources(self, api_version: str) -> List[Dict[str, Any]]:
        """The discovery entries of a group version as served, subresources included (not cached).

        Empty when the group version is not served. A subresource served from another group names
        it, e.g. ``pods/eviction`` with ``group: policy, version: v1``.
        """
        try:
            listing = self._request("GET", _group_path(api_version))
        except ApiError as error:
            if error.status == 404:  # the group or version is not served at all
                return []
            raise
        return listing.get("resources", [])

    def _discover(self, api_version: str) -> Dict[str, Resource]:
        return {
            entry["kind"]: Resource(api_version, entry["kind"], entry["name"], entry["namespaced"])
            for entry in self.api_resources(api_version)
            if "/" not in entry["name"]  # subresources such as infrastructures/status
        }

    def object_path(
        self,
        api_version: str,
        kind: str,
        name: Optional[str] = None,
        namespace: Optional[str] = None,
        subresource: Optional[str] = None,
    ) -> str:
        """The API path of one object (``name`` given) or of a collection (all namespaces without one)."""
        resource = self.resource_for(api_version, kind)
        if resource.namespaced and name is not None and not namespace:
            raise KubeError(f"{kind} {name} is namespaced: a namespace is required")
        parts = [_group_path(api_version)]
        if resource.namespaced and namespace:
            parts += ["namespaces", quote(namespace, safe="")]
        parts.append(resource.plural)
        if name is not None:
            parts.append(quote(name, safe=""))
        if subresource:
            parts.append(subresource)
        return "/".join(parts)

    # Verbs

    def get(self, api_version: str, kind: str, name: str, namespace: Optional[str] = None) -> Optional[KubeObject]:
        """The object, or None when it does not exist."""
        try:
            return self._request("GET", self.object_path(api_version, kind, name, namespace))
        except ApiError as error:
            if error.status == 404:
                return None
            raise

    def list(
        self,
        api_version: str,
        kind: str,
        namespace: Optional[str] = None,
        *,
        label_selector: Selector = None,
        field_selector: Selector = None,
    ) -> KubeObject:
        """The List object (``items`` and ``metadata.resourceVersion``); all namespaces without ``namespace``."""
        query = _selectors(label_selector, field_selector)
        return self._request("GET", self.object_path(api_version, kind, namespace=namespace), query=query)

    def create(self, obj: Mapping[str, Any], *, dry_run: bool = False) -> KubeObject:
        api_version, kind, _optional_name, namespace = _identity(obj, name_required=False)
        if self.resource_for(api_version, kind).namespaced and not namespace:
            raise KubeError(f"{kind} {_name(obj)} is namespaced: metadata.namespace is required")
        path = self.object_path(api_version, kind, namespace=namespace)
        return self._request("POST", path, query=_dry_run(dry_run), body=obj)

    def apply(
        self,
        obj: Mapping[str, Any],
        *,
        field_manager: str = DEFAULT_FIELD_MANAGER,
        force: bool = False,
        dry_run: bool = False,
    ) -> KubeObject:
        """Server-side apply: the API merges ``obj`` with what ``field_manager`` applied before."""
        api_version, kind, name, namespace = _identity(obj, name_required=True)
        query = {"fieldManager": field_manager, **_dry_run(dry_run)}
        if force:
            query["force"] = "true"
        path = self.object_path(api_version, kind, name, namespace)
        # JSON is YAML, so the object goes as JSON under the apply content type.
        return self._request("PATCH", path, query=query, body=obj, content_type=APPLY_PATCH)

    def merge_patch(
        self,
        api_version: str,
        kind: str,
        name: str,
        patch: Mapping[str, Any],
        namespace: Optional[str] = None,
        *,
        subresource: Optional[str] = None,
        dry_run: bool = False,
    ) -> KubeObject:
        """JSON merge patch (RFC 7386; ``None`` removes a key), e.g. ``subresource="status"``."""
        path = self.object_path(api_version, kind, name, namespace, subresource)
        return self._request("PATCH", path, query=_dry_run(dry_run), body=patch, content_type=MERGE_PATCH)

    def create_subresource(
        self,
        api_version: str,
        kind: str,
        name: str,
        body: Mapping[str, Any],
        namespace: Optional[str] = None,
        *,
        subresource: str,
        dry_run: bool = False,
    ) -> KubeObject:
        """POST to a subresource of one object, e.g. ``subresource="eviction"`` of a Pod."""
        path = self.object_path(api_version, kind, name, namespace, subresource)
        return self._request("POST", path, query=_dry_run(dry_run), body=body)

    def delete(
        self,
        api_version: str,
        kind: str,
        name: str,
        namespace: Optional[str] = None,
        *,
        propagation_policy: str = "Background",
        dry_run: bool = False,
    ) -> bool:
        """Requests deletion; False when the object did not exist. Finalizers may delay the removal."""
        path = self.object_path(api_version, kind, name, namespace)
        options: Dict[str, Any] = {"apiVersion": "v1", "kind": "DeleteOptions", "propagationPolicy": propagation_policy}
        if dry_run:
            # With a body the API reads every option from it and ignores the query's dryRun.
            options["dryRun"] = ["All"]
        try:
            self._request("DELETE", path, body=options)
        except ApiError as error:
            if error.status == 404:
                return False
            raise
        return True

    def watch(
        self,
        api_version: str,
        kind: str,
        namespace: Optional[str] = None,
        *,
        resource_version: Optional[str] = None,
        field_selector: Selector = None,
        label_selector: Selector = None,
        timeout: float = DEFAULT_WATCH_TIMEOUT,
    ) -> Iterator[Tuple[str, KubeObject]]:
        """Yields (type, object) events: ADDED, MODIFIED, DELETED and BOOKMARK (carries only a resourceVersion).

        Ends after ``timeout`` seconds, or earlier when the server closes the stream. An ERROR event
        raises ApiError; ResourceExpired (410) means ``resource_version`` is too old: list again.
        Runs on its own connection, closed when the generator ends.
        """
        path = self.object_path(api_version, kind, namespace=namespace)
        query = {
            "watch": "1",
            "allowWatchBookmarks": "true",
            "timeoutSeconds": str(max(1, math.ceil(timeout))),
            **_selectors(label_selector, field_selector),
        }
        if resource_version:
            query["resourceVersion"] = resource_version
        connection = self._new_connection(timeout=timeout)
        try:
            response = self._open_stream(connection, path, query)
            while True:
                try:
                    line = response.readline()
                except socket.timeout:
                    return  # no event within the time left: the watch is over
                except (OSError, http.client.HTTPException) as error:
                    raise ApiUnreachable(self.server, error) from error
                if not line.endswith(b"\n"):
                    return  # closed, possibly in the middle of an event: the caller watches again
                if line.strip():
                    yield self._event(path, line)
        finally:
            connection.close()

    def _open_stream(self, connection: _HTTPSConnection, path: str, query: Dict[str, str]) -> http.client.HTTPResponse:
        try:
            connection.request("GET", self._url(path, query), headers=self._headers())
            response = connection.getresponse()
            if response.status != 200:
                raise _api_error("GET", path, response.status, response.read())
        except (OSError, http.client.HTTPException) as error:
            raise ApiUnreachable(self.server, error) from error
        return response

    def _event(self, path: str, line: bytes) -> Tuple[str, KubeObject]:
        event = json.loads(line)
        event_type, obj = event["type"], event["object"]
        if event_type == "ERROR":
            raise _status_error("GET", path, obj.get("code") or 500, obj)
        return event_type, obj

    # Transport

    def _request(
        self,
        method: str,
        path: str,
        *,
        query: Optional[Mapping[str, str]] = None,
        body: Optional[Mapping[str, Any]] = None,
        content_type: str = JSON,
    ) -> KubeObject:
        headers = self._headers()
        payload = None
        if body is not None:
            payload = json.dumps(body).encode("utf-8")
            headers["Content-Type"] = content_type
        status, data = self._exchange(method, self._url(path, query), payload, headers)
        if status >= 400:
            raise _api_error(method, path, status, data)
        return json.loads(data) if data else {}

    def _exchange(self, method: str, url: str, payload: Optional[bytes], headers: Dict[str, str]) -> Tuple[int, bytes]:
        while True:
            connection = self._persistent_connection()
            reused = self._connection_reused
            try:
                connection.request(method, url, body=payload, headers=headers)
                response = connection.getresponse()
                data = response.read()
            except _STALE_CONNECTION_ERRORS as error:
                self.close()
                if reused:
                    continue  # the server had closed the idle connection: the request never got there
                raise ApiUnreachable(self.server, error) from error
            except (OSError, http.client.HTTPException) as error:
                self.close()
                raise ApiUnreachable(self.server, error) from error
            if response.will_close:
                self.close()
            else:
                self._connection_reused = True
            return response.status, data

    def _persistent_connection(self) -> _HTTPSConnection:
        if self._connection is None:
            self._connection = self._new_connection(self._timeout)
            self._connection_reused = False
        return self._connection

    def _new_connection(self, timeout: float) -> _HTTPSConnection:
        host, port, _base_path = self._address
        server_hostname = self.config.tls_server_name or host
        return _HTTPSConnection(host, port, tls=self._tls, server_hostname=server_hostname, timeout=timeout)

    def _url(self, path: str, query: Optional[Mapping[str, str]]) -> str:
        url = self._address.base_path + path
        return f"{url}?{urlencode(query)}" if query else url

    def _headers(self) -> Dict[str, str]:
        headers = {"Accept": JSON, "User-Agent": USER_AGENT}
        if self.config.token:
            headers["Authorization"] = f"Bearer {self.config.token}"
        return headers


def _group_path(api_version: str) -> str:
    return f"/api/{api_version}" if "/" not in api_version else f"/apis/{api_version}"


def _identity(obj: Mapping[str, Any], *, name_required: bool) -> Tuple[str, str, Optional[str], Optional[str]]:
    metadata = obj.get("metadata") or {}
    api_version, kind, name = obj.get("apiVersion"), obj.get("kind"), metadata.get("name")
    if not api_version or not kind or (name_required and not name):
        raise KubeError(f"the object needs apiVersion, kind and metadata.name, got {api_version}/{kind} {name}")
    return api_version, kind, name, metadata.get("namespace")


def _name(obj: Mapping[str, Any]) -> str:
    metadata = obj.get("metadata") or {}
    return metadata.get("name") or f"{metadata.get('generateName', '')}*"


def _dry_run(dry_run: bool) -> Dict[str, str]:
    return {"dryRun": "All"} if dry_run else {}


def _selectors(label_selector: Selector, field_selector: Selector) -> Dict[str, str]:
    query = {}
    if label_selector:
        query["labelSelector"] = _selector(label_selector)
    if field_selector:
        query["fieldSelector"] = _selector(field_selector)
    return query


def _selector(selector: Union[str, Mapping[str, str]]) -> str:
    if isinstance(selector, str):
        return selector
    return ",".join(f"{key}={value}" for key, value in selector.items())


def _api_error(method: str, path: str, status: int, data: bytes) -> ApiError:
    try:
        answer = json.loads(data)
    except ValueError:
        answer = None
    if isinstance(answer, dict) and answer.get("kind") == "Status":
        return _status_error(method, path, status, answer)
    # Not the API talking (a proxy or load balancer): show the start of what it said.
    text = data.decode("utf-8", errors="replace").strip()[:500]
    return _error_class(status)(method, path, status, http.client.responses.get(status, "Error"), text)


def _status_error(method: str, path: str, status: int, answer: Mapping[str, Any]) -> ApiError:
    reason = answer.get("reason") or http.client.responses.get(status, "Error")
    causes = tuple(
        cause["message"] for cause in (answer.get("details") or {}).get("causes") or [] if cause.get("message")
    )
    return _error_class(status)(method, path, status, reason, answer.get("message") or "", causes=causes)


def _error_class(status: int) -> Type[ApiError]:
    return ResourceExpired if status == 410 else ApiError


def _tls_context(config: ClientConfig) -> ssl.SSLContext:
    try:
        tls = ssl.create_default_context(cadata=config.ca_data) if config.ca_data else ssl.create_default_context()
    except (ssl.SSLError, ValueError) as error:
        raise KubeconfigError(f"the CA certificate of {config.server} is not usable PEM: {error}") from None
    if not config.validate_certs:
        tls.check_hostname = False
        tls.verify_mode = ssl.CERT_NONE
    if config.client_cert_data and config.client_key_data:
        _load_client_certificate(tls, config.client_cert_data, config.client_key_data)
    return tls


def _load_client_certificate(tls: ssl.SSLContext, cert_pem: str, key_pem: str) -> None:
    """ssl only loads certificates from files: write both to a private directory, load, remove at once."""
    directory = tempfile.mkdtemp(prefix="gardener-autonomous-")  # mode 0700
    try:
        cert_path = _write_private(directory, "client.crt", cert_pem)
        key_path = _write_private(directory, "client.key", key_pem)
        tls.load_cert_chain(cert_path, key_path)
    except ssl.SSLError as error:
        raise KubeconfigError(f"the client certificate and key cannot be loaded: {error}") from None
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def _write_private(directory: str, name: str, text: str) -> str:
    path = os.path.join(directory, name)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(text)
    return path
