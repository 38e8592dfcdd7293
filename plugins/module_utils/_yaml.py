# Copyright (c) 2026 gardener.autonomous contributors
# Apache License 2.0 (see LICENSE)
# Note that this module util is PRIVATE to the collection. It can have breaking changes at any time.
"""PyYAML behind one import guard.

Every module util imports without PyYAML (ansible-test's import test; a machine without python3-yaml), and
every module that needs it fails first thing with the same message, naming the package to install.
"""

from __future__ import annotations

import traceback
from typing import Any

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

try:
    import yaml
except ImportError:
    yaml = None  # type: ignore[assignment]
    HAS_YAML = False
    YAML_IMPORT_ERROR: str | None = traceback.format_exc()
else:
    HAS_YAML = True
    YAML_IMPORT_ERROR = None

PYYAML = "PyYAML (Debian: python3-yaml)"


def require_yaml(module: AnsibleModule) -> None:
    """Fail the module, before it touches anything, when PyYAML is missing."""
    if not HAS_YAML:
        module.fail_json(msg=missing_required_lib(PYYAML), exception=YAML_IMPORT_ERROR)


def load(text: str) -> Any:
    """One document, parsed safely; libyaml's parser when PyYAML has it (the pure-Python one is much slower)."""
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def dump(data: Any, *, sort_keys: bool) -> str:
    """Block-style YAML that never folds long lines (PEM blocks, base64); libyaml's emitter when present."""
    return yaml.dump(
        data,
        Dumper=getattr(yaml, "CSafeDumper", yaml.SafeDumper),
        sort_keys=sort_keys,
        default_flow_style=False,
        width=2**16,
    )
