"""HTML templates to PDF, and PDF to a response. Other code calls these two:

    pdf = render_pdf("paper/agreement.html", {...})
    return pdf_response(pdf, "QY-LL-2026-00001 人民调解协议书.pdf")

WeasyPrint lays the page out and embeds a subset of every font it uses, so a PDF prints
the same on any machine. Rendering never reaches the network: the URL fetcher serves the
app's own static files (paper/static/paper/) and data: URIs, and refuses everything else.
"""

from __future__ import annotations

import logging
import mimetypes
import re
import unicodedata
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit
from urllib.request import DataHandler, Request, url2pathname

from django.conf import settings
from django.http import HttpResponse
from django.template.loader import render_to_string
from django.utils import translation
from weasyprint import HTML, Document, URLFetcher
from weasyprint.urls import URLFetcherResponse

logger = logging.getLogger(__name__)

# What a template may load: files below this folder (relative URLs resolve against it).
STATIC_DIR = (Path(__file__).resolve().parent / "static" / "paper").resolve()
BASE_URL = STATIC_DIR.as_uri() + "/"


class RefusedURL(ValueError):
    """A resource outside the app's static files. WeasyPrint leaves it out and logs it."""


class LocalFetcher(URLFetcher):
    """Serves data: URIs and files below STATIC_DIR; refuses every other URL (http, https,
    ftp, other files), so a template or a value in it can make the server fetch nothing.
    Never calls the parent's fetch, which would open the network."""

    def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
        scheme = urlsplit(url).scheme.lower()
        if scheme == "data":
            # urllib's data: handler decodes in memory; no connection is involved.
            answer = DataHandler().data_open(Request(url))
            return URLFetcherResponse(url, answer.read(), {"Content-Type": answer.headers["Content-Type"]})
        if scheme == "file":
            path = Path(url2pathname(urlsplit(url).path)).resolve()
            if path.is_relative_to(STATIC_DIR) and path.is_file():
                content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
                return URLFetcherResponse(url, path.read_bytes(), {"Content-Type": content_type})
        logger.warning("paper: refused to fetch %s while rendering a PDF", url[:200])
        raise RefusedURL(f"Only the paper app's static files and data: URIs are fetched, not {url[:200]}")


def html_to_document(html: str) -> Document:
    """The laid-out pages of an HTML document whose relative URLs name files in STATIC_DIR."""
    return HTML(string=html, base_url=BASE_URL, url_fetcher=LocalFetcher()).render()


def render_document(template_name: str, context: dict[str, Any]) -> Document:
    """The template rendered with `context` and laid out in pages (WeasyPrint's Document:
    its pages, their anchors; `.write_pdf()` writes it). The forms are Chinese official
    documents: templates are rendered in the site's language (LANGUAGE_CODE, zh-hans),
    whatever language the person reads the pages in, so choice labels come out in Chinese."""
    return html_to_document(render_html(template_name, context))


def render_html(template_name: str, context: dict[str, Any]) -> str:
    """The template's HTML as render_document lays it out, in the site's language."""
    with translation.override(settings.LANGUAGE_CODE):
        return render_to_string(template_name, context)


def render_pdf(template_name: str, context: dict[str, Any]) -> bytes:
    """The template rendered with `context`, as PDF bytes. Templates extend
    paper/base.html for the page, the fonts and the page numbers."""
    return render_document(template_name, context).write_pdf()


# RFC 6266's filename parameter is a quoted string; these would end it or mislead a client.
_UNSAFE_FALLBACK = re.compile(r"[^A-Za-z0-9._-]+")


def ascii_filename(filename: str) -> str:
    """An ASCII stand-in for `filename` for clients that ignore filename* (RFC 6266 §4.3):
    accents stripped, anything else outside [A-Za-z0-9._-] dropped, never empty."""
    name = Path(filename.replace("\\", "/")).name
    stem, dot, suffix = name.rpartition(".") if "." in name else (name, "", "")
    stem, suffix = _ascii_part(stem)[:150], _ascii_part(suffix)[:10]
    return f"{stem or 'document'}{dot if suffix else ''}{suffix}"


def _ascii_part(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return _UNSAFE_FALLBACK.sub("-", ascii_text).strip("-._")


def content_disposition(filename: str, *, as_attachment: bool = False) -> str:
    """`inline` (or `attachment`) with an ASCII filename and the UTF-8 one (RFC 6266, with
    RFC 5987's encoding), e.g. inline; filename="QY-LL-2026-00001.pdf";
    filename*=UTF-8''QY-LL-2026-00001%20%E5%8D%B7%E5%AE%97.pdf"""
    name = Path(filename.replace("\\", "/")).name
    # Control characters would split the header; they never belong in a file name.
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C") or "document.pdf"
    disposition = "attachment" if as_attachment else "inline"
    return f"{disposition}; filename=\"{ascii_filename(name)}\"; filename*=UTF-8''{quote(name, safe='')}"


def pdf_response(pdf: bytes, filename: str, *, as_attachment: bool = False) -> HttpResponse:
    """`pdf` as a response the browser shows in its PDF viewer (or saves, `as_attachment`),
    named `filename`. Printed forms carry personal data: never stored by a cache."""
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = content_disposition(filename, as_attachment=as_attachment)
    response["Content-Length"] = str(len(pdf))
    response["Cache-Control"] = "private, no-store"
    return response
