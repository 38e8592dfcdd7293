# Copyright (c) 2026 gardener.autonomous contributors
# Apache License 2.0 (see LICENSE)
from __future__ import annotations

DOCUMENTATION = r"""
module: gardener_infrastructure
short_description: Create, delete or migrate a Gardener Infrastructure extension object and wait for it
version_added: 0.1.0
description:
  - Declares the C(extensions.gardener.cloud/v1alpha1) C(Infrastructure) of a shoot in the bootstrap cluster
    (C(gardenadm bootstrap) step "Infrastructure"), asks its provider extension to reconcile it and waits until
    it is ready; or migrates or deletes it.
  - Its C(spec) carries C(type), C(region), C(secretRef) (the C(cloudprovider) Secret of the namespace),
    C(providerConfig) and C(sshPublicKey) (base64).
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
      - Seconds to wait with O(wait); the Infrastructure default (gardenlet waits up to 10 minutes as well).
    type: int
    default: 600
"""

EXAMPLES = r"""
- name: Create the shoot's infrastructure and wait until the extension has reconciled it
  gardener.autonomous.gardener_infrastructure:
    kubeconfig: "{{ bootstrap_kubeconfig }}"
    namespace: shoot--garden--root
    name: root
    spec:
      type: local
      region: local
      secretRef:
        name: cloudprovider
        namespace: shoot--garden--root
      providerConfig:
        apiVersion: local.provider.extensions.gardener.cloud/v1alpha1
        kind: InfrastructureConfig
      sshPublicKey: "{{ ssh_public_key | b64encode }}"
  register: infrastructure

- name: Show what the provider reported
  ansible.builtin.debug:
    var: infrastructure.provider_status

- name: Hand the infrastructure over to the new cluster (migrate, keep the object)
  gardener.autonomous.gardener_infrastructure:
    kubeconfig: "{{ bootstrap_kubeconfig }}"
    namespace: shoot--garden--root
    name: root
    state: migrated

- name: Delete it (the extension removes the cloud resources, then its finalizer)
  gardener.autonomous.gardener_infrastructure:
    kubeconfig: "{{ bootstrap_kubeconfig }}"
    namespace: shoot--garden--root
    name: root
    state: absent
    wait_timeout: 1200
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
    kind: Infrastructure
    metadata:
      name: root
      namespace: shoot--garden--root
      annotations:
        gardener.cloud/timestamp: "2026-08-21T10:00:00.123456789Z"
      generation: 1
    spec: {type: local, region: local, secretRef: {name: cloudprovider, namespace: shoot--garden--root}}
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
provider_status:
  description: The Infrastructure's C(status.providerStatus) (for example the networks and subnets created).
  returned: when O(state) is V(present) or V(migrated)
  type: dict
  sample:
    apiVersion: local.provider.extensions.gardener.cloud/v1alpha1
    kind: InfrastructureStatus
"""

from ansible_collections.gardener.autonomous.plugins.module_utils._gardener.extension_module import (
    run_extension_module,
)


def main() -> None:
    run_extension_module("Infrastructure", wait_timeout=600)


if __name__ == "__main__":
    main()
