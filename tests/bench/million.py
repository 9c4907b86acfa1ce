"""A county of a million cases on PostgreSQL: the database the load and queue
benchmarks run against (issue 7, "Load and scale").

The county: 青阳县 with TOWNSHIPS townships of VILLAGES villages each, a police station
and a justice office under every township, two county departments, and people in every
role: per township a supervisor, OFFICERS officers, mediators and a liaison per
department, a reporter per village. The cases are spread evenly over the last YEARS
years, registered by their township for one of its villages. Those reported in the last
RECENT_DAYS days are mostly open; older ones mostly closed, except a few percent left
open (stalled, long overdue), as in any real ledger. An accepted case has a lead
department (the township's justice office) and an assignee (one of the township's
officers), with the per-case guardian grants the transition service would have written.
Each case has two parties, the audit events of the path that led to its stage and the
clocks of that path: met ones for the stages it left, open ones for the stage it is in,
with the sweep's marks set as the sweep would have set them by now. Each officer of the
responsible unit has a notification for every red card on its open clocks.

Only units and people go through the ORM. The rows that number in millions are written
by INSERT … SELECT over generate_series in the database itself: a million cases through
the transition service would take hours, this takes about five minutes. Two shortcuts
follow from that, and neither touches what the benchmarks measure: the
generated audit events carry no hash chain (verify_audit does not apply to this
database; events written during the benchmarks chain onto them as usual), and stages
are written directly rather than through the service.

Randomness comes from hashint4 of the row number, so the same size always gives the
same county, its times counted back from the moment it is built. A database built
completely carries a comment naming its size; `ready()` reads it so the queue benchmark
can reuse what the load benchmark built.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlparse, urlunparse

import psycopg

TOWNSHIPS = 20
VILLAGES = 15
OFFICERS = 10
MEDIATORS = 5
YEARS = 4
RECENT_DAYS = 120
# One password for everyone, hashed once: the benchmarks sign in with tokens and
# sessions made directly, and nobody else uses this database.
PASSWORD = "tiaochu-bench"
COMMENT = "tiaochu bench county: {cases} cases"
# Stage by bucket (per mille). Recent cases: mostly open, spread over the open stages.
RECENT_STAGES = [(100, "reported"), (450, "investigating"), (650, "mediating"), (850, "resolved"),
                 (900, "escalated"), (1000, "closed")]
# Older ones: 3 % left open (stalled, overdue), the rest closed.
OLD_STAGES = [(5, "reported"), (15, "investigating"), (22, "mediating"), (27, "resolved"),
              (30, "escalated"), (1000, "closed")]
# The audit events of the path that led to each stage.
PATHS = {
    "reported": ["report"],
    "investigating": ["report", "accept"],
    "mediating": ["report", "accept", "start_mediation"],
    "resolved": ["report", "accept", "resolve"],
    "escalated": ["report", "escalate"],
    "closed": ["report", "accept", "resolve", "follow_up"],
}
STAGES_BEFORE = {"report": "", "accept": "reported", "start_mediation": "investigating",
                 "resolve": "investigating", "escalate": "reported", "follow_up": "resolved"}
STAGE_AFTER = {"report": "reported", "accept": "investigating", "start_mediation": "mediating",
               "resolve": "resolved", "escalate": "escalated", "follow_up": "closed"}


def buckets(table: list[tuple[int, str]], value: str) -> str:
    """A CASE expression choosing a stage by which per-mille bucket `value` falls in."""
    return "CASE " + " ".join(f"WHEN {value} < {upto} THEN '{stage}'" for upto, stage in table) + " END"


def database_url(base: str, name: str) -> str:
    """`base` (a postgres:// URL) with its database replaced by `name`."""
    parts = urlparse(base)
    return urlunparse(parts._replace(path="/" + quote(name)))


def database_name(url: str) -> str:
    return urlparse(url).path.lstrip("/")


def _admin(url: str) -> psycopg.Connection[Any]:
    """A connection to the server's maintenance database, to create and drop others."""
    return psycopg.connect(database_url(url, "postgres").replace("postgres://", "postgresql://", 1),
                           autocommit=True)


def ready(url: str, cases: int) -> bool:
    """Whether the database exists, was built completely and holds `cases` cases."""
    with _admin(url) as admin:
        row = admin.execute(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
            [database_name(url)]).fetchone()
    return row is not None and row[0] == COMMENT.format(cases=cases)


def recreate(url: str) -> None:
    name = database_name(url)
    with _admin(url) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')


def drop(url: str) -> None:
    with _admin(url) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{database_name(url)}" WITH (FORCE)')


def mark_ready(url: str, cases: int) -> None:
    with _admin(url) as admin:
        admin.execute(f'COMMENT ON DATABASE "{database_name(url)}" IS \'{COMMENT.format(cases=cases)}\'')


@dataclass
class County:
    """What the benchmarks need to know about the county, read back from the database."""

    county: int
    townships: list[int]
    # Per township, in township order: its officers' user ids.
    officers: list[list[int]]
    county_supervisor: int


def county() -> County:
    """The county as built (Django must be set up on the database)."""
    from django.contrib.auth import get_user_model

    from cases.models import Membership, OrgUnit, Role

    top = OrgUnit.objects.get(code="QY")
    townships = list(OrgUnit.objects.filter(parent=top, level=OrgUnit.Level.TOWNSHIP).order_by("code"))
    officers = [
        list(Membership.objects.filter(unit=t, role=Role.OFFICER).order_by("user__username")
             .values_list("user_id", flat=True))
        for t in townships
    ]
    supervisor = get_user_model().objects.get(username="qy_ld").pk
    return County(top.pk, [t.pk for t in townships], officers, supervisor)


def build(url: str, cases: int, *, log: Any = print) -> County:
    """Drop and create the database at `url`, migrate it and fill it with `cases` cases.
    Django must not have connected yet: DATABASE_URL is pointed here first."""
    started = time.perf_counter()
    recreate(url)
    os.environ["DATABASE_URL"] = url
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    log(f"# {database_name(url)}: created and migrated in {time.perf_counter() - started:.0f} s")
    people()
    fill(cases, log=log)
    mark_ready(url, cases)
    log(f"# {database_name(url)}: {cases} cases ready in {time.perf_counter() - started:.0f} s")
    return county()


def open_county(bench: str, database: str, cases: int, *, reuse: bool = True) -> str | None:
    """The URL of the county `database` on DATABASE_URL's server, with Django set up on it:
    the one there if it is complete and of this size (and `reuse`), else one built anew.
    None, said so, when DATABASE_URL is not PostgreSQL: a million cases need it."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    base = os.environ.get("DATABASE_URL", "")
    if not urlparse(base).scheme.startswith("postgres"):
        print(f"# {bench}: PostgreSQL only (a million cases); skipped")
        return None
    url = database_url(base, database)
    if reuse and ready(url, cases):
        os.environ["DATABASE_URL"] = url
        import django

        django.setup()
        print(f"# {database}: reusing {cases} cases", flush=True)
    else:
        build(url, cases, log=lambda *a, **k: print(*a, flush=True))
    return url


def people() -> None:
    """Units, people and memberships through the ORM (a few hundred rows)."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password

    from cases.models import Membership, OrgUnit, Role

    L = OrgUnit.Level
    User = get_user_model()
    password = make_password(PASSWORD)
    top = OrgUnit.objects.create(code="QY", name="青阳县", level=L.COUNTY)
    OrgUnit.objects.create(code="QY-RSJ", name="县人社局", level=L.DEPARTMENT, parent=top)
    OrgUnit.objects.create(code="QY-XFJ", name="县信访局", level=L.DEPARTMENT, parent=top)
    members: list[tuple[str, str, OrgUnit, str]] = [
        ("qy_ld", "县督办领导", top, Role.SUPERVISOR), ("qy_zzb", "县综治办", top, Role.OFFICER)]
    for t in range(1, TOWNSHIPS + 1):
        code = f"QY-T{t:02d}"
        township = OrgUnit.objects.create(code=code, name=f"第{t}镇", level=L.TOWNSHIP, parent=top)
        police = OrgUnit.objects.create(code=f"{code}-PCS", name=f"第{t}镇派出所", level=L.DEPARTMENT, parent=township)
        justice = OrgUnit.objects.create(code=f"{code}-SFS", name=f"第{t}镇司法所", level=L.DEPARTMENT, parent=township)
        prefix = f"t{t:02d}"
        members.append((f"{prefix}_ld", f"第{t}镇督办领导", township, Role.SUPERVISOR))
        members += [(f"{prefix}_jb{i:02d}", f"第{t}镇经办人{i}", township, Role.OFFICER) for i in range(1, OFFICERS + 1)]
        members += [(f"{prefix}_tj{i}", f"第{t}镇调解员{i}", township, Role.MEDIATOR) for i in range(1, MEDIATORS + 1)]
        members += [(f"{prefix}_pcs", "派出所联络员", police, Role.LIAISON), (f"{prefix}_sfs", "司法所联络员", justice, Role.LIAISON)]
        for v in range(1, VILLAGES + 1):
            village = OrgUnit.objects.create(code=f"{code}-V{v:02d}", name=f"第{t}镇{v}村", level=L.VILLAGE,
                                             parent=township)
            members.append((f"{prefix}_v{v:02d}", f"网格员{t}-{v}", village, Role.REPORTER))
    User.objects.bulk_create(User(username=u, first_name=name, password=password) for u, name, _, _ in members)
    ids = dict(User.objects.values_list("username", "pk"))
    Membership.objects.bulk_create(Membership(user_id=ids[u], unit=unit, role=role) for u, _, unit, role in members)


def fill(cases: int, *, log: Any = print) -> None:
    """The cases and everything hanging from them, in the database (see the module
    docstring for the shape). Each statement is timed, so a slow one shows."""
    from django.contrib.auth.models import Permission
    from django.db import connection

    from cases.models import (
        Case,
        CaseEvent,
        CaseGroupObjectPermission,
        CaseUserObjectPermission,
        Membership,
        OrgUnit,
        Party,
        Role,
    )
    from notifications.models import Notification
    from workflow import running, tally
    from workflow.models import Deadline, DeadlineRule
    from workflow.permissions import ASSIGNEE_GRANTS, LEAD_DEPARTMENT_GRANTS

    top = OrgUnit.objects.get(code="QY")
    townships = list(OrgUnit.objects.filter(parent=top, level=OrgUnit.Level.TOWNSHIP).order_by("code"))
    # Per township (1-based, in code order): its villages, justice office, officers.
    villages = [list(OrgUnit.objects.filter(parent=t, level=OrgUnit.Level.VILLAGE).order_by("code")
                     .values_list("pk", flat=True)) for t in townships]
    justice = [OrgUnit.objects.get(code=f"{t.code}-SFS") for t in townships]
    officers = [list(Membership.objects.filter(unit=t, role=Role.OFFICER).order_by("user__username")
                     .values_list("user_id", flat=True)) for t in townships]
    rules = {r.kind: r for r in DeadlineRule.objects.filter(profile__code="national", category="", risk="")}
    perms = dict(Permission.objects.filter(content_type__app_label="cases").values_list("codename", "pk"))

    def timed(label: str, sql: str, params: Any = None) -> None:
        start = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.rowcount
        log(f"#   {label}: {rows} rows in {time.perf_counter() - start:.1f} s", flush=True)

    # The foreign-key checks are triggers, several per inserted row, and they took most
    # of the time; the rows below are consistent by construction. Superuser only, and
    # for this session only.
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")
        cursor.execute("SET maintenance_work_mem = '512MB'")
    # Secondary indexes are built once after the rows are in: kept up row by row they
    # made the inserts about three times slower.
    big = [Case, Party, CaseEvent, Deadline, CaseUserObjectPermission, CaseGroupObjectPermission, Notification]
    rebuild = without_indexes([m._meta.db_table for m in big])
    # Lookup tables for the generator: townships, villages and officers by position.
    timed("lookups", f"""
        CREATE TEMP TABLE g_township AS
            SELECT n AS t, id, code, (ARRAY[{','.join(str(j.pk) for j in justice)}])[n] AS justice
            FROM unnest(ARRAY[{','.join(str(t.pk) for t in townships)}]) WITH ORDINALITY AS u(id, n)
            JOIN {OrgUnit._meta.db_table} USING (id);
        CREATE TEMP TABLE g_village AS
            SELECT t, v, id FROM (VALUES {','.join(f'({t + 1},{v + 1},{pk})' for t, vs in enumerate(villages)
                                                      for v, pk in enumerate(vs))}) AS x(t, v, id);
        CREATE TEMP TABLE g_officer AS
            SELECT t, o, id FROM (VALUES {','.join(f'({t + 1},{o + 1},{pk})' for t, os_ in enumerate(officers)
                                                      for o, pk in enumerate(os_))}) AS x(t, o, id);
    """)
    span_days = YEARS * 365
    categories = ["land_forest", "neighbours", "marriage_family", "housing_plot", "labour", "contract",
                  "damages", "village_affairs", "consumer", "medical"]
    sources = ["screening", "visit", "phone", "12345", "110", "letter"]
    # The case plan: one row per case with everything the inserts below derive from.
    timed("plan", f"""
        CREATE TEMP TABLE g_case AS
        WITH base AS (
            SELECT g, abs(hashint4(g)) AS h1, abs(hashint4(g + 1000003)) AS h2, abs(hashint4(g + 2000003)) AS h3,
                   now() - make_interval(secs => ({span_days} * 86400.0) * ({cases} - g) / {cases}) AS reported_at
            FROM generate_series(1, {cases}) AS g
        )
        SELECT b.g, b.h1, b.h2, b.h3, b.reported_at,
               1 + b.h1 % {TOWNSHIPS} AS t, 1 + b.h2 % {VILLAGES} AS v, 1 + b.h3 % {OFFICERS} AS o,
               CASE WHEN b.h2 % 10 < 2 THEN 'petition' ELSE 'dispute' END AS kind,
               CASE WHEN b.reported_at > now() - interval '{RECENT_DAYS} days'
                    THEN {buckets(RECENT_STAGES, "b.h3 % 1000")} ELSE {buckets(OLD_STAGES, "b.h3 % 1000")} END AS stage
        FROM base b
    """)
    # Times on the case's path: accepted two days after report, the stage entered after
    # that. A recent open case came to its stage in the last three weeks (cases move on,
    # or come back: reopened, sent back), so its clock is mostly still running; a stalled
    # old one entered its stage long ago, and its clock is long overdue.
    timed("plan times", f"""
        ALTER TABLE g_case ADD COLUMN accepted_at timestamptz, ADD COLUMN entered_at timestamptz,
                           ADD COLUMN resolved_at timestamptz, ADD COLUMN closed_at timestamptz;
        UPDATE g_case SET
            accepted_at = CASE WHEN stage NOT IN ('reported', 'escalated') THEN reported_at + interval '2 days' END,
            entered_at = reported_at + CASE stage WHEN 'reported' THEN interval '0'
                WHEN 'escalated' THEN interval '3 days' WHEN 'investigating' THEN interval '2 days'
                ELSE interval '9 days' END,
            resolved_at = CASE WHEN stage IN ('resolved', 'closed') THEN reported_at + interval '9 days' END,
            closed_at = CASE WHEN stage = 'closed' THEN reported_at + interval '20 days' END;
        UPDATE g_case SET entered_at = greatest(entered_at, now() - make_interval(days => h1 % 21))
        WHERE stage NOT IN ('reported', 'closed') AND reported_at > now() - interval '{RECENT_DAYS} days';
        UPDATE g_case SET resolved_at = entered_at WHERE stage = 'resolved';
        ALTER TABLE g_case ADD PRIMARY KEY (g);
    """)
    c = Case._meta.db_table
    stage_case = ", ".join(f"'{s}'" for s in ("investigating", "mediating", "resolved", "closed"))
    timed("cases", f"""
        INSERT INTO {c} (id, kind, petition_type, number, registered_unit_id, year, serial, title, summary, category,
                         source, village_id, responsible_unit_id, lead_department_id, accused_unit_id, assignee_id,
                         reporter_id, risk, people_involved, amount, is_group, is_legacy, is_repeat, stage, closure,
                         outcome, satisfaction, reported_at, accepted_at, resolved_at, closed_at, occurred_place,
                         updated_at, review_level)
        SELECT p.g, p.kind, CASE WHEN p.kind = 'petition' THEN 'claim' ELSE '' END,
               tw.code || '-' || extract(year FROM p.reported_at)::int || '-' || lpad(p.g::text, 7, '0'), tw.id, extract(year FROM p.reported_at)::int, p.g,
               (ARRAY['土地流转租金纠纷', '宅基地界址纠纷', '拖欠工资纠纷', '邻里漏水纠纷', '征地补偿信访'])[1 + p.h1 % 5]
                   || ' 第' || p.g || '号',
               '当事人反映的问题经网格员排查登记，需核实处理。',
               (ARRAY[{','.join(f"'{x}'" for x in categories)}])[1 + p.h2 % {len(categories)}],
               (ARRAY[{','.join(f"'{x}'" for x in sources)}])[1 + p.h3 % {len(sources)}],
               vi.id,
               CASE WHEN p.stage = 'escalated' THEN {top.pk} ELSE tw.id END,
               CASE WHEN p.stage IN ({stage_case}) THEN tw.justice END, NULL,
               CASE WHEN p.stage IN ({stage_case}) THEN o.id END, NULL,
               CASE WHEN p.h1 % 100 = 0 THEN 'major' WHEN p.h1 % 100 < 10 THEN 'significant' ELSE 'general' END,
               1 + p.h2 % 30, (p.h3 % 500000)::numeric, p.h1 % 20 = 0, false, false, p.stage,
               CASE WHEN p.stage = 'closed' THEN 'visited' ELSE '' END,
               CASE WHEN p.resolved_at IS NOT NULL
                    THEN '{{"kind": "agreement_written", "summary": "双方达成书面协议。"}}'::jsonb
                    ELSE '{{}}'::jsonb END,
               CASE WHEN p.stage = 'closed' THEN 'satisfied' ELSE '' END,
               p.reported_at, p.accepted_at, p.resolved_at, p.closed_at, '',
               coalesce(p.closed_at, p.resolved_at, p.entered_at, p.reported_at), 0
        FROM g_case p JOIN g_township tw ON tw.t = p.t JOIN g_village vi ON vi.t = p.t AND vi.v = p.v
             JOIN g_officer o ON o.t = p.t AND o.o = p.o
        ORDER BY p.g
    """)
    # Each case's id is its row number in the plan (p.g below); new ones come after.
    timed("case ids", f"SELECT setval(pg_get_serial_sequence('{c}', 'id'), {cases})")
    timed("parties", f"""
        INSERT INTO {Party._meta.db_table} (case_id, name, role, id_number, phone, address, sex, ethnicity,
                                            occupation)
        SELECT p.g, x.name || p.g, x.role,
               CASE WHEN x.role = 'applicant' THEN '110105' || lpad((p.h1 % 100000000)::text, 8, '0')
                    || lpad((p.h2 % 10000)::text, 4, '0') ELSE '' END,
               CASE WHEN x.role = 'applicant' THEN '138' || lpad((p.h3 % 100000000)::text, 8, '0') ELSE '' END, '',
               '', '', ''
        FROM g_case p CROSS JOIN (VALUES ('张', 'applicant'), ('李', 'respondent')) AS x(name, role)
        ORDER BY p.g
    """)
    e = CaseEvent._meta.db_table
    path_rows = ",".join(f"('{stage}', {n}, '{kind}', '{STAGES_BEFORE[kind]}', '{STAGE_AFTER[kind]}')"
                         for stage, kinds in PATHS.items() for n, kind in enumerate(kinds))
    timed("events", f"""
        INSERT INTO {e} (case_id, kind, from_stage, to_stage, actor_id, at, data, prev_hash, hash)
        SELECT p.g, s.kind, s.from_stage, s.to_stage, NULL,
               CASE s.kind WHEN 'report' THEN p.reported_at WHEN 'accept' THEN p.accepted_at
                    WHEN 'escalate' THEN p.entered_at WHEN 'start_mediation' THEN p.entered_at
                    WHEN 'resolve' THEN p.resolved_at ELSE p.closed_at END,
               '{{}}'::jsonb, '', ''
        FROM g_case p JOIN (VALUES {path_rows}) AS s(stage, n, kind, from_stage, to_stage) ON s.stage = p.stage
        ORDER BY p.g, s.n
    """)
    # Clocks: the first one (acceptance, or registration for a petition), met when the
    # case left reported; then the clock of the stage the case is in, open, or the
    # follow-up clock met at closing.
    clock = {("investigating", "dispute"): "investigation", ("investigating", "petition"): "handling",
             ("mediating", ""): "mediation", ("resolved", ""): "follow_up", ("escalated", ""): "take_over",
             ("closed", ""): "follow_up"}
    clock_rows = ",".join(f"('{stage}', '{case_kind}', {rules[kind].pk}, '{kind}', {rules[kind].duration})"
                          for (stage, case_kind), kind in clock.items())
    d = Deadline._meta.db_table
    first = ("acceptance", "registration")
    timed("deadlines (first clock)", f"""
        INSERT INTO {d} (case_id, kind, rule_id, duration, unit, legal_basis, started_at, due_at, warn_at,
                         escalate_at, provisional, paused_at, excluded, extended_by, met_at, warned_at,
                         breached_at, escalated_at, next_action_at)
        SELECT p.g, k.kind, k.rule, k.duration, k.unit, k.basis, p.reported_at,
               p.reported_at + make_interval(days => k.days), p.reported_at + make_interval(days => k.days - 1),
               p.reported_at + make_interval(days => k.days + 1), false, NULL, 0, 0,
               CASE WHEN p.stage <> 'reported' THEN p.reported_at + interval '2 days' END,
               NULL, NULL, NULL, NULL
        FROM g_case p JOIN (VALUES
            ('dispute', '{first[0]}', {rules[first[0]].pk}, {rules[first[0]].duration}, '{rules[first[0]].unit}',
             '{rules[first[0]].legal_basis}', 5),
            ('petition', '{first[1]}', {rules[first[1]].pk}, {rules[first[1]].duration}, '{rules[first[1]].unit}',
             '{rules[first[1]].legal_basis}', {rules[first[1]].duration})
        ) AS k(case_kind, kind, rule, duration, unit, basis, days) ON k.case_kind = p.kind
        ORDER BY p.g
    """)
    timed("deadlines (stage clock)", f"""
        INSERT INTO {d} (case_id, kind, rule_id, duration, unit, legal_basis, started_at, due_at, warn_at,
                         escalate_at, provisional, paused_at, excluded, extended_by, met_at, warned_at,
                         breached_at, escalated_at, next_action_at)
        SELECT p.g, k.kind, k.rule, r.duration, r.unit, r.legal_basis, p.entered_at,
               p.entered_at + make_interval(days => k.days), p.entered_at + make_interval(days => k.days - 2),
               p.entered_at + make_interval(days => k.days + 1), false, NULL, 0, 0,
               p.closed_at, NULL, NULL, NULL, NULL
        FROM g_case p JOIN (VALUES {clock_rows}) AS k(stage, case_kind, rule, kind, days)
             ON k.stage = p.stage AND k.case_kind IN ('', p.kind)
             JOIN {DeadlineRule._meta.db_table} r ON r.id = k.rule
        ORDER BY p.g
    """)
    # The sweep's marks on open clocks, as the sweep would have left them by now: each
    # step whose time has passed is taken; next_action_at is the first one ahead.
    timed("deadlines (sweep marks)", f"""
        UPDATE {d} SET
            warned_at = CASE WHEN warn_at <= now() THEN warn_at END,
            breached_at = CASE WHEN due_at <= now() THEN due_at END,
            escalated_at = CASE WHEN escalate_at <= now() THEN escalate_at END,
            next_action_at = CASE WHEN warn_at > now() THEN warn_at WHEN due_at > now() THEN due_at
                                  WHEN escalate_at > now() THEN escalate_at END
        WHERE met_at IS NULL
    """)
    assignee = ",".join(str(perms[p]) for p in sorted(ASSIGNEE_GRANTS))
    lead = ",".join(str(perms[p]) for p in sorted(LEAD_DEPARTMENT_GRANTS))
    timed("assignee grants", f"""
        INSERT INTO {CaseUserObjectPermission._meta.db_table} (content_object_id, user_id, permission_id)
        SELECT c.id, c.assignee_id, perm FROM {c} c CROSS JOIN unnest(ARRAY[{assignee}]) AS perm
        WHERE c.assignee_id IS NOT NULL ORDER BY c.id
    """)
    timed("lead department grants", f"""
        INSERT INTO {CaseGroupObjectPermission._meta.db_table} (content_object_id, group_id, permission_id)
        SELECT c.id, u.group_id, perm FROM {c} c JOIN {OrgUnit._meta.db_table} u ON u.id = c.lead_department_id
             CROSS JOIN unnest(ARRAY[{lead}]) AS perm
        ORDER BY c.id
    """)
    # A red card per open overdue clock to everyone of the responsible township who
    # would get one (officers), as the sweep's notifications.
    timed("notifications", f"""
        INSERT INTO {Notification._meta.db_table} (user_id, kind, level, case_id, deadline_id, text, created_at,
                                                   delivered_at, read_at)
        SELECT m.user_id, 'overdue', 'overdue', c.id, dl.id, '案件 ' || c.number || ' 已超期（红牌）。', dl.breached_at,
               dl.breached_at, CASE WHEN dl.breached_at < now() - interval '7 days' THEN dl.breached_at END
        FROM {d} dl JOIN {c} c ON c.id = dl.case_id
             JOIN {Membership._meta.db_table} m ON m.unit_id = c.responsible_unit_id AND m.role = 'officer'
        WHERE dl.met_at IS NULL AND dl.breached_at IS NOT NULL
        ORDER BY dl.id
    """)
    # Each township's case serials continue after the generated ones.
    timed("serials", f"""
        INSERT INTO cases_caseserial (unit_id, year, last)
        SELECT registered_unit_id, year, max(serial) FROM {c} GROUP BY registered_unit_id, year
    """)
    start = time.perf_counter()
    with connection.cursor() as cursor:
        for statement in rebuild:
            cursor.execute(statement)
    log(f"#   indexes: {len(rebuild)} built in {time.perf_counter() - start:.1f} s", flush=True)
    # The rows went in with the triggers off: the rollup of the counts from them at once.
    start = time.perf_counter()
    rows = tally.recount()
    log(f"#   rollup of the counts: {rows} rows in {time.perf_counter() - start:.1f} s", flush=True)
    start = time.perf_counter()
    rows = running.recount()
    log(f"#   running clocks on the cases: {rows} cases in {time.perf_counter() - start:.1f} s", flush=True)
    start = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("RESET session_replication_role")
        # As autovacuum would have left tables that have been in use for years: the
        # visibility map set (index-only scans) and the planner's statistics current.
        cursor.execute("VACUUM ANALYZE")
    log(f"#   vacuum analyze: {time.perf_counter() - start:.1f} s", flush=True)


def without_indexes(tables: list[str]) -> list[str]:
    """Drop the unique constraints and indexes of `tables` other than primary keys;
    return the statements that put them back."""
    from django.db import connection

    restore: list[str] = []
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(
                "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conrelid = %s::regclass AND contype = 'u'", [table])
            for name, definition in cursor.fetchall():
                cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
                restore.append(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
            cursor.execute(
                "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i "
                "WHERE i.indrelid = %s::regclass AND NOT i.indisprimary "
                "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)", [table])
            for name, definition in cursor.fetchall():
                cursor.execute(f"DROP INDEX {name}")
                restore.append(definition)
    return restore
