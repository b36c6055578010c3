"""Alembic revisions, shipped with the package so `stocksync db upgrade` works from an
installed wheel (models/migrate.py finds them beside models/)."""
