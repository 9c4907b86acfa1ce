"""Who may see and do what on a case (docs/architecture.md: the rule of reach).

Permissions come from two places:
- by role, from a Membership in a unit related to the case: its own unit (the responsible
  unit or the case's village) or, for officers, supervisors and viewers, a unit above it;
- per case, from django-guardian's direct-foreign-key tables: the assignee's grants, the
  lead department's and the co-handling departments' (联调), written by the transition
  service when it assigns, routes or names a co-handling department.

`grants_for` answers for one case in a single query; `visible_cases` is the one
selection every list uses. Both exclude a 检举控告 petition from the unit it accuses and
everyone beneath it (信访工作条例 第三十条).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Exists, OuterRef, Q

from cases.models import (
    Case,
    CaseGroupObjectPermission,
    CaseUserObjectPermission,
    Membership,
    OrgUnit,
    Party,
    Role,
    StaffProfile,
    path_ids,
)

VIEW = "view_case"
PII = "view_party_pii"

# What a role may do on the cases of its own unit (responsible unit or village).
OWN_UNIT: dict[str, frozenset[str]] = {
    Role.REPORTER: frozenset({VIEW, "note_case"}),
    Role.MEDIATOR: frozenset({VIEW, "note_case", "record_session_case"}),
    Role.OFFICER: frozenset(
        {
            VIEW,
            "accept_case",
            "reject_case",
            "escalate_case",
            "take_over_case",
            "refer_case",
            "follow_up_case",
            "reopen_case",
            "withdraw_case",
            "assign_case",
            "note_case",
            "record_session_case",
            "request_extension",
            "pause_deadline",
            "reply_supervision",
            "correct_case",
            "name_co_departments",
            # 复查、复核 and routing objections (信访工作条例 第二十三条、第三十五条、第三十六条):
            # the unit holding the petition registers a review request brought to it, the
            # reviewing unit decides the review, the routing unit decides an objection.
            "request_review_case",
            "decide_review_case",
            "decide_objection_case",
            PII,
        }
    ),
    Role.SUPERVISOR: frozenset(
        {
            VIEW,
            "escalate_case",
            "send_back_case",
            "refer_case",
            "reopen_case",
            "assign_case",
            "note_case",
            "approve_extension",
            "supervise_case",
            "correct_case",
            "take_charge_case",
            "decide_review_case",
            "decide_objection_case",
            PII,
        }
    ),
    Role.LIAISON: frozenset({VIEW, "note_case"}),
    Role.VIEWER: frozenset({VIEW}),
}

# What a role may do on cases anywhere beneath its unit. Supervisors press on their
# whole subtree (督办); officers and viewers of a township read its villages' cases.
# Correcting a case's facts is the work of the unit that holds it, not of the units above
# (issue 18): they press and may take charge (包案), they do not rewrite the record.
SUBTREE: dict[str, frozenset[str]] = {
    # A review is decided, and an objection to a routing, by the unit that holds the case
    # (信访工作条例 第二十三条、第三十五条), not by every unit above it.
    Role.SUPERVISOR: OWN_UNIT[Role.SUPERVISOR] - {"correct_case", "decide_review_case", "decide_objection_case"},
    Role.OFFICER: frozenset({VIEW}),
    Role.VIEWER: frozenset({VIEW}),
}

# What a role may do on the cases held by the unit right beneath its own: a petitioner
# dissatisfied with a handling opinion asks the unit above the one that handled it for a
# review (复查, 信访工作条例 第三十五条; 复核, 第三十六条), whose officer registers the request.
PARENT: dict[str, frozenset[str]] = {
    Role.OFFICER: frozenset({"request_review_case"}),
}

# Granted per case in the guardian tables.
ASSIGNEE_GRANTS = frozenset(
    {
        VIEW,
        "start_mediation_case",
        "resolve_case",
        "follow_up_case",
        "note_case",
        "record_session_case",
        "request_extension",
        "pause_deadline",
        "reply_supervision",
        PII,
    }
)
# A department a petition is routed to may object that it is not its matter (信访工作条例
# 第二十三条: within 5 working days, with its reasons; workflow.flow: object_to_routing).
LEAD_DEPARTMENT_GRANTS = frozenset({VIEW, "note_case", "record_session_case", "object_routing_case"})
# 联调 (joint handling): a co-handling department follows the case, adds notes and records
# its own part; it neither resolves nor closes it, which stays with the lead (the
# responsible unit and the assignee). Written and revoked by workflow.flow (co-departments).
CO_DEPARTMENT_GRANTS = frozenset({VIEW, "note_case", "record_part_case"})

# What a case's village gives its own members and the units above it when the case is
# held elsewhere (escalated, or handled by the township): they follow it, they do not act.
VILLAGE_ONLY = frozenset({VIEW, "note_case"})

# Officers and supervisors of a unit above a case's village confirm or dismiss it as a
# concealment suspect (瞒报) of the village's monthly return, whoever holds the case.
DECIDE_CONCEALMENT = "decide_concealment"
CONCEALMENT_DECIDERS = frozenset({Role.OFFICER, Role.SUPERVISOR})

# 回避 (recusal): a person who is a party to a case, known by the ID number of their
# StaffProfile, keeps on it only what a village member has — they follow it, they do not
# act: never its assignee, and they neither accept, decide, resolve, close, correct nor
# lead it, whatever their role or grants. 人民调解法 第二十三条 (a party chooses or accepts
# the mediator) and 人民调解工作若干规定 第二十六条 (a mediator a party objects to is
# replaced); for petitions, 信访条例 (2005) 第三十条 (staff with a direct interest in the
# matter or in the petitioner withdraw).
RECUSED_KEEP = VILLAGE_ONLY


def recused_cases(user: Any) -> Any:
    """The ids of the cases `user` is a party to, as a subquery (no round trip of its own)."""
    numbers = StaffProfile.objects.filter(user=user).exclude(id_number="").values("id_number")
    return Party.objects.filter(id_number__in=numbers).values("case_id")


def recused(user: Any, case: Case) -> bool:
    """Whether `user` is a party to `case` (回避, RECUSED_KEEP)."""
    return user is not None and user.is_authenticated and Party.objects.filter(
        case=case, id_number__in=StaffProfile.objects.filter(user=user).exclude(id_number="").values("id_number"),
    ).exists()


ALL_PERMISSIONS = frozenset().union(*OWN_UNIT.values(), ASSIGNEE_GRANTS, LEAD_DEPARTMENT_GRANTS,
                                    CO_DEPARTMENT_GRANTS, {DECIDE_CONCEALMENT})


# A page asks the rule of reach a dozen questions about the same person (what they see,
# which menu entries they get, which units their filters offer), each of which starts from
# their memberships. Within one request (`one_reading`, opened by config.middleware) they
# are read once; elsewhere (services, the sweep, a test) every question reads them anew.
_read_memberships: ContextVar[dict[int, list[Membership]] | None] = ContextVar("read_memberships", default=None)


@contextmanager
def one_reading() -> Iterator[None]:
    """Within this block each person's memberships are read once."""
    token = _read_memberships.set({})
    try:
        yield
    finally:
        _read_memberships.reset(token)


def forget_memberships() -> None:
    """Drop what this block has read: a membership was written (workflow.apps)."""
    read = _read_memberships.get()
    if read is not None:
        read.clear()


def memberships_of(user: Any) -> list[Membership]:
    """`user`'s memberships with their units: read once within `one_reading`."""
    read = _read_memberships.get()
    if read is None:
        return list(Membership.objects.filter(user=user).select_related("unit"))
    if user.pk not in read:
        read[user.pk] = list(Membership.objects.filter(user=user).select_related("unit"))
    return read[user.pk]


def _roles_and_paths(user: Any) -> list[tuple[str, str]]:
    return [(m.role, m.unit.path) for m in memberships_of(user)]


def _accused_ids(unit_paths: Iterable[str]) -> set[int]:
    """Units whose accusations these members may not see: their own and every unit above."""
    return {i for path in unit_paths for i in path_ids(path)}


def grants_for(actor: Any, case: Case) -> frozenset[str]:
    """Every permission `actor` holds on `case`, in one round trip (grants_for_cases). The
    case must come with its responsible_unit and village loaded (the service selects them
    with the lock)."""
    return grants_for_cases(actor, [case])[case.pk]


def _by_role(memberships: list[tuple[str, str]], case: Case) -> set[str]:
    """What (role, unit path) memberships give on `case` by role alone."""
    held: set[str] = set()
    responsible, village = case.responsible_unit.path, case.village.path if case.village_id else None
    for role, path in memberships:
        if responsible == path:
            held |= OWN_UNIT.get(role, frozenset())
        elif responsible.startswith(path):
            held |= SUBTREE.get(role, frozenset())
            if responsible[:responsible.rstrip("/").rfind("/") + 1] == path:  # the unit right above
                held |= PARENT.get(role, frozenset())
        if village == path:
            held |= OWN_UNIT.get(role, frozenset()) & VILLAGE_ONLY
        elif village is not None and village.startswith(path):
            held |= SUBTREE.get(role, frozenset()) & VILLAGE_ONLY
            if role in CONCEALMENT_DECIDERS:
                held.add(DECIDE_CONCEALMENT)
    return held


def cases_with_role_grant(actor: Any, permission: str, cases: Iterable[Case]) -> set[int]:
    """The ids of `cases` on which `actor` holds `permission` by role, in one query for
    any number of cases: for a list that offers an operation no per-case grant gives
    (a supervision order on the board). The cases come with responsible_unit and village."""
    cases = list(cases)
    if actor.is_superuser:
        return {case.pk for case in cases}
    if not actor.is_active:
        return set()
    memberships = _roles_and_paths(actor)
    accused = _accused_ids(path for _, path in memberships)
    return {case.pk for case in cases
            if case.accused_unit_id not in accused and permission in _by_role(memberships, case)}


def holding(user: Any, permission: str) -> Any:
    """The cases `user` may see on which they hold `permission` through the responsible
    unit (a role there or above it, as `_by_role` gives it) or through a grant of the case
    (assignee, lead department): `grants_for` for a whole list, in one query. The lists of
    work — 待受理, supervision orders to answer — ask it. A case's village gives its people
    only VILLAGE_ONLY (viewing and notes) and the concealment decision, which are no work
    to list."""
    cases = visible_to(user)
    if user.is_superuser:
        return cases
    memberships = memberships_of(user)
    held = Q(responsible_unit_id__in=[m.unit_id for m in memberships if permission in OWN_UNIT.get(m.role, ())])
    beneath = Q()
    for m in memberships:
        if permission in SUBTREE.get(m.role, ()):
            beneath |= Q(path__startswith=m.unit.path) & ~Q(pk=m.unit_id)
    if beneath:
        held |= Q(responsible_unit_id__in=OrgUnit.objects.filter(beneath).values("pk"))
    above = [m.unit_id for m in memberships if permission in PARENT.get(m.role, ())]
    if above:  # the unit right above the responsible one (PARENT: a petition's review)
        held |= Q(responsible_unit__parent_id__in=above)
    held |= Q(Exists(CaseUserObjectPermission.objects.filter(
        content_object=OuterRef("pk"), user=user, permission__codename=permission)))
    held |= Q(Exists(CaseGroupObjectPermission.objects.filter(
        content_object=OuterRef("pk"), group__unit__id__in=[m.unit_id for m in memberships],
        permission__codename=permission)))
    if permission in RECUSED_KEEP:
        return cases.filter(held)
    return cases.filter(held).exclude(pk__in=recused_cases(user))  # 回避, as grants_for


def visible_to(user: Any) -> Any:
    """The cases `user` may see: the one selection every list, detail, count and export
    starts from."""
    return visible_cases(Case.objects.all(), user)


def visible_cases(queryset: Any, user: Any) -> Any:
    """The cases `user` may see. Anything else is answered with 404, never 403."""
    if user is None or not user.is_authenticated or not user.is_active:
        return queryset.none()
    if user.is_superuser:
        return queryset
    memberships = memberships_of(user)
    unit_ids = [m.unit_id for m in memberships]
    own = [m.unit_id for m in memberships if VIEW in OWN_UNIT.get(m.role, frozenset())]
    subtree = [m.unit.path for m in memberships if VIEW in SUBTREE.get(m.role, frozenset())]
    reach = Q(responsible_unit_id__in=own) | Q(village_id__in=own)
    if subtree:
        # The units' ids, not a join on their paths: the join visited every selected case
        # twice more, and kept the database from counting open cases from an index alone.
        below = Q()
        for path in subtree:
            below |= Q(path__startswith=path)
        units = OrgUnit.objects.filter(below).values("pk")
        reach |= Q(responsible_unit_id__in=units) | Q(village_id__in=units)
    reach |= Q(
        Exists(
            CaseUserObjectPermission.objects.filter(
                content_object=OuterRef("pk"), user=user, permission__codename=VIEW
            )
        )
    )
    reach |= Q(
        Exists(
            CaseGroupObjectPermission.objects.filter(
                content_object=OuterRef("pk"), group__unit__id__in=unit_ids, permission__codename=VIEW
            )
        )
    )
    accused = _accused_ids(m.unit.path for m in memberships)
    return queryset.filter(reach).exclude(accused_unit_id__in=accused)


def can(actor: Any, permission: str, case: Case) -> bool:
    return permission in grants_for(actor, case)


REPORTING_ROLES = frozenset({Role.REPORTER, Role.MEDIATOR, Role.OFFICER, Role.SUPERVISOR})


def may_hold(unit: OrgUnit, kind: str) -> bool:
    """Whether `unit` may be the responsible unit of a case of `kind`. A village holds its
    own disputes: its villagers' committee sets up a people's mediation committee (人民调解
    法 第七条、第八条; 村民委员会组织法 第二条: it mediates disputes among villagers), which
    mediates them itself (小事不出村). A petition is brought to organs and units (信访工作条例
    第二条、第十七条), which a villagers' committee, a self-governing body, is not: it stays
    with the township or a unit above. A department leads a case; it is never responsible."""
    if unit.level == OrgUnit.Level.DEPARTMENT:
        return False
    return unit.level != OrgUnit.Level.VILLAGE or kind == Case.Kind.DISPUTE


def can_report(actor: Any, case: Case) -> bool:
    """Whether `actor` may register `case` (unsaved) for its village and responsible unit.
    Registration is for one's own units and their villages: a member of the village, for
    the township above it (or, for an accusation, the unit above the one accused) or, for
    a dispute, for the village's own committee (may_hold); an officer or supervisor, for
    their unit or one beneath it. The village is always beneath the responsible unit."""
    village, responsible = case.village, case.responsible_unit
    if not may_hold(responsible, case.kind):
        return False
    if actor is None or actor.is_superuser:
        return True
    if village is not None and not village.path.startswith(responsible.path):
        return False
    routed = {village.parent_id, village.pk} if village is not None else set()
    if case.accused_unit_id is not None:
        routed.add(case.accused_unit.parent_id)
    for m in memberships_of(actor):
        if m.role not in REPORTING_ROLES:
            continue
        if village is not None and m.unit_id == village.pk and responsible.pk in routed:
            return True
        if m.role in (Role.OFFICER, Role.SUPERVISOR) and responsible.path.startswith(m.unit.path):
            return True
    return False


def reporting_units(actor: Any) -> Any:
    """The villages and units `actor` may register cases for (what can_report allows):
    their own village, or any unit beneath where they are an officer or supervisor."""
    memberships = [m for m in memberships_of(actor) if m.role in REPORTING_ROLES]
    reach = Q(pk__in=[m.unit_id for m in memberships if m.unit.level == OrgUnit.Level.VILLAGE])
    for m in memberships:
        if m.role in (Role.OFFICER, Role.SUPERVISOR):
            reach |= Q(path__startswith=m.unit.path)
    if not memberships:
        return OrgUnit.objects.none()
    return OrgUnit.objects.filter(reach).exclude(level=OrgUnit.Level.DEPARTMENT).order_by("path")


# 当场调解、即调即结: a dispute settled the moment it is brought is registered, accepted,
# mediated and resolved at once by one person, who takes every one of those steps
# (workflow.services.settle_on_the_spot): registers it (can_report), accepts it in its
# responsible unit (an officer there, by OWN_UNIT: a township's 综治办 officer, a
# village's 调委会主任) and carries it (assignable_users: then the assignee's grants
# start the mediation and resolve it).
SETTLING_ROLES = (Role.OFFICER,)


def may_settle_on_the_spot(actor: Any) -> bool:
    """Whether the intake offers `actor` to settle on the spot: an officer of a township
    or a village, whose cases they accept and may carry."""
    return (actor is not None and actor.is_authenticated and actor.is_active
            and Membership.objects.filter(user=actor, role__in=SETTLING_ROLES)
            .exclude(unit__level=OrgUnit.Level.DEPARTMENT).exists())


def can_settle_on_the_spot(actor: Any, case: Case) -> bool:
    """Whether `actor` may settle `case` (unsaved, or just registered) on the spot: they
    may register it, accept it by their role in its responsible unit, and be given it."""
    if actor is None or not actor.is_active or case.kind != Case.Kind.DISPUTE or not can_report(actor, case):
        return False
    memberships = _roles_and_paths(actor)
    return ("accept_case" in _by_role(memberships, case)
            and assignable_users(case).filter(pk=actor.pk).exists())


def settling_lead_departments(actor: Any) -> Any:
    """The departments that may lead a case `actor` settles on the spot (lead_departments
    of the units where they may): the choices the intake page offers before the case
    exists; the acceptance checks the one chosen against the case itself."""
    units = OrgUnit.objects.filter(memberships__user=actor, memberships__role__in=SETTLING_ROLES)
    above = {pk for unit in units for pk in unit.ancestor_ids}
    return OrgUnit.objects.filter(level=OrgUnit.Level.DEPARTMENT, parent_id__in=above).order_by("path")


# Who may carry, lead and hear of a case.

# The roles a case can be handed to: they may then take it forward (start mediation,
# resolve, follow up). A viewer, a village worker or a supervisor could not.
CARRYING_ROLES = (Role.MEDIATOR, Role.OFFICER, Role.LIAISON)


def _beneath_accused(case: Case) -> Q:
    """Users with a membership at or beneath the unit an accusation accuses (第三十条)."""
    return Q(memberships__unit__path__startswith=case.accused_unit.path)


def assignable_users(case: Case, lead_department: Any = None) -> Any:
    """People who may be given `case`: the mediators, officers and department liaisons of
    its responsible unit or a unit beneath it, and those of its lead department (the one
    given, else the case's); never anyone at or beneath the unit an accusation accuses."""
    users = get_user_model().objects.filter(
        Q(memberships__unit__path__startswith=case.responsible_unit.path)
        | Q(memberships__unit=lead_department or case.lead_department_id or 0),
        memberships__role__in=CARRYING_ROLES,
        is_active=True,
    )
    if case.accused_unit_id is not None:
        users = users.exclude(_beneath_accused(case))
    # 回避 (RECUSED_KEEP): never a party to the case. A case not saved yet (a ledger's row
    # being checked for import) has no parties to match.
    if case.pk is not None:
        users = users.exclude(staff_profile__id_number__in=Party.objects.filter(case=case).exclude(id_number="")
                              .values("id_number"))
    return users.distinct()


def lead_departments(case: Case) -> Any:
    """Departments that may lead `case` (谁主管谁负责): those of its responsible unit and of
    the units above it — a township's own and the county's — never the one an accusation
    accuses or one beneath it."""
    departments = OrgUnit.objects.filter(level=OrgUnit.Level.DEPARTMENT,
                                         parent_id__in=case.responsible_unit.ancestor_ids)
    if case.accused_unit_id is not None:
        departments = departments.exclude(path__startswith=case.accused_unit.path)
    return departments


def co_department_choices(case: Case) -> Any:
    """Departments that may co-handle `case` (联调) beside its lead: those that may lead it
    (lead_departments, the same reach), never the lead itself."""
    return lead_departments(case).exclude(pk=case.lead_department_id or 0)


def co_departments_of(actor: Any, case: Case) -> Any:
    """The co-handling departments of `case` whose part `actor` records: those they are a
    member of; every one for the system (None) or a superuser."""
    departments = case.co_departments.all()
    if actor is None or actor.is_superuser:
        return departments
    return departments.filter(memberships__user=actor).distinct()


def told(case: Case, users: Any) -> Any:
    """Of `users` (a queryset of users), those who may hear of `case`: nobody at or
    beneath the unit an accusation accuses, whatever their role."""
    return users if case.accused_unit_id is None else users.exclude(_beneath_accused(case))


def told_ids(case: Case, user_ids: set[int]) -> set[int]:
    """`told` for a set of user ids."""
    if case.accused_unit_id is None or not user_ids:
        return user_ids
    return set(told(case, get_user_model().objects.filter(pk__in=user_ids)).values_list("pk", flat=True))


# The units a person reaches, by role: what the pages offer to choose from.

REVIEWING_ROLES = (Role.OFFICER, Role.SUPERVISOR, Role.VIEWER)
COUNTY_AND_TOWNSHIPS = (OrgUnit.Level.COUNTY, OrgUnit.Level.TOWNSHIP)


def units_reached(user: Any, roles: Iterable[str] | None = None) -> Any:
    """The units at or beneath those where `user` holds one of `roles` (any role when
    None), in tree order."""
    if user.is_superuser:
        return OrgUnit.objects.order_by("path")
    roles = None if roles is None else frozenset(roles)  # asked once per membership
    reach = Q(pk__in=[])
    for m in memberships_of(user):
        if roles is None or m.role in roles:
            reach |= Q(path__startswith=m.unit.path)
    return OrgUnit.objects.filter(reach).order_by("path")


def supervised_units(user: Any) -> Any:
    """The units a supervisor presses on (督办), each with its subtree: where they are a
    supervisor (every top unit for a superuser)."""
    if user.is_superuser:
        return OrgUnit.objects.filter(parent__isnull=True).order_by("path")
    return OrgUnit.objects.filter(memberships__user=user, memberships__role=Role.SUPERVISOR).order_by("path")


def may_supervise(user: Any) -> bool:
    if not user.is_authenticated:
        return False
    if user.is_superuser:
        return supervised_units(user).exists()
    return any(m.role == Role.SUPERVISOR for m in memberships_of(user))


def reviewed_units(user: Any, levels: tuple[str, ...] = COUNTY_AND_TOWNSHIPS) -> Any:
    """Units of these levels whose figures the person reviews (meeting, ledgers,
    assessment, dashboard): at or beneath where they are an officer, supervisor or viewer."""
    return units_reached(user, REVIEWING_ROLES).filter(level__in=levels)


def may_review(user: Any) -> bool:
    return user.is_authenticated and reviewed_units(user).exists()


# Importing a legacy ledger registers its cases and takes their recorded steps: the work
# of a unit's officers and supervisors (who register cases, can_report), never of a
# viewer, who only reads.
IMPORTING_ROLES = (Role.OFFICER, Role.SUPERVISOR)


def importing_units(user: Any, levels: tuple[str, ...] = (OrgUnit.Level.TOWNSHIP,)) -> Any:
    """Units of these levels into which the person imports legacy ledgers: at or beneath
    where they are an officer or supervisor."""
    return units_reached(user, IMPORTING_ROLES).filter(level__in=levels)


def may_import(user: Any) -> bool:
    return user.is_authenticated and importing_units(user).exists()


def may_import_into(user: Any, unit: OrgUnit | None) -> bool:
    """Whether `user` imports a legacy ledger into `unit` (a township, or a county); no
    unit means every unit: for the system (no user) or a superuser only."""
    if user is None:
        return True
    if not user.is_active:
        return False
    if unit is None:
        return user.is_superuser
    return importing_units(user, COUNTY_AND_TOWNSHIPS).filter(pk=unit.pk).exists()


def may_assign_in_bulk(user: Any) -> bool:
    return user.is_authenticated and (
        user.is_superuser or any(m.role in (Role.OFFICER, Role.SUPERVISOR) for m in memberships_of(user)))


def filing_villages(user: Any) -> Any:
    """Villages whose monthly return the person files: their own as its village worker,
    or those of their township as its officer."""
    villages = OrgUnit.objects.filter(level=OrgUnit.Level.VILLAGE)
    if user is None or user.is_superuser:
        return villages.order_by("path")
    memberships = memberships_of(user)
    own = [m.unit_id for m in memberships if m.role == Role.REPORTER]
    townships = [m.unit_id for m in memberships if m.role == Role.OFFICER]
    return (villages.filter(pk__in=own) | villages.filter(parent_id__in=townships)).order_by("path")


def may_file_return(user: Any, village: OrgUnit) -> bool:
    return user is None or filing_villages(user).filter(pk=village.pk).exists()


ADMINISTERING = ("cases.change_orgunit", "auth.change_user", "workflow.change_deadlinerule", "workflow.change_calendarday")


def may_administer(user: Any) -> bool:
    """Whether the menu offers the administration: staff who may change units, users,
    rules or the calendar."""
    return user.is_active and user.is_staff and (user.is_superuser or any(user.has_perm(p) for p in ADMINISTERING))


def may_file_returns(user: Any) -> bool:
    return user.is_authenticated and filing_villages(user).exists()


# Cases whose grants one query reads (two lists of ids, within every database's limit on parameters).
GRANTS_AT_ONCE = 5000


def grants_for_cases(actor: Any, cases: Iterable[Case]) -> dict[int, frozenset[str]]:
    """Every permission `actor` holds on each of `cases` (which come with responsible_unit
    and village loaded), by case id: by role, and by the cases' per-case grants to the
    actor, directly or through the units they belong to; in one query for up to
    GRANTS_AT_ONCE cases (guardian's own checker takes several queries per case, and
    dominated the cost of a transition). The transition service asks it for one case; a
    list that asks the state machine what each row offers (the monthly meeting), for all."""
    cases = list(cases)
    if actor is None or actor.is_superuser:
        return {case.pk: ALL_PERMISSIONS for case in cases}
    if not actor.is_active:
        return {case.pk: frozenset() for case in cases}
    m, u, p = Membership._meta.db_table, OrgUnit._meta.db_table, "auth_permission"
    ug, gg = CaseUserObjectPermission._meta.db_table, CaseGroupObjectPermission._meta.db_table
    pa, sp = Party._meta.db_table, StaffProfile._meta.db_table
    rows: list[tuple[str, int, str, str]] = []
    ids = [case.pk for case in cases]
    # At least one round trip, for the memberships, however few the cases.
    for start in range(0, max(len(ids), 1), GRANTS_AT_ONCE):
        chunk = ids[start:start + GRANTS_AT_ONCE] or [0]
        marks = ", ".join(["%s"] * len(chunk))
        sql = (
            f"SELECT 'm', 0, m.role, u.path FROM {m} m JOIN {u} u ON u.id = m.unit_id WHERE m.user_id = %s "
            f"UNION ALL SELECT 'g', g.content_object_id, p.codename, '' FROM {ug} g JOIN {p} p ON p.id = g.permission_id "
            f"WHERE g.user_id = %s AND g.content_object_id IN ({marks}) "
            f"UNION ALL SELECT 'g', g.content_object_id, p.codename, '' FROM {gg} g JOIN {p} p ON p.id = g.permission_id "
            f"JOIN {u} u ON u.group_id = g.group_id JOIN {m} m ON m.unit_id = u.id "
            f"WHERE m.user_id = %s AND g.content_object_id IN ({marks}) "
            # 回避: the cases among these the actor is a party to (RECUSED_KEEP).
            f"UNION ALL SELECT 'r', pa.case_id, '', '' FROM {pa} pa JOIN {sp} sp ON sp.id_number = pa.id_number "
            f"WHERE sp.user_id = %s AND sp.id_number <> '' AND pa.case_id IN ({marks})"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [actor.pk, actor.pk, *chunk, actor.pk, *chunk, actor.pk, *chunk])
            rows += cursor.fetchall()
    memberships = list({(role, path) for src, _, role, path in rows if src == "m"})
    accused = _accused_ids(path for _, path in memberships)
    held: dict[int, set[str]] = {}
    for src, case_id, codename, _ in rows:
        if src == "g":
            held.setdefault(case_id, set()).add(codename)
    grants = {case.pk: frozenset() if case.accused_unit_id is not None and case.accused_unit_id in accused
              else frozenset(held.get(case.pk, set()) | _by_role(memberships, case)) for case in cases}
    parties_to = {case_id for src, case_id, _, _ in rows if src == "r"}
    return {pk: held_here & RECUSED_KEEP if pk in parties_to else held_here for pk, held_here in grants.items()}



# The paper of the monthly screening cycle: the meeting's minutes and the monthly table
# sent upward are written by officers and supervisors (IMPORTING_ROLES: those who act for
# a unit, not a viewer, who only reads).


def may_keep_minutes(user: Any, township: OrgUnit) -> bool:
    """Whether `user` writes and closes the minutes of `township`'s monthly meeting: an
    officer or supervisor of the township or of a unit above it, among those who review it
    (reviewed_units). A viewer reviews the township and reads its minutes, but writes none."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    return (units_reached(user, IMPORTING_ROLES).filter(pk=township.pk, level=OrgUnit.Level.TOWNSHIP).exists())


def may_read_minutes(user: Any, township: OrgUnit) -> bool:
    """Whether `user` reads `township`'s minutes and monthly tables: whoever reviews it."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    return reviewed_units(user, (OrgUnit.Level.TOWNSHIP,)).filter(pk=township.pk).exists()


def may_submit_monthly(user: Any, unit: OrgUnit) -> bool:
    """Whether `user` submits `unit`'s monthly table upward (报送): an officer or supervisor
    of the township itself, which answers for its figures; the county above receives the
    table and does not send it for the township."""
    if user is None or not user.is_authenticated or not user.is_active or unit.level != OrgUnit.Level.TOWNSHIP:
        return False
    if user.is_superuser:
        return True
    return Membership.objects.filter(user=user, unit=unit, role__in=IMPORTING_ROLES).exists()


# ---------------------------------------------------------------------------------------
# 走访 (household visits, issue 18): officials going out to households (not 来访, people
# coming in, which is a case's source). A visit may raise a case, which is registered
# through workflow.services.report_case and so asks can_report again; the villages offered
# here are those the person registers for (reporting_units), so whoever records a visit
# may register what it raises. Visits are records of a village, read by whoever reaches it.


def visiting_villages(user: Any) -> Any:
    """Villages where `user` records household visits: the villages they register cases
    for (reporting_units: their own village, as its worker, mediator or officer; the
    villages beneath their township or county as its officer or supervisor)."""
    villages = OrgUnit.objects.filter(level=OrgUnit.Level.VILLAGE)
    if user is None or user.is_superuser:
        return villages.order_by("path")
    if not user.is_authenticated or not user.is_active:
        return villages.none()
    return reporting_units(user).filter(level=OrgUnit.Level.VILLAGE)


def may_record_visit(user: Any, village: OrgUnit) -> bool:
    return visiting_villages(user).filter(pk=village.pk).exists()


def visit_reading_villages(user: Any) -> Any:
    """Villages whose visits `user` reads: those at or beneath any unit where they hold a
    role (units_reached). A department's people reach no village through it."""
    if user is None or not user.is_authenticated or not user.is_active:
        return OrgUnit.objects.none()
    return units_reached(user).filter(level=OrgUnit.Level.VILLAGE)


def may_read_visits(user: Any) -> bool:
    return visit_reading_villages(user).exists()


def visits_visible_to(user: Any, visits: Any) -> Any:
    """Of `visits` (a queryset of screening.Visit, which sits above this module), those of
    the villages `user` reads: the one selection the pages and the API list visits from."""
    if user is not None and user.is_authenticated and user.is_active and user.is_superuser:
        return visits
    return visits.filter(village__in=visit_reading_villages(user).values("pk"))


# The departments a person may name (issue 19): the forms of a grid app list them before
# a case is chosen; the one named is checked against the case itself (lead_departments).

# The grants whose operations name a department: accept (the lead), name a co-handling
# department (联调), decide an objection (a new lead).
NAMING_DEPARTMENTS = frozenset({"accept_case", "name_co_departments", "decide_objection_case"})


def nameable_departments(user: Any) -> Any:
    """The departments `user` may name to lead or co-handle a case: lead_departments of
    the units whose cases their roles let them accept, route or share (OWN_UNIT there,
    SUBTREE beneath), i.e. the departments of those units and of the units above them."""
    departments = OrgUnit.objects.filter(level=OrgUnit.Level.DEPARTMENT).order_by("path")
    if user is None or user.is_superuser:
        return departments
    if not user.is_authenticated or not user.is_active:
        return departments.none()
    holders = Q(pk__in=[])
    for m in memberships_of(user):
        if OWN_UNIT.get(m.role, frozenset()) & NAMING_DEPARTMENTS:
            holders |= Q(pk=m.unit_id)
        if SUBTREE.get(m.role, frozenset()) & NAMING_DEPARTMENTS:
            holders |= Q(path__startswith=m.unit.path)
    above = {pk for path in OrgUnit.objects.filter(holders).values_list("path", flat=True) for pk in path_ids(path)}
    return departments.filter(parent_id__in=above)


def listable_on_return(user: Any, village: OrgUnit, period: Any) -> Any:
    """The cases `user` may list on `village`'s screening return for the month `period`
    (a cases.periods.Period): the village's cases registered in that month that they see.
    The returns page's form offers these, and the API accepts no other."""
    return visible_to(user).filter(village=village, reported_at__gte=period.start, reported_at__lt=period.end)
