# Copyright (c) 2026 gardener.autonomous contributors
# Apache License 2.0 (see LICENSE)
"""Action plugin of gardener.autonomous.shoot_config: the manifests live on the controller, like include_vars."""

from __future__ import annotations

from typing import Any

from ansible.errors import AnsibleFileNotFound
from ansible.plugins.action import ActionBase

from ansible_collections.gardener.autonomous.plugins.module_utils._gardener.manifests import (
    ManifestError,
    compile_shoot_fact,
    read_manifests,
)

ARGUMENT_SPEC: dict[str, dict[str, Any]] = {
    "path": {"type": "path", "required": True},
    "machines": {"type": "dict"},  # None: the machines are not known yet
    "require_managed_infrastructure": {"type": "bool", "default": False},
}


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(ARGUMENT_SPEC)
    # Nothing runs on the host: a run_once task works even before the machines are reachable.
    _requires_connection = False

    def run(self, tmp: str | None = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        result = super().run(tmp, task_vars)
        _validation, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        result["changed"] = False
        try:
            # Searched like the src of ansible.builtin.copy: role files/, role, playbook files/, playbook dir.
            directory = self._find_needle("files", args["path"])
        except AnsibleFileNotFound as error:
            result.update(failed=True, msg=f"cannot find the manifest directory {args['path']!r}: {error.message}")
            return result
        try:
            shoot = compile_shoot_fact(
                read_manifests(directory),
                args["machines"],
                require_managed_infrastructure=args["require_managed_infrastructure"],
            )
        except ManifestError as error:
            result.update(failed=True, msg=str(error), problems=error.problems)
            return result
        result.update(shoot=shoot, ansible_facts={"shoot": shoot})
        if shoot.get("credentials") or shoot.get("shoot_state"):
            # The fact then holds secrets: its display is censored even where the task lacks no_log, and failures
            # (which never quote secrets) stay readable.
            result["_ansible_no_log"] = True
        return result
