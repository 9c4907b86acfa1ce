"""paper.render, the API other code prints with: a template to PDF with nothing fetched
from the network, a PDF to a response named in UTF-8 with an ASCII fallback."""

from __future__ import annotations

import io
import logging
from typing import Any
from urllib.parse import unquote

import pytest
from django.template import engines
from pypdf import PdfReader

from paper import render
from paper.render import LocalFetcher, RefusedURL, ascii_filename, content_disposition, pdf_response, render_pdf

from .conftest import text_of


def test_a_template_becomes_a_pdf_of_a4_pages_with_its_text() -> None:
    pdf = render_pdf("paper/base.html", {"case": {"number": "QY-LL-2026-00001"}})
    assert pdf.startswith(b"%PDF")
    page = PdfReader(io.BytesIO(pdf)).pages[0]
    # A4: 210 × 297 mm in points.
    assert (round(float(page.mediabox.width)), round(float(page.mediabox.height))) == (595, 842)
    assert "第1页共1页" in text_of(pdf)


def test_the_fetcher_serves_the_apps_own_static_files_and_data_uris() -> None:
    fetcher = LocalFetcher()
    css = fetcher.fetch(render.BASE_URL + "paper.css")
    assert b"@page" in css.read() and css.content_type == "text/css"
    data = fetcher.fetch("data:text/plain;base64,5Lq65rCR6LCD6Kej")
    assert data.read().decode() == "人民调解"


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:9/logo.png",
    "https://example.com/font.woff2",
    "ftp://example.com/x.css",
    "file:///etc/passwd",
    # Out of the static folder by a path that climbs, or by a sibling's name.
    render.BASE_URL + "../../facts.py",
    render.STATIC_DIR.parent.as_uri() + "/paper-other/x.css",
    render.BASE_URL + "missing.css",
])
def test_the_fetcher_refuses_everything_else(url: str) -> None:
    with pytest.raises(RefusedURL):
        LocalFetcher().fetch(url)


def test_a_template_naming_the_network_renders_without_it(caplog: Any, monkeypatch: Any) -> None:
    # The fetcher never reaches the parent's fetch, which would open a connection.
    def no_network(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the network was asked")

    monkeypatch.setattr(render.URLFetcher, "fetch", no_network)
    monkeypatch.setattr(render.URLFetcher, "open", no_network)
    html = ('<link rel="stylesheet" href="http://127.0.0.1:9/x.css"><p>调解</p>'
            '<img src="https://example.com/seal.png"><img src="file:///etc/hostname">')
    with caplog.at_level(logging.WARNING, logger="paper.render"):
        pdf = render.html_to_document(html).write_pdf()
    assert "调解" in text_of(pdf)
    refused = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert len(refused) == 3, refused


def test_a_pdf_response_names_the_file_in_utf8_with_an_ascii_fallback() -> None:
    response = pdf_response(b"%PDF-1.7 x", "QY-LL-2026-00001 人民调解协议书.pdf")
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Length"] == "10"
    assert response["Cache-Control"] == "private, no-store"
    disposition = response["Content-Disposition"]
    assert disposition.startswith('inline; filename="QY-LL-2026-00001.pdf"; ')
    encoded = disposition.split("filename*=UTF-8''", 1)[1]
    assert encoded.isascii() and " " not in encoded
    assert unquote(encoded) == "QY-LL-2026-00001 人民调解协议书.pdf"
    assert pdf_response(b"%PDF", "a.pdf", as_attachment=True)["Content-Disposition"].startswith("attachment;")


@pytest.mark.parametrize("name, fallback", [
    ("人民调解协议书.pdf", "document.pdf"),
    ("Résumé 2026.pdf", "Resume-2026.pdf"),
    ('a"b\\c;d.pdf', "c-d.pdf"),
    ("../../etc/passwd", "passwd"),
    ("卷宗.", "document"),
])
def test_the_ascii_fallback_is_safe_in_a_quoted_header(name: str, fallback: str) -> None:
    assert ascii_filename(name) == fallback
    header = content_disposition(name)
    quoted = header.split('filename="', 1)[1].split('"', 1)[0]
    assert quoted == fallback


def test_control_characters_and_half_characters_never_reach_the_header() -> None:
    header = content_disposition("协议\r\nX-Evil: 1\ud800.pdf")
    assert "\r" not in header and "\n" not in header and header.isascii()
    assert unquote(header.split("''", 1)[1]) == "协议X-Evil: 1.pdf"


def test_other_code_renders_its_own_template_through_the_same_page() -> None:
    template = engines["django"].from_string(
        '{% extends "paper/base.html" %}{% block content %}<h1 class="form-title">{{ title }}</h1>{% endblock %}')
    pdf = render.html_to_document(template.render({"title": "矛盾纠纷排查情况表", "case": {"number": ""}})).write_pdf()
    assert "矛盾纠纷排查情况表" in text_of(pdf)
