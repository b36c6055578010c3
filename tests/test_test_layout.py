"""The tests' own layout (docs/style.md rule 13): no module imports a test module or a conftest.

A helper shared by tests lives in `tests/factories/` (builders of rows and payloads) or
`tests/support/` (the harness: sandbox stacks, workers, clients); a conftest holds only
the fixtures pytest hands to its directory. A helper left in a test module or a conftest
is found by no one looking for it, and ties its importers to a file that may move or go.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent


def _is_test_or_conftest(path: Path) -> bool:
    return path.name == "conftest.py" or path.name.startswith("test_")


def _imported_modules(source: str, path: Path) -> Iterator[tuple[int, str]]:
    """(line, dotted name) of each module that `source`, the text of the file at `path`,
    imports, relative imports resolved.

    For `from package import name`, `package.name` is yielded too: `name` may be a
    module (`from tests.api import conftest`).
    """
    package = path.relative_to(ROOT).parent.parts
    for node in ast.walk(ast.parse(source, str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = list(package[: len(package) - node.level + 1])
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            yield node.lineno, module
            for alias in node.names:
                yield node.lineno, f"{module}.{alias.name}"


def _module_file(dotted: str) -> Path | None:
    """The file under tests/ that a dotted name stands for, if any."""
    parts = dotted.split(".")
    if parts[0] != TESTS.name:
        return None
    path = ROOT.joinpath(*parts).with_suffix(".py")
    return path if path.is_file() else None


def test_no_module_imports_a_test_module_or_a_conftest() -> None:
    offences = []
    for path in sorted(TESTS.rglob("*.py")):
        for line, dotted in _imported_modules(path.read_text(), path):
            target = _module_file(dotted)
            if target is not None and _is_test_or_conftest(target):
                offences.append(f"{path.relative_to(ROOT)}:{line} imports {dotted}")
    assert offences == [], "\n".join(offences)


def test_the_check_sees_absolute_relative_and_module_imports() -> None:
    """Each way of importing a conftest or a test module is found, inside a function too."""
    path = TESTS / "package" / "test_example.py"
    this = "tests.test_test_layout"
    sources = {
        "from tests.conftest import settings": "tests.conftest",
        "import tests.conftest": "tests.conftest",
        "from tests import conftest": "tests.conftest",
        "from ..conftest import settings": "tests.conftest",
        "from ..test_test_layout import ROOT": this,
        "from .. import test_test_layout": this,
    }
    for source, module in sources.items():
        found = {
            dotted
            for _, dotted in _imported_modules(f"def f():\n    {source}\n", path)
            if (target := _module_file(dotted)) is not None and _is_test_or_conftest(target)
        }
        assert found == {module}, source
