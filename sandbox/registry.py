"""Sandbox apps by platform name; each module exposes `create_app(config) -> Flask`.

The app's state is `app.config["SANDBOX_STATE"]` (a `sandbox.base.SandboxState`).
"""

from __future__ import annotations

import importlib
from typing import Any

from sandbox.base import SandboxConfig

PLATFORMS = ("businesscentral", "zoho", "woocommerce", "bigcommerce", "shopify")


def create_app(platform: str, config: SandboxConfig) -> Any:
    if platform not in PLATFORMS:
        raise ValueError(f"unknown sandbox {platform!r}; expected one of {', '.join(PLATFORMS)}")
    module = importlib.import_module(f"sandbox.{platform}")
    return module.create_app(config)
