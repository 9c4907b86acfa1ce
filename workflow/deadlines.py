"""Opening, closing and recomputing the clocks on a case (docs/workflow.md: Deadlines).

Which clocks run in which stage is the plan below; how long each runs is a DeadlineRule
(data, per jurisdiction profile). Called by the transition service only, inside its
transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from django.conf import settings

from cases.models import Case, OrgUnit

from .calendar import get_calendar
from .models import WINDOWS, Deadline, DeadlineKind, DeadlineRule, RuleProfile, TimeUnit
from .refdata import cached

S = Case.Stage
K = Case.Kind


@dataclass(frozen=True)
class Clock:
    case_kinds: frozenset[str]
    opens_on: frozenset[str]
    # The clock stops (met_at) when the case moves to a stage outside this set.
    runs_while: frozenset[str]
    major_only: bool = False
    # Opened only for a dispute resolved by a written mediation agreement (司法确认).
    written_agreement_only: bool = False
    # 复查/复核 (信访工作条例 第三十五条、第三十六条): True opens only for a petition under
    # review (Case.review_level > 0), False never for one, None either way.
    review: bool | None = None


def _clock(kinds: set[str], opens_on: set[str], runs_while: set[str], major_only: bool = False) -> Clock:
    return Clock(frozenset(kinds), frozenset(opens_on), frozenset(runs_while), major_only)


BOTH = {K.DISPUTE, K.PETITION}
PLAN: dict[str, Clock] = {
    DeadlineKind.ACCEPTANCE: _clock({K.DISPUTE}, {S.REPORTED}, {S.REPORTED}),
    # 信访工作条例 第二十二、二十三条: registered and routed, and the petitioner told, within
    # 15 日 of receipt. One duty done in one act (受理 with its notice), so one clock: two
    # clocks from the same moment drew two yellow and two red cards for it.
    DeadlineKind.REGISTRATION: _clock({K.PETITION}, {S.REPORTED}, {S.REPORTED}),
    DeadlineKind.INVESTIGATION: _clock({K.DISPUTE}, {S.INVESTIGATING}, {S.INVESTIGATING}),
    DeadlineKind.MEDIATION: _clock(BOTH, {S.MEDIATING}, {S.MEDIATING}),
    # 第三十四条: 60 日 from acceptance to completion, whoever holds the case meanwhile.
    # A review runs on its own term (REVIEW below), not on what is left of this one.
    DeadlineKind.HANDLING: replace(_clock({K.PETITION}, {S.INVESTIGATING}, {S.INVESTIGATING, S.MEDIATING, S.ESCALATED}),
                                   review=False),
    DeadlineKind.TAKE_OVER: _clock(BOTH, {S.ESCALATED}, {S.ESCALATED}),
    DeadlineKind.FOLLOW_UP: _clock(BOTH, {S.RESOLVED}, {S.RESOLVED}),
    DeadlineKind.MAJOR_REPORT: _clock(BOTH, {S.REPORTED}, {S.REPORTED, S.INVESTIGATING, S.MEDIATING}, True),
    # 人民调解法 第三十三条: the parties may jointly apply to the court for judicial
    # confirmation within 30 days of a (written) agreement taking effect, which the
    # resolution records; 民事诉讼法 (2023) 第二百零五条 likewise. Stopped when the application
    # is recorded (workflow.flow: apply_confirmation, stop_clocks) or the case leaves
    # resolved. Last in the plan: what opens on resolution is found first as the follow-up.
    DeadlineKind.JUDICIAL_CONFIRMATION: Clock(frozenset({K.DISPUTE}), frozenset({S.RESOLVED}),
                                              frozenset({S.RESOLVED}), written_agreement_only=True),
    # 复查、复核 (issue 18): 信访工作条例 第三十五条 — the reviewing unit gives its review opinion
    # within 30 日 of receiving the request; 第三十六条 the same for 复核. The review's own
    # term, from the request (workflow.flow: request_review), not the handling clock of
    # 第三十四条 resumed: opened only for a petition under review, stopped when decided.
    DeadlineKind.REVIEW: Clock(frozenset({K.PETITION}), frozenset({S.INVESTIGATING}),
                               frozenset({S.INVESTIGATING, S.MEDIATING, S.ESCALATED}), review=True),
    # 第二十三条: a unit a petition was routed to that finds it not its matter objects within
    # 5 工作日. Never opened by a move of stage: the objection opens it (workflow.flow:
    # object_to_routing), for the routing unit's verification, and the decision stops it.
    DeadlineKind.OBJECTION: Clock(frozenset({K.PETITION}), frozenset(), frozenset({S.REPORTED, S.INVESTIGATING})),
}

# 信访工作条例 第三十五条、第三十六条: a review (复查) or a second review (复核) is requested
# within 30 日 of receiving the written answer. Counted from the answer's recording (the
# resolution), the receipt being unrecorded; a calendar-day term, moved off a rest day as
# every such term here.
REVIEW_REQUEST_DAYS = 30

# The outcome of a resolution by a written mediation agreement (workflow.forms.ResolveForm).
WRITTEN_AGREEMENT = "agreement_written"


def has_written_agreement(case: Case) -> bool:
    return case.kind == K.DISPUTE and (case.outcome or {}).get("kind") == WRITTEN_AGREEMENT


class NoProfile(LookupError):
    pass


_profiles = cached(lambda: {p.code: p for p in RuleProfile.objects.all()})
_rules = cached(lambda: list(DeadlineRule.objects.all()))
# Units that name a profile; the others inherit the nearest one above them.
_unit_profiles = cached(lambda: dict(OrgUnit.objects.exclude(rule_profile="").values_list("pk", "rule_profile")))


def unit_profile(unit: OrgUnit) -> str:
    named = _unit_profiles.get()
    for pk in reversed(unit.ancestor_ids):
        if pk in named:
            return named[pk]
    return settings.DEFAULT_RULE_PROFILE


def profile_chain(code: str) -> list[int]:
    """Ids of the profile and the ones it falls back to, nearest first."""
    profiles = _profiles.get()
    by_id = {p.pk: p for p in profiles.values()}
    profile = profiles.get(code) or profiles.get("national")
    if profile is None:
        raise NoProfile(code)
    chain: list[int] = []
    while profile is not None and profile.pk not in chain:
        chain.append(profile.pk)
        profile = by_id.get(profile.parent_id) if profile.parent_id else None
    return chain


def unit_rule(unit: OrgUnit, kind: str) -> DeadlineRule | None:
    """The rule of `kind` for a unit's own clocks (a village's return, a township's monthly
    table): of the unit's profile, nearest profile first. Cached: no query once the rules
    are read."""
    chain = profile_chain(unit_profile(unit))
    rules = [r for r in _rules.get() if r.kind == kind and r.profile_id in chain]
    return min(rules, key=lambda r: chain.index(r.profile_id), default=None)


def pick_rule(rules: list[DeadlineRule], chain: list[int], kind: str, case: Case) -> DeadlineRule | None:
    """The rule for one clock: nearest profile first, then the most specific match."""
    matching = [
        r
        for r in rules
        if r.kind == kind
        and r.case_kind in ("", case.kind)
        and r.category in ("", case.category)
        and r.risk in ("", case.risk)
        and r.profile_id in chain
    ]
    if not matching:
        return None
    return min(matching, key=lambda r: (chain.index(r.profile_id), -r.specificity))


def schedule(deadline: Deadline, rule: DeadlineRule) -> None:
    """Set due, warning and escalation times from the start and the units the term
    now has: its duration, plus an approved extension, plus time excluded by pauses."""
    calendar = get_calendar()
    total = deadline.duration + deadline.extended_by + deadline.excluded
    due = calendar.add(deadline.started_at, total, deadline.unit, holiday_shift=rule.holiday_shift)
    # The warning is not moved off rest days: moved, it could fall on the due day itself.
    # A warning that comes outside office hours waits for the next working morning (sweep).
    warn = calendar.add(deadline.started_at, max(total - rule.warning_lead, 0), deadline.unit, holiday_shift=False)
    escalate = calendar.add(
        deadline.started_at, total + rule.escalation_grace, deadline.unit, holiday_shift=rule.holiday_shift
    )
    deadline.due_at, deadline.warn_at, deadline.escalate_at = due.at, min(warn.at, due.at), escalate.at
    deadline.provisional = due.provisional or escalate.provisional
    # The sweep raises nothing for a window of the parties' (workflow.models.WINDOWS).
    pending = None if deadline.kind in WINDOWS else deadline.pending_step()
    deadline.next_action_at = pending[1] if pending else None


def move(case: Case, from_stage: str, to_stage: str, at: datetime) -> tuple[list[str], list[Deadline]]:
    """Stop the clocks that do not run in `to_stage` and start the ones it opens.
    Returns the kinds stopped and the deadlines opened."""
    stopping = [
        kind
        for kind, clock in PLAN.items()
        if case.kind in clock.case_kinds and from_stage in clock.runs_while and to_stage not in clock.runs_while
    ]
    if to_stage == S.CLOSED:
        # A closed case owes nothing more: supervision orders on it stop as well.
        Deadline.objects.filter(case=case, met_at__isnull=True).update(met_at=at)
    elif stopping:
        Deadline.objects.filter(case=case, met_at__isnull=True, kind__in=stopping).update(met_at=at)
    opening = [
        kind
        for kind, clock in PLAN.items()
        if to_stage in clock.opens_on
        and case.kind in clock.case_kinds
        and from_stage not in clock.runs_while
        and (not clock.major_only or case.risk == Case.Risk.MAJOR)
        and (not clock.written_agreement_only or has_written_agreement(case))
        and (clock.review is None or clock.review == (case.review_level > 0))
    ]
    if not opening:
        return stopping, []
    return stopping, open_clocks(case, opening, at)


def review_request_closes(case: Case) -> datetime | None:
    """When the petitioner's 30 日 to ask for the next review of the answer recorded at the
    case's resolution run out (REVIEW_REQUEST_DAYS); None when nothing was answered."""
    if case.resolved_at is None:
        return None
    return get_calendar().add(case.resolved_at, REVIEW_REQUEST_DAYS, TimeUnit.CALENDAR_DAYS).at


def term_ends(case: Case, kind: str, start: datetime) -> datetime | None:
    """When a term of `kind` begun at `start` ends by the case's rule, without opening a
    clock (the 5 工作日 to object to a routing, 第二十三条); None without a rule."""
    rule = pick_rule(_rules.get(), profile_chain(unit_profile(case.responsible_unit)), kind, case)
    if rule is None:
        return None
    return get_calendar().add(start, rule.duration, rule.unit, holiday_shift=rule.holiday_shift).at


def stop_clocks(case: Case, kinds: list[str], at: datetime) -> list[str]:
    """Stop the case's running clocks of `kinds` at `at`, a duty done while the case keeps
    its stage (a visit made, a judicial confirmation applied for); the kinds stopped."""
    running = Deadline.objects.filter(case=case, met_at__isnull=True, kind__in=kinds)
    stopped = sorted(set(running.values_list("kind", flat=True)))
    running.update(met_at=at, next_action_at=None)
    return stopped


def open_clocks(case: Case, kinds: list[str], at: datetime, *, duration: int | None = None) -> list[Deadline]:
    """Open one clock per kind from the case's rules; `duration` overrides the rule's
    (a supervision order's own term)."""
    chain = profile_chain(unit_profile(case.responsible_unit))
    rules = _rules.get()
    opened = []
    for kind in kinds:
        rule = pick_rule(rules, chain, kind, case)
        if rule is None:
            continue
        deadline = Deadline(
            case=case,
            kind=kind,
            rule=rule,
            duration=duration or rule.duration,
            unit=rule.unit,
            legal_basis=rule.legal_basis,
            started_at=at,
        )
        schedule(deadline, rule)
        opened.append(deadline)
    return Deadline.objects.bulk_create(opened)
