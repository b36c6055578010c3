"""The layer table of docs/architecture.md, held: every module's imports, read with `ast`.

An arrow against the table fails here with the file, the line and the import, so a
layer is never crossed by accident (a Flask module in the CLI, Celery tasks in the
service layer). Imports inside functions and under TYPE_CHECKING count too: a lazy
import is still a dependency.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: Our top-level packages and modules: an import of anything else is a library's.
OURS = {
    "api",
    "bench",
    "celeryconfig",
    "cli",
    "connectors",
    "demo",
    "embedded",
    "logconfig",
    "migrations",
    "models",
    "plugins",
    "sandbox",
    "schedules",
    "settings",
    "sync",
    "tests",
    "workers",
}
#: Everything public but the tests: what the demo and the benchmarks may use.
ANY = OURS - {"tests"}
#: Who may import whom (docs/architecture.md, "Layers"), config modules included.
ALLOWED: dict[str, set[str]] = {
    "settings": set(),
    "logconfig": set(),
    "celeryconfig": {"settings"},
    "models": set(),
    "connectors": {"models"},
    "sync": {"models", "connectors", "settings"},
    "schedules": {"sync", "models"},
    "workers": {
        "sync",
        "models",
        "connectors",
        "schedules",
        "settings",
        "logconfig",
        "celeryconfig",
    },
    "api": {"sync", "models", "workers", "settings", "logconfig"},
    "cli": {"sync", "models", "workers", "embedded", "settings", "logconfig"},
    "embedded": {"settings"},
    "sandbox": set(),
    "plugins": set(),
    "migrations": {"models", "embedded", "settings"},
    "demo": ANY,
    "bench": ANY,
    "tests": OURS,
}
#: Narrower rules inside an allowed arrow: the web app uses `workers/` to publish
#: only (a Celery client in its service context), the CLI also runs the relay.
ONLY: dict[tuple[str, str], set[str]] = {
    ("api", "workers"): {"workers.context"},
    ("cli", "workers"): {"workers.context", "workers.relay"},
}
#: Process entry points resolve their services, starting embedded servers if no URL is
#: set: they alone may also import `embedded`.
ENTRY_POINTS = {"api.wsgi": {"embedded"}, "workers.celery": {"embedded"}}


@dataclass(frozen=True)
class Import:
    path: Path
    line: int
    module: str
    #: Names taken from the module (`from module import a, b`), else empty.
    names: tuple[str, ...]

    def __str__(self) -> str:
        taken = f" import {', '.join(self.names)}" if self.names else ""
        return f"{self.path.relative_to(ROOT)}:{self.line}: {self.module}{taken}"


def modules() -> Iterator[tuple[str, Path]]:
    for path in sorted(ROOT.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if parts[0] in OURS and "versions" not in parts:
            yield ".".join(part for part in parts if part != "__init__"), path


def imports(path: Path) -> Iterator[Import]:
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(path, node.lineno, alias.name, ())
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield Import(path, node.lineno, node.module, tuple(a.name for a in node.names))


def crossings() -> Iterator[tuple[str, Import]]:
    """(importing module, import) for every import of one of our top-level names."""
    for name, path in modules():
        for found in imports(path):
            if found.module.split(".")[0] in OURS:
                yield name, found


def test_every_import_follows_the_layer_table() -> None:
    wrong = []
    for name, found in crossings():
        layer, target = name.split(".")[0], found.module.split(".")[0]
        if target == layer:
            continue
        allowed = ALLOWED[layer] | ENTRY_POINTS.get(name, set())
        only = ONLY.get((layer, target))
        if target not in allowed or (only and not found.module.startswith(tuple(only))):
            wrong.append(f"{layer} -> {target}: {found}")
    assert not wrong, "imports against the layer table:\n" + "\n".join(wrong)


def test_no_module_takes_a_private_name_from_another() -> None:
    """A name starting with `_` is its module's own; another module that needs it
    needs a public name (dunders such as `__version__` are public)."""
    wrong = [
        str(found)
        for name, found in crossings()
        if found.module != name
        and any(n.startswith("_") and not n.startswith("__") for n in found.names)
    ]
    assert not wrong, "private names imported:\n" + "\n".join(wrong)


def test_every_package_is_in_the_table() -> None:
    """A new top-level package must say what it may import."""
    found = {name.split(".")[0] for name, _ in modules()}
    assert found <= set(ALLOWED), sorted(found - set(ALLOWED))


def test_the_walker_reads_imports_inside_functions(tmp_path: Path) -> None:
    """A lazy import is still a dependency: the walker must see it."""
    probe = tmp_path / "probe.py"
    probe.write_text("import os\n\ndef f():\n    from workers.context import get_context\n")
    assert [(i.line, i.module, i.names) for i in imports(probe)] == [
        (1, "os", ()),
        (4, "workers.context", ("get_context",)),
    ]
