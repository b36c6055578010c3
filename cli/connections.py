"""A site's or source's connection from the command line: `test` calls its platform
with its credentials, `subscriptions` shows the webhooks we keep there (`--keep` mends
them now). The same service as `POST /api/sites/<id>/test` and
`/api/sites/<id>/subscriptions` (sync/subscriptions.py); `set-secret` sets the secret
it signs with. The groups in cli/sites.py and cli/sources.py add these commands under
their own names."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import click

from cli.context import Context
from cli.inputs import secret
from cli.services import echo_json, services
from sync import subscriptions
from sync.context import Context as ServiceContext

#: Flag of `add`: skip the call to the platform (it is down now, or not reachable yet).
NO_CHECK = click.option(
    "--no-check",
    is_flag=True,
    help="Save without calling the platform (by default a wrong key is refused now).",
)

Resolve = Callable[[ServiceContext, str], int]


def echo_registration(answer: dict[str, Any]) -> None:
    """What `add` registered on the platform, and what is left to do by hand."""
    made = answer.get("subscriptions") or []
    if made:
        states: dict[str, int] = {}
        for row in made:
            states[row["state"]] = states.get(row["state"], 0) + 1
        summary = ", ".join(f"{n} {state}" for state, n in sorted(states.items()))
        click.echo(f"webhook subscriptions: {summary} (registered with PUBLIC_URL)")
    for line in ("subscriptions_note", "subscriptions_error"):
        if answer.get(line):
            click.echo(f"webhooks: {answer[line]}")
    steps = answer.get("manual_steps") or []
    if steps:
        click.echo("This platform has no API for webhooks. Set it up by hand (shown once):")
        for number, step in enumerate(steps, 1):
            click.echo(f"  {number}. {step}")


#: A site's or source's update in the service layer (`update_site`, `update_source`).
Update = Callable[[ServiceContext, int, Mapping[str, Any]], dict[str, Any]]


def secret_command(kind: str, resolve: Resolve, update: Update) -> click.Command:
    @click.command("set-secret")
    @click.argument("ref")
    @click.option(
        "--secret", "given", default=None, help="String, JSON or @file.json; omit to generate."
    )
    @click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
    @click.pass_obj
    def set_secret(obj: Context, ref: str, given: str | None, as_json: bool) -> None:
        """Set or rotate the webhook secret its platform signs with (`show` says which
        one it is); the webhooks stocksync registered there are given it at once."""
        value = secret("--secret", given)
        change = {"rotate_webhook_secret": True} if value is None else {"webhook_secret": value}
        with services(obj) as ctx:
            shown = update(ctx, resolve(ctx, ref), change)
        if as_json:
            echo_json(shown)
            return
        generated = shown.get("webhook_secret")
        click.echo(f"new secret (shown once): {generated}" if generated else "secret set")
        echo_registration(shown)

    return set_secret


def test_command(kind: str, resolve: Resolve) -> click.Command:
    @click.command("test")
    @click.argument("ref")
    @click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
    @click.pass_obj
    def test(obj: Context, ref: str, as_json: bool) -> None:
        """Call the platform with the saved credentials; say in one line what is wrong."""
        with services(obj) as ctx:
            answer = subscriptions.check_owner(ctx, kind, resolve(ctx, ref))
        if as_json:
            echo_json(answer)
        else:
            click.echo(f"{answer['platform']}: connection works")

    return test


def subscriptions_command(kind: str, resolve: Resolve) -> click.Command:
    @click.command("subscriptions")
    @click.argument("ref")
    @click.option("--keep", is_flag=True, help="Check and mend them now, as the keeper does.")
    @click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
    @click.pass_obj
    def show(obj: Context, ref: str, keep: bool, as_json: bool) -> None:
        """Our webhook subscriptions on its platform: state, expiry, last delivery, last
        check, and what the keeper last did."""
        with services(obj) as ctx:
            owner = resolve(ctx, ref)
            rows = (subscriptions.keep if keep else subscriptions.describe)(ctx, kind, owner)
        if as_json:
            echo_json(rows)
            return
        if not rows:
            click.echo("none registered (PUBLIC_URL unset, or not checked yet: --keep)")
        for row in rows:
            done = " · ".join(x for x in (row["last_action"], row["last_error"]) if x)
            click.echo(
                f"{row['topic']:<40} {row['state']:<9} expires {row['expires_at'] or 'never'}"
                f"  last delivery {row['last_delivery_at'] or 'never'}"
                + (f"  {done}" if done else "")
            )

    return show
