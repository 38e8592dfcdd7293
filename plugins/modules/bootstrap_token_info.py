# Copyright (c) 2026 gardener.autonomous contributors
# Apache License 2.0 (see LICENSE)
from __future__ import annotations

DOCUMENTATION = r"""
module: bootstrap_token_info
short_description: List the bootstrap tokens of a self-hosted shoot
version_added: 0.1.0
description:
  - Lists the bootstrap tokens kube-apiserver can read, the Secrets of type C(bootstrap.kubernetes.io/token)
    named C(bootstrap-token-<id>) in C(kube-system) whose C(token-id) is that id.
  - The secret part of the tokens is returned only with O(with_secret=true).
author:
  - gardener.autonomous contributors (@gardener)
extends_documentation_fragment:
  - gardener.autonomous.attributes
  - gardener.autonomous.attributes.ACTIONGROUP_KUBERNETES
  - gardener.autonomous.kubernetes_auth
attributes:
  check_mode:
    support: full
    details: Reads only; runs the same in check mode.
  diff_mode:
    support: N/A
    details: Changes nothing.
  idempotent:
    support: full
options:
  with_secret:
    description:
      - "Also return each full token in RV(tokens[].token). Sensitive; the task must then set C(no_log: true)."
    type: bool
    default: false
seealso:
  - module: gardener.autonomous.bootstrap_token
"""

EXAMPLES = r"""
- name: List the bootstrap tokens
  gardener.autonomous.bootstrap_token_info:
  register: bootstrap_tokens

- name: Delete the expired ones
  gardener.autonomous.bootstrap_token:
    state: absent
    id: "{{ item.id }}"
  loop: "{{ bootstrap_tokens.tokens | selectattr('expired') }}"
  loop_control:
    label: "{{ item.id }}"
"""

RETURN = r"""
tokens:
  description: The bootstrap tokens, ordered by id.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: The token's id.
      type: str
      sample: abcdef
    secret_name:
      description: Name of its Secret in C(kube-system).
      type: str
      sample: bootstrap-token-abcdef
    expiration:
      description: When it expires (RFC 3339); V(null) when it does not expire.
      type: str
      sample: "2026-03-01T13:00:00Z"
    expired:
      description: Whether it has expired (an unreadable expiration counts as expired, as kube-apiserver reads it).
      type: bool
      sample: false
    description:
      description: Its description.
      type: str
      sample: Used for joining nodes to a self-hosted shoot cluster via 'gardenadm join'
    usages:
      description: Its usages, the C(usage-bootstrap-<usage>) keys set to C(true).
      type: list
      elements: str
      sample: [authentication, signing]
    groups:
      description: Its extra groups (C(auth-extra-groups)).
      type: list
      elements: str
      sample: []
    token:
      description: The full token C(<id>.<secret>). Sensitive.
      returned: when O(with_secret=true)
      type: str
      sample: abcdef.0123456789abcdef
"""

from datetime import datetime, timezone
from typing import Any

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.args import AUTH_ARG_SPEC, reveal_kubeconfig
from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.bootstrap_tokens import (
    BootstrapTokens,
    TokenInfo,
)
from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.client import KubeClient
from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.errors import KubeError
from ansible_collections.gardener.autonomous.plugins.module_utils._yaml import require_yaml

ARGUMENT_SPEC: dict[str, Any] = {
    **AUTH_ARG_SPEC,
    "with_secret": {"type": "bool", "default": False},
}


def describe(info: TokenInfo, with_secret: bool) -> dict[str, Any]:
    described = {
        "id": info.token_id,
        "secret_name": info.secret_name,
        "expiration": info.expiration,
        "expired": info.expired,
        "description": info.description,
        "usages": info.usages,
        "groups": info.groups,
    }
    if with_secret:
        described["token"] = info.token
    return described


def main() -> None:
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    require_yaml(module)
    reveal_kubeconfig(module.no_log_values, module.params["kubeconfig"])
    try:
        with KubeClient.from_kubeconfig(module.params["kubeconfig"], module.params["context"]) as client:
            found = BootstrapTokens(client, lambda: datetime.now(timezone.utc)).list()
    except KubeError as error:
        module.fail_json(msg=str(error))
    module.exit_json(changed=False, tokens=[describe(info, module.params["with_secret"]) for info in found])


if __name__ == "__main__":
    main()
