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
            self.mediation_result = {"succeeded": "调解成功", "failed": "调解不成",
                                     "withdrawn": self.closure[Case.Closure.WITHDRAWN], "ongoing": "调解中"}


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

    def parties(self, parties: list[tuple[str, str]]) -> str:
        labels = self.labels.party_role
        return "、".join(f"{name}（{labels.get(r, r)}）" for r, name in parties)

    @staticmethod
    def names(names: list[str]) -> str:
        return "、".join(names)


def person(first_name: str | None, username: str | None) -> str:
    return first_name or username or ""


def flag(value: bool) -> str:
    return YES if value else "否"


def outcome_of(value: Any) -> dict[str, Any]:
    # values() hands JSON back decoded on PostgreSQL and SQLite alike; a string would be
    # an older row written by hand.
    return json.loads(value) if isinstance(value, str) else (value or {})


# ---------------------------------------------------------------------------------------
# What each ledger lists: one selection, read by the xlsx below and by the API a page at
# a time (api.report_views), so both hold the same rows in the same order.

Row = dict[str, Any]


def cases_for(unit: OrgUnit, user: Any) -> QuerySet[Case]:
    cases = Case.objects.all() if user is None else visible_to(user)
    return cases.within(unit)


@dataclass(frozen=True)
class Selection:
    """A ledger's rows of a unit (and everything beneath it) for a period, as values(),
    ordered by `key` and then the row's id: keyset paging goes on past a row's (key, pk)."""

    rows: Callable[[OrgUnit, Period, Any], QuerySet[Any]]
    key: str

    def __call__(self, unit: OrgUnit, period: Period, user: Any) -> QuerySet[Any]:
        return self.rows(unit, period, user).order_by(self.key, "pk")


def dispute_rows(unit: OrgUnit, period: Period, user: Any) -> QuerySet[Any]:
    """The disputes registered in the period."""
    return (cases_for(unit, user)
            .filter(kind=Case.Kind.DISPUTE, reported_at__gte=period.start, reported_at__lt=period.end)
            .values("pk", "number", "reported_at", "village__name", "title", "category", "source",
                    "people_involved", "amount", "risk", "is_group", "is_legacy", "summary",
                    "responsible_unit__name", "lead_department__name", "assignee__first_name",
                    "assignee__username", "accepted_at", "stage", "resolved_at", "outcome", "closed_at", "closure",
                    "satisfaction"))


def mediation_rows(unit: OrgUnit, period: Period, user: Any) -> QuerySet[Any]:
    """The cases whose mediation began in the period (their first start_mediation), with
    the sessions recorded."""
    started = CaseEvent.objects.filter(case=OuterRef("pk"), kind="start_mediation").order_by("at", "pk").values("at")
    sessions = (CaseEvent.objects.filter(case=OuterRef("pk"), kind="record_session").order_by()
                .values("case").annotate(n=Count("pk")).values("n"))
    return (cases_for(unit, user)
            .annotate(mediation_started=Subquery(started[:1]), sessions=Subquery(sessions))
            .filter(mediation_started__gte=period.start, mediation_started__lt=period.end)
            .values("pk", "number", "accepted_at", "mediation_started", "category", "source", "summary",
                    "assignee__first_name", "assignee__username", "sessions", "resolved_at", "outcome", "closure",
                    "reporter__first_name", "reporter__username"))


def petition_rows(unit: OrgUnit, period: Period, user: Any) -> QuerySet[Any]:
    """The petitions registered in the period, with the due time of their latest handling
    clock."""
    handling = (Deadline.objects.filter(case=OuterRef("pk"), kind=DeadlineKind.HANDLING)
                .order_by("-started_at", "-pk").values("due_at"))
    return (cases_for(unit, user)
            .filter(kind=Case.Kind.PETITION, reported_at__gte=period.start, reported_at__lt=period.end)
            .annotate(handling_due=Subquery(handling[:1]))
            .values("pk", "number", "reported_at", "source", "petition_type", "category", "title", "summary",
                    "people_involved", "is_repeat", "is_group", "responsible_unit__name", "lead_department__name",
                    "assignee__first_name", "assignee__username", "accepted_at", "handling_due", "outcome",
                    "closed_at", "satisfaction", "stage"))


def supervision_rows(unit: OrgUnit, period: Period, user: Any) -> QuerySet[Any]:
    """The supervision orders issued in the period on the unit's cases."""
    return (SupervisionOrder.objects.filter(case__in=cases_for(unit, user), issued_at__gte=period.start,
                                            issued_at__lt=period.end)
            .values("pk", "case_id", "case__number", "case__title", "case__village__name", "issued_at",
                    "issued_by__first_name", "issued_by__username", "instructions", "deadline__due_at", "replied_at",
                    "replied_by__first_name", "replied_by__username", "reply", "closed_at", "deadline__warned_at",
                    "deadline__breached_at"))


def follow_up_rows(unit: OrgUnit, period: Period, user: Any) -> QuerySet[Any]:
    """The follow-up visits (回访) made in the period on the unit's cases."""
    return (CaseEvent.objects.filter(case__in=cases_for(unit, user), kind="follow_up", at__gte=period.start,
                                     at__lt=period.end)
            .values("pk", "case_id", "case__number", "case__title", "case__village__name", "case__resolved_at", "at",
                    "actor__first_name", "actor__username", "data"))


SELECTIONS = {
    "disputes": Selection(dispute_rows, "reported_at"),
    "mediation": Selection(mediation_rows, "mediation_started"),
    "petitions": Selection(petition_rows, "reported_at"),
    "supervision": Selection(supervision_rows, "issued_at"),
    "follow_up": Selection(follow_up_rows, "at"),
}


# ---------------------------------------------------------------------------------------
# The columns a ledger derives from its row, as codes: the xlsx writes their Chinese words,
# the API the codes.


def names(parties: list[tuple[str, str]], role: str) -> list[str]:
    return [name for r, name in parties if r == role]


def resolution(row: Row) -> tuple[str, str]:
    """A case's outcome (a ResolveForm.OUTCOMES code, or "") and its summary."""
    result = outcome_of(row["outcome"])
    return result.get("kind", ""), result.get("summary", "")


def applicants(parties: list[tuple[str, str]]) -> list[str]:
    """Who asked for mediation: the applicants, or for a petition mediated, the petitioners."""
    return names(parties, Party.PartyRole.APPLICANT) or names(parties, Party.PartyRole.PETITIONER)


def session_count(row: Row) -> int:
    """调解次数: the sessions recorded (none counted as 0)."""
    return row["sessions"] or 0


def mediation_result(row: Row) -> str:
    """调解结果: "succeeded" (resolved), "failed" (referred or rejected), "withdrawn", or
    "ongoing"."""
    if row["resolved_at"] is not None:
        return "succeeded"
    if row["closure"] in (Case.Closure.REFERRED, Case.Closure.REJECTED):
        return "failed"
    if row["closure"] == Case.Closure.WITHDRAWN:
        return "withdrawn"
    return "ongoing"


def agreement(row: Row) -> str:
    """The form of the agreement the mediation reached (an agreement_* outcome), or ""."""
    kind, _summary = resolution(row)
    return kind if kind.startswith("agreement") else ""


def supervision_status(row: Row) -> str:
    """督办状态: "closed", "replied" (answered, not yet closed) or "open"."""
    return "closed" if row["closed_at"] else "replied" if row["replied_at"] else "open"


def supervision_card(row: Row) -> str:
    """The order's clock: "red" once breached, "yellow" once warned, else ""."""
    return "red" if row["deadline__breached_at"] else "yellow" if row["deadline__warned_at"] else ""


def visit_record(row: Row) -> tuple[str, str]:
    """A follow-up visit's record and satisfaction (a FollowUpForm.SATISFACTION code, or "")."""
    data = outcome_of(row["data"])
    return data.get("record", ""), data.get("satisfaction", "")


# ---------------------------------------------------------------------------------------
# The xlsx of each ledger.

# The official wording of the codes above (a withdrawn mediation: Labels.mediation_result).
SUPERVISION_STATUS_WORDS = {"closed": "已办结", "replied": "已答复", "open": "办理中"}
CARD_WORDS = {"red": "红牌", "yellow": "黄牌", "": ""}


def numbered(kind: str, unit: OrgUnit, period: Period, user: Any, progress: Progress,
             case: str | None = "pk") -> Iterator[tuple[int, Row, list[tuple[str, str]]]]:
    """The ledger's rows with their 序号 and, when `case` names the row's case id, the
    case's parties: read in chunks, one query for each chunk's parties, progress after each."""
    n = 0
    for chunk in chunked(SELECTIONS[kind](unit, period, user).iterator(chunk_size=CHUNK)):
        parties = parties_of([r[case] for r in chunk]) if case else {}
        for row in chunk:
            n += 1
            yield n, row, parties[row[case]] if case else []
        progress(n)


def write_disputes(out: Sheet, unit: OrgUnit, period: Period, user: Any, progress: Progress) -> int:
    cells = Cells()
    lb = cells.labels
    n = 0
    for n, r, parties in numbered("disputes", unit, period, user, progress):
        outcome, summary = resolution(r)
        out.write([
            n, r["number"], cells.day(r["reported_at"]), r["village__name"] or "", r["title"],
            lb.category.get(r["category"], r["category"]), lb.source.get(r["source"], r["source"]),
            cells.parties(parties), r["people_involved"],
            float(r["amount"]) if r["amount"] is not None else None, lb.risk.get(r["risk"], r["risk"]),
            flag(r["is_group"]), flag(r["is_legacy"]), r["summary"], r["responsible_unit__name"],
            r["lead_department__name"] or "", person(r["assignee__first_name"], r["assignee__username"]),
            cells.day(r["accepted_at"]), lb.stage.get(r["stage"], r["stage"]), cells.day(r["resolved_at"]),
            lb.outcome.get(outcome, ""), summary, cells.day(r["closed_at"]), lb.closure.get(r["closure"], ""),
            lb.satisfaction.get(r["satisfaction"], ""),
        ])
    return n


def write_mediation(out: Sheet, unit: OrgUnit, period: Period, user: Any, progress: Progress) -> int:
    cells = Cells()
    lb = cells.labels
    n = 0
    for n, r, parties in numbered("mediation", unit, period, user, progress):
        out.write([
            n, r["number"], cells.day(r["accepted_at"]), cells.day(r["mediation_started"]),
            cells.names(applicants(parties)), cells.names(names(parties, Party.PartyRole.RESPONDENT)),
            lb.category.get(r["category"], r["category"]), lb.source.get(r["source"], r["source"]), r["summary"],
            person(r["assignee__first_name"], r["assignee__username"]), session_count(r),
            lb.mediation_result[mediation_result(r)], lb.outcome.get(agreement(r), ""), cells.day(r["resolved_at"]),
            person(r["reporter__first_name"], r["reporter__username"]),
        ])
    return n


def write_petitions(out: Sheet, unit: OrgUnit, period: Period, user: Any, progress: Progress) -> int:
    cells = Cells()
    lb = cells.labels
    n = 0
    for n, r, parties in numbered("petitions", unit, period, user, progress):
        outcome, summary = resolution(r)
        out.write([
            n, r["number"], cells.day(r["reported_at"]), cells.names(names(parties, Party.PartyRole.PETITIONER)),
            lb.source.get(r["source"], r["source"]), lb.petition_type.get(r["petition_type"], r["petition_type"]),
            lb.category.get(r["category"], r["category"]), r["title"], r["summary"], r["people_involved"],
            flag(r["is_repeat"]), flag(r["is_group"]), r["responsible_unit__name"], r["lead_department__name"] or "",
            person(r["assignee__first_name"], r["assignee__username"]), cells.day(r["accepted_at"]),
            cells.day(r["handling_due"]), lb.outcome.get(outcome, ""), summary, cells.day(r["closed_at"]),
            lb.satisfaction.get(r["satisfaction"], ""), lb.stage.get(r["stage"], r["stage"]),
        ])
    return n


def write_supervision(out: Sheet, unit: OrgUnit, period: Period, user: Any, progress: Progress) -> int:
    cells = Cells()
    n = 0
    for n, r, _parties in numbered("supervision", unit, period, user, progress, case=None):
        out.write([
            n, r["case__number"], r["case__title"], r["case__village__name"] or "", cells.day(r["issued_at"]),
            person(r["issued_by__first_name"], r["issued_by__username"]), r["instructions"],
            cells.day(r["deadline__due_at"]), cells.day(r["replied_at"]),
            person(r["replied_by__first_name"], r["replied_by__username"]), r["reply"], cells.day(r["closed_at"]),
            SUPERVISION_STATUS_WORDS[supervision_status(r)], CARD_WORDS[supervision_card(r)],
        ])
    return n


def write_follow_up(out: Sheet, unit: OrgUnit, period: Period, user: Any, progress: Progress) -> int:
    cells = Cells()
    lb = cells.labels
    n = 0
    for n, r, parties in numbered("follow_up", unit, period, user, progress, case="case_id"):
        record, satisfaction = visit_record(r)
        out.write([
            n, r["case__number"], r["case__title"], r["case__village__name"] or "", cells.parties(parties),
            cells.day(r["case__resolved_at"]), cells.day(r["at"]), person(r["actor__first_name"], r["actor__username"]),
            record, lb.satisfaction.get(satisfaction, ""),
        ])
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
