# Copyright (c) 2026 gardener.autonomous contributors
# Apache License 2.0 (see LICENSE)
from __future__ import annotations

DOCUMENTATION = r"""
module: gardener_bastion
short_description: Create or delete a Gardener Bastion extension object and wait for its address
version_added: 0.1.0
description:
  - Declares an C(extensions.gardener.cloud/v1alpha1) C(Bastion) in the bootstrap cluster (C(gardenadm
    bootstrap) creates C(gardenadm-bootstrap) to reach the first control-plane machine over SSH), waits until
    the provider extension has created the bastion host and returns its public address; or deletes it.
  - Its C(spec) carries C(type), C(userData) (base64 of the script the host runs at boot, for example one that
    creates a user with an authorized key and starts sshd) and C(ingress), the CIDRs allowed to connect
    (a list of C(ipBlock.cidr)). The CRD forbids spec changes once the object is being deleted.
  - The bootstrap cluster's extension controller does the work; without one the object never becomes ready.
author:
  - gardener.autonomous contributors (@gardener)
extends_documentation_fragment:
  - gardener.autonomous.attributes
  - gardener.autonomous.attributes.ACTIONGROUP_KUBERNETES
  - gardener.autonomous.kubernetes_auth
  - gardener.autonomous.gardener_extension
options:
  wait_timeout:
    description:
      - Seconds to wait with O(wait); the Bastion default (gardenlet waits up to 15 minutes as well).
    type: int
    default: 900
"""

EXAMPLES = r"""
- name: Open a bastion for the bootstrap and wait for its address
  gardener.autonomous.gardener_bastion:
    kubeconfig: "{{ bootstrap_kubeconfig }}"
    namespace: shoot--garden--root
    name: gardenadm-bootstrap
    spec:
      type: local
      userData: "{{ lookup('ansible.builtin.template', 'bastion-user-data.sh.j2') | b64encode }}"
      ingress:
        - ipBlock: {cidr: "{{ controller_public_ip }}/32"}
  register: bastion

- name: Connect to the machines through it
  ansible.builtin.set_fact:
    ansible_ssh_common_args: >-
      -o ProxyJump=gardener@{{ bastion.ingress.ip | default(bastion.ingress.hostname) }}

- name: Remove the bastion after the bootstrap
  gardener.autonomous.gardener_bastion:
    kubeconfig: "{{ bootstrap_kubeconfig }}"
    namespace: shoot--garden--root
    name: gardenadm-bootstrap
    state: absent
"""

RETURN = r"""
object:
  description:
    - The object after the task (predicted by a dry run in check mode), without C(metadata.managedFields).
    - C(null) when it does not exist.
  returned: when O(state) is V(present) or V(migrated), and on a failed wait
  type: dict
  sample:
    apiVersion: extensions.gardener.cloud/v1alpha1
    kind: Bastion
    metadata:
      name: gardenadm-bootstrap
      namespace: shoot--garden--root
      annotations:
        gardener.cloud/timestamp: "2026-08-21T10:00:00.123456789Z"
      generation: 1
    spec: {type: local, userData: IyEvYmluL2Jhc2gK, ingress: [{ipBlock: {cidr: 0.0.0.0/0}}]}
    status:
      observedGeneration: 1
      lastOperation: {type: Create, state: Succeeded, progress: 100, lastUpdateTime: "2026-08-21T10:00:42Z"}
status:
  description: The parts of C(object.status) a play needs; each key is C(null) when the extension did not set it.
  returned: when O(state) is V(present) or V(migrated), and on a failed wait
  type: dict
  contains:
    providerStatus:
      description: The extension's C(status.providerStatus).
      type: dict
    state:
      description: The extension's C(status.state), persisted into the ShootState.
      type: dict
    lastOperation:
      description: C(status.lastOperation) (C(type), C(state), C(progress), C(description), C(lastUpdateTime)).
      type: dict
    lastError:
      description: C(status.lastError) (C(description), C(codes), C(taskID), C(lastUpdateTime)).
      type: dict
  sample:
    providerStatus: null
    state: null
    lastOperation: {type: Create, state: Succeeded, progress: 100, lastUpdateTime: "2026-08-21T10:00:42Z"}
    lastError: null
ingress:
  description: The bastion host's public address, C(status.ingress) with C(ip) and/or C(hostname); empty until set.
  returned: when O(state) is V(present) or V(migrated)
  type: dict
  sample:
    ip: 203.0.113.10
"""

from ansible_collections.gardener.autonomous.plugins.module_utils._gardener.extension_module import (
    run_extension_module,
)


def main() -> None:
    run_extension_module("Bastion", wait_timeout=900)


if __name__ == "__main__":
    main()
