"""Every plugin's DOCUMENTATION, EXAMPLES and RETURN, and every doc fragment, is YAML that parses: a stray
``: `` in a description breaks ansible-doc, which only the (slow) sanity stage would otherwise notice."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import yaml

PLUGINS = Path(__file__).resolve().parents[2] / "plugins"
DOC_NAMES = {"DOCUMENTATION", "EXAMPLES", "RETURN"}


def doc_strings() -> list[tuple[str, str]]:
    found = []
    for path in sorted(PLUGINS.glob("*/*.py")):
        if path.parent.name == "module_utils":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Assign)
                and isinstance(node.targets[0], ast.Name)
                and (node.targets[0].id in DOC_NAMES or path.parent.name == "doc_fragments")
                and isinstance(node.value, ast.Constant)
                and isinstance(node.value.value, str)
            ):
                found.append((f"{path.relative_to(PLUGINS)}:{node.targets[0].id}", node.value.value))
    return found


@pytest.mark.parametrize(("where", "text"), doc_strings(), ids=[where for where, text in doc_strings()])
def test_the_documentation_is_yaml(where: str, text: str) -> None:
    assert yaml.safe_load(text) is not None, where


def test_every_module_is_documented() -> None:
    documented = {where.split(":")[0] for where, text in doc_strings() if where.endswith(":DOCUMENTATION")}
    modules = {str(path.relative_to(PLUGINS)) for path in PLUGINS.glob("modules/*.py")}
    assert modules <= documented
