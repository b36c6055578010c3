"""The declarative base, its naming convention and the column types every model reuses.

Constraint names follow a convention so Alembic can drop and alter them by name
(docs/style.md rule 10). Datetimes are timezone-aware UTC everywhere: a site's local time is
computed from its IANA zone when needed, never stored.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Annotated, Any

from sqlalchemy import BigInteger, Boolean, DateTime, Enum, MetaData, func, true
from sqlalchemy.orm import DeclarativeBase, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> datetime:
    return datetime.now(UTC)


bigint_pk = Annotated[int, mapped_column(BigInteger, primary_key=True)]
created_at = Annotated[
    datetime, mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)
]
updated_at = Annotated[
    datetime,
    mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=utcnow, nullable=False
    ),
]
timestamp = Annotated[datetime | None, mapped_column(DateTime(timezone=True))]
bool_true = Annotated[bool, mapped_column(Boolean, server_default=true(), nullable=False)]


def enum_column(enum_cls: type[enum.Enum], **kwargs: Any) -> Any:
    """Store an enum by its value, as a CHECK-constrained VARCHAR (no PG ENUM type:
    adding a status later is then an ordinary migration, not an ALTER TYPE)."""
    return mapped_column(
        Enum(
            enum_cls,
            native_enum=False,
            create_constraint=True,
            length=32,
            values_callable=lambda members: [m.value for m in members],
            validate_strings=True,
            name=enum_cls.__name__.lower(),
        ),
        **kwargs,
    )
