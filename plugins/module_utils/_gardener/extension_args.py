# Copyright (c) 2026 gardener.autonomous contributors
# Apache License 2.0 (see LICENSE)
# Note that this module util is PRIVATE to the collection. It can have breaking changes at any time.
"""Argument spec of the extension object modules (gardener_infrastructure, gardener_worker,
gardener_bastion), documented by the doc fragment ``gardener.autonomous.gardener_extension``
(plugins/doc_fragments/gardener_extension.py): change both together. ``wait_timeout`` has a
default per kind, so each module documents it itself. Imports nothing that needs PyYAML, so that a
module can say PyYAML is missing."""

from __future__ import annotations

import copy
from typing import Any, Dict

from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.args import AUTH_ARG_SPEC

EXTENSION_ARG_SPEC: Dict[str, Dict[str, Any]] = {
    **AUTH_ARG_SPEC,
    "namespace": {"type": "str", "required": True},
    "name": {"type": "str", "required": True},
    "state": {"type": "str", "choices": ["present", "absent", "migrated"], "default": "present"},
    "spec": {"type": "dict"},
    "labels": {"type": "dict", "default": {}},
    "annotations": {"type": "dict", "default": {}},
    "force_reconcile": {"type": "bool", "default": False},
    "wait": {"type": "bool", "default": True},
    "field_manager": {"type": "str", "default": "gardener.autonomous"},
}


def extension_argument_spec(wait_timeout: int) -> Dict[str, Dict[str, Any]]:
    """The spec with the kind's default ``wait_timeout`` (seconds)."""
    spec = copy.deepcopy(EXTENSION_ARG_SPEC)
    spec["wait_timeout"] = {"type": "int", "default": wait_timeout}
    return spec
