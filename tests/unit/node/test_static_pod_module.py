"""The static_pod module, run for real through ansible-playbook on localhost (connection local)."""

from __future__ import annotations

import http.server
import json
import os
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[3]
ANSIBLE_PLAYBOOK = REPO / ".venv" / "bin" / "ansible-playbook"
SECRET = "s3cr3t-TOKEN-4711-do-not-print"
MIRROR = "gardener.cloud/config.mirror"


class Site:
    """A temporary manifest_dir and files_dir, and a way to run the module against them."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.manifests = root / "manifests"
        self.static_pods = root / "static-pods"
        self.manifest = self.manifests / "demo.yaml"
        self.last_output = ""

    def args(self, **overrides: Any) -> dict[str, Any]:
        args: dict[str, Any] = {
            "name": "demo",
            "kubernetes_version": "1.20.2",
            "manifest_dir": str(self.manifests),
            "files_dir": str(self.static_pods),
            "pod": {
                "spec": {
                    "containers": [
                        {
                            "name": "demo",
                            "image": "localhost/busybox",
                            "command": ["sleep", "infinity"],
                            "volumeMounts": [{"name": "tls", "mountPath": "/tls", "readOnly": True}],
                        }
                    ]
                }
            },
            "files": {"tls": {"ca.crt": "PUBLIC CA", "token": {"content": SECRET, "mode": "0600"}}},
        }
        args.update(overrides)
        return args

    def run(self, *steps: tuple[dict[str, Any], dict[str, Any]], verbose: bool = False) -> list[dict[str, Any]]:
        """Runs one task per (module args, task keywords) step; returns the registered results."""
        results_file = self.root / "results.json"
        tasks = [
            {"gardener.autonomous.static_pod": args, "register": f"step{index}", "ignore_errors": True, **keywords}
            for index, (args, keywords) in enumerate(steps)
        ]
        results = "[" + ", ".join(f"step{index}" for index in range(len(steps))) + "]"
        tasks.append(
            {
                "ansible.builtin.copy": {"content": "{{ " + results + " | to_json }}", "dest": str(results_file)},
                "check_mode": False,
                "diff": False,
            }
        )
        play = [{"hosts": "localhost", "connection": "local", "gather_facts": False, "tasks": tasks}]
        playbook = self.root / "playbook.yml"
        playbook.write_text(yaml.safe_dump(play))
        env = {
            **os.environ,
            "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
            "ANSIBLE_COLLECTIONS_PATH": str(REPO / ".collections"),
            "ANSIBLE_NOCOLOR": "1",
        }
        process = subprocess.run(
            [
                str(ANSIBLE_PLAYBOOK),
                "-i",
                "localhost,",
                "-e",
                f"ansible_python_interpreter={sys.executable}",
                *(["-vvv"] if verbose else []),
                str(playbook),
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        self.last_output = process.stdout + process.stderr
        assert process.returncode == 0, self.last_output
        return json.loads(results_file.read_text())

    def on_disk(self) -> dict[str, Any]:
        return yaml.safe_load(self.manifest.read_text())


@pytest.fixture
def site(tmp_path: Path) -> Site:
    return Site(tmp_path)


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


CHECK = {"check_mode": True}
APPLY = {"check_mode": False}


def test_check_apply_and_idempotence(site: Site) -> None:
    args = site.args()
    check, apply, idempotence_check, idempotence = site.run((args, CHECK), (args, APPLY), (args, CHECK), (args, APPLY))

    assert check["changed"] is True
    assert apply["changed"] is True
    assert idempotence_check["changed"] is False
    assert idempotence["changed"] is False
    assert not any(result.get("failed") for result in (check, apply, idempotence_check, idempotence))

    manifest = site.on_disk()
    assert mode(site.manifest) == 0o640
    assert manifest["metadata"]["labels"] == {"static-pod": "true"}
    assert manifest["metadata"]["annotations"][MIRROR] == apply["checksum"] == idempotence["checksum"]
    assert check["checksum"] == apply["checksum"]
    assert manifest["spec"]["volumes"] == [
        {"name": "tls", "hostPath": {"path": str(site.static_pods / "demo" / "tls"), "type": "Directory"}}
    ]
    volume = site.static_pods / "demo" / "tls"
    assert mode(site.static_pods / "demo") == 0o750
    assert mode(volume) == 0o750
    assert (volume / "ca.crt").read_text() == "PUBLIC CA"
    assert mode(volume / "ca.crt") == 0o640
    assert (volume / "token").read_text() == SECRET
    assert mode(volume / "token") == 0o600
    assert apply["manifest_path"] == str(site.manifest)
    assert apply["files"] == idempotence["files"] == [str(volume / "ca.crt"), str(volume / "token")]
    assert "waited" not in apply


def test_check_mode_writes_nothing(site: Site) -> None:
    (check,) = site.run((site.args(), CHECK))
    assert check["changed"] is True
    assert not site.manifests.exists()
    assert not site.static_pods.exists()


def test_a_reformatted_manifest_is_no_change(site: Site) -> None:
    site.run((site.args(), APPLY))
    manifest = site.on_disk()
    reordered = json.dumps(dict(reversed(list(manifest.items()))), indent=3)  # JSON is YAML too
    site.manifest.write_text(reordered)
    (again,) = site.run((site.args(), APPLY))
    assert again["changed"] is False
    assert site.manifest.read_text() == reordered


def test_a_changed_file_changes_the_checksum_and_stale_files_go(site: Site) -> None:
    first_args = site.args(files={"tls": {"ca.crt": "CA 1", "old.crt": "OLD"}, "legacy": {"config": "x"}})
    (first,) = site.run((first_args, APPLY))
    second_args = site.args(files={"tls": {"ca.crt": "CA 2"}})
    (second,) = site.run((second_args, APPLY))

    assert second["changed"] is True
    assert second["checksum"] != first["checksum"]
    assert site.on_disk()["metadata"]["annotations"][MIRROR] == second["checksum"]
    assert (site.static_pods / "demo" / "tls" / "ca.crt").read_text() == "CA 2"
    assert sorted(os.listdir(site.static_pods / "demo")) == ["tls"]
    assert os.listdir(site.static_pods / "demo" / "tls") == ["ca.crt"]


def test_diff_mode_shows_digests_never_content(site: Site) -> None:
    args = site.args()
    check, apply, again = site.run(
        (args, {**CHECK, "diff": True}), (args, {**APPLY, "diff": True}), (args, {"diff": True})
    )

    for result in (check, apply):
        assert result["diff"]["before"] == ""
        assert "kind: Pod" in result["diff"]["after"]
        assert "# tls/token 0600 " in result["diff"]["after"]
        assert "# tls/ca.crt 0640 " in result["diff"]["after"]
    assert again["diff"]["before"] == again["diff"]["after"] == apply["diff"]["after"]
    everything = json.dumps([check, apply, again]) + site.last_output
    assert SECRET not in everything
    # Ansible masks no_log values as ********: their absence shows nothing was there to mask.
    assert "********" not in json.dumps([check["diff"], apply["diff"], again["diff"]])
    assert "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER" not in json.dumps([check["diff"], apply["diff"]])


def test_sensitive_values_inside_the_pod_are_masked_everywhere(site: Site) -> None:
    token = "probe-token-4f2a9c81d7e3"
    args = site.args()
    args["pod"]["spec"]["containers"][0]["livenessProbe"] = {
        "httpGet": {
            "port": 443,
            "path": "/livez",
            "httpHeaders": [{"name": "Authorization", "value": f"Bearer {token}"}],
        }
    }
    apply, again = site.run(
        (dict(args, sensitive_values=[token]), {**APPLY, "diff": True}),
        (dict(args, sensitive_values=[token]), APPLY),
        verbose=True,
    )
    assert apply["changed"] is True
    assert again["changed"] is False
    # The token reaches the manifest on disk, and nowhere in what Ansible shows (-vvv, diff, invocation).
    probe = site.on_disk()["spec"]["containers"][0]["livenessProbe"]
    assert probe["httpGet"]["httpHeaders"][0]["value"] == f"Bearer {token}"
    assert token not in json.dumps([apply, again]) + site.last_output
    assert "Bearer ********" in site.last_output


def test_state_absent_removes_manifest_and_files(site: Site) -> None:
    absent = site.args(state="absent")
    for key in ("pod", "files", "kubernetes_version"):
        del absent[key]
    _applied, check, remove, again = site.run((site.args(), APPLY), (absent, CHECK), (absent, APPLY), (absent, APPLY))
    assert check["changed"] is True
    assert remove["changed"] is True
    assert again["changed"] is False
    assert remove["files"] == []
    assert "checksum" not in remove
    assert not site.manifest.exists()
    assert site.manifests.is_dir()
    assert os.listdir(site.static_pods) == []


def test_schema_errors_fail_before_anything_is_written(site: Site) -> None:
    pod = site.args()["pod"]
    pod["spec"]["containers"][0]["imagePullPolicyy"] = "Never"
    pod["spec"]["initContainers"] = [{"name": "sidecar", "image": "x", "restartPolicy": "Always"}]
    (failed,) = site.run((site.args(pod=pod), APPLY))
    assert failed["failed"] is True
    assert "Kubernetes 1.20.2 (v1.20.2)" in failed["msg"]
    assert "spec.containers[0].imagePullPolicyy: unknown field" in failed["msg"]
    assert "spec.initContainers[0].restartPolicy: unknown field" in failed["msg"]
    assert not site.manifests.exists()
    assert not site.static_pods.exists()


def test_newer_kubernetes_accepts_newer_fields_and_validation_can_be_skipped(site: Site) -> None:
    pod = site.args()["pod"]
    pod["spec"]["initContainers"] = [{"name": "sidecar", "image": "x", "restartPolicy": "Always"}]
    newer, unvalidated = site.run(
        (site.args(pod=pod, kubernetes_version="1.30.2"), CHECK),
        (site.args(pod=pod, validate=False), CHECK),
    )
    assert newer["changed"] is True and not newer.get("failed")
    assert unvalidated["changed"] is True and not unvalidated.get("failed")


def test_invalid_input_fails_with_a_clear_message(site: Site) -> None:
    pod = site.args()["pod"]
    pod["spec"]["volumes"] = [{"name": "tls", "emptyDir": {}}]
    clash, bad_name, too_old, missing = site.run(
        (site.args(pod=pod), APPLY),
        (site.args(name="Demo_Pod"), APPLY),
        (site.args(kubernetes_version="1.19.0"), APPLY),
        ({key: value for key, value in site.args().items() if key != "kubernetes_version"}, APPLY),
    )
    assert "volume 'tls' from files clashes with pod.spec.volumes[0]" in clash["msg"]
    assert "not a DNS-1123 label" in bad_name["msg"]
    assert "older than the oldest Pod schema shipped" in too_old["msg"]
    assert "kubernetes_version" in missing["msg"]
    assert not site.manifests.exists()


class HealthServer:
    """Answers 503 to the first `failures` requests, then 200 (or 503 forever when failures < 0)."""

    def __init__(self, failures: int) -> None:
        self.requests = 0
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests += 1
                healthy = 0 <= failures < server.requests
                self.send_response(200 if healthy else 503)
                self.end_headers()
                self.wfile.write(b"ok" if healthy else b"not ready")

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/healthz"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> HealthServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


@pytest.fixture
def becomes_healthy() -> Iterator[HealthServer]:
    with HealthServer(failures=2) as server:
        yield server


@pytest.fixture
def never_healthy() -> Iterator[HealthServer]:
    with HealthServer(failures=-1) as server:
        yield server


def test_wait_until_the_url_answers_200(site: Site, becomes_healthy: HealthServer) -> None:
    (applied,) = site.run((site.args(wait={"url": becomes_healthy.url, "timeout": 30}), APPLY))
    assert applied["changed"] is True and not applied.get("failed")
    assert applied["waited"] >= 1.0
    assert becomes_healthy.requests == 3


def test_wait_timeout_fails_with_the_last_error_and_check_mode_never_waits(
    site: Site, never_healthy: HealthServer
) -> None:
    wait = {"url": never_healthy.url, "timeout": 2}
    checked, timed_out = site.run((site.args(wait=wait), CHECK), (site.args(wait=wait), APPLY))
    assert checked["changed"] is True and not checked.get("failed")
    assert "waited" not in checked
    assert timed_out["failed"] is True
    assert "did not answer 200 within 2 s" in timed_out["msg"]
    assert "HTTP 503" in timed_out["msg"]
    assert timed_out["changed"] is True
    assert site.manifest.exists()
    assert 2 <= never_healthy.requests <= 4
