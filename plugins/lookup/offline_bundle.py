# Copyright (c) 2026 gardener.autonomous contributors
# Apache License 2.0 (see LICENSE)
from __future__ import annotations

DOCUMENTATION = r"""
name: offline_bundle
short_description: Read and verify an offline bundle of images and binaries
version_added: 0.1.0
description:
  - Reads C(manifest.json) of an offline bundle (component images as C(docker save) archives, node
    binaries) on the controller and checks that every file it lists exists with the recorded size and,
    with O(verify=true), the recorded sha256.
  - Returns one dictionary per bundle directory with C(kubernetes_version), C(etcd_version), C(images)
    (component name to C(ref), absolute C(file), C(sha256)) and C(binaries) (name to absolute C(file), C(sha256)).
author:
  - gardener.autonomous contributors (@gardener)
options:
  _terms:
    description: Paths of bundle directories on the controller.
    required: true
    type: list
    elements: path
  verify:
    description: Compute the sha256 of every file and compare it with the manifest.
    type: bool
    default: true
"""

EXAMPLES = r"""
- name: Resolve the images of the offline bundle
  ansible.builtin.set_fact:
    bundle: "{{ lookup('gardener.autonomous.offline_bundle', '/srv/bundles/v1.20.2') }}"

- name: Show the kube-apiserver image
  ansible.builtin.debug:
    msg: "{{ bundle.images['kube-apiserver'].ref }}"
"""

RETURN = r"""
_raw:
  description: One dictionary per bundle directory.
  type: list
  elements: dict
  contains:
    kubernetes_version:
      description: The Kubernetes version of the binaries and images, without the leading C(v).
      type: str
      sample: 1.20.2
    etcd_version:
      description: The etcd version of the etcd image.
      type: str
      sample: 3.4.23
    images:
      description: Component name to C(ref) (the image reference to use in manifests), C(file) and C(sha256).
      type: dict
      sample: {pause: {ref: localhost/gardener-autonomous/pause:v1, file: /srv/b/images/pause.tar, sha256: 3f2a...}}
    binaries:
      description: Binary name to C(file) and C(sha256).
      type: dict
      sample: {kubelet: {file: /srv/b/bin/kubelet, sha256: 9c1e...}}
"""

import hashlib
import json
import os
from typing import Any

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase

_CHUNK = 1024 * 1024


class LookupModule(LookupBase):
    def run(self, terms: list[str], variables: dict[str, Any] | None = None, **kwargs: Any) -> list[dict[str, Any]]:
        self.set_options(var_options=variables, direct=kwargs)
        return [read_bundle(term, verify=self.get_option("verify")) for term in terms]


def read_bundle(directory: str, verify: bool) -> dict[str, Any]:
    manifest_path = os.path.join(directory, "manifest.json")
    try:
        with open(manifest_path, encoding="utf-8") as stream:
            manifest = json.load(stream)
    except (OSError, ValueError) as error:
        raise AnsibleLookupError(
            f"cannot read the offline bundle manifest {manifest_path}: {error}; "
            "point shoot_offline_bundle_dir at a directory made by hack/build-bundle.sh (make setup)"
        ) from error
    if manifest.get("kind") != "OfflineBundle":
        raise AnsibleLookupError(f"{manifest_path} is not an offline bundle manifest (kind must be OfflineBundle)")
    return {
        "kubernetes_version": manifest["kubernetesVersion"].lstrip("v"),
        "etcd_version": manifest["etcdVersion"].lstrip("v"),
        "images": {
            entry["name"]: {"ref": entry["ref"], **_checked_file(directory, entry, verify)}
            for entry in manifest["images"]
        },
        "binaries": {entry["name"]: _checked_file(directory, entry, verify) for entry in manifest["binaries"]},
    }


def _checked_file(directory: str, entry: dict[str, str], verify: bool) -> dict[str, str]:
    path = os.path.join(directory, entry["file"])
    if not os.path.isfile(path):
        raise AnsibleLookupError(f"the offline bundle in {directory} lacks {entry['file']}; rebuild it")
    if verify:
        digest = hashlib.sha256()
        with open(path, "rb") as stream:
            for chunk in iter(lambda: stream.read(_CHUNK), b""):
                digest.update(chunk)
        if digest.hexdigest() != entry["sha256"]:
            raise AnsibleLookupError(
                f"{path}: sha256 {digest.hexdigest()} does not match the bundle manifest ({entry['sha256']}); "
                "the bundle is damaged, rebuild or re-copy it"
            )
    return {"file": path, "sha256": entry["sha256"]}
