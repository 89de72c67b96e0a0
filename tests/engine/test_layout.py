"""The engine's layout rules: no Home Assistant under engine/, and each package imports
only the packages below it (see each package's __init__ docstring)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ENGINE = Path(__file__).parents[2] / "custom_components" / "privacy_cam" / "engine"
PACKAGE = "custom_components.privacy_cam.engine"

# What each part of the engine may import of ours. The top-level `__init__` and
# `__main__` may import any of them; `pipeline` has its own rule below.
ALLOWED: dict[str, frozenset[str]] = {
    "sources": frozenset(),
    "motion": frozenset({"sources"}),
    "recording": frozenset({"sources"}),
    "sharing": frozenset({"sources", "motion", "recording"}),
    "classify": frozenset({"sources"}),
    # engine/pipeline.py wires a camera's stages; nothing in the packages imports it.
    "pipeline": frozenset({"sources", "motion", "recording", "classify"}),
}
TOP_LEVEL = frozenset({"sources", "motion", "recording", "sharing", "classify"})


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ENGINE).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join([PACKAGE, *parts])


def _imports(source: str, module: str, is_package: bool) -> list[str]:
    """Every module `source` imports (also inside functions), relative ones resolved."""
    names: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")
                if not is_package:
                    base = base[:-1]
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            names.append(target)
    return names


def violations(source: str, module: str, is_package: bool = False) -> list[str]:
    """What breaks the rules in one engine module's source."""
    found = []
    inner = module.removeprefix(PACKAGE).lstrip(".")
    part = inner.split(".")[0] if inner else ""
    for name in _imports(source, module, is_package):
        if name == "homeassistant" or name.startswith("homeassistant."):
            found.append(f"{module} imports {name}: the engine must run without Home Assistant")
        elif name.startswith("custom_components.privacy_cam") and not name.startswith(PACKAGE):
            found.append(f"{module} imports {name}: the engine must not import the HA glue")
        elif part in ALLOWED and (name == PACKAGE or name.startswith(PACKAGE + ".")):
            other = name.removeprefix(PACKAGE).lstrip(".").split(".")[0]
            if other in TOP_LEVEL and other != part and other not in ALLOWED[part]:
                found.append(f"{module} imports {name}: {part} may not import {other}")
            elif other not in TOP_LEVEL:
                found.append(f"{module} imports {name}: {part} may not import the top level")
    return found


def engine_modules() -> list[Path]:
    return sorted(ENGINE.rglob("*.py"))


def test_the_engine_keeps_its_layout() -> None:
    modules = engine_modules()
    assert {p.parent.name for p in modules if p.parent != ENGINE} == TOP_LEVEL
    problems = [
        problem
        for path in modules
        for problem in violations(
            path.read_text(), _module_name(path), is_package=path.name == "__init__.py"
        )
    ]
    assert problems == []


def test_every_engine_package_says_what_it_owns_and_may_import() -> None:
    for part in TOP_LEVEL:
        doc = ast.get_docstring(ast.parse((ENGINE / part / "__init__.py").read_text()))
        assert doc
        assert "May import" in doc


@pytest.mark.parametrize(
    ("module", "source", "expected"),
    [
        (f"{PACKAGE}.sources.demo", "import homeassistant.core\n", "engine must run without"),
        (
            f"{PACKAGE}.motion.zones",
            "def f():\n    from homeassistant.core import HomeAssistant\n",
            "engine must run without",
        ),
        (f"{PACKAGE}.sources.urls", "from ..motion.detector import Box\n", "sources may not"),
        (f"{PACKAGE}.motion.events", "from ..recording import clipstore\n", "motion may not"),
        (f"{PACKAGE}.recording.recorder", "from ..motion.detector import Box\n", "recording may"),
        (f"{PACKAGE}.recording.recorder", "from ..sharing.audit import A\n", "recording may"),
        (f"{PACKAGE}.sharing.package", "from ...const import DOMAIN\n", "the HA glue"),
        (f"{PACKAGE}.sources.source", "from .. import create_source\n", "the top level"),
        (f"{PACKAGE}.recording.recorder", "from ..pipeline import C\n", "the top level"),
        (f"{PACKAGE}.pipeline", "from .sharing.audit import AuditLog\n", "pipeline may not"),
        (f"{PACKAGE}.pipeline", "from homeassistant.core import callback\n", "engine must run"),
    ],
)
def test_the_rule_check_catches_what_it_should(module: str, source: str, expected: str) -> None:
    problems = violations(source, module)
    assert len(problems) == 1
    assert expected in problems[0]


def test_allowed_imports_pass_the_rule_check() -> None:
    assert violations("from ..sources.frames import Box\n", f"{PACKAGE}.motion.detector") == []
    assert violations("from ..recording.clipstore import C\n", f"{PACKAGE}.sharing.x") == []
    assert violations("from .jpeg import encode_jpeg\n", f"{PACKAGE}.sources.source") == []
    assert violations("from .motion.watcher import W\n", f"{PACKAGE}.pipeline") == []
    assert violations("import numpy as np\nimport av\n", f"{PACKAGE}.sources.frames") == []
