"""Documents through the API (issue 19): uploaded as multipart/form-data with the
operation that keeps them (attach_document, resolve with the signed agreement, a
settlement on the spot), held to the page's limits (20 MB, the document types), listed
and downloaded by whoever may see the case, 404 for anyone else. A refused upload
writes nothing: no row, no file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from cases.models import Case, CaseDocument, CaseEvent
from tests.api.test_api import API, api, assert_error, snapshot
from tests.conftest import DISPUTE, PARTIES, Cast, local
from tests.workflow.test_permissions import investigating
from workflow.forms import DOCUMENT_MAX_BYTES

pytestmark = pytest.mark.django_db

NOW = local(2026, 3, 4, 10)
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n"


@pytest.fixture(autouse=True)
def _clock_and_media(time_machine: Any, settings: Any, tmp_path: Path) -> None:
    time_machine.move_to(NOW, tick=False)
    settings.MEDIA_ROOT = tmp_path


def stored_files(settings: Any) -> list[Path]:
    return sorted(p for p in Path(settings.MEDIA_ROOT).rglob("*") if p.is_file())


def pdf(name: str = "调解协议书.pdf", content: bytes = PDF) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/pdf")


def attach(client: Any, case: Case, upload: Any, title: str = "调解协议书") -> Any:
    return client.post(f"{API}/cases/{case.pk}/transitions/attach_document/", {"title": title, "file": upload},
                       format="multipart")


def test_a_document_is_uploaded_stored_listed_and_downloaded(cast: Cast, settings: Any) -> None:
    case = investigating(cast)
    response = attach(api(cast.mia), case, pdf())
    assert response.status_code == 200, response.content
    document = CaseDocument.objects.get(case=case)
    assert (document.title, document.original_name, document.size, document.uploaded_by_id, document.uploaded_at) \
        == ("调解协议书", "调解协议书.pdf", len(PDF), cast.mia.pk, NOW)
    with document.file.open("rb") as stored:
        assert stored.read() == PDF
    assert stored_files(settings) == [Path(document.file.path)]
    event = CaseEvent.objects.filter(case=case).latest("pk")
    assert (event.kind, event.actor_id, event.data["document"], event.data["title"]) \
        == ("attach_document", cast.mia.pk, document.pk, "调解协议书")

    url = f"{API}/cases/{case.pk}/documents/{document.pk}/"
    listed = api(cast.vic).get(f"{API}/cases/{case.pk}/documents/")
    assert listed.status_code == 200
    assert listed.json() == [{"id": document.pk, "title": "调解协议书", "original_name": "调解协议书.pdf",
                              "size": len(PDF), "content_type": "application/pdf", "uploaded_by": "mia",
                              "uploaded_at": "2026-03-04T10:00:00.000000+08:00", "url": url}]
    download = api(cast.vic).get(url)
    assert download.status_code == 200
    assert download.content == PDF
    assert download["Content-Type"] == "application/pdf"
    assert download["Content-Disposition"].startswith("attachment;")
    assert "filename*=utf-8''%E8%B0%83%E8%A7%A3%E5%8D%8F%E8%AE%AE%E4%B9%A6.pdf" in download["Content-Disposition"]


def test_the_documents_of_a_case_out_of_reach_are_a_404(cast: Cast, settings: Any) -> None:
    case = investigating(cast)
    assert attach(api(cast.mia), case, pdf()).status_code == 200
    document = CaseDocument.objects.get(case=case)
    before = snapshot(case)
    for path in (f"/cases/{case.pk}/documents/", f"/cases/{case.pk}/documents/{document.pk}/"):
        assert_error(api(cast.owen).get(API + path), 404)
    upload = attach(api(cast.owen), case, pdf("另一份.pdf"))
    assert_error(upload, 404)
    assert snapshot(case) == before
    assert list(CaseDocument.objects.values_list("pk", flat=True)) == [document.pk]
    assert stored_files(settings) == [Path(document.file.path)]


def test_a_document_of_another_case_or_none_is_a_404(cast: Cast) -> None:
    first, second = investigating(cast), investigating(cast)
    assert attach(api(cast.mia), first, pdf()).status_code == 200
    document = CaseDocument.objects.get(case=first)
    client = api(cast.olga)
    for path in (f"/cases/{second.pk}/documents/{document.pk}/", f"/cases/{first.pk}/documents/{document.pk + 1}/",
                 f"/cases/{first.pk}/documents/abc/"):
        assert_error(client.get(API + path), 404)
    assert client.get(f"{API}/cases/{second.pk}/documents/").json() == []


@pytest.mark.parametrize("upload, message", [
    (SimpleUploadedFile("大文件.pdf", b"0" * (DOCUMENT_MAX_BYTES + 1), content_type="application/pdf"),
     "The file is larger than 20 MB."),
    (SimpleUploadedFile("程序.exe", b"MZ\x90\x00", content_type="application/octet-stream"),
     "File extension “exe” is not allowed. Allowed extensions are: pdf, ofd, doc, docx, xls, xlsx, wps, txt, jpg, "
     "jpeg, png."),
    (SimpleUploadedFile("空.pdf", b"", content_type="application/pdf"), "The submitted file is empty."),
], ids=["over 20 MB", "not a document type", "empty"])
def test_a_refused_upload_writes_nothing(cast: Cast, settings: Any, upload: Any, message: str) -> None:
    case = investigating(cast)
    before = snapshot(case)
    response = api(cast.mia).post(f"{API}/cases/{case.pk}/transitions/attach_document/",
                                  {"title": "协议", "file": upload}, format="multipart", HTTP_ACCEPT_LANGUAGE="en")
    assert assert_error(response, 400, "invalid")["errors"] == {"file": [message]}
    assert snapshot(case) == before
    assert not CaseDocument.objects.exists() and stored_files(settings) == []


def test_a_body_past_the_upload_limit_is_refused_before_it_is_read(cast: Cast, settings: Any, monkeypatch: Any) -> None:
    from api import views

    monkeypatch.setattr(views, "UPLOAD_MAX_BYTES", 4096)
    case = investigating(cast)
    before = snapshot(case)
    assert_error(attach(api(cast.mia), case, pdf(content=PDF * 200)), 413, "too_large")
    assert snapshot(case) == before
    assert not CaseDocument.objects.exists() and stored_files(settings) == []


def test_one_who_may_not_attach_is_refused_and_nothing_is_written(cast: Cast, settings: Any) -> None:
    case = investigating(cast)
    before = snapshot(case)
    assert_error(attach(api(cast.vic), case, pdf()), 403, "forbidden")
    assert snapshot(case) == before
    assert not CaseDocument.objects.exists() and stored_files(settings) == []


def test_a_document_in_a_json_body_is_refused_saying_how_to_send_it(cast: Cast) -> None:
    case = investigating(cast)
    before = snapshot(case)
    response = api(cast.mia).post(f"{API}/cases/{case.pk}/transitions/attach_document/",
                                  {"title": "协议", "file": "协议.pdf"}, format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert assert_error(response, 400, "invalid")["errors"] == {
        "file": ["The submitted data was not a file. Check the encoding type on the form."]}
    missing = api(cast.mia).post(f"{API}/cases/{case.pk}/transitions/attach_document/", {"title": "协议"},
                                 format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert assert_error(missing, 400, "invalid")["errors"] == {
        "file": ["This field is required.", "A file is sent in a multipart/form-data body."]}
    assert snapshot(case) == before and not CaseDocument.objects.exists()


def test_a_written_agreement_resolves_the_case_with_its_signed_document(cast: Cast, settings: Any) -> None:
    case = investigating(cast)
    response = api(cast.mia).post(f"{API}/cases/{case.pk}/transitions/resolve/",
                                  {"outcome": "agreement_written", "summary": "书面协议，分期支付。",
                                   "agreement": pdf("协议书扫描件.pdf")}, format="multipart")
    assert response.status_code == 200, response.content
    case.refresh_from_db()
    assert (case.stage, case.outcome) == ("resolved", {"kind": "agreement_written", "summary": "书面协议，分期支付。"})
    document = CaseDocument.objects.get(case=case)
    assert (document.title, document.original_name) == ("调解协议书", "协议书扫描件.pdf")
    with document.file.open("rb") as stored:
        assert stored.read() == PDF
    assert CaseEvent.objects.filter(case=case).latest("pk").data["document"] == document.pk


def test_a_written_agreement_without_its_document_is_refused(cast: Cast, settings: Any) -> None:
    case = investigating(cast)
    before = snapshot(case)
    response = api(cast.mia).post(f"{API}/cases/{case.pk}/transitions/resolve/",
                                  {"outcome": "agreement_written", "summary": "书面协议。"}, format="multipart",
                                  HTTP_ACCEPT_LANGUAGE="en")
    errors = assert_error(response, 400, "invalid")["errors"]
    assert errors == {"agreement": ["Attach the signed mediation agreement: a written agreement is recorded with "
                                    "its document."]}
    assert snapshot(case) == before and stored_files(settings) == []


def test_a_dispute_settled_on_the_spot_is_registered_with_its_signed_agreement(cast: Cast, settings: Any) -> None:
    body = {**DISPUTE, "village": cast.dongwan.pk, "parties": PARTIES, "repeats_seen": True,
            "on_the_spot": {"lead_department": cast.justice.pk, "outcome": "agreement_written",
                            "summary": "双方当场达成书面协议。"}}
    response = api(cast.olga).post(f"{API}/cases/", {"data": json.dumps(body, ensure_ascii=False),
                                                     "agreement": pdf("当场协议.pdf")}, format="multipart")
    assert response.status_code == 201, response.content
    case = Case.objects.get(pk=response.json()["id"])
    assert (case.stage, case.outcome["kind"], case.title) == ("resolved", "agreement_written", DISPUTE["title"])
    document = CaseDocument.objects.get(case=case)
    assert (document.original_name, document.uploaded_by_id) == ("当场协议.pdf", cast.olga.pk)
    with document.file.open("rb") as stored:
        assert stored.read() == PDF
    assert list(CaseEvent.objects.filter(case=case).order_by("at", "pk").values_list("kind", flat=True)) == [
        "report", "accept", "start_mediation", "resolve"]


def test_a_settlement_refused_on_the_spot_writes_nothing(cast: Cast, settings: Any) -> None:
    body = {**DISPUTE, "village": cast.dongwan.pk, "parties": PARTIES, "repeats_seen": True,
            "on_the_spot": {"lead_department": cast.justice.pk, "outcome": "agreement_written",
                            "summary": "双方当场达成书面协议。"}}
    upload = SimpleUploadedFile("协议.exe", b"MZ", content_type="application/octet-stream")
    response = api(cast.olga).post(f"{API}/cases/", {"data": json.dumps(body), "agreement": upload},
                                   format="multipart")
    assert "on_the_spot.agreement" in assert_error(response, 400, "invalid")["errors"]
    assert not Case.objects.exists() and not CaseDocument.objects.exists() and stored_files(settings) == []
    not_json = api(cast.olga).post(f"{API}/cases/", {"data": "{", "agreement": pdf()}, format="multipart")
    assert_error(not_json, 400, "parse_error")
    assert not Case.objects.exists() and stored_files(settings) == []
