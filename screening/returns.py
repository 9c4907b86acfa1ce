"""Monthly screening returns (排查表) and concealment suspects (瞒报); the README's Pages section shows them.

A village files one return per calendar month: the disputes it found, each linked to a
case or registered through the return (source 排查发现), or a nil report (零报告). The
return for month M

- may be filed once M is over (it speaks for the whole month);
- is due, and swept, on its own clock (workflow.return_clocks): the 25th of M+1 by default;
- is accepted late until the end of M+1 (or its due time, if later): then the month is
  closed, settled for the meeting, the ledgers and the assessment, and a return still
  missing stays missing (漏报).

Concealment suspects: cases of village X that reached us through another channel (110,
12345, a visit, a letter, the county, a court, a department …) in month M but are not on
X's return for M (or X filed nil, or nothing). Only once X's return for M is settled
(yields_suspects): filed, or past its due time without one; before that X may still list
the case. An officer of the township confirms or dismisses each, alone or several at once
(decide_suspects); the decision is an event on the case, and confirmed ones count in the
assessment.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from django import forms
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cases.forms import ReadableText
from cases.models import Case, CaseEvent, Membership, OrgUnit, ScreeningItem, ScreeningReturn, Source
from cases.periods import BadPeriod, Period, month_period, parse_month
from workflow import services
from workflow.errors import CaseNotFound, CaseOperationError, ConditionUnmet, InvalidData, NotPermitted
from workflow.models import ReturnDeadline
from workflow.permissions import DECIDE_CONCEALMENT, listable_on_return, may_file_return, visible_to
from workflow.return_clocks import due_month, return_clock

# Every channel but screening: a case that came this way was not found by the village.
OTHER_CHANNELS = [s for s in Source.values if s != Source.SCREENING]
CONFIRMED, DISMISSED = "concealment_confirmed", "concealment_dismissed"


# ---------------------------------------------------------------------------------------
# Filing a return.


def submit_return(*, actor: Any, village: OrgUnit | int, month: date | str, items: list[dict[str, Any]] | None = None,
                  nil: bool = False, signed_off_by: str = "", note: str = "",
                  at: datetime | None = None) -> ScreeningReturn:
    """File village's return for `month`: `items` lists the disputes found, each
    {"case": id} for a registered case or {"report": {"data": {...}, "parties": [...]},
    "found_at": datetime?} to register one (source 排查发现, this village); or nil=True.

    Raises InvalidData (nothing changed) for a second return for the month, a month not
    over or already closed, a return both nil and with items or neither, a case the actor
    may not list (workflow.permissions.listable_on_return: the village's, registered in the
    month, seen by the actor; whoever calls, the page and the API alike), a dispute found
    outside the month, an item naming both a case and a dispute or neither; NotPermitted
    when the actor may not file for the village."""
    at = at or timezone.now()
    items = list(items or [])
    labels = {"month": _("month"), "items": _("items"), "signed_off_by": _("signed off by"),
              "village": _("village")}
    try:
        village = village if isinstance(village, OrgUnit) else OrgUnit.objects.get(pk=village)
    except (OrgUnit.DoesNotExist, ValueError, TypeError):
        raise InvalidData({"village": [_("There is no such village.")]}, labels) from None
    if village.level != OrgUnit.Level.VILLAGE:
        raise InvalidData({"village": [_("Returns are filed by villages and communities.")]}, labels)
    try:
        month = parse_month(month)
    except BadPeriod as error:
        raise InvalidData({"month": [str(error)]}, labels) from None
    if not may_file_return(actor, village):
        raise NotPermitted(_("File screening return"),
                           _("Only the village's workers and the township's officers file its screening return."))
    errors: dict[str, list[str]] = {}
    if not signed_off_by.strip():
        errors["signed_off_by"] = [_("The village head signs the return off: give the name.")]
    if nil and items:
        errors["items"] = [_("A nil report lists no disputes.")]
    elif not nil and not items:
        errors["items"] = [_("List the disputes found, or file a nil report.")]
    period = month_period(month)
    if at < period.end:
        errors.setdefault("month", []).append(
            _("The return for %(month)s can be filed once the month is over.") % {"month": period.label})

    with transaction.atomic():
        ReturnDeadline.objects.bulk_create([c for c in [return_clock(village, month)] if c], ignore_conflicts=True)
        # The clock row is the lock: two people filing for the same village and month
        # queue here, and the second finds the first one's return.
        clock = ReturnDeadline.objects.select_for_update().filter(village=village, month=month).first()
        if clock is not None and at >= clock.closes_at:
            closes = timezone.localtime(clock.closes_at, ZoneInfo(settings.TIME_ZONE))
            errors.setdefault("month", []).append(
                _("The month %(month)s closed on %(closed)s; its return can no longer be filed.")
                % {"month": period.label, "closed": f"{closes:%Y-%m-%d %H:%M}"})
        if ScreeningReturn.objects.filter(village=village, month=month).exists():
            errors.setdefault("month", []).append(
                _("%(village)s has already filed its return for %(month)s.")
                % {"village": village.name, "month": period.label})
        linked = _linked_cases(items, listable_on_return(actor, village, period), village, period, errors)
        _check_found(items, period, errors)
        if errors:
            raise InvalidData(errors, labels)
        found = _register_found(items, village, actor, at, errors, labels)
        if errors:
            raise InvalidData(errors, labels)  # the cases registered above roll back
        try:
            with transaction.atomic():
                filed = ScreeningReturn.objects.create(
                    village=village, month=month, is_nil=nil, note=note, signed_off_by=signed_off_by.strip(),
                    submitted_by=actor, submitted_at=at, is_late=clock is not None and at > clock.due_at,
                )
        except IntegrityError:
            raise InvalidData({"month": [_("%(village)s has already filed its return for %(month)s.")
                                         % {"village": village.name, "month": period.label}]}, labels) from None
        ScreeningItem.objects.bulk_create(
            ScreeningItem(screening_return=filed, case=case, note=str(item.get("note", ""))[:500])
            for item, case in [*linked, *found]
        )
        if clock is not None:
            ReturnDeadline.objects.filter(pk=clock.pk).update(met_at=at, next_action_at=None)
    return filed


def _case_id(item: dict[str, Any]) -> int | None:
    # An id no database integer holds is no case (SQLite answers such a number with an OverflowError).
    try:
        pk = int(item.get("case"))
    except (TypeError, ValueError):
        return None
    return pk if 0 < pk < 2**63 else 0


def _linked_cases(items: list[dict[str, Any]], listable: QuerySet[Case], village: OrgUnit, period: Period,
                  errors: dict[str, list[str]]) -> list[tuple[dict[str, Any], Case]]:
    """The registered cases the items list, each one the filer may list (`listable`); any
    other is refused alike, so a case the filer may not see is not told from none."""
    wanted = [(i, item, _case_id(item)) for i, item in enumerate(items, start=1) if "report" not in item]
    cases = listable.in_bulk([pk for _i, _item, pk in wanted if pk])
    seen: set[int] = set()
    out = []
    for i, item, pk in wanted:
        case = cases.get(pk) if pk else None
        if pk is None:
            errors[f"items[{i}].case" if "case" in item else f"items[{i}]"] = [
                _("Give a case, or the dispute to register.")]
        elif case is None:
            errors[f"items[{i}].case"] = [_("There is no such case in %(village)s registered in %(month)s.")
                                          % {"village": village.name, "month": period.label}]
        elif case.pk in seen:
            errors[f"items[{i}].case"] = [_("This case is listed twice.")]
        else:
            seen.add(case.pk)
            out.append((item, case))
    return out


def _check_found(items: list[dict[str, Any]], period: Period, errors: dict[str, list[str]]) -> None:
    """An item registering a dispute names no case too, and the dispute was found in the
    return's month."""
    for i, item in enumerate(items, start=1):
        if "report" not in item:
            continue
        found_at = item.get("found_at")
        if "case" in item:
            errors[f"items[{i}]"] = [_("Give a case, or the dispute to register.")]
        elif isinstance(found_at, datetime) and (timezone.is_naive(found_at)
                                                 or not period.start <= found_at < period.end):
            errors[f"items[{i}].found_at"] = [_("A dispute on the return for %(month)s was found in that month.")
                                              % {"month": period.label}]


def _register_found(items: list[dict[str, Any]], village: OrgUnit, actor: Any, at: datetime,
                    errors: dict[str, list[str]], labels: dict[str, str]) -> list[tuple[dict[str, Any], Case]]:
    out = []
    for i, item in enumerate(items, start=1):
        if "report" not in item:
            continue
        new = item["report"] or {}
        data = {**(new.get("data") or {}), "village": village.pk, "source": Source.SCREENING}
        try:
            # The village signs the whole return: what it found is registered as it is.
            case = services.report_case(actor=actor, data=data, parties=new.get("parties") or [],
                                        at=item.get("found_at") or at, repeats_seen=True)
        except InvalidData as error:
            for key, messages in error.errors.items():
                errors[f"items[{i}].{key}"] = messages
                labels[f"items[{i}].{key}"] = _("item %(n)s %(field)s") % {
                    "n": i, "field": error.details["labels"].get(key, key)}
            continue
        except NotPermitted as error:
            errors[f"items[{i}]"] = [error.message]
            continue
        out.append((item, case))
    return out


# ---------------------------------------------------------------------------------------
# What is filed, late and missing.


def villages_of(units: Any) -> QuerySet[OrgUnit]:
    """The villages at or beneath the given unit(s), or within a user's reach (the
    units they belong to and, for a superuser, all)."""
    if units is None:
        return OrgUnit.objects.none()
    if hasattr(units, "memberships") and not isinstance(units, OrgUnit):
        user = units
        if user.is_superuser:
            return OrgUnit.objects.filter(level=OrgUnit.Level.VILLAGE)
        units = [m.unit for m in Membership.objects.filter(user=user).select_related("unit")]
    if isinstance(units, OrgUnit):
        units = [units]
    reach = Q(pk__in=[])
    for unit in units:
        reach |= Q(path__startswith=unit.path)
    return OrgUnit.objects.filter(reach, level=OrgUnit.Level.VILLAGE)


def overdue_returns(user_or_units: Any, at: datetime | None = None) -> QuerySet[ReturnDeadline]:
    """For the supervision board: returns past their due time and still not filed, of
    the villages under the given unit(s) or within a user's reach; oldest first."""
    at = at or timezone.now()
    return (
        ReturnDeadline.objects.filter(village__in=villages_of(user_or_units), met_at__isnull=True, due_at__lte=at)
        .select_related("village", "village__parent")
        .order_by("due_at", "village__path")
    )


@dataclass
class VillageReturn:
    village: OrgUnit
    # "filed", "nil", "missing" (past due, not filed) or "pending" (not yet due)
    status: str
    is_late: bool
    return_id: int | None
    due_at: datetime | None
    submitted_at: datetime | None
    items: list[int] = field(default_factory=list)


def return_statuses(units: Any, month: date | str, at: datetime | None = None) -> list[VillageReturn]:
    """Each village's return for `month`: filed (with its case ids), nil, missing or
    not yet due."""
    at = at or timezone.now()
    month = parse_month(month)
    villages = list(villages_of(units).order_by("path"))
    returns = {r.village_id: r for r in ScreeningReturn.objects.filter(village__in=villages, month=month)}
    clocks = {c.village_id: c for c in ReturnDeadline.objects.filter(village__in=villages, month=month)}
    items: dict[int, list[int]] = defaultdict(list)
    for return_id, case_id in ScreeningItem.objects.filter(screening_return__in=returns.values()).values_list(
            "screening_return_id", "case_id"):
        items[return_id].append(case_id)
    out = []
    for village in villages:
        filed, clock = returns.get(village.pk), clocks.get(village.pk) or return_clock(village, month)
        due_at = clock.due_at if clock else None
        if filed is not None:
            status = "nil" if filed.is_nil else "filed"
            out.append(VillageReturn(village, status, filed.is_late, filed.pk, due_at, filed.submitted_at,
                                     sorted(items[filed.pk])))
        else:
            status = "missing" if due_at is not None and at > due_at else "pending"
            out.append(VillageReturn(village, status, False, None, due_at, None))
    return out


def yields_suspects(status: VillageReturn) -> bool:
    """Whether a village's month has concealment suspects yet: once its return is settled,
    filed (a return is never amended, so what it left out stays left out) or past its due
    time without one. Before that the village may still list the case, and suspecting it
    would be wrong (a village under no return rule has no due time: only what it filed
    counts). The one rule the listing, the decision and the pages ask."""
    return status.status in ("filed", "nil", "missing")


def month_due_now(villages: Any, at: datetime | None = None) -> date:
    """The month a returns page opens on: the earliest month one of these villages still
    owes and may still file (its clock open, unmet and not closed), else the month whose
    returns are being collected now (workflow.return_clocks.due_month)."""
    at = at or timezone.now()
    this_month = parse_month(timezone.localtime(at, ZoneInfo(settings.TIME_ZONE)).date())
    filed = ScreeningReturn.objects.filter(village=OuterRef("village"), month=OuterRef("month"))
    owed = (
        ReturnDeadline.objects.filter(village__in=villages, met_at__isnull=True, closes_at__gt=at, month__lt=this_month)
        # A clock opened after its village filed (a rule added later) is owed nothing.
        .filter(~Exists(filed))
        .order_by("month").values_list("month", flat=True).first()
    )
    return owed or due_month(at)


@dataclass
class FiledReturn:
    """A return as filed, for a reader: the cases listed that the reader may see, and how
    many more it lists that they may not (an accusation is kept from the unit it accuses)."""

    filed: ScreeningReturn
    items: list[ScreeningItem]
    hidden: int


def filed_returns(return_ids: list[int], reader: Any) -> dict[int, FiledReturn]:
    """What these returns hold, by id, as `reader` may read it: who filed and signed, when,
    the note and the cases listed. Three queries for any number of returns and items."""
    if not return_ids:
        return {}
    returns = ScreeningReturn.objects.filter(pk__in=return_ids).select_related("submitted_by")
    items = list(ScreeningItem.objects.filter(screening_return_id__in=return_ids).select_related("case")
                 .order_by("case__reported_at", "pk"))
    seen = set(visible_to(reader).filter(pk__in=[i.case_id for i in items]).values_list("pk", flat=True))
    out = {r.pk: FiledReturn(r, [], 0) for r in returns}
    for item in items:
        sheet = out[item.screening_return_id]
        if item.case_id in seen:
            sheet.items.append(item)
        else:
            sheet.hidden += 1
    return out


# ---------------------------------------------------------------------------------------
# Concealment suspects.


@dataclass
class Suspect:
    case_id: int
    number: str
    title: str
    kind: str
    source: str
    risk: str
    reported_at: datetime
    # "", "confirmed" or "dismissed"; with who decided, when, and why
    decision: str = ""
    decided_by: int | None = None
    decided_at: datetime | None = None
    reason: str = ""


@dataclass
class VillageSuspects:
    village: OrgUnit
    month: date
    return_status: str  # filed / nil / missing / pending
    return_id: int | None
    suspects: list[Suspect]

    @property
    def case_ids(self) -> list[int]:
        return [s.case_id for s in self.suspects]


def _suspect_cases(village_ids: list[int], month: date) -> QuerySet[Case]:
    period = month_period(month)
    listed = ScreeningItem.objects.filter(screening_return__month=month).values("case_id")
    return (
        Case.objects.filter(village_id__in=village_ids, reported_at__gte=period.start, reported_at__lt=period.end,
                            source__in=OTHER_CHANNELS)
        # 信访工作条例 第三十条: an accusation is kept from the unit it accuses, so its
        # village cannot be expected to list it.
        .filter(accused_unit__isnull=True)
        .exclude(pk__in=listed)
    )


def concealment_suspects(units: Any, month: date | str, *, at: datetime | None = None,
                         statuses: list[VillageReturn] | None = None) -> list[VillageSuspects]:
    """Per village (only those with suspects), the cases of `month` that came through
    another channel and are not on the village's return, with any decision taken; none
    for a village whose return is not settled yet (yields_suspects). `statuses`: the
    villages' return_statuses(units, month, at), when the caller has them already."""
    month = parse_month(month)
    if statuses is None:
        statuses = return_statuses(units, month, at)
    settled = {s.village.pk: s for s in statuses if yields_suspects(s)}
    cases = list(_suspect_cases(list(settled), month).order_by("reported_at", "pk"))
    decisions = _decisions([c.pk for c in cases], month)
    by_village: dict[int, list[Suspect]] = defaultdict(list)
    for case in cases:
        decided = decisions.get(case.pk)
        by_village[case.village_id].append(Suspect(
            case.pk, case.number, case.title, case.kind, case.source, case.risk, case.reported_at,
            *(("confirmed" if decided.kind == CONFIRMED else "dismissed", decided.actor_id, decided.at,
               decided.data.get("reason", "")) if decided else ()),
        ))
    return [
        VillageSuspects(settled[v].village, month, settled[v].status, settled[v].return_id, by_village[v])
        for v in settled if by_village.get(v)
    ]


def _decisions(case_ids: list[int], month: date) -> dict[int, CaseEvent]:
    events = CaseEvent.objects.filter(case_id__in=case_ids, kind__in=[CONFIRMED, DISMISSED],
                                      data__month=f"{month:%Y-%m}").order_by("at", "pk")
    return {e.case_id: e for e in events}


class DecisionForm(ReadableText, forms.Form):
    """The reason of a concealment decision, checked as the text of every operation is."""

    reason = forms.CharField(label=gettext_lazy("reason"), max_length=4000,
                             error_messages={"required": gettext_lazy("Give the reason for the decision.")})


def decide_suspect(case: Case | int, *, actor: Any, confirm: bool, reason: str,
                   at: datetime | None = None) -> CaseEvent:
    """Confirm (瞒报 established) or dismiss a concealment suspect: an event on the case,
    with the actor and the reason, written by workflow.services.record. The stage does not
    change. Raises InvalidData, NotPermitted, ConditionUnmet (not a suspect, its village's
    return not due yet, or decided already) or CaseNotFound."""
    at = at or timezone.now()
    form = DecisionForm({"reason": reason})
    if not form.is_valid():
        raise services.invalid(form)
    data: dict[str, Any] = {"reason": form.cleaned_data["reason"]}

    def still_a_suspect(case: Case) -> None:
        # Under the case's lock: two officers deciding at once get one decision.
        if case.village_id is None:
            raise ConditionUnmet(_("This case is not a concealment suspect."))
        month = parse_month(timezone.localtime(case.reported_at, ZoneInfo(settings.TIME_ZONE)).date())
        if not _suspect_cases([case.village_id], month).filter(pk=case.pk).exists():
            raise ConditionUnmet(_("This case is not a concealment suspect."))
        [status] = return_statuses(case.village, month, at)
        if not yields_suspects(status):
            raise ConditionUnmet(
                _("The return of %(village)s for %(month)s is not due yet: the village may still list this case.")
                % {"village": case.village.name, "month": f"{month:%Y-%m}"})
        if case.pk in _decisions([case.pk], month):
            raise ConditionUnmet(_("This concealment suspect has been decided already."))
        data.update(month=f"{month:%Y-%m}", village=case.village_id, **{"return": status.return_id},
                    return_status=status.status)

    return services.record(case, CONFIRMED if confirm else DISMISSED, actor=actor, permission=DECIDE_CONCEALMENT,
                           label=_("Decide concealment"),
                           refusal=_("Only the township's officers and supervisors decide on concealment."),
                           data=data, check=still_a_suspect, at=at)


# One meeting's month, ticked at once; more is no meeting's worth and only holds locks longer.
MAX_DECIDED_AT_ONCE = 500


@dataclass
class SuspectDecision:
    """One ticked suspect of a bulk decision: the event recorded, or why it was refused.
    `number` is empty for a case the actor may not see: its existence is not confirmed."""

    case_id: int
    number: str
    event: CaseEvent | None = None
    refusal: str = ""


def decide_suspects(case_ids: list[int], *, actor: Any, confirm: bool, reason: str,
                    at: datetime | None = None) -> list[SuspectDecision]:
    """Confirm or dismiss several suspects with one reason, in the order given.

    Per row, not all-or-nothing: each suspect is decided through decide_suspect(), exactly
    as if decided alone (its own lock and transaction, permission check and event), so a
    refusal (not permitted, no such case, not a suspect, not due yet, decided already)
    refuses that suspect only, and the others are recorded. A meeting decides case by case:
    one case moved meanwhile must not undo the decisions on the others. What holds for all
    is checked first and refuses all, nothing recorded: no suspect ticked, too many, a
    reason that is missing or unreadable (InvalidData)."""
    ids = list(dict.fromkeys(case_ids))
    labels = {"cases": _("case"), "reason": _("reason")}
    if not ids:
        raise InvalidData({"cases": [_("Tick the suspects to decide.")]}, labels)
    if len(ids) > MAX_DECIDED_AT_ONCE:
        raise InvalidData({"cases": [_("Decide at most %(max)d suspects at once.") % {"max": MAX_DECIDED_AT_ONCE}]},
                          labels)
    form = DecisionForm({"reason": reason})
    if not form.is_valid():
        raise services.invalid(form)
    # An id no database integer holds is no case (SQLite answers such a number with an OverflowError).
    real = {pk for pk in ids if isinstance(pk, int) and 0 < pk < 2**63}
    numbers = dict((visible_to(actor) if actor is not None else Case.objects.all())
                   .filter(pk__in=real).values_list("pk", "number"))
    out = []
    for pk in ids:
        if pk not in real:
            out.append(SuspectDecision(pk, "", refusal=CaseNotFound().message))
            continue
        try:
            event = decide_suspect(pk, actor=actor, confirm=confirm, reason=reason, at=at)
        except CaseOperationError as refusal:
            out.append(SuspectDecision(pk, numbers.get(pk, ""), refusal=refusal.message))
        else:
            out.append(SuspectDecision(pk, numbers.get(pk, ""), event=event))
    return out


def confirmed_concealments(units: Any, months: list[date]) -> QuerySet[CaseEvent]:
    """The confirmed concealments of the villages under `units` for these months."""
    return CaseEvent.objects.filter(
        kind=CONFIRMED, case__village__in=villages_of(units), data__month__in=[f"{m:%Y-%m}" for m in months]
    )


def return_counts(statuses: list[VillageReturn]) -> dict[str, int]:
    """How many villages filed, filed nil, are missing or not yet due, and how many filed late."""
    counts = Counter(s.status for s in statuses)
    return {**{k: counts[k] for k in ("filed", "nil", "missing", "pending")},
            "late": sum(s.is_late for s in statuses)}
