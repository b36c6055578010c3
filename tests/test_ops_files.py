"""No Docker engine runs here, so check that docker-compose.yml and the Procfile agree:
same processes, same programs, same queues, and migrations before the app."""

from __future__ import annotations

import shlex
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def _procfile() -> dict[str, list[str]]:
    entries = {}
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.strip():
            name, command = line.split(":", 1)
            entries[name.strip()] = shlex.split(command)
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
    for name in ("web", "worker", "relay", "beat", "flower"):
        command = compose[name]["command"]
        assert isinstance(command, str)
        assert _program(shlex.split(command)) == _program(procfile[name]), name


def test_workers_consume_the_same_queues() -> None:
    def queues(argv: list[str]) -> str:
        return argv[argv.index("-Q") + 1]

    worker_cmd = _compose()["worker"]["command"]
    assert isinstance(worker_cmd, str)
    assert (
        queues(shlex.split(worker_cmd))
        == queues(_procfile()["worker"])
        == ("events,sync,maintenance")
    )


def test_migrations_run_before_the_app_and_services_are_health_checked() -> None:
    compose = _compose()
    assert compose["migrations"]["command"] == " ".join(_procfile()["release"])
    for name in ("web", "worker", "relay", "beat", "flower"):
        depends = compose[name]["depends_on"]
        assert isinstance(depends, dict)
        assert depends["migrations"] == {"condition": "service_completed_successfully"}
        assert depends["postgres"] == {"condition": "service_healthy"}
        assert depends["redis"] == {"condition": "service_healthy"}
    assert "healthcheck" in compose["postgres"] and "healthcheck" in compose["redis"]
    assert compose["postgres"]["image"] == "postgres:16"
    assert compose["redis"]["image"] == "redis:7"
