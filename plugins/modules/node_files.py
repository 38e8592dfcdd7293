# Copyright (c) 2026 gardener.autonomous contributors
# Apache License 2.0 (see LICENSE)
from __future__ import annotations

DOCUMENTATION = r"""
module: node_files
short_description: Write many files on a machine in one task
version_added: 0.1.0
description:
  - Compares every file in O(files) (content, mode, and owner and group when given) and every
    directory in O(directories) (mode) with what is on disk and writes only what differs, in one
    round trip instead of one C(ansible.builtin.copy) task per file. Use one task per consumer
    (containerd, kubelet, ...) so that its handler is notified once.
  - Directories are created first, outermost first; then each changed file is replaced atomically
    (temporary file in the same directory, fsync, rename). A file whose content is right but whose
    mode, owner or group is not is only C(chmod)-ed or C(chown)-ed.
  - Every input error and every obstacle on disk is found before anything is written, so a failed
    task leaves all files of the batch as they were. Only an error while writing (a full disk, for
    example) can leave a batch half written; running the task again completes it.
  - The target of a file or listed directory is never followed when it is a symlink, nor replaced;
    the task fails and names it. Symlinks among the parent directories are followed.
author:
  - gardener.autonomous contributors (@gardener)
extends_documentation_fragment:
  - gardener.autonomous.attributes
attributes:
  check_mode:
    support: full
    details: Predicts C(changed) and every return value; writes nothing.
  diff_mode:
    support: full
    details:
      - C(before) and C(after) list, sorted by path, C(<path> <mode> <sha256>) per file (with
        C(owner=) and C(group=) when given) and C(<path>/ <mode>) per directory; a missing file or
        directory shows as C(absent).
      - File content follows its line, indented, only when O(secret=false).
  idempotent:
    support: full
options:
  files:
    description:
      - The files to write, in order. Each path appears once in O(files) and O(directories).
      - Missing parent directories that are not listed in O(directories) are created with mode C(0755).
    type: list
    elements: dict
    required: true
    suboptions:
      path:
        description: Absolute, normalized path of the file (no C(.), C(..), C(//) or trailing C(/)).
        type: path
        required: true
      content:
        description:
          - Content of the file, as text (written as UTF-8).
          - Secret unless O(secret=false); then it never appears in the output or in logs.
        type: str
        required: true
      mode:
        description:
          - Required. Mode as an octal string, for example C("0600") for keys, C("0644") for certificates.
          - Quote it; an unquoted YAML C(0600) is the integer 384 and is refused.
        type: raw
      owner:
        description:
          - User name or numeric id that owns the file. When not given, a new file belongs to the user the
            module runs as and a replaced file keeps its owner.
        type: str
      group:
        description:
          - Group name or numeric id of the file. When not given, a new file gets the group the module runs
            as and a replaced file keeps its group.
        type: str
  directories:
    description:
      - Directories to create when missing, and whose mode to correct when it differs. Their missing
        parents that are not listed themselves are created with mode C(0755).
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: Absolute, normalized path of the directory.
        type: path
        required: true
      mode:
        description: Required. Mode as an octal string, for example C("0750").
        type: raw
  secret:
    description:
      - Treat the content of O(files) as secret. Ansible then masks every content, wherever it appears, in
        the task's output and logs; the diff shows only digests.
      - Ansible masks a secret content even where it is part of a longer text, so a short content (such as
        C(1)) garbles the output. Write files that hold no secret with O(secret=false).
      - With O(secret=false) the content appears in the diff and, with C(-vvv), in the task's arguments.
    type: bool
    default: true
notes:
  - Contents are text; binary files are out of scope.
seealso:
  - module: ansible.builtin.copy
  - module: gardener.autonomous.static_pod
"""

EXAMPLES = r"""
- name: Write kubelet's configuration, kubeconfig and credentials
  gardener.autonomous.node_files:
    directories:
      - path: /var/lib/kubelet/pki
        mode: "0700"
    files:
      - path: /var/lib/kubelet/config/kubelet
        content: "{{ kubelet_configuration | to_nice_yaml }}"
        mode: "0600"
      - path: /var/lib/kubelet/kubeconfig-bootstrap
        content: "{{ kubelet_bootstrap_kubeconfig }}"
        mode: "0600"
      - path: /var/lib/kubelet/ca.crt
        content: "{{ kubelet_ca_certificate }}"
        mode: "0644"
      - path: /var/lib/kubelet/pki/kubelet-server.key
        content: "{{ kubelet_serving_key }}"
        mode: "0600"
        owner: root
        group: root
  notify: Restart kubelet

- name: Write containerd's configuration and unit (no secrets, so the diff shows the content)
  gardener.autonomous.node_files:
    secret: false
    files:
      - path: /etc/containerd/config.toml
        content: "{{ lookup('ansible.builtin.template', 'config.toml.j2') }}"
        mode: "0644"
      - path: /etc/systemd/system/containerd.service
        content: "{{ lookup('ansible.builtin.template', 'containerd.service.j2') }}"
        mode: "0644"
  register: containerd_files
  notify: Restart containerd
"""

RETURN = r"""
changed_files:
  description: Paths of the files written, or whose mode, owner or group was corrected (would be, in check mode).
  returned: always
  type: list
  elements: str
  sample:
    - /etc/containerd/config.toml
files:
  description: Every file of O(files), in order, with the digest of its wanted content. Never the content.
  returned: always
  type: list
  elements: dict
  contains:
    path:
      description: Path of the file.
      type: str
      sample: /etc/containerd/config.toml
    mode:
      description: Its mode, as an octal string.
      type: str
      sample: "0644"
    sha256:
      description: sha256 of its content.
      type: str
      sample: 2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae
    changed:
      description: Whether the file was written, or its mode, owner or group corrected.
      type: bool
      sample: true
directories_created:
  description: Directories created (would be, in check mode), outermost first; listed ones and missing parents.
  returned: always
  type: list
  elements: str
  sample:
    - /etc/containerd
"""

from typing import Any

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.gardener.autonomous.plugins.module_utils._node.node_files import (
    NodeFilesError,
    apply,
    describe_after,
    describe_before,
    make_plan,
    parse_directories,
    parse_files,
)

ARGUMENT_SPEC: dict[str, Any] = {
    "files": {
        "type": "list",
        "elements": "dict",
        "required": True,
        "options": {
            "path": {"type": "path", "required": True},
            # Masked whatever `secret` says, so that the invocation never reaches the machine's log;
            # main() lifts the mask from the result when secret=false.
            "content": {"type": "str", "required": True, "no_log": True},
            "mode": {"type": "raw"},  # required; checked by parse_files, whose message names the path
            "owner": {"type": "str"},
            "group": {"type": "str"},
        },
    },
    "directories": {
        "type": "list",
        "elements": "dict",
        "default": [],
        "options": {"path": {"type": "path", "required": True}, "mode": {"type": "raw"}},
    },
    "secret": {"type": "bool", "default": True},
}


def main() -> None:
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    with_content = not module.params["secret"]
    if with_content:
        module.no_log_values.difference_update(entry["content"] for entry in module.params["files"])
    try:
        plan = make_plan(parse_files(module.params["files"]), parse_directories(module.params["directories"]))
        before = describe_before(plan, with_content) if module._diff else ""
    except (NodeFilesError, OSError) as error:  # an OSError's message names the file
        module.fail_json(msg=f"nothing was written: {error}")
    if plan.changed and not module.check_mode:
        try:
            apply(plan)
        except OSError as error:
            module.fail_json(msg=f"writing failed, the files may be written in part: {error}", changed=True)

    result: dict[str, Any] = {
        "changed": plan.changed,
        "changed_files": plan.changed_files,
        "files": plan.summary(),
        "directories_created": plan.directories_created,
    }
    if module._diff:
        result["diff"] = {"before": before, "after": describe_after(plan, with_content)}
    module.exit_json(**result)


if __name__ == "__main__":
    main()
