"""Builders of API objects for tests: manifests valid against Gardener's CRDs, and the status an
extension controller would write."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Optional

from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.timestamps import format_rfc3339

EXTENSIONS_API = "extensions.gardener.cloud/v1alpha1"


def infrastructure(name: str, namespace: str, annotations: Optional[dict[str, str]] = None) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, "namespace": namespace}
    if annotations:
        metadata["annotations"] = annotations
    return {
        "apiVersion": EXTENSIONS_API,
        "kind": "Infrastructure",
        "metadata": metadata,
        "spec": {
            "type": "local",
            "region": "local",
            "secretRef": {"name": "cloudprovider", "namespace": namespace},
        },
    }


def extension_status(
    state: str,
    observed_generation: int,
    *,
    operation: str = "Reconcile",
    updated: Optional[datetime] = None,
    last_error: Optional[dict[str, Any]] = None,
) -> dict[str, Any]:
    """A ``{"status": ...}`` merge patch as an extension controller writes it."""
    moment = updated or datetime.now(timezone.utc)
    status: dict[str, Any] = {
        "observedGeneration": observed_generation,
        "lastOperation": {
            "type": operation,
            "state": state,
            "progress": 100 if state == "Succeeded" else 50,
            "description": f"{operation} {state}",
            "lastUpdateTime": format_rfc3339(moment),
        },
        "lastError": last_error,  # None removes it in a merge patch
    }
    return {"status": status}
