"""Python libraries that may be missing: the module_utils still import, and whatever needs the library
fails at once with a message that names it (PyYAML on target machines, cryptography on the controller)."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
import textwrap
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from ansible.errors import AnsibleFilterError
from ansible.module_utils.testing import patch_module_args

from ansible_collections.gardener.autonomous.plugins.filter import ca_cert_hash
from ansible_collections.gardener.autonomous.plugins.module_utils._pki import material

COLLECTION = "ansible_collections.gardener.autonomous.plugins"
REPO_ROOT = Path(__file__).resolve().parents[2]
PLUGINS = REPO_ROOT / "plugins"
IMPORT_ERROR = "Traceback (most recent call last):\nModuleNotFoundError: No module named 'yaml'\n"

# Every module that needs PyYAML, the smallest arguments that pass its argument spec, and the module util
# whose HAS_YAML it checks (all of them through require_yaml).
_KUBECONFIG = {"kubeconfig": "/nonexistent/admin.conf"}
_EXTENSION = {**_KUBECONFIG, "namespace": "shoot--garden--root", "name": "root", "state": "absent"}
YAML_MODULES: dict[str, tuple[dict[str, Any], str]] = {
    "bootstrap_token": ({**_KUBECONFIG, "state": "absent", "id": "abcdef"}, "module_utils._yaml"),
    "bootstrap_token_info": (_KUBECONFIG, "module_utils._yaml"),
    "cluster_objects": ({**_KUBECONFIG, "definitions": []}, "module_utils._yaml"),
    "kubelet_serving_csr": ({**_KUBECONFIG, "node_name": "cp-0"}, "module_utils._yaml"),
    "node_drain": ({**_KUBECONFIG, "name": "cp-0"}, "module_utils._yaml"),
    "etcd_member": (
        {
            "name": "cp-0",
            "peer_url": "https://10.250.0.10:2380",
            "endpoints": ["https://10.250.0.10:2379"],
            "ca_path": "/nonexistent/ca.crt",
            "cert_path": "/nonexistent/tls.crt",
            "key_path": "/nonexistent/tls.key",
            "state": "absent",
        },
        "module_utils._yaml",
    ),
    "static_pod": ({"name": "kube-scheduler", "state": "absent"}, "module_utils._yaml"),
    "gardener_bastion": (_EXTENSION, "module_utils._yaml"),
    "gardener_infrastructure": (_EXTENSION, "module_utils._yaml"),
    "gardener_worker": (_EXTENSION, "module_utils._yaml"),
}


def run_module(module: ModuleType, args: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    with patch_module_args(args), pytest.raises(SystemExit):
        module.main()
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("name", sorted(YAML_MODULES))
def test_a_module_fails_first_thing_when_pyyaml_is_missing(
    name: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    args, checked_in = YAML_MODULES[name]
    checker = importlib.import_module(f"{COLLECTION}.{checked_in}")
    monkeypatch.setattr(checker, "HAS_YAML", False)
    monkeypatch.setattr(checker, "YAML_IMPORT_ERROR", IMPORT_ERROR)

    result = run_module(importlib.import_module(f"{COLLECTION}.modules.{name}"), args, capsys)

    assert result["failed"] is True
    assert result["msg"].startswith("Failed to import the required Python library (PyYAML (Debian: python3-yaml))")
    assert f"Python {sys.executable}." in result["msg"]  # where it needs installing


def test_every_module_that_imports_a_pyyaml_module_util_checks_has_yaml() -> None:
    """A new module that uses a module util needing PyYAML must call require_yaml too (and be listed above)."""
    yaml_utils = {"_yaml"} | {
        path.relative_to(PLUGINS / "module_utils").with_suffix("").as_posix().replace("/", ".")
        for path in (PLUGINS / "module_utils").rglob("*.py")
        if "module_utils._yaml import" in path.read_text()
    }
    users_of_yaml_utils, checkers = set(), set()
    for module in (PLUGINS / "modules").glob("*.py"):
        source = module.read_text()
        if any(f"module_utils.{util} import" in source for util in yaml_utils):
            users_of_yaml_utils.add(module.stem)
        if "require_yaml(module)" in source or "extension_module import" in source:
            checkers.add(module.stem)
    assert users_of_yaml_utils == set(YAML_MODULES)
    assert checkers == set(YAML_MODULES)


def test_the_ca_cert_hash_filter_names_cryptography_when_it_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ca_cert_hash, "HAS_CRYPTOGRAPHY", False)
    monkeypatch.setattr(
        material, "CRYPTOGRAPHY_IMPORT_ERROR", "Traceback ...\nModuleNotFoundError: No module named 'cryptography'\n"
    )

    with pytest.raises(AnsibleFilterError) as raised:
        ca_cert_hash.ca_cert_hash("-----BEGIN CERTIFICATE-----")

    message = str(raised.value)
    assert "gardener.autonomous.ca_cert_hash needs the Python library cryptography" in message
    assert f"in the Python that runs Ansible ({sys.executable})" in message
    assert message.endswith("No module named 'cryptography'")


def test_everything_imports_without_pyyaml_and_cryptography_and_a_module_says_what_is_missing(
    tmp_path: Path,
) -> None:
    """The real thing, in a fresh interpreter where neither library can be imported (as ansible-test's import
    sanity test runs module_utils): every module util and module imports, and static_pod fails clearly."""
    script = textwrap.dedent(
        f"""
        import importlib, json, pathlib, sys
        sys.modules["yaml"] = None  # "import yaml" now raises ImportError
        sys.modules["cryptography"] = None
        sys.path.insert(0, {str(REPO_ROOT / ".collections")!r})
        plugins = pathlib.Path({str(PLUGINS)!r})
        for path in sorted([*plugins.glob("module_utils/**/*.py"), *plugins.glob("modules/*.py")]):
            name = path.relative_to(plugins).with_suffix("").as_posix().replace("/", ".")
            importlib.import_module("{COLLECTION}." + name.removesuffix(".__init__"))
        from ansible.module_utils.testing import patch_module_args
        from {COLLECTION}.modules import static_pod
        from {COLLECTION}.module_utils import _yaml
        from {COLLECTION}.module_utils._pki import material
        assert not _yaml.HAS_YAML and not material.HAS_CRYPTOGRAPHY
        with patch_module_args({{"name": "kube-scheduler", "state": "absent"}}):
            static_pod.main()
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path, check=False)

    assert done.returncode == 1 and done.stdout.lstrip().startswith("{"), done.stderr  # fail_json, not a traceback
    result = json.loads(done.stdout)
    assert result["msg"].startswith("Failed to import the required Python library (PyYAML (Debian: python3-yaml))")
