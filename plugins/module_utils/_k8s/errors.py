# Copyright (c) 2026 gardener.autonomous contributors
# Apache License 2.0 (see LICENSE)
# Note that this module util is PRIVATE to the collection. It can have breaking changes at any time.
"""Errors of the Kubernetes client. Their messages can be shown to users as they are: they never
contain a token, a key or a request body."""

from __future__ import annotations

from typing import Tuple


class KubeError(Exception):
    """Base of every error the client raises."""


class KubeconfigError(KubeError):
    """A kubeconfig or connection setting that cannot be used (names the context, user or file)."""


class ApiUnreachable(KubeError):
    """The API server could not be reached: refused or reset connection, TLS failure, timeout."""

    def __init__(self, server: str, cause: BaseException) -> None:
        super().__init__(server, cause)
        self.server = server
        self.cause = cause

    def __str__(self) -> str:
        detail = str(self.cause) or type(self.cause).__name__
        return f"cannot reach the Kubernetes API server {self.server}: {detail}"


class KindNotServed(KubeError):
    """The API server does not serve the kind in that apiVersion (missing CRD, wrong group or version)."""

    def __init__(self, server: str, api_version: str, kind: str) -> None:
        super().__init__(server, api_version, kind)
        self.server = server
        self.api_version = api_version
        self.kind = kind

    def __str__(self) -> str:
        return f"the Kubernetes API server {self.server} does not serve kind {self.kind} in {self.api_version}"


class ApiError(KubeError):
    """The API answered with an error status; ``message`` is the API's own explanation, ``causes``
    the messages of its ``details.causes`` (e.g. which PodDisruptionBudget refused an eviction)."""

    def __init__(
        self, method: str, path: str, status: int, reason: str, message: str, *, causes: Tuple[str, ...] = ()
    ) -> None:
        super().__init__(method, path, status, reason, message)
        self.method = method
        self.path = path
        self.status = status
        self.reason = reason
        self.message = message
        self.causes = causes

    def __str__(self) -> str:
        return f"{self.method} {self.path} failed with {self.status} {self.reason}: {self.message}"


class ResourceExpired(ApiError):
    """410 Gone: the resourceVersion a watch started from is no longer available; list again."""
