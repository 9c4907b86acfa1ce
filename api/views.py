"""REST API v1 (docs/interfaces.md). Every write goes through workflow.services, exactly as the
pages do; every read of cases through visible_to(user), so a case out of
reach is a 404 here as everywhere."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import django_filters
from django import forms
from django.conf import settings
from django.contrib.auth import authenticate
from django.core.exceptions import RequestDataTooBig
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiRequest,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ParseError, Throttled
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from cases import personal_data, tokens
from cases.login_throttle import was_throttled
from cases.models import Case, CaseDocument, CaseEvent, Category, DeviceToken, Membership, PersonalDataAccess, Source
from notifications.models import Notification
from notifications.services import mark_read
from screening.models import Visit
from screening.visits import record_visit
from workflow import counts, services
from workflow.errors import ConditionUnmet, InvalidData, NotPermitted, UnknownOperation, WrongStage
from workflow.flow import CaseFlow, in_order, operations
from workflow.forms import DOCUMENT_MAX_BYTES
from workflow.models import Deadline
from workflow.permissions import (
    PII,
    grants_for,
    nameable_departments,
    reporting_units,
    visible_to,
    visits_visible_to,
)
from workflow.queues import with_listing

from . import operations as typed
from . import serializers as s
from .pagination import CasePagination
from .parsers import JSONParser

ERRORS = {400: s.ErrorSerializer, 403: s.ErrorSerializer, 404: s.ErrorSerializer, 409: s.ErrorSerializer}


MAX_ID = 2**63 - 1


class StrictBooleanField(forms.Field):
    """true/false (or 1/0); anything else is a 400, where django-filter's own boolean
    filter quietly ignores a value it does not understand."""

    def to_python(self, value: Any) -> bool | None:
        if value in (None, ""):
            return None
        if str(value).lower() in ("true", "1"):
            return True
        if str(value).lower() in ("false", "0"):
            return False
        raise forms.ValidationError(_("Enter true or false."), code="invalid")


@extend_schema_field(OpenApiTypes.BOOL)
class BoolFilter(django_filters.Filter):
    field_class = StrictBooleanField


class BoundedIsoDateTimeField(django_filters.fields.IsoDateTimeField):
    """An ISO 8601 moment the databases can hold: years 1–9999 in UTC as well. An
    offset can push a moment at the edge of the range out of it, which PostgreSQL
    refuses with an error instead of matching nothing."""

    def to_python(self, value: Any) -> datetime | None:
        moment = super().to_python(value)
        if moment is None:
            return None
        try:
            utc = moment.astimezone(UTC) if moment.tzinfo else moment
        except OverflowError:
            utc = None
        if utc is None or not 1 < utc.year < 9999:
            raise forms.ValidationError(_("Enter a date and time between the years 2 and 9998."), code="invalid")
        # In UTC: Python allows offsets up to ±23:59, PostgreSQL refuses those past ±15:59.
        return utc


@extend_schema_field(OpenApiTypes.DATETIME)
class BoundedIsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = BoundedIsoDateTimeField


class IdFilter(django_filters.Filter):
    """An id: a whole number the database can hold (a huge one overflows SQLite)."""

    field_class = forms.IntegerField

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, min_value=0, max_value=MAX_ID, **kwargs)


class CaseFilter(django_filters.FilterSet):
    unit = IdFilter(field_name="responsible_unit_id", label="responsible unit id")
    village = IdFilter(field_name="village_id", label="village id")
    overdue = BoolFilter(method="filter_overdue", label="has an open deadline past due")
    due_before = BoundedIsoDateTimeFilter(method="filter_due_before",
                                                  label="has an open deadline due before this moment")
    updated_after = BoundedIsoDateTimeFilter(
        field_name="updated_at", lookup_expr="gt",
        label="written after this moment: for an app's sync, with ordering=updated_at, from the updated_at of "
              "the last case it holds")

    class Meta:
        model = Case
        fields = ["stage", "kind", "category", "risk", "source"]

    def filter_overdue(self, queryset: Any, name: str, value: bool) -> Any:
        late = counts.overdue()
        return queryset.filter(late) if value else queryset.exclude(late)

    def filter_due_before(self, queryset: Any, name: str, value: datetime) -> Any:
        return counts.due_before(queryset, value)


class CaseViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                  viewsets.GenericViewSet):
    queryset = Case.objects.none()  # for the schema; get_queryset holds what the user may see
    filterset_class = CaseFilter
    pagination_class = CasePagination
    # Multipart for a registration that carries a signed agreement (create).
    parser_classes = [JSONParser, MultiPartParser]
    ordering_fields = ["reported_at", "next_due_at", "number", "risk", "stage", "updated_at"]
    ordering = ["-reported_at"]

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):
            return Case.objects.none()
        cases = visible_to(self.request.user)
        if self.action == "list":
            # The list's figures come with the page (list()).
            return cases
        return with_listing(cases)

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """The page's ids are chosen from the filtered cases alone, then only those rows
        are read with their units and deadline figures (with_listing): read together,
        the figures were made for every case of a county before a page of twenty was
        cut, seconds a page over a million cases. Ties are ordered by id, so pages
        neither skip nor repeat cases sharing a stage or risk (api.pagination)."""
        cases = self.filter_queryset(self.get_queryset())
        page = self.paginator.paginate_queryset(cases, request, self, read=with_listing)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def get_serializer_class(self) -> Any:
        if self.action == "list":
            return s.CaseListSerializer
        if self.action == "create":
            return s.CaseCreateSerializer
        return s.CaseDetailSerializer

    def detail_response(self, case: Case, status_code: int = status.HTTP_200_OK) -> Response:
        return case_answer(self.request, case, status_code)

    @extend_schema(responses={200: s.CaseDetailSerializer, 404: s.ErrorSerializer})
    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.detail_response(self.get_object())

    @extend_schema(
        request={"application/json": s.CaseCreateSerializer,
                 "multipart/form-data": OpenApiRequest(s.CaseCreateUploadSerializer,
                                                       encoding={"data": {"contentType": "application/json"}})},
        responses={201: s.CaseDetailSerializer, **ERRORS, 413: s.ErrorSerializer},
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Register a case (登记), with the same validation as the intake page. A dispute
        settled on the spot with a written agreement is sent as multipart/form-data: the
        body as JSON in the part `data`, the signed agreement in the part `agreement`."""
        refuse_oversized(request)
        body, files = request.data, {}
        if request.content_type.startswith("multipart/"):
            body = json_part(request.data)
            files = {"agreement": request.FILES["agreement"]} if "agreement" in request.FILES else {}
        shape = s.CaseCreateSerializer(data=body)
        shape.is_valid(raise_exception=True)
        data = {k: v for k, v in body.items() if k not in ("parties", services.ON_THE_SPOT)}
        parties, repeats_seen = list(shape.initial_data["parties"]), shape.validated_data.get("repeats_seen", False)
        settlement = shape.validated_data.get(services.ON_THE_SPOT)
        if settlement is None:
            case = services.report_case(actor=request.user, data=data, parties=parties, repeats_seen=repeats_seen)
        else:
            try:
                case = services.settle_on_the_spot(actor=request.user, data=data, parties=parties,
                                                   settlement=dict(settlement), files=files,
                                                   repeats_seen=repeats_seen)
            except InvalidData as problem:
                raise file_hint(problem, {f"{services.ON_THE_SPOT}.agreement"}, request) from None
        return self.detail_response(case, status.HTTP_201_CREATED)

    @extend_schema(responses={200: s.EventSerializer(many=True), 404: s.ErrorSerializer})
    @action(detail=True, methods=["get"], filter_backends=[])  # the case list's filters do not apply
    def events(self, request: Request, pk: str) -> Response:
        case = get_object_or_404(visible_to(request.user), pk=_case_id(pk))
        page = self.paginate_queryset(CaseEvent.objects.filter(case=case).select_related("actor").order_by("at", "pk"))
        return self.get_paginated_response(s.EventSerializer(page, many=True).data)

    def get_object(self) -> Case:
        return get_object_or_404(self.get_queryset(), pk=_case_id(self.kwargs["pk"]))


def case_answer(request: Request, case: Case, status_code: int = status.HTTP_200_OK) -> Response:
    """The case as its detail shows it to the requesting user."""
    # Not through visible_to: an operation may take the case out of the actor's reach
    # (an escalation out of a unit without a village); the answer still describes
    # the result of their own action, with nothing they may not see (grants decide).
    case = with_listing(Case.objects).prefetch_related("parties").get(pk=case.pk)
    grants = grants_for(request.user, case)
    if PII in grants:
        # The answer carries the parties' full numbers: recorded (个人信息保护法 第五十一条).
        personal_data.record(request.user, case, PersonalDataAccess.Door.API)
    context = {
        "request": request,
        "grants": grants,
        "open_deadlines": list(Deadline.objects.open().filter(case=case).order_by("due_at")),
        # In the page's order: the way on first (workflow.flow.in_order).
        "operations": in_order(case, services.available_operations(case, request.user, grants=grants)),
    }
    return Response(s.CaseDetailSerializer(case, context=context).data, status=status_code)


# A multipart body carries at most one document and the operation's text; past this it
# is refused before it is read (the document itself is checked by its form's limits).
UPLOAD_MAX_BYTES = DOCUMENT_MAX_BYTES + 1024 * 1024


def refuse_oversized(request: Request) -> None:
    if not request.content_type.startswith("multipart/"):
        return  # a JSON body is held to DATA_UPLOAD_MAX_MEMORY_SIZE as it is read
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > UPLOAD_MAX_BYTES:
        raise RequestDataTooBig


def json_part(data: Any) -> dict[str, Any]:
    """The body of a multipart registration: the JSON object in its part `data`."""
    try:
        body = json.loads(data.get("data") or "")
    except (ValueError, RecursionError):
        body = None
    if not isinstance(body, dict):
        raise ParseError(_("A multipart registration carries the case as a JSON object in the part “%(part)s”.")
                         % {"part": "data"})
    return body


def form_data(body: Any, files: Any = ()) -> dict[str, str]:
    """A transition's body as the operation's form reads a submitted page form: one
    string per field (the last one of a multipart field sent twice, as a form reads it).
    Numbers and booleans become their text; a list or an object is refused here, where
    the form would have stored its Python repr as text or failed on it. null is a field
    left empty. Files travel beside the data."""
    errors = {name: [_("Enter a single value: text, a number or true/false, not a list or an object.")]
              for name, value in body.items() if isinstance(value, (list, dict))}
    if errors:
        raise InvalidData(errors)
    return {name: "" if value is None else ("true" if value else "false") if isinstance(value, bool) else str(value)
            for name, value in body.items() if name not in files}


def file_hint(problem: InvalidData, files: set[str], request: Request) -> InvalidData:
    """A refusal for want of a file, sent in JSON: saying how a file is sent."""
    if request.content_type.startswith("multipart/") or not files & set(problem.errors):
        return problem
    errors = {field: [*messages, _("A file is sent in a multipart/form-data body.")] if field in files else messages
              for field, messages in problem.errors.items()}
    return InvalidData(errors, problem.details.get("labels"))


class TransitionView(APIView):
    """One operation of the state machine, at /api/v1/cases/{id}/transitions/{name}/: its
    body checked by the operation's shape (api.operations), then applied by the one
    transition service, which checks reach, stage, permission and the form."""

    operation = ""

    def post(self, request: Request, id: str) -> Response:
        refuse_oversized(request)
        if not isinstance(request.data, dict):
            raise ParseError(_("The body must be a JSON object with the operation's data."))
        case_id = _case_id(id)
        # Out of reach is a 404 whatever the body holds.
        get_object_or_404(visible_to(request.user), pk=case_id)
        shape = typed.shape(self.operation)(data=request.data)
        shape.is_valid(raise_exception=True)
        data = form_data(request.data, request.FILES)
        # A flag as the shape read it ("yes", 1 …), in the words a form's flag reads.
        data.update({name: "true" if value else "false" for name, value in shape.validated_data.items()
                     if isinstance(value, bool)})
        try:
            case = services.transition(case_id, self.operation, actor=request.user, data=data, files=request.FILES)
        except InvalidData as problem:
            files = {f for f, field in typed.form_of(self.operation).base_fields.items()
                     if typed.type_of(field) == typed.FILE}
            raise file_hint(problem, files, request) from None
        return case_answer(request, case)


def transition_view(name: str) -> Any:
    """The view of operation `name`, with its own request schema: a generated client gets
    one typed function per operation."""
    label = next(iter(operations()[name].get_transitions())).label
    view = type(f"{typed.camel(name)}TransitionView", (TransitionView,), {
        "operation": name,
        "parser_classes": [JSONParser, MultiPartParser] if typed.has_files(name) else [JSONParser],
    })
    schema = extend_schema(
        operation_id=f"cases_transitions_{name}",
        summary=label,
        parameters=[OpenApiParameter("id", int, OpenApiParameter.PATH)],
        request=typed.request_schema(name),
        responses={200: s.CaseDetailSerializer, **ERRORS, **({413: s.ErrorSerializer} if typed.has_files(name) else {})},
        description="Apply this operation of the state machine (see `operations` on the case for its fields "
                    "as they stand for the case and the user). 404 for a case out of reach, 409 when the case is "
                    "in another stage or the operation's condition is unmet, 403 when the user may not take it.",
    )
    return extend_schema_view(post=schema)(view).as_view()


class UnknownOperationView(APIView):
    @extend_schema(exclude=True)
    def post(self, request: Request, id: str, name: str) -> Response:
        _case_id(id)
        raise UnknownOperation(name)


def _case_id(value: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise NotFound(_("No such case.")) from None


class NotificationFilter(django_filters.FilterSet):
    unread = BoolFilter(field_name="read_at", lookup_expr="isnull", label="only unread")
    after = IdFilter(field_name="id", lookup_expr="gt", label="only ids above this")

    class Meta:
        model = Notification
        fields = ["level"]


class NotificationViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    serializer_class = s.NotificationSerializer
    filterset_class = NotificationFilter
    queryset = Notification.objects.none()  # for the schema; get_queryset holds the user's
    ordering_fields = ["id", "created_at"]
    ordering = ["-id"]

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):
            return Notification.objects.none()
        return Notification.objects.filter(user=self.request.user)

    @extend_schema(request=None, responses={200: s.NotificationSerializer, 404: s.ErrorSerializer})
    @action(detail=True, methods=["post"])
    def read(self, request: Request, pk: str) -> Response:
        try:
            notification = self.get_queryset().get(pk=int(pk))
        except (ValueError, Notification.DoesNotExist):
            raise NotFound(_("No such notification of yours.")) from None
        mark_read(request.user, notification.pk)
        notification.refresh_from_db(fields=["read_at"])
        return Response(s.NotificationSerializer(notification).data)


class ReferenceView(APIView):
    choices: Any = None

    @extend_schema(responses={200: s.ChoiceSerializer(many=True)})
    def get(self, request: Request) -> Response:
        return Response([{"value": value, "label": str(label)} for value, label in self.choices])


class CategoriesView(ReferenceView):
    choices = Category.choices


class SourcesView(ReferenceView):
    choices = Source.choices


class ReportingUnitsView(APIView):
    """The villages and units this user may register cases for: their own village, or
    any unit beneath where they are an officer or supervisor."""

    @extend_schema(responses={200: s.UnitRefSerializer(many=True)})
    def get(self, request: Request) -> Response:
        return Response(s.UnitRefSerializer(reporting_units(request.user), many=True).data)


class MeView(APIView):
    """Who the token's user is: their units, in tree order, with their roles there."""

    @extend_schema(responses={200: s.MeSerializer})
    def get(self, request: Request) -> Response:
        user = request.user
        units: dict[int, dict[str, Any]] = {}
        for m in Membership.objects.filter(user=user).select_related("unit").order_by("unit__path", "role"):
            unit = units.setdefault(m.unit_id, {"id": m.unit_id, "code": m.unit.code, "name": m.unit.name,
                                                "level": m.unit.level, "roles": []})
            unit["roles"].append(m.role)
        me = {"id": user.pk, "username": user.username, "name": user.get_full_name() or user.username,
              "units": list(units.values())}
        return Response(s.MeSerializer(me).data)


class DepartmentsView(APIView):
    """The departments the user may name to lead or co-handle a case
    (workflow.permissions.nameable_departments); the choices for one case and operation
    are at /api/v1/cases/{id}/operations/{name}/choices/."""

    @extend_schema(responses={200: s.DepartmentSerializer(many=True)})
    def get(self, request: Request) -> Response:
        return Response(s.DepartmentSerializer(nameable_departments(request.user), many=True).data)


def step_for(case: Case, name: str, user: Any) -> Any:
    """The transition of operation `name` `user` may take on `case` now, refused as
    workflow.services.transition refuses it: unknown (400), another stage (409), not
    theirs to take (403), its condition unmet (409)."""
    method = operations().get(name)
    if method is None:
        raise UnknownOperation(name)
    step = services.transition_from(method, case.stage)
    if step is None:
        label = next(iter(method.get_transitions())).label
        raise WrongStage(str(label), case.stage, case.get_stage_display())
    flow = CaseFlow(case, actor=user)
    if not step.has_perm(flow, user):
        raise NotPermitted(str(step.label))
    unmet = step.get_unmet_condition(flow)
    if unmet is not None:
        raise ConditionUnmet(getattr(unmet[1], "message", "") or _("This operation is not possible now."))
    return step


class OperationChoicesView(APIView):
    """The choices of an operation's fields for one case and the user, as its form offers
    them (workflow/forms.py, whose querysets are the rule of reach): the people who may be
    assigned, the departments that may lead, the case's open deadlines or orders, fixed
    choices narrowed to the case's kind."""

    @extend_schema(
        parameters=[
            OpenApiParameter("id", int, OpenApiParameter.PATH),
            OpenApiParameter("name", str, OpenApiParameter.PATH, enum=sorted(operations())),
            OpenApiParameter("lead_department", int, OpenApiParameter.QUERY, required=False,
                             description="accept: the lead department about to be named, whose people may then "
                                         "be assigned as well."),
        ],
        responses={200: s.OperationChoicesSerializer, **ERRORS},
    )
    def get(self, request: Request, id: str, name: str) -> Response:
        case = get_object_or_404(visible_to(request.user).select_related("responsible_unit", "village"),
                                 pk=_case_id(id))
        step = step_for(case, name, request.user)
        form_class = step.custom["form"]
        form = form_class(case=case, actor=request.user)
        if request.query_params:
            # Values about to be chosen narrow the others (a lead department's people);
            # a field the bound form reads only when named keeps its unbound choices.
            bound = form_class({k: v for k, v in request.query_params.items()}, case=case, actor=request.user)
            form.fields.update({k: f for k, f in bound.fields.items() if k in form.fields})
        return Response({"operation": name, "fields": typed.field_choices(form)})


class DocumentsView(APIView):
    """The documents kept with a case, to whoever may see the case (404 otherwise)."""

    @extend_schema(parameters=[OpenApiParameter("id", int, OpenApiParameter.PATH)],
                   responses={200: s.DocumentSerializer(many=True), 404: s.ErrorSerializer})
    def get(self, request: Request, id: str) -> Response:
        case = get_object_or_404(visible_to(request.user), pk=_case_id(id))
        documents = CaseDocument.objects.filter(case=case).select_related("uploaded_by").order_by("uploaded_at", "pk")
        return Response(s.DocumentSerializer(documents, many=True).data)


class AnyAccept(BaseContentNegotiation):
    """A file is answered whatever the client accepts; an error as JSON."""

    def select_renderer(self, request: Any, renderers: Any, format_suffix: Any = None) -> Any:
        return renderers[0], renderers[0].media_type

    def select_parser(self, request: Any, parsers: Any) -> Any:
        return parsers[0] if parsers else None


class DocumentView(APIView):
    """One document's file, as the case page serves it (desk.case_page.document): to
    whoever may see the case; 404 otherwise, as for the case."""

    content_negotiation_class = AnyAccept

    @extend_schema(
        parameters=[OpenApiParameter("id", int, OpenApiParameter.PATH),
                    OpenApiParameter("document_id", int, OpenApiParameter.PATH)],
        # The file's bytes in its own media type (OpenAPI 3.1: no `type: string` for bytes).
        responses={(200, "*/*"): OpenApiResponse({"format": "binary"}, description="The file, with its content type."),
                   404: s.ErrorSerializer},
    )
    def get(self, request: Request, id: str, document_id: str) -> HttpResponse:
        case = get_object_or_404(visible_to(request.user), pk=_case_id(id))
        try:
            found = CaseDocument.objects.get(pk=int(document_id), case=case)
        except (ValueError, OverflowError, CaseDocument.DoesNotExist):
            raise NotFound(_("No such document of this case.")) from None
        # Read whole (at most DOCUMENT_MAX_BYTES): the answer has a length and a body
        # any client, proxy or checker reads as it reads the API's other answers.
        with found.file.open("rb") as stored:
            response = HttpResponse(stored.read(), content_type=s.content_type_of(found))
        response["Content-Disposition"] = content_disposition_header(True, found.original_name)
        return response


class TokenView(APIView):
    """Token login for apps: each login issues a token for one device, valid for
    API_TOKEN_DAYS (cases.tokens). Throttled as every login door is
    (cases.login_throttle): refused with 429 while too many attempts have failed."""

    def get_authenticators(self) -> list[Any]:
        # The login itself reads no credentials but the body's: an app that was logged
        # out still sends its old token, which must not stop it from logging in again.
        return [] if getattr(self.request, "method", None) == "POST" else super().get_authenticators()

    def get_permissions(self) -> list[Any]:
        return [AllowAny()] if self.request.method == "POST" else super().get_permissions()

    @extend_schema(request=s.TokenRequestSerializer, responses={200: s.TokenSerializer, 400: s.ErrorSerializer,
                                                                 429: s.ErrorSerializer})
    def post(self, request: Request) -> Response:
        form = s.TokenRequestSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        user = authenticate(request, username=form.validated_data["username"],
                            password=form.validated_data["password"])
        if was_throttled(request):
            raise Throttled(wait=settings.LOGIN_FAILURE_WINDOW,
                            detail=_("Too many failed logins; try again later."))
        if user is None:
            return Response({"code": "invalid_credentials", "message": _("Wrong username or password.")},
                            status=status.HTTP_400_BAD_REQUEST)
        token, key = tokens.issue(user, form.validated_data["device"])
        return Response(s.TokenSerializer(token, context={"key": key}).data)

    @extend_schema(request=None, responses={204: None})
    def delete(self, request: Request) -> Response:
        """Log this device out: the token of this request stops working; the user's
        other devices stay logged in."""
        if isinstance(request.auth, DeviceToken):
            request.auth.delete()
        return Response(status=status.HTTP_204_NO_CONTENT)


class DeviceTokenViewSet(mixins.ListModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet):
    """The user's own devices: every token still valid, and revoking one of them (a
    lost phone) without logging out the others."""

    serializer_class = s.DeviceTokenSerializer
    queryset = DeviceToken.objects.none()  # for the schema; get_queryset holds the user's
    lookup_field = "handle"
    lookup_value_regex = "[0-9a-f]{16}"
    filter_backends: list[Any] = []
    pagination_class = None

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):
            return DeviceToken.objects.none()
        return tokens.valid(self.request.user)

    def get_object(self) -> DeviceToken:
        found = tokens.of_device(self.request.user, self.kwargs["handle"])
        if found is None:
            raise NotFound(_("No such device of yours."))
        return found

    @extend_schema(responses={204: None, 404: s.ErrorSerializer})
    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().destroy(request, *args, **kwargs)


class VisitFilter(django_filters.FilterSet):
    village = IdFilter(field_name="village_id", label="village id")
    after = BoundedIsoDateTimeFilter(field_name="visited_at", lookup_expr="gte", label="visited at or after")
    before = BoundedIsoDateTimeFilter(field_name="visited_at", lookup_expr="lt", label="visited before")

    class Meta:
        model = Visit
        fields = ["concern"]


class VisitViewSet(mixins.ListModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet):
    """走访: the household visits of the villages the user reaches, newest first; and
    recording one (screening.visits.record_visit, as the page does)."""

    serializer_class = s.VisitSerializer
    filterset_class = VisitFilter
    queryset = Visit.objects.none()  # for the schema; get_queryset holds what the user may read
    ordering_fields = ["visited_at", "id"]
    ordering = ["-visited_at", "-id"]

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):
            return Visit.objects.none()
        return visits_visible_to(self.request.user, Visit.objects.select_related("village", "visited_by"))

    @extend_schema(request=s.VisitCreateSerializer, responses={201: s.VisitSerializer, 400: s.ErrorSerializer,
                                                               403: s.ErrorSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Record a visit; with raises_case, the case it raises is registered and linked."""
        shape = s.VisitCreateSerializer(data=request.data)
        shape.is_valid(raise_exception=True)
        data = {k: v for k, v in request.data.items() if k != "village"}
        visit = record_visit(actor=request.user, village=shape.validated_data["village"], data=data)
        visit = Visit.objects.select_related("village", "visited_by").get(pk=visit.pk)
        return Response(s.VisitSerializer(visit).data, status=status.HTTP_201_CREATED)
