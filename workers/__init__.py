"""Celery app, task presets and tasks. Tasks are thin: load rows, call a plain function,
record the outcome (docs/style.md rule 2). Start a worker with `celery -A workers worker`."""
