# Copyright (c) 2026 gardener.autonomous contributors
# Apache License 2.0 (see LICENSE)
# Note that this module util is PRIVATE to the collection. It can have breaking changes at any time.
"""The body of the extension object modules: options in, run() of extension_objects, result out.
Unlike most module utils this one imports Ansible (AnsibleModule)."""

from __future__ import annotations

from datetime import datetime, timezone

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.gardener.autonomous.plugins.module_utils._gardener.extension_args import (
    extension_argument_spec,
)
from ansible_collections.gardener.autonomous.plugins.module_utils._gardener.extension_objects import (
    ExtensionFailed,
    Request,
    run,
)
from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.args import reveal_kubeconfig
from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.client import KubeClient
from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.errors import KubeError
from ansible_collections.gardener.autonomous.plugins.module_utils._yaml import require_yaml


def run_extension_module(kind: str, wait_timeout: int) -> None:
    """Runs the module for one extension kind; ``wait_timeout`` is the kind's default in seconds."""
    module = AnsibleModule(
        argument_spec=extension_argument_spec(wait_timeout),
        required_if=[("state", "present", ("spec",))],
        supports_check_mode=True,
    )
    require_yaml(module)
    params = module.params
    reveal_kubeconfig(module.no_log_values, params["kubeconfig"])
    request = Request(
        kind=kind,
        namespace=params["namespace"],
        name=params["name"],
        state=params["state"],
        spec=params["spec"] or {},
        labels=params["labels"],
        annotations=params["annotations"],
        force_reconcile=params["force_reconcile"],
        wait=params["wait"],
        wait_timeout=params["wait_timeout"],
        field_manager=params["field_manager"],
    )
    try:
        with KubeClient.from_kubeconfig(params["kubeconfig"], params["context"]) as client:
            result = run(
                client, request, now=datetime.now(timezone.utc), check_mode=module.check_mode, diff=module._diff
            )
    except ExtensionFailed as error:
        module.fail_json(msg=str(error), **error.result)
    except KubeError as error:
        module.fail_json(msg=str(error))
    module.exit_json(**result)
