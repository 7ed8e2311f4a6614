"""The direction of the imports between the parts of the package (read from the source with ast).

io → structure ← descriptors ← analysis ← latent ← report, the CLI on top: each
part may import only the parts listed for it in ALLOWED, and no private
(underscore) name crosses a module boundary.  docs/architecture.md draws the map.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"

#: Which part each module belongs to: the longest matching prefix of its dotted name.
PARTS = {
    "latentcsp": "package",
    "latentcsp.structure": "structure",
    "latentcsp.io": "io",
    "latentcsp.store": "store",
    "latentcsp.descriptors": "descriptors",
    "latentcsp.analysis": "analysis",
    "latentcsp.latent": "latent",
    "latentcsp.synth": "synth",
    "latentcsp.calibration": "calibration",
    "latentcsp.search": "search",
    "latentcsp.ingest": "stages",
    "latentcsp.select": "stages",
    "latentcsp.datasets": "stages",
    "latentcsp.report": "report",
    "latentcsp.workflow": "cli",
    "latentcsp.cli": "cli",
}

_BELOW_REPORT = {"package", "structure", "io", "store", "descriptors", "analysis", "latent", "synth",
                 "calibration", "stages"}
#: The parts each part may import (besides itself).
ALLOWED = {
    "package": set(),
    "structure": {"package"},
    "io": {"package", "structure"},
    "store": {"package", "structure"},
    "descriptors": {"package", "structure", "store"},
    "analysis": {"package", "structure", "store", "descriptors"},
    "latent": {"package", "structure", "store", "descriptors", "analysis"},
    "synth": {"package", "structure", "io", "store"},
    "calibration": {"package", "structure", "store", "descriptors", "analysis", "synth"},
    "stages": {"package", "structure", "io", "store", "descriptors", "analysis"},
    "report": _BELOW_REPORT,
    "search": _BELOW_REPORT | {"report"},
    "cli": _BELOW_REPORT | {"report", "search"},
}


def part_of(module: str) -> str:
    best = max((p for p in PARTS if module == p or module.startswith(p + ".")), key=len)
    return PARTS[best]


def modules() -> dict[str, Path]:
    out = {}
    for path in sorted((SRC / "latentcsp").rglob("*.py")):
        parts = path.relative_to(SRC).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


MODULES = modules()


def imports(name: str, path: Path) -> list[tuple[int, str, list[str]]]:
    """(line, imported module, imported names) of every latentcsp import in a module, function bodies included."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name, []) for a in node.names if a.name.split(".")[0] == "latentcsp"]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] == "latentcsp":
                names = [a.name for a in node.names]
                # 'from . import x' imports the module latentcsp.<...>.x
                subs = [f"{target}.{n}" for n in names if f"{target}.{n}" in MODULES]
                found.append((node.lineno, target, names))
                found += [(node.lineno, s, []) for s in subs]
    return found


def test_every_module_has_a_part():
    assert all(part_of(name) for name in MODULES)
    assert {part_of(name) for name in MODULES} <= set(ALLOWED)


@pytest.mark.parametrize("name", sorted(MODULES))
def test_imports_point_down(name):
    mine = part_of(name)
    wrong = [f"line {line}: {target} ({part_of(target)})" for line, target, _ in imports(name, MODULES[name])
             if part_of(target) != mine and part_of(target) not in ALLOWED[mine]]
    assert not wrong, f"{name} ({mine}) imports parts above it: {wrong}"


def test_the_chain_of_the_issue():
    """io → structure ← descriptors ← analysis ← latent ← report, CLI on top."""
    assert "io" not in ALLOWED["descriptors"] | ALLOWED["analysis"] | ALLOWED["latent"]
    for lower, upper in [("structure", "descriptors"), ("descriptors", "analysis"), ("analysis", "latent"),
                         ("latent", "report"), ("report", "cli"), ("structure", "io")]:
        assert lower in ALLOWED[upper] and upper not in ALLOWED[lower]


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_private_names_cross_modules(name):
    """Neither ``from .x import _name`` nor ``thing._name`` on a module or object imported from another module."""
    path = MODULES[name]
    tree = ast.parse(path.read_text())
    wrong = []
    bound = set()
    for line, target, names in imports(name, path):
        if target == name:
            continue
        wrong += [f"line {line}: imports {n} from {target}" for n in names
                  if n.startswith("_") and not n.startswith("__")]
        bound.update(names)
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            for a in node.names:
                if a.asname and (a.name in bound or isinstance(node, ast.Import) and a.name.startswith("latentcsp")):
                    bound.add(a.asname)
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in bound
                and node.attr.startswith("_") and not node.attr.startswith("__")):
            wrong.append(f"line {node.lineno}: {node.value.id}.{node.attr}")
    assert not wrong, f"{name} uses private names of other modules: {wrong}"
