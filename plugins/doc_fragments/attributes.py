# Copyright (c) 2026 gardener.autonomous contributors
# Apache License 2.0 (see LICENSE)
"""Attribute descriptions shared by every module of the collection."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options: {}
attributes:
  check_mode:
    description: Can run in C(check_mode) and return a changed status prediction without modifying the target.
  diff_mode:
    description: Returns details on what has changed (or would change in C(check_mode)) when in diff mode.
  idempotent:
    description:
      - When run twice in a row outside check mode, with the same arguments, the second invocation
        reports no change.
"""

    ACTIONGROUP_KUBERNETES = r"""
options: {}
attributes:
  action_group:
    description: Use C(group/gardener.autonomous.kubernetes) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - gardener.autonomous.kubernetes
"""

    CONTROLLER = r"""
options: {}
attributes:
  action:
    description: Runs as an action plugin on the controller; nothing is written to the controller's disk.
    support: full
"""
