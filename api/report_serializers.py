"""How the screening returns and the figures of the pages (ledgers, monthly table,
assessment, meeting) look on the API: one named type for each thing a client reads."""

from __future__ import annotations

from rest_framework import serializers

from cases.models import Case, Category, Party, Source
from reports.ledgers import BANDS
from workflow.forms import FollowUpForm, ResolveForm
from workflow.models import AssessmentItem, Indicator

from .serializers import PartyInputSerializer, Text, UnitRefSerializer

MAX_ID = 2**63 - 1
RETURN_STATUSES = [("filed", "filed"), ("nil", "nil report"), ("missing", "missing: past due, not filed"),
                   ("pending", "not yet due")]
OUTCOMES = ResolveForm.OUTCOMES
SATISFACTION = FollowUpForm.SATISFACTION


# ---------------------------------------------------------------------------------------
# Screening returns (排查表).


class VisitCountSerializer(serializers.Serializer):
    visits = serializers.IntegerField(help_text="Household visits (走访) in the village this month.")
    raised = serializers.IntegerField(help_text="Of them, those that raised a case.")


class ReturnItemSerializer(serializers.Serializer):
    case_id = serializers.IntegerField()
    number = serializers.CharField()
    title = serializers.CharField()
    note = serializers.CharField()


class FiledReturnSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    nil = serializers.BooleanField(help_text="A nil report (零报告): no dispute found this month.")
    signed_off_by = serializers.CharField(help_text="The village head who signed the return off.")
    note = serializers.CharField()
    submitted_by = serializers.CharField(allow_null=True)
    submitted_at = serializers.DateTimeField()
    items = ReturnItemSerializer(many=True, help_text="The cases listed that the reader may see.")
    hidden = serializers.IntegerField(help_text="How many more cases it lists that the reader may not see "
                                                "(an accusation is kept from the unit it accuses).")


class VillageReturnSerializer(serializers.Serializer):
    village = UnitRefSerializer()
    month = serializers.CharField(help_text="YYYY-MM")
    status = serializers.ChoiceField(choices=RETURN_STATUSES)
    is_late = serializers.BooleanField(help_text="Filed after its due time.")
    due_at = serializers.DateTimeField(allow_null=True, help_text="Null for a village under no return rule.")
    submitted_at = serializers.DateTimeField(allow_null=True)
    filed = FiledReturnSerializer(allow_null=True, help_text="What the return holds, once filed.")
    visits = VisitCountSerializer()


class ReturnListSerializer(serializers.Serializer):
    month = serializers.CharField(help_text="YYYY-MM: the month asked for, or the month due now.")
    villages = VillageReturnSerializer(many=True)


class FoundDisputeSerializer(serializers.Serializer):
    """A dispute the village found and registers with its return (source 排查发现, the
    village's own): its shape only; the intake form's rules decide, as on the page."""

    title = Text()
    summary = Text()
    category = serializers.ChoiceField(choices=Category.choices)
    risk = serializers.ChoiceField(choices=Case.Risk.choices, required=False)
    people_involved = serializers.IntegerField(required=False, min_value=1, max_value=2**31 - 1)
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, required=False, allow_null=True)
    is_group = serializers.BooleanField(required=False)
    occurred_place = Text(required=False, allow_blank=True)
    parties = PartyInputSerializer(many=True, min_length=1)


class ReturnItemInputSerializer(serializers.Serializer):
    """One dispute on the return: `case`, a case of the village registered in the month,
    or `report`, a dispute to register with the return; not both."""

    case = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    report = FoundDisputeSerializer(required=False)
    found_at = serializers.DateTimeField(required=False, help_text="With `report`: when it was found, in the month.")
    note = serializers.CharField(required=False, allow_blank=True, max_length=500)


class ReturnCreateSerializer(serializers.Serializer):
    village = serializers.IntegerField(min_value=1, max_value=MAX_ID)
    month = serializers.CharField(max_length=7, help_text="YYYY-MM: a month that is over and not yet closed.")
    nil = serializers.BooleanField(required=False, default=False,
                                   help_text="A nil report (零报告): true with no items.")
    items = ReturnItemInputSerializer(many=True, required=False, default=list, max_length=500)
    signed_off_by = serializers.CharField(max_length=64, help_text="The village head who signs the return off.")
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=4000)


# ---------------------------------------------------------------------------------------
# Ledgers (台账), a page of rows at a time.


class LedgerPartySerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=Party.PartyRole.choices)
    name = serializers.CharField()


class LedgerRowSerializer(serializers.Serializer):
    seq = serializers.IntegerField(help_text="序号: the row's place in the whole ledger, from 1.")


class DisputeRowSerializer(LedgerRowSerializer):
    case_id = serializers.IntegerField()
    number = serializers.CharField()
    reported_at = serializers.DateTimeField()
    village = serializers.CharField(allow_null=True)
    title = serializers.CharField()
    category = serializers.ChoiceField(choices=Category.choices)
    source = serializers.ChoiceField(choices=Source.choices)
    parties = LedgerPartySerializer(many=True)
    people_involved = serializers.IntegerField()
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True)
    risk = serializers.ChoiceField(choices=Case.Risk.choices)
    is_group = serializers.BooleanField()
    is_legacy = serializers.BooleanField()
    summary = serializers.CharField()
    responsible_unit = serializers.CharField()
    lead_department = serializers.CharField(allow_null=True)
    assignee = serializers.CharField()
    accepted_at = serializers.DateTimeField(allow_null=True)
    stage = serializers.ChoiceField(choices=Case.Stage.choices)
    resolved_at = serializers.DateTimeField(allow_null=True)
    outcome = serializers.ChoiceField(choices=OUTCOMES, allow_blank=True)
    outcome_summary = serializers.CharField()
    closed_at = serializers.DateTimeField(allow_null=True)
    closure = serializers.ChoiceField(choices=Case.Closure.choices, allow_blank=True)
    satisfaction = serializers.ChoiceField(choices=SATISFACTION, allow_blank=True)


MEDIATION_RESULTS = [("succeeded", "mediated"), ("failed", "mediation failed"), ("withdrawn", "withdrawn"),
                     ("ongoing", "in mediation")]


class MediationRowSerializer(LedgerRowSerializer):
    case_id = serializers.IntegerField()
    number = serializers.CharField()
    accepted_at = serializers.DateTimeField(allow_null=True)
    mediation_started_at = serializers.DateTimeField()
    applicants = serializers.ListField(child=serializers.CharField())
    respondents = serializers.ListField(child=serializers.CharField())
    category = serializers.ChoiceField(choices=Category.choices)
    source = serializers.ChoiceField(choices=Source.choices)
    summary = serializers.CharField()
    mediator = serializers.CharField()
    sessions = serializers.IntegerField()
    result = serializers.ChoiceField(choices=MEDIATION_RESULTS)
    agreement = serializers.ChoiceField(choices=OUTCOMES, allow_blank=True, help_text="The form of the agreement reached, if any.")
    resolved_at = serializers.DateTimeField(allow_null=True)
    registered_by = serializers.CharField()


class PetitionRowSerializer(LedgerRowSerializer):
    case_id = serializers.IntegerField()
    number = serializers.CharField()
    reported_at = serializers.DateTimeField()
    petitioners = serializers.ListField(child=serializers.CharField())
    source = serializers.ChoiceField(choices=Source.choices)
    petition_type = serializers.ChoiceField(choices=Case.PetitionType.choices, allow_blank=True)
    category = serializers.ChoiceField(choices=Category.choices)
    title = serializers.CharField()
    summary = serializers.CharField()
    people_involved = serializers.IntegerField()
    is_repeat = serializers.BooleanField()
    is_group = serializers.BooleanField()
    responsible_unit = serializers.CharField()
    lead_department = serializers.CharField(allow_null=True)
    assignee = serializers.CharField()
    accepted_at = serializers.DateTimeField(allow_null=True)
    handling_due_at = serializers.DateTimeField(allow_null=True)
    outcome = serializers.ChoiceField(choices=OUTCOMES, allow_blank=True)
    outcome_summary = serializers.CharField()
    closed_at = serializers.DateTimeField(allow_null=True)
    satisfaction = serializers.ChoiceField(choices=SATISFACTION, allow_blank=True)
    stage = serializers.ChoiceField(choices=Case.Stage.choices)


class SupervisionRowSerializer(LedgerRowSerializer):
    order_id = serializers.IntegerField()
    case_id = serializers.IntegerField()
    number = serializers.CharField()
    title = serializers.CharField()
    village = serializers.CharField(allow_null=True)
    issued_at = serializers.DateTimeField()
    issued_by = serializers.CharField()
    instructions = serializers.CharField()
    due_at = serializers.DateTimeField(allow_null=True)
    replied_at = serializers.DateTimeField(allow_null=True)
    replied_by = serializers.CharField()
    reply = serializers.CharField()
    closed_at = serializers.DateTimeField(allow_null=True)
    status = serializers.ChoiceField(choices=[("open", "open"), ("replied", "replied"), ("closed", "closed")])
    card = serializers.ChoiceField(choices=[("yellow", "yellow card"), ("red", "red card")], allow_blank=True)


class FollowUpRowSerializer(LedgerRowSerializer):
    event_id = serializers.IntegerField()
    case_id = serializers.IntegerField()
    number = serializers.CharField()
    title = serializers.CharField()
    village = serializers.CharField(allow_null=True)
    parties = LedgerPartySerializer(many=True)
    resolved_at = serializers.DateTimeField(allow_null=True)
    visited_at = serializers.DateTimeField()
    visited_by = serializers.CharField()
    record = serializers.CharField()
    satisfaction = serializers.ChoiceField(choices=SATISFACTION, allow_blank=True)


ROWS = {
    "disputes": DisputeRowSerializer,
    "mediation": MediationRowSerializer,
    "petitions": PetitionRowSerializer,
    "supervision": SupervisionRowSerializer,
    "follow_up": FollowUpRowSerializer,
}


def ledger_page(kind: str, row: type[serializers.Serializer]) -> type[serializers.Serializer]:
    """The page type of one ledger: `kind` tells a client which of them it holds."""
    name = "".join(part.title() for part in kind.split("_")) + "LedgerPage"
    fields = {
        "kind": serializers.ChoiceField(choices=[(kind, kind)]),
        "title": serializers.CharField(help_text="The ledger's official title."),
        "unit": UnitRefSerializer(),
        "period": serializers.CharField(help_text="YYYY-MM, YYYY-H1/H2 or YYYY"),
        "next": serializers.CharField(allow_null=True, help_text="The next page's address; null on the last page."),
        "results": row(many=True),
    }
    return type(name, (serializers.Serializer,), fields)


LEDGER_PAGES = {kind: ledger_page(kind, row) for kind, row in ROWS.items()}


# ---------------------------------------------------------------------------------------
# The monthly table (矛盾纠纷排查情况表) and its submission upward (报送).


class MonthlyRowSerializer(serializers.Serializer):
    category = serializers.ChoiceField(choices=Category.choices, allow_blank=True, help_text="Empty for the total.")
    label = serializers.CharField()
    found = serializers.IntegerField(help_text="排查数")
    handled = serializers.IntegerField(help_text="调处数")
    succeeded = serializers.IntegerField(help_text="成功数")
    handled_rate = serializers.FloatField(allow_null=True, help_text="调处率; null with nothing found.")
    success_rate = serializers.FloatField(allow_null=True, help_text="成功率; null with nothing handled.")
    major = serializers.IntegerField(help_text="重大矛盾纠纷")
    bands = serializers.ListField(child=serializers.IntegerField(), min_length=len(BANDS), max_length=len(BANDS),
                                  help_text="Disputes by people involved, in the bands the table names.")
    found_ytd = serializers.IntegerField()
    handled_ytd = serializers.IntegerField()
    succeeded_ytd = serializers.IntegerField()


class SubmissionSerializer(serializers.Serializer):
    township = UnitRefSerializer()
    status = serializers.ChoiceField(choices=[("submitted", "submitted on time"), ("late", "submitted late"),
                                              ("missing", "missing: past due"), ("pending", "not yet due")])
    due_at = serializers.DateTimeField(allow_null=True)
    card = serializers.ChoiceField(choices=[("yellow", "yellow card"), ("red", "red card")], allow_blank=True)
    submitted_at = serializers.DateTimeField(allow_null=True)
    submitted_by = serializers.CharField(allow_null=True)
    signed_by = serializers.CharField(allow_null=True, help_text="签发人")


class DifferenceSerializer(serializers.Serializer):
    label = serializers.CharField(help_text="The row (category).")
    column = serializers.CharField(help_text="The column, as the table heads it.")
    submitted = serializers.IntegerField()
    now = serializers.IntegerField()


class MonthlyTableSerializer(serializers.Serializer):
    unit = UnitRefSerializer()
    period = serializers.CharField()
    bands = serializers.ListField(child=serializers.CharField(), help_text="The bands' labels.")
    rows = MonthlyRowSerializer(many=True)
    submissions = SubmissionSerializer(
        many=True, help_text="For a month of a township (itself) or a county (its townships): each table sent "
                             "upward, late or missing.")
    differences = DifferenceSerializer(
        many=True, help_text="A township's submitted table: the figures that moved since (报送后更正).")


# ---------------------------------------------------------------------------------------
# Assessment (考核).


class FigureSerializer(serializers.Serializer):
    indicator = serializers.ChoiceField(choices=Indicator.choices)
    label = serializers.CharField()
    method = serializers.ChoiceField(choices=AssessmentItem.Method.choices)
    weight = serializers.DecimalField(max_digits=12, decimal_places=2)
    points = serializers.DecimalField(max_digits=12, decimal_places=2)
    per_case = serializers.DecimalField(max_digits=12, decimal_places=2)
    rate = serializers.FloatField(allow_null=True)
    counted = serializers.IntegerField()
    hits = serializers.IntegerField()
    applicable = serializers.BooleanField(help_text="False for a rate with nothing to count: it earns nothing.")
    formula = serializers.CharField(help_text="How the points were formed.")


class UnitScoreSerializer(serializers.Serializer):
    unit = UnitRefSerializer()
    rank = serializers.IntegerField()
    score = serializers.DecimalField(max_digits=12, decimal_places=2)
    points = serializers.DecimalField(max_digits=12, decimal_places=2)
    vetoed = serializers.BooleanField(help_text="一票否决")
    warned = serializers.BooleanField(help_text="末位警示")
    figures = FigureSerializer(many=True)


class SchemeSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    scale = serializers.IntegerField()
    warned_places = serializers.IntegerField()


class AssessmentSerializer(serializers.Serializer):
    unit = UnitRefSerializer(help_text="The township (its villages assessed) or county (its townships).")
    period = serializers.CharField()
    at = serializers.DateTimeField(help_text="The data as it stood then.")
    scheme = SchemeSerializer()
    units = UnitScoreSerializer(many=True, help_text="Best first.")


# ---------------------------------------------------------------------------------------
# The monthly meeting (排查例会).


class SectionCountSerializer(serializers.Serializer):
    new = serializers.IntegerField()
    open = serializers.IntegerField()
    overdue = serializers.IntegerField()
    major = serializers.IntegerField()
    escalated = serializers.IntegerField()


class ReturnCountSerializer(serializers.Serializer):
    filed = serializers.IntegerField()
    nil = serializers.IntegerField()
    missing = serializers.IntegerField()
    pending = serializers.IntegerField()
    late = serializers.IntegerField()


class MeetingGroupSerializer(serializers.Serializer):
    village_id = serializers.IntegerField(allow_null=True, help_text="Null for the cases without a village.")
    village = serializers.CharField()
    category = serializers.ChoiceField(choices=Category.choices)
    counts = SectionCountSerializer()


class MeetingReturnSerializer(serializers.Serializer):
    village = UnitRefSerializer()
    status = serializers.ChoiceField(choices=RETURN_STATUSES)
    is_late = serializers.BooleanField()
    due_at = serializers.DateTimeField(allow_null=True)
    submitted_at = serializers.DateTimeField(allow_null=True)
    visits = VisitCountSerializer()


class SuspectCountSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    confirmed = serializers.IntegerField()
    dismissed = serializers.IntegerField()
    undecided = serializers.IntegerField()


class MeetingSerializer(serializers.Serializer):
    township = UnitRefSerializer()
    month = serializers.CharField()
    at = serializers.DateTimeField()
    totals = SectionCountSerializer(help_text="The month's cases by section (a case may be in several).")
    groups = MeetingGroupSerializer(many=True, help_text="The same by village and category.")
    return_totals = ReturnCountSerializer()
    returns = MeetingReturnSerializer(many=True)
    suspects = SuspectCountSerializer(help_text="Concealment suspects (瞒报) of the villages whose return is settled.")
    awaiting = serializers.IntegerField(help_text="Villages whose return is not due yet: no suspects before it is.")
    visit_totals = VisitCountSerializer()
