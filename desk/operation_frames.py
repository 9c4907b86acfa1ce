"""An operation's form fetched when it is opened. Lists that offer operations on every row
(the monthly meeting's decisions, the board's supervision order) name what the state
machine offers on each row, and each form arrives only when its row is opened: a
township's meeting lists hundreds of cases, and rendering a form for each, with its
choices, took seconds (issue 16) for forms almost never opened.

The form is the case page's own (case_page.operation_form) and posts to the same
`operate`, which checks everything again; this view only refuses a case out of reach, or
an operation the machine does not offer the person now, with a 404 as the case page does."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from workflow import services
from workflow.flow import operations
from workflow.permissions import visible_to

from .case_page import has_something_to_act_on, operation_form


def frame_id(case_id: int, name: str) -> str:
    """The id the row's frame and the fetched form share (Turbo swaps them by it)."""
    return f"operation-{case_id}-{name}"


@login_required
@require_GET
def operation_frame(request: HttpRequest, pk: int, name: str) -> HttpResponse:
    if name not in operations():
        raise Http404
    case = get_object_or_404(visible_to(request.user), pk=pk)
    transition = next((t for t in services.available_operations(case, request.user) if t.slug == name), None)
    if transition is None:
        raise Http404
    form = operation_form(transition, case)
    if not has_something_to_act_on(form):
        raise Http404
    # Back to the list the row is on, after the operation (responses.back checks it again).
    after = request.GET.get("next", "")
    return render(request, "desk/includes/operation_frame.html", {
        "case": case, "transition": transition, "form": form, "frame": frame_id(case.pk, name),
        "next": after if after.startswith("/") else "",
    })
