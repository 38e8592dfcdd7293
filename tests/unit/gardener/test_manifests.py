"""Reading and validating a Gardener config directory with the site's machines into the `shoot` fact."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from ansible_collections.gardener.autonomous.plugins.module_utils._gardener.manifests import (
    ManifestError,
    compile_shoot_fact,
    read_manifests,
)

LOCAL_SITE = Path(__file__).resolve().parents[3] / "inventories" / "local" / "gardener"

MACHINES: dict[str, dict[str, Any]] = {
    "cp-0": {"node_name": "cp-0", "ip": "10.250.0.10", "role": "control-plane"},
    "cp-1": {"node_name": "cp-1", "ip": "10.250.0.11", "role": "control-plane"},
    "cp-2": {"node_name": "cp-2", "ip": "10.250.0.12", "role": "control-plane"},
    "worker-0": {"node_name": "worker-0", "ip": "10.250.0.20", "role": "worker"},
    "worker-1": {"node_name": "worker-1", "ip": "10.250.0.21", "role": "worker", "pool": "worker", "zone": "local-a"},
}

SECRET = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "local", "namespace": "garden"}}


class Site:
    """A copy of the local site's manifest directory that a test may change."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def origin(self, name: str, document: int = 1) -> str:
        return f"{self.root / name} (document {document})"

    def read(self, name: str) -> dict[str, Any]:
        return yaml.safe_load((self.root / name).read_text())

    def write(self, name: str, *documents: Any) -> Path:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump_all(documents, sort_keys=False))
        return path

    def edit(self, name: str, change: Callable[[dict[str, Any]], Any]) -> None:
        document = self.read(name)
        change(document)
        self.write(name, document)

    def compile(self, machines: Any = None) -> dict[str, Any]:
        return compile_shoot_fact(read_manifests(str(self.root)), MACHINES if machines is None else machines)

    def problems(self, machines: Any = None) -> list[str]:
        with pytest.raises(ManifestError) as caught:
            self.compile(machines)
        assert caught.value.problems, "a ManifestError carries at least one problem"
        assert all(problem in str(caught.value) for problem in caught.value.problems)
        return caught.value.problems


@pytest.fixture
def site(tmp_path: Path) -> Site:
    shutil.copytree(LOCAL_SITE, tmp_path / "gardener")
    return Site(tmp_path / "gardener")


def the_problem(problems: list[str], *fragments: str) -> str:
    """The one problem that contains every fragment (file, field, words of the message)."""
    matching = [problem for problem in problems if all(fragment in problem for fragment in fragments)]
    assert len(matching) == 1, f"expected one problem with {fragments}, got:\n" + "\n".join(problems)
    return matching[0]


def without(host: str) -> dict[str, dict[str, Any]]:
    return {name: machine for name, machine in MACHINES.items() if name != host}


def changed(host: str, **settings: Any) -> dict[str, dict[str, Any]]:
    return MACHINES | {host: MACHINES[host] | settings}


def workers(shoot: dict[str, Any]) -> list[dict[str, Any]]:
    return shoot["spec"]["provider"]["workers"]


# --- the local site --------------------------------------------------------------------------------------------------


def test_local_site_compiles_to_the_documented_fact(site: Site) -> None:
    fact = site.compile()

    assert fact["name"] == "root"
    assert fact["namespace"] == "garden"
    assert fact["project"] == "garden"
    assert fact["technical_id"] == "shoot--garden--root"
    assert fact["kubernetes_version"] == "1.20.2"
    assert fact["cluster_domain"] == "cluster.local"
    assert fact["dns_domain"] == "local.autonomous.test"
    assert fact["api_domain"] == "api.local.autonomous.test"
    assert fact["api_server_url"] == "https://api.local.autonomous.test"
    assert fact["networks"] == {"nodes": "10.250.0.0/24", "pods": "10.251.0.0/16", "services": "10.252.0.0/16"}
    assert fact["kubernetes_service_ip"] == "10.252.0.1"
    assert fact["dns_service_ip"] == "10.252.0.10"
    assert fact["networking_type"] == "local-bridge"
    assert fact["control_plane_pool"] == {
        "name": "control-plane",
        "minimum": 3,
        "maximum": 3,
        "zones": ["local-a"],
        "machine": {"type": "local", "architecture": "amd64", "image": {"name": "debian", "version": "12"}},
        "labels": {},
        "taints": [],
        "system_components": {"allow": True},
    }
    assert [pool["name"] for pool in fact["worker_pools"]] == ["worker"]
    assert fact["worker_pools"][0]["maximum"] == 8
    assert fact["managed_infrastructure"] is False
    assert fact["provider"] == {"type": "local", "region": "local"}
    assert fact["machines"]["cp-0"] == {
        "node_name": "cp-0",
        "ip": "10.250.0.10",
        "role": "control-plane",
        "pool": "control-plane",
        "zone": "local-a",
    }
    assert fact["machines"]["worker-0"]["pool"] == "worker"
    assert fact["machines"]["worker-0"]["zone"] == "local-a"
    assert list(fact["machines"]) == list(MACHINES)
    assert fact["shoot_state"] is None
    assert fact["uid"] is None
    assert json.loads(json.dumps(fact)) == fact


def test_the_local_site_directory_itself_is_accepted() -> None:
    manifests = read_manifests(str(LOCAL_SITE))

    assert {obj.kind for obj in manifests.objects} == {"Shoot", "CloudProfile", "Project"}
    assert compile_shoot_fact(manifests, MACHINES)["technical_id"] == "shoot--garden--root"


def test_pool_defaults_are_filled_and_labels_and_taints_kept(site: Site) -> None:
    def change(shoot: dict[str, Any]) -> None:
        worker = workers(shoot)[1]
        del worker["machine"]["image"]["version"]
        worker["labels"] = {"tier": "batch"}
        worker["taints"] = [{"key": "dedicated", "value": "batch", "effect": "NoSchedule"}]
        worker["systemComponents"] = {"allow": False}
        worker["zones"] = []

    site.edit("shoot.yaml", change)

    fact = site.compile(without("worker-1"))

    pool = fact["worker_pools"][0]
    assert pool["machine"]["image"] == {"name": "debian", "version": None}
    assert pool["labels"] == {"tier": "batch"}
    assert pool["taints"] == [{"key": "dedicated", "effect": "NoSchedule", "value": "batch"}]
    assert pool["system_components"] == {"allow": False}
    assert pool["zones"] == []
    assert fact["machines"]["worker-0"]["zone"] == ""
    problem = the_problem(site.problems(), "inventory host worker-1: zone: ")
    assert "pool 'worker' (spec.provider.workers[1]) has no zones" in problem


# --- reading the directory -------------------------------------------------------------------------------------------


def test_hidden_files_and_directories_and_other_suffixes_are_skipped(site: Site) -> None:
    unsupported = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x"}}
    site.write(".hidden/shoot.yaml", site.read("shoot.yaml"))
    site.write(".backup.yaml", unsupported)
    site.write("notes/.old/deployment.yml", unsupported)
    site.write("README.md", unsupported)
    site.write("shoot.yaml.orig", unsupported)

    manifests = read_manifests(str(site.root))

    assert sorted(obj.kind for obj in manifests.objects) == ["CloudProfile", "Project", "Shoot"]


def test_json_files_and_multi_document_yaml_are_read_recursively(site: Site) -> None:
    project = site.read("project.yaml")
    (site.root / "project.yaml").unlink()
    (site.root / "garden").mkdir()
    (site.root / "garden" / "project.json").write_text(json.dumps(project))
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "garden"}}
    (site.root / "garden" / "extras.yml").write_text(
        "# leading comment\n---\n"
        + yaml.safe_dump(namespace)
        + "---\n---\n"
        + yaml.safe_dump(SECRET | {"metadata": {"name": "backup", "namespace": "garden"}})
    )

    manifests = read_manifests(str(site.root))

    origins = {obj.kind: obj.origin for obj in manifests.objects}
    assert origins["Project"] == f"{site.root / 'garden' / 'project.json'} (document 1)"
    assert origins["Namespace"] == f"{site.root / 'garden' / 'extras.yml'} (document 1)"
    assert origins["Secret"] == f"{site.root / 'garden' / 'extras.yml'} (document 3)"
    assert manifests.find("Secret", "garden", "backup") is not None
    assert site.compile()["project"] == "garden"


def test_timestamps_stay_strings(site: Site) -> None:
    site.edit("shoot.yaml", lambda shoot: shoot["metadata"].update(creationTimestamp="2026-01-02T03:04:05Z"))
    (site.root / "shoot.yaml").write_text(
        (site.root / "shoot.yaml").read_text().replace("'2026-01-02T03:04:05Z'", "2026-01-02T03:04:05Z")
    )

    shoot = read_manifests(str(site.root)).shoot

    assert shoot.body["metadata"]["creationTimestamp"] == "2026-01-02T03:04:05Z"


def test_unsupported_kind_names_file_and_document(site: Site) -> None:
    file = site.write(
        "extras.yaml",
        SECRET,
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "garden"}},
        {"apiVersion": "extensions.gardener.cloud/v1alpha1", "kind": "Extension", "metadata": {"name": "x"}},
    )

    with pytest.raises(ManifestError) as caught:
        read_manifests(str(site.root))

    problems = caught.value.problems
    deployment = the_problem(problems, "unsupported kind Deployment (apps/v1)", f"{file} (document 2)")
    assert "remove it" in deployment
    the_problem(problems, "unsupported kind Extension (extensions.gardener.cloud/v1alpha1)", f"{file} (document 3)")
    assert len(problems) == 2


def test_operator_extension_and_controller_objects_are_accepted(site: Site) -> None:
    site.write(
        "extensions.yaml",
        {"apiVersion": "operator.gardener.cloud/v1alpha1", "kind": "Extension", "metadata": {"name": "provider"}},
        {"apiVersion": "core.gardener.cloud/v1beta1", "kind": "ControllerRegistration", "metadata": {"name": "c"}},
        {"apiVersion": "core.gardener.cloud/v1", "kind": "ControllerDeployment", "metadata": {"name": "c"}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "garden"}},
    )

    kinds = sorted(obj.kind for obj in read_manifests(str(site.root)).objects)

    expected = ["CloudProfile", "ConfigMap", "ControllerDeployment", "ControllerRegistration", "Extension"]
    assert kinds == [*expected, "Project", "Shoot"]


def test_duplicate_shoot_across_files_names_both(site: Site) -> None:
    copy = site.write("more/shoot-copy.yaml", site.read("shoot.yaml"))

    with pytest.raises(ManifestError) as caught:
        read_manifests(str(site.root))

    problem = the_problem(caught.value.problems, "duplicate Shoot garden/root")
    assert site.origin("shoot.yaml") in problem
    assert f"{copy} (document 1)" in problem
    assert len(caught.value.problems) == 1


def test_two_different_shoots_are_refused(site: Site) -> None:
    other = site.read("shoot.yaml")
    other["metadata"]["name"] = "other"
    site.write("other.yaml", other)

    with pytest.raises(ManifestError) as caught:
        read_manifests(str(site.root))

    problem = the_problem(caught.value.problems, "2 Shoot objects", "keep exactly one")
    assert "Shoot garden/root" in problem
    assert "Shoot garden/other" in problem


def test_two_secret_bindings_are_refused(site: Site) -> None:
    binding = {
        "apiVersion": "core.gardener.cloud/v1beta1",
        "kind": "SecretBinding",
        "metadata": {"namespace": "garden"},
    }
    site.write(
        "bindings.yaml",
        binding | {"metadata": {"name": "a", "namespace": "garden"}},
        binding | {"metadata": {"name": "b", "namespace": "garden"}},
    )

    with pytest.raises(ManifestError) as caught:
        read_manifests(str(site.root))

    the_problem(caught.value.problems, "2 SecretBinding objects", "keep at most one")


def test_missing_cloud_profile_is_reported_with_the_directory(site: Site) -> None:
    (site.root / "cloudprofile.yaml").unlink()

    with pytest.raises(ManifestError) as caught:
        read_manifests(str(site.root))

    assert caught.value.problems == [
        f"{site.root}: no CloudProfile found; add the CloudProfile manifest (exactly one is needed)"
    ]


def test_reading_problems_are_all_reported(site: Site) -> None:
    (site.root / "broken.yaml").write_text("kind: Secret\n  bad: [indent\n")
    (site.root / "broken.json").write_text('{"kind": ')
    site.write("list.yaml", ["not", "an", "object"])
    site.write("nameless.yaml", {"apiVersion": "v1", "kind": "Secret", "metadata": {"namespace": "garden"}})
    site.write("kindless.yaml", {"metadata": {"name": "x"}})
    (site.root / "project.yaml").unlink()

    with pytest.raises(ManifestError) as caught:
        read_manifests(str(site.root))

    problems = caught.value.problems
    assert "line" in the_problem(problems, f"{site.root / 'broken.yaml'}: not valid YAML")
    the_problem(problems, f"{site.root / 'broken.json'}: not valid JSON (line 1")
    the_problem(problems, site.origin("list.yaml"), "not a Kubernetes object")
    the_problem(problems, site.origin("nameless.yaml"), "metadata.name: missing")
    the_problem(problems, site.origin("kindless.yaml"), "apiVersion and kind must both be set")
    the_problem(problems, "no Project found")
    assert len(problems) == 6


def test_a_missing_directory_is_reported(tmp_path: Path) -> None:
    with pytest.raises(ManifestError) as caught:
        read_manifests(str(tmp_path / "nowhere"))

    assert caught.value.problems == [
        f"{tmp_path / 'nowhere'}: not a directory; give the directory that holds the Shoot, CloudProfile and "
        "Project manifests"
    ]


# --- validating the Shoot --------------------------------------------------------------------------------------------


def set_cp_size(size: int, maximum: int | None = None) -> Callable[[dict[str, Any]], None]:
    def change(shoot: dict[str, Any]) -> None:
        workers(shoot)[0].update(minimum=size, maximum=size if maximum is None else maximum)

    return change


def drop_control_plane(shoot: dict[str, Any]) -> None:
    del workers(shoot)[0]["controlPlane"]


def second_control_plane(shoot: dict[str, Any]) -> None:
    workers(shoot)[1]["controlPlane"] = {}


def set_path(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(document: dict[str, Any]) -> None:
        *parents, leaf = path.split(".")
        target = document
        for key in parents:
            target = target[int(key)] if isinstance(target, list) else target.setdefault(key, {})
        target[leaf] = value

    return change


SHOOT_CASES = [
    pytest.param(
        "shoot.yaml",
        set_path("metadata.namespace", "garden-dev"),
        "metadata.namespace",
        "must be in namespace 'garden'",
    ),
    pytest.param(
        "shoot.yaml",
        set_path("spec.cloudProfile.name", "aws"),
        "spec.cloudProfile.name",
        "names CloudProfile 'aws'",
        id="cloud-profile-name",
    ),
    pytest.param("shoot.yaml", set_path("spec.region", "eu-1"), "spec.region", "'eu-1' is not a region of"),
    pytest.param(
        "shoot.yaml",
        set_path("spec.kubernetes.version", "1.21.0"),
        "spec.kubernetes.version",
        "'1.21.0' is not offered by CloudProfile local",
        id="unknown-version",
    ),
    pytest.param(
        "shoot.yaml",
        set_path("spec.kubernetes.version", "1.20"),
        "spec.kubernetes.version",
        "'1.20' is not a full version; give major.minor.patch, e.g. '1.20.2'",
        id="version-without-patch",
    ),
    pytest.param(
        "shoot.yaml", drop_control_plane, "spec.provider.workers", "not a self-hosted shoot", id="no-control-plane"
    ),
    pytest.param(
        "shoot.yaml",
        second_control_plane,
        "spec.provider.workers",
        "spec.provider.workers[0] ('control-plane') and spec.provider.workers[1] ('worker') both have controlPlane",
        id="two-control-planes",
    ),
    pytest.param(
        "shoot.yaml",
        set_cp_size(2),
        "spec.provider.workers[0].minimum",
        "set minimum and maximum to 1, 3 or 5",
        id="cp-2",
    ),
    pytest.param(
        "shoot.yaml",
        set_cp_size(3, 5),
        "spec.provider.workers[0].minimum",
        "needs minimum == maximum, got 3 and 5",
        id="cp-min-not-max",
    ),
    pytest.param(
        "shoot.yaml",
        set_path("spec.provider.workers.1.machine.type", "huge"),
        "spec.provider.workers[1].machine.type",
        "'huge' is not a machine type of CloudProfile local",
        id="unknown-machine-type",
    ),
    pytest.param(
        "shoot.yaml",
        set_path("spec.provider.workers.0.machine.image.name", "gardenlinux"),
        "spec.provider.workers[0].machine.image.name",
        "'gardenlinux' is not a machine image of CloudProfile local",
        id="unknown-image",
    ),
    pytest.param(
        "shoot.yaml",
        set_path("spec.provider.workers.1.machine.image.version", "11"),
        "spec.provider.workers[1].machine.image.version",
        "'11' is not a version of image 'debian'",
        id="unknown-image-version",
    ),
    pytest.param(
        "shoot.yaml",
        set_path("spec.provider.workers.1.machine.image.version", 12),
        "spec.provider.workers[1].machine.image.version",
        "must be a string, got 12; quote it",
        id="unquoted-image-version",
    ),
    pytest.param(
        "shoot.yaml",
        set_path("spec.provider.workers.0.zones", ["local-a", "local-b"]),
        "spec.provider.workers[0].zones[1]",
        "'local-b' is not a zone of region 'local' in CloudProfile local",
        id="unknown-zone",
    ),
    pytest.param(
        "shoot.yaml",
        set_path("spec.networking.pods", "10.250.0.0/16"),
        "spec.networking.pods",
        "10.250.0.0/16 overlaps spec.networking.nodes 10.250.0.0/24",
        id="overlapping-cidrs",
    ),
    pytest.param(
        "shoot.yaml",
        set_path("spec.networking.services", "10.252.0.1/16"),
        "spec.networking.services",
        "has host bits set; write it as 10.252.0.0/16",
        id="cidr-host-bits",
    ),
    pytest.param(
        "shoot.yaml",
        set_path("spec.networking.nodes", "10.250.0/33"),
        "spec.networking.nodes",
        "is not a valid CIDR",
        id="invalid-cidr",
    ),
    pytest.param(
        "shoot.yaml",
        set_path("spec.networking.services", "10.252.0.0/29"),
        "spec.networking.services",
        "too small",
        id="service-network-too-small",
    ),
    pytest.param("shoot.yaml", set_path("spec.dns", {}), "spec.dns.domain", "missing", id="dns-domain-missing"),
    pytest.param(
        "shoot.yaml",
        set_path("spec.dns.domain", "Local_Site.test"),
        "spec.dns.domain",
        "is not a valid DNS name",
        id="dns-domain-invalid",
    ),
    pytest.param("shoot.yaml", set_path("spec.hibernation", {"enabled": False}), "spec.hibernation", "not supported"),
    pytest.param("shoot.yaml", set_path("spec.seedName", "seed"), "spec.seedName", "cannot be set"),
    pytest.param(
        "shoot.yaml",
        set_path("spec.provider.type", "aws"),
        "spec.provider.type",
        "'aws' differs from spec.type 'local'",
    ),
    pytest.param(
        "shoot.yaml",
        set_path("spec.provider.workers.1.zones", ["local-b"]),
        "spec.provider.workers[1].zones",
        "allows system components but uses zones local-b outside the control-plane pool's zones",
        id="system-components-zones",
    ),
    pytest.param(
        "project.yaml",
        set_path("spec.namespace", "garden-other"),
        "spec.namespace",
        "'garden-other' differs from the namespace 'garden' of Shoot root",
        id="project-namespace",
    ),
    pytest.param(
        "cloudprofile.yaml",
        set_path("spec.kubernetes.versions", [{"version": "1.19.16"}]),
        "spec.kubernetes.version",
        "is not offered",
        id="version-removed-from-profile",
    ),
]


@pytest.mark.parametrize(("edited", "change", "field", "message"), SHOOT_CASES)
def test_invalid_manifests_name_file_field_and_fix(
    site: Site, edited: str, change: Callable[[dict[str, Any]], None], field: str, message: str
) -> None:
    site.edit(edited, change)

    problems = site.problems()

    reported_in = "project.yaml" if edited == "project.yaml" else "shoot.yaml"
    problem = the_problem(problems, f"{site.origin(reported_in)}: {field}: ", message)
    assert ";" in problem, "every problem says how to fix it"


@pytest.mark.parametrize("change", [drop_control_plane, second_control_plane])
def test_a_missing_or_ambiguous_control_plane_pool_is_not_repeated_per_machine(
    site: Site, change: Callable[[dict[str, Any]], None]
) -> None:
    site.edit("shoot.yaml", change)

    problems = site.problems()

    assert len(problems) == 1, problems
    assert problems[0].startswith(f"{site.origin('shoot.yaml')}: spec.provider.workers: ")


def test_kubernetes_older_than_1_20_is_refused_even_when_offered(site: Site) -> None:
    site.edit("cloudprofile.yaml", set_path("spec.kubernetes.versions", [{"version": "1.19.16"}]))
    site.edit("shoot.yaml", set_path("spec.kubernetes.version", "1.19.16"))

    the_problem(site.problems(), site.origin("shoot.yaml"), "spec.kubernetes.version", "older than 1.20")


def test_legacy_cloud_profile_name_is_accepted(site: Site) -> None:
    def change(shoot: dict[str, Any]) -> None:
        del shoot["spec"]["cloudProfile"]
        shoot["spec"]["cloudProfileName"] = "local"

    site.edit("shoot.yaml", change)

    assert site.compile()["technical_id"] == "shoot--garden--root"


@pytest.mark.parametrize("size", [1, 5])
def test_control_plane_of_one_or_five_machines(site: Site, size: int) -> None:
    site.edit("shoot.yaml", set_cp_size(size))
    machines = {
        f"cp-{index}": {"node_name": f"cp-{index}", "ip": f"10.250.0.{10 + index}", "role": "control-plane"}
        for index in range(size)
    }

    fact = site.compile(machines)

    assert fact["control_plane_pool"]["maximum"] == size
    assert sorted(fact["machines"]) == sorted(machines)


def test_all_problems_are_reported_at_once(site: Site) -> None:
    site.edit("shoot.yaml", set_path("spec.kubernetes.version", "1.99.0"))
    site.edit("shoot.yaml", set_path("spec.networking.pods", "10.252.0.0/16"))
    site.edit("shoot.yaml", set_cp_size(2))
    site.edit("project.yaml", set_path("spec.namespace", "elsewhere"))
    machines = MACHINES | {"worker-1": MACHINES["worker-1"] | {"ip": "192.168.0.1"}}

    problems = site.problems(machines)

    the_problem(problems, "spec.kubernetes.version")
    the_problem(problems, "spec.networking.pods", "overlaps")
    the_problem(problems, "spec.provider.workers[0].minimum: ")
    the_problem(problems, site.origin("project.yaml"), "spec.namespace")
    the_problem(problems, "inventory host worker-1: ip")
    assert len(problems) == 5


# --- managed infrastructure, ShootState ------------------------------------------------------------------------------

CREDENTIALS_BINDING = {
    "apiVersion": "security.gardener.cloud/v1alpha1",
    "kind": "CredentialsBinding",
    "metadata": {"name": "local", "namespace": "garden"},
    "provider": {"type": "local"},
    "credentialsRef": {"apiVersion": "v1", "kind": "Secret", "name": "local", "namespace": "garden"},
}
SECRET_BINDING = {
    "apiVersion": "core.gardener.cloud/v1beta1",
    "kind": "SecretBinding",
    "metadata": {"name": "local", "namespace": "garden"},
    "provider": {"type": "local"},
    "secretRef": {"name": "local"},
}


def test_managed_infrastructure_with_binding_and_secret(site: Site) -> None:
    site.edit("shoot.yaml", set_path("spec.credentialsBindingName", "local"))
    site.write("credentials.yaml", CREDENTIALS_BINDING, SECRET)

    assert site.compile()["managed_infrastructure"] is True


def test_managed_infrastructure_without_the_binding(site: Site) -> None:
    site.edit("shoot.yaml", set_path("spec.credentialsBindingName", "local"))

    problem = the_problem(site.problems(), f"{site.origin('shoot.yaml')}: spec.credentialsBindingName: ")
    assert "references CredentialsBinding garden/local, which is not in" in problem
    assert "unset the field for unmanaged infrastructure" in problem


def test_managed_infrastructure_without_the_secret(site: Site) -> None:
    site.edit("shoot.yaml", set_path("spec.credentialsBindingName", "local"))
    binding = site.write("credentials.yaml", CREDENTIALS_BINDING)

    problem = the_problem(site.problems(), f"{binding} (document 1): credentialsRef: ")
    assert "references Secret garden/local, which is not in" in problem


def test_legacy_secret_binding_without_the_secret(site: Site) -> None:
    site.edit("shoot.yaml", set_path("spec.secretBindingName", "local"))
    binding = site.write("binding.yaml", SECRET_BINDING)

    problem = the_problem(site.problems(), f"{binding} (document 1): secretRef: ")
    assert "references Secret garden/local" in problem


def test_legacy_secret_binding_with_the_secret(site: Site) -> None:
    site.edit("shoot.yaml", set_path("spec.secretBindingName", "local"))
    site.write("binding.yaml", SECRET_BINDING, SECRET)

    assert site.compile()["managed_infrastructure"] is True


def test_shoot_state_and_uid_are_carried(site: Site) -> None:
    site.edit("shoot.yaml", set_path("status.uid", "0b6c6a8e-2f4b-4d0e-9a53-0f1f0c3c1a11"))
    state = {
        "apiVersion": "core.gardener.cloud/v1beta1",
        "kind": "ShootState",
        "metadata": {"name": "root", "namespace": "garden"},
        "spec": {"gardener": [{"name": "ca", "type": "secret", "data": {"ca.crt": "x"}}]},
    }
    site.write("shootstate.yaml", state)

    fact = site.compile()

    assert fact["uid"] == "0b6c6a8e-2f4b-4d0e-9a53-0f1f0c3c1a11"
    assert fact["shoot_state"] == state


def test_shoot_state_of_another_shoot_is_refused(site: Site) -> None:
    state = {"apiVersion": "core.gardener.cloud/v1beta1", "kind": "ShootState"}
    file = site.write("shootstate.yaml", state | {"metadata": {"name": "other", "namespace": "garden"}})

    problem = the_problem(site.problems(), f"{file} (document 1): metadata: ")
    assert "does not belong to Shoot garden/root" in problem


def test_credentials_of_a_credentials_binding_are_the_referenced_secret(site: Site) -> None:
    site.edit("shoot.yaml", set_path("spec.credentialsBindingName", "local"))
    secret = SECRET | {"data": {"kubeconfig": "YXBpVmVyc2lvbjogdjEK"}, "stringData": {"region": "local"}}
    site.write("credentials.yaml", CREDENTIALS_BINDING, secret)

    fact = site.compile()

    assert fact["credentials"] == {
        "secret_name": "local",
        "secret_namespace": "garden",
        "data": {"kubeconfig": "YXBpVmVyc2lvbjogdjEK", "region": "bG9jYWw="},  # stringData encoded, as the API does
    }


def test_credentials_of_a_secret_binding_in_another_namespace(site: Site) -> None:
    site.edit("shoot.yaml", set_path("spec.secretBindingName", "local"))
    secret = {**SECRET, "metadata": {"name": "cloud", "namespace": "credentials"}, "data": {"token": "c2VjcmV0"}}
    site.write("binding.yaml", SECRET_BINDING | {"secretRef": {"name": "cloud", "namespace": "credentials"}}, secret)

    credentials = site.compile()["credentials"]

    assert credentials == {"secret_name": "cloud", "secret_namespace": "credentials", "data": {"token": "c2VjcmV0"}}


def test_unmanaged_infrastructure_has_no_credentials(site: Site) -> None:
    fact = site.compile()

    assert fact["managed_infrastructure"] is False
    assert fact["credentials"] is None


def test_credentials_that_are_not_base64_are_named_without_their_value(site: Site) -> None:
    site.edit("shoot.yaml", set_path("spec.credentialsBindingName", "local"))
    secret = SECRET | {"data": {"password": "hunter2!", "kubeconfig": "YXBp\nVmVy"}}
    file = site.write("credentials.yaml", CREDENTIALS_BINDING, secret)

    problems = site.problems()

    problem = the_problem(problems, f"{file} (document 2): data.password: is not base64")
    assert "stringData" in problem
    assert len(problems) == 1, "base64 with line breaks, as kubectl writes it, is accepted"
    assert "hunter2" not in "\n".join(problems)


def test_credentials_and_secret_binding_together_are_refused(site: Site) -> None:
    site.edit("shoot.yaml", set_path("spec.credentialsBindingName", "local"))
    site.edit("shoot.yaml", set_path("spec.secretBindingName", "local"))
    site.write("credentials.yaml", CREDENTIALS_BINDING, SECRET_BINDING, SECRET)

    problem = the_problem(site.problems(), f"{site.origin('shoot.yaml')}: spec.secretBindingName: ")
    assert "incompatible with spec.credentialsBindingName" in problem


def test_workload_identity_credentials_are_not_a_secret(site: Site) -> None:
    site.edit("shoot.yaml", set_path("spec.credentialsBindingName", "local"))
    workload_identity = {
        "apiVersion": "security.gardener.cloud/v1alpha1",
        "kind": "WorkloadIdentity",
        "metadata": {"name": "local", "namespace": "garden"},
    }
    reference = {"apiVersion": "security.gardener.cloud/v1alpha1", "kind": "WorkloadIdentity", "name": "local"}
    binding = site.write("credentials.yaml", CREDENTIALS_BINDING | {"credentialsRef": reference}, workload_identity)

    fact = site.compile()
    problems = medium_touch_problems(site)

    assert fact["managed_infrastructure"] is True
    assert fact["credentials"] is None
    problem = the_problem(problems, f"{binding} (document 1): credentialsRef.kind: WorkloadIdentity")
    assert "reference a Secret" in problem


# --- medium touch: no machines yet, managed infrastructure required, what the Cluster resource carries ------------


def medium_touch_fact(site: Site) -> dict[str, Any]:
    return compile_shoot_fact(read_manifests(str(site.root)), require_managed_infrastructure=True)


def medium_touch_problems(site: Site) -> list[str]:
    with pytest.raises(ManifestError) as caught:
        medium_touch_fact(site)
    return caught.value.problems


@pytest.fixture
def managed_site(site: Site) -> Site:
    site.edit("shoot.yaml", set_path("spec.credentialsBindingName", "local"))
    site.write("credentials.yaml", CREDENTIALS_BINDING, SECRET | {"data": {"kubeconfig": "YXBpVmVyc2lvbjogdjEK"}})
    return site


def test_without_machines_the_manifests_compile_to_a_fact_without_machines(managed_site: Site) -> None:
    with_machines = managed_site.compile()

    fact = medium_touch_fact(managed_site)

    assert fact["machines"] == {}
    assert fact == with_machines | {"machines": {}}
    assert fact["managed_infrastructure"] is True
    assert fact["credentials"]["data"] == {"kubeconfig": "YXBpVmVyc2lvbjogdjEK"}
    assert compile_shoot_fact(read_manifests(str(managed_site.root)), None) == fact


def test_without_machines_every_manifest_check_runs_and_no_inventory_check(managed_site: Site) -> None:
    def change(shoot: dict[str, Any]) -> None:
        shoot["spec"]["kubernetes"]["version"] = "1.99.0"
        workers(shoot)[0]["minimum"] = workers(shoot)[0]["maximum"] = 1  # three inventory hosts would not fit

    managed_site.edit("shoot.yaml", change)

    problems = medium_touch_problems(managed_site)

    the_problem(problems, "spec.kubernetes.version: '1.99.0' is not offered")
    assert len(problems) == 1, problems
    assert len(managed_site.problems()) == 2, "with the machines, their count is checked too"


def test_medium_touch_requires_managed_infrastructure(site: Site) -> None:
    problems = medium_touch_problems(site)

    problem = the_problem(problems, f"{site.origin('shoot.yaml')}: spec.credentialsBindingName: ")
    assert "spec.secretBindingName" in problem
    assert "no managed infrastructure" in problem
    assert len(problems) == 1


def test_cloud_profile_is_carried_without_metadata_noise(managed_site: Site) -> None:
    def add_noise(profile: dict[str, Any]) -> None:
        profile["metadata"].update(
            uid="9b0e4f6c-1d2a-4c1b-8f57-2f8d7f0b1e11",
            resourceVersion="4711",
            generation=3,
            creationTimestamp="2026-01-02T03:04:05Z",
            managedFields=[{"manager": "kubectl", "operation": "Apply"}],
            labels={"tier": "local"},
            annotations={"kubectl.kubernetes.io/last-applied-configuration": "{}", "owner": "site"},
        )

    managed_site.edit("cloudprofile.yaml", add_noise)
    profile = managed_site.read("cloudprofile.yaml")

    fact = medium_touch_fact(managed_site)

    assert fact["cloud_profile"]["metadata"] == {
        "name": "local",
        "labels": {"tier": "local"},
        "annotations": {"owner": "site"},
    }
    assert fact["cloud_profile"] == profile | {"metadata": fact["cloud_profile"]["metadata"]}


def test_shoot_manifest_is_the_shoot_as_read(managed_site: Site) -> None:
    managed_site.edit("shoot.yaml", set_path("metadata.annotations", {"note": "kept"}))

    fact = medium_touch_fact(managed_site)

    assert fact["shoot_manifest"] == managed_site.read("shoot.yaml")
    assert json.loads(json.dumps(fact)) == fact


# --- the machines ----------------------------------------------------------------------------------------------------


def test_wrong_control_plane_count_names_wanted_size_and_hosts(site: Site) -> None:
    problem = the_problem(site.problems(without("cp-2")), "inventory: the Shoot wants 3 control-plane machines")
    assert "spec.provider.workers[0].minimum/maximum" in problem
    assert site.origin("shoot.yaml") in problem
    assert "2 have role control-plane: cp-0, cp-1" in problem


def test_a_machine_with_a_bad_address_still_counts_as_control_plane(site: Site) -> None:
    problems = site.problems(changed("cp-2", ip="10.9.9.9"))

    assert problems == [
        f"inventory host cp-2: ip: 10.9.9.9 is outside spec.networking.nodes 10.250.0.0/24 of Shoot root "
        f"({site.origin('shoot.yaml')}); give an address in that network or change the Shoot"
    ]


@pytest.mark.parametrize(
    ("machines", "fragments"),
    [
        pytest.param(
            changed("worker-0", pool="gpu"),
            ("inventory host worker-0: pool: 'gpu' is not a worker pool of Shoot root", "use one of: worker"),
            id="worker-pool-unknown",
        ),
        pytest.param(
            changed("worker-0", pool="control-plane"),
            ("inventory host worker-0: pool: 'control-plane' is the control-plane pool",),
            id="worker-in-control-plane-pool",
        ),
        pytest.param(
            changed("cp-0", pool="worker"),
            ("inventory host cp-0: pool: 'worker': a control-plane machine belongs to the control-plane pool",),
            id="control-plane-in-worker-pool",
        ),
        pytest.param(
            changed("worker-0", ip="10.251.0.5"),
            ("inventory host worker-0: ip: 10.251.0.5 is outside spec.networking.nodes 10.250.0.0/24",),
            id="ip-outside-nodes",
        ),
        pytest.param(
            changed("worker-0", ip="10.250.0.300"),
            ("inventory host worker-0: ip: '10.250.0.300' is not an IP address",),
            id="ip-invalid",
        ),
        pytest.param(
            changed("worker-1", ip="10.250.0.20"),
            ("inventory hosts worker-0, worker-1: ip: all have 10.250.0.20; give each its own",),
            id="duplicate-ip",
        ),
        pytest.param(
            changed("cp-1", node_name="cp-0"),
            ("inventory hosts cp-0, cp-1: node_name: all have cp-0",),
            id="duplicate-node-name",
        ),
        pytest.param(
            changed("cp-1", node_name="CP_1"),
            ("inventory host cp-1: node_name: 'CP_1' is not a valid DNS-1123 subdomain",),
            id="invalid-node-name",
        ),
        pytest.param(
            changed("worker-0", zone="local-b"),
            ("inventory host worker-0: zone: 'local-b' is not a zone of pool 'worker'", "use one of: local-a"),
            id="zone-unknown",
        ),
        pytest.param(
            changed("worker-0", role="etcd"),
            ("inventory host worker-0: role: 'etcd' is not a role; use one of control-plane, worker",),
            id="role-unknown",
        ),
        pytest.param(
            changed("worker-0", zones="local-a"),
            ("inventory host worker-0: zones: unknown setting",),
            id="unknown-setting",
        ),
        pytest.param(
            MACHINES | {"worker-0": {"ip": "10.250.0.20", "role": "worker"}},
            ("inventory host worker-0: node_name: missing",),
            id="node-name-missing",
        ),
        pytest.param(
            MACHINES | {"worker-0": "10.250.0.20"},
            ("inventory host worker-0: must be a mapping",),
            id="not-a-mapping",
        ),
    ],
)
def test_invalid_machines_name_host_setting_and_fix(
    site: Site, machines: dict[str, Any], fragments: tuple[str, ...]
) -> None:
    the_problem(site.problems(machines), *fragments)


def test_zone_is_required_when_the_pool_spans_several(site: Site) -> None:
    site.edit("cloudprofile.yaml", set_path("spec.regions.0.zones", [{"name": "local-a"}, {"name": "local-b"}]))
    site.edit("shoot.yaml", set_path("spec.provider.workers.0.zones", ["local-a", "local-b"]))
    site.edit("shoot.yaml", set_path("spec.provider.workers.1.zones", ["local-a", "local-b"]))

    problems = site.problems(changed("cp-2", zone="local-b"))

    the_problem(problems, "inventory host cp-0: zone: missing; pool 'control-plane' spans several zones")
    the_problem(problems, "inventory host worker-0: zone: missing", "set one of: local-a, local-b")
    assert not any("cp-2" in problem for problem in problems)
    assert "worker-1" not in " ".join(problems)


def test_worker_count_above_the_pool_maximum(site: Site) -> None:
    site.edit("shoot.yaml", set_path("spec.provider.workers.1.maximum", 1))
    site.edit("shoot.yaml", set_path("spec.provider.workers.1.minimum", 1))

    problem = the_problem(site.problems(), "inventory: pool 'worker' allows at most 1 machines")
    assert "spec.provider.workers[1].maximum" in problem
    assert "worker-0, worker-1" in problem


def test_workers_without_a_worker_pool(site: Site) -> None:
    site.edit("shoot.yaml", lambda shoot: workers(shoot).pop())

    problem = the_problem(site.problems(), "inventory host worker-0: pool: ")
    assert "has no worker pool" in problem


def test_machines_must_be_a_mapping(site: Site) -> None:
    problems = site.problems(["cp-0"])

    assert problems == ["machines: must map inventory hosts to their settings, got ['cp-0']; fix it"]
