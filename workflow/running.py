"""The earliest times of a case's clocks, kept on the case row by the database
(docs/counts.md: Overdue now): Case.running_due_at and running_warn_at, the earliest due
and warning times among its running clocks, and Case.next_due_at, the nearest due time
among all its open ones.

A card is a fact about a case's running clocks (workflow.counts): red while one runs past
its due time, yellow once one runs past its warning time. Asked of the clocks, every list
and every count of cards read the clocks of each case it looked at: a county's hundred
thousand open cases joined to their clocks on every request of the supervision board.
Asked of the case row, they read a column, and the open cases' covering index carries it.
The same for the nearest deadline every list shows and sorts by.

A running clock is open, not paused and a duty (workflow.models.DeadlineQuerySet.running);
the earliest of its due times is past exactly when one of them is, and likewise for the
warning times, so the columns say what the clocks say at any moment.

Triggers on the clocks keep them, in the statement that writes the clock: every writer
keeps them right, the transition service, the sweep, an import, the admin, a fix in SQL,
and a transition costs no statement more. They fire only on a change of what makes a
clock open or running or its times (not on the sweep's marks). `recount` sets them from
the clocks, for a database loaded with the triggers off; `differences` compares the two,
and the tests and `manage.py recount_tally --check` ask it.
"""

from __future__ import annotations

from typing import Any

from django.db import connections
from django.db.models import Min, Q

from cases.models import Case

from .models import WINDOWS, Deadline

# What the triggers watch: a clock's case, and what makes it run and when it falls due.
WATCHED = ("case_id", "kind", "met_at", "paused_at", "due_at", "warn_at")


def _running() -> str:
    """Of a case's open clocks, those running, as a condition on workflow_deadline."""
    windows = ", ".join(f"'{kind}'" for kind in sorted(WINDOWS))
    return f"paused_at IS NULL AND kind NOT IN ({windows})"


# The three columns from the open clocks of case `{case}`, for both databases.
HEADS = {
    "running_due_at": f"(SELECT min(due_at) FROM workflow_deadline WHERE case_id = {{case}} AND met_at IS NULL "
                      f"AND {_running()})",
    "running_warn_at": f"(SELECT min(warn_at) FROM workflow_deadline WHERE case_id = {{case}} AND met_at IS NULL "
                       f"AND {_running()})",
    "next_due_at": "(SELECT min(due_at) FROM workflow_deadline WHERE case_id = {case} AND met_at IS NULL)",
}


def _postgresql() -> list[str]:
    watched = ", ".join(WATCHED)
    return [
        f"""CREATE OR REPLACE FUNCTION workflow_case_running() RETURNS trigger LANGUAGE plpgsql AS $$
            DECLARE c bigint;
            BEGIN
              FOR c IN SELECT DISTINCT id FROM (
                  SELECT CASE WHEN TG_OP <> 'DELETE' THEN NEW.case_id END
                  UNION ALL
                  SELECT CASE WHEN TG_OP <> 'INSERT' THEN OLD.case_id END
              ) AS touched(id) WHERE id IS NOT NULL LOOP
                UPDATE cases_case SET running_due_at = h.due, running_warn_at = h.warn, next_due_at = h.next
                  FROM (SELECT min(due_at) FILTER (WHERE {_running()}) AS due,
                               min(warn_at) FILTER (WHERE {_running()}) AS warn, min(due_at) AS next
                          FROM workflow_deadline WHERE case_id = c AND met_at IS NULL) AS h
                 WHERE id = c AND (running_due_at IS DISTINCT FROM h.due OR running_warn_at IS DISTINCT FROM h.warn
                                   OR next_due_at IS DISTINCT FROM h.next);
              END LOOP;
              RETURN NULL;
            END $$""",
        f"""CREATE TRIGGER workflow_case_running AFTER INSERT OR DELETE OR UPDATE OF {watched}
            ON workflow_deadline FOR EACH ROW EXECUTE FUNCTION workflow_case_running()""",
    ]


def _sqlite() -> list[str]:
    watched = ", ".join(WATCHED)

    def heads(row: str) -> str:
        columns = ", ".join(f"{column} = {query.format(case=f'{row}.case_id')}" for column, query in HEADS.items())
        return f"UPDATE cases_case SET {columns} WHERE id = {row}.case_id;"

    return [
        f"CREATE TRIGGER workflow_case_running_insert AFTER INSERT ON workflow_deadline BEGIN {heads('NEW')} END",
        f"CREATE TRIGGER workflow_case_running_delete AFTER DELETE ON workflow_deadline BEGIN {heads('OLD')} END",
        f"""CREATE TRIGGER workflow_case_running_update AFTER UPDATE OF {watched} ON workflow_deadline
            BEGIN {heads('OLD')} {heads('NEW')} END""",
    ]


DROP = {
    "postgresql": ["DROP TRIGGER IF EXISTS workflow_case_running ON workflow_deadline",
                   "DROP FUNCTION IF EXISTS workflow_case_running()"],
    "sqlite": [f"DROP TRIGGER IF EXISTS workflow_case_running_{event}" for event in ("insert", "delete", "update")],
}


def install(using: str = "default") -> None:
    """Create the triggers (replacing any) on the database `using`."""
    connection = connections[using]
    statements = {"postgresql": _postgresql, "sqlite": _sqlite}[connection.vendor]()
    with connection.cursor() as cursor:
        for statement in [*DROP[connection.vendor], *statements]:
            cursor.execute(statement)


def remove(using: str = "default") -> None:
    connection = connections[using]
    with connection.cursor() as cursor:
        for statement in DROP[connection.vendor]:
            cursor.execute(statement)


def recount(using: str = "default") -> int:
    """Set every case's columns from its clocks; the cases changed. On PostgreSQL in two
    set-based statements (a million cases in seconds), elsewhere one correlated."""
    connection = connections[using]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"""
                UPDATE cases_case c SET running_due_at = h.due, running_warn_at = h.warn, next_due_at = h.next
                  FROM (SELECT case_id, min(due_at) FILTER (WHERE {_running()}) AS due,
                               min(warn_at) FILTER (WHERE {_running()}) AS warn, min(due_at) AS next
                          FROM workflow_deadline WHERE met_at IS NULL GROUP BY case_id) AS h
                 WHERE c.id = h.case_id
                   AND (c.running_due_at IS DISTINCT FROM h.due OR c.running_warn_at IS DISTINCT FROM h.warn
                        OR c.next_due_at IS DISTINCT FROM h.next)""")
            changed = cursor.rowcount
            cursor.execute("""
                UPDATE cases_case c SET running_due_at = NULL, running_warn_at = NULL, next_due_at = NULL
                 WHERE (c.running_due_at IS NOT NULL OR c.running_warn_at IS NOT NULL OR c.next_due_at IS NOT NULL)
                   AND NOT EXISTS (SELECT 1 FROM workflow_deadline WHERE case_id = c.id AND met_at IS NULL)""")
            return changed + cursor.rowcount
        columns = ", ".join(f"{column} = {query.format(case='cases_case.id')}" for column, query in HEADS.items())
        cursor.execute(f"UPDATE cases_case SET {columns}")
        return cursor.rowcount


def differences(using: str = "default") -> dict[int, tuple[Any, Any]]:
    """Where a case's columns differ from its clocks: case id → (the columns kept, as
    HEADS names them, and the same from the clocks)."""
    open_clocks = Deadline.objects.using(using).filter(met_at__isnull=True).order_by()
    running_ids = Deadline.objects.using(using).running().values("pk")
    fresh = {row[0]: row[1:] for row in open_clocks.values("case_id").annotate(
        due=Min("due_at", filter=Q(pk__in=running_ids)), warn=Min("warn_at", filter=Q(pk__in=running_ids)),
        next=Min("due_at")).values_list("case_id", "due", "warn", "next")}
    kept = {row[0]: row[1:] for row in Case.objects.using(using)
            .filter(Q(running_due_at__isnull=False) | Q(running_warn_at__isnull=False) | Q(next_due_at__isnull=False))
            .values_list("pk", *HEADS)}
    none = (None,) * len(HEADS)
    return {pk: (kept.get(pk, none), fresh.get(pk, none)) for pk in set(kept) | set(fresh)
            if tuple(kept.get(pk, none)) != tuple(fresh.get(pk, none))}
