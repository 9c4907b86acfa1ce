"""How a case moves in time: deadline rules and profiles, the working-day calendar and
the deadlines opened on cases."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cases.models import Case, Category, OrgUnit


class TimeUnit(models.TextChoices):
    CALENDAR_DAYS = "calendar", _("calendar days")
    WORKING_DAYS = "working", _("working days")
    HOURS = "hours", _("hours")


class DeadlineKind(models.TextChoices):
    ACCEPTANCE = "acceptance", _("Acceptance")
    REGISTRATION = "registration", _("Registration and routing")
    ACCEPTANCE_NOTICE = "acceptance_notice", _("Notice of acceptance")
    OBJECTION = "objection", _("Objection to routing")
    INVESTIGATION = "investigation", _("Investigation")
    MEDIATION = "mediation", _("Mediation")
    HANDLING = "handling", _("Petition handling")
    REVIEW = "review", _("Review answer")
    JUDICIAL_CONFIRMATION = "judicial_confirmation", _("Judicial confirmation window")
    FOLLOW_UP = "follow_up", _("Follow-up visit")
    MAJOR_REPORT = "major_report", _("Major risk reported upward")
    TAKE_OVER = "take_over", _("Take-over by the level above")
    SCREENING_RETURN = "screening_return", _("Monthly screening return")
    SUPERVISION = "supervision", _("Supervision order")
    MONTHLY_REPORT = "monthly_report", _("Monthly table reported upward")


class RuleProfile(models.Model):
    """A jurisdiction's set of deadline numbers. A rule missing from a profile is
    looked up in its parent, and finally in the national profile."""

    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=100)
    parent = models.ForeignKey("self", models.PROTECT, null=True, blank=True, verbose_name=_("falls back to"))

    class Meta:
        verbose_name = _("deadline profile")
        verbose_name_plural = _("deadline profiles")

    def __str__(self) -> str:
        return self.name


class DeadlineRule(models.Model):
    """One obligation's clock. Empty case kind, category or risk match any; the most
    specific matching rule of the profile wins."""

    profile = models.ForeignKey(RuleProfile, models.CASCADE, related_name="rules", verbose_name=_("profile"))
    kind = models.CharField(_("deadline"), max_length=32, choices=DeadlineKind.choices)
    case_kind = models.CharField(_("case kind"), max_length=16, choices=Case.Kind.choices, blank=True)
    category = models.CharField(_("category"), max_length=32, choices=Category.choices, blank=True)
    risk = models.CharField(_("risk level"), max_length=16, choices=Case.Risk.choices, blank=True)
    duration = models.PositiveIntegerField(_("duration"))
    unit = models.CharField(_("unit"), max_length=16, choices=TimeUnit.choices)
    # 民事诉讼法 第八十五条 by analogy: a calendar-day term ending on a rest day ends on
    # the next working day. A switch, because not every local rule reads it so.
    holiday_shift = models.BooleanField(_("move off rest days"), default=True)
    warning_lead = models.PositiveIntegerField(_("warning before due (same unit)"), default=0)
    escalation_grace = models.PositiveIntegerField(_("escalation after due (same unit)"), default=1)
    extension_cap = models.PositiveIntegerField(_("largest extension (same unit)"), default=0)
    legal_basis = models.CharField(_("legal basis"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("deadline rule")
        verbose_name_plural = _("deadline rules")
        constraints = [
            models.UniqueConstraint(
                fields=["profile", "kind", "case_kind", "category", "risk"], name="deadlinerule_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.duration} {self.get_unit_display()}"

    @property
    def specificity(self) -> int:
        return bool(self.case_kind) + bool(self.category) * 2 + bool(self.risk)


class CalendarYear(models.Model):
    """A year whose official holiday arrangement (国务院办公厅 notice) is entered. Dates
    in years not listed are computed on plain weekends and marked provisional."""

    year = models.PositiveSmallIntegerField(_("year"), unique=True)
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("calendar year")
        verbose_name_plural = _("calendar years")
        ordering = ["year"]

    def __str__(self) -> str:
        return str(self.year)


class CalendarDay(models.Model):
    """A day that differs from Monday-to-Friday work: a statutory holiday on a weekday
    (working=False) or a make-up working day (调休) on a weekend (working=True)."""

    date = models.DateField(_("date"), unique=True)
    working = models.BooleanField(_("working day"))
    name = models.CharField(_("name"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("holiday or make-up working day")
        verbose_name_plural = _("holidays and make-up working days")
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date} {self.name}"


class Step(models.TextChoices):
    """The sweep's ladder on an open deadline, each step taken exactly once."""

    WARNING = "warning", _("Yellow card")
    OVERDUE = "overdue", _("Red card")
    ESCALATION = "escalation", _("Escalated for supervision")


# (step, the deadline's time it comes at, the field that records it was taken)
LADDER = (
    (Step.WARNING, "warn_at", "warned_at"),
    (Step.OVERDUE, "due_at", "breached_at"),
    (Step.ESCALATION, "escalate_at", "escalated_at"),
)


class Clock(models.Model):
    """What every clock has — a case's deadline or a village's return — and the one
    ladder the sweep takes each through: yellow card at the warning time, red card at the
    due time, then escalation where the kind has one. Each step is marked once; cards are
    read from the clock itself (workflow.counts.card)."""

    # (step, the clock's time it comes at, the field that records it was taken)
    LADDER: tuple[tuple[str, str, str], ...] = LADDER

    rule = models.ForeignKey(DeadlineRule, models.PROTECT, related_name="+", verbose_name=_("rule"))
    # Copied from the rule when opened: a later edit of the rule does not move clocks
    # already running, and the basis shown is the one the clock was opened under.
    legal_basis = models.CharField(_("legal basis"), max_length=200, blank=True)
    due_at = models.DateTimeField(_("due at"))
    warn_at = models.DateTimeField(_("warning at"))
    provisional = models.BooleanField(
        _("provisional"), default=False, help_text=_("Computed on plain weekends: the year's holidays are not entered.")
    )
    met_at = models.DateTimeField(_("met at"), null=True, blank=True)
    warned_at = models.DateTimeField(_("warned at"), null=True, blank=True)
    breached_at = models.DateTimeField(_("overdue at"), null=True, blank=True)
    # When the sweep should look at this clock next: the time of its first step not yet
    # taken, or later when a warning waits for office hours; empty once nothing is left
    # to do or while paused. Stored so the sweep reads an index, not every clock.
    next_action_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        abstract = True

    def pending_step(self) -> tuple[str, datetime] | None:
        """The first step of the ladder not yet taken, and when it comes."""
        if self.met_at is not None or getattr(self, "paused_at", None) is not None:
            return None
        for step, time_field, mark_field in self.LADDER:
            if getattr(self, mark_field) is None:
                return step, getattr(self, time_field)
        return None


# The parties' own terms, not a duty of the unit: the 30 days to apply jointly for judicial
# confirmation (人民调解法 第三十三条) run for the parties, who may let them pass. Kept and
# shown on the case, they show no card, count as nothing late, and the sweep raises
# nothing for them (workflow.deadlines.schedule, workflow.counts).
WINDOWS = frozenset({DeadlineKind.JUDICIAL_CONFIRMATION})


class DeadlineQuerySet(models.QuerySet):
    def open(self) -> DeadlineQuerySet:
        return self.filter(met_at__isnull=True)

    def running(self) -> DeadlineQuerySet:
        """The clocks that can show a card: open, not paused, and a duty (not WINDOWS)."""
        return self.filter(met_at__isnull=True, paused_at__isnull=True).exclude(kind__in=WINDOWS)


class Deadline(Clock):
    """One duty on a case with its clock, opened from a rule when the case enters a stage
    (workflow.deadlines)."""

    case = models.ForeignKey(Case, models.CASCADE, related_name="deadlines")
    kind = models.CharField(_("deadline"), max_length=32, choices=DeadlineKind.choices)
    duration = models.PositiveIntegerField(_("duration"))
    unit = models.CharField(_("unit"), max_length=16, choices=TimeUnit.choices)
    started_at = models.DateTimeField(_("started at"))
    escalate_at = models.DateTimeField(_("escalation at"))
    paused_at = models.DateTimeField(_("paused since"), null=True, blank=True)
    excluded = models.PositiveIntegerField(_("excluded time (same unit)"), default=0)
    extended_by = models.PositiveIntegerField(_("extended by (same unit)"), default=0)
    escalated_at = models.DateTimeField(_("escalated at"), null=True, blank=True)

    objects = DeadlineQuerySet.as_manager()

    class Meta:
        verbose_name = _("deadline")
        verbose_name_plural = _("deadlines")
        ordering = ["due_at"]
        indexes = [
            # The sweep's work queue: only open deadlines with a step ahead are indexed, so
            # its cost follows the deadlines coming due, not every clock ever opened.
            models.Index(
                fields=["next_action_at"],
                condition=Q(met_at__isnull=True, next_action_at__isnull=False),
                name="deadline_sweep_queue",
            ),
            models.Index(fields=["due_at"], condition=Q(met_at__isnull=True), name="deadline_open_due"),
            models.Index(fields=["case", "kind"], name="deadline_case_kind"),
            # 按期办结 (workflow.counts.completion_counted) takes the completion clocks stopped
            # in a period by this index and those fallen due unstopped by deadline_open_due:
            # without it, every clock ever opened was read (a county's month: 460 ms → 30 ms).
            models.Index(fields=["met_at"], condition=Q(kind__in=[DeadlineKind.MEDIATION, DeadlineKind.HANDLING]),
                         name="deadline_completion_met"),
        ]

    def __str__(self) -> str:
        # In Beijing time (TIME_ZONE), as every page shows times: due_at is stored in UTC.
        return f"{self.get_kind_display()} → {timezone.localtime(self.due_at):%Y-%m-%d %H:%M}"



class Extension(models.Model):
    """The one extension a deadline may have: requested with a reason, decided by
    someone else (信访工作条例 第三十四条: approved, and the reason told)."""

    deadline = models.OneToOneField(Deadline, models.CASCADE, related_name="extension")
    amount = models.PositiveIntegerField(_("extension (same unit)"))
    reason = models.TextField(_("reason"))
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(_("requested at"))
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True, related_name="+")
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    approved = models.BooleanField(_("approved"), null=True)

    class Meta:
        verbose_name = _("extension")
        verbose_name_plural = _("extensions")

    def __str__(self) -> str:
        return f"+{self.amount} ({self.deadline})"


class SupervisionOrder(models.Model):
    """督办: a supervisor's order to the unit holding a case, with instructions and a
    deadline of its own. The unit replies; the supervisor closes it. An unanswered order
    goes through the sweep's ladder like any deadline."""

    case = models.ForeignKey(Case, models.CASCADE, related_name="supervision_orders")
    deadline = models.OneToOneField(Deadline, models.PROTECT, related_name="supervision_order")
    issued_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, related_name="+")
    issued_at = models.DateTimeField(_("issued at"))
    instructions = models.TextField(_("instructions"))
    reply = models.TextField(_("reply"), blank=True)
    replied_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True, related_name="+")
    replied_at = models.DateTimeField(_("replied at"), null=True, blank=True)
    closed_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True, related_name="+")
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("supervision order")
        verbose_name_plural = _("supervision orders")
        ordering = ["-issued_at"]

    def __str__(self) -> str:
        return f"{self.case_id} {self.issued_at:%Y-%m-%d}"


class ReturnDeadline(Clock):
    """The clock of one village's screening return for one month: opened from the
    rule of kind screening_return (days after the month's end), met when the return is
    filed, and swept like a case's deadline: yellow card, then red card; a return is not
    escalated."""

    LADDER = LADDER[:2]

    village = models.ForeignKey(OrgUnit, models.CASCADE, related_name="return_deadlines", verbose_name=_("village"))
    month = models.DateField(_("month"))
    # After this a return for the month is refused: the month is settled for the
    # meeting, the ledgers and the assessment.
    closes_at = models.DateTimeField(_("closes at"))
    met_at = models.DateTimeField(_("filed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("screening return deadline")
        verbose_name_plural = _("screening return deadlines")
        ordering = ["-month", "due_at"]
        constraints = [
            models.UniqueConstraint(fields=["village", "month"], name="returndeadline_one_per_village_month")
        ]
        indexes = [
            # The sweep's work queue for returns, as for case deadlines.
            models.Index(
                fields=["next_action_at"],
                condition=Q(met_at__isnull=True, next_action_at__isnull=False),
                name="returndeadline_sweep_queue",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.village_id} {self.month:%Y-%m} → {self.due_at:%Y-%m-%d}"


class ReportDeadline(Clock):
    """The clock of one township's monthly 矛盾纠纷排查情况表 sent upward (报送) for one
    month: opened from the rule of kind monthly_report (workflow.report_clocks.report_due),
    met when the township submits (reports.submission.freeze_monthly), and swept like a
    village's return: yellow card, then red card, never escalated (the red card reaches the
    county already). A model of its own rather than a generalised ReturnDeadline: a
    return's clock has a village and a closing time that a township's table has not, and
    the villages' clocks are read by the screening pages, the board and the assessment."""

    LADDER = LADDER[:2]

    unit = models.ForeignKey(OrgUnit, models.CASCADE, related_name="report_deadlines", verbose_name=_("township"))
    month = models.DateField(_("month"))
    met_at = models.DateTimeField(_("submitted at"), null=True, blank=True)

    class Meta:
        verbose_name = _("monthly table deadline")
        verbose_name_plural = _("monthly table deadlines")
        ordering = ["-month", "due_at"]
        constraints = [
            models.UniqueConstraint(fields=["unit", "month"], name="reportdeadline_one_per_unit_month")
        ]
        indexes = [
            # The sweep's work queue for the townships' tables, as for returns.
            models.Index(
                fields=["next_action_at"],
                condition=Q(met_at__isnull=True, next_action_at__isnull=False),
                name="reportdeadline_sweep_queue",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.unit_id} {self.month:%Y-%m} → {self.due_at:%Y-%m-%d}"



class AssessmentScheme(models.Model):
    """How units are scored (考核): the indicators with their weights, on a scale of
    100 (百分制) or 1000 points (千分制). Data, edited by administrators."""

    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=100)
    scale = models.PositiveIntegerField(_("scale (points)"), default=100)
    # How many of the last places are warned (末位警示).
    warned_places = models.PositiveSmallIntegerField(_("last places warned"), default=1)
    is_default = models.BooleanField(_("default scheme"), default=False)

    class Meta:
        verbose_name = _("assessment scheme")
        verbose_name_plural = _("assessment schemes")

    def __str__(self) -> str:
        return self.name


class Indicator(models.TextChoices):
    ACCEPTANCE_ON_TIME = "acceptance_on_time", _("On-time acceptance rate")
    COMPLETION_ON_TIME = "completion_on_time", _("On-time completion rate")
    RESOLUTION = "resolution", _("Resolution rate")
    SATISFACTION = "satisfaction", _("Follow-up satisfaction")
    REPEAT_PETITIONS = "repeat_petitions", _("Repeat petitions")
    LATE_RETURNS = "late_returns", _("Late screening returns")
    MISSING_RETURNS = "missing_returns", _("Missing screening returns")
    CONCEALED = "concealed", _("Confirmed concealment")
    MAJOR_CONCEALED = "major_concealed", _("Confirmed concealment of a major case")
    MAJOR_GROUP_INCIDENT = "major_group_incident", _("Major group incident")


class AssessmentItem(models.Model):
    """One indicator of a scheme. A rate earns weight × rate; a deduction takes
    `per_case` points off per case, down to zero; a veto (一票否决) sets the unit's whole
    score to zero when it counts anything."""

    class Method(models.TextChoices):
        RATE = "rate", _("Rate")
        DEDUCTION = "deduction", _("Deduction per case")
        VETO = "veto", _("Veto")

    scheme = models.ForeignKey(AssessmentScheme, models.CASCADE, related_name="items", verbose_name=_("scheme"))
    indicator = models.CharField(_("indicator"), max_length=32, choices=Indicator.choices)
    method = models.CharField(_("method"), max_length=16, choices=Method.choices)
    weight = models.DecimalField(_("weight (points)"), max_digits=7, decimal_places=2, default=0)
    per_case = models.DecimalField(_("points off per case"), max_digits=7, decimal_places=2, default=0)

    class Meta:
        verbose_name = _("assessment item")
        verbose_name_plural = _("assessment items")
        ordering = ["pk"]
        constraints = [models.UniqueConstraint(fields=["scheme", "indicator"], name="assessmentitem_once")]

    def __str__(self) -> str:
        return f"{self.get_indicator_display()} {self.weight}"


class CaseTally(models.Model):
    """How many cases there are of each registration month (Beijing time), set of units
    deciding whose cases they are (workflow.counts.OWNERSHIP; 0 for none), category, kind
    and stage, taken up (调处) or not, resolved (成功) or not, and acceptance state: the rollup the oversight
    pages count years of cases from (workflow.tally). Written by the database in the
    statement that writes the case, never by the application."""

    month = models.DateField()
    village_id = models.IntegerField()
    registered_unit_id = models.IntegerField()
    accused_unit_id = models.IntegerField()
    lead_department_id = models.IntegerField()
    category = models.CharField(max_length=32)
    kind = models.CharField(max_length=16)
    stage = models.CharField(max_length=16)
    handled = models.BooleanField()
    succeeded = models.BooleanField()
    acceptance = models.CharField(max_length=8)
    n = models.IntegerField()

    class Meta:
        default_permissions = ()
        constraints = [
            models.UniqueConstraint(
                fields=["month", "village_id", "registered_unit_id", "accused_unit_id", "lead_department_id",
                        "category", "kind", "stage", "handled", "succeeded", "acceptance"], name="casetally_key"),
        ]


# 司法确认 and 履行 (issue 18; docs/workflow.md: Judicial confirmation and follow-through).


class Performance(models.TextChoices):
    """How far the parties have carried out a mediation agreement, as a visit finds it.
    人民调解法 第三十一条: the parties perform the agreement as agreed, and the committee
    supervises its performance and urges the parties to perform."""

    FULLY = "fully", _("Fully performed")
    PARTLY = "partly", _("Partly performed")
    NOT_YET = "not_yet", _("Not yet performed")
    REFUSED = "refused", _("Performance refused")


class FollowUpVisit(models.Model):
    """One follow-up visit (回访) of a resolved dispute and the performance it found: the
    visits that keep the case resolved (record_visit) and the closing one (follow_up) when
    it states the performance. The case's performance is its newest visit since its
    resolution (workflow.flow.performance_of): a reopened and re-resolved case starts
    again with its new agreement."""

    case = models.ForeignKey(Case, models.CASCADE, related_name="follow_up_visits")
    visited_at = models.DateTimeField(_("visited at"))
    visited_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True, related_name="+")
    record = models.TextField(_("visit record"))
    performance = models.CharField(_("performance of the agreement"), max_length=16, choices=Performance.choices)
    closing = models.BooleanField(_("closing visit"), default=False)

    class Meta:
        verbose_name = _("follow-up visit")
        verbose_name_plural = _("follow-up visits")
        ordering = ["visited_at", "pk"]

    def __str__(self) -> str:
        return f"{self.case_id} {self.visited_at:%Y-%m-%d} {self.performance}"


class JudicialConfirmation(models.Model):
    """The parties' joint application to a court to confirm a written mediation agreement
    (司法确认), and the court's ruling. 人民调解法 第三十三条: within 30 days of the agreement
    taking effect; 民事诉讼法 (2023) 第二百零五条 (the application), 第二百零六条 (the ruling:
    the agreement confirmed valid, or the application rejected (驳回), after which the parties
    may change the agreement or reach a new one by mediation, or sue)."""

    class Result(models.TextChoices):
        CONFIRMED = "confirmed", _("Confirmed valid")
        REJECTED = "rejected", _("Application rejected (驳回)")

    case = models.ForeignKey(Case, models.CASCADE, related_name="judicial_confirmations")
    court = models.CharField(_("court"), max_length=200)
    applied_on = models.DateField(_("applied on"))
    applied_at = models.DateTimeField(_("recorded at"))
    applied_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True, related_name="+")
    # Empty while the court examines the application.
    result = models.CharField(_("result"), max_length=16, choices=Result.choices, blank=True)
    ruling_number = models.CharField(_("ruling number"), max_length=100, blank=True)
    ruled_on = models.DateField(_("ruled on"), null=True, blank=True)
    ruled_at = models.DateTimeField(_("ruling recorded at"), null=True, blank=True)
    ruled_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True, related_name="+")

    class Meta:
        verbose_name = _("judicial confirmation")
        verbose_name_plural = _("judicial confirmations")
        ordering = ["applied_at", "pk"]

    def __str__(self) -> str:
        return f"{self.case_id} {self.court} {self.applied_on}"
