"""Every log call names its event with a constant and passes values in `extra=`.

Our logs are JSON lines (logconfig.py): an event name to grep for, and fields to
filter on (`"run": 42`). A printf-style message (`log.info("run=%d", run_id)`, or an
f-string) buries the id in text that no filter reads, so it is refused here. Event
names chosen from a closed set (`log.info(event, ...)`) are fine: still one name.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("api", "bench", "cli", "connectors", "demo", "embedded", "models", "sandbox")
PACKAGES += ("schedules", "sync", "workers")
MODULES = ("settings.py", "logconfig.py", "celeryconfig.py")
LEVELS = {"debug", "info", "warning", "error", "exception", "critical"}
LOGGERS = {"log", "logger"}


def log_calls(path: Path) -> Iterator[ast.Call]:
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in LEVELS
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id in LOGGERS
        ):
            yield node


def printf_style(call: ast.Call) -> bool:
    """More than the event name positionally, or a name built from values."""
    return len(call.args) > 1 or isinstance(call.args[0], ast.JoinedStr | ast.BinOp)


def sources() -> Iterator[Path]:
    for package in PACKAGES:
        yield from sorted((ROOT / package).rglob("*.py"))
    for module in MODULES:
        yield ROOT / module


def test_no_log_call_formats_its_message() -> None:
    wrong = [
        f"{path.relative_to(ROOT)}:{call.lineno}: {ast.unparse(call)[:100]}"
        for path in sources()
        for call in log_calls(path)
        if call.args and printf_style(call)
    ]
    assert not wrong, "log calls with printf-style messages:\n" + "\n".join(wrong)


def test_the_check_sees_printf_style_calls(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text(
        'log.info("sync.run.started", extra={"run": 1})\n'
        'log.info("run=%d", 1)\n'
        'log.warning(f"run {run_id}")\n'
        "log.info(event, extra={})\n"
    )
    assert [printf_style(call) for call in log_calls(probe)] == [False, True, True, False]
