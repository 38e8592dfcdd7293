# Copyright (c) 2026 gardener.autonomous contributors
# Apache License 2.0 (see LICENSE)
from __future__ import annotations

DOCUMENTATION = r"""
module: static_pod
short_description: Run a static pod on a control-plane machine, with the files its volumes mount
version_added: 0.1.0
description:
  - Writes C(<manifest_dir>/<name>.yaml) for kubelet and the files the pod mounts under
    C(<files_dir>/<name>/<volume>/), following the conventions of C(gardenadm)'s static pod
    translator.
  - The manifest gets namespace C(kube-system), label C(static-pod=true), annotation
    C(gardener.cloud/config.mirror) (a sha256 over O(pod) and every file's volume, name, mode and
    content, so that a changed file changes the manifest and kubelet restarts the pod),
    C(hostNetwork=true) and C(priorityClassName=system-node-critical) unless O(pod) sets them, and one
    C(hostPath) volume of type C(Directory) per volume in O(files).
  - Before anything is written the rendered Pod is validated offline against the Kubernetes Pod
    schema of O(kubernetes_version) (unknown fields, value types, required fields). Schemas ship for
    Kubernetes 1.20 and 1.25 and newer; a version without its own schema uses the nearest older one.
  - Volume files are written before the manifest, each atomically, so that a pod never starts with
    missing files. Files and volume directories below C(<files_dir>/<name>/) that are no longer in
    O(files) are removed after the manifest is written.
  - The manifest is compared as data, so a re-formatted or re-ordered manifest on disk is no change.
author:
  - gardener.autonomous contributors (@gardener)
requirements:
  - PyYAML on the target machine (Debian package C(python3-yaml)).
extends_documentation_fragment:
  - gardener.autonomous.attributes
attributes:
  check_mode:
    support: full
    details: Predicts C(changed); writes nothing and never waits.
  diff_mode:
    support: full
    details:
      - C(before) and C(after) hold the manifest and, per file, only C(<volume>/<file> <mode> <sha256>);
        file content never appears.
  idempotent:
    support: full
options:
  name:
    description:
      - Name of the static pod (a DNS-1123 label). Kubernetes shows its mirror pod as C(<name>-<node name>).
    type: str
    required: true
  state:
    description:
      - V(present) writes the manifest and its files; V(absent) removes the manifest, then
        C(<files_dir>/<name>).
    type: str
    choices: [present, absent]
    default: present
  pod:
    description:
      - The Pod. C(apiVersion), C(kind), C(metadata.name) and C(metadata.namespace) may be left out;
        when given they must be C(v1), C(Pod), O(name) and C(kube-system).
      - Its C(spec.volumes) must not declare a volume that O(files) also names.
      - Required when O(state=present).
    type: dict
  files:
    description:
      - "Files the pod mounts: C({<volume>: {<file name>: <content>}}), or C({<volume>: {<file name>:
        {content: <content>, mode: \"0600\"}}}) to set a mode. Each volume becomes the directory
        C(<files_dir>/<name>/<volume>) (mode C(0750)) and a C(hostPath) volume of that name in the pod."
      - Volume names are DNS-1123 labels; file names are single path components. Content is text.
      - A file's C(mode) is an octal string and defaults to C(0640); give C(0600) for keys and tokens.
    type: dict
  sensitive_values:
    description:
      - Secrets that appear inside O(pod) itself, such as a bearer token in a probe's header (the only way a probe
        authenticates when the API server refuses anonymous requests). They are masked in every output of the task,
        the invocation, the diff and C(-vvv) included, like the contents of O(files).
    type: list
    elements: str
    default: []
    version_added: 0.1.0
  kubernetes_version:
    description:
      - Kubernetes version of the machine's kubelet, for example C(1.20.2); selects the Pod schema.
      - Required when O(state=present).
    type: str
  validate:
    description:
      - Validate the rendered Pod against the Pod schema of O(kubernetes_version) before writing.
    type: bool
    default: true
  manifest_dir:
    description:
      - Kubelet's C(staticPodPath). Created with mode C(0750) when missing.
    type: path
    default: /etc/kubernetes/manifests
  files_dir:
    description:
      - Directory holding one directory of volume files per static pod.
    type: path
    default: /var/lib/static-pods
  wait:
    description:
      - After O(state=present), wait until O(wait.url) answers HTTP 200 (for example the component's
        C(/healthz)). A timeout fails the task with the last error. Never waits in check mode.
    type: dict
    suboptions:
      url:
        description: URL to poll, usually on C(127.0.0.1) or C(localhost).
        type: str
        required: true
      timeout:
        description: Seconds to wait for an HTTP 200.
        type: int
        default: 120
      validate_certs:
        description: Verify the server's certificate (against O(wait.ca_path) when given).
        type: bool
        default: true
      ca_path:
        description: PEM file of the CA(s) that sign the server's certificate.
        type: path
      client_cert_path:
        description: PEM client certificate (with O(wait.client_key_path)) for endpoints that require one.
        type: path
      client_key_path:
        description: PEM private key of O(wait.client_cert_path).
        type: path
"""

EXAMPLES = r"""
- name: Run kube-scheduler as a static pod and wait until it is healthy
  gardener.autonomous.static_pod:
    name: kube-scheduler
    kubernetes_version: "1.20.2"
    pod:
      spec:
        containers:
          - name: kube-scheduler
            image: localhost/gardener-autonomous/kube-scheduler:v1.20.2
            command:
              - kube-scheduler
              - --authentication-kubeconfig=/var/lib/kube-scheduler/kubeconfig/kubeconfig
              - --authorization-kubeconfig=/var/lib/kube-scheduler/kubeconfig/kubeconfig
              - --kubeconfig=/var/lib/kube-scheduler/kubeconfig/kubeconfig
              - --bind-address=127.0.0.1
              - --secure-port=10259
            volumeMounts:
              - name: kubeconfig
                mountPath: /var/lib/kube-scheduler/kubeconfig
                readOnly: true
    files:
      kubeconfig:
        kubeconfig:
          content: "{{ kube_scheduler_kubeconfig }}"
          mode: "0600"
    wait:
      url: https://127.0.0.1:10259/healthz
      validate_certs: false
      timeout: 180

- name: Remove the bootstrap etcd after the hand-over
  gardener.autonomous.static_pod:
    name: etcd-bootstrap-main
    state: absent
"""

RETURN = r"""
manifest_path:
  description: Path of the static pod manifest.
  returned: always
  type: str
  sample: /etc/kubernetes/manifests/kube-scheduler.yaml
checksum:
  description: The manifest's C(gardener.cloud/config.mirror) annotation (sha256 of the pod and its files).
  returned: when O(state=present)
  type: str
  sample: 3c5e0f3a2b0d4d8c9a1e7f6b5a4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c
files:
  description: Paths of the pod's volume files, written or already up to date. Never their content.
  returned: always
  type: list
  elements: str
  sample:
    - /var/lib/static-pods/kube-scheduler/kubeconfig/kubeconfig
waited:
  description: Seconds waited until O(wait.url) answered HTTP 200.
  returned: when O(wait) is set, O(state=present) and not in check mode
  type: float
  sample: 4.2
"""

from typing import Any

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.pod_schema import (
    UnsupportedKubernetesVersion,
    schema_release,
    validate_pod,
)
from ansible_collections.gardener.autonomous.plugins.module_utils._node.http_wait import (
    WaitTimeout,
    ssl_context,
    wait_for_ok,
)
from ansible_collections.gardener.autonomous.plugins.module_utils._node.static_pod import (
    Plan,
    StaticPodError,
    apply,
    describe_desired,
    describe_on_disk,
    plan_absent,
    plan_present,
)
from ansible_collections.gardener.autonomous.plugins.module_utils._yaml import require_yaml

ARGUMENT_SPEC: dict[str, Any] = {
    "name": {"type": "str", "required": True},
    "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
    "pod": {"type": "dict"},
    "files": {"type": "dict", "no_log": True},
    # Declared no_log, so that Ansible masks each of them wherever it appears, inside ``pod`` too.
    "sensitive_values": {"type": "list", "elements": "str", "default": [], "no_log": True},
    "kubernetes_version": {"type": "str"},
    "validate": {"type": "bool", "default": True},
    "manifest_dir": {"type": "path", "default": "/etc/kubernetes/manifests"},
    "files_dir": {"type": "path", "default": "/var/lib/static-pods"},
    "wait": {
        "type": "dict",
        "options": {
            "url": {"type": "str", "required": True},
            "timeout": {"type": "int", "default": 120},
            "validate_certs": {"type": "bool", "default": True},
            "ca_path": {"type": "path"},
            "client_cert_path": {"type": "path"},
            "client_key_path": {"type": "path", "no_log": False},
        },
    },
}


def keep_modes_visible(module: AnsibleModule) -> None:
    """Ansible masks every leaf value of a no_log option, as a substring, in all output. File modes
    ("0600") are no secret, and masking them would garble digests, paths and the diff."""
    modes: set[str] = set()
    contents: set[str] = set()
    for entries in (module.params["files"] or {}).values():
        for spec in entries.values() if isinstance(entries, dict) else ():
            if isinstance(spec, dict):
                modes.add(str(spec.get("mode")))
                contents.add(str(spec.get("content")))
            else:
                contents.add(str(spec))
    module.no_log_values.difference_update(modes - contents)


def build_plan(module: AnsibleModule) -> Plan:
    params = module.params
    if params["state"] == "absent":
        return plan_absent(params["name"], params["manifest_dir"], params["files_dir"])
    plan = plan_present(params["name"], params["pod"], params["files"], params["manifest_dir"], params["files_dir"])
    if params["validate"]:
        version = params["kubernetes_version"]
        errors = validate_pod(plan.manifest, version)
        if errors:
            module.fail_json(
                msg=f"static pod {params['name']!r} does not match the Pod schema of Kubernetes {version} "
                f"({schema_release(version)}); nothing was written: " + "; ".join(errors)
            )
    return plan


def wait_until_healthy(module: AnsibleModule, result: dict[str, Any]) -> None:
    wait = module.params["wait"]
    try:
        context = ssl_context(
            wait["validate_certs"], wait["ca_path"], wait["client_cert_path"], wait["client_key_path"]
        )
        result["waited"] = round(wait_for_ok(wait["url"], wait["timeout"], context), 1)
    except WaitTimeout as error:
        module.fail_json(msg=str(error), **result)
    except OSError as error:  # unreadable CA or client certificate files
        module.fail_json(msg=f"wait: cannot load the TLS files: {error}", **result)


def main() -> None:
    module = AnsibleModule(
        argument_spec=ARGUMENT_SPEC,
        required_if=[("state", "present", ("pod", "kubernetes_version"))],
        supports_check_mode=True,
    )
    require_yaml(module)
    keep_modes_visible(module)
    try:
        plan = build_plan(module)
        before = describe_on_disk(plan) if module._diff else ""
        if plan.changed and not module.check_mode:
            apply(plan)
    except (StaticPodError, UnsupportedKubernetesVersion) as error:
        module.fail_json(msg=str(error))
    except OSError as error:
        module.fail_json(msg=f"static pod {module.params['name']!r}: {error}")

    result: dict[str, Any] = {"changed": plan.changed, "manifest_path": plan.manifest_path, "files": plan.file_paths}
    if plan.checksum:
        result["checksum"] = plan.checksum
    if module._diff:
        after = describe_desired(plan)
        result["diff"] = {
            "before": before,
            "after": after,
            "before_header": plan.manifest_path,
            "after_header": plan.manifest_path,
        }
    if module.params["wait"] and module.params["state"] == "present" and not module.check_mode:
        wait_until_healthy(module, result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
