"""Resolving a case (issue 15): a dispute by a mediation agreement, a petition by one of
the three answers of 信访工作条例 第三十二条; a written agreement with its signed document,
kept with the case in the same transaction (人民调解法 第二十九条). Through the service, the
case page and the API; assertions on what the database holds and what each door answers."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation

from cases.models import Case, CaseDocument, CaseEvent
from tests.conftest import PETITION, Cast, accept, local, report, step
from tests.desk.test_pages import page, text_of
from workflow import forms, services
from workflow.errors import InvalidData

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n% signed agreement\n"
AT = local(2026, 3, 5, 9)


@pytest.fixture(autouse=True)
def media(settings: Any, tmp_path: Any) -> Any:
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def agreement(name: str = "调解协议书.pdf", content: bytes = PDF) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/pdf")


def dispute(cast: Cast) -> Case:
    return accept(cast, report(cast, at=local(2026, 3, 2, 9)), local(2026, 3, 3, 9))


def petition(cast: Cast) -> Case:
    return accept(cast, report(cast, at=local(2026, 3, 2, 9), **PETITION), local(2026, 3, 3, 9))


def unchanged(case: Case) -> None:
    """Nothing of a refused resolution was written: stage, outcome, event, document, file."""
    case.refresh_from_db()
    assert (case.stage, case.outcome, case.resolved_at) == ("investigating", {}, None)
    assert not CaseEvent.objects.filter(case=case, kind="resolve").exists()
    assert not CaseDocument.objects.filter(case=case).exists()


def stored_files(media: Any) -> list[Any]:
    return [p for p in media.rglob("*") if p.is_file()]


# The outcomes fit the kind of case.

def test_a_dispute_is_offered_the_agreements_and_a_petition_the_three_answers(cast: Cast) -> None:
    with translation.override("zh-hans"):
        on_dispute = forms.ResolveForm(case=dispute(cast))
        on_petition = forms.ResolveForm(case=petition(cast))
        assert [v for v, _label in on_dispute.fields["outcome"].choices] == ["agreement_written", "agreement_oral"]
        assert [v for v, _label in on_petition.fields["outcome"].choices] == ["supported", "explained", "not_supported"]
        assert "agreement" in on_dispute.fields and "agreement" not in on_petition.fields
        assert on_dispute.is_multipart() and not on_petition.is_multipart()


def test_a_petitions_answer_is_refused_for_a_dispute_by_name(cast: Cast) -> None:
    case = dispute(cast)
    with translation.override("zh-hans"), pytest.raises(InvalidData) as refused:
        step(case, "resolve", cast.mia, AT, outcome="supported", summary="支持。")
    assert list(refused.value.errors) == ["outcome"]
    message = refused.value.errors["outcome"][0]
    assert "第三十二条" in message and "支持信访请求" in message
    unchanged(case)


def test_an_agreement_is_refused_for_a_petition_by_name(cast: Cast) -> None:
    case = petition(cast)
    with translation.override("zh-hans"), pytest.raises(InvalidData) as refused:
        step(case, "resolve", cast.mia, AT, outcome="agreement_oral", summary="口头协议。")
    assert list(refused.value.errors) == ["outcome"]
    assert "第三十二条" in refused.value.errors["outcome"][0]
    unchanged(case)


def test_an_unknown_outcome_is_still_an_unknown_choice(cast: Cast) -> None:
    case = dispute(cast)
    with pytest.raises(InvalidData) as refused:
        step(case, "resolve", cast.mia, AT, outcome="bribe", summary="x")
    assert list(refused.value.errors) == ["outcome"] and "bribe" in refused.value.errors["outcome"][0]
    unchanged(case)


def test_a_petition_is_answered_without_a_document(cast: Cast, media: Any) -> None:
    case = step(petition(cast), "resolve", cast.mia, AT, outcome="not_supported", summary="缺乏事实根据。")
    assert (case.stage, case.outcome["kind"]) == ("resolved", "not_supported")
    assert not CaseDocument.objects.filter(case=case).exists() and not stored_files(media)


# A written agreement comes with its document.

def test_a_written_agreement_without_its_document_is_refused(cast: Cast, media: Any) -> None:
    case = dispute(cast)
    with pytest.raises(InvalidData) as refused:
        step(case, "resolve", cast.mia, AT, outcome="agreement_written", summary="双方和解。")
    assert list(refused.value.errors) == ["agreement"]
    unchanged(case)
    assert not stored_files(media)


def test_a_written_agreement_is_kept_with_the_case_as_its_document(cast: Cast, media: Any) -> None:
    case = services.transition(dispute(cast), "resolve", actor=cast.mia, at=AT,
                               data={"outcome": "agreement_written", "summary": "双方和解。"}, files={"agreement": agreement()})
    assert (case.stage, case.outcome) == ("resolved", {"kind": "agreement_written", "summary": "双方和解。"})
    document = CaseDocument.objects.get(case=case)
    with translation.override("zh-hans"):
        assert document.title == translation.gettext("Mediation agreement")
    assert (document.original_name, document.size, document.uploaded_by, document.uploaded_at) == (
        "调解协议书.pdf", len(PDF), cast.mia, AT)
    with document.file.open("rb") as stored:
        assert stored.read() == PDF
    event = CaseEvent.objects.get(case=case, kind="resolve")
    assert event.data["document"] == document.pk and event.data["agreement"].endswith(".pdf")


def test_the_document_is_kept_only_if_the_resolution_is(cast: Cast, media: Any, monkeypatch: Any) -> None:
    """One transaction: when the resolution fails after the document was written, neither
    the row nor the case's change remains."""
    case = dispute(cast)

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("the audit trail could not be written")

    monkeypatch.setattr(CaseEvent, "save", broken)
    with pytest.raises(RuntimeError):
        services.transition(case, "resolve", actor=cast.mia, at=AT, files={"agreement": agreement()},
                            data={"outcome": "agreement_written", "summary": "双方和解。"})
    monkeypatch.undo()
    unchanged(case)


@pytest.mark.parametrize(("upload", "code"), [
    (lambda: agreement("协议.exe", b"MZ"), "invalid_extension"),
    (lambda: agreement(content=b"x" * (forms.DOCUMENT_MAX_BYTES + 1)), "too_large"),
])
def test_the_agreement_is_checked_as_any_document(cast: Cast, media: Any, upload: Any, code: str) -> None:
    case = dispute(cast)
    form = forms.ResolveForm({"outcome": "agreement_written", "summary": "和解。"}, files={"agreement": upload()},
                            case=case)
    assert not form.is_valid() and form.errors.as_data()["agreement"][0].code == code
    with pytest.raises(InvalidData) as refused:
        services.transition(case, "resolve", actor=cast.mia, at=AT, files={"agreement": upload()},
                            data={"outcome": "agreement_written", "summary": "和解。"})
    assert list(refused.value.errors) == ["agreement"]
    unchanged(case)
    assert not stored_files(media)


def test_an_oral_agreement_needs_no_document_and_takes_none(cast: Cast, media: Any) -> None:
    case = dispute(cast)
    with pytest.raises(InvalidData) as refused:
        services.transition(case, "resolve", actor=cast.mia, at=AT, files={"agreement": agreement()},
                            data={"outcome": "agreement_oral", "summary": "口头协议。"})
    assert list(refused.value.errors) == ["agreement"]
    unchanged(case)
    case = step(case, "resolve", cast.mia, AT, outcome="agreement_oral", summary="口头协议，当场履行。")
    assert case.stage == "resolved" and not CaseDocument.objects.filter(case=case).exists()


def test_the_system_records_a_legacy_ledgers_written_agreement_without_the_paper(cast: Cast) -> None:
    # A ledger says an agreement was signed; its paper is in the archive, not in the import.
    case = services.transition(dispute(cast), "resolve", actor=None, at=AT,
                               data={"outcome": "agreement_written", "summary": "分两期付清。"})
    assert case.outcome["kind"] == "agreement_written" and not CaseDocument.objects.filter(case=case).exists()


# The case page.

def test_the_page_resolves_with_the_agreement_and_lists_it(cast: Cast, client: Any, media: Any) -> None:
    case = dispute(cast)
    client.force_login(cast.mia)
    response = client.post(reverse("desk:case:operate", args=[case.pk, "resolve"]),
                           {"outcome": "agreement_written", "summary": "双方和解。", "agreement": agreement()})
    assert response.status_code == 302
    case.refresh_from_db()
    document = CaseDocument.objects.get(case=case)
    assert case.stage == "resolved" and document.original_name == "调解协议书.pdf"
    html = page(client, cast.olga, reverse("desk:case:detail", args=[case.pk])).content.decode()
    assert f'data-document="{document.pk}"' in html and document.title in html


def test_the_page_refuses_a_written_agreement_without_its_document_beside_the_field(cast: Cast, client: Any) -> None:
    case = dispute(cast)
    client.force_login(cast.mia)
    response = client.post(reverse("desk:case:operate", args=[case.pk, "resolve"]),
                           {"outcome": "agreement_written", "summary": "双方和解。"})
    assert response.status_code == 400
    html = response.content.decode()
    assert '<details open data-operation="resolve">' in html
    form = html[html.index('<details open data-operation="resolve">'):]
    form = form[:form.index("</details>")]
    assert 'enctype="multipart/form-data"' in form and 'name="agreement"' in form
    error = form[form.index('name="agreement"'):]
    with translation.override("zh-hans"):
        wanted = translation.gettext("Attach the signed mediation agreement: a written agreement is recorded with its "
                                     "document.")
    assert 'class="errorlist' in error and wanted in error
    assert "双方和解。" in form  # what was typed is kept
    unchanged(case)


def test_the_page_offers_a_petition_only_the_three_answers(cast: Cast, client: Any) -> None:
    case = petition(cast)
    html = page(client, cast.mia, reverse("desk:case:detail", args=[case.pk])).content.decode()
    form = html[html.index('data-operation="resolve"'):]
    form = form[:form.index("</details>")]
    assert 'name="agreement"' not in form and "multipart" not in form
    assert set(re.findall(r'<option value="([a-z_]+)"', form)) == {"supported", "explained", "not_supported"}
    dispute_html = page(client, cast.mia, reverse("desk:case:detail", args=[dispute(cast).pk])).content.decode()
    dispute_form = dispute_html[dispute_html.index('data-operation="resolve"'):]
    dispute_form = dispute_form[:dispute_form.index("</details>")]
    assert set(re.findall(r'<option value="([a-z_]+)"', dispute_form)) == {
        "agreement_written", "agreement_oral"}


# The API: a JSON body carries no file; multipart/form-data does (tests/api/test_documents_api.py).

def test_the_api_refuses_a_written_agreement_naming_the_file_field(cast: Cast) -> None:
    from tests.api.test_api import API, api

    case = dispute(cast)
    response = api(cast.mia).post(f"{API}/cases/{case.pk}/transitions/resolve/",
                                  {"outcome": "agreement_written", "summary": "双方和解。"}, format="json",
                                  HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid" and list(body["errors"]) == ["agreement"]
    # The form's refusal, and how the door takes a file.
    assert body["errors"]["agreement"] == [
        "Attach the signed mediation agreement: a written agreement is recorded with its document.",
        "A file is sent in a multipart/form-data body."]
    assert "signed mediation agreement: " in body["message"]
    unchanged(case)


def test_the_api_refuses_a_petitions_answer_for_a_dispute_and_resolves_an_oral_agreement(cast: Cast) -> None:
    from tests.api.test_api import API, api

    case = dispute(cast)
    url = f"{API}/cases/{case.pk}/transitions/resolve/"
    refused = api(cast.mia).post(url, {"outcome": "explained", "summary": "已解释。"}, format="json",
                                 HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert refused.status_code == 400 and list(refused.json()["errors"]) == ["outcome"]
    assert "第三十二条" in refused.json()["errors"]["outcome"][0]
    unchanged(case)
    done = api(cast.mia).post(url, {"outcome": "agreement_oral", "summary": "口头协议。"}, format="json")
    assert done.status_code == 200 and done.json()["stage"] == "resolved"


# The other forms' words.

def test_the_document_title_is_not_called_the_cases_title(cast: Cast) -> None:
    case = dispute(cast)
    with translation.override("zh-hans"):
        label = str(forms.DocumentForm(case=case).fields["title"].label)
        assert label != str(Case._meta.get_field("title").verbose_name)
    with translation.override("en"):
        assert str(forms.DocumentForm(case=case).fields["title"].label) == "document title"


def test_the_extension_says_its_unit_and_the_most_allowed(cast: Cast, client: Any) -> None:
    case = petition(cast)  # the handling clock: 60 日, one extension of at most 30 日 (第三十四条)
    handling = case.deadlines.get(kind="handling")
    with translation.override("en"):
        form = forms.ExtensionRequestForm(case=case)
        labels = [label for _value, label in form.fields["deadline"].choices][1:]
        assert labels == [f"{handling} (at most {handling.rule.extension_cap} calendar days)"]
        assert str(form.fields["amount"].label) == "extension (calendar days)"
    with translation.override("zh-hans"):
        shown = text_of(page(client, cast.mia, reverse("desk:case:detail", args=[case.pk])))
        assert f"{handling.rule.extension_cap} 自然日" in shown or f"{handling.rule.extension_cap}个自然日" in shown
