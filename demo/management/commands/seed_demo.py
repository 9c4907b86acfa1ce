"""Load a believable demo county: 青阳县 with its departments, two townships (柳林镇 with a
dozen villages and its stations, and the small 桃源镇), a person in every role sharing one
known password, and a few hundred disputes and petitions in every stage.

Every case is registered with workflow.services.report_case() and moved with
workflow.services.transition(), by the person who would do it, at backdated moments: the
audit trail, the clocks and the notifications are exactly what real use would have left,
and cases left too long in an open stage are overdue now, as they would be.
"""

from __future__ import annotations

import json
import random
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from time import monotonic
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils import timezone

from cases.models import Case, Membership, OrgUnit, Role, ScreeningReturn
from cases.periods import parse_month
from cases.validators import id_check_char
from screening import returns as screening
from workflow import counts, services
from workflow.deadlines import PLAN, pick_rule, profile_chain, schedule, unit_profile
from workflow.errors import CaseOperationError
from workflow.models import Deadline, DeadlineRule, SupervisionOrder
from workflow.refdata import invalidate_all
from workflow.return_clocks import open_return_deadlines, return_clock
from workflow.sweep import sweep

DEFAULT_PASSWORD = "tiaochu-demo"
# Cases are spread over this many days before now.
WINDOW_DAYS = 150
PETITION_SHARE = 0.3
RESPONDENT_BIRTH_YEARS = (1958, 1996)
# Cases registered longer ago than this came before the intake asked for the facts the
# printed forms need (when and where, a party's ethnicity and occupation): their forms
# print blanks, as older cases' do.
FACTS_SINCE_DAYS = 110
# A party's ethnicity in a county of southern Anhui: nearly all 汉族, a few 回族 and 畲族.
ETHNICITY_WEIGHTS = (("汉族", 96), ("回族", 3), ("畲族", 1))
OCCUPATION_WEIGHTS = (("农民", 55), ("务工人员", 15), ("个体工商户", 10), ("退休职工", 6), ("无业", 6),
                      ("个体运输户", 3), ("教师", 2), ("村民小组长", 3))

L = OrgUnit.Level
S = Case.Stage

ROLE_ZH = {
    Role.REPORTER: "网格员",
    Role.MEDIATOR: "调解员",
    Role.OFFICER: "经办人",
    Role.SUPERVISOR: "督办领导",
    Role.LIAISON: "部门联络员",
    Role.VIEWER: "只读查看",
}
STAGE_ZH = {
    S.REPORTED: "已登记",
    S.INVESTIGATING: "调查核实",
    S.MEDIATING: "调解中",
    S.RESOLVED: "已化解",
    S.ESCALATED: "已上报",
    S.CLOSED: "已办结",
}
CLOSURE_ZH = {
    Case.Closure.VISITED: "回访办结",
    Case.Closure.REFERRED: "移交",
    Case.Closure.REJECTED: "不予受理",
    Case.Closure.WITHDRAWN: "撤回",
}


# ---------------------------------------------------------------------------------------
# The county: units and the people in them.


@dataclass(frozen=True)
class Staff:
    username: str
    name: str
    role: str


@dataclass(frozen=True)
class DeptSpec:
    suffix: str
    name: str
    # What the department handles; routing by 谁主管谁负责 looks departments up by key.
    key: str
    liaison: Staff


@dataclass(frozen=True)
class VillageSpec:
    suffix: str
    name: str
    worker: Staff


@dataclass(frozen=True)
class TownshipSpec:
    suffix: str
    name: str
    short: str
    staff: tuple[Staff, ...]
    villages: tuple[VillageSpec, ...]
    departments: tuple[DeptSpec, ...]
    # Share of the cases that happen here.
    weight: float


# The demo county — its units, people and departments — and the stories and words of its
# cases are data (demo/data/*.json); this module turns them into units, people and cases.
DATA = Path(__file__).resolve().parents[2] / "data"


def frozen(value: Any) -> Any:
    """JSON's lists as the tuples the seeder draws from, all the way down."""
    if isinstance(value, list):
        return tuple(frozen(v) for v in value)
    if isinstance(value, dict):
        return {k: frozen(v) for k, v in value.items()}
    return value


def load(name: str) -> dict[str, Any]:
    return frozen(json.loads((DATA / f"{name}.json").read_text(encoding="utf-8")))


def staff(spec: dict[str, Any]) -> Staff:
    return Staff(**spec)


def department(spec: dict[str, Any]) -> DeptSpec:
    return DeptSpec(**{**spec, "liaison": staff(spec["liaison"])})


def township(spec: dict[str, Any]) -> TownshipSpec:
    return TownshipSpec(**{**spec, "staff": tuple(map(staff, spec["staff"])),
                           "villages": tuple(VillageSpec(**{**v, "worker": staff(v["worker"])}) for v in spec["villages"]),
                           "departments": tuple(map(department, spec["departments"]))})


COUNTY = load("county")
COUNTY_CODE, COUNTY_NAME = COUNTY["code"], COUNTY["name"]
COUNTY_STAFF = tuple(map(staff, COUNTY["staff"]))
COUNTY_DEPARTMENTS = tuple(map(department, COUNTY["departments"]))
TOWNSHIPS = tuple(map(township, COUNTY["townships"]))
# A township without its own station hands the matter to the county department.
COUNTY_KEY_FOR: dict[str, str] = COUNTY["county_key_for"]

# ---------------------------------------------------------------------------------------
# What the cases are about: templates in the essay's kinds of trouble.


@dataclass(frozen=True)
class Template:
    key: str
    kind: str
    category: str
    weight: float
    title: str
    summary: str
    # Lead departments by key, most fitting first.
    lead: tuple[str, ...]
    amount: tuple[int, int] | None = None
    people: tuple[int, int] = (1, 2)
    group: float = 0.0
    legacy: float = 0.0
    repeat: float = 0.0
    petition_type: str = ""
    # "person", or an organisation's name (a format string), or "" for petitions.
    respondent: str = "person"
    sources: tuple[str, ...] = ()
    villages: tuple[str, ...] = ()
    # Probabilities of 较大 and 重大 risk.
    risk: tuple[float, float] = (0.05, 0.0)
    # "female" or "male" when the story needs it, else either.
    applicant: str = ""
    # A relative of the applicant named in the story ({kin}) shares their surname,
    # except a husband.
    kin_is_spouse: bool = False
    birth_years: tuple[int, int] = (1950, 1998)
    accuses_village: bool = False


DISPUTE, PETITION = Case.Kind.DISPUTE, Case.Kind.PETITION
STORIES = load("stories")
WATER_VILLAGES, TOWN_VILLAGES = STORIES["water_villages"], STORIES["town_villages"]
TEMPLATES: tuple[Template, ...] = tuple(Template(**t) for t in STORIES["templates"])
TEMPLATE_BY_KEY = {t.key: t for t in TEMPLATES}

# ---------------------------------------------------------------------------------------
# Words for the steps.

NAMES, TEXTS = load("names"), load("texts")
SURNAMES, MALE_GIVEN, FEMALE_GIVEN = NAMES["surnames"], NAMES["male_given"], NAMES["female_given"]
COMPANIES, PROJECTS, LAKES, ROADS = NAMES["companies"], NAMES["projects"], NAMES["lakes"], NAMES["roads"]
ESTATES, SHOPS, ILLNESSES, ACCIDENTS = NAMES["estates"], NAMES["shops"], NAMES["illnesses"], NAMES["accidents"]
SITES, SPOTS, GROUPS = NAMES["sites"], NAMES["spots"], NAMES["groups"]
# GB/T 2260 codes of 青阳县 and its neighbours: most parties are local, some migrant workers.
AREA_CODES, MOBILE_PREFIXES = NAMES["area_codes"], NAMES["mobile_prefixes"]
FINDINGS, NOTES, SESSION_RECORDS = TEXTS["findings"], TEXTS["notes"], TEXTS["session_records"]
ESCALATE_REASONS, MAJOR_ESCALATE_REASON = TEXTS["escalate_reasons"], TEXTS["major_escalate_reason"]
SEND_BACK, REFER, REJECT = TEXTS["send_back"], TEXTS["refer"], TEXTS["reject"]
WITHDRAW, REOPEN, FOLLOW_UP = TEXTS["withdraw"], TEXTS["reopen"], TEXTS["follow_up"]
EXTENSION_REASONS, PAUSE_REASON = TEXTS["extension_reasons"], TEXTS["pause_reason"]
PETITION_OUTCOMES, RESOLUTIONS = TEXTS["petition_outcomes"], TEXTS["resolutions"]
GENERIC_RESOLUTION = TEXTS["generic_resolution"]
SUPERVISE, SUPERVISION_REPLIES = TEXTS["supervise"], TEXTS["supervision_replies"]

# ---------------------------------------------------------------------------------------
# How cases move: plans are lists of operations, with the days each step takes.

STAGE_AFTER = {
    "accept": S.INVESTIGATING,
    "reject": S.CLOSED,
    "start_mediation": S.MEDIATING,
    "resolve": S.RESOLVED,
    "escalate": S.ESCALATED,
    "escalate_fast": S.ESCALATED,
    "take_over": S.INVESTIGATING,
    "send_back": S.INVESTIGATING,
    "refer": S.CLOSED,
    "follow_up": S.CLOSED,
    "reopen": S.INVESTIGATING,
    "withdraw": S.CLOSED,
}
GAP_DAYS: dict[str, tuple[float, float]] = {
    "accept": (0.05, 2.5),
    "reject": (0.2, 3.0),
    "start_mediation": (1.0, 6.0),
    "session": (1.0, 8.0),
    "resolve": (2.0, 15.0),
    "follow_up": (4.0, 14.0),
    "escalate": (0.5, 6.0),
    # 重大 risk is reported upward within 2 hours.
    "escalate_fast": (0.02, 0.06),
    "take_over": (0.3, 2.5),
    "send_back": (0.5, 3.0),
    "assign": (0.1, 1.0),
    "refer": (3.0, 20.0),
    "withdraw": (1.0, 15.0),
    "reopen": (3.0, 12.0),
    "note": (0.3, 5.0),
    # Asked for when the clock is near its end, while it still runs.
    "request_extension": (12.0, 18.0),
    "decide_extension": (0.2, 2.0),
    "pause_deadline": (2.0, 6.0),
    "resume_deadline": (10.0, 25.0),
}

Plan = tuple[str, ...]
DISPUTE_PLANS: tuple[tuple[float, Plan], ...] = (
    (7, ()),
    (8, ("accept",)),
    (9, ("accept", "start_mediation", "session")),
    (6, ("accept", "start_mediation", "session", "resolve")),
    (3, ("accept", "escalate")),
    (1.5, ("escalate",)),
    (30, ("accept", "start_mediation", "session", "session", "resolve", "follow_up")),
    (6, ("accept", "resolve", "follow_up")),
    (4, ("accept", "start_mediation", "session", "refer")),
    (2, ("accept", "refer")),
    (5, ("reject",)),
    (2, ("withdraw",)),
    (3, ("accept", "start_mediation", "withdraw")),
    (2, ("accept", "escalate", "take_over", "start_mediation", "session", "resolve", "follow_up")),
    (2, ("accept", "escalate", "send_back", "start_mediation", "session", "resolve", "follow_up")),
    (1, ("accept", "escalate", "take_over")),
    (2, ("accept", "start_mediation", "resolve", "reopen", "start_mediation", "session", "resolve", "follow_up")),
)
PETITION_PLANS: tuple[tuple[float, Plan], ...] = (
    (7, ()),
    (10, ("accept",)),
    (4, ("accept", "start_mediation", "session")),
    (6, ("accept", "resolve")),
    (3, ("accept", "escalate")),
    (30, ("accept", "resolve", "follow_up")),
    (6, ("accept", "start_mediation", "session", "resolve", "follow_up")),
    (4, ("accept", "refer")),
    (6, ("reject",)),
    (4, ("withdraw",)),
    (2, ("accept", "withdraw")),
    (2, ("accept", "escalate", "take_over", "resolve", "follow_up")),
    (2, ("accept", "escalate", "send_back", "resolve", "follow_up")),
    (1, ("accept", "resolve", "reopen", "resolve", "follow_up")),
)
MAJOR_PLANS: tuple[tuple[float, Plan], ...] = (
    (3, ("escalate_fast", "take_over", "start_mediation", "session", "resolve", "follow_up")),
    (2, ("escalate_fast", "send_back", "assign", "start_mediation", "session", "resolve", "follow_up")),
    (1, ("escalate_fast", "take_over", "start_mediation", "session")),
)


@dataclass(frozen=True)
class Fixed:
    """A case the demo always has, so every path is shown however few cases are asked for.
    overdue: whether its open clock has run out now (None for a closed case); warned:
    its open clock is in its warning window now (黄牌: past its warning time, due a day
    or more from now), which needs a plan ending on the step that opened that clock."""

    template: str
    plan: Plan
    overdue: bool | None = None
    township: str = "LL"
    county_level: bool = False
    risk: str | None = None
    warned: bool = False


FIXED: tuple[Fixed, ...] = (
    Fixed("land_rent", (), False),
    Fixed("neighbours_drain", (), True),
    Fixed("acquisition_share", (), True),
    Fixed("wage_arrears", ("accept", "note"), True, risk=Case.Risk.SIGNIFICANT),
    # warned: yellow cards, so the demo shows some whenever it runs (an investigation in
    # 桃源镇, a follow-up visit and a reopened investigation in 柳林镇), each near the end of
    # its clock. Only their days move: the random draws, and so every other case, stay.
    Fixed("family_support", ("accept",), False, township="TY", warned=True),
    Fixed("water_recontract",
          ("accept", "start_mediation", "session", "request_extension", "decide_extension", "session"), False),
    Fixed("medical_center",
          ("accept", "start_mediation", "pause_deadline", "resume_deadline", "session", "resolve", "follow_up")),
    Fixed("clinic", ("accept", "start_mediation", "session", "pause_deadline"), False),
    Fixed("wage_single", ("accept", "start_mediation", "session"), True),
    Fixed("teacher_single", ("accept", "start_mediation", "session", "note"), True),
    Fixed("homestead", ("accept", "start_mediation", "session", "resolve"), True),
    Fixed("traffic", ("accept", "resolve"), False, warned=True),
    Fixed("wage_petition", ("accept", "escalate"), True, risk=Case.Risk.SIGNIFICANT),
    Fixed("resettlement", ("escalate",), False, risk=Case.Risk.SIGNIFICANT),
    Fixed("crop_compensation",
          ("escalate_fast", "take_over", "start_mediation", "session", "resolve", "follow_up"), risk=Case.Risk.MAJOR),
    Fixed("work_accident", ("escalate_fast", "take_over", "start_mediation", "session"), False, risk=Case.Risk.MAJOR),
    Fixed("teachers_group", ("accept", "note", "escalate", "send_back", "note", "resolve", "follow_up"),
          risk=Case.Risk.SIGNIFICANT),
    Fixed("dust_noise", ("escalate", "send_back", "assign", "start_mediation", "session", "resolve", "follow_up"),
          risk=Case.Risk.SIGNIFICANT),
    Fixed("land_renewal", ("accept", "start_mediation", "session", "escalate", "refer"), risk=Case.Risk.SIGNIFICANT),
    Fixed("land_boundary",
          ("accept", "start_mediation", "resolve", "reopen", "start_mediation", "session", "resolve", "follow_up")),
    Fixed("neighbours_road", ("accept", "start_mediation", "resolve", "reopen"), False, warned=True),
    Fixed("dibao", ("accept", "note", "request_extension", "decide_extension", "resolve", "follow_up")),
    Fixed("work_injury", ("accept", "start_mediation", "session", "refer")),
    Fixed("build_contract", ("reject",)),
    Fixed("build_permit", ("reject",)),
    Fixed("streetlight", ("accept", "resolve", "follow_up")),
    Fixed("divorce", ("withdraw",)),
    Fixed("partnership", ("accept", "start_mediation", "withdraw")),
    Fixed("village_finance", ("accept", "resolve", "follow_up")),
    Fixed("land_registration", ("accept", "resolve", "follow_up"), county_level=True),
    Fixed("enterprise_pension", ("accept",), True, county_level=True),
)


# ---------------------------------------------------------------------------------------
# Building it.


def display_width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def pad(text: str, width: int) -> str:
    return text + " " * max(width - display_width(text), 0)


@dataclass
class Unit:
    """An org unit with the people the seed needs to pick actors from."""

    org: OrgUnit
    short: str = ""
    by_role: dict[str, list[Any]] = field(default_factory=dict)
    departments: dict[str, OrgUnit] = field(default_factory=dict)
    villages: list[OrgUnit] = field(default_factory=list)

    def people(self, role: str) -> list[Any]:
        return self.by_role.get(role, [])


@dataclass
class Story:
    """One case to tell: what it is about, and how it moves."""

    template: Template
    plan: Plan
    township: Unit
    village: OrgUnit
    county_level: bool
    overdue: bool | None
    ctx: dict[str, str]
    data: dict[str, Any]
    parties: list[dict[str, Any]]
    source: str
    warned: bool = False


class Seeder:
    def __init__(self, *, seed: int, password: str, now: datetime) -> None:
        self.rng = random.Random(seed)
        # The facts the forms print are drawn from a sequence of their own, so the cases,
        # their stories and their steps stay those the seed has always made.
        self.facts_rng = random.Random(f"facts-{seed}")
        self.password = password
        self.now = now
        self.accounts: list[tuple[str, str, str, str]] = []
        self.users_by_id: dict[int, Any] = {}
        self.units: dict[int, Unit] = {}
        self.liaison_of: dict[int, Any] = {}
        self.county: Unit
        self.townships: dict[str, Unit] = {}

    # The county, its units and people.

    def build_county(self) -> None:
        hashed = make_password(self.password)  # once: hashing is slow by design
        User = get_user_model()
        admin = User.objects.create(
            username="admin", first_name="系统管理员", is_staff=True, is_superuser=True, password=hashed
        )
        self.accounts.append(("admin", "系统管理员", "—", admin.first_name))

        def unit(code: str, name: str, level: str, parent: OrgUnit | None) -> OrgUnit:
            return OrgUnit.objects.create(code=code, name=name, level=level, parent=parent)

        # Only the administrator is staff: everyone else works in the pages, and the admin
        # (with its own login) is one door fewer to guard for them.
        def person(staff: Staff, org: OrgUnit) -> Any:
            user = User.objects.create(username=staff.username, first_name=staff.name, password=hashed)
            Membership.objects.create(user=user, unit=org, role=staff.role)
            self.users_by_id[user.pk] = user
            self.units[org.pk].by_role.setdefault(staff.role, []).append(user)
            self.accounts.append((staff.username, ROLE_ZH[staff.role], org.name, staff.name))
            return user

        county = unit(COUNTY_CODE, COUNTY_NAME, L.COUNTY, None)
        self.county = self.units[county.pk] = Unit(county, short="青阳")
        for staff in COUNTY_STAFF:
            person(staff, county)
        for dept in COUNTY_DEPARTMENTS:
            org = unit(f"{COUNTY_CODE}-{dept.suffix}", dept.name, L.DEPARTMENT, county)
            self.units[org.pk] = Unit(org)
            self.county.departments[dept.key] = org
            self.liaison_of[org.pk] = person(dept.liaison, org)
        for spec in TOWNSHIPS:
            code = f"{COUNTY_CODE}-{spec.suffix}"
            township = unit(code, spec.name, L.TOWNSHIP, county)
            entry = self.units[township.pk] = Unit(township, short=spec.short)
            self.townships[spec.suffix] = entry
            for staff in spec.staff:
                person(staff, township)
            for village in spec.villages:
                org = unit(f"{code}-{village.suffix}", village.name, L.VILLAGE, township)
                self.units[org.pk] = Unit(org)
                entry.villages.append(org)
                person(village.worker, org)
            for dept in spec.departments:
                org = unit(f"{code}-{dept.suffix}", dept.name, L.DEPARTMENT, township)
                self.units[org.pk] = Unit(org)
                entry.departments[dept.key] = org
                self.liaison_of[org.pk] = person(dept.liaison, org)

    # Cases.

    def build_cases(self, count: int) -> None:
        fixed = list(FIXED[:count])
        stories = [self.fixed_story(f) for f in fixed]
        # About 70 % disputes and 30 % petitions overall, the fixed cases included.
        petitions = max(round(count * PETITION_SHARE) - sum(s.template.kind == PETITION for s in stories), 0)
        kinds = [PETITION] * petitions + [DISPUTE] * max(count - len(fixed) - petitions, 0)
        self.rng.shuffle(kinds)
        stories += [self.random_story(kind) for kind in kinds[: count - len(fixed)]]
        for story in stories:
            self.tell(story)

    # Monthly screening returns.

    def build_returns(self) -> None:
        """The villages' returns for the last three months whose returns have fallen due:
        the earlier two all filed (nil where the village found nothing, and one village
        filing nil over a month it had disputes in: a concealment suspect); of the last,
        one filed late and two never, so the board shows overdue returns. Disputes that
        came by another channel are left off the returns, as villages leave them off."""
        months = []
        month = parse_month(timezone.localtime(self.now).date())
        while len(months) < 3:
            month = date(month.year - (month.month == 1), (month.month - 2) % 12 + 1, 1)
            clock = return_clock(self.townships["LL"].villages[0], month)
            if clock is not None and clock.due_at < self.now:
                months.insert(0, (month, clock))
        villages = [v for t in self.townships.values() for v in t.villages]
        found = defaultdict(list)
        for pk, village_id, reported, _source in Case.objects.filter(village__in=villages, source="screening") \
                .values_list("pk", "village_id", "reported_at", "source"):
            found[(village_id, parse_month(timezone.localtime(reported).date()))].append(pk)
        missing = {villages[3].pk, villages[7].pk}
        late, concealing = villages[5].pk, villages[1].pk
        for i, (month, clock) in enumerate(months):
            last = i == len(months) - 1
            for village in villages:
                if last and village.pk in missing:
                    continue
                if last and village.pk == late:
                    # After the due time, before the month closed and before now.
                    at = clock.due_at + min(timedelta(hours=12), (min(clock.closes_at, self.now) - clock.due_at) / 2)
                else:
                    opened = clock.due_at - timedelta(days=24)
                    at = opened + timedelta(hours=self.rng.uniform(2, 20 * 24))
                items = found.get((village.pk, month), [])
                nil = not items or (i == 0 and village.pk == concealing)
                worker = self.units[village.pk].people(Role.REPORTER)[0]
                screening.submit_return(
                    actor=worker, village=village, month=month, at=at, nil=nil,
                    items=[] if nil else [{"case": pk} for pk in items],
                    signed_off_by=self.name(male=self.rng.random() < 0.8),
                    note="本月未发现矛盾纠纷，实行零报告。" if nil else "",
                )
            # The clocks of the returns never filed: the sweep gives them their red cards.
            open_return_deadlines(month, villages)

    # Supervision (督办) and the sweep.

    def build_supervision(self) -> None:
        """The board's 督办: a supervisor of 柳林镇 presses, since yesterday, on the two of
        its cases overdue longest; one order has been answered, the other awaits its
        answer. Each stays open until the supervisor closes it."""
        township = self.townships["LL"].org
        late = list(Case.objects.open().filter(responsible_unit=township).exclude(stage=S.ESCALATED)
                    .filter(counts.overdue(self.now)).order_by("reported_at", "pk")[:2])
        for i, case in enumerate(late):
            last = case.events.order_by("-at").values_list("at", flat=True).first()
            at = self.snap(max(last, self.now - timedelta(days=1)), last)
            self.run(case.pk, "supervise", self.supervisor(case), {"instructions": self.rng.choice(SUPERVISE)}, at)
            if i == 0:
                order = case.supervision_orders.get()
                self.run(case.pk, "reply_supervision", self.assignee(self.case(case.pk)),
                         {"order": order.pk, "reply": self.rng.choice(SUPERVISION_REPLIES)}, self.snap(at, at))

    def sweep(self) -> None:
        """The deadline sweep as the server runs it, now: the yellow and red cards and
        escalations that have come are marked and their notifications written, so the
        workbenches and the alert counter show them at once (a warning that comes outside
        office hours waits for the next working morning, as it would)."""
        sweep(self.now)

    def fixed_story(self, fixed: Fixed) -> Story:
        template = TEMPLATE_BY_KEY[fixed.template]
        return self.make_story(
            template, fixed.plan, self.townships[fixed.township], fixed.county_level, fixed.overdue, fixed.risk,
            warned=fixed.warned,
        )

    def random_story(self, kind: str) -> Story:
        rng = self.rng
        candidates = [t for t in TEMPLATES if t.kind == kind]
        template = rng.choices(candidates, weights=[t.weight for t in candidates])[0]
        specs = list(TOWNSHIPS)
        township = self.townships[rng.choices(specs, weights=[s.weight for s in specs])[0].suffix]
        # Some petitions are brought straight to the county (县信访局 来访, 来信, 网上信访).
        county_level = kind == PETITION and rng.random() < 0.12 and not template.accuses_village
        significant, major = template.risk
        roll = rng.random()
        if roll < major:
            risk = Case.Risk.MAJOR
        elif roll < major + significant:
            risk = Case.Risk.SIGNIFICANT
        else:
            risk = Case.Risk.GENERAL
        if county_level and risk == Case.Risk.MAJOR:
            risk = Case.Risk.SIGNIFICANT  # nothing above the county to report to here
        if risk == Case.Risk.MAJOR:
            pool = MAJOR_PLANS
        else:
            pool = DISPUTE_PLANS if kind == DISPUTE else PETITION_PLANS
            if county_level:
                pool = tuple((w, p) for w, p in pool if "escalate" not in p)
        plan = rng.choices([p for _, p in pool], weights=[w for w, _ in pool])[0]
        plan = self.embellish(plan, template)
        overdue = None if final_stage(plan) == S.CLOSED else rng.random() < 0.35
        return self.make_story(template, plan, township, county_level, overdue, risk)

    def embellish(self, plan: Plan, template: Template) -> Plan:
        """Notes along the way, the appraisal pause a medical mediation often has, and now
        and then an extension of a mediation that runs long."""
        rng = self.rng
        steps = list(plan)
        if "accept" in steps and rng.random() < 0.35:
            steps.insert(steps.index("accept") + 1, "note")
        if (
            template.category == "medical"
            and "start_mediation" in steps
            and "resolve" in steps
            and rng.random() < 0.5
        ):
            at = steps.index("start_mediation") + 1
            steps[at:at] = ["pause_deadline", "resume_deadline"]
        if (
            template.category not in ("medical", "labour")
            and final_stage(tuple(steps)) == S.CLOSED
            and "session" in steps
            and rng.random() < 0.04
        ):
            at = steps.index("session") + 1
            steps[at:at] = ["request_extension", "decide_extension"]
        return tuple(steps)

    def make_story(self, template: Template, plan: Plan, township: Unit, county_level: bool,
                   overdue: bool | None, risk: str | None, *, warned: bool = False) -> Story:
        rng = self.rng
        matching = [v for v in township.villages if v.name in template.villages]
        if template.villages and not matching:
            # The template's villages (a lake, the town centre) are in the main township.
            township = self.townships["LL"]
            matching = [v for v in township.villages if v.name in template.villages]
        village = rng.choice(matching or township.villages)
        ctx = self.context(template, township, village)
        people = int(ctx["n"])
        amount = Decimal(ctx["amount"]) if template.amount else None
        if risk is None:
            # A fixed story's plan does not report upward at once, so it is never 重大 by chance.
            risk = Case.Risk.SIGNIFICANT if rng.random() < template.risk[0] else Case.Risk.GENERAL
        source = rng.choice(template.sources or (
            ("screening",) * 5 + ("visit", "visit", "phone", "110", "12345", "court", "department")
            if template.kind == DISPUTE
            else ("visit", "visit", "letter", "online", "12345", "phone", "higher")
        ))
        if county_level and source == "screening":
            source = "visit"
        data: dict[str, Any] = {
            "kind": template.kind,
            "petition_type": template.petition_type,
            # Written once the day of registration is known: the texts name dates before it.
            "title": "",
            "summary": "",
            "category": template.category,
            "source": source,
            "village": village.pk,
            "responsible_unit": self.county.org.pk if county_level else township.org.pk,
            "accused_unit": village.pk if template.accuses_village else "",
            "risk": risk,
            "people_involved": people,
            "amount": str(amount) if amount is not None else "",
            "is_group": people >= 5 and rng.random() < max(template.group, 0.5),
            "is_legacy": rng.random() < template.legacy,
            "is_repeat": rng.random() < template.repeat,
        }
        return Story(
            template=template, plan=plan, township=township, village=village, county_level=county_level,
            overdue=overdue, ctx=ctx, data=data, parties=self.parties(template, ctx, people),
            source=source, warned=warned,
        )

    def context(self, template: Template, township: Unit, village: OrgUnit) -> dict[str, str]:
        rng = self.rng
        female = template.applicant == "female" or (not template.applicant and rng.random() < 0.25)
        a_surname = rng.choice(SURNAMES)
        a = a_surname + rng.choice(FEMALE_GIVEN if female else MALE_GIVEN)
        lo, hi = template.amount or (1000, 10000)
        amount = round(rng.randint(lo, hi), -2 if hi >= 10000 else -1)
        lo_n, hi_n = template.people
        b_female = rng.random() < 0.2
        return {
            "town": township.short,
            "village": village.name,
            "a": a,
            "a_female": "1" if female else "",
            "b": self.name(male=not b_female),
            "b_female": "1" if b_female else "",
            "kin": (rng.choice(SURNAMES) if template.kin_is_spouse else a_surname) + rng.choice(MALE_GIVEN),
            "victim": self.name(male=True),
            "company": rng.choice(COMPANIES),
            "project": rng.choice(PROJECTS),
            "lake": rng.choice(LAKES),
            "road": rng.choice(ROADS),
            "estate": rng.choice(ESTATES),
            "shop": rng.choice(SHOPS),
            "illness": rng.choice(ILLNESSES),
            "accident": rng.choice(ACCIDENTS),
            "site": rng.choice(SITES),
            "spot": rng.choice(SPOTS),
            "grp": rng.choice(GROUPS),
            "mu": str(rng.randint(3, 80)),
            "fen": str(rng.randint(2, 9)),
            "cm": str(rng.randint(15, 60)),
            "area": str(rng.randint(120, 320)),
            "rent": str(rng.choice((400, 500, 600, 650, 700, 800))),
            "amount": str(amount),
            "loss": str(int(round(amount * rng.uniform(1.5, 3.0), -2))),
            "total": str(int(round(amount * rng.uniform(4, 10), -3))),
            "n": str(rng.randint(lo_n, hi_n)),
            "year": str(rng.randint(2012, 2024)),
            "year0": str(rng.choice((1983, 1986, 1992, 1998, 2003))),
            "days": str(rng.randint(15, 90)),
            "daily": str(rng.choice((180, 200, 220, 250, 280))),
            "grade": rng.choice(("七", "八", "九", "十")),
            "age": str(rng.randint(76, 88)),
        }

    def name(self, *, male: bool | None = None) -> str:
        if male is None:
            male = self.rng.random() < 0.7
        return self.rng.choice(SURNAMES) + self.rng.choice(MALE_GIVEN if male else FEMALE_GIVEN)

    def id_number(self, birth_years: tuple[int, int], male: bool) -> str:
        """A resident ID number that passes GB 11643: area, birth date, sequence whose last
        digit is odd for a man, and the check character."""
        rng = self.rng
        born = date(rng.randint(*birth_years), 1, 1) + timedelta(days=rng.randrange(365))
        sequence = f"{rng.randrange(100):02d}{rng.choice('13579' if male else '02468')}"
        first17 = f"{rng.choice(AREA_CODES)}{born:%Y%m%d}{sequence}"
        return first17 + id_check_char(first17)

    def phone(self) -> str:
        return self.rng.choice(MOBILE_PREFIXES) + f"{self.rng.randrange(10**8):08d}"

    def parties(self, template: Template, ctx: dict[str, str], people: int) -> list[dict[str, Any]]:
        rng = self.rng
        address = f"{COUNTY_NAME}{ctx['town']}镇{ctx['village']}{ctx['grp']}组"
        own_role = "petitioner" if template.kind == PETITION else "applicant"

        def individual(
            name: str, role: str, male: bool, births: tuple[int, int] = template.birth_years
        ) -> dict[str, Any]:
            return {
                "name": name, "role": role, "id_number": self.id_number(births, male),
                "phone": self.phone(), "address": address,
            }

        parties = [individual(ctx["a"], own_role, not ctx["a_female"])]
        # 信访工作条例 第十八条: many petitioners choose at most five representatives.
        for _ in range(min(people - 1, rng.randint(1, 3)) if people >= 5 else 0):
            parties.append(individual(self.name(male=True), own_role, True))
        if template.respondent == "person":
            parties.append(individual(ctx["b"], "respondent", not ctx["b_female"], RESPONDENT_BIRTH_YEARS))
        elif template.respondent:
            name = template.respondent.format(**ctx)
            if name == ctx["kin"]:
                parties.append(individual(name, "respondent", True, RESPONDENT_BIRTH_YEARS))
            else:
                # An organisation: no ID number, its office landline (0566 is 池州).
                parties.append({
                    "name": name, "role": "respondent", "id_number": "",
                    "phone": f"0566-5{rng.randrange(10**6):06d}", "address": f"{COUNTY_NAME}{ctx['town']}镇",
                })
        return parties

    # Telling one case: register it, then each step at its moment.

    def tell(self, story: Story) -> None:
        times = self.timeline(story)
        reported = timezone.localtime(times[0])
        happened = reported - timedelta(days=self.rng.randint(1, 10))
        finished = reported - timedelta(days=self.rng.randint(20, 70))
        story.ctx.update(date=f"{happened.month}月{happened.day}日", month=str(finished.month))
        story.data.update(title=story.template.title.format(**story.ctx),
                          summary=story.template.summary.format(**story.ctx))
        if reported >= self.now - timedelta(days=FACTS_SINCE_DAYS):
            self.add_facts(story, happened)
        reporter = self.reporter_for(story)
        try:
            case = services.report_case(actor=reporter, data=story.data, parties=story.parties, at=times[0],
                                        repeats_seen=True)
        except CaseOperationError as error:
            raise CommandError(f"seed_demo: registering “{story.data['title']}” failed: {error.message}") from error
        state: dict[str, Any] = {"skip_decision": False}
        for op, at in zip(story.plan, times[1:], strict=True):
            getattr(self, f"do_{op if op != 'escalate_fast' else 'escalate'}")(case.pk, story, at, state)

    def add_facts(self, story: Story, happened: datetime) -> None:
        """When and where the matter arose (the day its summary names, before the report),
        and each person's ethnicity and occupation; a quick report now and then leaves a
        party's out. Sex and birth date come from the ID numbers, as at every door."""
        rng = self.facts_rng
        minute = rng.choice((0, 10, 20, 30, 40, 50))
        story.data["occurred_at"] = happened.replace(hour=rng.randint(7, 20), minute=minute, second=0, microsecond=0)
        ctx = story.ctx
        story.data["occurred_place"] = f"{COUNTY_NAME}{ctx['town']}镇{ctx['village']}{ctx['grp']}组"
        for party in story.parties:
            if not party["id_number"] or rng.random() < 0.1:
                continue  # an organisation, or told in a hurry
            party["ethnicity"] = self.weighted(rng, ETHNICITY_WEIGHTS)
            party["occupation"] = self.weighted(rng, OCCUPATION_WEIGHTS)

    @staticmethod
    def weighted(rng: random.Random, pairs: tuple[tuple[str, int], ...]) -> str:
        return rng.choices([value for value, __ in pairs], weights=[weight for __, weight in pairs])[0]

    def timeline(self, story: Story) -> list[datetime]:
        rng = self.rng
        gaps = []
        for op in story.plan:
            lo, hi = GAP_DAYS[op]
            gap = rng.uniform(lo, hi)
            if op in ("resolve", "follow_up", "refer") and rng.random() < 0.1:
                gap *= 2.5  # some are late: the assessment needs them too
            gaps.append(gap)
        span = sum(gaps)
        stage = final_stage(story.plan)
        if stage == S.CLOSED:
            tail = rng.uniform(0.2, max(WINDOW_DAYS - span, 0.5))
        else:
            tail = self.tail(story, stage)
        if span + tail > WINDOW_DAYS and span > 0:
            factor = max(WINDOW_DAYS - tail, 5) / span
            gaps = [g * factor if g >= 1 else g for g in gaps]
            span = sum(gaps)
        start = self.now - timedelta(days=span + tail)
        times = [self.snap(start, None)]
        for gap in gaps:
            moment = times[-1] + timedelta(days=gap)
            times.append(self.snap(moment, times[-1]) if gap >= 0.25 else self.clamp(moment, times[-1]))
        if story.warned:
            # Whole days, so every step keeps its hour and its order: the last step (the
            # one that opened the clock) moves to the day that puts the clock in its
            # warning window now.
            shift = timedelta(days=(self.warned_start(story) - timezone.localtime(times[-1]).date()).days)
            times = [t + shift for t in times]
        return times

    def warned_start(self, story: Story) -> date:
        """The latest day before today on which the clock opened by the story's last step
        must have started to show a yellow card now: its warning time past, its due time
        a day or more ahead. (A warning an hour past as well left no day in the hour after
        midnight for a clock whose warning and due times both fall at the end of a day.)
        Computed by the clock's own rule and calendar (workflow.deadlines), as the
        transition will open it."""
        stage = final_stage(story.plan)
        probe = Case(kind=story.data["kind"], category=story.data["category"], risk=story.data["risk"])
        kind = next(k for k, clock in PLAN.items() if stage in clock.opens_on and probe.kind in clock.case_kinds
                    and not clock.major_only)
        unit = self.county.org if story.county_level else story.township.org
        rule = pick_rule(list(DeadlineRule.objects.all()), profile_chain(unit_profile(unit)), kind, probe)
        if rule is None:
            raise CommandError(f"seed_demo: no deadline rule of kind {kind} for “{story.template.key}”.")
        today = timezone.localdate(self.now)
        for back in range(1, 3 * rule.duration + 30):
            day = today - timedelta(days=back)
            clock = Deadline(duration=rule.duration, unit=rule.unit,
                             started_at=timezone.make_aware(datetime.combine(day, time(10, 0))))
            schedule(clock, rule)
            if clock.warn_at <= self.now and clock.due_at >= self.now + timedelta(days=1):
                return day
        raise CommandError(f"seed_demo: no start puts the {kind} clock of “{story.template.key}” in its warning window.")

    def tail(self, story: Story, stage: str) -> float:
        """Days the case has sat in its last stage until now: within its clock, or past it."""
        rng, kind, category = self.rng, story.template.kind, story.template.category
        late = bool(story.overdue)
        if stage == S.REPORTED:
            # Disputes: accepted within 3 working days; petitions: 15 days (信访工作条例 第二十二条).
            if not late:
                return rng.uniform(0.05, 0.9)
            return rng.uniform(6, 25) if kind == DISPUTE else rng.uniform(17, 40)
        if stage == S.INVESTIGATING:
            if kind == PETITION:  # 60 days to finish from acceptance (第三十四条)
                return rng.uniform(62, 95) if late else rng.uniform(1, 30)
            return rng.uniform(9, 35) if late else rng.uniform(0.1, 5)
        if stage == S.MEDIATING:
            if "pause_deadline" in story.plan[-1:]:
                return rng.uniform(1, 6)
            if category == "labour":
                return rng.uniform(17, 40) if late else rng.uniform(0.5, 8)
            if category == "medical":
                return rng.uniform(46, 70) if late else rng.uniform(0.5, 12)
            if story.data["is_legacy"] and late:
                return rng.uniform(60, 110)
            return rng.uniform(33, 70) if late else rng.uniform(0.5, 12)
        if stage == S.RESOLVED:
            return rng.uniform(17, 40) if late else rng.uniform(0.5, 10)
        if stage == S.ESCALATED:
            return rng.uniform(6, 20) if late else rng.uniform(0.05, 0.9)
        return 0.0

    def snap(self, moment: datetime, after: datetime | None) -> datetime:
        """The same day in office hours, after the previous step and before now."""
        local = timezone.localtime(moment)
        minutes = self.rng.randint(8 * 60 + 10, 17 * 60 + 40)
        snapped = local.replace(hour=minutes // 60, minute=minutes % 60, second=self.rng.randint(0, 59),
                                microsecond=0)
        if after is not None and snapped <= after:
            snapped = after + timedelta(minutes=self.rng.randint(15, 150))
        return self.clamp(snapped, after)

    def clamp(self, moment: datetime, after: datetime | None) -> datetime:
        latest = self.now - timedelta(minutes=1)
        if moment < latest:
            return moment
        if after is None:
            return self.now - timedelta(minutes=self.rng.randint(5, 60))
        return after + (latest - after) * self.rng.uniform(0.3, 0.9)

    # Who does what.

    def reporter_for(self, story: Story) -> Any:
        if story.county_level:
            return self.rng.choice(self.county.people(Role.OFFICER))
        worker = self.units[story.village.pk].people(Role.REPORTER)
        by_village = story.source == "screening" or (story.source == "visit" and self.rng.random() < 0.5)
        if by_village and not story.template.accuses_village:
            return worker[0]
        return self.rng.choice(story.township.people(Role.OFFICER))

    def case(self, case_id: int) -> Case:
        return Case.objects.select_related("responsible_unit", "lead_department").get(pk=case_id)

    def officer(self, case: Case) -> Any:
        return self.rng.choice(self.units[case.responsible_unit_id].people(Role.OFFICER))

    def supervisor(self, case: Case) -> Any:
        return self.rng.choice(self.units[case.responsible_unit_id].people(Role.SUPERVISOR))

    def assignee(self, case: Case) -> Any:
        return self.users_by_id[case.assignee_id] if case.assignee_id else self.officer(case)

    def lead_department(self, story: Story) -> OrgUnit:
        """谁主管谁负责: the township's station for the matter, else the county department."""
        for key in story.template.lead:
            if not story.county_level and key in story.township.departments:
                return story.township.departments[key]
            county = self.county_department(key)
            if county is not None:
                return county
        return self.county.departments["petition"]

    def county_department(self, key: str) -> OrgUnit | None:
        return self.county.departments.get(key) or self.county.departments.get(COUNTY_KEY_FOR.get(key, ""))

    def handler(self, unit: Unit, lead: OrgUnit | None) -> Any:
        """A mediator of the unit most of the time, else the lead department's liaison."""
        mediators = unit.people(Role.MEDIATOR)
        if lead is not None and lead.pk in self.liaison_of and (not mediators or self.rng.random() < 0.3):
            return self.liaison_of[lead.pk]
        return self.rng.choice(mediators)

    def run(self, case_id: int, op: str, actor: Any, data: dict[str, Any], at: datetime, files: Any = None) -> Case:
        try:
            return services.transition(case_id, op, actor=actor, data=data, at=at, files=files)
        except CaseOperationError as error:
            case = Case.objects.get(pk=case_id)
            raise CommandError(
                f"seed_demo: “{op}” on {case.number} ({case.get_stage_display()}) by {actor} failed: {error.message}"
            ) from error

    def text(self, options: tuple[str, ...], story: Story) -> str:
        return self.rng.choice(options).format(**story.ctx)

    # The operations, each by the person who would take it.

    def do_accept(self, case_id: int, story: Story, at: datetime, state: dict[str, Any]) -> None:
        case = self.case(case_id)
        lead = self.lead_department(story)
        assignee = self.handler(self.units[case.responsible_unit_id], lead)
        self.run(case_id, "accept", self.officer(case), {"lead_department": lead.pk, "assignee": assignee.pk}, at)

    def do_reject(self, case_id: int, story: Story, at: datetime, state: dict[str, Any]) -> None:
        case = self.case(case_id)
        self.run(case_id, "reject", self.officer(case), {"reason": self.rng.choice(REJECT[story.template.kind])}, at)

    def do_start_mediation(self, case_id: int, story: Story, at: datetime, state: dict[str, Any]) -> None:
        case = self.case(case_id)
        self.run(case_id, "start_mediation", self.assignee(case), {"findings": self.rng.choice(FINDINGS)}, at)

    def do_session(self, case_id: int, story: Story, at: datetime, state: dict[str, Any]) -> None:
        case = self.case(case_id)
        actor = self.assignee(case)
        if case.responsible_unit_id == self.county.org.pk:
            place = "县矛盾纠纷调处化解中心调解室"
        else:
            place = self.rng.choice((f"{story.township.org.name}人民调解委员会调解室", f"{story.village.name}村委会调解室",
                                     f"{story.ctx['town']}司法所调解室", "当事人家中"))
        names = [p["name"] for p in story.parties]
        participants = "、".join(dict.fromkeys([actor.first_name, *names]))
        self.run(case_id, "record_session", actor, {
            "held_on": timezone.localtime(at).date().isoformat(),
            "place": place,
            "participants": participants[:500],
            "record": self.rng.choice(SESSION_RECORDS),
        }, at)

    def do_resolve(self, case_id: int, story: Story, at: datetime, state: dict[str, Any]) -> None:
        case = self.case(case_id)
        if story.template.kind == PETITION:
            outcome = self.rng.choices(list(PETITION_OUTCOMES), weights=(35, 45, 20))[0]
            summary = PETITION_OUTCOMES[outcome]
        else:
            outcome = "agreement_written" if self.rng.random() < 0.7 else "agreement_oral"
            summary = self.text(RESOLUTIONS.get(story.template.category, (GENERIC_RESOLUTION,)), story)
        # A written agreement is recorded with the signed document (人民调解法 第二十九条).
        files = {"agreement": self.agreement(case, story, summary, at)} if outcome == "agreement_written" else None
        self.run(case_id, "resolve", self.assignee(case), {"outcome": outcome, "summary": summary}, at, files)

    def agreement(self, case: Case, story: Story, summary: str, at: datetime) -> SimpleUploadedFile:
        """The signed mediation agreement as the mediator scans it in: here its text."""
        parties = "、".join(p["name"] for p in story.parties)
        text = (f"人民调解协议书\n\n编号：{case.number}\n当事人：{parties}\n纠纷事项：{case.title}\n\n"
                f"协议内容：{summary}\n\n{timezone.localtime(at):%Y年%m月%d日}\n")
        return SimpleUploadedFile(f"{case.number}-调解协议书.txt", text.encode("utf-8"), content_type="text/plain")

    def do_follow_up(self, case_id: int, story: Story, at: datetime, state: dict[str, Any]) -> None:
        case = self.case(case_id)
        actor = self.assignee(case) if self.rng.random() < 0.6 else self.officer(case)
        satisfaction = self.rng.choices(("satisfied", "basically", "unsatisfied"), weights=(65, 28, 7))[0]
        self.run(case_id, "follow_up", actor, {"record": self.rng.choice(FOLLOW_UP), "satisfaction": satisfaction}, at)

    def do_escalate(self, case_id: int, story: Story, at: datetime, state: dict[str, Any]) -> None:
        case = self.case(case_id)
        major = case.risk == Case.Risk.MAJOR
        actor = self.supervisor(case) if major or self.rng.random() < 0.3 else self.officer(case)
        reason = MAJOR_ESCALATE_REASON if major else self.rng.choice(ESCALATE_REASONS)
        self.run(case_id, "escalate", actor, {"reason": reason}, at)

    def do_take_over(self, case_id: int, story: Story, at: datetime, state: dict[str, Any]) -> None:
        case = self.case(case_id)
        # The county hands it to its own mediator, or to the county department in charge.
        lead = self.county_department(story.template.lead[0])
        assignee = self.handler(self.county, lead)
        self.run(case_id, "take_over", self.officer(case), {"assignee": assignee.pk}, at)

    def do_send_back(self, case_id: int, story: Story, at: datetime, state: dict[str, Any]) -> None:
        case = self.case(case_id)
        self.run(case_id, "send_back", self.supervisor(case), {"instructions": self.text(SEND_BACK, story)}, at)

    def do_assign(self, case_id: int, story: Story, at: datetime, state: dict[str, Any]) -> None:
        case = self.case(case_id)
        assignee = self.handler(self.units[case.responsible_unit_id], case.lead_department)
        self.run(case_id, "assign", self.officer(case), {"assignee": assignee.pk}, at)

    def do_refer(self, case_id: int, story: Story, at: datetime, state: dict[str, Any]) -> None:
        case = self.case(case_id)
        if story.template.kind == PETITION:
            channel = self.rng.choice(("administrative_review", "other_department", "litigation"))
        elif story.template.category == "labour":
            channel = "arbitration"
        else:
            channel = self.rng.choice(("litigation", "litigation", "other_department"))
        self.run(case_id, "refer", self.officer(case), {"channel": channel, "reason": REFER[channel]}, at)

    def do_reopen(self, case_id: int, story: Story, at: datetime, state: dict[str, Any]) -> None:
        case = self.case(case_id)
        actor = self.officer(case) if self.rng.random() < 0.7 else self.supervisor(case)
        self.run(case_id, "reopen", actor, {"reason": self.rng.choice(REOPEN)}, at)

    def do_withdraw(self, case_id: int, story: Story, at: datetime, state: dict[str, Any]) -> None:
        case = self.case(case_id)
        reasons = WITHDRAW[2:] if story.template.kind == PETITION else WITHDRAW[:2]
        self.run(case_id, "withdraw", self.officer(case), {"reason": self.rng.choice(reasons)}, at)

    def do_note(self, case_id: int, story: Story, at: datetime, state: dict[str, Any]) -> None:
        case = self.case(case_id)
        actors = [self.officer(case)]
        if case.assignee_id:
            actors.append(self.assignee(case))
        if case.lead_department_id in self.liaison_of:
            actors.append(self.liaison_of[case.lead_department_id])
        if not story.template.accuses_village and not story.county_level:
            actors += self.units[story.village.pk].people(Role.REPORTER)
        self.run(case_id, "note", self.rng.choice(actors), {"text": self.rng.choice(NOTES)}, at)

    def do_request_extension(self, case_id: int, story: Story, at: datetime, state: dict[str, Any]) -> None:
        case = self.case(case_id)
        open_clocks = Deadline.objects.open().filter(case=case, extension__isnull=True, rule__extension_cap__gt=0)
        # The mediation clock if it runs, else the petition's handling clock.
        deadline = open_clocks.filter(kind="mediation").first() or open_clocks.order_by("due_at").first()
        if deadline is None:
            state["skip_decision"] = True
            return
        amount = min(deadline.rule.extension_cap, 15 if deadline.kind == "mediation" else 30)
        self.run(case_id, "request_extension", self.assignee(case), {
            "deadline": deadline.pk, "amount": amount, "reason": self.rng.choice(EXTENSION_REASONS),
        }, at)
        state["extension_deadline"] = deadline.pk

    def do_decide_extension(self, case_id: int, story: Story, at: datetime, state: dict[str, Any]) -> None:
        if state.get("skip_decision"):
            return
        case = self.case(case_id)
        self.run(case_id, "decide_extension", self.supervisor(case), {
            "deadline": state["extension_deadline"], "approve": "yes", "comment": "同意延期，请抓紧办理。",
        }, at)

    def do_pause_deadline(self, case_id: int, story: Story, at: datetime, state: dict[str, Any]) -> None:
        case = self.case(case_id)
        deadline = Deadline.objects.open().filter(case=case, kind="mediation", paused_at__isnull=True).first()
        if deadline is None:
            return
        self.run(case_id, "pause_deadline", self.assignee(case), {"deadline": deadline.pk, "reason": PAUSE_REASON}, at)
        state["paused_deadline"] = deadline.pk

    def do_resume_deadline(self, case_id: int, story: Story, at: datetime, state: dict[str, Any]) -> None:
        if "paused_deadline" not in state:
            return
        case = self.case(case_id)
        self.run(case_id, "resume_deadline", self.officer(case), {"deadline": state.pop("paused_deadline")}, at)


def final_stage(plan: Plan) -> str:
    stage = S.REPORTED
    for op in plan:
        stage = STAGE_AFTER.get(op, stage)
    return stage


class Command(BaseCommand):
    help = (
        "Load a demo county (青阳县: two townships, villages, departments, a user in every role) and "
        "disputes and petitions in every stage, some overdue. Needs an empty database."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--password", default=DEFAULT_PASSWORD, help="password of every demo account")
        parser.add_argument(
            "--if-empty", action="store_true", help="do nothing when the database already has organisation units"
        )
        parser.add_argument("--cases", type=int, default=300, help="number of cases (default 300)")
        parser.add_argument("--seed", type=int, default=2026, help="random seed (default 2026)")

    def handle(self, *args: Any, **options: Any) -> None:
        if OrgUnit.objects.exists():
            if options["if_empty"]:
                self.stdout.write("seed_demo: the database already has organisation units; nothing loaded.")
                return
            raise CommandError(
                "The database already has organisation units. seed_demo loads a demo county into an empty "
                "database only: use a fresh database (e.g. another TIAOCHU_VAR_DIR or DATABASE_URL, then "
                "migrate), or pass --if-empty to skip quietly."
            )
        if options["cases"] < 0:
            raise CommandError("--cases must not be negative.")
        if not options["password"]:
            raise CommandError("--password must not be empty.")
        taken = self.taken_usernames()
        if taken:
            raise CommandError(
                f"These demo usernames already exist: {', '.join(taken)}. Use a fresh database."
            )
        started = monotonic()
        # Calendar and rule profiles are cached per process; read the ones of this database.
        invalidate_all()
        seeder = Seeder(seed=options["seed"], password=options["password"], now=timezone.now())
        # One transaction: a failed seed leaves the database empty, and SQLite commits once
        # instead of once per transition (each transition nests as a savepoint).
        with transaction.atomic():
            seeder.build_county()
            seeder.build_cases(options["cases"])
            seeder.build_returns()
            seeder.build_supervision()
            seeder.sweep()
        self.report(seeder, options["password"], monotonic() - started)

    def taken_usernames(self) -> list[str]:
        names = ["admin", *(s.username for s in COUNTY_STAFF), *(d.liaison.username for d in COUNTY_DEPARTMENTS)]
        for spec in TOWNSHIPS:
            names += [s.username for s in spec.staff]
            names += [v.worker.username for v in spec.villages]
            names += [d.liaison.username for d in spec.departments]
        return sorted(get_user_model().objects.filter(username__in=names).values_list("username", flat=True))

    def report(self, seeder: Seeder, password: str, seconds: float) -> None:
        out = self.stdout.write
        out(f"演示账号 demo accounts（{len(seeder.accounts)} 个，密码均为 password: {password}）")
        header = ("用户名 username", "角色 role", "单位 unit", "姓名 name")
        rows = [header, *seeder.accounts]
        widths = [max(display_width(row[i]) for row in rows) + 2 for i in range(3)]
        for row in rows:
            out("  " + "".join(pad(cell, widths[i]) for i, cell in enumerate(row[:3])) + row[3])
        cases = Case.objects.all()
        kinds = Counter(cases.values_list("kind", flat=True))
        stages = Counter(cases.values_list("stage", flat=True))
        closures = Counter(cases.filter(stage=S.CLOSED).values_list("closure", flat=True))
        out("")
        out(f"案件 cases: {sum(kinds.values())}（矛盾纠纷 disputes {kinds[DISPUTE]}，信访事项 petitions "
            f"{kinds[PETITION]}），用时 {seconds:.1f} s")
        for stage in S:
            line = f"  {pad(STAGE_ZH[stage], 10)}{stage.value:<15}{stages[stage]:>5}"
            if stage == S.CLOSED:
                line += "  （" + "，".join(f"{CLOSURE_ZH[c]} {closures[c]}" for c in Case.Closure) + "）"
            out(line)
        out(
            f"  超期案件 overdue now: {cases.filter(counts.overdue()).count()}；"
            f"黄牌 warned now: {cases.filter(counts.warned()).exclude(counts.overdue()).count()}；"
            f"督办中 under supervision: {SupervisionOrder.objects.filter(closed_at__isnull=True).count()}；"
            f"重大风险 {cases.filter(risk=Case.Risk.MAJOR).count()}，群体性 {cases.filter(is_group=True).count()}，"
            f"历史遗留 {cases.filter(is_legacy=True).count()}"
        )
        returns = ScreeningReturn.objects.all()
        overdue_returns = screening.overdue_returns(OrgUnit.objects.filter(parent__isnull=True), timezone.now())
        out(
            f"排查表 screening returns: {returns.count()}（零报告 nil {returns.filter(is_nil=True).count()}，"
            f"迟报 late {returns.filter(is_late=True).count()}），逾期未报 overdue {overdue_returns.count()}"
        )
