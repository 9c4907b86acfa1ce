"""The case page: facts, parties, timeline, clocks, and the operations this person may
take now, each a button with a form for exactly the data it requires, in the flow's
order (workflow.flow.in_order: the way on first and open, the other moves, then the rest
folded). Operations post to `operate`, which calls the one transition service and
answers as the API does: a case out of reach is a 404, a case someone else moved
meanwhile is shown as it now is."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from cases import personal_data
from cases.models import Case, CaseDocument, CaseEvent, OrgUnit, PersonalDataAccess
from paper.catalogue import print_list
from workflow import counts, services
from workflow import forms as forms_module
from workflow.errors import CaseNotFound, CaseOperationError, InvalidData
from workflow.flow import FORWARD, in_order, operations, performance_of, place_of
from workflow.models import Deadline, Extension, FollowUpVisit, JudicialConfirmation, Performance, Step
from workflow.permissions import PII, grants_for, recused, visible_to
from workflow.queues import with_listing

from .lifecycle import diagram
from .responses import back

# Events the machine writes besides its operations.
EVENT_LABELS = {
    "report": gettext_lazy("Registered"),
    **{f"deadline_{step.value}": step.label for step in Step},
}


def operation_form(transition: Any, case: Case, data: Any = None, files: Any = None) -> forms.Form:
    # Field ids carry the operation's name: several forms share field names on one page.
    form = transition.custom["form"](data, files=files, case=case, auto_id=f"id_{transition.slug}_{case.pk}_%s")
    for field in form.fields.values():
        if isinstance(field.widget, forms.Textarea):
            field.widget.attrs["rows"] = 3
        if isinstance(field, forms.DateField):
            field.widget.input_type = "date"
    return form


def has_something_to_act_on(form: forms.Form) -> bool:
    """False for an operation whose required choice has nothing to choose from (resume
    with no paused clock, reply with no order waiting): the page does not offer it."""
    return all(not (isinstance(f, forms.ModelChoiceField) and f.required and not f.queryset.exists())
               for f in form.fields.values())


def event_label(kind: str) -> str:
    method = operations().get(kind)
    if method is not None:
        return str(next(iter(method.get_transitions())).label)
    return str(EVENT_LABELS.get(kind, kind))


def timeline(case: Case) -> list[dict[str, Any]]:
    """The audit trail as people read it: what happened, who, when, and the words they
    wrote; ids in the data become names in two queries, not one per event."""
    events = list(CaseEvent.objects.filter(case=case).select_related("actor").order_by("at", "pk"))
    user_ids = {e.data.get(key) for e in events for key in ("assignee", "leader", "previous_leader")
                if isinstance(e.data.get(key), int)}
    unit_ids = {e.data.get(key) for e in events for key in ("lead_department", "department")
                if isinstance(e.data.get(key), int)}
    # The villages a correction moved a case between (its data keeps them by id).
    unit_ids |= {value for e in events if e.kind == "correct" and isinstance(e.data.get("changes"), dict)
                 for value in (e.data["changes"].get("village") or {}).values() if isinstance(value, int)}
    users = {u.pk: u.get_full_name() or u.username for u in get_user_model().objects.filter(pk__in=user_ids)}
    units = dict(OrgUnit.objects.filter(pk__in=unit_ids).values_list("pk", "name"))
    stages = dict(Case.Stage.choices)
    rows = []
    for event in events:
        method = operations().get(event.kind)
        fields = next(iter(method.get_transitions())).custom["form"].base_fields if method else {}
        details = []
        for key, value in event.data.items():
            if key == "assignee" and value in users:
                details.append((_("assignee"), users[value]))
            elif key in ("leader", "previous_leader") and value in users:
                details.append((_("leader in charge"), users[value]))
            elif key == "changes" and isinstance(value, dict):
                details += corrections(value, fields, units)
            elif key == "lead_department" and value in units:
                details.append((_("lead department"), units[value]))
            elif key == "department" and value in units:  # 联调: the co-handling department
                details.append((_("co-handling department"), units[value]))
            elif key in fields and isinstance(value, str) and value and not isinstance(fields[key],
                                                                                   forms.ModelChoiceField):
                choices = dict(getattr(fields[key], "choices", ()) or ())
                details.append((fields[key].label, choices.get(value, value)))
        rows.append({"event": event, "label": event_label(event.kind), "details": details,
                     "from_stage": stages.get(event.from_stage, ""), "to_stage": stages.get(event.to_stage, "")})
    return rows


def corrections(changes: dict[str, Any], fields: dict[str, forms.Field], units: dict[int, str]) -> list[tuple[str, str]]:
    """A correction's changes as people read them: each fact's label, "old → new" in its
    words (a risk's label, a village's name, yes or no)."""

    def shown(field: forms.Field | None, value: Any) -> str:
        if value is None or value == "":
            return "—"
        if isinstance(value, bool):
            return str(_("Yes") if value else _("No"))
        if isinstance(field, forms.ModelChoiceField):
            return units.get(value, str(value))
        return str(dict(getattr(field, "choices", ()) or ()).get(value, value))

    rows = []
    for name, change in changes.items():
        if not isinstance(change, dict):
            continue
        field = fields.get(name)
        rows.append((field.label if field else name,
                     f"{shown(field, change.get('from'))} → {shown(field, change.get('to'))}"))
    return rows


def case_page(request: HttpRequest, case: Case, *, failed: tuple[str, forms.Form] | None = None,
              problem: str = "", status: int = 200, unmasked: bool = False) -> HttpResponse:
    grants = grants_for(request.user, case)
    transitions = services.available_operations(case, request.user, grants=grants)
    forms_by_name = {t.slug: operation_form(t, case) for t in transitions}
    # The way on first, open, then the other moves, then the rest (workflow.flow.in_order).
    transitions = in_order(case, [t for t in transitions if has_something_to_act_on(forms_by_name[t.slug])])
    places = {t.slug: place_of(case, t) for t in transitions}
    if failed and failed[0] in forms_by_name:
        forms_by_name[failed[0]] = failed[1]
    # A refused form is opened to show its errors; otherwise the way on is.
    way_on = next((slug for slug, place in places.items() if place == FORWARD), "")
    open_deadlines = list(Deadline.objects.open().filter(case=case).select_related("rule").order_by("due_at"))
    now = timezone.now()
    for deadline in open_deadlines:
        deadline.shown_card = counts.card(deadline, now)
    events = timeline(case)
    # Full numbers only after the explicit, recorded request (`reveal`), never by default.
    unmasked = unmasked and PII in grants
    parties = list(case.parties.all())
    today = timezone.localdate()
    for party in parties:
        # The date of birth goes with the full ID number it is part of; otherwise the age.
        party.shown_birth_date, party.age = personal_data.birth_shown(party, full=unmasked, on=today)
    context = {
        "case": case,
        "pii": PII in grants,
        "unmasked": unmasked,
        "parties": parties,
        "events": events,
        "notes": [e for e in events if e["event"].kind == "note"],
        "sessions": [e for e in events if e["event"].kind == "record_session"],
        # 联调: the departments co-handling the case beside the lead, and the parts they recorded.
        "co_departments": list(case.co_departments.all()),
        "parts": [e for e in events if e["event"].kind == "record_part"],
        # 复查、复核 (信访工作条例 第三十五条、第三十六条): each request and each decision.
        "reviews": [e for e in events if e["event"].kind in ("request_review", "decide_review")],
        "deadlines": open_deadlines,
        "met_deadlines": Deadline.objects.filter(case=case, met_at__isnull=False).order_by("due_at"),
        "operations": [(t, forms_by_name[t.slug], places[t.slug]) for t in transitions],
        "open_operation": failed[0] if failed else way_on,
        "extensions": Extension.objects.filter(deadline__case=case).select_related(
            "deadline", "requested_by", "decided_by").order_by("requested_at"),
        "documents": case.documents.select_related("uploaded_by"),
        "orders": case.supervision_orders.select_related("deadline", "issued_by", "replied_by", "closed_by"),
        "lifecycle": diagram(case.stage),
        # 回避: a party to the case among the staff is told why it offers them so little.
        "recused": recused(request.user, case),
        "outcome": outcome(case),
        # 履行 and 司法确认 (issue 18): the agreement's visits and its judicial confirmation.
        "follow_through": follow_through(case),
        # The forms this case has to print (desk/paper.py).
        "paper_forms": print_list(case),
        "problem": problem,
    }
    return render(request, "desk/case.html", context, status=status)


def outcome(case: Case) -> tuple[str, str] | None:
    """The recorded outcome as people read it: its kind's label and the summary."""
    if not case.outcome:
        return None
    kinds = dict(forms_module.ResolveForm.OUTCOMES)
    return str(kinds.get(case.outcome.get("kind"), case.outcome.get("kind", ""))), case.outcome.get("summary", "")


def follow_through(case: Case) -> dict[str, Any] | None:
    """What a mediation agreement has come to, for a case resolved by one (or once): its
    performance as the newest visit since the resolution found it, every visit, and the
    judicial confirmation applications with the court's rulings. None for a case with no
    agreement and nothing recorded (a petition, a case not resolved)."""
    visits = list(FollowUpVisit.objects.filter(case=case).select_related("visited_by").order_by("visited_at", "pk"))
    confirmations = list(JudicialConfirmation.objects.filter(case=case).order_by("applied_at", "pk"))
    agreement = str((case.outcome or {}).get("kind", "")).startswith("agreement")
    if not (agreement or visits or confirmations):
        return None
    performance = performance_of(case)
    return {"performance": Performance(performance).label if performance else "",
            "performed": performance == Performance.FULLY, "visits": visits, "confirmations": confirmations}


def visible_case(user: Any, pk: int) -> Case:
    return get_object_or_404(with_listing(visible_to(user)).select_related(
        "reporter", "registered_unit", "accused_unit", "leader").prefetch_related("parties"), pk=pk)


@login_required
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    return case_page(request, visible_case(request.user, pk))


@login_required
@require_POST
def operate(request: HttpRequest, pk: int, name: str) -> HttpResponse:
    if name not in operations():
        raise Http404
    try:
        case = services.transition(pk, name, actor=request.user, data=request.POST, files=request.FILES)
    except CaseNotFound:
        raise Http404 from None
    except InvalidData as problem:
        case = visible_case(request.user, pk)
        transition = services.transition_from(operations()[name], case.stage)
        form = operation_form(transition, case, request.POST, request.FILES)
        form.is_valid()
        return case_page(request, case, failed=(name, form), problem=problem.message, status=400)
    except CaseOperationError as refusal:
        # Someone else moved the case, or this person may not do it: say so plainly and
        # show the case as it is now.
        return case_page(request, visible_case(request.user, pk), problem=refusal.message, status=refusal.status)
    label = next(iter(operations()[name].get_transitions())).label
    messages.success(request, _("Done: %(operation)s.") % {"operation": label})
    if not visible_to(request.user).filter(pk=case.pk).exists():
        # The operation took the case out of this person's reach (an escalation upward).
        return redirect("desk:workbench:index")
    return back(request, "desk:case:detail", case.pk)


@login_required
@require_POST
def reveal(request: HttpRequest, pk: int) -> HttpResponse:
    """The parties' full ID numbers and phones, for a person whose role allows it, on
    their explicit request, recorded (个人信息保护法 第五十一条). A POST: a link could be
    prefetched or followed by a crawler, and each showing must be a deliberate act."""
    case = visible_case(request.user, pk)
    if PII not in grants_for(request.user, case):
        raise PermissionDenied
    personal_data.record(request.user, case, PersonalDataAccess.Door.PAGE)
    return case_page(request, case, unmasked=True)


@login_required
def document(request: HttpRequest, pk: int, document_id: int) -> FileResponse:
    """A case's document, to those who may see the case; 404 otherwise, as for the case."""
    case = visible_case(request.user, pk)
    found = get_object_or_404(CaseDocument, pk=document_id, case=case)
    return FileResponse(found.file.open("rb"), as_attachment=True, filename=found.original_name)
