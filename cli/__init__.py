"""The `stocksync` command line (click, as Flask and Celery use)."""
