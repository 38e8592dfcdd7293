"""Makes `ansible_collections.gardener.autonomous` importable from the repository checkout."""

from __future__ import annotations

import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
COLLECTIONS = REPO_ROOT / ".collections"
if not (COLLECTIONS / "ansible_collections" / "gardener" / "autonomous").exists():
    raise RuntimeError("run `make setup` first: .collections/ansible_collections/gardener/autonomous is missing")
sys.path.insert(0, str(COLLECTIONS))
