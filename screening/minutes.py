"""The minutes of a township's monthly 排查 meeting (排查例会纪要; docs/reporting.md).

One set per township and month (cases.MeetingMinutes): when and where the meeting was
held, who chaired and attended it, what it agreed (会议议定事项), the month's figures and
the decisions taken at it. Written and edited by the township's officers and supervisors
(workflow.permissions.may_keep_minutes) until closed; closing freezes the figures and the
decisions as they stand then, and closed minutes never change.

The decisions of the meeting, by one rule: the events of MEETING_EVENTS — the concealment
decisions and the operations assign, supervision order and escalate, each recorded on its
case through the transition service — on the township's cases (Case.objects.within), taken
from the time the meeting was held until the minutes are closed (until now while they are
open). What was decided on those cases at that time is what the meeting decided: nothing
has to be linked by hand, and nothing taken before the meeting is claimed for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cases.forms import ReadableText
from cases.models import Case, CaseEvent, MeetingMinutes, OrgUnit
from cases.periods import BadPeriod, month_period, parse_month
from workflow import services
from workflow.errors import ConditionUnmet, InvalidData, NotPermitted
from workflow.permissions import may_keep_minutes

from .meeting import meeting_data
from .returns import CONFIRMED, DISMISSED

MEETING_EVENTS = ("assign", "supervise", "escalate", CONFIRMED, DISMISSED)
# A meeting's decisions listed in its minutes; a township's month is tens, not thousands.
MAX_DECISIONS = 500


class MinutesForm(ReadableText, forms.Form):
    """What the minutes say, checked as every text that reaches the database is."""

    held_at = forms.DateTimeField(label=gettext_lazy("held at"),
                                  widget=forms.DateTimeInput(format="%Y-%m-%dT%H:%M",
                                                             attrs={"type": "datetime-local"}))
    place = forms.CharField(label=gettext_lazy("place"), max_length=200)
    chair = forms.CharField(label=gettext_lazy("chair (主持人)"), max_length=64)
    attendees = forms.CharField(label=gettext_lazy("attendees"), max_length=2000,
                                widget=forms.Textarea(attrs={"rows": 2}))
    resolutions = forms.CharField(label=gettext_lazy("matters agreed (会议议定事项)"), max_length=8000,
                                  required=False, widget=forms.Textarea(attrs={"rows": 4}))


def minutes_of(township: OrgUnit, month: date | str) -> MeetingMinutes | None:
    return MeetingMinutes.objects.filter(township=township, month=parse_month(month)).first()


def _checked(actor: Any, township: OrgUnit, month: date | str) -> tuple[date, dict[str, str]]:
    labels = {"month": _("month"), "township": _("township")}
    if township.level != OrgUnit.Level.TOWNSHIP:
        raise InvalidData({"township": [_("Minutes are kept for a township's meeting.")]}, labels)
    try:
        month = parse_month(month)
    except BadPeriod as error:
        raise InvalidData({"month": [str(error)]}, labels) from None
    if not may_keep_minutes(actor, township):
        raise NotPermitted(_("Keep the meeting's minutes"),
                           _("Only the township's officers and supervisors keep the minutes of its meeting."))
    return month, labels


def closed_refusal(minutes: MeetingMinutes) -> ConditionUnmet:
    return ConditionUnmet(_("The minutes of %(township)s for %(month)s are closed and no longer change.")
                          % {"township": minutes.township.name, "month": f"{minutes.month:%Y-%m}"})


def save_minutes(*, actor: Any, township: OrgUnit, month: date | str, data: dict[str, Any],
                 at: datetime | None = None) -> MeetingMinutes:
    """Write (or rewrite) the minutes of `township`'s meeting for `month` from `data` (the
    fields of MinutesForm). Raises NotPermitted, InvalidData (nothing written) or
    ConditionUnmet when the minutes are closed."""
    at = at or timezone.now()
    month, labels = _checked(actor, township, month)
    form = MinutesForm(data)
    if not form.is_valid():
        raise services.invalid(form)
    values = form.cleaned_data
    period = month_period(month)
    if values["held_at"] < period.start:
        raise InvalidData({"held_at": [_("The meeting on %(month)s cannot be held before the month begins.")
                                       % {"month": period.label}]}, {**labels, "held_at": _("held at")})
    fields = {name: values[name] for name in ("held_at", "place", "chair", "attendees", "resolutions")}
    with transaction.atomic():
        # The row is the lock: an edit and a closing at once queue here, and the edit then
        # finds the minutes closed.
        minutes = MeetingMinutes.objects.select_for_update().filter(township=township, month=month).first()
        if minutes is None:
            try:
                with transaction.atomic():
                    return MeetingMinutes.objects.create(township=township, month=month, written_by=actor,
                                                         updated_at=at, **fields)
            except IntegrityError:
                minutes = MeetingMinutes.objects.select_for_update().get(township=township, month=month)
        if minutes.closed_at is not None:
            raise closed_refusal(minutes)
        for name, value in fields.items():
            setattr(minutes, name, value)
        minutes.written_by, minutes.updated_at = actor, at
        minutes.save()
    return minutes


def close_minutes(*, actor: Any, township: OrgUnit, month: date | str, at: datetime | None = None) -> MeetingMinutes:
    """Close (sign off) the minutes: the figures and the decisions are written into them as
    they stand at `at`, and nothing of them changes afterwards. Raises NotPermitted,
    ConditionUnmet (no minutes written, closed already, or the meeting not yet held)."""
    at = at or timezone.now()
    month, _labels = _checked(actor, township, month)
    with transaction.atomic():
        minutes = MeetingMinutes.objects.select_for_update().filter(township=township, month=month).first()
        if minutes is None:
            raise ConditionUnmet(_("Write the minutes before closing them."))
        if minutes.closed_at is not None:
            raise closed_refusal(minutes)
        if minutes.held_at > at:
            raise ConditionUnmet(_("The meeting has not been held yet: its minutes cannot be closed."))
        minutes.figures = live_figures(township, month, at)
        minutes.decisions = decisions_between(township, minutes.held_at, at)
        minutes.closed_at, minutes.closed_by = at, actor
        minutes.save()
    return minutes


def live_figures(township: OrgUnit, month: date, at: datetime) -> dict[str, Any]:
    """The month's figures the meeting reviews (screening.meeting.meeting_data, every case
    of the township): its totals and its returns."""
    data = meeting_data(township, month, at=at)
    return {"totals": dict(data.totals), "returns": dict(data.return_totals)}


def decisions_between(township: OrgUnit, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """The decisions (MEETING_EVENTS) on `township`'s cases from `start` until `end`, in
    order, as JSON the minutes keep: case, kind, when, who and what (reason, instructions,
    the person assigned)."""
    events = list(
        CaseEvent.objects.filter(kind__in=MEETING_EVENTS, at__gte=start, at__lt=end,
                                 case__in=Case.objects.within(township))
        .select_related("case", "actor").order_by("at", "pk")[:MAX_DECISIONS]
    )
    assigned = {e.data.get("assignee") for e in events if e.kind == "assign"}
    people = {u.pk: u.get_full_name() or u.username
              for u in get_user_model().objects.filter(pk__in=[pk for pk in assigned if isinstance(pk, int)])}
    out = []
    for event in events:
        data = event.data or {}
        detail = data.get("reason") or data.get("instructions") or ""
        if event.kind == "assign":
            detail = people.get(data.get("assignee"), "")
        out.append({
            "case": event.case_id, "number": event.case.number, "title": event.case.title, "kind": event.kind,
            "at": event.at.isoformat(), "by": (event.actor.get_full_name() or event.actor.username)
            if event.actor else "", "detail": str(detail)[:500],
        })
    return out


@dataclass
class MinutesContent:
    """What the minutes show: the stored text, and the figures and decisions — frozen once
    closed, else as they stand now."""

    minutes: MeetingMinutes
    figures: dict[str, Any]
    decisions: list[dict[str, Any]]

    @property
    def closed(self) -> bool:
        return self.minutes.closed_at is not None


def minutes_content(minutes: MeetingMinutes, at: datetime | None = None, *,
                    figures: dict[str, Any] | None = None) -> MinutesContent:
    """The minutes as shown and printed. `figures`: live_figures of the same moment, when
    the caller has the meeting's data already (the meeting page)."""
    if minutes.closed_at is not None:
        figures, decisions = minutes.figures, minutes.decisions
    else:
        at = at or timezone.now()
        figures = figures if figures is not None else live_figures(minutes.township, minutes.month, at)
        decisions = decisions_between(minutes.township, minutes.held_at, at)
    return MinutesContent(minutes, figures, [{**d, "when": datetime.fromisoformat(d["at"])} for d in decisions])
