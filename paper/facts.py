"""What the forms print of a case, read once from the database (docs/paper.md says where
each fact lives): the parties as they may be shown, the events the forms are records of,
the committee and the file number. Nothing here is invented: a fact the database does not
hold stays empty, and the form prints a blank line for it to be filled by hand.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cached_property
from typing import Any

from django.utils import timezone

from cases.models import Case, CaseDocument, CaseEvent, OrgUnit, Party
from cases.personal_data import birth_shown
from workflow.forms import FollowUpForm, ReferForm, ResolveForm
from workflow.models import Deadline, DeadlineKind

# The sources by which a party applies for mediation themselves (人民调解法 第十七条: a
# committee mediates on the parties' application, or of its own motion): these cases have an
# application (申请书); the others were found in screening or referred, and the 受理登记表
# alone records how they came.
APPLIED_SOURCES = frozenset({"visit", "letter", "phone", "online", "12345"})

# How a unit's name ends, longest first: the file number (卷号) names the committee by the
# place alone, "柳林" for 柳林镇.
UNIT_SUFFIXES = ("街道办事处", "办事处", "村民委员会", "居民委员会", "村委会", "居委会", "街道", "社区",
                 "镇", "乡", "村", "县", "区", "市")


def person_name(user: Any) -> str:
    """A user as people know them (as the pages show them); empty for nobody."""
    if user is None:
        return ""
    return user.get_full_name() or user.get_username()


def short_name(unit: OrgUnit) -> str:
    """The place a unit is named after: its name without the kind of unit it is."""
    for suffix in UNIT_SUFFIXES:
        if unit.name.endswith(suffix) and len(unit.name) > len(suffix):
            return unit.name[: -len(suffix)]
    return unit.name


@dataclass
class PartyShown:
    """A party as a form prints it: ID number and phone masked unless `full`, the date of
    birth only beside the full ID number and otherwise the age alone
    (cases.personal_data.birth_shown decides)."""

    name: str
    role: str
    role_label: str
    sex: str  # cases.models.Sex's value; the templates print 男 / 女
    ethnicity: str
    occupation: str
    address: str
    id_number: str
    phone: str
    birth_date: date | None
    age: int | None

    @classmethod
    def of(cls, party: Party, *, full: bool, on: date) -> PartyShown:
        born, age = birth_shown(party, full=full, on=on)
        return cls(
            name=party.name, role=party.role, role_label=str(party.get_role_display()), sex=party.sex,
            ethnicity=party.ethnicity, occupation=party.occupation, address=party.address,
            id_number=party.id_number if full else party.masked_id_number,
            phone=party.phone if full else party.masked_phone,
            birth_date=born, age=age,
        )


@dataclass
class Record:
    """An event of the audit trail as a form reads it: when, by whom, what was written."""

    kind: str
    at: datetime
    by: str
    data: dict[str, Any] = field(default_factory=dict)
    from_stage: str = ""
    to_stage: str = ""

    def text(self, key: str) -> str:
        value = self.data.get(key)
        return value if isinstance(value, str) else ""

    @property
    def day(self) -> date | None:
        """The date the record names (a session's held_on), else the day it was written."""
        held = self.data.get("held_on")
        if isinstance(held, str):
            try:
                return date.fromisoformat(held)
            except ValueError:
                pass
        return timezone.localtime(self.at).date()


def local_date(moment: datetime | None) -> date | None:
    return timezone.localtime(moment).date() if moment else None


class CaseFacts:
    """Everything the forms of one case print, read in a handful of queries. `full`: the
    parties' ID numbers and phones are printed in full (the caller has decided that the
    person may see them and recorded it)."""

    def __init__(self, case: Case, *, full: bool = False) -> None:
        self.case = case
        self.full = full
        self._parties = list(case.parties.all())
        self.records = [
            Record(kind=e.kind, at=e.at, by=person_name(e.actor), data=e.data if isinstance(e.data, dict) else {},
                   from_stage=e.from_stage, to_stage=e.to_stage)
            for e in CaseEvent.objects.filter(case=case).select_related("actor").order_by("at", "pk")
        ]

    # The people.

    def parties(self, on: date | None = None) -> list[PartyShown]:
        """Every party, with ages on `on` (the form's own date; the registration day by
        default), so a form prints the same whatever day it is printed."""
        on = on or self.reported_on
        return [PartyShown.of(p, full=self.full, on=on) for p in self._parties]

    def applicants(self, on: date | None = None) -> list[PartyShown]:
        return [p for p in self.parties(on) if p.role != Party.PartyRole.RESPONDENT]

    def respondents(self, on: date | None = None) -> list[PartyShown]:
        return [p for p in self.parties(on) if p.role == Party.PartyRole.RESPONDENT]

    @property
    def party_names(self) -> list[str]:
        return [p.name for p in self._parties]

    @property
    def assignee(self) -> str:
        return person_name(self.case.assignee)

    @property
    def reporter(self) -> str:
        return person_name(self.case.reporter)

    # The committee and the file.

    @property
    def committee_unit(self) -> OrgUnit:
        """The unit whose people's mediation committee handles the case: the responsible unit."""
        return self.case.responsible_unit

    @property
    def committee(self) -> str:
        return f"{self.committee_unit.name}人民调解委员会"

    @property
    def file_place(self) -> str:
        """The X of the file number "（年）X人调字第 N 号": the registering unit's place name,
        because N is that unit's serial of the year (cases.models.Case.serial)."""
        return short_name(self.case.registered_unit)

    # Dates.

    @property
    def reported_on(self) -> date:
        return local_date(self.case.reported_at) or timezone.localdate()

    @property
    def accepted_on(self) -> date | None:
        return local_date(self.case.accepted_at)

    @property
    def resolved_on(self) -> date | None:
        return local_date(self.case.resolved_at)

    @property
    def closed_on(self) -> date | None:
        return local_date(self.case.closed_at)

    @property
    def occurred_at(self) -> datetime | None:
        return timezone.localtime(self.case.occurred_at) if self.case.occurred_at else None

    # The records of the trail.

    def of_kind(self, *kinds: str) -> list[Record]:
        return [r for r in self.records if r.kind in kinds]

    def last(self, kind: str) -> Record | None:
        found = self.of_kind(kind)
        return found[-1] if found else None

    @property
    def sessions(self) -> list[Record]:
        """The mediation sessions recorded (operation record_session: held_on, place,
        participants, record)."""
        return self.of_kind("record_session")

    @property
    def investigation(self) -> list[Record]:
        """What was found out before mediation: the notes written while the case was being
        investigated, and the findings recorded when mediation started."""
        return [r for r in self.records
                if (r.kind == "note" and r.from_stage == Case.Stage.INVESTIGATING) or
                (r.kind == "start_mediation" and r.text("findings"))]

    @property
    def follow_ups(self) -> list[Record]:
        return self.of_kind("follow_up")

    @property
    def resolution(self) -> Record | None:
        """The resolve operation that recorded the case's present outcome (a reopened case
        keeps only the last)."""
        return self.last("resolve") if self.case.outcome else None

    @property
    def closing(self) -> Record | None:
        """The operation that closed the case (reject, refer, follow_up, withdraw)."""
        if self.case.stage != Case.Stage.CLOSED:
            return None
        closed = [r for r in self.records if r.to_stage == Case.Stage.CLOSED and r.from_stage != Case.Stage.CLOSED]
        return closed[-1] if closed else None

    @property
    def rejection(self) -> Record | None:
        return self.last("reject") if self.case.closure == Case.Closure.REJECTED else None

    # The outcome.

    @property
    def outcome_kind(self) -> str:
        kind = self.case.outcome.get("kind") if isinstance(self.case.outcome, dict) else None
        return kind if isinstance(kind, str) else ""

    @property
    def outcome_label(self) -> str:
        return str(dict(ResolveForm.OUTCOMES).get(self.outcome_kind, ""))

    @property
    def outcome_summary(self) -> str:
        summary = self.case.outcome.get("summary") if isinstance(self.case.outcome, dict) else None
        return summary if isinstance(summary, str) else ""

    @property
    def written_agreement(self) -> bool:
        return self.outcome_kind == "agreement_written"

    @property
    def oral_agreement(self) -> bool:
        return self.outcome_kind == "agreement_oral"

    @property
    def petition_answer(self) -> str:
        """supported / explained / not_supported (信访工作条例 第三十二条), or ""."""
        return self.outcome_kind if self.outcome_kind in dict(ResolveForm.PETITION_OUTCOMES) else ""

    @property
    def satisfaction_label(self) -> str:
        return str(dict(FollowUpForm.SATISFACTION).get(self.case.satisfaction, ""))

    def channel_label(self, record: Record | None) -> str:
        return str(dict(ReferForm.CHANNELS).get(record.text("channel"), "")) if record else ""

    # Clocks and documents.

    @cached_property
    def handling_deadline(self) -> Deadline | None:
        """The petition's handling clock (信访工作条例 第三十四条), as the rules opened it."""
        return Deadline.objects.filter(case=self.case, kind=DeadlineKind.HANDLING).order_by("-started_at").first()

    @cached_property
    def documents(self) -> list[CaseDocument]:
        return list(CaseDocument.objects.filter(case=self.case).order_by("uploaded_at", "pk"))

    @property
    def unit_above(self) -> OrgUnit | None:
        """The unit above the one that answers: where a 复查 is asked for (第三十五条)."""
        unit = self.case.responsible_unit
        return OrgUnit.objects.filter(pk=unit.parent_id).first() if unit.parent_id else None
