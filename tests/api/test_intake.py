"""The receiver's hand-written INSERT must stay in step with the model."""

from api.intake import COLUMNS
from models import WebhookLog


def test_insert_columns_exist_and_cover_every_required_column() -> None:
    table = WebhookLog.__table__
    assert set(COLUMNS) <= set(table.columns.keys())
    required = {
        column.name
        for column in table.columns
        if not column.nullable and column.server_default is None and not column.primary_key
    }
    assert required <= set(COLUMNS), required - set(COLUMNS)
