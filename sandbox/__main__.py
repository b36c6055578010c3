"""`python -m sandbox <platform>`: serve one platform's sandbox in the foreground, and say
exactly how to connect stocksync to it.

    python -m sandbox shopify --port 8103 --webhook-url http://127.0.0.1:8000/webhooks/shopify/1

The sandbox runs on its platform's default account (`sandbox.accounts.DEFAULTS`), with
`--webhook-secret` as the secret its webhooks are signed or authenticated with. Once it
listens it prints its base URL, the credentials JSON stocksync stores for it, the
secret it signs with, the value of stocksync's `--webhook-secret` (BigCommerce and
Shopify verify with the app's client secret, so it is not always the same), and a
ready-to-paste `stocksync sources add` or `sites add` line. Faults, latency and the
webhook URL can be changed while it runs: `POST /_sandbox/faults`.

A module of the sandbox package, not a `stocksync` command: the CLI may not import the
sandboxes, and a sandbox stands in for the outside world (docs/architecture.md, Layers).
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from collections.abc import Sequence

from sandbox import registry
from sandbox.accounts import DEFAULTS, ERPS, Account
from sandbox.base import SandboxConfig
from sandbox.server import serve_forever

#: The source name the printed ERP line registers, and the printed store lines name.
SOURCE_NAME = "sandbox-erp"


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m sandbox",
        description="Serve one platform's sandbox and print how to connect stocksync to it.",
    )
    parser.add_argument("platform", choices=registry.PLATFORMS)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8100, help="0 picks a free one")
    parser.add_argument("--items", type=int, default=20_000, help="catalog size")
    parser.add_argument(
        "--drift", type=float, default=0.0, help="share of SKUs whose store stock differs"
    )
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--webhook-url", default=None, help="where to send its webhooks")
    parser.add_argument(
        "--webhook-secret",
        default=None,
        help="what its webhooks are signed or authenticated with (default: the account's)",
    )
    return parser.parse_args(argv)


def signing(account: Account) -> str:
    """Which secret the sandbox's webhooks carry or are signed with, and how."""
    secret, client_secret = account.webhook_secret, account.sandbox.get("client_secret")
    if account.platform == "woocommerce":
        return f"{secret} (X-WC-Webhook-Signature: base64 HMAC-SHA256 of the body)"
    if account.platform == "shopify":
        return f"{client_secret} (the app's client secret; X-Shopify-Hmac-Sha256)"
    if account.platform == "bigcommerce":
        return (
            f"{client_secret} (the app's client secret; Standard Webhooks webhook-signature)"
            f" and {secret} (the X-Webhook-Secret header)"
        )
    if account.platform == "zoho":
        return f"{secret} (the X-Zoho-Webhook-Token header; Zoho signs nothing)"
    return f"{secret} (the clientState of each notification)"


def _secret_argument(value: str | dict[str, str]) -> str:
    """`--webhook-secret` as stocksync parses it: a string, or JSON for an object."""
    return value if isinstance(value, str) else json.dumps(value)


def connection_text(account: Account, url: str, config: SandboxConfig) -> str:
    """What the sandbox prints once it listens at `url`: how to connect stocksync."""
    credentials = json.dumps(account.stored_credentials(url))
    secret = _secret_argument(account.receiver_secret())
    if account.platform in ERPS:
        command = ["stocksync", "sources", "add", SOURCE_NAME, "--kind", account.platform]
    else:
        name = f"sandbox-{account.platform}"
        command = ["stocksync", "sites", "add", name, "--platform", account.platform]
        command += ["--source", SOURCE_NAME]
    command += ["--base-url", url, "--credentials", credentials, "--webhook-secret", secret]
    target = config.webhook_url or f"nowhere yet (--webhook-url, or POST {url}/_sandbox/faults)"
    return "\n".join(
        [
            f"{account.platform} sandbox: {config.items:,} items, serving until Ctrl-C",
            f"  base URL             {url}",
            f"  credentials          {credentials}",
            f"  signs webhooks with  {signing(account)}",
            f"  --webhook-secret     {secret}",
            f"  webhooks go to       {target}",
            "Connect stocksync to it:",
            f"  {shlex.join(command)}",
        ]
    )


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    account = DEFAULTS[args.platform]
    if args.webhook_secret is not None:
        account = account.with_webhook_secret(args.webhook_secret)
    config = SandboxConfig.for_account(
        account,
        items=args.items,
        drift=args.drift,
        latency_ms=args.latency_ms,
        webhook_url=args.webhook_url,
    )
    app = registry.create_app(args.platform, config)

    def announce(url: str) -> None:
        # Flushed: whoever reads it (a terminal, a log, a test) may act on it at once.
        print(connection_text(account, url, config), flush=True)

    serve_forever(app, args.host, args.port, announce)


if __name__ == "__main__":
    main(sys.argv[1:])
