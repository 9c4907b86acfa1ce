"""What a case is: organisation units, memberships, cases, parties and the audit trail.

The stage of a case is written only by the transition service in `workflow`; the guard
at the bottom of this module makes any other write fail loudly.
"""

from __future__ import annotations

import contextlib
import contextvars
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import models, router, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase
from knox.models import AbstractAuthToken

from .validators import mask_id_number, mask_phone, validate_id_number, validate_phone


class OrgUnit(models.Model):
    """A node of the administrative tree: county → township → village, with departments
    hanging under the level they serve. `path` holds the ids from the root ("/1/4/17/"),
    so subtrees and ancestors are found without recursive queries."""

    class Level(models.TextChoices):
        COUNTY = "county", _("County")
        TOWNSHIP = "township", _("Township")
        VILLAGE = "village", _("Village")
        DEPARTMENT = "department", _("Department")

    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=100)
    level = models.CharField(_("level"), max_length=16, choices=Level.choices)
    parent = models.ForeignKey(
        "self", models.PROTECT, null=True, blank=True, related_name="children", verbose_name=_("parent unit")
    )
    path = models.CharField(max_length=255, editable=False, db_index=True)
    # The holder of this unit's per-case grants (lead department) in guardian's
    # direct-foreign-key table. Who belongs to the unit is decided by Membership alone.
    group = models.OneToOneField(Group, models.PROTECT, null=True, blank=True, editable=False, related_name="unit")
    rule_profile = models.CharField(
        _("deadline profile"), max_length=32, blank=True, help_text=_("Empty: inherit from the unit above.")
    )

    class Meta:
        verbose_name = _("organisation unit")
        verbose_name_plural = _("organisation units")
        ordering = ["path"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        # The parent's path as stored: an instance held in memory may predate a move.
        parent_path = OrgUnit.objects.get(pk=self.parent_id).path if self.parent_id else "/"
        if self.pk and f"/{self.pk}/" in parent_path:
            raise ValidationError(_("A unit cannot be placed under itself or a unit beneath it."))
        if self.group_id is None:
            self.group = Group.objects.create(name=f"unit:{self.code}")
        old_path = self.path
        super().save(*args, **kwargs)
        new_path = f"{parent_path}{self.pk}/"
        if new_path != old_path:
            OrgUnit.objects.filter(pk=self.pk).update(path=new_path)
            if old_path:
                # Re-root the subtree that moved with this unit.
                for child in OrgUnit.objects.filter(path__startswith=old_path).exclude(pk=self.pk):
                    OrgUnit.objects.filter(pk=child.pk).update(path=new_path + child.path[len(old_path):])
            self.path = new_path

    @property
    def ancestor_ids(self) -> list[int]:
        """Ids from the root down to this unit, itself included."""
        return path_ids(self.path)


def path_ids(path: str) -> list[int]:
    """The unit ids of a materialised path ("/1/4/17/" → [1, 4, 17])."""
    return [int(part) for part in path.strip("/").split("/") if part]


class Role(models.TextChoices):
    REPORTER = "reporter", _("Village worker")
    MEDIATOR = "mediator", _("Mediator")
    OFFICER = "officer", _("Case officer")
    SUPERVISOR = "supervisor", _("Supervisor")
    LIAISON = "liaison", _("Department liaison")
    VIEWER = "viewer", _("Viewer")


class Membership(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, models.CASCADE, related_name="memberships")
    unit = models.ForeignKey(OrgUnit, models.CASCADE, related_name="memberships", verbose_name=_("unit"))
    role = models.CharField(_("role"), max_length=16, choices=Role.choices)

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [models.UniqueConstraint(fields=["user", "unit", "role"], name="membership_unique")]

    def __str__(self) -> str:
        return f"{self.user} · {self.unit} · {self.get_role_display()}"


class StaffProfile(models.Model):
    """What the system knows of a person who works cases, beyond their account: their
    resident ID number, by which they are recognised as a party to a case they must not
    handle or decide (回避: 人民调解法 第二十三条, 人民调解工作若干规定 第二十六条; the
    rule is workflow.permissions.recused). One per user; a user without one is never
    recused, for nobody can tell."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, models.CASCADE, related_name="staff_profile",
                                verbose_name=_("user"))
    id_number = models.CharField(_("ID number"), max_length=18, blank=True, validators=[validate_id_number])

    class Meta:
        verbose_name = _("staff profile")
        verbose_name_plural = _("staff profiles")
        indexes = [models.Index(fields=["id_number"], name="staffprofile_id_number")]

    def __str__(self) -> str:
        return str(self.user)

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Parties' numbers are stored with a capital X (cases.forms.PartyForm): the same here,
        # so that a match is an equality the index answers.
        self.id_number = self.id_number.upper()
        super().save(*args, **kwargs)


class Category(models.TextChoices):
    """Statistical categories of the Ministry of Justice, as platforms use them.
    历史遗留 is a flag on the case, not a category."""

    MARRIAGE_FAMILY = "marriage_family", _("Marriage and family")
    NEIGHBOURS = "neighbours", _("Neighbours")
    HOUSING_PLOT = "housing_plot", _("Housing and homestead")
    CONTRACT = "contract", _("Contract")
    BUSINESS = "business", _("Production and business")
    DAMAGES = "damages", _("Damages")
    LAND_FOREST = "land_forest", _("Land and forest (land transfer)")
    WATER_CONTRACTING = "water_contracting", _("Water surface and contracting")
    LAND_ACQUISITION = "land_acquisition", _("Land acquisition and demolition")
    LABOUR = "labour", _("Labour (wages, work injury)")
    CONSUMER = "consumer", _("Consumer")
    MEDICAL = "medical", _("Medical (doctor–patient)")
    ROAD_TRAFFIC = "road_traffic", _("Road traffic")
    WORK_SAFETY = "work_safety", _("Work safety accident")
    PROPERTY_MGMT = "property_mgmt", _("Property management")
    POLLUTION = "pollution", _("Environmental pollution")
    VILLAGE_AFFAIRS = "village_affairs", _("Village affairs")
    OTHER = "other", _("Other")


class Source(models.TextChoices):
    SCREENING = "screening", _("Found in screening")
    VISIT = "visit", _("Visit in person")
    LETTER = "letter", _("Letter")
    PHONE = "phone", _("Telephone")
    ONLINE = "online", _("Online")
    HOTLINE_12345 = "12345", _("12345 hotline")
    POLICE_110 = "110", _("110 police link")
    POLICE_TRANSFER = "police", _("Transferred by police")
    COURT = "court", _("Entrusted by court")
    DEPARTMENT = "department", _("Pushed by a department")
    HIGHER_LEVEL = "higher", _("Assigned by a higher level")


class CaseQuerySet(models.QuerySet):
    def open(self) -> CaseQuerySet:
        return self.exclude(stage=Case.Stage.CLOSED)

    def within(self, unit: OrgUnit) -> CaseQuerySet:
        """The cases of a unit and everything beneath it, as every figure, ledger and
        filter counts them: by the case's village, or, for a case without one, by the unit
        that registered it. A department's cases are those it leads. An accusation (检举控
        告) against the unit or one above it is never its case (信访工作条例 第三十条): the
        unit above the accused handles and counts it."""
        if unit.level == OrgUnit.Level.DEPARTMENT:
            cases = self.filter(lead_department=unit)
        else:
            # Ids first: a short IN list reads the foreign-key indexes, where a join on
            # the units' paths would visit every case.
            subtree = list(OrgUnit.objects.filter(path__startswith=unit.path).values_list("pk", flat=True))
            cases = self.filter(
                models.Q(village_id__in=subtree) | models.Q(village__isnull=True, registered_unit_id__in=subtree)
            )
        return cases.exclude(accused_unit_id__in=unit.ancestor_ids)

    def update(self, **kwargs: Any) -> int:
        if "stage" in kwargs and not _stage_writes.get():
            raise StageWriteError
        return super().update(**kwargs)

    def bulk_update(self, objs: Any, fields: Any, *args: Any, **kwargs: Any) -> int:
        if "stage" in fields and not _stage_writes.get():
            raise StageWriteError
        return super().bulk_update(objs, fields, *args, **kwargs)


# Columns of a case the database keeps (the audit chain's head under the row lock, the
# acceptance state and the clocks' earliest times by trigger): a whole-row save never writes back what it read of them.
DATABASE_KEPT = ("audit_head", "acceptance", "running_due_at", "running_warn_at", "next_due_at")


class Case(models.Model):
    class Kind(models.TextChoices):
        DISPUTE = "dispute", _("Dispute")
        PETITION = "petition", _("Petition")

    class PetitionType(models.TextChoices):
        # 信访工作条例 第三十一条 sorts petitions into these three.
        SUGGESTION = "suggestion", _("Suggestion or opinion")
        ACCUSATION = "accusation", _("Report or accusation")
        CLAIM = "claim", _("Complaint or claim")

    class Stage(models.TextChoices):
        REPORTED = "reported", _("Reported")
        INVESTIGATING = "investigating", _("Investigating")
        MEDIATING = "mediating", _("Mediating")
        RESOLVED = "resolved", _("Resolved")
        ESCALATED = "escalated", _("Escalated")
        CLOSED = "closed", _("Closed")

    class Risk(models.TextChoices):
        GENERAL = "general", _("General")
        SIGNIFICANT = "significant", _("Significant")
        MAJOR = "major", _("Major")

    class Closure(models.TextChoices):
        VISITED = "visited", _("Resolved and visited")
        REFERRED = "referred", _("Referred")
        REJECTED = "rejected", _("Not accepted")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    petition_type = models.CharField(_("petition type"), max_length=16, choices=PetitionType.choices, blank=True)
    number = models.CharField(_("case number"), max_length=48, unique=True, editable=False)
    registered_unit = models.ForeignKey(
        OrgUnit, models.PROTECT, related_name="registered_cases", verbose_name=_("registered by unit")
    )
    year = models.PositiveSmallIntegerField(editable=False)
    serial = models.PositiveIntegerField(editable=False)
    title = models.CharField(_("title"), max_length=200)
    summary = models.TextField(_("summary"))
    category = models.CharField(_("category"), max_length=32, choices=Category.choices)
    source = models.CharField(_("source"), max_length=16, choices=Source.choices)
    village = models.ForeignKey(
        OrgUnit, models.PROTECT, null=True, blank=True, related_name="village_cases", verbose_name=_("village")
    )
    responsible_unit = models.ForeignKey(
        OrgUnit, models.PROTECT, related_name="responsible_cases", verbose_name=_("responsible unit")
    )
    lead_department = models.ForeignKey(
        OrgUnit, models.PROTECT, null=True, blank=True, related_name="led_cases", verbose_name=_("lead department")
    )
    co_departments = models.ManyToManyField(
        OrgUnit, blank=True, related_name="co_handled_cases", verbose_name=_("co-handling departments")
    )
    # 信访工作条例 第三十条: an accusation is never handed to the unit it accuses.
    accused_unit = models.ForeignKey(
        OrgUnit, models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("accused unit")
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="assigned_cases",
        verbose_name=_("assignee"),
    )
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("reported by")
    )
    # 领导包案: a supervisor of the responsible unit or a unit above who takes personal
    # charge of a major or 历史遗留 case (workflow.flow: take_charge, release_charge).
    leader = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True, related_name="cases_in_charge",
        verbose_name=_("leader in charge"),
    )
    # 复查 / 复核 of a petition (信访工作条例 第三十五条、第三十六条; workflow.flow:
    # request_review, decide_review): 0 none, 1 复查 (review by the unit above the one that
    # handled it), 2 复核 (by the unit above the reviewing one), after which it is final.
    review_level = models.PositiveSmallIntegerField(_("review level"), default=0, editable=False)
    risk = models.CharField(_("risk level"), max_length=16, choices=Risk.choices, default=Risk.GENERAL)
    people_involved = models.PositiveIntegerField(_("people involved"), default=1)
    amount = models.DecimalField(_("amount involved (yuan)"), max_digits=14, decimal_places=2, null=True, blank=True)
    is_group = models.BooleanField(_("group dispute"), default=False)
    is_legacy = models.BooleanField(_("historical legacy"), default=False)
    is_repeat = models.BooleanField(_("repeat petition"), default=False)
    stage = models.CharField(_("stage"), max_length=16, choices=Stage.choices, default=Stage.REPORTED, editable=False)
    closure = models.CharField(_("closed as"), max_length=16, choices=Closure.choices, blank=True, editable=False)
    outcome = models.JSONField(_("outcome"), default=dict, blank=True, editable=False)
    satisfaction = models.CharField(_("satisfaction"), max_length=16, blank=True, editable=False)
    reported_at = models.DateTimeField(_("reported at"))
    # When and where the dispute or the matter arose, as the forms state it (docs/paper.md);
    # empty on older cases.
    occurred_at = models.DateTimeField(_("occurred at"), null=True, blank=True)
    occurred_place = models.CharField(_("place of occurrence"), max_length=200, blank=True)
    accepted_at = models.DateTimeField(_("accepted at"), null=True, blank=True, editable=False)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True, editable=False)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True, editable=False)
    # The hash of the case's newest event: the audit chain's head (cases.audit), kept on the
    # row every writer of the case locks, so appending an event reads no other row. A
    # database default too: bulk loads in SQL (tests/bench/million.py) leave it out.
    audit_head = models.CharField(max_length=64, blank=True, default="", db_default="", editable=False)
    # Where the case's acceptance clock (受理, or a petition's 登记) stands: "" none, "open",
    # "on_time" or "late" once stopped (workflow.counts: 及时受理). Kept by the database from
    # the clocks, so the rollup of the counts (workflow.tally) can count it by month.
    acceptance = models.CharField(max_length=8, blank=True, default="", db_default="", editable=False)
    # The earliest due time and the earliest warning time among the case's running clocks
    # (open, not paused, a duty: workflow.models.DeadlineQuerySet.running), or empty when
    # none runs. Kept by the database from the clocks (workflow.running), so a case's card
    # is read off its own row: red while running_due_at is past, yellow once
    # running_warn_at is (workflow.counts.overdue and warned).
    running_due_at = models.DateTimeField(null=True, blank=True, editable=False)
    running_warn_at = models.DateTimeField(null=True, blank=True, editable=False)
    # The nearest due time among all its open clocks, paused ones and the parties' windows
    # included: what lists show and sort by as the nearest deadline. Kept the same way.
    next_due_at = models.DateTimeField(_("nearest deadline"), null=True, blank=True, editable=False)
    # When the case was last written: every change saves the case row or moves the audit
    # chain's head on it, and both set this (cases.audit.write_heads). Apps that work
    # offline fetch what changed since their last sync by it (the API's updated_after).
    # The moment of the write, not of the event: an import's back-dated events are news
    # to a client today. Empty only on rows loaded in SQL around the ORM.
    updated_at = models.DateTimeField(_("updated at"), null=True, blank=True, editable=False)

    objects = CaseQuerySet.as_manager()

    class Meta:
        verbose_name = _("case")
        verbose_name_plural = _("cases")
        ordering = ["-reported_at"]
        constraints = [
            models.UniqueConstraint(fields=["registered_unit", "year", "serial"], name="case_number_per_unit_year")
        ]
        indexes = [
            # Open cases with their stage and the columns visible_to() tests: lists and
            # queues (open cases by default, or one stage) count and filter a tenth of the
            # table from the index alone instead of reading every case ever registered.
            # On PostgreSQL it also carries what the queue filters and sorts by, so a
            # county's hundred thousand open cases are filtered, counted and sorted
            # without a visit to the table (a page sorted by date: 90 ms to 18 ms), and
            # their cards counted by unit from it alone (workflow.counts.pressing_by_unit).
            models.Index(fields=["stage", "responsible_unit", "village", "accused_unit", "id"],
                         include=["lead_department", "kind", "category", "risk", "source", "reported_at",
                                  "number", "running_due_at", "running_warn_at", "registered_unit", "next_due_at"],
                         condition=~models.Q(stage="closed"), name="case_open_covering"),
            # A person's work (workflow.queues.my_work) is the open cases of their units,
            # one arm of an OR: led by the stage, the index above was read whole for it
            # (20 ms at a million cases, a fifth of the workbench). The same on the village
            # made the planner read a county's open cases through it, row by row from the
            # table, rather than from the index above alone.
            models.Index(fields=["responsible_unit"], condition=~models.Q(stage="closed"), name="case_open_unit"),
            # What visible_to() tests, alone: counting the open cases a person sees (every
            # list's count) reads these four narrow columns instead of the covering index
            # above, ten times as wide (a township's count at a million cases: 41 to 27 ms).
            models.Index(fields=["responsible_unit", "village", "accused_unit", "id"],
                         condition=~models.Q(stage="closed"), name="case_open_reach"),
            # Newest first, the order of the API's list and of the closed cases' queue: a
            # page is read off the index instead of sorting a million cases (3.5 s).
            models.Index(fields=["reported_at"], name="case_reported_at"),
            # The ledgers of cases closed in a period (reports.ledgers) read them off this
            # index instead of every case ever registered.
            models.Index(fields=["closed_at"], name="case_closed_at"),
            # The few cases whose acceptance clock still runs, by date: the dashboard's
            # on-time acceptance adds those fallen due to the rollup (workflow.counts.tallied).
            models.Index(fields=["reported_at"], condition=models.Q(acceptance="open"), name="case_acceptance_open"),
            # What changed since a client's last sync, in the order it pages through it.
            models.Index(fields=["updated_at", "id"], name="case_updated_at"),
        ]
        # Per-stage and sensitive-action permissions, held by role (workflow.permissions)
        # or granted per case through the guardian tables below.
        permissions = [
            ("accept_case", _("Can accept a case")),
            ("reject_case", _("Can reject a case")),
            ("start_mediation_case", _("Can start mediation")),
            ("resolve_case", _("Can resolve a case")),
            ("escalate_case", _("Can escalate a case")),
            ("take_over_case", _("Can take over an escalated case")),
            ("send_back_case", _("Can send an escalated case back")),
            ("refer_case", _("Can refer a case")),
            ("follow_up_case", _("Can record a follow-up visit")),
            ("reopen_case", _("Can reopen a case")),
            ("withdraw_case", _("Can withdraw a case")),
            ("assign_case", _("Can assign a case")),
            ("note_case", _("Can add notes")),
            ("record_session_case", _("Can record mediation sessions")),
            ("request_extension", _("Can request a deadline extension")),
            ("approve_extension", _("Can approve a deadline extension")),
            ("pause_deadline", _("Can pause and resume a deadline")),
            ("view_party_pii", _("Can see parties' ID numbers and phones")),
            ("supervise_case", _("Can issue and close supervision orders")),
            ("reply_supervision", _("Can reply to supervision orders")),
            ("correct_case", _("Can correct a case's facts")),
            ("take_charge_case", _("Can take personal charge of a case")),
            # 联调 (joint handling): the responsible unit names co-handling departments,
            # each of which records its part (workflow.flow: name_co_department, record_part).
            ("name_co_departments", _("Can name co-handling departments")),
            ("record_part_case", _("Can record a co-handling department's part")),
            # 复查、复核 and the objection to a routing (信访工作条例 第二十三条、第三十五条、
            # 第三十六条; workflow.flow: request_review, decide_review, object_to_routing,
            # decide_objection).
            ("request_review_case", _("Can register a petition's review request")),
            ("decide_review_case", _("Can decide a petition's review")),
            ("object_routing_case", _("Can object to a petition's routing")),
            ("decide_objection_case", _("Can decide an objection to a routing")),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.title}"

    @classmethod
    def from_db(cls, db: Any, field_names: Any, values: Any) -> Case:
        instance = super().from_db(db, field_names, values)
        instance._saved_stage = instance.__dict__.get("stage")
        return instance

    def save(self, *args: Any, **kwargs: Any) -> None:
        saved_stage = getattr(self, "_saved_stage", self.Stage.REPORTED)
        if self.stage != saved_stage and not _stage_writes.get():
            raise StageWriteError
        if not self._state.adding and kwargs.get("update_fields") is None and not args:
            # A whole-row save (the admin, an import) never writes the audit chain's head
            # read before it: an event appended meanwhile would be cut off the chain.
            kwargs["update_fields"] = [f.name for f in self._meta.concrete_fields
                                       if not f.primary_key and f.name not in DATABASE_KEPT]
        self.updated_at = timezone.now()
        if kwargs.get("update_fields") is not None:
            kwargs["update_fields"] = {*kwargs["update_fields"], "updated_at"}
        super().save(*args, **kwargs)
        self._saved_stage = self.stage


class Sex(models.TextChoices):
    MALE = "male", _("Male")
    FEMALE = "female", _("Female")


class Party(models.Model):
    class PartyRole(models.TextChoices):
        APPLICANT = "applicant", _("Applicant")
        RESPONDENT = "respondent", _("Respondent")
        PETITIONER = "petitioner", _("Petitioner")

    case = models.ForeignKey(Case, models.CASCADE, related_name="parties")
    name = models.CharField(_("name"), max_length=64)
    role = models.CharField(_("party role"), max_length=16, choices=PartyRole.choices)
    id_number = models.CharField(_("ID number"), max_length=18, blank=True, validators=[validate_id_number])
    phone = models.CharField(_("phone"), max_length=20, blank=True, validators=[validate_phone])
    address = models.CharField(_("address"), max_length=200, blank=True)
    # What a mediation agreement must name of each party (人民调解法 第二十九条) and the
    # application and record forms ask for (docs/paper.md). Empty on older cases: their
    # forms print blanks to be filled by hand. Sex and birth date are read from the ID
    # number where there is one (cases.validators.id_facts).
    sex = models.CharField(_("sex"), max_length=8, choices=Sex.choices, blank=True)
    ethnicity = models.CharField(_("ethnicity"), max_length=16, blank=True)
    birth_date = models.DateField(_("date of birth"), null=True, blank=True)
    occupation = models.CharField(_("occupation"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("party")
        verbose_name_plural = _("parties")
        indexes = [models.Index(fields=["id_number"], name="party_id_number")]

    def __str__(self) -> str:
        return self.name

    @property
    def masked_id_number(self) -> str:
        return mask_id_number(self.id_number)

    @property
    def masked_phone(self) -> str:
        return mask_phone(self.phone)


class PersonalDataAccess(models.Model):
    """One showing of parties' full ID numbers and phones to one person (个人信息保护法
    第五十一条: access control and records of who processed personal information). Kept
    apart from the case's events: reading is not a change of the case, and the timeline
    should not fill with page views. Written by cases.personal_data.record()."""

    class Door(models.TextChoices):
        PAGE = "page", _("Case page")
        API = "api", _("API")
        ADMIN = "admin", _("Administration")
        PAPER = "paper", _("Printed form")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, related_name="+", verbose_name=_("user"))
    case = models.ForeignKey(Case, models.PROTECT, related_name="personal_data_accesses", verbose_name=_("case"))
    at = models.DateTimeField(_("at"))
    door = models.CharField(_("door"), max_length=16, choices=Door.choices)

    class Meta:
        verbose_name = _("personal data access")
        verbose_name_plural = _("personal data accesses")
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["case", "at"], name="pdaccess_case_at"),
                   models.Index(fields=["user", "at"], name="pdaccess_user_at")]

    def __str__(self) -> str:
        return f"{self.user} · {self.case_id} · {self.at:%Y-%m-%d %H:%M}"


class LoginFailure(models.Model):
    """One failed login, counted against one key (a keyed hash of the username or of the
    client's address, cases.login_throttle.failure_key). A row per failure rather than a counter per key: concurrent
    failures are inserts that cannot overwrite each other, so every one is counted."""

    key = models.CharField(_("key"), max_length=200)
    at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        verbose_name = _("login failure")
        verbose_name_plural = _("login failures")
        indexes = [
            # Every login attempt counts a key's rows within the window.
            models.Index(fields=["key", "at"], name="loginfailure_key_at"),
            # Every failure purges the rows that have left the window, whatever their key.
            models.Index(fields=["at"], name="loginfailure_at"),
        ]

    def __str__(self) -> str:
        return f"{self.key} · {self.at:%Y-%m-%d %H:%M:%S}"


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs: Any) -> int:
        raise AppendOnlyError

    def delete(self) -> Any:
        raise AppendOnlyError

    def bulk_create(self, objs: Any, *args: Any, **kwargs: Any) -> list[Any]:
        # Chained here rather than by each writer, so no insert can skip the chain
        # (cases.audit); the case rows stay locked until the rows are in.
        from .audit import chain
        from .bulk import insert_all

        objs = list(objs)
        with transaction.atomic(using=self.db, savepoint=False):
            chain(objs, using=self.db)
            if args or kwargs:
                return super().bulk_create(objs, *args, **kwargs)
            insert_all(self.model, objs, using=self.db)
            return objs


def document_path(document: CaseDocument, filename: str) -> str:
    # Under the case's id, with a random name: the stored name never carries what a
    # party or an official typed, and two uploads of "协议书.pdf" do not collide.
    suffix = Path(filename).suffix.lower()[:10]
    return f"documents/{document.case_id}/{uuid.uuid4().hex}{suffix}"


class CaseDocument(models.Model):
    """A document kept with a case: a mediation agreement (调解协议书), a record, a
    scan of a letter. Attached through the operation attach_document; the file is served
    only to those who may see the case, never from a public URL."""

    case = models.ForeignKey("Case", models.CASCADE, related_name="documents")
    title = models.CharField(_("title"), max_length=200)
    file = models.FileField(_("file"), upload_to=document_path, max_length=300)
    original_name = models.CharField(_("original file name"), max_length=255)
    size = models.PositiveIntegerField(_("size (bytes)"))
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, null=True, related_name="+")
    uploaded_at = models.DateTimeField(_("uploaded at"))

    class Meta:
        verbose_name = _("document")
        verbose_name_plural = _("documents")
        ordering = ["uploaded_at", "pk"]

    def __str__(self) -> str:
        return self.title


class CaseEvent(models.Model):
    """The audit trail: one row per change, written in the same transaction as the
    change, never updated or deleted. actor is None when the system acted."""

    case = models.ForeignKey(Case, models.PROTECT, related_name="events")
    kind = models.CharField(_("event"), max_length=32)
    from_stage = models.CharField(_("from stage"), max_length=16, blank=True)
    to_stage = models.CharField(_("to stage"), max_length=16, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("actor")
    )
    at = models.DateTimeField(_("at"))
    data = models.JSONField(_("data"), default=dict, blank=True)
    # Tamper evidence (cases.audit): the hash of the case's previous event, and sha256
    # over this row's content and prev_hash. Set on insert, under the case's lock.
    prev_hash = models.CharField(_("previous hash"), max_length=64, blank=True, editable=False)
    hash = models.CharField(_("hash"), max_length=64, blank=True, editable=False)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        verbose_name = _("case event")
        verbose_name_plural = _("case events")
        ordering = ["at", "pk"]
        indexes = [
            models.Index(fields=["case", "at"], name="caseevent_case_at"),
            # The chain's order: each insert reads its case's last event by it, and
            # verify_audit walks the trail case by case along it.
            models.Index(fields=["case", "id"], name="caseevent_case_chain"),
            # Events of one kind in a period: the follow-up visits' ledger (reports.ledgers)
            # over a county's years of events.
            models.Index(fields=["kind", "at"], name="caseevent_kind_at"),
        ]

    def __str__(self) -> str:
        return f"{self.case_id} {self.kind} {self.at:%Y-%m-%d %H:%M}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise AppendOnlyError
        from .audit import chain, linked_by

        using = kwargs.get("using") or router.db_for_write(CaseEvent, instance=self)
        # No savepoint: the row and the head written by chain() stand or fall together
        # with the caller's transaction, and a savepoint was two statements per event.
        with transaction.atomic(using=using, savepoint=False):
            if not linked_by(self):
                chain([self], using=using)
            super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise AppendOnlyError


class CaseSerial(models.Model):
    """The last serial handed out per registering unit and year; locked while a case
    number is drawn so concurrent intakes never share one."""

    unit = models.ForeignKey(OrgUnit, models.CASCADE, related_name="+")
    year = models.PositiveSmallIntegerField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["unit", "year"], name="caseserial_unit_year")]


# Per-case grants (assignee, lead department) in guardian's direct-foreign-key tables:
# a real foreign key to Case, so a deleted case takes its grants with it.
class CaseUserObjectPermission(UserObjectPermissionBase):
    content_object = models.ForeignKey(Case, models.CASCADE)


class CaseGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Case, models.CASCADE)


class ScreeningReturn(models.Model):
    """A village's monthly screening return (排查表): the disputes it found in a calendar
    month, or a nil report (零报告), signed off by the village head. Filed through
    screening.returns.submit_return(), once per village and month."""

    village = models.ForeignKey(
        OrgUnit, models.PROTECT, related_name="screening_returns", verbose_name=_("village")
    )
    # The first day of the month the return covers.
    month = models.DateField(_("month"))
    is_nil = models.BooleanField(_("nil report"), default=False)
    note = models.TextField(_("note"), blank=True)
    signed_off_by = models.CharField(_("signed off by"), max_length=64)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True, related_name="+",
        verbose_name=_("submitted by"),
    )
    submitted_at = models.DateTimeField(_("submitted at"))
    # Whether it came after its due time; kept as filed, so a later edit of the rule
    # does not rewrite what the assessment of that month counted.
    is_late = models.BooleanField(_("late"), default=False)

    class Meta:
        verbose_name = _("screening return")
        verbose_name_plural = _("screening returns")
        ordering = ["-month", "village__path"]
        constraints = [
            models.UniqueConstraint(fields=["village", "month"], name="screeningreturn_one_per_village_month")
        ]

    def __str__(self) -> str:
        return f"{self.village} {self.month:%Y-%m}"


class ScreeningItem(models.Model):
    """One dispute listed on a return: a case already registered, or one the return
    registered (source 排查发现)."""

    screening_return = models.ForeignKey(ScreeningReturn, models.CASCADE, related_name="items")
    case = models.ForeignKey(Case, models.PROTECT, related_name="screening_items", verbose_name=_("case"))
    note = models.CharField(_("note"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("screening item")
        verbose_name_plural = _("screening items")
        constraints = [
            models.UniqueConstraint(fields=["screening_return", "case"], name="screeningitem_case_once")
        ]

    def __str__(self) -> str:
        return f"{self.screening_return} · {self.case_id}"


class MeetingMinutes(models.Model):
    """The minutes of a township's monthly 排查 meeting (排查例会纪要): when and where it
    was held, who chaired and attended, what it agreed, and — once closed — the month's
    figures and the decisions taken at it as they stood at closing. One per township and
    month; written and closed through screening.minutes, editable until closed, then never
    changed (the service refuses, under the row's lock)."""

    township = models.ForeignKey(OrgUnit, models.PROTECT, related_name="meeting_minutes",
                                 verbose_name=_("township"))
    # The first day of the month the meeting reviewed.
    month = models.DateField(_("month"))
    held_at = models.DateTimeField(_("held at"))
    place = models.CharField(_("place"), max_length=200)
    chair = models.CharField(_("chair"), max_length=64)
    attendees = models.TextField(_("attendees"))
    resolutions = models.TextField(_("matters agreed"), blank=True)
    # Written when the minutes are closed: the figures (screening.meeting.meeting_data's
    # totals and returns) and the decisions, so the closed minutes say what the meeting saw.
    figures = models.JSONField(_("figures"), default=dict, blank=True)
    decisions = models.JSONField(_("decisions"), default=list, blank=True)
    written_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, related_name="+",
                                   verbose_name=_("written by"))
    updated_at = models.DateTimeField(_("updated at"))
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    closed_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True,
                                  related_name="+", verbose_name=_("closed by"))

    class Meta:
        verbose_name = _("meeting minutes")
        verbose_name_plural = _("meeting minutes")
        ordering = ["-month", "township__path"]
        constraints = [
            models.UniqueConstraint(fields=["township", "month"], name="meetingminutes_one_per_township_month")
        ]

    def __str__(self) -> str:
        return f"{self.township} {self.month:%Y-%m}"


class MonthlyReport(models.Model):
    """A township's 矛盾纠纷排查情况表 for a month as submitted upward (报送): the rows of
    reports.ledgers.monthly_table frozen at submission, who signed it (签发人) and who sent
    it, when, and whether after its due time. Written once by reports.submission, never
    changed: a later change of the cases shows as a difference, not in these figures."""

    unit = models.ForeignKey(OrgUnit, models.PROTECT, related_name="monthly_reports", verbose_name=_("unit"))
    month = models.DateField(_("month"))
    rows = models.JSONField(_("rows"), default=list)
    signed_by = models.CharField(_("signed by"), max_length=64)
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, related_name="+",
                                     verbose_name=_("submitted by"))
    submitted_at = models.DateTimeField(_("submitted at"))
    # The due time it was submitted against, and whether it came after it: kept as
    # submitted, so a later edit of the rule does not rewrite who was late.
    due_at = models.DateTimeField(_("due at"), null=True, blank=True)
    is_late = models.BooleanField(_("late"), default=False)

    class Meta:
        verbose_name = _("monthly report")
        verbose_name_plural = _("monthly reports")
        ordering = ["-month", "unit__path"]
        constraints = [
            models.UniqueConstraint(fields=["unit", "month"], name="monthlyreport_one_per_unit_month")
        ]

    def __str__(self) -> str:
        return f"{self.unit} {self.month:%Y-%m}"


class StageWriteError(RuntimeError):
    def __init__(self) -> None:
        super().__init__("A case's stage changes only through workflow.services.transition().")


class AppendOnlyError(RuntimeError):
    def __init__(self) -> None:
        super().__init__("Case events are append-only.")


_stage_writes: contextvars.ContextVar[bool] = contextvars.ContextVar("stage_writes", default=False)


@contextlib.contextmanager
def stage_writes_allowed() -> Iterator[None]:
    """Opened by the transition service alone, around the save that moves a case."""
    token = _stage_writes.set(True)
    try:
        yield
    finally:
        _stage_writes.reset(token)


class DeviceToken(AbstractAuthToken):
    """One device's API token (django-rest-knox, KNOX_TOKEN_MODEL): a grid app on one phone,
    a county platform's feed. Each login issues a token of its own, so one device logs out
    or is revoked without the others; only a hash of the token is kept. Tokens expire
    (API_TOKEN_DAYS) and are revoked when the user's password changes or the account is
    deactivated (cases.tokens)."""

    name = models.CharField(_("device"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("device token")
        verbose_name_plural = _("device tokens")
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"{self.user} · {self.name or self.token_key[:4] + '…'}"

    @property
    def handle(self) -> str:
        """How the owner names this token to revoke it: a prefix of the stored hash,
        which reveals nothing of the token itself."""
        return self.digest[:16]
