# Copyright (c) 2026 gardener.autonomous contributors
# Apache License 2.0 (see LICENSE)
# Note that this module util is PRIVATE to the collection. It can have breaking changes at any time.
"""Connection settings for the client, from explicit values or from a kubeconfig (a file or a dict)."""

from __future__ import annotations

import base64
import binascii
import collections.abc
import os
import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, NamedTuple, Optional, Union
from urllib.parse import urlsplit

from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.errors import KubeconfigError
from ansible_collections.gardener.autonomous.plugins.module_utils._yaml import yaml

KubeconfigSource = Union[str, "os.PathLike[str]", Mapping[str, Any]]
_PRINTABLE_TOKEN = re.compile(r"[\x21-\x7e]+")


@dataclass(frozen=True)
class ClientConfig:
    """Where the API server is and how to authenticate to it.

    Certificates and keys are PEM text. Without ``ca_data`` the system trust store is used.
    ``tls_server_name`` replaces the URL's host for SNI and certificate verification.
    Secrets are left out of ``repr``.
    """

    server: str
    ca_data: Optional[str] = None
    client_cert_data: Optional[str] = None
    client_key_data: Optional[str] = field(default=None, repr=False)
    token: Optional[str] = field(default=None, repr=False)
    validate_certs: bool = True
    tls_server_name: Optional[str] = None

    def __post_init__(self) -> None:
        server_address(self.server)
        if bool(self.client_cert_data) != bool(self.client_key_data):
            raise KubeconfigError("a client certificate needs its key and a key needs its certificate")
        if self.token is not None and not _PRINTABLE_TOKEN.fullmatch(self.token):
            # http.client would refuse it later with a message that quotes the header, token included.
            raise KubeconfigError("the token is empty or contains whitespace or control characters")


class ServerAddress(NamedTuple):
    host: str
    port: int
    base_path: str  # a prefix of every request path, for servers behind a path-routing proxy


def server_address(server: str) -> ServerAddress:
    url = urlsplit(server)
    if url.scheme != "https" or not url.hostname:
        raise KubeconfigError(f"server {server!r} is not an https:// URL")
    try:
        port = url.port or 443
    except ValueError:
        raise KubeconfigError(f"server {server!r} has an invalid port") from None
    return ServerAddress(url.hostname, port, url.path.rstrip("/"))


def load_kubeconfig(kubeconfig: KubeconfigSource, context: Optional[str] = None) -> ClientConfig:
    """Reads the connection settings of ``context`` (default: the current context).

    A dict is used as it is (AWX injects kubeconfigs that way); relative file references in it are
    relative to the working directory, those in a file relative to the file's directory.
    """
    if isinstance(kubeconfig, collections.abc.Mapping):
        return _from_document(kubeconfig, context, "the kubeconfig", os.getcwd())
    path = os.path.expanduser(os.fspath(kubeconfig))
    document = _read_yaml(path)
    if not isinstance(document, collections.abc.Mapping):
        raise KubeconfigError(f"kubeconfig {path} is not a mapping")
    return _from_document(document, context, f"kubeconfig {path}", os.path.dirname(os.path.abspath(path)))


def _read_yaml(path: str) -> Any:
    try:
        with open(path, encoding="utf-8") as handle:
            return yaml.safe_load(handle)
    except OSError as error:
        raise KubeconfigError(f"cannot read kubeconfig {path}: {error.strerror}") from None
    except yaml.YAMLError as error:
        # Only the problem and the line: the default message quotes the document, which may hold keys.
        problem = getattr(error, "problem", None) or "not valid YAML"
        mark = getattr(error, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise KubeconfigError(f"kubeconfig {path}: {problem}{where}") from None


def _from_document(document: Mapping[str, Any], context: Optional[str], source: str, base_dir: str) -> ClientConfig:
    context_name = context or document.get("current-context")
    if not context_name:
        raise KubeconfigError(f"{source} has no current-context; name the context to use")
    selected = _named_entry(document, "contexts", "context", context_name, source)
    cluster_name = selected.get("cluster")
    if not cluster_name:
        raise KubeconfigError(f"context {context_name!r} in {source} names no cluster")
    cluster = _named_entry(document, "clusters", "cluster", cluster_name, source)
    user_name = selected.get("user")
    user = _named_entry(document, "users", "user", user_name, source) if user_name else {}
    where = f"user {user_name!r} in {source}"
    _refuse_unsupported(cluster, user, cluster_name, where, source)

    server = cluster.get("server")
    if not server:
        raise KubeconfigError(f"cluster {cluster_name!r} in {source} has no server")
    return ClientConfig(
        server=server,
        ca_data=_pem(cluster, "certificate-authority", base_dir, f"cluster {cluster_name!r} in {source}"),
        client_cert_data=_pem(user, "client-certificate", base_dir, where),
        client_key_data=_pem(user, "client-key", base_dir, where),
        token=user.get("token") or _token_file(user, base_dir, where),
        validate_certs=not cluster.get("insecure-skip-tls-verify", False),
        tls_server_name=cluster.get("tls-server-name"),
    )


def _named_entry(document: Mapping[str, Any], section: str, key: str, name: str, source: str) -> Dict[str, Any]:
    entries: List[Any] = document.get(section) or []
    for entry in entries:
        if isinstance(entry, collections.abc.Mapping) and entry.get("name") == name:
            value = entry.get(key) or {}
            if not isinstance(value, collections.abc.Mapping):
                raise KubeconfigError(f"{key} {name!r} in {source} is not a mapping")
            return dict(value)
    raise KubeconfigError(f"{source} has no {key} named {name!r}")


def _refuse_unsupported(
    cluster: Mapping[str, Any], user: Mapping[str, Any], cluster_name: str, where: str, source: str
) -> None:
    # Silently ignoring these would connect the wrong way or without credentials.
    if cluster.get("proxy-url"):
        raise KubeconfigError(f"cluster {cluster_name!r} in {source} uses proxy-url, which is not supported")
    credentials = ("token", "tokenFile", "client-certificate", "client-certificate-data")
    has_credential = any(user.get(key) for key in credentials)
    for unsupported in ("exec", "auth-provider", "username"):
        if user.get(unsupported) and not has_credential:
            raise KubeconfigError(
                f"{where} authenticates with {unsupported}, which is not supported: use a client certificate or a token"
            )


def _pem(entry: Mapping[str, Any], key: str, base_dir: str, where: str) -> Optional[str]:
    """Reads ``<key>-data`` (base64 PEM, preferred, as kubectl does) or the file ``<key>``."""
    data = entry.get(f"{key}-data")
    if data:
        try:
            return base64.b64decode(data, validate=True).decode("ascii")
        except (binascii.Error, UnicodeDecodeError, TypeError):
            raise KubeconfigError(f"{key}-data of {where} is not base64 of PEM text") from None
    path = entry.get(key)
    if not path:
        return None
    return _read_text(os.path.join(base_dir, os.path.expanduser(path)), f"{key} of {where}")


def _token_file(user: Mapping[str, Any], base_dir: str, where: str) -> Optional[str]:
    path = user.get("tokenFile")
    if not path:
        return None
    return _read_text(os.path.join(base_dir, os.path.expanduser(path)), f"tokenFile of {where}").strip()


def _read_text(path: str, what: str) -> str:
    try:
        with open(path, encoding="ascii") as handle:
            return handle.read()
    except OSError as error:
        raise KubeconfigError(f"cannot read {what}, {path}: {error.strerror}") from None
    except UnicodeDecodeError:
        raise KubeconfigError(f"{what}, {path}, is not PEM or token text") from None
