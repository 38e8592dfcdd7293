# Copyright (c) 2026 gardener.autonomous contributors
# Apache License 2.0 (see LICENSE)
"""Action plugin of gardener.autonomous.shootstate_export: compiles the ShootState of a bootstrap namespace
and writes it to a file on the controller, vault-encrypted with the play's vault secret on request."""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from ansible import constants as C
from ansible.errors import AnsibleActionFail, AnsibleError
from ansible.module_utils.common.text.converters import to_bytes, to_text
from ansible.parsing.vault import is_encrypted, match_encrypt_secret
from ansible.plugins.action import ActionBase

from ansible_collections.gardener.autonomous.plugins.module_utils._gardener.shootstate import (
    ShootStateError,
    compile_shoot_state,
    dump_shoot_state,
    load_shoot_state,
    same_content,
    summarize,
)
from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.args import AUTH_ARG_SPEC
from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.client import KubeClient
from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.errors import KubeError
from ansible_collections.gardener.autonomous.plugins.module_utils._node.files import (
    mode_of,
    read_bytes,
    set_mode,
    write_atomic,
)

ARGUMENT_SPEC: dict[str, Any] = {
    **AUTH_ARG_SPEC,
    "namespace": {"type": "str", "required": True},
    "shoot_name": {"type": "str", "required": True},
    "shoot_namespace": {"type": "str", "required": True},
    "extra_secrets": {"type": "list", "elements": "dict", "default": [], "no_log": True},
    "secrets_only": {"type": "bool", "default": False},
    "dest": {"type": "path", "required": True},
    "encrypt": {"type": "bool", "default": False},
    "mode": {"type": "raw", "default": "0600"},
}


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    # Everything happens on the controller: the API client, the vault secret and the file.
    _requires_connection = False

    def run(self, tmp: str | None = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        result = super().run(tmp, task_vars)
        _validation, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        dest, mode = args["dest"], _file_mode(args["mode"])
        try:
            with KubeClient.from_kubeconfig(args["kubeconfig"], args["context"]) as client:
                shoot_state = compile_shoot_state(
                    client,
                    args["namespace"],
                    args["shoot_name"],
                    args["shoot_namespace"],
                    now=datetime.now(timezone.utc),
                    extra_secrets=args["extra_secrets"],
                    secrets_only=args["secrets_only"],
                )
            existing_text = _read_text(dest)
            existing = self._existing_shoot_state(dest, existing_text)
        except (KubeError, ShootStateError) as error:
            raise AnsibleActionFail(str(error)) from None

        content_current = (
            existing is not None
            and same_content(existing, shoot_state)
            and is_encrypted(existing_text or "") == args["encrypt"]
        )
        previous_mode = mode_of(dest)
        changed = not content_current or previous_mode != mode
        if changed and not self._task.check_mode:
            self._write(dest, shoot_state, mode, rewrite=not content_current, encrypt=args["encrypt"])
        result.update(changed=changed, dest=dest, summary=summarize(shoot_state))
        if self._task.diff:
            result["diff"] = {
                "before": _describe(summarize(existing) if existing is not None else None, previous_mode),
                "after": _describe(result["summary"], mode),
                "before_header": dest,
                "after_header": dest,
            }
        return result

    def _write(self, dest: str, shoot_state: Mapping[str, Any], mode: int, *, rewrite: bool, encrypt: bool) -> None:
        try:
            if rewrite:
                text = dump_shoot_state(shoot_state)
                write_atomic(dest, to_bytes(self._encrypt(text) if encrypt else text), mode)
            else:
                set_mode(dest, mode)
        except OSError as error:
            raise AnsibleActionFail(f"cannot write {dest}: {error.strerror or error}") from None

    def _existing_shoot_state(self, dest: str, text: str | None) -> dict[str, Any] | None:
        """The ShootState in ``dest``, or None when there is none or it is not a readable ShootState
        (it is replaced then). A vault-encrypted file needs the play's vault secret."""
        if text is None:
            return None
        if is_encrypted(text):
            text = self._decrypt(dest, text)
        try:
            return load_shoot_state(text, dest)
        except ShootStateError:
            return None

    def _decrypt(self, dest: str, text: str) -> str:
        vault = self._loader._vault
        if not vault.secrets:
            raise AnsibleActionFail(
                f"{dest} is vault-encrypted but no vault secret is loaded; run with --vault-id or --vault-password-file"
            )
        try:
            return to_text(vault.decrypt(text))
        except AnsibleError:
            raise AnsibleActionFail(
                f"{dest} cannot be decrypted with the loaded vault secrets; run with the vault secret it was "
                "encrypted with, or remove the file"
            ) from None

    def _encrypt(self, text: str) -> str:
        vault = self._loader._vault
        if not vault.secrets:
            raise AnsibleActionFail(
                "encrypt is true but no vault secret is loaded; run with --vault-id or --vault-password-file"
            )
        vault_id, secret = match_encrypt_secret(vault.secrets, C.DEFAULT_VAULT_ENCRYPT_IDENTITY)
        return to_text(vault.encrypt(text, secret, vault_id=vault_id))


def _file_mode(value: Any) -> int:
    """An octal string such as "0600", or an int (YAML reads an unquoted 0600 as octal already)."""
    try:
        mode = int(value, 8) if isinstance(value, str) else int(value)
    except (TypeError, ValueError):
        raise AnsibleActionFail(f"mode must be an octal string such as '0600', got {value!r}") from None
    if not 0 <= mode <= 0o7777:
        raise AnsibleActionFail(f"mode {value!r} is not a file mode")
    return mode


def _read_text(path: str) -> str | None:
    content = read_bytes(path)
    if content is None and os.path.lexists(path):
        raise ShootStateError(f"{path} exists but is not a regular file")
    return None if content is None else to_text(content, errors="surrogate_or_strict")


def _describe(summary: Mapping[str, Any] | None, mode: int | None) -> str:
    """Names and counts, never data."""
    if summary is None:
        return ""
    lines = [
        f"secrets ({summary['secrets']}): {', '.join(summary['secret_names'])}",
        f"extensions ({summary['extensions']}): {', '.join(summary['extension_names'])}",
        f"machines ({summary['machines']}): {', '.join(summary['machine_names'])}",
    ]
    if mode is not None:
        lines.append(f"mode: {mode:04o}")
    return "\n".join(lines) + "\n"
