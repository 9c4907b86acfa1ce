"""The screening returns and the figures the pages report, for grid apps and the platforms
above (docs/interfaces.md). Who may read or file what is asked of workflow.permissions,
the same functions the pages ask; the figures come from the functions the pages call."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiParameter, PolymorphicProxySerializer, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param
from rest_framework.views import APIView

from cases.models import Case, OrgUnit, Party
from cases.periods import BadPeriod, Period, last_month, parse_month, parse_period
from reports.assessment import assess
from reports.ledgers import (
    BANDS,
    SELECTIONS,
    TITLES,
    Selection,
    agreement,
    applicants,
    mediation_result,
    monthly_table,
    names,
    parties_of,
    person,
    resolution,
    session_count,
    supervision_card,
    supervision_status,
    visit_record,
)
from reports.submission import submission_status, submitted_table
from screening.meeting import meeting_data
from screening.returns import VillageReturn, filed_returns, month_due_now, return_statuses, submit_return
from screening.visits import VisitFigures, visit_figures
from workflow.errors import InvalidData
from workflow.models import AssessmentScheme
from workflow.permissions import (
    COUNTY_AND_TOWNSHIPS,
    filing_villages,
    may_file_returns,
    may_review,
    reviewed_units,
)

from . import report_serializers as rs
from .serializers import ErrorSerializer

MAX_ID = 2**63 - 1
READ_ERRORS = {400: ErrorSerializer, 403: ErrorSerializer, 404: ErrorSerializer}
# The ledger page's units: a county, a township or a village.
LEDGER_LEVELS = (OrgUnit.Level.COUNTY, OrgUnit.Level.TOWNSHIP, OrgUnit.Level.VILLAGE)


class FilesReturns(BasePermission):
    """The returns page's door (may_file_returns): a village's workers, a township's officers."""

    message = gettext_lazy("Only the village's workers and the township's officers file its screening return.")

    def has_permission(self, request: Any, view: Any) -> bool:
        return may_file_returns(request.user)


class Reviews(BasePermission):
    """The door of the figures' pages (may_review): officers, supervisors and viewers."""

    message = gettext_lazy("Only the officers, supervisors and viewers of a township or county read its figures.")

    def has_permission(self, request: Any, view: Any) -> bool:
        return may_review(request.user)


def invalid(name: str, message: str) -> InvalidData:
    return InvalidData({name: [message]}, {name: name})


def param_id(request: Request, name: str) -> int | None:
    """A unit's id from the query string: None when not given; ASCII digits the database
    can hold, or a 400."""
    text = request.query_params.get(name, "")
    if text == "":
        return None
    if not (text.isascii() and text.isdigit()) or int(text) > MAX_ID:
        raise invalid(name, _("Give a unit by its id, a whole number."))
    return int(text)


def unit_in_reach(request: Request, levels: tuple[str, ...], name: str = "unit") -> OrgUnit:
    """The unit the query names among those the person reviews at these levels (the page's
    choice: workflow.permissions.reviewed_units); without one, the first of them. 404 for
    a unit out of reach, which is not told apart from one that does not exist."""
    pk = param_id(request, name)
    units = reviewed_units(request.user, levels)
    unit = units.first() if pk is None else units.filter(pk=pk).first()
    if unit is None:
        raise NotFound(_("No such unit within your reach."))
    return unit


def period_param(request: Request, name: str = "period", *, months_only: bool = False) -> Period:
    """The period the query names (YYYY-MM, YYYY-H1/H2 or YYYY); by default last month,
    as on the pages."""
    try:
        period = parse_period(request.query_params.get(name) or f"{last_month():%Y-%m}")
    except BadPeriod as error:
        raise invalid(name, str(error)) from None
    if months_only and not period.is_month:
        raise invalid(name, _("Give a month, for example 2026-05."))
    return period


def unit_ref(unit: OrgUnit) -> dict[str, Any]:
    return {"id": unit.pk, "code": unit.code, "name": unit.name, "level": unit.level}


def visit_counts(figures: VisitFigures | None) -> dict[str, int]:
    figures = figures or VisitFigures()
    return {"visits": figures.visits, "raised": figures.raised}


# ---------------------------------------------------------------------------------------
# Screening returns (排查表): the returns page's list and form.


def return_rows(user: Any, villages: list[OrgUnit], month: Any) -> list[dict[str, Any]]:
    """Each village's return for `month` as the returns page shows it: status, what the
    filed return holds as `user` may read it, the month's household visits."""
    statuses = return_statuses(villages, month)
    sheets = filed_returns([s.return_id for s in statuses if s.return_id], user)
    visits = visit_figures(villages, month)
    return [village_return(s, sheets.get(s.return_id), visits.get(s.village.pk), month) for s in statuses]


def village_return(state: VillageReturn, sheet: Any, visits: VisitFigures | None, month: Any) -> dict[str, Any]:
    filed = None
    if sheet is not None:
        r = sheet.filed
        filed = {"id": r.pk, "nil": r.is_nil, "signed_off_by": r.signed_off_by, "note": r.note,
                 "submitted_by": r.submitted_by.username if r.submitted_by else None,
                 "submitted_at": r.submitted_at, "hidden": sheet.hidden,
                 "items": [{"case_id": i.case_id, "number": i.case.number, "title": i.case.title, "note": i.note}
                           for i in sheet.items]}
    return {"village": unit_ref(state.village), "month": f"{month:%Y-%m}", "status": state.status,
            "is_late": state.is_late, "due_at": state.due_at, "submitted_at": state.submitted_at,
            "filed": filed, "visits": visit_counts(visits)}


FOUND_FIELDS = frozenset(rs.FoundDisputeSerializer().fields) - {"parties"}


def service_items(items: list[dict[str, Any]], raw: list[Any]) -> list[dict[str, Any]]:
    """The items as screening.returns.submit_return takes them. A found dispute's fields go
    to the intake form as sent (it reads them as the page's form does); it is a dispute."""
    out: list[dict[str, Any]] = []
    for item, sent in zip(items, raw, strict=True):
        note = {"note": item["note"]} if "note" in item else {}
        if "report" not in item:
            # Without a case too: the service names what is missing.
            out.append({"case": item.get("case"), **note})
            continue
        # Only the fields a found dispute has: its village, source and kind are the return's.
        report = {name: value for name, value in sent["report"].items() if name in FOUND_FIELDS}
        found = {"report": {"data": {**report, "kind": Case.Kind.DISPUTE}, "parties": sent["report"]["parties"]},
                 **note}
        if "case" in item:
            found["case"] = item["case"]  # both: the service refuses the item
        if "found_at" in item:
            found["found_at"] = item["found_at"]
        out.append(found)
    return out


class ReturnsView(APIView):
    """The villages' monthly screening returns (排查表), as on the returns page."""

    permission_classes = [IsAuthenticated, FilesReturns]

    @extend_schema(
        operation_id="returns_list",
        parameters=[OpenApiParameter("month", str, description="YYYY-MM; by default the month due now.")],
        responses={200: rs.ReturnListSerializer, **READ_ERRORS},
    )
    def get(self, request: Request) -> Response:
        """Each village whose return the caller files, with its return for the month: filed
        (what it lists), nil, missing (past due) or pending (not yet due)."""
        villages = list(filing_villages(request.user))
        text = request.query_params.get("month")
        try:
            month = parse_month(text) if text else month_due_now(villages)
        except BadPeriod as error:
            raise invalid("month", str(error)) from None
        return Response(rs.ReturnListSerializer(
            {"month": f"{month:%Y-%m}", "villages": return_rows(request.user, villages, month)}).data)

    @extend_schema(
        operation_id="returns_create",
        request=rs.ReturnCreateSerializer,
        responses={201: rs.VillageReturnSerializer, **READ_ERRORS},
    )
    def post(self, request: Request) -> Response:
        """File a village's return for a month: the disputes found (cases of the village
        registered in the month, or disputes registered with the return), or a nil report.
        Refused (nothing written): not the caller's village (403), the month not over or
        closed, a second return, a nil report with items (400)."""
        shape = rs.ReturnCreateSerializer(data=request.data)
        shape.is_valid(raise_exception=True)
        data = shape.validated_data
        # What may be listed, and when a found dispute was found, is the service's to check.
        filed = submit_return(
            actor=request.user, village=data["village"], month=data["month"], nil=data["nil"],
            items=service_items(data["items"], shape.initial_data.get("items") or []),
            signed_off_by=data["signed_off_by"], note=data["note"])
        [row] = return_rows(request.user, [filed.village], filed.month)
        return Response(rs.VillageReturnSerializer(row).data, status=status.HTTP_201_CREATED)


# ---------------------------------------------------------------------------------------
# Ledgers (台账), a page at a time: keyset pagination, each page one query for its rows
# (and one for their parties), whatever the page's place in a county's year.


@dataclass
class Ledger:
    selection: Selection  # the ledger's rows, as the xlsx lists them (reports.ledgers.SELECTIONS)
    shape: Callable[[list[dict[str, Any]]], list[dict[str, Any]]]


def party_list(parties: list[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"role": role, "name": name} for role, name in parties]


def dispute_shape(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    parties = parties_of([r["pk"] for r in rows])
    out = []
    for r in rows:
        outcome, summary = resolution(r)
        out.append({
            "case_id": r["pk"], "number": r["number"], "reported_at": r["reported_at"], "village": r["village__name"],
            "title": r["title"], "category": r["category"], "source": r["source"],
            "parties": party_list(parties[r["pk"]]), "people_involved": r["people_involved"], "amount": r["amount"],
            "risk": r["risk"], "is_group": r["is_group"], "is_legacy": r["is_legacy"], "summary": r["summary"],
            "responsible_unit": r["responsible_unit__name"], "lead_department": r["lead_department__name"],
            "assignee": person(r["assignee__first_name"], r["assignee__username"]), "accepted_at": r["accepted_at"],
            "stage": r["stage"], "resolved_at": r["resolved_at"], "outcome": outcome, "outcome_summary": summary,
            "closed_at": r["closed_at"], "closure": r["closure"], "satisfaction": r["satisfaction"],
        })
    return out


def mediation_shape(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    parties = parties_of([r["pk"] for r in rows])
    out = []
    for r in rows:
        mine = parties[r["pk"]]
        out.append({
            "case_id": r["pk"], "number": r["number"], "accepted_at": r["accepted_at"],
            "mediation_started_at": r["mediation_started"], "applicants": applicants(mine),
            "respondents": names(mine, Party.PartyRole.RESPONDENT), "category": r["category"],
            "source": r["source"], "summary": r["summary"],
            "mediator": person(r["assignee__first_name"], r["assignee__username"]), "sessions": session_count(r),
            "result": mediation_result(r), "agreement": agreement(r), "resolved_at": r["resolved_at"],
            "registered_by": person(r["reporter__first_name"], r["reporter__username"]),
        })
    return out


def petition_shape(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    parties = parties_of([r["pk"] for r in rows])
    out = []
    for r in rows:
        outcome, summary = resolution(r)
        out.append({
            "case_id": r["pk"], "number": r["number"], "reported_at": r["reported_at"],
            "petitioners": names(parties[r["pk"]], Party.PartyRole.PETITIONER), "source": r["source"],
            "petition_type": r["petition_type"], "category": r["category"], "title": r["title"],
            "summary": r["summary"], "people_involved": r["people_involved"], "is_repeat": r["is_repeat"],
            "is_group": r["is_group"], "responsible_unit": r["responsible_unit__name"],
            "lead_department": r["lead_department__name"],
            "assignee": person(r["assignee__first_name"], r["assignee__username"]), "accepted_at": r["accepted_at"],
            "handling_due_at": r["handling_due"], "outcome": outcome, "outcome_summary": summary,
            "closed_at": r["closed_at"], "satisfaction": r["satisfaction"], "stage": r["stage"],
        })
    return out


def supervision_shape(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{
        "order_id": r["pk"], "case_id": r["case_id"], "number": r["case__number"], "title": r["case__title"],
        "village": r["case__village__name"], "issued_at": r["issued_at"],
        "issued_by": person(r["issued_by__first_name"], r["issued_by__username"]),
        "instructions": r["instructions"], "due_at": r["deadline__due_at"], "replied_at": r["replied_at"],
        "replied_by": person(r["replied_by__first_name"], r["replied_by__username"]), "reply": r["reply"],
        "closed_at": r["closed_at"], "status": supervision_status(r), "card": supervision_card(r),
    } for r in rows]


def follow_up_shape(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    parties = parties_of([r["case_id"] for r in rows])
    out = []
    for r in rows:
        record, satisfaction = visit_record(r)
        out.append({
            "event_id": r["pk"], "case_id": r["case_id"], "number": r["case__number"], "title": r["case__title"],
            "village": r["case__village__name"], "parties": party_list(parties[r["case_id"]]),
            "resolved_at": r["case__resolved_at"], "visited_at": r["at"],
            "visited_by": person(r["actor__first_name"], r["actor__username"]), "record": record,
            "satisfaction": satisfaction,
        })
    return out


LEDGERS = {
    "disputes": Ledger(SELECTIONS["disputes"], dispute_shape),
    "mediation": Ledger(SELECTIONS["mediation"], mediation_shape),
    "petitions": Ledger(SELECTIONS["petitions"], petition_shape),
    "supervision": Ledger(SELECTIONS["supervision"], supervision_shape),
    "follow_up": Ledger(SELECTIONS["follow_up"], follow_up_shape),
}
PAGE_SIZE, MAX_PAGE_SIZE = 100, 500


def encode_cursor(key: datetime, pk: int, seq: int) -> str:
    text = json.dumps([key.astimezone(UTC).isoformat(), pk, seq], separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(text: str) -> tuple[datetime, int, int]:
    """Where the page before ended: its last row's key and id, and the rows so far."""
    try:
        key, pk, seq = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        moment = datetime.fromisoformat(key)
        if moment.tzinfo is None or not 1 < moment.year < 9999:
            raise ValueError(key)
        if not all(isinstance(n, int) and not isinstance(n, bool) and 0 <= n <= MAX_ID for n in (pk, seq)):
            raise ValueError(pk)
        return moment.astimezone(UTC), pk, seq
    except (ValueError, TypeError, binascii.Error, UnicodeError, OverflowError):
        raise invalid("cursor", _("This is not a cursor this list gave; start again from its first page.")) from None


def page_size(request: Request) -> int:
    text = request.query_params.get("page_size", "")
    if text == "":
        return PAGE_SIZE
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= MAX_PAGE_SIZE:
        raise invalid("page_size", _("Give a page size from 1 to %(max)d.") % {"max": MAX_PAGE_SIZE})
    return int(text)


LEDGER_PAGE = PolymorphicProxySerializer(
    component_name="LedgerPage", serializers=rs.LEDGER_PAGES, resource_type_field_name="kind")


class LedgerView(APIView):
    """A ledger's rows (台账), as the ledger page writes them into its xlsx."""

    permission_classes = [IsAuthenticated, Reviews]

    @extend_schema(
        operation_id="ledgers_retrieve",
        parameters=[
            OpenApiParameter("kind", str, OpenApiParameter.PATH, enum=list(LEDGERS)),
            OpenApiParameter("unit", int, description="A county, township or village the caller reviews; "
                                                      "by default the first."),
            OpenApiParameter("period", str, description="YYYY-MM, YYYY-H1/H2 or YYYY; by default last month."),
            OpenApiParameter("cursor", str, description="From `next`: where the page before ended."),
            OpenApiParameter("page_size", int, description=f"1–{MAX_PAGE_SIZE}, {PAGE_SIZE} by default."),
        ],
        responses={200: LEDGER_PAGE, **READ_ERRORS},
    )
    def get(self, request: Request, kind: str) -> Response:
        """One page of a ledger of a unit (with everything beneath it) for a period: the
        rows in the ledger's order, each with its 序号 in the whole ledger; `next` until
        the last page."""
        ledger = LEDGERS.get(kind)
        if ledger is None:
            raise NotFound(_("There is no ledger called “%(kind)s”; the ledgers are: %(kinds)s.")
                           % {"kind": kind[:40], "kinds": ", ".join(LEDGERS)})
        unit = unit_in_reach(request, LEDGER_LEVELS)
        period = period_param(request)
        size = page_size(request)
        rows, key_name = ledger.selection(unit, period, request.user), ledger.selection.key
        seq = 0
        if request.query_params.get("cursor"):
            key, pk, seq = decode_cursor(request.query_params["cursor"])
            rows = rows.filter(Q(**{f"{key_name}__gt": key}) | Q(**{key_name: key, "pk__gt": pk}))
        found = list(rows[:size + 1])
        page, more = found[:size], len(found) > size
        results = ledger.shape(page)
        for n, row in enumerate(results, start=seq + 1):
            row["seq"] = n
        following = None
        if more:
            last = page[-1]
            following = replace_query_param(request.build_absolute_uri(), "cursor",
                                            encode_cursor(last[key_name], last["pk"], seq + len(page)))
        body = {"kind": kind, "title": TITLES[kind], "unit": unit_ref(unit), "period": period.label,
                "next": following, "results": results}
        return Response(rs.LEDGER_PAGES[kind](body).data)


# ---------------------------------------------------------------------------------------
# The monthly table, the assessment, the meeting.


def monthly_row(row: Any) -> dict[str, Any]:
    return {"category": row.category, "label": row.label, "found": row.found, "handled": row.handled,
            "succeeded": row.succeeded, "handled_rate": row.handled_rate, "success_rate": row.success_rate,
            "major": row.major, "bands": list(row.bands), "found_ytd": row.found_ytd,
            "handled_ytd": row.handled_ytd, "succeeded_ytd": row.succeeded_ytd}


class MonthlyTableView(APIView):
    """The 矛盾纠纷排查情况表, as the ledger page shows it, and its submission upward (报送)."""

    permission_classes = [IsAuthenticated, Reviews]

    @extend_schema(
        parameters=[
            OpenApiParameter("unit", int, description="A county, township or village the caller reviews; "
                                                      "by default the first."),
            OpenApiParameter("period", str, description="YYYY-MM, YYYY-H1/H2 or YYYY; by default last month."),
        ],
        responses={200: rs.MonthlyTableSerializer, **READ_ERRORS},
    )
    def get(self, request: Request) -> Response:
        """The table's rows (one per category, then the total); for a month of a township or
        a county, each township's table as submitted, late or missing, and for a township's
        submitted table, the figures that moved since."""
        unit = unit_in_reach(request, LEDGER_LEVELS)
        period = period_param(request)
        submissions, moved = [], []
        if period.is_month and unit.level in COUNTY_AND_TOWNSHIPS:
            for got in submission_status(unit, period.first):
                report = got.report
                submissions.append({
                    "township": unit_ref(got.township), "status": got.status, "due_at": got.due_at, "card": got.card,
                    "submitted_at": report.submitted_at if report else None,
                    "submitted_by": report.submitted_by.username if report and report.submitted_by else None,
                    "signed_by": report.signed_by if report else None})
            if unit.level == OrgUnit.Level.TOWNSHIP and submissions and submissions[0]["submitted_at"]:
                sent = submitted_table(unit, period.first)
                moved = [{"label": d.label, "column": d.column, "submitted": d.submitted, "now": d.now}
                         for d in (sent.differences if sent else [])]
        body = {"unit": unit_ref(unit), "period": period.label, "bands": [label for label, _low, _high in BANDS],
                "rows": [monthly_row(r) for r in monthly_table(unit, period, request.user)],
                "submissions": submissions, "differences": moved}
        return Response(rs.MonthlyTableSerializer(body).data)


class AssessmentView(APIView):
    """考核: each unit's figures and score, as the assessment page shows them."""

    permission_classes = [IsAuthenticated, Reviews]

    @extend_schema(
        parameters=[
            OpenApiParameter("unit", int, description="A county or township the caller reviews; by default the first."),
            OpenApiParameter("period", str, description="YYYY-MM, YYYY-H1/H2 or YYYY; by default last month."),
        ],
        responses={200: rs.AssessmentSerializer, **READ_ERRORS},
    )
    def get(self, request: Request) -> Response:
        """The villages of a township (or the townships of a county) scored on the scheme's
        indicators, best first, with the last places warned and the vetoes."""
        unit = unit_in_reach(request, COUNTY_AND_TOWNSHIPS)
        period = period_param(request)
        try:
            # As the page asks: the figures without the ids of every case behind them.
            result = assess(unit, period, cases=False)
        except AssessmentScheme.DoesNotExist:
            raise NotFound(_("No assessment scheme is configured.")) from None
        scheme = result.scheme
        body = {
            "unit": unit_ref(unit), "period": period.label, "at": result.at,
            "scheme": {"code": scheme.code, "name": scheme.name, "scale": scheme.scale,
                       "warned_places": scheme.warned_places},
            "units": [{
                "unit": unit_ref(s.unit), "rank": s.rank, "score": s.score, "points": s.points, "vetoed": s.vetoed,
                "warned": s.warned,
                "figures": [{"indicator": f.indicator, "label": f.label, "method": f.method, "weight": f.weight,
                             "points": f.points, "per_case": f.per_case, "rate": f.rate, "counted": f.counted,
                             "hits": f.hits, "applicable": f.applicable, "formula": f.formula}
                            for f in s.figures],
            } for s in result.units],
        }
        return Response(rs.AssessmentSerializer(body).data)


class MeetingView(APIView):
    """排查例会: the figures of a township's monthly meeting."""

    permission_classes = [IsAuthenticated, Reviews]

    @extend_schema(
        parameters=[
            OpenApiParameter("township", int, description="A township the caller reviews; by default the first."),
            OpenApiParameter("month", str, description="YYYY-MM; by default last month."),
        ],
        responses={200: rs.MeetingSerializer, **READ_ERRORS},
    )
    def get(self, request: Request) -> Response:
        """The month's cases counted by section, village and category, the villages' returns
        and the concealment suspects, as the meeting page counts them for the caller."""
        township = unit_in_reach(request, (OrgUnit.Level.TOWNSHIP,), "township")
        month = period_param(request, "month", months_only=True).first
        data = meeting_data(township, month, user=request.user)
        decisions = [s.decision for group in data.suspects for s in group.suspects]
        body = {
            "township": unit_ref(township), "month": f"{month:%Y-%m}", "at": data.at, "totals": data.totals,
            "groups": [{"village_id": g.village_id, "village": g.village, "category": g.category,
                        "counts": g.counts} for g in data.groups],
            "return_totals": data.return_totals,
            "returns": [{"village": unit_ref(r.village), "status": r.status, "is_late": r.is_late,
                         "due_at": r.due_at, "submitted_at": r.submitted_at,
                         "visits": visit_counts(data.visits.get(r.village.pk))} for r in data.returns],
            "suspects": {"total": len(decisions), "confirmed": decisions.count("confirmed"),
                         "dismissed": decisions.count("dismissed"), "undecided": decisions.count("")},
            "awaiting": len(data.awaiting), "visit_totals": visit_counts(data.visit_totals),
        }
        return Response(rs.MeetingSerializer(body).data)

