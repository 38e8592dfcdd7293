# Copyright (c) 2026 gardener.autonomous contributors
# Apache License 2.0 (see LICENSE)
from __future__ import annotations

# Documentation only: the action plugin of the same name does the work, on the controller.

DOCUMENTATION = r"""
module: shootstate_export
short_description: Export the ShootState of a bootstrap namespace to a file on the controller
version_added: 0.1.0
description:
  - Compiles the C(core.gardener.cloud/v1beta1) C(ShootState) of a shoot from its namespace in the bootstrap
    cluster, as C(gardenadm bootstrap) does before it hands over to the new cluster, and writes it as YAML to
    O(dest) on the controller. C(gardenadm init) reads it from C(/var/lib/gardenadm/manifests/shootstate.yaml).
  - C(metadata) is the Shoot's name and namespace and the annotation C(gardener.cloud/timestamp) (now).
  - C(spec.gardener) holds every Secret of O(namespace) labelled C(persist=true) (Gardener's secrets manager
    persists CAs, the SSH key pair and similar that way) as an entry with C(name), C(type=secret), C(labels) and
    C(data) in SecretState format (C(data), C(type), C(immutable)), merged with O(extra_secrets) by C(labels.name); and,
    when the namespace has MachineDeployments with MachineSets, the entry C(machine-state) whose C(data.state)
    is the gzipped JSON of the machine state (MachineSets and Machines without status; machines with neither a
    provider ID nor a C(node) label left out).
  - C(spec.extensions) holds C(kind), C(name), C(purpose) (OperatingSystemConfig only), C(state) and
    C(resources) of every BackupEntry, ContainerRuntime, ControlPlane, DNSRecord, Extension, Infrastructure,
    Network, OperatingSystemConfig, SelfHostedShootExposure and Worker in O(namespace) that has a
    C(status.state) or C(status.resources) and is not being deleted; C(spec.resources) the objects those
    resources reference, without server-written metadata.
  - The file is written atomically with O(mode). It is left untouched when its content (decrypted, if
    encrypted) equals the new ShootState but for the timestamp annotation and it is in the form O(encrypt)
    asks for; a file that is not a readable ShootState is replaced.
  - The ShootState holds private keys. Keep O(dest) private and prefer O(encrypt=true).
author:
  - gardener.autonomous contributors (@gardener)
requirements:
  - PyYAML on the controller.
extends_documentation_fragment:
  - gardener.autonomous.attributes
  - gardener.autonomous.attributes.ACTIONGROUP_KUBERNETES
  - gardener.autonomous.kubernetes_auth
attributes:
  action:
    description: Runs as an action plugin on the controller.
    support: full
    details: The controller needs to reach the bootstrap cluster's API server; O(dest) is a file on the controller.
  check_mode:
    support: full
    details: Reads the cluster and O(dest) and reports whether the file would change; writes nothing.
  diff_mode:
    support: full
    details:
      - C(before) and C(after) list the names and counts of secrets, extensions and machines and the file mode,
        never any data.
  idempotent:
    support: full
    details:
      - A rerun against an unchanged namespace leaves the file untouched, old timestamp included.
options:
  namespace:
    description:
      - The shoot's namespace in the bootstrap cluster (its technical ID, C(shoot--<project>--<name>)).
    type: str
    required: true
  shoot_name:
    description: Name of the Shoot (C(metadata.name) of the ShootState).
    type: str
    required: true
  shoot_namespace:
    description: Namespace of the Shoot in the garden (C(metadata.namespace) of the ShootState), for example C(garden).
    type: str
    required: true
  extra_secrets:
    description:
      - Further secrets as SecretState entries (C(name), C(type=secret), C(labels), C(data) with C(data),
        C(type) and C(immutable)), the format of the control-plane machines' secrets state that the
        C(cluster_pki) action keeps.
      - An entry replaces the Secret of the bootstrap cluster with the same C(labels.name) (or, without that
        label, the same C(name)).
      - Never logged.
    type: list
    elements: dict
    default: []
  secrets_only:
    description:
      - Only the persisted secrets (and O(extra_secrets)) in C(spec.gardener), no machine state, no
        C(spec.extensions), no C(spec.resources).
      - For the state a bootstrap works with before its machines exist; what it contains then does not
        depend on how far the extensions have got.
    type: bool
    default: false
  dest:
    description: Path of the ShootState file on the controller. Its directory must exist.
    type: path
    required: true
  encrypt:
    description:
      - Encrypt the file with ansible-vault, with the play's default vault secret (C(--vault-id) or
        C(--vault-password-file)); an encrypted O(dest) is decrypted with the play's vault secrets either way.
    type: bool
    default: false
  mode:
    description: File mode of O(dest), an octal string.
    type: raw
    default: "0600"
"""

EXAMPLES = r"""
- name: Export the ShootState for gardenadm init, with the control-plane machines' secrets
  gardener.autonomous.shootstate_export:
    kubeconfig: "{{ bootstrap_kubeconfig }}"
    namespace: "{{ shoot.technical_id }}"
    shoot_name: "{{ shoot.name }}"
    shoot_namespace: "{{ shoot.namespace }}"
    extra_secrets: "{{ (pki_state_text | from_yaml) | default([], true) }}"
    dest: "{{ inventory_dir }}/artifacts/shootstate.yaml"
    encrypt: true
  run_once: true
  register: shootstate

- name: Show what it holds (names only)
  ansible.builtin.debug:
    var: shootstate.summary
"""

RETURN = r"""
dest:
  description: Path of the ShootState file.
  returned: always
  type: str
  sample: /home/ops/site/artifacts/shootstate.yaml
summary:
  description: What the ShootState holds, names and counts only.
  returned: always
  type: dict
  contains:
    secrets:
      description: Number of secret entries in C(spec.gardener).
      type: int
    extensions:
      description: Number of entries in C(spec.extensions).
      type: int
    machines:
      description: Number of machines in the machine state.
      type: int
    secret_names:
      description: Names of the secret entries, sorted.
      type: list
      elements: str
    extension_names:
      description: C(<kind>/<name>) of each entry in C(spec.extensions).
      type: list
      elements: str
    machine_names:
      description: Names of the machines in the machine state, sorted.
      type: list
      elements: str
  sample:
    secrets: 2
    extensions: 1
    machines: 1
    secret_names: [ca-3f2a1b7c, ssh-keypair-9d8e7f6a]
    extension_names: [Worker/root]
    machine_names: [shoot--garden--root-control-plane-6b8f9-x2k4l]
"""
