"""Faithful local fakes of each platform's API and webhooks.

Each platform module builds a small Flask (WSGI) app on top of `sandbox.base`: the real
paths, response shapes, auth, pagination and batch limits of its platform, plus the
shared fault injection and `/_sandbox/*` control routes. They run in a thread for tests
(`sandbox.server.running`) or as `stocksync sandbox <platform> --port N` for the demo and
benchmarks. Nothing here imports the rest of stocksync: a sandbox stands in for the
outside world.
"""
