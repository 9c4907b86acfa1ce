"""台账: every ledger generated from the case data as xlsx, and the import of a legacy
hand-kept ledger with a progress bar."""

from __future__ import annotations

import asyncio
import logging
import tempfile
from typing import Any

from asgiref.sync import sync_to_async
from django import forms
from django.contrib.auth.decorators import login_required
from django.db import connections
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.html import escape
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cases.models import OrgUnit
from reports.ledgers import TITLES, ledger_response, monthly_table
from reports.legacy_import import MAX_FILE_BYTES, ImportRefused, RowError, import_ledger
from workflow.permissions import importing_units, may_import, may_review

from .responses import only_for
from .scope import UnitPeriodForm

logger = logging.getLogger(__name__)

LEDGER_LEVELS = (OrgUnit.Level.COUNTY, OrgUnit.Level.TOWNSHIP, OrgUnit.Level.VILLAGE)


class ImportForm(forms.Form):
    unit = forms.ModelChoiceField(label=gettext_lazy("township"), queryset=OrgUnit.objects.none(), empty_label=None)
    file = forms.FileField(label=gettext_lazy("legacy ledger (xlsx, in the layout of 矛盾纠纷排查化解台账)"))

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = importing_units(user)

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_FILE_BYTES:
            raise forms.ValidationError(_("The file is larger than %(size)s MB.")
                                        % {"size": MAX_FILE_BYTES // (1024 * 1024)})
        return upload


@login_required
@only_for(may_review)
def ledgers(request: HttpRequest) -> HttpResponse:
    choice = UnitPeriodForm(request.GET, user=request.user, levels=LEDGER_LEVELS)
    if choice.is_valid() and request.GET.get("kind") in TITLES and choice.cleaned_data["unit"] is not None:
        return ledger_response(request.GET["kind"], choice.cleaned_data["unit"], choice.cleaned_data["period"],
                               user=request.user)
    table = None
    if choice.is_valid() and choice.cleaned_data["unit"] is not None:
        table = monthly_table(choice.cleaned_data["unit"], choice.cleaned_data["period"], request.user)
    return render(request, "desk/ledgers.html", {
        "choice": choice, "titles": TITLES.items(), "table": table,
        "query": request.GET.urlencode(),
        "import_form": ImportForm(user=request.user) if may_import(request.user) else None,
    })


def refusal(refused: ImportRefused) -> str:
    """What the import page shows for a refused file: why, and every error."""
    lines = "".join(f"<li>{escape(str(e))}</li>" for e in refused.errors)
    return f'<div class="problem" role="alert">{escape(str(refused))}<ul class="row-errors">{lines}</ul></div>'


@login_required
@only_for(may_import)
def import_page(request: HttpRequest) -> HttpResponse:
    """Validates every row first; imports all or nothing. The answer streams: the page
    head, a progress bar moving as rows are imported, then the result (or every bad row
    with its number and reason)."""
    form = ImportForm(request.POST or None, request.FILES or None, user=request.user)
    if request.method != "POST" or not form.is_valid():
        return render(request, "desk/import.html", {"import_form": form}, status=400 if form.is_bound else 200)
    spool = tempfile.TemporaryFile()
    for chunk in form.cleaned_data["file"].chunks():
        spool.write(chunk)
    spool.seek(0)
    head, tail = render_to_string("desk/import.html", {"import_form": None, "streaming": True},
                                  request=request).split("<!-- progress -->")
    progress = {"done": 0, "total": 0}

    def run() -> str:
        try:
            result = import_ledger(spool, unit=form.cleaned_data["unit"], actor=request.user,
                                   progress=lambda done, total: progress.update(done=done, total=total))
        except ImportRefused as refused:
            return refusal(refused)
        except Exception:
            # Whatever else fails, the page still ends, with an error in its usual place.
            logger.exception("The import of a legacy ledger failed.")
            return refusal(ImportRefused([RowError(0, "", _("The server failed while importing the file. "
                                                            "The failure was logged; tell the administrator."))]))
        finally:
            spool.close()
            # A worker thread of its own (below), which no request's end closes for it.
            connections.close_all()
        queue = reverse("desk:queue:index") + "?stage=all&ids=" + ",".join(map(str, result.case_ids[:500]))
        return (f'<div class="messages"><li class="success" data-imported="{result.count}">'
                f'{escape(_("Imported %(count)d cases.") % {"count": result.count})} '
                f'<a href="{queue}">{escape(_("Show them"))}</a></li></div>')

    async def stream() -> Any:
        yield head
        # Not the request's thread: the import commits all or nothing on a connection of
        # its own while this loop streams its progress.
        task = asyncio.ensure_future(sync_to_async(run, thread_sensitive=False)())
        while not task.done():
            await asyncio.sleep(0.25)
            if progress["total"]:
                yield (f'<progress value="{progress["done"]}" max="{progress["total"]}"></progress>'
                       f'<span class="muted">{progress["done"]} / {progress["total"]}</span>')
        yield await task
        yield tail

    return StreamingHttpResponse(stream(), content_type="text/html; charset=utf-8")
