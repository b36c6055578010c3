"""Faithful local fakes of each platform's API and webhooks.

One package per platform (`sandbox.shopify`, ...) builds a small Flask (WSGI) app with
`create_app(config)` (`sandbox.registry` finds it by name): the real paths, response
shapes, auth, pagination and batch limits of its platform, as blueprints of module-level
views over the app's state (`sandbox.base`), plus the shared fault injection and
`/_sandbox/*` control routes (`sandbox.app`, `sandbox.control`). Which credentials and
secrets each sandbox accepts and signs with is `sandbox.accounts`.

They run in a thread or a child process for tests and the demo (`sandbox.server`), or
in the foreground as `python -m sandbox <platform> --port N`, which prints how to
connect stocksync to it. Nothing here imports the rest of stocksync: a sandbox stands
in for the outside world.
"""
