"""The rollup of the counts (workflow.counts) that the oversight pages read instead of
counting years of cases on every request (issue 16; docs/counts.md: The rollup).

CaseTally holds how many cases there are of each registration month (Beijing time), set
of units deciding whose cases they are (counts.OWNERSHIP), category, kind, stage, taken
up (调处) or not, resolved (成功) or not, and acceptance state (Case.acceptance). A county's
million cases make a few tens of thousands of rows; a county-year's figures add up a few
thousand of them.

The database keeps it, in the statement that writes the case: triggers on the cases table
move a case's count from its old row to its new one, and triggers on the clocks keep the
case's acceptance state (whether its acceptance clock is open, stopped on time or late).
So every writer keeps it right, the transition service and anything else (an import, the
admin, a bulk load in SQL), and a transition costs no statement more. `recount` rebuilds
it from the cases, for a database loaded with the triggers off; `differences` compares the
two, and the tests and `manage.py recount_tally --check` ask it.

Two writers moving cases between the same two rows in opposite directions would take the
rows' locks in opposite orders; PostgreSQL's trigger takes them in one order (by key).
"""

from __future__ import annotations

from collections import Counter
from typing import Any
from zoneinfo import ZoneInfo

from django.db import connections, transaction
from django.db.models import BooleanField, Count, DateField, ExpressionWrapper, Q
from django.db.models.functions import Coalesce, TruncMonth

from cases.models import Case

from .models import CaseTally, DeadlineKind

# The rollup's key, in the table's column order.
KEY = ("month", "village_id", "registered_unit_id", "accused_unit_id", "lead_department_id", "category", "kind",
       "stage", "handled", "succeeded", "acceptance")
# The case's columns the key is made of.
WATCHED = ("reported_at", "village_id", "registered_unit_id", "accused_unit_id", "lead_department_id", "category",
           "kind", "stage", "accepted_at", "resolved_at", "acceptance")
ACCEPTANCE_KINDS = (DeadlineKind.ACCEPTANCE.value, DeadlineKind.REGISTRATION.value)
# Beijing time, UTC+8 without daylight saving since 1991: the month a case counts in.
BEIJING = ZoneInfo("Asia/Shanghai")


def _key_values(vendor: str, row: str) -> str:
    """The key of the case `row` (NEW, OLD) as SQL values, in KEY's order."""
    month = (f"(date_trunc('month', {row}.reported_at AT TIME ZONE 'Asia/Shanghai'))::date" if vendor == "postgresql"
             else f"date({row}.reported_at, '+8 hours', 'start of month')")
    return ", ".join([
        month,
        *(f"COALESCE({row}.{column}, 0)" for column in KEY[1:5]),
        f"{row}.category", f"{row}.kind", f"{row}.stage",
        f"{row}.accepted_at IS NOT NULL", f"{row}.resolved_at IS NOT NULL", f"{row}.acceptance",
    ])


def _acceptance_of(vendor: str, case_id: str) -> str:
    """The acceptance state of case `case_id` from its acceptance clocks (Case.acceptance):
    none, late if one stopped after its due time, open while one runs, else on time."""
    late = "met_at IS NOT NULL AND met_at > due_at"
    running = "met_at IS NULL"
    any_of = "bool_or({})" if vendor == "postgresql" else "max({})"
    kinds = ", ".join(f"'{k}'" for k in ACCEPTANCE_KINDS)
    return (f"(SELECT CASE WHEN count(*) = 0 THEN '' WHEN {any_of.format(late)} THEN 'late' "
            f"WHEN {any_of.format(running)} THEN 'open' ELSE 'on_time' END "
            f"FROM workflow_deadline WHERE case_id = {case_id} AND kind IN ({kinds}))")


def _upsert(vendor: str, row: str, delta: str) -> str:
    columns = ", ".join(KEY)
    return (f"INSERT INTO workflow_casetally ({columns}, n) VALUES ({_key_values(vendor, row)}, {delta}) "
            f"ON CONFLICT ({columns}) DO UPDATE SET n = workflow_casetally.n + excluded.n")


def _postgresql() -> list[str]:
    watched = ", ".join(WATCHED)
    kinds = ", ".join(f"'{k}'" for k in ACCEPTANCE_KINDS)
    return [
        f"""CREATE OR REPLACE FUNCTION workflow_tally_add(c cases_case, delta integer) RETURNS void
            LANGUAGE sql AS $$ {_upsert("postgresql", "c", "delta")} $$""",
        f"""CREATE OR REPLACE FUNCTION workflow_tally_key(c cases_case) RETURNS text
            LANGUAGE sql STABLE AS $$ SELECT concat_ws('|', {_key_values("postgresql", "c")}) $$""",
        """CREATE OR REPLACE FUNCTION workflow_case_tally() RETURNS trigger LANGUAGE plpgsql AS $$
           DECLARE old_key text; new_key text;
           BEGIN
             IF TG_OP = 'INSERT' THEN
               PERFORM workflow_tally_add(NEW, 1);
               RETURN NULL;
             ELSIF TG_OP = 'DELETE' THEN
               PERFORM workflow_tally_add(OLD, -1);
               RETURN NULL;
             END IF;
             old_key := workflow_tally_key(OLD);
             new_key := workflow_tally_key(NEW);
             IF old_key < new_key THEN
               PERFORM workflow_tally_add(OLD, -1);
               PERFORM workflow_tally_add(NEW, 1);
             ELSIF old_key > new_key THEN
               PERFORM workflow_tally_add(NEW, 1);
               PERFORM workflow_tally_add(OLD, -1);
             END IF;
             RETURN NULL;
           END $$""",
        f"""CREATE TRIGGER workflow_case_tally AFTER INSERT OR DELETE OR UPDATE OF {watched} ON cases_case
            FOR EACH ROW EXECUTE FUNCTION workflow_case_tally()""",
        f"""CREATE OR REPLACE FUNCTION workflow_case_acceptance() RETURNS trigger LANGUAGE plpgsql AS $$
            DECLARE c integer;
            BEGIN
              FOR c IN SELECT DISTINCT id FROM (
                  SELECT CASE WHEN TG_OP <> 'DELETE' AND NEW.kind IN ({kinds}) THEN NEW.case_id END
                  UNION ALL
                  SELECT CASE WHEN TG_OP <> 'INSERT' AND OLD.kind IN ({kinds}) THEN OLD.case_id END
              ) AS touched(id) WHERE id IS NOT NULL LOOP
                UPDATE cases_case SET acceptance = {_acceptance_of("postgresql", "c")}
                 WHERE id = c AND acceptance IS DISTINCT FROM {_acceptance_of("postgresql", "c")};
              END LOOP;
              RETURN NULL;
            END $$""",
        """CREATE TRIGGER workflow_case_acceptance AFTER INSERT OR DELETE OR UPDATE OF case_id, kind, met_at, due_at
           ON workflow_deadline FOR EACH ROW EXECUTE FUNCTION workflow_case_acceptance()""",
    ]


def _sqlite() -> list[str]:
    watched = ", ".join(WATCHED)
    kinds = ", ".join(f"'{k}'" for k in ACCEPTANCE_KINDS)

    def acceptance(row: str) -> str:
        return (f"UPDATE cases_case SET acceptance = {_acceptance_of('sqlite', f'{row}.case_id')} "
                f"WHERE id = {row}.case_id;")

    return [
        f"CREATE TRIGGER workflow_case_tally_insert AFTER INSERT ON cases_case BEGIN {_upsert('sqlite', 'NEW', '1')}; END",
        f"CREATE TRIGGER workflow_case_tally_delete AFTER DELETE ON cases_case BEGIN {_upsert('sqlite', 'OLD', '-1')}; END",
        f"""CREATE TRIGGER workflow_case_tally_update AFTER UPDATE OF {watched} ON cases_case BEGIN
            {_upsert('sqlite', 'OLD', '-1')}; {_upsert('sqlite', 'NEW', '1')}; END""",
        f"""CREATE TRIGGER workflow_case_acceptance_insert AFTER INSERT ON workflow_deadline
            WHEN NEW.kind IN ({kinds}) BEGIN {acceptance('NEW')} END""",
        f"""CREATE TRIGGER workflow_case_acceptance_delete AFTER DELETE ON workflow_deadline
            WHEN OLD.kind IN ({kinds}) BEGIN {acceptance('OLD')} END""",
        f"""CREATE TRIGGER workflow_case_acceptance_update AFTER UPDATE OF case_id, kind, met_at, due_at
            ON workflow_deadline WHEN NEW.kind IN ({kinds}) OR OLD.kind IN ({kinds})
            BEGIN {acceptance('OLD')} {acceptance('NEW')} END""",
    ]


DROP = {
    "postgresql": ["DROP TRIGGER IF EXISTS workflow_case_tally ON cases_case",
                   "DROP TRIGGER IF EXISTS workflow_case_acceptance ON workflow_deadline",
                   "DROP FUNCTION IF EXISTS workflow_case_tally()", "DROP FUNCTION IF EXISTS workflow_case_acceptance()",
                   "DROP FUNCTION IF EXISTS workflow_tally_key(cases_case)",
                   "DROP FUNCTION IF EXISTS workflow_tally_add(cases_case, integer)"],
    "sqlite": [f"DROP TRIGGER IF EXISTS {name}" for name in (
        "workflow_case_tally_insert", "workflow_case_tally_delete", "workflow_case_tally_update",
        "workflow_case_acceptance_insert", "workflow_case_acceptance_delete", "workflow_case_acceptance_update")],
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


# ---------------------------------------------------------------------------------------
# Recount: the rollup from the cases and their clocks, as the triggers would have kept it.

def recount_acceptance(using: str = "default") -> int:
    """Set every case's acceptance state from its clocks, in one statement; the cases
    changed."""
    connection = connections[using]
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE cases_case SET acceptance = {_acceptance_of(connection.vendor, 'cases_case.id')} "
                       f"WHERE acceptance IS DISTINCT FROM {_acceptance_of(connection.vendor, 'cases_case.id')}"
                       if connection.vendor == "postgresql" else
                       f"UPDATE cases_case SET acceptance = {_acceptance_of(connection.vendor, 'cases_case.id')} "
                       f"WHERE acceptance IS NOT {_acceptance_of(connection.vendor, 'cases_case.id')}")
        return cursor.rowcount


def counted(using: str = "default") -> Counter[tuple[Any, ...]]:
    """The rollup as the cases make it now: key → number of cases (one grouped query)."""
    rows = (Case.objects.using(using).order_by()
            .annotate(month=TruncMonth("reported_at", output_field=DateField(), tzinfo=BEIJING),
                      **{f"k_{c}": Coalesce(c, 0) for c in KEY[1:5]},
                      handled=ExpressionWrapper(Q(accepted_at__isnull=False), output_field=BooleanField()),
                      succeeded=ExpressionWrapper(Q(resolved_at__isnull=False), output_field=BooleanField()))
            .values("month", *(f"k_{c}" for c in KEY[1:5]), "category", "kind", "stage", "handled", "succeeded",
                    "acceptance")
            .annotate(n=Count("pk")))
    return Counter({tuple(row[f"k_{c}" if c in KEY[1:5] else c] for c in KEY): row["n"] for row in rows})


def stored(using: str = "default") -> Counter[tuple[Any, ...]]:
    """The rollup as kept: key → n, the rows of no cases left out."""
    return Counter({tuple(row[:-1]): row[-1]
                    for row in CaseTally.objects.using(using).exclude(n=0).values_list(*KEY, "n")})


def differences(using: str = "default") -> dict[tuple[Any, ...], tuple[int, int]]:
    """Where the rollup kept differs from a recount: key → (kept, counted)."""
    kept, fresh = stored(using), counted(using)
    return {key: (kept.get(key, 0), fresh.get(key, 0)) for key in set(kept) | set(fresh)
            if kept.get(key, 0) != fresh.get(key, 0)}


def recount(using: str = "default") -> int:
    """Rebuild the rollup from the cases (their acceptance states first); its rows."""
    with transaction.atomic(using=using):
        recount_acceptance(using)
        CaseTally.objects.using(using).all().delete()
        rows = [CaseTally(**dict(zip(KEY, key, strict=True)), n=n) for key, n in counted(using).items()]
        CaseTally.objects.using(using).bulk_create(rows, batch_size=2000)
    return len(rows)
