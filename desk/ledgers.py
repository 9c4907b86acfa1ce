"""台账: every ledger generated from the case data as xlsx (written while a page shows its
progress, then downloaded by the person who asked for it), and the import of a legacy
hand-kept ledger with a progress bar."""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import tempfile
import time
from pathlib import Path
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.html import escape
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from cases.models import OrgUnit
from reports.ledgers import SELECTIONS, TITLES, ledger_filename, ledger_response, monthly_table, write_ledger
from reports.legacy_import import MAX_FILE_BYTES, ImportRefused, RowError, import_ledger
from workflow.permissions import importing_units, may_import, may_review

from .responses import only_for
from .scope import UnitPeriodForm
from .streaming import PROGRESS, bar, stream_progress

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
    # The direct download (scripts and older links): the file comes when it is written.
    if choice.is_valid() and request.GET.get("kind") in TITLES and choice.cleaned_data["unit"] is not None:
        return ledger_response(request.GET["kind"], choice.cleaned_data["unit"], choice.cleaned_data["period"],
                               user=request.user)
    return ledgers_page(request, choice)


def ledgers_page(request: HttpRequest, choice: UnitPeriodForm, status: int = 200) -> HttpResponse:
    table = None
    if choice.is_valid() and choice.cleaned_data["unit"] is not None:
        table = monthly_table(choice.cleaned_data["unit"], choice.cleaned_data["period"], request.user)
    return render(request, "desk/ledgers.html", {
        "choice": choice, "titles": TITLES.items(), "table": table,
        "import_form": ImportForm(user=request.user) if may_import(request.user) else None,
    }, status=status)


# ---------------------------------------------------------------------------------------
# A ledger written while its page shows the progress. A county-year ledger takes about a
# minute: the page streams a progress bar meanwhile, then a link to the finished file,
# kept in LEDGER_EXPORT_DIR for a day under a random token, beside a small JSON record of
# who asked for it (the only one it is served to), its filename and when it was made.

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
EXPORT_KEPT_SECONDS = 24 * 3600
TOKEN = re.compile(r"[0-9a-f]{32}")


def export_dir() -> Path:
    return Path(settings.LEDGER_EXPORT_DIR)


def export_files(token: str) -> tuple[Path, Path, Path]:
    """The record, the file while it is written, the finished file."""
    base = export_dir()
    return base / f"{token}.json", base / f"{token}.part", base / f"{token}.xlsx"


def private_file(path: Path) -> Any:
    # The ledgers hold personal information: readable by the server's user alone.
    return os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb")


def export_record(token: str) -> dict[str, Any] | None:
    try:
        record = json.loads(export_files(token)[0].read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def expired(record: dict[str, Any] | None) -> bool:
    created = record.get("created") if record else None
    return not isinstance(created, (int, float)) or time.time() - created > EXPORT_KEPT_SECONDS


def forget_export(token: str) -> None:
    # The record last: a file is never left without the record that says when it goes.
    record, part, finished = export_files(token)
    for path in (finished, part, record):
        path.unlink(missing_ok=True)


def purge_exports() -> None:
    """Remove the exports older than a day (and any whose record cannot be read)."""
    for path in export_dir().glob("*.json"):
        if TOKEN.fullmatch(path.stem) and expired(export_record(path.stem)):
            forget_export(path.stem)


def start_export(owner: Any, filename: str) -> str:
    """A new export's token, its record written (atomically: a reader never sees half)."""
    export_dir().mkdir(mode=0o700, parents=True, exist_ok=True)
    token = secrets.token_hex(16)
    record = export_files(token)[0]
    draft = record.with_name(f"{token}.json.tmp")
    with private_file(draft) as out:
        out.write(json.dumps({"owner": owner.pk, "filename": filename, "created": time.time()}).encode())
    os.replace(draft, record)
    return token


def problem(message: str) -> str:
    return f'<div class="problem" role="alert">{escape(message)}</div>'


@login_required
@only_for(may_review)
def export_page(request: HttpRequest) -> HttpResponse:
    """The ledger `kind` of a unit and period, as the ledgers page links it. The answer
    streams: the page head with the ledger's title, a progress bar moving as rows are
    written (rows written / rows in all), then a link to the finished file, which a small
    script follows at once. Nothing is counted or written until the page is read."""
    choice = UnitPeriodForm(request.GET, user=request.user, levels=LEDGER_LEVELS)
    if not choice.is_valid():
        return ledgers_page(request, choice, status=400)
    kind, unit, period = request.GET.get("kind"), choice.cleaned_data["unit"], choice.cleaned_data["period"]
    if kind not in TITLES or unit is None:
        raise Http404
    user = request.user
    head, tail = render_to_string("desk/ledger_export.html", {
        "title": TITLES[kind], "unit": unit, "period": period,
        "back": reverse("desk:ledgers:index") + f"?unit={unit.pk}&period={period.label}",
    }, request=request).split(PROGRESS)

    def job(progress: dict[str, Any]) -> tuple[str, str]:
        token = None
        try:
            purge_exports()
            filename = ledger_filename(kind, unit, period)
            token = start_export(user, filename)
            if kind in SELECTIONS:
                progress["total"] = SELECTIONS[kind](unit, period, user).count()
            _record, part, finished = export_files(token)
            with private_file(part) as out:
                rows = write_ledger(kind, unit, period, out, user=user,
                                    progress=lambda done: progress.update(done=done))
            os.replace(part, finished)
        except Exception:
            # Whatever fails, the page still ends, with an error in its usual place.
            logger.exception("The export of ledger %s of unit %s for %s failed.", kind, unit.pk, period.label)
            if token is not None:
                forget_export(token)
            # The bar stops where the writing stopped (an empty one if it never started).
            return bar(progress["done"], progress["total"] or 1), problem(
                _("The server failed while writing the ledger. The failure was logged; tell the administrator."))
        url = reverse("desk:ledgers:download", args=[token])
        written = _("The ledger is written: %(count)s rows. Its download starts by itself; "
                    "the file is kept for a day.") % {"count": rows}
        download = _("Download")
        return bar(rows, rows), (
            f'<p class="export-ready" data-rows="{rows}">{escape(written)}</p>'
            f'<p><a class="desk-button" href="{url}" data-ledger-download data-turbo="false">'
            f'{escape(download)} {escape(filename)}</a></p>')

    return stream_progress(head, tail, job, working=_("Writing the ledger, row by row…"))


@login_required
def download(request: HttpRequest, token: str) -> FileResponse:
    """A finished export, to the person who asked for it, within the day it is kept;
    anyone else, and every other token, finds nothing (404). Streamed from the file."""
    record = export_record(token) if TOKEN.fullmatch(token) else None
    if record is None or record.get("owner") != request.user.pk or expired(record):
        raise Http404
    try:
        out = open(export_files(token)[2], "rb")  # FileResponse closes it when it is sent
    except OSError:
        raise Http404 from None
    return FileResponse(out, as_attachment=True, filename=str(record.get("filename") or f"{token}.xlsx"),
                        content_type=XLSX)


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
                                  request=request).split(PROGRESS)

    def job(progress: dict[str, Any]) -> tuple[str, str]:
        # All or nothing, on the worker's connection: the import commits or rolls back whole.
        try:
            result = import_ledger(spool, unit=form.cleaned_data["unit"], actor=request.user,
                                   progress=lambda done, total: progress.update(done=done, total=total))
        except ImportRefused as refused:
            return bar(progress["done"], progress["total"] or 1), refusal(refused)
        except Exception:
            # Whatever else fails, the page still ends, with an error in its usual place.
            logger.exception("The import of a legacy ledger failed.")
            return bar(progress["done"], progress["total"] or 1), refusal(ImportRefused([RowError(
                0, "", _("The server failed while importing the file. The failure was logged; "
                         "tell the administrator."))]))
        finally:
            spool.close()
        queue = reverse("desk:queue:index") + "?stage=all&ids=" + ",".join(map(str, result.case_ids[:500]))
        imported = ngettext("Imported %(count)d case.", "Imported %(count)d cases.", result.count) % {
            "count": result.count}
        show = _("Show them")
        return bar(result.count, result.count), (
            f'<div class="messages"><li class="success" data-imported="{result.count}">'
            f'{escape(imported)} <a href="{queue}">{escape(show)}</a></li></div>')

    return stream_progress(head, tail, job, working=_("Checking every row, then importing…"))
