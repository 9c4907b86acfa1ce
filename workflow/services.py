"""The one way a case changes: registering it, and every operation of the state machine.

Pages, the API, the admin, imports, the seed and the sweep call these functions and
nothing else writes a case's stage. Each call is one transaction: lock the case row, check
stage, permission and data, apply, save, write the audit event, move the clocks, create
the notifications; the push to browsers runs after commit.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.core.files import File
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from cases import audit
from cases.forms import MAX_PARTIES, IntakeForm, PartyForm
from cases.models import Case, CaseEvent, CaseSerial, Party, Role, stage_writes_allowed
from cases.wording import series
from notifications.models import Notification
from notifications.services import notify, settle

from . import deadlines
from .errors import CaseNotFound, ConditionUnmet, InvalidData, NotPermitted, UnknownOperation, WrongStage
from .flow import CaseFlow, members, operations
from .fsm import Transition
from .permissions import VIEW, can_report, can_settle_on_the_spot, grants_for, may_hold, told, visible_to


def transition(case: Case | int, name: str, *, actor: Any, data: dict[str, Any] | None = None,
               at: datetime | None = None, files: Any = None) -> Case:
    """Apply operation `name` to a case on behalf of `actor` (None: the system).

    Raises a CaseOperationError — CaseNotFound (also for a case the actor may not see),
    UnknownOperation, WrongStage, NotPermitted, ConditionUnmet or InvalidData — and then
    nothing has changed.
    """
    method = operations().get(name)
    if method is None:
        raise UnknownOperation(name)
    at = at or timezone.now()
    case_id = case.pk if isinstance(case, Case) else case
    with transaction.atomic():
        case = locked(case_id)
        flow = CaseFlow(case, actor=actor, at=at)
        if VIEW not in flow.grants(actor):
            raise CaseNotFound
        from_stage = case.stage
        step = transition_from(method, from_stage)
        if step is None:
            label = next(iter(method.get_transitions())).label
            raise WrongStage(str(label), from_stage, case.get_stage_display())
        if not step.has_perm(flow, actor):
            raise NotPermitted(str(step.label))
        unmet = step.get_unmet_condition(flow)
        if unmet is not None:
            raise ConditionUnmet(getattr(unmet[1], "message", "") or _("This operation is not possible now."))
        form = step.custom["form"](data or {}, files=files, case=case, actor=actor)
        if not form.is_valid():
            raise invalid(form)
        before = field_values(case)
        getattr(flow, name)(form.cleaned_data)
        event_data = {**as_json(form.cleaned_data), **flow.event_data}
        if case.stage != from_stage:
            stopped, opened = deadlines.move(case, from_stage, case.stage, at)
            if from_stage == Case.Stage.REPORTED:
                # Taken up: the news of the report has done its work for every officer.
                settle(case, REPORT_NEWS, at)
            event_data.update(deadlines_stopped=stopped, deadlines_opened=[d.kind for d in opened])
        event = CaseEvent(case=case, kind=name, from_stage=from_stage, to_stage=case.stage, actor=actor, at=at,
                          data=event_data)
        # The event is chained to the head on the row locked above, and the new head is
        # saved with the operation's changes: one UPDATE of the case, one INSERT of the event.
        audit.append(case, event)
        with stage_writes_allowed():
            case.save(update_fields=[f for f, v in field_values(case).items() if before[f] != v])
        event.save()
        for notice in flow.notices:
            notify(told(case, notice.users), kind=name, level=notice.level, text=notice.text, case=case, at=at)
    return case


def locked(case_id: Any) -> Case:
    """The case row, locked until the transaction ends. The lock serialises concurrent
    writes on one case: whoever comes second re-reads what the first one left and is
    refused cleanly. CaseNotFound for a case that does not exist."""
    try:
        return (
            Case.objects.select_for_update(of=("self",))
            .select_related("responsible_unit", "village")
            .get(pk=case_id)
        )
    except (Case.DoesNotExist, ValueError, TypeError):
        raise CaseNotFound from None


def record(case: Case | int, kind: str, *, actor: Any, permission: str, label: str, refusal: str,
           data: dict[str, Any], check: Callable[[Case], None] | None = None, at: datetime | None = None) -> CaseEvent:
    """An event on a case that keeps its stage and is no operation of the machine (a
    concealment decision), written the way transition() writes one: under the case's
    lock, for an actor who sees the case (else CaseNotFound) and holds `permission` on it
    by the rule of reach (else NotPermitted: `label`, `refusal`). `check(case)` runs under the
    lock and raises ConditionUnmet to refuse; then nothing is written."""
    at = at or timezone.now()
    with transaction.atomic():
        case = locked(case.pk if isinstance(case, Case) else case)
        grants = grants_for(actor, case)
        if VIEW not in grants:
            raise CaseNotFound
        if permission not in grants:
            raise NotPermitted(label, refusal)
        if check is not None:
            check(case)
        return CaseEvent.objects.create(case=case, kind=kind, from_stage=case.stage, to_stage=case.stage,
                                        actor=actor, at=at, data=data)


def invalid(form: Any) -> InvalidData:
    errors = {field: [e["message"] for e in es] for field, es in form.errors.get_json_data().items()}
    labels = {name: str(field.label or name) for name, field in form.fields.items()}
    return InvalidData(errors, labels)


def field_values(case: Case) -> dict[str, Any]:
    return {f.attname: getattr(case, f.attname) for f in Case._meta.concrete_fields}


def transition_from(method: Any, stage: str) -> Transition | None:
    """The transition of `method` that leaves `stage`, if any."""
    steps = list(method.get_transitions())
    return next((t for t in steps if t.source == stage), None) or next(
        (t for t in steps if t.source is CaseFlow.stage.ANY), None
    )


def available_operations(case: Case, user: Any, *, grants: frozenset[str] | None = None) -> list[Transition]:
    """The operations `user` may take on `case` now: what the pages show as buttons.
    `grants`: what `user` holds on `case`, when the caller has just read it (grants_for)."""
    flow = CaseFlow(case, actor=user, grants=grants)
    return CaseFlow.stage.get_available_transitions(flow, case.stage, user)


# A case closed within this many days still counts as recent for the repeat check.
RECENT_DAYS = 365


def possible_repeats(actor: Any, id_numbers: list[str], at: datetime | None = None) -> Any:
    """Cases `actor` may see with a party of one of these ID numbers, open or closed
    within RECENT_DAYS: what to look at before registering a repeat petition (重复信访)."""
    if not id_numbers:
        return Case.objects.none()
    since = (at or timezone.now()) - timedelta(days=RECENT_DAYS)
    return (
        visible_to(actor)
        .filter(Q(closed_at__isnull=True) | Q(closed_at__gte=since))
        .filter(pk__in=Party.objects.filter(id_number__in=id_numbers).values("case_id"))
        .select_related("village", "responsible_unit")
        .order_by("-reported_at")
    )


def report_case(*, actor: Any, data: dict[str, Any], parties: list[dict[str, Any]],
                at: datetime | None = None, repeats_seen: bool = False) -> Case:
    """Register a new case (登记) in stage reported, with its parties, number, audit
    event and first deadlines. Raises InvalidData or NotPermitted; nothing is saved then.

    A party who is a party of another case the actor can see, open or recent, may be
    bringing the same matter again (重复信访): the registration is refused, naming those
    cases, until the actor says they have looked (`repeats_seen`) — on the intake page
    and through the API alike."""
    at = at or timezone.now()
    form = IntakeForm(data, at=at)
    party_forms = [PartyForm(p) for p in parties]
    errors, labels = {}, {}
    if not form.is_valid():
        problem = invalid(form)
        errors, labels = problem.errors, problem.details["labels"]
    if not parties:
        errors["parties"] = [_("A case has at least one party.")]
    if len(parties) > MAX_PARTIES:
        errors["parties"] = [_("A case names at most %(count)d parties; name the representatives of a group "
                               "and count the others in people involved.") % {"count": MAX_PARTIES}]
        party_forms = []
    for i, party_form in enumerate(party_forms, start=1):
        if not party_form.is_valid():
            problem = invalid(party_form)
            for field, messages in problem.errors.items():
                errors[f"parties[{i}].{field}"] = messages
                labels[f"parties[{i}].{field}"] = _("party %(n)s %(field)s") % {
                    "n": i, "field": problem.details["labels"].get(field, field)}
    if errors:
        raise InvalidData(errors, labels)
    case: Case = form.save(commit=False)
    if not may_hold(case.responsible_unit, case.kind):
        field = "village_mediation" if form.cleaned_data.get("village_mediation") else "responsible_unit"
        raise InvalidData({field: [_("A village's committee mediates disputes; a petition is handled by the township "
                                     "or a unit above it (信访工作条例 第二条、第十七条).")]},
                          {field: str(form.fields[field].label)})
    if not can_report(actor, case):
        raise NotPermitted(_("Register"), _("You may not register cases for this village or unit."))
    if not repeats_seen:
        ids = sorted({f.cleaned_data["id_number"] for f in party_forms if f.cleaned_data.get("id_number")})
        numbers = list(possible_repeats(actor, ids, at).values_list("number", flat=True)[:10])
        if numbers:
            check = (_("check whether this is a repeat petition (重复信访), then confirm.") if case.kind == Case.Kind.PETITION
                     else _("check whether this dispute was registered before, then confirm."))
            raise InvalidData(
                {"repeats_seen": [_("A party of this case is a party of %(numbers)s, open or closed within a "
                                    "year: %(check)s") % {"numbers": series(numbers), "check": check}]},
                {"repeats_seen": _("repeats checked")})
    with transaction.atomic():
        case.registered_unit = case.responsible_unit
        case.year = timezone.localtime(at).year
        case.serial = next_serial(case.registered_unit_id, case.year)
        case.number = f"{case.registered_unit.code}-{case.year}-{case.serial:05d}"
        case.reported_at = at
        case.reporter = actor
        case.save()
        Party.objects.bulk_create(Party(case=case, **f.cleaned_data) for f in party_forms)
        opened = deadlines.move(case, "", case.stage, at)[1]
        CaseEvent.objects.create(
            case=case,
            kind="report",
            to_stage=case.stage,
            actor=actor,
            at=at,
            data={**as_json(form.cleaned_data), "parties": len(party_forms),
                  "deadlines_opened": [d.kind for d in opened]},
        )
        # The acceptance (or a petition's registration) clock runs from now
        # (docs/workflow.md: Deadlines): the officers of the responsible unit hear of it at once.
        officers = members(case.responsible_unit, Role.OFFICER)
        if actor is not None:
            officers = officers.exclude(pk=actor.pk)
        notify(told(case, officers), kind=REPORT_NEWS, level=Notification.Level.ASSIGNMENT, case=case, at=at,
               text=_("New case %(number)s “%(title)s” from %(unit)s awaits acceptance.") % {
                   "number": case.number, "title": case.title,
                   "unit": case.village.name if case.village_id else case.responsible_unit.name})
    return case


# The notification kind of a new report, settled once the case leaves reported.
REPORT_NEWS = "report"

# The steps of a settlement on the spot, and the fields of its data each one reads.
ON_THE_SPOT = "on_the_spot"
SETTLEMENT_FIELDS = ("lead_department", "outcome", "summary", "agreement")


def settle_on_the_spot(*, actor: Any, data: dict[str, Any], parties: list[dict[str, Any]],
                       settlement: dict[str, Any], files: Any = None, at: datetime | None = None,
                       repeats_seen: bool = False) -> Case:
    """当场调解、即调即结: a dispute mediated and settled the moment it is brought, registered
    with its agreement in one step. It goes the ordinary road, in one transaction: the
    report (report_case), then accept (the actor carries it, `settlement["lead_department"]`
    leads it), start_mediation and resolve (`outcome`, `summary`, the signed `agreement`
    in `files` for a written one) through transition(), each with its permission check,
    audit event and clocks; so the follow-up visit's clock (回访) opens as for any resolved
    case, and the case counts as 排查, 调处 and 成功 (workflow.counts). The actor must take
    every step (permissions.can_settle_on_the_spot). Raises InvalidData (a settlement's
    fields named `on_the_spot.<field>`) or NotPermitted; then nothing is saved."""
    at = at or timezone.now()
    with transaction.atomic():
        case = report_case(actor=actor, data=data, parties=parties, at=at, repeats_seen=repeats_seen)
        if case.kind != Case.Kind.DISPUTE:
            raise InvalidData({ON_THE_SPOT: [_("Only a dispute is settled on the spot by mediation; a petition "
                                               "is accepted and answered.")]}, {ON_THE_SPOT: _("settled on the spot")})
        if not can_settle_on_the_spot(actor, case):
            raise NotPermitted(_("Settle on the spot"), _(
                "Whoever settles a dispute on the spot registers, accepts and mediates it: an officer of its "
                "responsible unit (a township's case officer, a village's mediation committee director)."))
        steps = (
            ("accept", {"assignee": actor.pk, "lead_department": settlement.get("lead_department")}, None),
            # Mediated as it was told: the facts registered are what the mediation found.
            ("start_mediation", {"findings": case.summary}, None),
            ("resolve", {"outcome": settlement.get("outcome"), "summary": settlement.get("summary")}, files),
        )
        for name, step_data, step_files in steps:
            try:
                transition(case, name, actor=actor, data=step_data, at=at, files=step_files)
            except InvalidData as problem:
                labels = problem.details.get("labels") or {}
                raise InvalidData({f"{ON_THE_SPOT}.{field}": messages for field, messages in problem.errors.items()},
                                  {f"{ON_THE_SPOT}.{field}": label for field, label in labels.items()}) from None
        # The actor handed the case to themself: no news to them.
        Notification.objects.filter(case=case, user=actor, read_at__isnull=True).update(read_at=at)
    case.refresh_from_db()
    return case


def next_serial(unit_id: int, year: int) -> int:
    CaseSerial.objects.bulk_create([CaseSerial(unit_id=unit_id, year=year)], ignore_conflicts=True)
    serial = CaseSerial.objects.select_for_update().get(unit_id=unit_id, year=year)
    serial.last += 1
    serial.save(update_fields=["last"])
    return serial.last


def as_json(data: dict[str, Any]) -> dict[str, Any]:
    """Cleaned form data as the audit event stores it: objects by id."""

    def plain(value: Any) -> Any:
        if isinstance(value, models.Model):
            return value.pk
        if isinstance(value, (datetime, date)):
            return value.isoformat()
        if isinstance(value, Decimal):
            return str(value)
        if isinstance(value, File):  # an upload: the event names it, the document row holds it
            return value.name
        if isinstance(value, (list, tuple, models.QuerySet)):
            return [plain(v) for v in value]
        return value

    return {key: plain(value) for key, value in data.items()}
