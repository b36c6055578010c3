"""No Docker engine runs here, so check the ops files by reading them: docker-compose.yml
and the Procfile agree (same processes, programs, queues, migrations before the app),
and the Dockerfile builds an image without our secrets that runs unprivileged."""

from __future__ import annotations

import fnmatch
import os
import shlex
import socket
import subprocess
from collections.abc import Sequence
from pathlib import Path

import yaml

from embedded.stack import stack_processes
from settings import Settings

ROOT = Path(__file__).resolve().parent.parent


def _procfile_lines() -> dict[str, str]:
    entries = {}
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.strip():
            name, command = line.split(":", 1)
            entries[name.strip()] = command.strip()
    return entries


def _procfile() -> dict[str, list[str]]:
    """Each process's program and arguments, after any guard (`: "${X:?...}" && exec`)."""
    entries = {}
    for name, command in _procfile_lines().items():
        argv = shlex.split(command)
        if "&&" in argv:
            argv = argv[len(argv) - argv[::-1].index("&&") :]
        entries[name] = argv[1:] if argv[0] == "exec" else argv
    return entries


def _compose() -> dict[str, dict[str, object]]:
    services: dict[str, dict[str, object]] = yaml.safe_load(
        (ROOT / "docker-compose.yml").read_text()
    )["services"]
    return services


def _program(argv: list[str]) -> list[str]:
    """The program, its app and subcommand (`celery -A workers beat`), before any
    option whose value may differ between the two files (ports, concurrency)."""
    words: list[str] = []
    for word in argv:
        if word.startswith("-") and word != "-A":
            break
        words.append(word)
    return words


def test_every_procfile_process_is_a_compose_service_running_the_same_program() -> None:
    procfile, compose = _procfile(), _compose()
    for name in ("web", "worker", "events", "relay", "beat", "flower"):
        command = compose[name]["command"]
        assert isinstance(command, str)
        assert _program(shlex.split(command)) == _program(procfile[name]), name


def test_workers_consume_the_same_queues_everywhere() -> None:
    """The main worker reads every queue, the events worker the events queue alone, in
    the Procfile, compose and `stocksync up`, under the same node names; each one's
    health check asks about its own heartbeat."""

    def option(argv: Sequence[str], name: str) -> str:
        return argv[list(argv).index(name) + 1]

    compose, procfile = _compose(), _procfile()
    stack = {spec.name: spec for spec in stack_processes(Settings(), with_flower=False)}
    for name, queues in (("worker", "events,sync,maintenance"), ("events", "events")):
        command = compose[name]["command"]
        assert isinstance(command, str)
        argvs = (shlex.split(command), procfile[name], stack[name].argv)
        assert {option(argv, "-Q") for argv in argvs} == {queues}
        (node,) = {option(argv, "-n") for argv in argvs}
        own = node.removesuffix("%h")
        probe = stack[name].probe
        assert (
            probe is not None
            and f"/readyz/consumers?worker={own}{socket.gethostname()}" in probe.url
        )
        assert f"/readyz/consumers?worker={own}' + socket.gethostname()" in str(
            compose[name]["healthcheck"]
        )


def test_each_workers_processes_are_set_by_its_variable_in_compose_as_in_the_procfile() -> None:
    """WORKER_CONCURRENCY and EVENTS_CONCURRENCY (README, configuration) size the two
    workers under compose too (interpolated from the shell or `.env`), with the same
    default as the Procfile's and the settings'."""
    compose, procfile, defaults = _compose(), _procfile(), Settings()
    for name, variable, default in (
        ("worker", "WORKER_CONCURRENCY", defaults.worker_concurrency),
        ("events", "EVENTS_CONCURRENCY", defaults.events_concurrency),
    ):
        command = shlex.split(str(compose[name]["command"]))
        argv = procfile[name]
        expected = f"${{{variable}:-{default}}}"
        assert command[command.index("--concurrency") + 1] == expected, name
        assert argv[argv.index("--concurrency") + 1] == expected, name


def test_migrations_run_before_the_app_and_services_are_health_checked() -> None:
    compose = _compose()
    assert compose["migrations"]["command"] == " ".join(_procfile()["release"])
    for name in ("web", "worker", "events", "relay", "beat", "flower"):
        depends = compose[name]["depends_on"]
        assert isinstance(depends, dict)
        assert depends["migrations"] == {"condition": "service_completed_successfully"}
        assert depends["postgres"] == {"condition": "service_healthy"}
        assert depends["redis"] == {"condition": "service_healthy"}
    assert "healthcheck" in compose["postgres"] and "healthcheck" in compose["redis"]
    assert compose["postgres"]["image"] == "postgres:16"
    assert compose["redis"]["image"] == "redis:7"


def _dockerfile() -> list[tuple[str, str]]:
    """The Dockerfile's instructions, (KEYWORD, arguments), continuation lines joined."""
    joined = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    instructions = []
    for line in joined.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            keyword, _, arguments = line.strip().partition(" ")
            instructions.append((keyword.upper(), arguments.strip()))
    return instructions


def _docker_ignores(path: str) -> bool:
    """Whether .dockerignore keeps `path` out of the build context: a pattern matching it
    or one of its folders (Docker's rule; `**/` also matches at the top)."""
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    patterns = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    assert not [p for p in patterns if p.startswith("!")], "exceptions are not modelled here"
    parts = path.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    variants = {v for p in patterns for v in (p, p.removeprefix("**/"))}
    return any(fnmatch.fnmatchcase(prefix, v) for prefix in prefixes for v in variants)


def test_the_image_leaves_out_the_venv_git_data_and_secrets() -> None:
    for path in (
        ".venv/bin/python",
        ".git/config",
        "var/encryption.key",
        "var/redis/appendonly.aof",
        "var/postgres/PG_VERSION",
        "api/__pycache__/app.cpython-311.pyc",
        "tests/artifacts/run.log",
        ".env",
        "deploy/prod.env",
        "deploy/tls.key",
        "secrets.key",
    ):
        assert _docker_ignores(path), path
    for path in ("api/app.py", "setup.cfg", "migrations/env.py", "README.md"):
        assert not _docker_ignores(path), path


def test_the_image_installs_dependencies_before_the_code_and_runs_unprivileged() -> None:
    instructions = _dockerfile()
    keywords = [keyword for keyword, _ in instructions]
    copy_code = instructions.index(("COPY", ". ."))
    # Before the code: only the package metadata is copied, and pip installs from it.
    early_copies = [args for keyword, args in instructions[:copy_code] if keyword == "COPY"]
    assert early_copies and all(". " not in f"{args} " for args in early_copies)
    assert any(k == "RUN" and "pip install" in a for k, a in instructions[:copy_code])
    # After it: the package alone, without resolving dependencies again.
    late_installs = [a for k, a in instructions[copy_code:] if k == "RUN" and "pip install" in a]
    assert late_installs and all("--no-deps" in a for a in late_installs)
    # The user the command runs as is not root.
    users = [args for keyword, args in instructions[: keywords.index("CMD")] if keyword == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    assert "USER" not in keywords[keywords.index("CMD") :]


def test_long_running_services_restart_and_migrations_do_not() -> None:
    compose = _compose()
    for name in ("postgres", "redis", "web", "worker", "events", "relay", "beat", "flower"):
        assert compose[name].get("restart") == "unless-stopped", name
    assert compose["migrations"]["restart"] == "no"


def test_flower_gets_its_password_from_the_environment_never_its_command_line() -> None:
    compose = _compose()
    for name, command in [(n, " ".join(a)) for n, a in _procfile().items()] + [
        (n, str(s.get("command", ""))) for n, s in compose.items()
    ]:
        assert "basic_auth" not in command and "FLOWER_BASIC_AUTH" not in command, name
    environment = compose["flower"]["environment"]
    assert isinstance(environment, dict)
    assert environment["FLOWER_BASIC_AUTH"].startswith("${FLOWER_BASIC_AUTH:?")


def test_the_procfile_flower_needs_a_password_and_keeps_it_off_its_command_line(
    tmp_path: Path,
) -> None:
    """Run the Procfile's line as a Procfile runner does (`sh -c`), with a `celery` that
    reports its arguments and whether it got the password."""
    fake = tmp_path / "celery"
    fake.write_text('#!/bin/sh\necho "argv: $*"\necho "auth: ${FLOWER_BASIC_AUTH:-none}"\n')
    fake.chmod(0o755)
    line = _procfile_lines()["flower"]
    env = {"PATH": f"{tmp_path}:{os.environ['PATH']}"}

    refused = subprocess.run(["sh", "-c", line], env=env, capture_output=True, text=True)
    assert refused.returncode != 0 and "FLOWER_BASIC_AUTH" in refused.stderr
    assert "argv:" not in refused.stdout  # Flower never started without a password

    env["FLOWER_BASIC_AUTH"] = "ops:s3cret-pass"
    ran = subprocess.run(["sh", "-c", line], env=env, capture_output=True, text=True)
    assert ran.returncode == 0
    argv, auth = ran.stdout.splitlines()
    assert argv.startswith("argv: -A workers flower") and "s3cret-pass" not in argv
    assert auth == "auth: ops:s3cret-pass"
