"""Printing a case's forms from its page (docs/paper.md: doors).

- GET  /desk/case/<id>/paper/<form>.pdf — one form; GET /desk/case/<id>/dossier.pdf — the
  whole file. Masked, as the case page is by default: a GET is a link, which a browser may
  prefetch or a crawler follow, and it writes nothing.
- POST /desk/case/<id>/paper/full/ with `form` (a form, or "dossier") — the same with the
  parties' ID numbers and phones in full, for a person whose role allows it, on their
  explicit request, and recorded (PersonalDataAccess, door "paper"), as 查看完整信息 is on
  the page (个人信息保护法 第五十一条).

A case out of the person's reach is a 404, by the case page's own rule (visible_case); a
form the case does not have (of the other kind, or not at this stage) is a 404 too.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from cases import personal_data
from cases.models import Case, PersonalDataAccess
from paper.catalogue import BY_SLUG
from workflow.permissions import PII, grants_for

from .case_page import visible_case

DOSSIER = "dossier"


def filename(case: Case, name: str) -> str:
    label = _("Whole case file") if name == DOSSIER else BY_SLUG[name].label
    return f"{case.number} {label}.pdf"


def printed(case: Case, name: str, *, full: bool) -> HttpResponse:
    # WeasyPrint loads Pango when imported: imported on the first print, so a server whose
    # machine lacks the libraries (`make browser` installs them) still serves every page.
    from paper.dossier import render_dossier, render_form
    from paper.render import pdf_response

    if name == DOSSIER:
        pdf = render_dossier(case, full=full)
    else:
        pdf = render_form(case, name, full=full) if name in BY_SLUG else None
        if pdf is None:
            raise Http404
    return pdf_response(pdf, filename(case, name))


@login_required
@require_safe
def form(request: HttpRequest, pk: int, name: str) -> HttpResponse:
    return printed(visible_case(request.user, pk), name, full=False)


@login_required
@require_safe
def dossier(request: HttpRequest, pk: int) -> HttpResponse:
    return printed(visible_case(request.user, pk), DOSSIER, full=False)


@login_required
@require_POST
def full(request: HttpRequest, pk: int) -> HttpResponse:
    case = visible_case(request.user, pk)
    if PII not in grants_for(request.user, case):
        raise PermissionDenied
    response = printed(case, request.POST.get("form", ""), full=True)
    # Recorded once the print exists: a refused request showed nothing.
    personal_data.record(request.user, case, PersonalDataAccess.Door.PAPER)
    return response
