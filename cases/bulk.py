"""Many rows of one model in one statement, for the writers that insert thousands at once
(a sweep's audit events and notifications)."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connections, models

# Fields whose value the database takes as Python holds it, with no conversion by the
# field: text, numbers, foreign keys, aware datetimes. Any other field goes through Django.
PLAIN = frozenset({"CharField", "TextField", "BigIntegerField", "IntegerField", "PositiveIntegerField",
                   "SmallIntegerField", "PositiveSmallIntegerField", "BooleanField", "DateTimeField",
                   "ForeignKey"})


def insert_all(model: type[models.Model], objs: Sequence[models.Model], *, using: str = "default") -> None:
    """Insert the unsaved `objs` and give each its primary key, as `bulk_create` does.

    On PostgreSQL one array per column through unnest, the statement Django's bulk_create
    sends there, but with the arrays read straight off the instances: bulk_create passes
    each value through its field and the compiler (39,000 calls for a sweep's 3,000
    notifications), a sixth of a sweep's time (tests/bench/sweep.py). Fields
    that need converting (JSON) still go through their field, once per value."""
    connection = connections[using]
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    if connection.vendor != "postgresql" or not objs or any(
            getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False) for f in fields):
        # The base manager's plain bulk_create: a model's own (the audit trail's, which
        # chains the events) is the caller.
        model._base_manager.using(using).bulk_create(objs)
        return
    columns = []
    for field in fields:
        values = [getattr(obj, field.attname) for obj in objs]
        plain = field.get_internal_type() in PLAIN
        if plain and isinstance(field, models.DateTimeField):
            # A naive time is made aware the way Django does (with its warning).
            plain = all(v is None or v.tzinfo is not None for v in values)
        if not plain:
            values = [field.get_db_prep_save(value, connection) for value in values]
        elif isinstance(field, (models.CharField, models.TextField)):
            # Choices' members and lazy translations as the plain text they stand for.
            values = [v if v is None or type(v) is str else str(v) for v in values]
        columns.append(values)
    ops = connection.ops
    arrays = ", ".join(f"%s::{f.db_type(connection)}[]" for f in fields)
    sql = (f"INSERT INTO {ops.quote_name(model._meta.db_table)} ({', '.join(ops.quote_name(f.column) for f in fields)}) "
           f"SELECT * FROM unnest({arrays}) RETURNING {ops.quote_name(model._meta.pk.column)}")
    with connection.cursor() as cursor:
        cursor.execute(sql, columns)
        ids = [row[0] for row in cursor.fetchall()]
    for obj, pk in zip(objs, ids, strict=True):
        obj.pk = pk
        obj._state.adding = False
        obj._state.db = using
