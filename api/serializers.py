"""How cases, events, deadlines and notifications look on the API.

Input serializers describe the shape (for the schema and to refuse wrong types); the
rules about input live in the forms the service validates with, so the API and the
pages refuse the same things with the same messages.
"""

from __future__ import annotations

import mimetypes
from datetime import date, datetime
from typing import Any

from django.db import models
from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.validators import ProhibitSurrogateCharactersValidator

from cases import personal_data
from cases.ethnicity import CHOICES as ETHNICITIES
from cases.forms import MAX_PARTIES
from cases.models import Case, CaseDocument, CaseEvent, Category, DeviceToken, OrgUnit, Party, Role, Sex, Source
from notifications.models import Notification
from screening.returns import CONFIRMED, DISMISSED
from workflow import counts
from workflow.flow import operations
from workflow.forms import ResolveForm, ReviewDecisionForm
from workflow.models import Deadline, DeadlineKind, Step, TimeUnit
from workflow.permissions import PII

from . import operations as typed
from .renderers import rfc3339


class Moment(serializers.DateTimeField):
    """A moment written as every moment of the API is (api.renderers.rfc3339)."""

    def to_representation(self, value: datetime | str | None) -> str | None:
        if not value or isinstance(value, str):
            return super().to_representation(value)
        return rfc3339(value)


# Every model's moments, on every serializer of the API, in that one form.
serializers.ModelSerializer.serializer_field_mapping[models.DateTimeField] = Moment


class UnitRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = OrgUnit
        fields = ["id", "code", "name", "level"]


class CaseListSerializer(serializers.ModelSerializer):
    village = UnitRefSerializer(read_only=True, allow_null=True)
    responsible_unit = UnitRefSerializer(read_only=True)
    next_due_at = Moment(read_only=True, allow_null=True)
    overdue = serializers.BooleanField(read_only=True)

    class Meta:
        model = Case
        fields = [
            "id", "number", "kind", "title", "category", "source", "risk", "stage", "village",
            "responsible_unit", "lead_department_id", "assignee_id", "reported_at", "next_due_at", "overdue", "updated_at",
        ]
        # Every field is always sent: read-only, the schema marks each one required.
        read_only_fields = fields


class PartySerializer(serializers.ModelSerializer):
    id_number = serializers.SerializerMethodField()
    phone = serializers.SerializerMethodField()
    # Empty where not known (older cases, organisations): "" belongs to the schema's enums.
    sex = serializers.ChoiceField(choices=Sex.choices, allow_blank=True, read_only=True)
    ethnicity = serializers.ChoiceField(choices=ETHNICITIES, allow_blank=True, read_only=True)
    birth_date = serializers.SerializerMethodField(
        help_text="Only with the full ID number it is part of; otherwise null, and age says how old the party is.")
    age = serializers.SerializerMethodField(help_text="Full years today; null where the date of birth is not known.")

    class Meta:
        model = Party
        fields = ["name", "role", "id_number", "phone", "sex", "ethnicity", "birth_date", "age", "occupation",
                  "address"]

    def shows_pii(self) -> bool:
        return bool(self.context.get("pii"))

    def get_id_number(self, party: Party) -> str:
        return party.id_number if self.shows_pii() else party.masked_id_number

    def get_phone(self, party: Party) -> str:
        return party.phone if self.shows_pii() else party.masked_phone

    def get_birth_date(self, party: Party) -> date | None:
        return personal_data.birth_shown(party, full=self.shows_pii())[0]

    def get_age(self, party: Party) -> int | None:
        return personal_data.birth_shown(party, full=self.shows_pii())[1]


CARDS = [("red", "overdue"), ("yellow", "warned"), ("", "none")]


class DeadlineSerializer(serializers.ModelSerializer):
    label = serializers.CharField(source="get_kind_display", read_only=True)
    kind = serializers.ChoiceField(choices=DeadlineKind.choices, read_only=True)
    unit = serializers.ChoiceField(choices=TimeUnit.choices, read_only=True)
    card = serializers.SerializerMethodField(help_text="red: past due; yellow: past its warning time; empty: neither, "
                                                       "or met, paused, or a window of the parties' own.")

    class Meta:
        model = Deadline
        fields = ["id", "kind", "label", "started_at", "due_at", "warn_at", "escalate_at", "card", "provisional",
                  "paused_at", "legal_basis", "unit", "duration", "extended_by", "excluded"]
        read_only_fields = fields

    @extend_schema_field(serializers.ChoiceField(choices=CARDS, allow_blank=True))
    def get_card(self, deadline: Deadline) -> str:
        return counts.card(deadline)


class FieldChoiceSerializer(serializers.Serializer):
    value = serializers.CharField(read_only=True)
    label = serializers.CharField(read_only=True)


class OperationFieldSerializer(serializers.Serializer):
    """One field of an operation's data, as its form stands for this case and person."""

    name = serializers.CharField(read_only=True)
    label = serializers.CharField(read_only=True)
    type = serializers.ChoiceField(
        choices=typed.TYPES, read_only=True,
        help_text="integer: an id when choices_url is given; file: sent as multipart/form-data.")
    required = serializers.BooleanField(read_only=True)
    help_text = serializers.CharField(read_only=True)
    max_length = serializers.IntegerField(read_only=True, allow_null=True)
    choices = FieldChoiceSerializer(many=True, read_only=True, allow_null=True,
                                    help_text="The values to choose from, when fixed.")
    choices_url = serializers.CharField(read_only=True, allow_null=True,
                                        help_text="Where the choices for this case and person are listed (people, "
                                                  "units, records of the case).")


class OperationSerializer(serializers.Serializer):
    name = serializers.ChoiceField(choices=sorted(operations()), read_only=True)
    label = serializers.CharField(read_only=True)
    fields = OperationFieldSerializer(many=True, read_only=True, help_text="The data this operation takes.")


class OutcomeReviewSerializer(serializers.Serializer):
    level = serializers.IntegerField(help_text="1: review (复查); 2: second review (复核).")
    decision = serializers.ChoiceField(choices=ReviewDecisionForm.DECISIONS)


class OutcomeSerializer(serializers.Serializer):
    """How the case was resolved; an empty object until it is (and again once reopened)."""

    kind = serializers.ChoiceField(
        choices=ResolveForm.OUTCOMES, required=False, allow_blank=True,
        help_text="The agreement of a dispute, or the answer of a petition (信访工作条例 第三十二条).")
    summary = serializers.CharField(required=False, allow_blank=True)
    review = OutcomeReviewSerializer(required=False, help_text="Set by a review's opinion (复查、复核).")


@extend_schema_field(OutcomeSerializer)
class OutcomeField(serializers.JSONField):
    pass


class CaseDetailSerializer(CaseListSerializer):
    parties = PartySerializer(many=True, read_only=True)
    lead_department = UnitRefSerializer(read_only=True, allow_null=True)
    # Empty until the case is a petition / closed: "" belongs to the schema's enum.
    petition_type = serializers.ChoiceField(choices=Case.PetitionType.choices, allow_blank=True, read_only=True)
    closure = serializers.ChoiceField(choices=Case.Closure.choices, allow_blank=True, read_only=True)
    leader_id = serializers.IntegerField(read_only=True, allow_null=True,
                                         help_text="The leader in personal charge of the case (领导包案), if any.")
    co_departments = UnitRefSerializer(many=True, read_only=True,
                                       help_text="The departments co-handling the case beside the lead (联调).")
    review_level = serializers.IntegerField(
        read_only=True, help_text="0: no review; 1: under or after review (复查); 2: second review (复核), after which "
                                  "the matter is final (信访工作条例 第三十五条、第三十六条).")
    outcome = OutcomeField(read_only=True)
    deadlines = serializers.SerializerMethodField(help_text="The open deadlines, nearest first.")
    operations = serializers.SerializerMethodField(
        help_text="What the requesting person may do now, the way on first; each is applied with "
                  "POST /api/v1/cases/{id}/transitions/{name}/.")

    class Meta(CaseListSerializer.Meta):
        fields = CaseListSerializer.Meta.fields + [
            "petition_type", "summary", "people_involved", "amount", "is_group", "is_legacy", "is_repeat",
            "lead_department", "co_departments", "leader_id", "review_level", "closure", "outcome", "satisfaction", "occurred_at",
            "occurred_place", "accepted_at",
            "resolved_at", "closed_at", "parties", "deadlines", "operations",
        ]
        read_only_fields = fields

    @extend_schema_field(DeadlineSerializer(many=True))
    def get_deadlines(self, case: Case) -> list[dict[str, Any]]:
        return DeadlineSerializer(self.context["open_deadlines"], many=True).data  # type: ignore[return-value]

    @extend_schema_field(OperationSerializer(many=True))
    def get_operations(self, case: Case) -> list[dict[str, Any]]:
        # Each form as it stands for this case and person (its choices narrowed by kind,
        # fields a petition has not left out).
        request = self.context.get("request")
        actor = getattr(request, "user", None)
        return [
            {"name": t.slug, "label": str(t.label),
             "fields": typed.describe(t.slug, t.custom["form"](case=case, actor=actor), case.pk)}
            for t in self.context["operations"]
        ]

    def to_representation(self, case: Case) -> dict[str, Any]:
        self.fields["parties"].child.context["pii"] = PII in self.context.get("grants", ())
        return super().to_representation(case)


class Text(serializers.CharField):
    """Text of a registration: its shape only. Whether the text is readable (no lone
    surrogate) is the intake form's rule (cases.validators.validate_readable_text), which
    answers the same at every door; DRF's own check would answer first, in other words."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.validators = [v for v in self.validators if not isinstance(v, ProhibitSurrogateCharactersValidator)]


class PartyInputSerializer(serializers.Serializer):
    name = Text()
    role = serializers.ChoiceField(choices=Party.PartyRole.choices)
    id_number = Text(required=False, allow_blank=True)
    phone = Text(required=False, allow_blank=True)
    # Left out, sex and birth_date are read from id_number; given, they must agree with it.
    sex = serializers.ChoiceField(choices=Sex.choices, required=False, allow_blank=True)
    birth_date = serializers.DateField(required=False, allow_null=True)
    ethnicity = serializers.ChoiceField(choices=ETHNICITIES, required=False, allow_blank=True,
                                        help_text="The name of GB/T 3304, as written: 汉族, 蒙古族 …")
    occupation = Text(required=False, allow_blank=True)
    address = Text(required=False, allow_blank=True)


class OnTheSpotSerializer(serializers.Serializer):
    lead_department = serializers.IntegerField(min_value=1, max_value=2**63 - 1,
                                               help_text="The department that leads the case (谁主管谁负责).")
    outcome = serializers.ChoiceField(
        choices=ResolveForm.DISPUTE_OUTCOMES,
        help_text="A written agreement is recorded with its signed document: send the registration as "
                  "multipart/form-data, the body in the part `data`, the document in `agreement`; an oral "
                  "agreement (人民调解法 第二十八条) goes in JSON as well.")
    summary = Text(help_text="What was agreed.")


class CaseCreateSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=Case.Kind.choices)
    petition_type = serializers.ChoiceField(choices=Case.PetitionType.choices, required=False, allow_blank=True)
    title = Text()
    summary = Text()
    category = serializers.ChoiceField(choices=Category.choices)
    source = serializers.ChoiceField(choices=Source.choices)
    village = serializers.IntegerField(required=False, allow_null=True)
    responsible_unit = serializers.IntegerField(required=False, allow_null=True)
    accused_unit = serializers.IntegerField(required=False, allow_null=True)
    risk = serializers.ChoiceField(choices=Case.Risk.choices, required=False)
    people_involved = serializers.IntegerField(required=False, min_value=1)
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, required=False, allow_null=True)
    is_group = serializers.BooleanField(required=False)
    is_legacy = serializers.BooleanField(required=False)
    is_repeat = serializers.BooleanField(required=False)
    occurred_at = serializers.DateTimeField(required=False, allow_null=True,
                                            help_text="When the matter arose: not after its registration.")
    occurred_place = Text(required=False, allow_blank=True)
    repeats_seen = serializers.BooleanField(
        required=False, default=False,
        help_text="true once the client has shown the cases a 400 named under errors.repeats_seen: a party of "
                  "this case is a party of another open or recent case (重复信访).")
    village_mediation = serializers.BooleanField(
        required=False, default=False,
        help_text="A dispute the village's people's mediation committee mediates itself (小事不出村): the village "
                  "is its responsible unit. A petition stays with the township.")
    on_the_spot = OnTheSpotSerializer(
        required=False, allow_null=True,
        help_text="当场调解、即调即结: the dispute was settled as it was brought. It is registered, accepted by the "
                  "one registering it (who must accept and may carry cases of its responsible unit), mediated and "
                  "resolved with this agreement at once, each step in its events; its follow-up visit is then due.")
    parties = PartyInputSerializer(many=True, max_length=MAX_PARTIES)


# What the audit trail records: each operation of the machine, and what the system and the
# screening write besides (the registration, the sweep's steps on a deadline, a
# concealment decision of the monthly screening).
EVENT_KINDS = [*sorted(operations()), "report", *(f"deadline_{step}" for step in Step.values), CONFIRMED, DISMISSED]


class EventDataSerializer(serializers.Serializer):
    """The event's data: the operation's fields as its form cleaned them (ids for people,
    units and records) and what the step did. The keys common to many events are typed
    here; an operation adds its own fields by name."""

    deadlines_opened = serializers.ListField(child=serializers.ChoiceField(choices=DeadlineKind.choices),
                                             required=False, help_text="The clocks the step opened.")
    deadlines_stopped = serializers.ListField(child=serializers.ChoiceField(choices=DeadlineKind.choices),
                                              required=False, help_text="The clocks the step stopped.")
    assignee = serializers.IntegerField(required=False, allow_null=True, help_text="User id.")
    previous_assignee = serializers.IntegerField(required=False, allow_null=True, help_text="User id.")
    lead_department = serializers.IntegerField(required=False, allow_null=True, help_text="Unit id.")
    document = serializers.IntegerField(required=False, help_text="The document kept (see the case's documents).")
    deadline = serializers.IntegerField(required=False, allow_null=True, help_text="Deadline id.")
    reason = serializers.CharField(required=False)
    text = serializers.CharField(required=False)


@extend_schema_field(EventDataSerializer)
class EventDataField(serializers.JSONField):
    pass


class EventSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor.username", allow_null=True, read_only=True, default=None)
    kind = serializers.ChoiceField(choices=EVENT_KINDS, read_only=True)
    from_stage = serializers.ChoiceField(choices=Case.Stage.choices, allow_blank=True,
                                        read_only=True, help_text="Empty for the registration.")
    to_stage = serializers.ChoiceField(choices=Case.Stage.choices, read_only=True)
    data = EventDataField(read_only=True)

    class Meta:
        model = CaseEvent
        fields = ["id", "kind", "from_stage", "to_stage", "actor", "at", "data"]
        read_only_fields = fields


class NotificationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Notification
        fields = ["id", "kind", "level", "case_id", "deadline_id", "text", "created_at", "delivered_at", "read_at"]
        read_only_fields = fields


class ChoiceSerializer(serializers.Serializer):
    value = serializers.CharField()
    label = serializers.CharField()


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField()
    password = serializers.CharField(style={"input_type": "password"})
    device = serializers.CharField(required=False, allow_blank=True, default="", max_length=100,
                                   help_text="What the token is for, shown in the list of devices (e.g. 网格通 张三的手机).")


class DeviceTokenSerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="handle", read_only=True, help_text="Names the token to revoke it.")
    device = serializers.CharField(source="name", read_only=True)
    current = serializers.SerializerMethodField(help_text="Whether this is the token of the request.")

    class Meta:
        model = DeviceToken
        fields = ["id", "device", "created", "expiry", "current"]

    def get_current(self, token: DeviceToken) -> bool:
        request = self.context.get("request")
        auth = getattr(request, "auth", None)
        return isinstance(auth, DeviceToken) and auth.digest == token.digest


class TokenSerializer(serializers.ModelSerializer):
    token = serializers.SerializerMethodField(help_text="Shown once: only a hash of it is kept.")
    id = serializers.CharField(source="handle", read_only=True, help_text="Names the token to revoke it.")
    device = serializers.CharField(source="name", read_only=True)

    class Meta:
        model = DeviceToken
        fields = ["token", "id", "device", "created", "expiry"]

    def get_token(self, row: DeviceToken) -> str:
        return self.context["key"]


class ErrorSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()), required=False,
        help_text="The messages by field; a field within a list or an object is named by its path, "
                  "e.g. parties[1].id_number, on_the_spot.summary.")
    stage = serializers.ChoiceField(choices=Case.Stage.choices, required=False,
                                    help_text="The case's stage, with a 409 wrong_stage.")


# 走访: household visits (screening.visits).


class VisitSerializer(serializers.Serializer):
    """A visit as read: the person's ID number always masked (the number in full stays on
    the case it raised, shown there to those who may see it, and recorded when shown)."""

    id = serializers.IntegerField(read_only=True)
    village = UnitRefSerializer(read_only=True)
    household = serializers.CharField(read_only=True)
    id_number = serializers.CharField(source="masked_id_number", read_only=True)
    visited_at = Moment(read_only=True)
    visited_by = serializers.CharField(source="visited_by.username", read_only=True)
    companions = serializers.CharField(read_only=True)
    findings = serializers.CharField(read_only=True)
    concern = serializers.ChoiceField(choices=Category.choices, allow_blank=True, read_only=True)
    case_id = serializers.IntegerField(read_only=True, allow_null=True, help_text="The case this visit raised.")
    recorded_at = Moment(read_only=True)


class VisitCreateSerializer(serializers.Serializer):
    """A visit to record: its shape only; the rules are screening.visits.VisitForm's, the
    same as on the page."""

    village = serializers.IntegerField(min_value=1, max_value=2**63 - 1)
    household = Text(help_text="The person visited.")
    id_number = Text(required=False, allow_blank=True)
    visited_at = serializers.DateTimeField()
    companions = Text(required=False, allow_blank=True)
    findings = Text(help_text="What was found.")
    concern = serializers.ChoiceField(choices=Category.choices, required=False, allow_blank=True)
    raises_case = serializers.BooleanField(
        required=False, default=False,
        help_text="The visit raises a case: a dispute of the village found in screening, the person visited its "
                  "applicant, with case_title, case_category and case_summary.")
    case_title = Text(required=False, allow_blank=True)
    case_category = serializers.ChoiceField(choices=Category.choices, required=False, allow_blank=True)
    case_summary = Text(required=False, allow_blank=True)
    repeats_seen = serializers.BooleanField(
        required=False, default=False,
        help_text="true once the client has shown the cases a 400 named under errors.repeats_seen.")


# Reference for the forms of a grid app (issue 19): who the user is, the departments they
# may name, the choices of an operation for one case, and the case's documents.


class MembershipUnitSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    code = serializers.CharField(read_only=True)
    name = serializers.CharField(read_only=True)
    level = serializers.ChoiceField(choices=OrgUnit.Level.choices, read_only=True)
    roles = serializers.ListField(child=serializers.ChoiceField(choices=Role.choices),
                                  read_only=True,
                                  help_text="The user's roles in this unit.")


class MeSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    username = serializers.CharField(read_only=True)
    name = serializers.CharField(read_only=True, help_text="The full name, else the username.")
    units = MembershipUnitSerializer(many=True, read_only=True, help_text="The units the user belongs to, in tree "
                                                                          "order, each with the user's roles there.")


class DepartmentSerializer(UnitRefSerializer):
    parent_id = serializers.IntegerField(read_only=True, help_text="The township or county the department is of.")

    class Meta(UnitRefSerializer.Meta):
        fields = [*UnitRefSerializer.Meta.fields, "parent_id"]
        read_only_fields = fields


@extend_schema_field({"oneOf": [{"type": "integer"}, {"type": "string"}]})
class ChoiceValueField(serializers.Field):
    def to_representation(self, value: Any) -> Any:
        return value


class ChoiceOfFieldSerializer(serializers.Serializer):
    value = ChoiceValueField(read_only=True, help_text="An id (integer) for people, units and records; the value "
                                                       "(string) of a fixed choice.")
    label = serializers.CharField(read_only=True)


class FieldChoicesSerializer(serializers.Serializer):
    name = serializers.CharField(read_only=True)
    label = serializers.CharField(read_only=True)
    type = serializers.ChoiceField(choices=typed.TYPES, read_only=True)
    choices = ChoiceOfFieldSerializer(many=True, read_only=True)


class OperationChoicesSerializer(serializers.Serializer):
    operation = serializers.ChoiceField(choices=sorted(operations()), read_only=True)
    fields = FieldChoicesSerializer(many=True, read_only=True)


class DocumentSerializer(serializers.ModelSerializer):
    uploaded_by = serializers.CharField(source="uploaded_by.username", allow_null=True, read_only=True, default=None)
    content_type = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField(help_text="Where the file is downloaded.")

    class Meta:
        model = CaseDocument
        fields = ["id", "title", "original_name", "size", "content_type", "uploaded_by", "uploaded_at", "url"]
        read_only_fields = fields

    def get_content_type(self, document: CaseDocument) -> str:
        return content_type_of(document)

    def get_url(self, document: CaseDocument) -> str:
        return reverse("api-case-document", kwargs={"id": document.case_id, "document_id": document.pk})


def content_type_of(document: CaseDocument) -> str:
    return mimetypes.guess_type(document.original_name)[0] or "application/octet-stream"


class CaseCreateUploadSerializer(serializers.Serializer):
    """A registration sent as multipart/form-data: for a dispute settled on the spot with a
    written agreement, which is recorded with its signed document."""

    data = CaseCreateSerializer(help_text="The registration, as the JSON body would be.")
    agreement = typed.FileShape(
        required=False, help_text="The signed mediation agreement of on_the_spot: PDF, OFD, Word, Excel, WPS, text "
                                  "or a photo; at most 20 MB.")
