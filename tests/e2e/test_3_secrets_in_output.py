"""No private key, token or password appears in the output of the runs, the first one at -vvv."""

from __future__ import annotations

import base64
import re

import yaml

from e2e import localsite as e2e

# A bootstrap token anywhere in the output (the minted ones are deleted again, so their values are unknown here).
BOOTSTRAP_TOKEN = re.compile(r"\b[a-z0-9]{6}\.[a-z0-9]{16}\b")


def secret_values() -> list[str]:
    """Every secret of the cluster, read from a control-plane machine's secrets state."""
    state = e2e.ssh("e2e-cp-0", "cat /var/lib/gardener-autonomous/secrets.yaml")
    assert state.returncode == 0, state.stderr
    values = []
    for entry in yaml.safe_load(state.stdout):
        for key, encoded in entry["data"]["data"].items():
            text = base64.b64decode(encoded).decode()
            if "PRIVATE KEY" in text:
                # Each line of the key's body is distinctive; one is enough to catch a leak.
                values.extend(line for line in text.splitlines() if len(line) >= 40 and "-----" not in line)
            elif key in {"secret", "health-check", "static_tokens.csv"} or key.endswith(".key"):
                values.append(text.strip())
    return values


def test_the_runs_print_no_secret(brought_up) -> None:
    secrets = secret_values()
    assert len(secrets) > 20, "the secrets state should hold keys, tokens and the encryption key"
    runs = {"first (-vvv)": brought_up.first, "second": brought_up.second, "check": brought_up.check}
    for name, run in runs.items():
        assert "PRIVATE KEY-----" not in run.output, f"a PEM private key in the {name} run"
        leaked = [value[:12] + "..." for value in secrets if value in run.output]
        assert leaked == [], f"secrets in the {name} run's output"
        assert BOOTSTRAP_TOKEN.findall(run.output) == [], f"a bootstrap token in the {name} run's output"
