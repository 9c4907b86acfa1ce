"""One form, or the whole file of a case (一案一卷), as PDF.

The file: cover and contents (卷内目录), every document of the case's forms in the file's
order (paper.catalogue), its uploaded documents, the back cover (卷内备考表). Its pages are
numbered from the first document; the contents give the page each document begins on,
which the layout itself counts (CSS target-counter), so the numbers are right however long
each document runs.

An uploaded PDF is bound into the file when it is readable and not encrypted, within
APPEND_LIMITS: its section reserves one empty page per page of it, numbered like the rest,
and its pages are then drawn onto those, scaled to fit A4. Any other upload (a photo, a
Word file, a PDF past the limits or that will not open) is listed in the contents with its
original kept apart (原件另存), as a paper file notes a document filed elsewhere.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from typing import Any

from pypdf import PageObject, PdfReader, PdfWriter, Transformation

from cases.models import Case, CaseDocument

from .catalogue import BY_SLUG, FORMS, UPLOADS_BEFORE, Entry, applicable, form_for
from .facts import CaseFacts
from .render import render_document, render_pdf

logger = logging.getLogger(__name__)

# 保管期限 printed on the cover (docs/paper.md: why ten years).
RETENTION_YEARS = 10


@dataclass(frozen=True)
class AppendLimits:
    """What of the uploads is bound into one file: a file past these is listed, not
    appended, so a file's time and memory stay bounded whatever was uploaded."""

    bytes_each: int = 20 * 1024 * 1024  # workflow.forms.DOCUMENT_MAX_BYTES: what an upload may be
    bytes_total: int = 60 * 1024 * 1024
    pages_total: int = 300


APPEND_LIMITS = AppendLimits()

# Where an uploaded page is drawn on its A4 page, in points: clear of the page number.
_SIDE, _TOP, _BOTTOM = 28.0, 28.0, 48.0


def render_form(case: Case, slug: str, *, full: bool = False) -> bytes | None:
    """Form `slug` of `case` as PDF; None when the case has no such form (unknown, of the
    other kind, or not at this stage). `full`: ID numbers and phones unmasked — the
    caller has decided the person may see them, and records the print."""
    facts = CaseFacts(case, full=full)
    form = form_for(facts, slug)
    if form is None:
        return None
    entries = form.entries(facts)
    for n, entry in enumerate(entries, start=1):
        entry.anchor = f"doc-{n}"
    return render_pdf("paper/single.html", context(facts, entries=entries))


def render_dossier(case: Case, *, full: bool = False) -> bytes:
    """The whole file of `case` as PDF (see the module's docstring)."""
    facts = CaseFacts(case, full=full)
    contents, readers = file_contents(facts)
    document = render_document("paper/dossier.html", file_context(facts, contents))
    pdf = document.write_pdf()
    if not readers:
        return pdf
    # The page each reserved page fell on, found by its anchor ("doc-7-p2").
    placements: list[tuple[int, PageObject]] = []
    for index, page in enumerate(document.pages):
        for anchor in page.anchors:
            head, _, number = anchor.rpartition("-p")
            if head in readers and number.isdigit():
                placements.append((index, readers[head].pages[int(number) - 1]))
    try:
        return bound(pdf, placements)
    except Exception:  # an upload that opened but will not draw: list them all instead
        logger.exception("paper: could not bind the uploaded PDFs of case %s; listing them", case.pk)
        for entry in contents:
            if entry.upload is not None:
                entry.anchor, entry.pages = "", 0
        return render_pdf("paper/dossier.html", file_context(facts, contents))


def file_contents(facts: CaseFacts) -> tuple[list[Entry], dict[str, PdfReader]]:
    """Every document of the file in order, anchored ("doc-N") when it has pages in the
    file, and the readers of the uploads to bind, by their entry's anchor."""
    uploads = upload_entries(facts)
    readers_of = {id(entry): reader for entry, reader in uploads if reader is not None}
    pending = [entry for entry, _ in uploads]
    contents: list[Entry] = []
    position = FORMS.index(BY_SLUG[UPLOADS_BEFORE])
    for form in applicable(facts):
        if form.slug == "cover":
            continue
        if pending and FORMS.index(form) >= position:
            contents, pending = contents + pending, []
        contents += form.entries(facts)
    contents += pending
    readers: dict[str, PdfReader] = {}
    for n, entry in enumerate(contents, start=1):
        if entry.upload is not None and entry.pages == 0:
            continue  # kept apart: no pages in the file
        entry.anchor = f"doc-{n}"
        if id(entry) in readers_of:
            readers[entry.anchor] = readers_of[id(entry)]
    return contents, readers


def upload_entries(facts: CaseFacts) -> list[tuple[Entry, PdfReader | None]]:
    """The case's uploaded documents in the order they were kept, each with the reader
    to bind it by, or None when it is listed only (not a readable PDF, or past
    APPEND_LIMITS)."""
    uploads: list[tuple[Entry, PdfReader | None]] = []
    total_bytes, total_pages = 0, 0
    for document in facts.documents:
        reader = readable_pdf(document)
        pages = len(reader.pages) if reader is not None else 0
        if reader is not None and (total_bytes + document.size > APPEND_LIMITS.bytes_total
                                   or total_pages + pages > APPEND_LIMITS.pages_total):
            reader, pages = None, 0
        if reader is not None:
            total_bytes, total_pages = total_bytes + document.size, total_pages + pages
        uploads.append((Entry("upload", "paper/forms/upload.html", upload=document, pages=pages), reader))
    return uploads


def readable_pdf(document: CaseDocument) -> PdfReader | None:
    """A reader of the uploaded file when it is a PDF that opens, is not encrypted, and
    has pages of a real size; None otherwise (listed, kept apart). Uploads are whatever
    people sent: any failure to read one only means it is not bound."""
    if not document.file.name.lower().endswith(".pdf") or document.size > APPEND_LIMITS.bytes_each:
        return None
    try:
        with document.file.open("rb") as handle:
            data = handle.read(APPEND_LIMITS.bytes_each + 1)
        if len(data) > APPEND_LIMITS.bytes_each or not data.startswith(b"%PDF"):
            return None
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted or not reader.pages:
            return None
        for page in reader.pages:
            if float(page.mediabox.width) <= 0 or float(page.mediabox.height) <= 0:
                return None
        return reader
    except Exception:
        logger.warning("paper: upload %s of case %s is not a readable PDF; listed only", document.pk,
                       document.case_id, exc_info=True)
        return None
    finally:
        document.file.close()


def bound(pdf: bytes, placements: list[tuple[int, PageObject]]) -> bytes:
    """`pdf` with each (page index, uploaded page) drawn onto that page, beneath its page
    number, scaled down to fit (never up) and centred."""
    writer = PdfWriter(clone_from=io.BytesIO(pdf))
    # pypdf rewrites a page's content only once a writer holds it: each upload is turned
    # upright (its /Rotate made part of its content) in a scratch writer first.
    scratch = PdfWriter()
    for index, original in placements:
        upload = scratch.add_page(original)
        upload.transfer_rotation_to_content()
        box = upload.mediabox
        width, height = float(box.width), float(box.height)
        target = writer.pages[index]
        room_w = float(target.mediabox.width) - 2 * _SIDE
        room_h = float(target.mediabox.height) - _TOP - _BOTTOM
        scale = min(1.0, room_w / width, room_h / height)
        ctm = (Transformation().translate(-float(box.left), -float(box.bottom)).scale(scale)
               .translate(_SIDE + (room_w - width * scale) / 2, _BOTTOM + (room_h - height * scale) / 2))
        target.merge_transformed_page(upload, ctm, over=False)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def context(facts: CaseFacts, **extra: Any) -> dict[str, Any]:
    return {"case": facts.case, "facts": facts, "retention_years": RETENTION_YEARS, **extra}


def file_context(facts: CaseFacts, contents: list[Entry]) -> dict[str, Any]:
    cover = BY_SLUG["cover"].entries(facts)[0]
    return context(facts, cover=cover, contents=contents,
                   numbered=[e for e in contents if e.anchor],
                   kept_apart=[e for e in contents if e.upload is not None and not e.anchor])
