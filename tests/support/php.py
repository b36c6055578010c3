"""PHP for the WooCommerce plugin's tests (plugins/stocksync-woocommerce): Debian's `php-cli` and
`phpunit`, which .ci/run installs.

Importing this skips the importing test module when they are missing, except in CI,
where a missing PHP is an error rather than a silently skipped test.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

PLUGIN = Path(__file__).resolve().parents[2] / "plugins" / "stocksync-woocommerce"
PHP, PHPUNIT = shutil.which("php"), shutil.which("phpunit")

if not (PHP and PHPUNIT):
    if os.environ.get("CI"):
        raise RuntimeError("CI needs Debian's PHP: apt-get install -y php-cli phpunit")
    pytest.skip("no php or phpunit (apt-get install -y php-cli phpunit)", allow_module_level=True)


def run_phpunit(capture: Path) -> subprocess.CompletedProcess[str]:
    """The plugin's PHPUnit suite; each body its stubbed `wp_remote_post` is handed is
    written into `capture` as a file of its own."""
    return subprocess.run(
        [str(PHPUNIT), "-c", str(PLUGIN / "phpunit.xml.dist")],
        env={**os.environ, "STOCKSYNC_CAPTURE_DIR": str(capture)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def run_harness(base_url: str, api_key: str) -> list[dict[str, Any]]:
    """The plugin's own code sending the fixture store to `base_url` (its harness posts
    for real); one `{resource, action, status, body}` per request. The key goes in the
    environment, not the command line, which other users of the machine can read."""
    done = subprocess.run(
        [str(PHP), str(PLUGIN / "tests" / "harness" / "send.php"), base_url],
        env={**os.environ, "STOCKSYNC_API_KEY": api_key},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
