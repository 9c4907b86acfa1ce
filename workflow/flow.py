"""The case state machine (docs/workflow.md), declared once with viewflow.fsm.

CaseFlow wraps a Case for one operation by one actor. Each transition names the
permission it needs and the form of the data it requires; its body changes the case and
records what else must happen. It runs only inside workflow.services.transition(), which
locks the row, checks stage, permission and data, saves, writes the audit event and moves
the clocks. Operations that keep the stage (assign, note, extension …) are transitions
without a target, so the machine lists everything a user may do at a stage.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cases.models import (
    Case,
    CaseDocument,
    CaseEvent,
    CaseGroupObjectPermission,
    CaseUserObjectPermission,
    OrgUnit,
    Role,
)

from . import forms
from .calendar import get_calendar
from .deadlines import (
    PLAN,
    has_written_agreement,
    open_clocks,
    review_request_closes,
    schedule,
    stop_clocks,
    term_ends,
)
from .errors import ConditionUnmet, NotPermitted
from .fsm import State
from .models import (
    Deadline,
    DeadlineKind,
    Extension,
    FollowUpVisit,
    JudicialConfirmation,
    Performance,
    SupervisionOrder,
)
from .permissions import ASSIGNEE_GRANTS, CO_DEPARTMENT_GRANTS, LEAD_DEPARTMENT_GRANTS, grants_for

S = Case.Stage
OPEN = [S.REPORTED, S.INVESTIGATING, S.MEDIATING, S.RESOLVED, S.ESCALATED]
ACTIVE = [S.INVESTIGATING, S.MEDIATING]


def needs(permission: str) -> Callable[[CaseFlow, Any], bool]:
    def check(flow: CaseFlow, user: Any) -> bool:
        return permission in flow.grants(user)

    check.permission = permission  # type: ignore[attr-defined]
    return check


def has_unit_above(flow: CaseFlow) -> State.CONDITION:
    return State.CONDITION(
        flow.case.responsible_unit.parent_id is not None, _("The responsible unit has no unit above it.")
    )


def open_supervision_orders(case: Case) -> list[SupervisionOrder]:
    """The case's supervision orders not closed yet (督办中), replied to or not. Read through
    the case's orders, so a list that prefetched them (the board) asks this of every row
    without a query per row."""
    return [order for order in case.supervision_orders.all() if order.closed_at is None]


def no_open_supervision_order(flow: CaseFlow) -> State.CONDITION:
    # One order at a time: a second would set the unit two answers and two clocks for the
    # same matter. The supervisor closes the open one (read its reply) before issuing another.
    return State.CONDITION(
        not open_supervision_orders(flow.case),
        _("This case already has an open supervision order: close it before issuing another."),
    )


def may_be_led(flow: CaseFlow) -> State.CONDITION:
    # 领导包案 is for the cases that need a leader's weight: major risk, or a historical
    # legacy (历史遗留, the case's flag).
    return State.CONDITION(
        flow.case.risk == Case.Risk.MAJOR or flow.case.is_legacy,
        _("Only a case of major risk or a historical legacy (历史遗留) is taken in a leader's personal charge."),
    )


def not_led(flow: CaseFlow) -> State.CONDITION:
    # One leader at a time, who answers for the case; another takes charge once released.
    return State.CONDITION(flow.case.leader_id is None,
                           _("A leader has already taken charge of this case: release it first."))


def led(flow: CaseFlow) -> State.CONDITION:
    return State.CONDITION(flow.case.leader_id is not None, _("No leader has taken charge of this case."))


# 履行 and 司法确认 (issue 18): what the agreement of a resolved case has come to. Each reads
# the records since the case's resolution, so a case reopened and resolved again starts
# afresh with its new agreement.


def performance_of(case: Case) -> str:
    """The performance of the case's agreement as the newest visit since its resolution
    found it (a Performance value), or "" when no visit has found any."""
    if case.resolved_at is None:
        return ""
    visit = case.follow_up_visits.filter(visited_at__gte=case.resolved_at).order_by("-visited_at", "-pk").first()
    return visit.performance if visit else ""


def confirmations_of(case: Case) -> Any:
    """The judicial confirmation applications of the case's current agreement."""
    if case.resolved_at is None:
        return JudicialConfirmation.objects.none()
    return case.judicial_confirmations.filter(applied_at__gte=case.resolved_at)


def pending_confirmation(case: Case) -> JudicialConfirmation | None:
    return confirmations_of(case).filter(result="").order_by("-applied_at", "-pk").first()


def resolved_by_agreement(flow: CaseFlow) -> State.CONDITION:
    # A petition is answered (信访工作条例 第三十二条), not settled by an agreement to perform.
    return State.CONDITION(str((flow.case.outcome or {}).get("kind", "")).startswith("agreement"),
                           _("Only a case resolved by a mediation agreement has an agreement to perform."))


def written_agreement(flow: CaseFlow) -> State.CONDITION:
    # 人民调解法 第三十三条: the parties apply with the written agreement (第二十九条).
    return State.CONDITION(has_written_agreement(flow.case),
                           _("Only a written mediation agreement is brought to the court for judicial confirmation."))


def not_applied_for(flow: CaseFlow) -> State.CONDITION:
    # One application per agreement: a rejected one is mediated again (reopen) or sued on.
    return State.CONDITION(not confirmations_of(flow.case).exists(),
                           _("The judicial confirmation of this agreement has already been applied for."))


def confirmation_awaiting_ruling(flow: CaseFlow) -> State.CONDITION:
    return State.CONDITION(pending_confirmation(flow.case) is not None,
                           _("No application for judicial confirmation awaits a ruling."))


def no_confirmation_awaiting_ruling(flow: CaseFlow) -> State.CONDITION:
    # The ruling decides whether the agreement stands: the case is closed after it.
    return State.CONDITION(pending_confirmation(flow.case) is None,
                           _("The court has not ruled on the judicial confirmation yet: record its ruling first."))


def agreement_failed(flow: CaseFlow) -> State.CONDITION:
    """A resolved case is referred only when its agreement failed: a visit found it not
    fully performed, or the court rejected its judicial confirmation. Other stages refer
    as before."""
    case = flow.case
    if case.stage != S.RESOLVED:
        return State.CONDITION(True, "")
    failed = performance_of(case) not in ("", Performance.FULLY) or confirmations_of(case).filter(
        result=JudicialConfirmation.Result.REJECTED).exists()
    return State.CONDITION(failed, _("A resolved case is referred only when its agreement is not performed or its "
                                     "judicial confirmation was rejected: record the visit or the ruling first."))


def has_co_departments(flow: CaseFlow) -> State.CONDITION:
    # 联调: only a case co-handled by some department has one to remove.
    return State.CONDITION(flow.case.co_departments.exists(), _("No department co-handles this case."))


# 复查、复核 and the objection to a routing (issue 18; docs/workflow.md: Petition review).
# 信访工作条例 第三十五条: a petitioner dissatisfied with the answer asks, within 30 日 of
# receiving it, the unit above the one that handled it for a review (复查), answered within
# 30 日; 第三十六条: dissatisfied with that, the unit above the reviewing one for a second
# review (复核), within 30 日 each; after it the same matter on the same facts and reasons
# is not accepted again. 第二十三条: a unit a petition is routed to that finds it not its
# matter objects within 5 工作日, and the routing unit verifies it.

FINAL_REVIEW = 2  # 复核: the last of the reviews (第三十六条)
# The review's moves, which leave even the closed stage (the case page says them under its
# lifecycle drawing rather than drawing them: desk/lifecycle.py).
REVIEW_OPERATIONS = ("request_review", "decide_review")


def local_day(moment: datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d")


def review_may_be_requested(flow: CaseFlow) -> State.CONDITION:
    case = flow.case
    if case.kind != Case.Kind.PETITION:
        return State.CONDITION(False, _("Only a petition's answer is reviewed (复查、复核)."))
    if case.review_level >= FINAL_REVIEW:
        return State.CONDITION(False, _("The second review (复核) of this petition has been given: the same matter on "
                                        "the same facts and reasons is not accepted again (信访工作条例 第三十六条)."))
    if case.resolved_at is None or (case.stage == S.CLOSED and case.closure != Case.Closure.VISITED):
        return State.CONDITION(False, _("Only a petition that has been answered is reviewed."))
    closes = review_request_closes(case)
    if closes is not None and (flow.at or timezone.now()) > closes:
        return State.CONDITION(False, _("The 30 days to ask for a review of the answer of %(answered)s ran out on "
                                        "%(closes)s (信访工作条例 第三十五条、第三十六条).")
                               % {"answered": local_day(case.resolved_at), "closes": local_day(closes)})
    return State.CONDITION(True, "")


def under_review(flow: CaseFlow) -> State.CONDITION:
    return State.CONDITION(flow.case.kind == Case.Kind.PETITION and flow.case.review_level > 0,
                           _("This petition is not under review."))


def not_under_review(flow: CaseFlow) -> State.CONDITION:
    # A petition under review is answered by the review opinion (decide_review).
    return State.CONDITION(flow.case.review_level == 0,
                           _("This petition is under review: give the review opinion instead."))


def last_event(case: Case, kinds: tuple[str, ...]) -> CaseEvent | None:
    return CaseEvent.objects.filter(case=case, kind__in=kinds).order_by("-at", "-pk").first()


def pending_objection(case: Case) -> CaseEvent | None:
    """The objection to the petition's routing that awaits the routing unit's decision."""
    last = last_event(case, ("object_to_routing", "decide_objection"))
    return last if last is not None and last.kind == "object_to_routing" else None


def routed_at(case: Case) -> datetime | None:
    """When the petition reached its lead department: the newest event that routed it."""
    for event in CaseEvent.objects.filter(case=case, kind__in=("accept", "decide_objection")).order_by("-at", "-pk"):
        if event.data.get("lead_department") == case.lead_department_id:
            return event.at
    return None


def objection_may_be_raised(flow: CaseFlow) -> State.CONDITION:
    case = flow.case
    if case.kind != Case.Kind.PETITION or case.lead_department_id is None:
        return State.CONDITION(False, _("Only a petition routed to a department is objected to."))
    if pending_objection(case) is not None:
        return State.CONDITION(False, _("An objection to this routing awaits its decision."))
    since = routed_at(case)
    closes = term_ends(case, DeadlineKind.OBJECTION, since) if since is not None else None
    if closes is not None and (flow.at or timezone.now()) > closes:
        return State.CONDITION(False, _("The 5 working days to object to this routing ran out on %(closes)s "
                                        "(信访工作条例 第二十三条).") % {"closes": local_day(closes)})
    return State.CONDITION(True, "")


def objection_pending(flow: CaseFlow) -> State.CONDITION:
    return State.CONDITION(flow.case.kind == Case.Kind.PETITION and pending_objection(flow.case) is not None,
                           _("No objection to this petition's routing awaits a decision."))


class Notice:
    """A notification the transition asks for; written by the service after the save."""

    def __init__(self, users: Any, level: str, text: str) -> None:
        self.users, self.level, self.text = users, level, text


class CaseFlow:
    stage = State(Case.Stage, default=S.REPORTED)

    def __init__(self, case: Case, *, actor: Any = None, at: datetime | None = None,
                 grants: frozenset[str] | None = None) -> None:
        """`grants`: what `actor` holds on `case`, when the caller has read it (grants_for)."""
        self.case = case
        self.actor = actor
        self.at = at
        self._grants: dict[Any, frozenset[str]] = {}
        if grants is not None:
            self._grants[None if actor is None else actor.pk] = grants
        self.event_data: dict[str, Any] = {}
        self.notices: list[Notice] = []

    @stage.getter()
    def _get_stage(self) -> str:
        return self.case.stage

    @stage.setter()
    def _set_stage(self, value: str) -> None:
        self.case.stage = value

    def grants(self, user: Any) -> frozenset[str]:
        key = None if user is None else user.pk
        if key not in self._grants:
            self._grants[key] = grants_for(user, self.case)
        return self._grants[key]

    # Stage transitions, in the order of docs/workflow.md.

    @stage.transition(
        source=S.REPORTED,
        target=S.INVESTIGATING,
        label=gettext_lazy("Accept"),
        permission=needs("accept_case"),
        custom={"form": forms.AcceptForm},
    )
    def accept(self, data: dict[str, Any]) -> None:
        self._take_up()
        self._route(data["lead_department"])
        self._assign(data["assignee"])

    @stage.transition(
        source=S.REPORTED,
        target=S.CLOSED,
        label=gettext_lazy("Reject"),
        permission=needs("reject_case"),
        custom={"form": forms.ReasonForm},
    )
    def reject(self, data: dict[str, Any]) -> None:
        self._close(Case.Closure.REJECTED)

    @stage.transition(
        source=S.INVESTIGATING,
        target=S.MEDIATING,
        label=gettext_lazy("Start mediation"),
        permission=needs("start_mediation_case"),
        custom={"form": forms.FindingsForm},
    )
    def start_mediation(self, data: dict[str, Any]) -> None:
        pass

    @stage.transition(
        source=ACTIVE,
        target=S.RESOLVED,
        label=gettext_lazy("Resolve"),
        permission=needs("resolve_case"),
        conditions=[not_under_review],
        custom={"form": forms.ResolveForm},
    )
    def resolve(self, data: dict[str, Any]) -> None:
        self.case.outcome = {"kind": data["outcome"], "summary": data["summary"]}
        self.case.resolved_at = self.at
        if data.get("agreement"):
            # Kept with the case, named as the document it is, in the site's language: a
            # title is data, read in the ledgers whatever language the mediator reads.
            with translation.override(settings.LANGUAGE_CODE):
                title = _("Mediation agreement")
            self._keep_document(title, data["agreement"])

    @stage.transition(
        source=[S.REPORTED, S.INVESTIGATING, S.MEDIATING],
        target=S.ESCALATED,
        label=gettext_lazy("Escalate"),
        permission=needs("escalate_case"),
        conditions=[has_unit_above],
        custom={"form": forms.ReasonForm},
    )
    def escalate(self, data: dict[str, Any]) -> None:
        below = self.case.responsible_unit
        above = OrgUnit.objects.get(pk=below.parent_id)
        self.case.responsible_unit = above
        self.event_data.update(from_unit=below.pk, to_unit=above.pk)
        self.notices.append(
            Notice(
                members(above, Role.OFFICER, Role.SUPERVISOR),
                "escalated",
                _("%(unit)s escalated case %(number)s “%(title)s” to your unit: %(reason)s")
                % {"unit": below.name, "number": self.case.number, "title": self.case.title, "reason": data["reason"]},
            )
        )

    @stage.transition(
        source=S.ESCALATED,
        target=S.INVESTIGATING,
        label=gettext_lazy("Take over"),
        permission=needs("take_over_case"),
        custom={"form": forms.AssignForm},
    )
    def take_over(self, data: dict[str, Any]) -> None:
        self._take_up()
        self._assign(data["assignee"])

    @stage.transition(
        source=S.ESCALATED,
        target=S.INVESTIGATING,
        label=gettext_lazy("Send back"),
        permission=needs("send_back_case"),
        custom={"form": forms.InstructionsForm},
    )
    def send_back(self, data: dict[str, Any]) -> None:
        escalation = (
            CaseEvent.objects.filter(case=self.case, kind="escalate", to_stage=S.ESCALATED).order_by("-at", "-pk").first()
        )
        if escalation is None or "from_unit" not in escalation.data:
            raise ConditionUnmet(_("There is no unit below to send this case back to."))
        below = OrgUnit.objects.get(pk=escalation.data["from_unit"])
        self._take_up()
        self.event_data.update(from_unit=self.case.responsible_unit_id, to_unit=below.pk)
        self.case.responsible_unit = below
        self.notices.append(
            Notice(
                self._officers_and_assignee(below),
                "assignment",
                _("Case %(number)s “%(title)s” was sent back to your unit with instructions: %(instructions)s")
                % {"number": self.case.number, "title": self.case.title, "instructions": data["instructions"]},
            )
        )

    @stage.transition(
        # From resolved only when the agreement failed (follow-through, issue 18): not
        # performed, or its judicial confirmation rejected (agreement_failed).
        source=[S.INVESTIGATING, S.MEDIATING, S.ESCALATED, S.RESOLVED],
        target=S.CLOSED,
        label=gettext_lazy("Refer"),
        permission=needs("refer_case"),
        conditions=[agreement_failed],
        custom={"form": forms.ReferForm},
    )
    def refer(self, data: dict[str, Any]) -> None:
        if self.case.resolved_at is not None:
            # Referred from resolved (only a resolved case has a resolution time): the
            # agreement failed and the matter goes to the courts or arbitration, so the
            # case is no longer 成功 (workflow.counts), as when reopened.
            self.event_data["previous_outcome"] = self.case.outcome
            self.case.outcome, self.case.resolved_at = {}, None
        self._close(Case.Closure.REFERRED)

    @stage.transition(
        source=S.RESOLVED,
        target=S.CLOSED,
        label=gettext_lazy("Follow up"),
        permission=needs("follow_up_case"),
        conditions=[no_confirmation_awaiting_ruling],
        custom={"form": forms.FollowUpForm},
    )
    def follow_up(self, data: dict[str, Any]) -> None:
        # The closing visit (issue 18): a dispute's agreement is fully performed, as this
        # visit states it or the last recorded one found it (人民调解法 第三十一条); else the
        # case is reopened or referred, never closed as resolved.
        stated = data.get("performance") or ""
        found = stated or performance_of(self.case)
        if found and found != Performance.FULLY:
            raise ConditionUnmet(
                _("The agreement is not fully performed (%(performance)s): record a visit that finds it performed, "
                  "or reopen the case to mediate again, or refer it.") % {"performance": Performance(found).label})
        if stated:
            FollowUpVisit.objects.create(case=self.case, visited_at=self.at, visited_by=self.actor,
                                         record=data["record"], performance=stated, closing=True)
        self.case.satisfaction = data["satisfaction"]
        self._close(Case.Closure.VISITED)

    @stage.transition(
        source=S.RESOLVED,
        target=S.INVESTIGATING,
        label=gettext_lazy("Reopen"),
        permission=needs("reopen_case"),
        custom={"form": forms.ReasonForm},
    )
    def reopen(self, data: dict[str, Any]) -> None:
        self.event_data["previous_outcome"] = self.case.outcome
        self.case.outcome, self.case.resolved_at = {}, None

    @stage.transition(
        source=OPEN,
        target=S.CLOSED,
        label=gettext_lazy("Withdraw"),
        permission=needs("withdraw_case"),
        custom={"form": forms.ReasonForm},
    )
    def withdraw(self, data: dict[str, Any]) -> None:
        self._close(Case.Closure.WITHDRAWN)

    # Operations that keep the stage.

    @stage.transition(
        source=[S.INVESTIGATING, S.MEDIATING, S.RESOLVED],
        label=gettext_lazy("Assign"),
        permission=needs("assign_case"),
        custom={"form": forms.AssignForm},
    )
    def assign(self, data: dict[str, Any]) -> None:
        self._assign(data["assignee"])

    @stage.transition(
        source=State.ANY, label=gettext_lazy("Add note"), permission=needs("note_case"), custom={"form": forms.NoteForm}
    )
    def note(self, data: dict[str, Any]) -> None:
        pass

    @stage.transition(
        source=State.ANY, label=gettext_lazy("Attach document"), permission=needs("note_case"),
        custom={"form": forms.DocumentForm},
    )
    def attach_document(self, data: dict[str, Any]) -> None:
        self._keep_document(data["title"], data["file"])

    @stage.transition(
        source=ACTIVE,
        label=gettext_lazy("Record mediation session"),
        permission=needs("record_session_case"),
        custom={"form": forms.SessionForm},
    )
    def record_session(self, data: dict[str, Any]) -> None:
        pass

    @stage.transition(
        source=OPEN,
        label=gettext_lazy("Request extension"),
        permission=needs("request_extension"),
        custom={"form": forms.ExtensionRequestForm},
    )
    def request_extension(self, data: dict[str, Any]) -> None:
        if self.actor is None:
            raise NotPermitted(_("Request extension"), _("An extension is requested by a person, not the system."))
        Extension.objects.create(
            deadline=data["deadline"],
            amount=data["amount"],
            reason=data["reason"],
            requested_by=self.actor,
            requested_at=self.at,
        )

    @stage.transition(
        source=OPEN,
        label=gettext_lazy("Decide extension"),
        permission=needs("approve_extension"),
        custom={"form": forms.ExtensionDecisionForm},
    )
    def decide_extension(self, data: dict[str, Any]) -> None:
        deadline = data["deadline"]
        extension = deadline.extension
        if self.actor is None or extension.requested_by_id == self.actor.pk:
            raise NotPermitted(
                _("Decide extension"), _("An extension is decided by someone other than the person who requested it.")
            )
        extension.decided_by, extension.decided_at, extension.approved = self.actor, self.at, data["approve"]
        extension.save()
        if data["approve"]:
            deadline.extended_by = extension.amount
            schedule(deadline, deadline.rule)
            deadline.save()
            self.event_data["due_at"] = deadline.due_at.isoformat()

    @stage.transition(
        source=OPEN,
        label=gettext_lazy("Pause deadline"),
        permission=needs("pause_deadline"),
        custom={"form": forms.PauseForm},
    )
    def pause_deadline(self, data: dict[str, Any]) -> None:
        deadline = data["deadline"]
        deadline.paused_at, deadline.next_action_at = self.at, None  # a paused clock is not swept
        deadline.save(update_fields=["paused_at", "next_action_at"])

    @stage.transition(
        source=OPEN,
        label=gettext_lazy("Resume deadline"),
        permission=needs("pause_deadline"),
        custom={"form": forms.ResumeForm},
    )
    def resume_deadline(self, data: dict[str, Any]) -> None:
        deadline = data["deadline"]
        elapsed = get_calendar().elapsed(deadline.paused_at, self.at, deadline.unit)
        deadline.excluded += elapsed
        deadline.paused_at = None
        schedule(deadline, deadline.rule)
        deadline.save()
        self.event_data.update(excluded=elapsed, due_at=deadline.due_at.isoformat())

    # Corrections, 包案 (docs/workflow.md: Corrections, 包案 and recusal).

    @stage.transition(
        source=OPEN,
        label=gettext_lazy("Correct facts"),
        permission=needs("correct_case"),
        custom={"form": forms.CorrectForm},
    )
    def correct(self, data: dict[str, Any]) -> None:
        """Put facts recorded at intake right; the event holds each one's old and new value."""
        raised = data["changes"].get("risk") == Case.Risk.MAJOR
        changes = {}
        for name, new in data["changes"].items():
            changes[name] = {"from": fact_value(getattr(self.case, name)), "to": fact_value(new)}
            setattr(self.case, name, new)
        self.event_data["changes"] = changes
        if raised:
            self._report_major(data["reason"])

    @stage.transition(
        source=OPEN,
        label=gettext_lazy("Take personal charge"),
        permission=needs("take_charge_case"),
        conditions=[may_be_led, not_led],
        custom={"form": forms.ChargeForm},
    )
    def take_charge(self, data: dict[str, Any]) -> None:
        if self.actor is None:
            raise NotPermitted(_("Take personal charge"), _("A case is taken in charge by a leader, in person."))
        self.case.leader = self.actor
        self.event_data["leader"] = self.actor.pk
        self.notices.append(
            Notice(
                self._officers_and_assignee(self.case.responsible_unit).exclude(pk=self.actor.pk),
                "assignment",
                _("%(leader)s has taken personal charge of case %(number)s “%(title)s” (领导包案).")
                % {"leader": self.actor.get_full_name() or self.actor.get_username(), "number": self.case.number,
                   "title": self.case.title},
            )
        )

    @stage.transition(
        source=OPEN,
        label=gettext_lazy("Release personal charge"),
        permission=needs("take_charge_case"),
        conditions=[led],
        custom={"form": forms.ReasonForm},
    )
    def release_charge(self, data: dict[str, Any]) -> None:
        previous = self.case.leader_id
        self.case.leader = None
        self.event_data["previous_leader"] = previous
        if self.actor is None or self.actor.pk != previous:
            # Released by someone else (the leader moved on): the leader hears of it.
            self.notices.append(
                Notice(
                    get_user_model().objects.filter(pk=previous),
                    "assignment",
                    _("Your personal charge of case %(number)s “%(title)s” was released: %(reason)s")
                    % {"number": self.case.number, "title": self.case.title, "reason": data["reason"]},
                )
            )

    # Supervision (督办).

    @stage.transition(
        source=OPEN,
        label=gettext_lazy("Issue supervision order"),
        permission=needs("supervise_case"),
        conditions=[no_open_supervision_order],
        custom={"form": forms.SuperviseForm},
    )
    def supervise(self, data: dict[str, Any]) -> None:
        if self.actor is None:
            raise NotPermitted(_("Issue supervision order"), _("A supervision order is issued by a person."))
        opened = open_clocks(self.case, [DeadlineKind.SUPERVISION], self.at, duration=data["days"])
        if not opened:
            raise ConditionUnmet(_("No deadline rule for supervision orders is configured."))
        order = SupervisionOrder.objects.create(
            case=self.case, deadline=opened[0], issued_by=self.actor, issued_at=self.at,
            instructions=data["instructions"],
        )
        self.event_data.update(order=order.pk, due_at=opened[0].due_at.isoformat())
        self.notices.append(
            Notice(
                self._officers_and_assignee(self.case.responsible_unit),
                "supervision",
                _("Supervision order on case %(number)s “%(title)s”, answer by %(due)s: %(instructions)s")
                % {"number": self.case.number, "title": self.case.title, "instructions": data["instructions"],
                   "due": timezone.localtime(opened[0].due_at).strftime("%Y-%m-%d %H:%M")},
            )
        )

    @stage.transition(
        source=OPEN,
        label=gettext_lazy("Reply to supervision order"),
        permission=needs("reply_supervision"),
        custom={"form": forms.SupervisionReplyForm},
    )
    def reply_supervision(self, data: dict[str, Any]) -> None:
        order = data["order"]
        order.reply, order.replied_by, order.replied_at = data["reply"], self.actor, self.at
        order.save(update_fields=["reply", "replied_by", "replied_at"])
        order.deadline.met_at = self.at  # answered: the order's clock stops
        order.deadline.save(update_fields=["met_at"])
        self.notices.append(
            Notice(
                get_user_model().objects.filter(pk=order.issued_by_id),
                "supervision",
                _("Reply to your supervision order on case %(number)s “%(title)s”: %(reply)s")
                % {"number": self.case.number, "title": self.case.title, "reply": data["reply"]},
            )
        )

    @stage.transition(
        source=State.ANY,
        label=gettext_lazy("Close supervision order"),
        permission=needs("supervise_case"),
        custom={"form": forms.SupervisionCloseForm},
    )
    def close_supervision(self, data: dict[str, Any]) -> None:
        order = data["order"]
        order.closed_by, order.closed_at = self.actor, self.at
        order.save(update_fields=["closed_by", "closed_at"])
        if order.deadline.met_at is None:
            order.deadline.met_at = self.at
            order.deadline.save(update_fields=["met_at"])

    # 联调 (joint handling; docs/workflow.md: Joint handling). The responsible unit's officer
    # names departments to co-handle a case beside the lead department: 人民调解工作若干规定
    # (司法部, 2002) 第二十七条 — a committee may invite the units concerned to take part,
    # and those invited support it; a dispute across units is mediated together. Each
    # co-handling department gets per-case grants (permissions.CO_DEPARTMENT_GRANTS), its
    # liaisons are told, and it records its part; resolving and closing stay with the lead.

    @stage.transition(
        source=ACTIVE,
        label=gettext_lazy("Name co-handling department"),
        permission=needs("name_co_departments"),
        custom={"form": forms.CoDepartmentForm},
    )
    def name_co_department(self, data: dict[str, Any]) -> None:
        department = data["department"]
        self.case.co_departments.add(department)
        CaseGroupObjectPermission.objects.bulk_create(
            (CaseGroupObjectPermission(content_object=self.case, group_id=department.group_id, permission_id=pk)
             for pk in permission_ids(CO_DEPARTMENT_GRANTS)),
            ignore_conflicts=True,
        )
        lead = self.case.lead_department or self.case.responsible_unit
        self.notices.append(
            Notice(
                members(department, Role.LIAISON),
                "assignment",
                _("Your department is to co-handle case %(number)s “%(title)s” (联调) with %(lead)s: %(task)s")
                % {"number": self.case.number, "title": self.case.title, "lead": lead.name, "task": data["task"]},
            )
        )

    @stage.transition(
        source=ACTIVE,
        label=gettext_lazy("Remove co-handling department"),
        permission=needs("name_co_departments"),
        conditions=[has_co_departments],
        custom={"form": forms.RemoveCoDepartmentForm},
    )
    def remove_co_department(self, data: dict[str, Any]) -> None:
        department = data["department"]
        self.case.co_departments.remove(department)
        # Its grants go with it (a lead department is never a co-handling one: its own stay).
        if department.pk != self.case.lead_department_id:
            CaseGroupObjectPermission.objects.filter(content_object=self.case, group_id=department.group_id).delete()
        self.notices.append(
            Notice(
                members(department, Role.LIAISON),
                "assignment",
                _("Your department no longer co-handles case %(number)s “%(title)s”: %(reason)s")
                % {"number": self.case.number, "title": self.case.title, "reason": data["reason"]},
            )
        )

    @stage.transition(
        source=ACTIVE,
        label=gettext_lazy("Record co-handling part"),
        permission=needs("record_part_case"),
        custom={"form": forms.RecordPartForm},
    )
    def record_part(self, data: dict[str, Any]) -> None:
        # The event holds the department (by id) and its part; the lead hears of it.
        recipients = self._officers_and_assignee(self.case.responsible_unit)
        if self.actor is not None:
            recipients = recipients.exclude(pk=self.actor.pk)
        self.notices.append(
            Notice(
                recipients,
                "assignment",
                _("%(department)s recorded its part in case %(number)s “%(title)s”: %(part)s")
                % {"department": data["department"].name, "number": self.case.number, "title": self.case.title,
                   "part": data["part"]},
            )
        )

    # 履行 and 司法确认 (issue 18; docs/workflow.md: Judicial confirmation and follow-through).

    @stage.transition(
        source=S.RESOLVED,
        label=gettext_lazy("Record visit"),
        permission=needs("follow_up_case"),
        conditions=[resolved_by_agreement],
        custom={"form": forms.VisitForm},
    )
    def record_visit(self, data: dict[str, Any]) -> None:
        """A follow-up visit that keeps the case resolved: the committee supervises the
        agreement's performance and urges the parties to perform (人民调解法 第三十一条). The
        visit done, the follow-up clock (回访) stops; the closing visit is follow_up."""
        FollowUpVisit.objects.create(case=self.case, visited_at=self.at, visited_by=self.actor,
                                     record=data["record"], performance=data["performance"])
        self.event_data["deadlines_stopped"] = stop_clocks(self.case, [DeadlineKind.FOLLOW_UP], self.at)
        if data["performance"] == Performance.REFUSED:
            self._tell_follow_through(
                _("A party refuses to perform the agreement of case %(number)s “%(title)s”: reopen it to mediate "
                  "again, or refer it to litigation or arbitration.")
                % {"number": self.case.number, "title": self.case.title})

    @stage.transition(
        source=S.RESOLVED,
        label=gettext_lazy("Apply for judicial confirmation"),
        permission=needs("follow_up_case"),
        conditions=[written_agreement, not_applied_for],
        custom={"form": forms.ConfirmationApplicationForm},
    )
    def apply_confirmation(self, data: dict[str, Any]) -> None:
        """The parties' joint application to the court (人民调解法 第三十三条; 民事诉讼法 (2023)
        第二百零五条): recorded, it stops the 30-day window's clock."""
        application = JudicialConfirmation.objects.create(
            case=self.case, court=data["court"], applied_on=data["applied_on"], applied_at=self.at,
            applied_by=self.actor)
        self.event_data["confirmation"] = application.pk
        self.event_data["deadlines_stopped"] = stop_clocks(self.case, [DeadlineKind.JUDICIAL_CONFIRMATION], self.at)

    @stage.transition(
        source=S.RESOLVED,
        label=gettext_lazy("Record judicial confirmation ruling"),
        permission=needs("follow_up_case"),
        conditions=[confirmation_awaiting_ruling],
        custom={"form": forms.ConfirmationResultForm},
    )
    def record_confirmation(self, data: dict[str, Any]) -> None:
        """The court's ruling (民事诉讼法 (2023) 第二百零六条). Confirmed valid, a party who
        does not perform may be brought to enforcement (人民调解法 第三十三条); rejected, the
        parties may change the agreement or reach a new one by mediation, or sue: the case
        is offered for reopening (reopen) or referral (refer)."""
        application = pending_confirmation(self.case)
        if application is None:  # the condition above holds under the lock; kept for type checkers
            raise ConditionUnmet(_("No application for judicial confirmation awaits a ruling."))
        if data["ruled_on"] < application.applied_on:
            raise ConditionUnmet(_("The ruling cannot come before the application (%(applied_on)s).")
                                 % {"applied_on": application.applied_on.isoformat()})
        application.result, application.ruling_number = data["result"], data["ruling_number"]
        application.ruled_on, application.ruled_at, application.ruled_by = data["ruled_on"], self.at, self.actor
        application.save(update_fields=["result", "ruling_number", "ruled_on", "ruled_at", "ruled_by"])
        self.event_data["confirmation"] = application.pk
        if data["result"] == JudicialConfirmation.Result.REJECTED:
            self._tell_follow_through(
                _("The court rejected the judicial confirmation of the agreement of case %(number)s “%(title)s” "
                  "(%(ruling)s): reopen it to mediate again, or refer it to litigation.")
                % {"number": self.case.number, "title": self.case.title, "ruling": data["ruling_number"]})

    # 复查、复核 (issue 18; docs/workflow.md: Petition review). The review is handled on the
    # stages there are: back to 调查核实, held by the unit above, on the review's own clock
    # (workflow.deadlines.PLAN: review), and resolved again by the review opinion.

    @stage.transition(
        source=[S.RESOLVED, S.CLOSED],
        target=S.INVESTIGATING,
        label=gettext_lazy("Request review"),
        permission=needs("request_review_case"),
        conditions=[review_may_be_requested, has_unit_above],
        custom={"form": forms.ReviewRequestForm},
    )
    def request_review(self, data: dict[str, Any]) -> None:
        """The petitioner asks the unit above the one that answered for a review (复查, 信访
        工作条例 第三十五条) or, after one, for a second review (复核, 第三十六条). The unit
        above holds the case from now on, as on an escalation; the answer under review is kept
        in the event, and the case counts as handled (调处), not succeeded, until decided."""
        below = self.case.responsible_unit
        above = OrgUnit.objects.get(pk=below.parent_id)
        level = self.case.review_level + 1
        self.event_data.update(level=level, from_unit=below.pk, to_unit=above.pk,
                               previous_outcome=self.case.outcome,
                               answered_at=self.case.resolved_at.isoformat() if self.case.resolved_at else None)
        self.case.review_level = level
        self.case.responsible_unit = above
        self.case.outcome, self.case.resolved_at = {}, None
        self.case.closure, self.case.closed_at = "", None
        if self.case.assignee_id is not None:
            # The reviewing unit assigns its own people; the handler below only follows it.
            CaseUserObjectPermission.objects.filter(content_object=self.case, user_id=self.case.assignee_id).delete()
            self.event_data["previous_assignee"] = self.case.assignee_id
            self.case.assignee = None
        recipients = members(above, Role.OFFICER, Role.SUPERVISOR)
        if self.actor is not None:
            recipients = recipients.exclude(pk=self.actor.pk)
        text = (_("A review (复查) of case %(number)s “%(title)s” was requested of your unit: %(reason)s") if level == 1
                else _("A second review (复核) of case %(number)s “%(title)s” was requested of your unit: %(reason)s"))
        self.notices.append(Notice(recipients, "escalated", text % {
            "number": self.case.number, "title": self.case.title, "reason": data["reason"]}))

    @stage.transition(
        source=ACTIVE,
        target=S.RESOLVED,
        label=gettext_lazy("Decide review"),
        permission=needs("decide_review_case"),
        conditions=[under_review],
        custom={"form": forms.ReviewDecisionForm},
    )
    def decide_review(self, data: dict[str, Any]) -> None:
        """The review opinion (复查意见 / 复核意见): the answer upheld or changed, given in
        writing (第三十五条); the case is resolved again, and the unit whose answer was
        reviewed hears of it."""
        request = last_event(self.case, ("request_review",))
        previous = (request.data.get("previous_outcome") if request else None) or {}
        changed = data["decision"] == forms.ReviewDecisionForm.CHANGED
        kind = data["outcome"] if changed else previous.get("kind", "")
        self.case.outcome = {"kind": kind, "summary": data["opinion"],
                             "review": {"level": self.case.review_level, "decision": data["decision"]}}
        self.case.resolved_at = self.at
        self.event_data.update(level=self.case.review_level, previous_outcome=previous)
        if request is not None and "from_unit" in request.data:
            below = OrgUnit.objects.filter(pk=request.data["from_unit"]).first()
            if below is not None:
                self.notices.append(Notice(
                    members(below, Role.OFFICER),
                    "assignment",
                    _("The review of case %(number)s “%(title)s” was decided: %(decision)s. %(opinion)s")
                    % {"number": self.case.number, "title": self.case.title,
                       "decision": dict(forms.ReviewDecisionForm.DECISIONS)[data["decision"]],
                       "opinion": data["opinion"]}))

    @stage.transition(
        source=S.INVESTIGATING,
        label=gettext_lazy("Object to routing"),
        permission=needs("object_routing_case"),
        conditions=[objection_may_be_raised],
        custom={"form": forms.ReasonForm},
    )
    def object_to_routing(self, data: dict[str, Any]) -> None:
        """The lead department finds the petition not its matter (信访工作条例 第二十三条: within
        5 工作日 of receiving it, with its reasons in detail). The objection clock opens for
        the routing unit's verification; the responsible unit's officers hear of it."""
        opened = open_clocks(self.case, [DeadlineKind.OBJECTION], self.at)
        department = self.case.lead_department
        self.event_data.update(objecting_department=department.pk if department else None,
                               deadlines_opened=[d.kind for d in opened])
        self.notices.append(Notice(
            members(self.case.responsible_unit, Role.OFFICER, Role.SUPERVISOR),
            "assignment",
            _("%(department)s objects to being routed case %(number)s “%(title)s”: %(reason)s")
            % {"department": department.name if department else "", "number": self.case.number,
               "title": self.case.title, "reason": data["reason"]}))

    @stage.transition(
        source=S.INVESTIGATING,
        label=gettext_lazy("Decide objection"),
        permission=needs("decide_objection_case"),
        conditions=[objection_pending],
        custom={"form": forms.ObjectionDecisionForm},
    )
    def decide_objection(self, data: dict[str, Any]) -> None:
        """The routing unit verifies the objection (第二十三条): agreed, the petition goes to
        another department (the objecting one's grants go with the routing); not agreed, the
        routing stands. Either way the objection clock stops and the department hears."""
        objecting = self.case.lead_department
        self.event_data["deadlines_stopped"] = stop_clocks(self.case, [DeadlineKind.OBJECTION], self.at)
        self.event_data["objecting_department"] = objecting.pk if objecting else None
        if data["decision"] == forms.ObjectionDecisionForm.REROUTE:
            self._route(data["lead_department"])
            text = _("Your objection to case %(number)s “%(title)s” was agreed: it goes to %(department)s. %(reason)s")
        else:
            text = _("Your objection to case %(number)s “%(title)s” was not agreed: your department handles it. "
                     "%(reason)s")
        if objecting is not None:
            self.notices.append(Notice(members(objecting, Role.LIAISON), "assignment", text % {
                "number": self.case.number, "title": self.case.title, "reason": data["reason"],
                "department": self.case.lead_department.name if self.case.lead_department else ""}))

    def _tell_follow_through(self, text: str) -> None:
        """An agreement failed: the assignee and the responsible unit's officers hear that the
        case should be reopened or referred; not whoever recorded it."""
        recipients = self._officers_and_assignee(self.case.responsible_unit)
        if self.actor is not None:
            recipients = recipients.exclude(pk=self.actor.pk)
        self.notices.append(Notice(recipients, "assignment", text))

    # Helpers of the transitions above.

    def _report_major(self, reason: str) -> None:
        """A case found to be of major risk is reported upward as one registered so: the
        same 2-hour clock (workflow.deadlines.PLAN, major_report) where the case's stage runs
        it and none runs yet, and the unit above hears of it at once."""
        clock = PLAN[DeadlineKind.MAJOR_REPORT]
        running = Deadline.objects.filter(case=self.case, kind=DeadlineKind.MAJOR_REPORT, met_at__isnull=True)
        if self.case.stage in clock.runs_while and self.case.kind in clock.case_kinds and not running.exists():
            opened = open_clocks(self.case, [DeadlineKind.MAJOR_REPORT], self.at)
            self.event_data["deadlines_opened"] = [d.kind for d in opened]
        below = self.case.responsible_unit
        if below.parent_id is None:
            return
        self.notices.append(
            Notice(
                members(OrgUnit.objects.get(pk=below.parent_id), Role.OFFICER, Role.SUPERVISOR),
                "escalated",
                _("%(unit)s found case %(number)s “%(title)s” to be of major risk: %(reason)s")
                % {"unit": below.name, "number": self.case.number, "title": self.case.title, "reason": reason},
            )
        )

    def _keep_document(self, title: str, upload: Any) -> None:
        """Store an uploaded file with the case; the event names the document."""
        document = CaseDocument.objects.create(
            case=self.case, title=title, file=upload, original_name=upload.name[:255], size=upload.size,
            uploaded_by=self.actor, uploaded_at=self.at or timezone.now(),
        )
        self.event_data["document"] = document.pk

    def _officers_and_assignee(self, unit: OrgUnit) -> Any:
        """Who is handed work on the case: the unit's officers and the assignee."""
        recipients = members(unit, Role.OFFICER)
        if self.case.assignee_id:
            recipients = recipients | get_user_model().objects.filter(pk=self.case.assignee_id)
        return recipients.distinct()

    def _take_up(self) -> None:
        """The case is taken up for handling (调处, workflow.counts): the first of accept,
        take_over and send_back records when."""
        if self.case.accepted_at is None:
            self.case.accepted_at = self.at

    def _close(self, closure: str) -> None:
        self.case.closure = closure
        self.case.closed_at = self.at

    def _assign(self, user: Any) -> None:
        """Make `user` the assignee, moving the assignee's per-case grants to them."""
        previous = self.case.assignee_id
        if previous == user.pk:
            return
        if previous is not None:
            CaseUserObjectPermission.objects.filter(content_object=self.case, user_id=previous).delete()
        CaseUserObjectPermission.objects.bulk_create(
            CaseUserObjectPermission(content_object=self.case, user=user, permission_id=pk)
            for pk in permission_ids(ASSIGNEE_GRANTS)
        )
        self.case.assignee = user
        self.event_data.update(assignee=user.pk, previous_assignee=previous)
        self.notices.append(
            Notice(
                get_user_model().objects.filter(pk=user.pk),
                "assignment",
                _("Case %(number)s “%(title)s” has been assigned to you.")
                % {"number": self.case.number, "title": self.case.title},
            )
        )

    def _route(self, department: OrgUnit) -> None:
        """Make `department` the lead department (谁主管谁负责) and give it its grants."""
        if self.case.lead_department_id == department.pk:
            return
        # The co-handling departments keep their grants (联调); one made the lead leaves them.
        self.case.co_departments.remove(department)
        CaseGroupObjectPermission.objects.filter(content_object=self.case).exclude(
            group__unit__in=self.case.co_departments.all()).delete()
        CaseGroupObjectPermission.objects.bulk_create(
            CaseGroupObjectPermission(content_object=self.case, group_id=department.group_id, permission_id=pk)
            for pk in permission_ids(LEAD_DEPARTMENT_GRANTS)
        )
        self.case.lead_department = department
        self.event_data["lead_department"] = department.pk


def fact_value(value: Any) -> Any:
    """A fact of a case as an event's data keeps it: a unit by id, an amount as text."""
    if isinstance(value, OrgUnit):
        return value.pk
    if value is None or isinstance(value, (bool, int)):
        return value
    return str(value)  # a choice's value (risk, category), or an amount


def members(unit: OrgUnit, *roles: str) -> Any:
    return get_user_model().objects.filter(memberships__unit=unit, memberships__role__in=roles, is_active=True)


def permission_ids(codenames: frozenset[str]) -> list[int]:
    return list(
        Permission.objects.filter(content_type__app_label="cases", codename__in=codenames).values_list("pk", flat=True)
    )


def operations() -> dict[str, Any]:
    """Every operation of the machine by name, with its transitions."""
    return {method.slug: method for method in CaseFlow.stage.get_transitions()}


# The order a person meets their operations in, on the case page and in the API: first
# the way on — the operation that carries the case to its next stage in the
# ordinary course — then the other moves of stage, then the operations that keep the
# stage (records, documents, clocks, supervision). Declared here, once.
K = Case.Kind
WAY_ON: dict[tuple[str, str], str] = {
    (S.REPORTED, K.DISPUTE): "accept",
    (S.REPORTED, K.PETITION): "accept",
    # A dispute is investigated, then mediated (docs/workflow.md); a petition is answered
    # once its facts are found (信访工作条例 第三十二条: supported, explained, not supported).
    (S.INVESTIGATING, K.DISPUTE): "start_mediation",
    (S.INVESTIGATING, K.PETITION): "resolve",
    (S.MEDIATING, K.DISPUTE): "resolve",
    (S.MEDIATING, K.PETITION): "resolve",
    # Escalated: the unit above takes it over; sending it back is the other way.
    (S.ESCALATED, K.DISPUTE): "take_over",
    (S.ESCALATED, K.PETITION): "take_over",
    # Resolved: the follow-up visit closes it (回访).
    (S.RESOLVED, K.DISPUTE): "follow_up",
    (S.RESOLVED, K.PETITION): "follow_up",
}
ORDER = (
    # Moves of stage, in the order of docs/workflow.md; withdrawing last.
    "accept", "reject", "start_mediation", "resolve", "escalate", "take_over", "send_back", "refer", "follow_up",
    "reopen", "withdraw",
    # Operations that keep the stage, the daily ones first.
    "record_session", "note", "attach_document", "assign", "correct", "request_extension", "decide_extension",
    "pause_deadline", "resume_deadline", "supervise", "reply_supervision", "close_supervision",
    "take_charge", "release_charge",
    # 联调 (joint handling): the co-handling department's part first, it is daily work.
    "record_part", "name_co_department", "remove_co_department",
    # 履行 and 司法确认 (issue 18): visits first, they recur.
    "record_visit", "apply_confirmation", "record_confirmation",
    # 复查、复核 and the objection to a routing (issue 18; 信访工作条例 第二十三条、第三十五条、第三十六条).
    "request_review", "decide_review", "object_to_routing", "decide_objection",
)
FORWARD, MOVE, SIDE = "forward", "move", "side"


def way_on(case: Case) -> str:
    """The operation that carries `case` forward from its stage; "" when closed."""
    if case.review_level and case.stage in ACTIVE:
        return "decide_review"  # a petition under review is answered by the review opinion
    return WAY_ON.get((case.stage, case.kind), "")


def place_of(case: Case, transition: Any) -> str:
    """FORWARD for the way on, MOVE for another move of stage, SIDE for the rest."""
    if transition.slug == way_on(case):
        return FORWARD
    return MOVE if transition.target in Case.Stage.values else SIDE


def in_order(case: Case, transitions: Any) -> list[Any]:
    """`transitions` (of `case`'s stage) in the order people meet them."""
    places = (FORWARD, MOVE, SIDE)
    return sorted(transitions, key=lambda t: (places.index(place_of(case, t)),
                                              ORDER.index(t.slug) if t.slug in ORDER else len(ORDER)))
