"""Ledgers (台账) generated from the case data, never typed (README: Pages), as xlsx.

Each ledger is for a unit (with everything beneath it) and a period ("2026-03", "2026-H1",
"2026"), in the columns a township's 台账 has. The headers are the official forms'
wording, in Chinese whatever the reader's language: they are what inspectors look for,
and what the legacy import reads back. Cell values use the catalogue's Chinese labels.

Written with XlsxWriter in constant_memory mode: each row goes to a temporary file as it
is written, so memory stays flat however many rows. Rows come from the database in
chunks (values() over .iterator()), with one extra query per chunk for the parties, so
the statements do not grow with the rows either.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import IO, Any
from zoneinfo import ZoneInfo

import xlsxwriter
from django.conf import settings
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.http import FileResponse
from django.utils import translation
from django.utils.translation import gettext as _

from cases.models import Case, CaseEvent, Category, OrgUnit, Party, Source
from cases.periods import Period, next_month, parse_period
from workflow.counts import TALLY, registered_in, tallied
from workflow.forms import FollowUpForm, ReferForm, ResolveForm
from workflow.models import Deadline, DeadlineKind, SupervisionOrder
from workflow.permissions import visible_to

CHUNK = 2000


class UnknownLedger(ValueError):
    pass


# The people-involved bands of the 矛盾纠纷排查情况表 (as the table prints them: <50, 50–100, 100–500,
# >500). Each band holds its upper edge: 50 and 100 people fall in 50–100, 500 in 100–500.
BANDS: tuple[tuple[str, int, int | None], ...] = (
    ("50人以下", 1, 49),
    ("50-100人", 50, 100),
    ("101-500人", 101, 500),
    ("500人以上", 501, None),
)


def band_of(people: int) -> str:
    for label, low, high in BANDS:
        if people >= low and (high is None or people <= high):
            return label
    return BANDS[0][0]


# The 矛盾纠纷排查化解台账: also the layout the legacy import reads.
DISPUTE_COLUMNS: tuple[tuple[str, int], ...] = (
    ("序号", 6), ("编号", 18), ("登记日期", 11), ("村（社区）", 12), ("纠纷名称", 30), ("纠纷类别", 14),
    ("来源", 10), ("当事人", 28), ("涉及人数", 8), ("涉及金额（元）", 12), ("风险等级", 8), ("群体性", 6),
    ("历史遗留", 8), ("简要情况", 50), ("责任单位", 12), ("牵头部门", 14), ("承办人", 10), ("受理日期", 11),
    ("办理状态", 10), ("化解日期", 11), ("化解方式", 16), ("化解情况", 40), ("办结日期", 11), ("办结方式", 12),
    ("回访满意度", 10),
)
MEDIATION_COLUMNS: tuple[tuple[str, int], ...] = (
    ("序号", 6), ("编号", 18), ("受理日期", 11), ("调解开始日期", 12), ("申请人", 20), ("被申请人", 20),
    ("纠纷类型", 14), ("案件来源", 10), ("纠纷简要情况", 50), ("调解员", 10), ("调解次数", 8), ("调解结果", 10),
    ("协议形式", 18), ("调结日期", 11), ("登记人", 10),
)
PETITION_COLUMNS: tuple[tuple[str, int], ...] = (
    ("序号", 6), ("编号", 18), ("登记日期", 11), ("信访人", 20), ("信访形式", 10), ("事项类型", 12),
    ("问题类别", 14), ("信访事项", 30), ("主要诉求", 50), ("涉及人数", 8), ("重复信访", 8), ("群体访", 6),
    ("责任单位", 12), ("牵头部门", 14), ("承办人", 10), ("受理日期", 11), ("办理期限", 11), ("办理结果", 14),
    ("答复意见", 40), ("办结日期", 11), ("满意度", 8), ("办理状态", 10),
)
SUPERVISION_COLUMNS: tuple[tuple[str, int], ...] = (
    ("序号", 6), ("案件编号", 18), ("事项名称", 30), ("村（社区）", 12), ("督办日期", 11), ("督办人", 10),
    ("督办要求", 40), ("答复期限", 11), ("答复日期", 11), ("答复人", 10), ("答复情况", 40), ("办结日期", 11),
    ("督办状态", 10), ("超期情况", 8),
)
FOLLOW_UP_COLUMNS: tuple[tuple[str, int], ...] = (
    ("序号", 6), ("案件编号", 18), ("事项名称", 30), ("村（社区）", 12), ("当事人", 28), ("化解日期", 11),
    ("回访日期", 11), ("回访人", 10), ("回访情况", 50), ("满意度", 8),
)
MONTHLY_COLUMNS: tuple[tuple[str, int], ...] = (
    ("类别", 22), ("排查数", 8), ("调处数", 8), ("成功数", 8), ("调处率", 8), ("成功率", 8), ("重大矛盾纠纷", 12),
    *((label, 10) for label, _, _ in BANDS),
    ("本年累计排查数", 14), ("本年累计调处数", 14), ("本年累计成功数", 14),
)

TITLES = {
    "disputes": "矛盾纠纷排查化解台账",
    "mediation": "调解登记台账",
    "petitions": "信访事项台账",
    "supervision": "督办台账",
    "follow_up": "回访台账",
    "monthly": "矛盾纠纷排查情况表",
}
KINDS = tuple(TITLES)
YES = "是"
# Called with the number of rows written so far, after each chunk.
Progress = Callable[[int], None]


class Labels:
    """The catalogue's Chinese labels of every choice a ledger shows, read once."""

    def __init__(self) -> None:

        with translation.override("zh-hans"):
            def table(choices: Iterable[tuple[str, Any]]) -> dict[str, str]:
                return {value: str(label) for value, label in choices}

            self.category = table(Category.choices)
            self.source = table(Source.choices)
            self.stage = table(Case.Stage.choices)
            self.risk = table(Case.Risk.choices)
            self.closure = table(Case.Closure.choices)
            self.petition_type = table(Case.PetitionType.choices)
            self.party_role = table(Party.PartyRole.choices)
            self.outcome = table(ResolveForm.OUTCOMES)
            self.satisfaction = table(FollowUpForm.SATISFACTION)
            self.channel = table(ReferForm.CHANNELS)


@dataclass
class Sheet:
    """The workbook being written and its row cursor."""

    book: Any
    sheet: Any
    row: int

    def write(self, values: list[Any]) -> None:
        self.sheet.write_row(self.row, 0, values)
        self.row += 1


def open_book(out: str | os.PathLike[str] | IO[bytes], title: str, columns: tuple[tuple[str, int], ...]) -> Sheet:
    book = xlsxwriter.Workbook(out, {"constant_memory": True, "default_date_format": "yyyy-mm-dd",
                                     "strings_to_numbers": False, "strings_to_formulas": False,
                                     "strings_to_urls": False})
    sheet = book.add_worksheet(title[:31])
    header = book.add_format({"bold": True, "align": "center", "valign": "vcenter", "border": 1, "text_wrap": True})
    caption = book.add_format({"bold": True, "font_size": 14, "align": "center"})
    for i, (__, width) in enumerate(columns):
        sheet.set_column(i, i, width)
    sheet.merge_range(0, 0, 0, len(columns) - 1, title, caption)
    sheet.write_row(1, 0, [name for name, __ in columns], header)
    sheet.freeze_panes(2, 0)
    return Sheet(book, sheet, 2)


def caption(kind: str, unit: OrgUnit, period: Period) -> str:
    if period.is_month:
        when = f"{period.first.year}年{period.first.month}月"
    elif "H" in period.label:
        when = f"{period.first.year}年{'上' if period.label.endswith('1') else '下'}半年"
    else:
        when = f"{period.first.year}年"
    return f"{when} {unit.name} {TITLES[kind]}"


def ledger_filename(kind: str, unit: OrgUnit, period: Period) -> str:
    return f"{unit.code}-{period.label}-{TITLES[kind]}.xlsx"


# ---------------------------------------------------------------------------------------
# Reading rows in chunks.


def chunked(rows: Iterator[Any], size: int = CHUNK) -> Iterator[list[Any]]:
    chunk: list[Any] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def parties_of(case_ids: list[int]) -> dict[int, list[tuple[str, str]]]:
    """(role, name) of each case's parties, in the order they were entered."""
    out: dict[int, list[tuple[str, str]]] = defaultdict(list)
    rows = Party.objects.filter(case_id__in=case_ids).order_by("case_id", "pk").values_list("case_id", "role", "name")
    for case_id, role, name in rows:
        out[case_id].append((role, name))
    return out


class Cells:
    """Turns stored values into what a cell shows: local dates, Chinese labels."""

    def __init__(self) -> None:
        self.tz = ZoneInfo(settings.TIME_ZONE)
        self.labels = Labels()

    def day(self, moment: datetime | None) -> date | None:
        return moment.astimezone(self.tz).date() if moment is not None else None

    def parties(self, parties: list[tuple[str, str]], role: str | None = None) -> str:
        labels = self.labels.party_role
        if role is not None:
            return "、".join(name for r, name in parties if r == role)
        return "、".join(f"{name}（{labels.get(r, r)}）" for r, name in parties)


def person(first_name: str | None, username: str | None) -> str:
    return first_name or username or ""


def flag(value: bool) -> str:
    return YES if value else "否"


def outcome_of(value: Any) -> dict[str, Any]:
    # values() hands JSON back decoded on PostgreSQL and SQLite alike; a string would be
    # an older row written by hand.
    return json.loads(value) if isinstance(value, str) else (value or {})


# ---------------------------------------------------------------------------------------
# The ledgers.


def cases_for(unit: OrgUnit, user: Any) -> QuerySet[Case]:
    cases = Case.objects.all() if user is None else visible_to(user)
    return cases.within(unit)


def write_disputes(out: Sheet, unit: OrgUnit, period: Period, user: Any, progress: Progress) -> int:
    cells = Cells()
    lb = cells.labels
    fields = ("pk", "number", "reported_at", "village__name", "title", "category", "source", "people_involved",
              "amount", "risk", "is_group", "is_legacy", "summary", "responsible_unit__name",
              "lead_department__name", "assignee__first_name", "assignee__username", "accepted_at", "stage",
              "resolved_at", "outcome", "closed_at", "closure", "satisfaction")
    rows = (
        cases_for(unit, user)
        .filter(kind=Case.Kind.DISPUTE, reported_at__gte=period.start, reported_at__lt=period.end)
        .order_by("reported_at", "pk")
        .values_list(*fields)
        .iterator(chunk_size=CHUNK)
    )
    n = 0
    for chunk in chunked(rows):
        parties = parties_of([r[0] for r in chunk])
        for (pk, number, reported, village, title, category, source, people, amount, risk, group, legacy, summary,
             responsible, lead, a_first, a_user, accepted, stage, resolved, outcome, closed, closure,
             satisfaction) in chunk:
            n += 1
            result = outcome_of(outcome)
            out.write([
                n, number, cells.day(reported), village or "", title, lb.category.get(category, category),
                lb.source.get(source, source), cells.parties(parties[pk]), people,
                float(amount) if amount is not None else None, lb.risk.get(risk, risk), flag(group), flag(legacy),
                summary, responsible, lead or "", person(a_first, a_user), cells.day(accepted),
                lb.stage.get(stage, stage), cells.day(resolved), lb.outcome.get(result.get("kind", ""), ""),
                result.get("summary", ""), cells.day(closed), lb.closure.get(closure, ""),
                lb.satisfaction.get(satisfaction, ""),
            ])
        progress(n)
    return n


def write_mediation(out: Sheet, unit: OrgUnit, period: Period, user: Any, progress: Progress) -> int:
    cells = Cells()
    lb = cells.labels
    started = CaseEvent.objects.filter(case=OuterRef("pk"), kind="start_mediation").order_by("at", "pk").values("at")
    sessions = (CaseEvent.objects.filter(case=OuterRef("pk"), kind="record_session").order_by()
                .values("case").annotate(n=Count("pk")).values("n"))
    rows = (
        cases_for(unit, user)
        .annotate(mediation_started=Subquery(started[:1]), sessions=Subquery(sessions))
        .filter(mediation_started__gte=period.start, mediation_started__lt=period.end)
        .order_by("mediation_started", "pk")
        .values_list("pk", "number", "accepted_at", "mediation_started", "category", "source", "summary",
                     "assignee__first_name", "assignee__username", "sessions", "resolved_at", "outcome", "closure",
                     "stage", "reporter__first_name", "reporter__username")
        .iterator(chunk_size=CHUNK)
    )
    n = 0
    for chunk in chunked(rows):
        parties = parties_of([r[0] for r in chunk])
        for (pk, number, accepted, started_at, category, source, summary, a_first, a_user, count, resolved,
             outcome, closure, _stage, r_first, r_user) in chunk:
            n += 1
            kind = outcome_of(outcome).get("kind", "")
            if resolved is not None:
                result = "调解成功"
            elif closure in (Case.Closure.REFERRED, Case.Closure.REJECTED):
                result = "调解不成"
            elif closure == Case.Closure.WITHDRAWN:
                result = lb.closure[closure]
            else:
                result = "调解中"
            applicants = cells.parties(parties[pk], Party.PartyRole.APPLICANT) or cells.parties(
                parties[pk], Party.PartyRole.PETITIONER)
            out.write([
                n, number, cells.day(accepted), cells.day(started_at), applicants,
                cells.parties(parties[pk], Party.PartyRole.RESPONDENT), lb.category.get(category, category),
                lb.source.get(source, source), summary, person(a_first, a_user), count or 0, result,
                lb.outcome.get(kind, "") if kind.startswith("agreement") else "", cells.day(resolved),
                person(r_first, r_user),
            ])
        progress(n)
    return n


def write_petitions(out: Sheet, unit: OrgUnit, period: Period, user: Any, progress: Progress) -> int:

    cells = Cells()
    lb = cells.labels
    handling = (Deadline.objects.filter(case=OuterRef("pk"), kind=DeadlineKind.HANDLING)
                .order_by("-started_at", "-pk").values("due_at"))
    rows = (
        cases_for(unit, user)
        .filter(kind=Case.Kind.PETITION, reported_at__gte=period.start, reported_at__lt=period.end)
        .annotate(handling_due=Subquery(handling[:1]))
        .order_by("reported_at", "pk")
        .values_list("pk", "number", "reported_at", "source", "petition_type", "category", "title", "summary",
                     "people_involved", "is_repeat", "is_group", "responsible_unit__name", "lead_department__name",
                     "assignee__first_name", "assignee__username", "accepted_at", "handling_due", "outcome",
                     "closed_at", "satisfaction", "stage")
        .iterator(chunk_size=CHUNK)
    )
    n = 0
    for chunk in chunked(rows):
        parties = parties_of([r[0] for r in chunk])
        for (pk, number, reported, source, ptype, category, title, summary, people, repeat, group, responsible,
             lead, a_first, a_user, accepted, due, outcome, closed, satisfaction, stage) in chunk:
            n += 1
            result = outcome_of(outcome)
            out.write([
                n, number, cells.day(reported), cells.parties(parties[pk], Party.PartyRole.PETITIONER),
                lb.source.get(source, source), lb.petition_type.get(ptype, ptype),
                lb.category.get(category, category), title, summary, people, flag(repeat), flag(group),
                responsible, lead or "", person(a_first, a_user), cells.day(accepted), cells.day(due),
                lb.outcome.get(result.get("kind", ""), ""), result.get("summary", ""), cells.day(closed),
                lb.satisfaction.get(satisfaction, ""), lb.stage.get(stage, stage),
            ])
        progress(n)
    return n


def write_supervision(out: Sheet, unit: OrgUnit, period: Period, user: Any, progress: Progress) -> int:

    cells = Cells()
    rows = (
        SupervisionOrder.objects.filter(case__in=cases_for(unit, user), issued_at__gte=period.start,
                                        issued_at__lt=period.end)
        .order_by("issued_at", "pk")
        .values_list("case__number", "case__title", "case__village__name", "issued_at", "issued_by__first_name",
                     "issued_by__username", "instructions", "deadline__due_at", "replied_at",
                     "replied_by__first_name", "replied_by__username", "reply", "closed_at",
                     "deadline__warned_at", "deadline__breached_at")
        .iterator(chunk_size=CHUNK)
    )
    n = 0
    for chunk in chunked(rows):
        for (number, title, village, issued, i_first, i_user, instructions, due, replied, r_first, r_user, reply,
             closed, warned, breached) in chunk:
            n += 1
            status = "已办结" if closed else "已答复" if replied else "办理中"
            card = "红牌" if breached else "黄牌" if warned else ""
            out.write([
                n, number, title, village or "", cells.day(issued), person(i_first, i_user), instructions,
                cells.day(due), cells.day(replied), person(r_first, r_user), reply, cells.day(closed), status, card,
            ])
        progress(n)
    return n


def write_follow_up(out: Sheet, unit: OrgUnit, period: Period, user: Any, progress: Progress) -> int:
    cells = Cells()
    lb = cells.labels
    rows = (
        CaseEvent.objects.filter(case__in=cases_for(unit, user), kind="follow_up", at__gte=period.start,
                                 at__lt=period.end)
        .order_by("at", "pk")
        .values_list("case_id", "case__number", "case__title", "case__village__name", "case__resolved_at", "at",
                     "actor__first_name", "actor__username", "data")
        .iterator(chunk_size=CHUNK)
    )
    n = 0
    for chunk in chunked(rows):
        parties = parties_of([r[0] for r in chunk])
        for case_id, number, title, village, resolved, at, a_first, a_user, data in chunk:
            n += 1
            data = outcome_of(data)
            out.write([
                n, number, title, village or "", cells.parties(parties[case_id]), cells.day(resolved),
                cells.day(at), person(a_first, a_user), data.get("record", ""),
                lb.satisfaction.get(data.get("satisfaction", ""), ""),
            ])
        progress(n)
    return n


@dataclass
class MonthlyRow:
    category: str  # a Category value, or "" for the total
    label: str
    found: int = 0
    handled: int = 0
    succeeded: int = 0
    major: int = 0
    bands: tuple[int, ...] = (0, 0, 0, 0)
    found_ytd: int = 0
    handled_ytd: int = 0
    succeeded_ytd: int = 0

    @property
    def handled_rate(self) -> float | None:
        return self.handled / self.found if self.found else None

    @property
    def success_rate(self) -> float | None:
        return self.succeeded / self.handled if self.handled else None


def monthly_table(unit: OrgUnit, period: Period, user: Any = None) -> list[MonthlyRow]:
    """The 矛盾纠纷排查情况表 for the disputes of `unit` registered in `period`, one row per
    category and a total: 排查数, 调处数 and 成功数 as workflow.counts defines them, counted
    as the data stands now. The year-to-date columns count from 1 January to the period's end."""
    disputes = cases_for(unit, user).filter(kind=Case.Kind.DISPUTE)
    bands = {f"band{i}": Count("pk", filter=Q(people_involved__gte=low)
                               & (Q(people_involved__lte=high) if high is not None else Q()))
             for i, (_, low, high) in enumerate(BANDS)}
    month = {
        row[0]: row[1:]
        for row in registered_in(disputes, period)
        .order_by().values("category")
        .annotate(**TALLY, major=Count("pk", filter=Q(risk=Case.Risk.MAJOR)), **bands)
        .values_list("category", "found", "handled", "succeeded", "major", *bands)
    }
    # The year to date from the rollup (workflow.counts.tallied), as the dashboard reads it:
    # counting a county's year of cases took a third of a second at a million. Disputes
    # are never accusations, so every reviewer of the unit sees all of them.
    year = tallied([unit], date(period.first.year, 1, 1), next_month(period.last.replace(day=1)),
                   period.end, by=("category", "kind"), acceptance=False)[unit.pk]
    ytd = {category: (got["found"], got["handled"], got["succeeded"])
           for (category, kind), got in year.items() if kind == Case.Kind.DISPUTE}
    labels = Labels().category
    rows = []
    for category in Category.values:
        m = month.get(category, (0,) * (4 + len(BANDS)))
        y = ytd.get(category, (0, 0, 0))
        rows.append(MonthlyRow(category, labels[category], *m[:4], tuple(m[4:]), *y))
    total = MonthlyRow("", "合计")
    for row in rows:
        total.found += row.found
        total.handled += row.handled
        total.succeeded += row.succeeded
        total.major += row.major
        total.bands = tuple(a + b for a, b in zip(total.bands, row.bands, strict=True))
        total.found_ytd += row.found_ytd
        total.handled_ytd += row.handled_ytd
        total.succeeded_ytd += row.succeeded_ytd
    return [*rows, total]


def write_monthly(out: Sheet, unit: OrgUnit, period: Period, user: Any, progress: Progress) -> int:
    percent = out.book.add_format({"num_format": "0.0%"})
    rows = monthly_table(unit, period, user)
    for row in rows:
        out.write([row.label, row.found, row.handled, row.succeeded])
        for col, rate in ((4, row.handled_rate), (5, row.success_rate)):
            if rate is None:
                out.sheet.write_blank(out.row - 1, col, None)
            else:
                out.sheet.write_number(out.row - 1, col, rate, percent)
        out.sheet.write_row(out.row - 1, 6, [row.major, *row.bands, row.found_ytd, row.handled_ytd,
                                             row.succeeded_ytd])
    progress(len(rows))
    return len(rows)


WRITERS: dict[str, tuple[tuple[tuple[str, int], ...], Callable[..., int]]] = {
    "disputes": (DISPUTE_COLUMNS, write_disputes),
    "mediation": (MEDIATION_COLUMNS, write_mediation),
    "petitions": (PETITION_COLUMNS, write_petitions),
    "supervision": (SUPERVISION_COLUMNS, write_supervision),
    "follow_up": (FOLLOW_UP_COLUMNS, write_follow_up),
    "monthly": (MONTHLY_COLUMNS, write_monthly),
}


def write_ledger(kind: str, unit: OrgUnit, period: Period | str, out: str | os.PathLike[str] | IO[bytes], *,
                 user: Any = None, progress: Progress | None = None) -> int:
    """Write ledger `kind` (one of KINDS) of `unit` and its subtree for `period` to
    `out` (a path or a binary file); return the number of data rows. With `user`, only
    the cases they may see are written (as every page shows them); without, all (an
    operator's scheduled export). Raises UnknownLedger or BadPeriod."""
    if kind not in WRITERS:
        raise UnknownLedger(_("There is no ledger called “%(kind)s”; the ledgers are: %(kinds)s.")
                            % {"kind": kind, "kinds": ", ".join(KINDS)})
    period = parse_period(period) if isinstance(period, str) else period
    columns, writer = WRITERS[kind]
    sheet = open_book(out, caption(kind, unit, period), columns)
    try:
        rows = writer(sheet, unit, period, user, progress or (lambda n: None))
    finally:
        sheet.book.close()
    return rows


def ledger_response(kind: str, unit: OrgUnit, period: Period | str, *, user: Any) -> FileResponse:
    """The ledger as a download for the pages: written to a temporary file (constant
    memory), then streamed from it in blocks; the file goes when the response closes."""
    period = parse_period(period) if isinstance(period, str) else period
    spool = tempfile.TemporaryFile()
    try:
        write_ledger(kind, unit, period, spool, user=user)
    except BaseException:
        spool.close()
        raise
    spool.seek(0)
    return FileResponse(
        spool, as_attachment=True, filename=ledger_filename(kind, unit, period),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
