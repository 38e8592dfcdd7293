# Copyright (c) 2026 gardener.autonomous contributors
# Apache License 2.0 (see LICENSE)
from __future__ import annotations

DOCUMENTATION = r"""
module: kubelet_serving_csr
short_description: Approve a node's kubelet serving certificate requests after checking them
version_added: 0.1.0
description:
  - Decides the pending certificate signing requests (CSRs) for the serving certificate of the kubelet on
    O(node_name), with the checks of Gardener's gardener-resource-manager CSR approver.
  - "A CSR is the node's when its C(signerName) is C(kubernetes.io/kubelet-serving) and it was made by
    C(system:node:<node_name>) or asks for C(CN=system:node:<node_name>). It is approved when:
    it was made by C(system:node:<node_name>) in group C(system:nodes); its usages are exactly
    C(digital signature), C(server auth) and optionally C(key encipherment); its subject is
    C(CN=system:node:<node_name>) with exactly one organization, C(system:nodes); and it has at least
    one subject alternative name, only DNS names and IP addresses, each one of the Node's
    C(status.addresses) or of O(addresses)."
  - Every other CSR of the node is denied (see O(deny_mismatched)) with a C(Denied) condition whose message
    says why, and reported in RV(denied).
  - Decisions go through the C(approval) subresource of C(certificates.k8s.io/v1), or C(v1beta1) on
    clusters that do not serve v1, guarded by the CSR's resourceVersion so that a decision someone else
    made meanwhile is kept.
  - CSRs already approved or denied are never touched again. kube-controller-manager issues the certificate
    of an approved CSR.
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
      - Reports what would be approved and denied among the CSRs pending now; writes nothing and never waits.
  diff_mode:
    support: none
  idempotent:
    support: full
    details:
      - With no CSR pending and one of the node's CSRs already approved, nothing changes and nothing is awaited.
options:
  node_name:
    description:
      - Name of the node, as registered by its kubelet.
    type: str
    required: true
  addresses:
    description:
      - DNS names and IP addresses the serving certificate may also hold, besides the addresses in the Node's
        C(status.addresses) (the node's IP and host name, when the Node is not registered yet).
    type: list
    elements: str
    default: []
  wait:
    description:
      - When none of the node's CSRs is pending and none was approved before, how many seconds to wait for
        one to appear (the API is watched, not polled). The task fails when none appears in time.
      - V(0) does not wait; the task then reports no change.
    type: int
    default: 60
  deny_mismatched:
    description:
      - Deny the node's CSRs that fail a check. With V(false) they stay pending and are reported in
        RV(left_pending).
    type: bool
    default: true
  state:
    description:
      - V(approved) approves the node's CSRs that pass the checks.
    type: str
    choices: [approved]
    default: approved
"""

EXAMPLES = r"""
- name: Approve the serving certificate of the kubelet that just started on this machine
  gardener.autonomous.kubelet_serving_csr:
    node_name: "{{ shoot.machines[inventory_hostname].node_name }}"
    addresses:
      - "{{ node_ip }}"
    wait: 120
  register: serving_csr

- name: Show what was denied
  ansible.builtin.debug:
    var: serving_csr.denied
  when: serving_csr.denied | length > 0
"""

RETURN = r"""
approved:
  description: Names of the CSRs approved now (would be, in check mode).
  returned: always
  type: list
  elements: str
  sample: [csr-8x2kq]
denied:
  description: The CSRs denied now (would be, in check mode), with the reason.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Name of the CSR.
      type: str
      sample: csr-7bw4d
    reason:
      description: Why it was denied, as in the message of its C(Denied) condition.
      type: str
      sample: "SANs not among the node's addresses: DNS:evil.example"
left_pending:
  description: The node's CSRs that failed a check but stay pending because O(deny_mismatched=false), with the reason.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Name of the CSR.
      type: str
    reason:
      description: Why it would be denied.
      type: str
already_approved:
  description: Names of the node's serving CSRs that were approved before (and not failed).
  returned: always
  type: list
  elements: str
  sample: [csr-4hd9s]
"""

from typing import Any

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.args import AUTH_ARG_SPEC, reveal_kubeconfig
from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.client import KubeClient
from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.errors import KubeError
from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.kubelet_serving_csr import (
    KubeletServingCsrApprover,
)
from ansible_collections.gardener.autonomous.plugins.module_utils._yaml import require_yaml

ARGUMENT_SPEC: dict[str, Any] = {
    **AUTH_ARG_SPEC,
    "node_name": {"type": "str", "required": True},
    "addresses": {"type": "list", "elements": "str", "default": []},
    "wait": {"type": "int", "default": 60},
    "deny_mismatched": {"type": "bool", "default": True},
    "state": {"type": "str", "choices": ["approved"], "default": "approved"},
}


def main() -> None:
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    require_yaml(module)
    reveal_kubeconfig(module.no_log_values, module.params["kubeconfig"])
    params = module.params
    if params["wait"] < 0:
        module.fail_json(msg=f"wait must be 0 or more seconds, not {params['wait']}")
    try:
        with KubeClient.from_kubeconfig(params["kubeconfig"], params["context"]) as client:
            approver = KubeletServingCsrApprover(
                client,
                params["node_name"],
                params["addresses"],
                deny_mismatched=params["deny_mismatched"],
                check_mode=module.check_mode,
            )
            outcome = approver.run(wait=params["wait"])
    except KubeError as error:
        module.fail_json(msg=str(error))
    module.exit_json(
        changed=outcome.changed,
        approved=outcome.approved,
        denied=[decision._asdict() for decision in outcome.denied],
        left_pending=[decision._asdict() for decision in outcome.left_pending],
        already_approved=outcome.already_approved,
    )


if __name__ == "__main__":
    main()
