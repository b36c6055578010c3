"""The object every `stocksync` command receives: settings loaded once, lazily."""

from __future__ import annotations

import click

from embedded.runtime import resolve_running
from settings import Settings, SettingsError, load_settings


class Context:
    """A bad variable fails the command with one line naming it (exit code 1)."""

    def __init__(self) -> None:
        self._settings: Settings | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            try:
                self._settings = load_settings()
            except SettingsError as error:
                raise click.ClickException(str(error)) from None
        return self._settings

    @property
    def running_settings(self) -> Settings:
        """The settings with the URLs of the services that run; starts none (a
        `NothingRunning` is one line and exit 1, like any bad setting)."""
        try:
            return resolve_running(self.settings)
        except SettingsError as error:
            raise click.ClickException(str(error)) from None
