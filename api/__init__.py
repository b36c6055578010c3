"""The Flask receiver, admin API and dashboard. Build it with `api.app.create_app`."""
