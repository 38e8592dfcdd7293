# Copyright (c) 2026 gardener.autonomous contributors
# Apache License 2.0 (see LICENSE)
from __future__ import annotations

DOCUMENTATION = r"""
module: bootstrap_token
short_description: Create or delete a bootstrap token of a self-hosted shoot, like gardenadm token create and delete
version_added: 0.1.0
description:
  - Keeps the bootstrap token C(<id>.<secret>) in the Secret C(kube-system/bootstrap-token-<id>) of type
    C(bootstrap.kubernetes.io/token), exactly as C(gardenadm token create) writes it, with the data keys
    C(token-id), C(token-secret), C(expiration) (RFC 3339, UTC), C(description),
    C(usage-bootstrap-authentication=true) and C(usage-bootstrap-signing=true), and
    C(auth-extra-groups) only when O(groups) are given.
  - kube-apiserver (with C(--enable-bootstrap-token-auth)) authenticates the token as user
    C(system:bootstrap:<id>) in group C(system:bootstrappers) until it expires. Joining machines use it
    for their first client certificate.
  - Without O(token) a new random token is created every time (so the task always reports a change);
    with O(token) the Secret is created or corrected, and left alone, its expiration included, when it
    already holds the same secret, description, usages and groups and has not expired.
  - "The token is returned in RV(token). The task B(must) set C(no_log: true), or the token appears in the
    output and logs. Error messages never contain the token."
author:
  - gardener.autonomous contributors (@gardener)
extends_documentation_fragment:
  - gardener.autonomous.attributes
  - gardener.autonomous.attributes.ACTIONGROUP_KUBERNETES
  - gardener.autonomous.kubernetes_auth
attributes:
  check_mode:
    support: full
    details:
      - Writes nothing. A token that would be generated is returned as V(null) with C(changed=true).
  diff_mode:
    support: none
  idempotent:
    support: partial
    details:
      - Only with O(token) (or O(state=absent)); without O(token) every run creates a new token.
options:
  state:
    description:
      - V(present) creates the token (or makes its Secret match); V(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
  token:
    description:
      - The token, C(<id>.<secret>) with a 6-character id and a 16-character secret, each of digits and
        lower-case letters a-z (C([a-z0-9]{6}\.[a-z0-9]{16})).
      - With O(state=present), a random token is generated when not given.
      - With O(state=absent), selects the token to delete (only its id is used).
    type: str
  ttl:
    description:
      - How long a created or corrected token stays valid, from now, as hours, minutes and seconds,
        for example V(10m), V(1h), V(1h30m), V(24h); 10 minutes to 24 hours.
    type: str
    default: 1h
  description:
    description:
      - The token's description.
      - When not given, C(gardenadm)'s description of join tokens,
        C(Used for joining nodes to a self-hosted shoot cluster via 'gardenadm join').
    type: str
  groups:
    description:
      - Extra groups the token authenticates with, written to C(auth-extra-groups). Each starts with
        C(system:bootstrappers:) followed by lower-case letters, digits, C(:) or C(-).
    type: list
    elements: str
    default: []
  id:
    description:
      - With O(state=absent), the 6-character id of the token to delete.
    type: str
  name:
    description:
      - With O(state=absent), the name of the Secret to delete, C(bootstrap-token-<id>).
    type: str
notes:
  - With O(state=absent), give one of O(id), O(token) or O(name); a token that does not exist is no error.
  - Expired tokens are not removed by this module; kube-controller-manager's token cleaner deletes them.
seealso:
  - module: gardener.autonomous.bootstrap_token_info
"""

EXAMPLES = r"""
- name: Create a join token valid for two hours
  gardener.autonomous.bootstrap_token:
    ttl: 2h
  register: join_token
  no_log: true

- name: Keep a given token (from a vault) valid
  gardener.autonomous.bootstrap_token:
    token: "{{ vault_worker_bootstrap_token }}"
    ttl: 24h
    groups:
      - system:bootstrappers:workers
  no_log: true

- name: Delete the join token after the workers have joined
  gardener.autonomous.bootstrap_token:
    state: absent
    id: "{{ join_token.id }}"

- name: Delete a token from the controller, with a kubeconfig read there
  gardener.autonomous.bootstrap_token:
    state: absent
    name: bootstrap-token-abcdef
    kubeconfig: "{{ lookup('ansible.builtin.file', 'artifacts/admin.kubeconfig') | from_yaml }}"
  delegate_to: localhost
"""

RETURN = r"""
token:
  description:
    - "The full token, C(<id>.<secret>). Sensitive; the task must set C(no_log: true)."
    - V(null) when a token would be generated in check mode.
  returned: when O(state=present)
  type: str
  sample: abcdef.0123456789abcdef
id:
  description: The token's id; V(null) when a token would be generated in check mode.
  returned: always
  type: str
  sample: abcdef
secret_name:
  description: Name of the Secret in C(kube-system); V(null) when a token would be generated in check mode.
  returned: always
  type: str
  sample: bootstrap-token-abcdef
expiration:
  description:
    - When the token expires (RFC 3339, UTC). Unchanged tokens keep the expiration they had.
  returned: when O(state=present)
  type: str
  sample: "2026-03-01T13:00:00Z"
"""

from datetime import datetime, timezone
from typing import Any

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.parameters import remove_values

from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.args import AUTH_ARG_SPEC, reveal_kubeconfig
from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.bootstrap_tokens import (
    DEFAULT_DESCRIPTION,
    BootstrapTokens,
    parse_ttl,
    secret_name,
    token_id_of,
    validate_groups,
)
from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.client import KubeClient
from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.errors import KubeError
from ansible_collections.gardener.autonomous.plugins.module_utils._yaml import require_yaml

ARGUMENT_SPEC: dict[str, Any] = {
    **AUTH_ARG_SPEC,
    "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
    "token": {"type": "str", "no_log": True},
    "ttl": {"type": "str", "default": "1h"},
    "description": {"type": "str"},
    "groups": {"type": "list", "elements": "str", "default": []},
    "id": {"type": "str"},
    "name": {"type": "str"},
}


def present(module: AnsibleModule, tokens: BootstrapTokens) -> dict[str, Any]:
    params = module.params
    if params["id"] or params["name"]:
        module.fail_json(msg="id and name only select a token to delete; give token to keep a specific token")
    outcome = tokens.ensure(
        params["token"],
        parse_ttl(params["ttl"]),
        DEFAULT_DESCRIPTION if params["description"] is None else params["description"],
        validate_groups(params["groups"]),
    )
    return {
        "changed": outcome.changed,
        "token": outcome.token,
        "id": outcome.token_id,
        "secret_name": outcome.secret_name,
        "expiration": outcome.expiration,
    }


def absent(module: AnsibleModule, tokens: BootstrapTokens) -> dict[str, Any]:
    params = module.params
    token_id = token_id_of(params["id"], params["token"], params["name"])
    return {"changed": tokens.delete(token_id), "id": token_id, "secret_name": secret_name(token_id)}


def exit_returning_token(module: AnsibleModule, result: dict[str, Any]) -> None:
    """Returns the token unmasked, on purpose (the task sets no_log). A given token came in through
    the no_log option ``token``, and Ansible would turn it into ******** wherever it appears; the
    invocation shown with -vvv keeps it masked."""
    invocation = {"module_args": remove_values(module.params, module.no_log_values)}
    module.no_log_values.discard(module.params["token"])
    module.exit_json(invocation=invocation, **result)


def main() -> None:
    module = AnsibleModule(
        argument_spec=ARGUMENT_SPEC,
        mutually_exclusive=[("id", "token", "name")],
        required_if=[("state", "absent", ("id", "token", "name"), True)],
        supports_check_mode=True,
    )
    require_yaml(module)
    reveal_kubeconfig(module.no_log_values, module.params["kubeconfig"])
    try:
        with KubeClient.from_kubeconfig(module.params["kubeconfig"], module.params["context"]) as client:
            tokens = BootstrapTokens(client, lambda: datetime.now(timezone.utc), module.check_mode)
            handle = absent if module.params["state"] == "absent" else present
            result = handle(module, tokens)
    except KubeError as error:
        module.fail_json(msg=str(error))
    if module.params["state"] == "present":
        exit_returning_token(module, result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
