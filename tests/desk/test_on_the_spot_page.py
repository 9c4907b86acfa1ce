"""The intake page's two roads beside the main one: 当场调解 (settled on the spot, registered
resolved with its agreement) for those who may settle, and the village committee's own
dispute (小事不出村). Assertions on what the database holds afterwards."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from cases.models import Case, CaseDocument, CaseEvent
from tests.desk.test_pages import intake_post, page
from workflow.models import Deadline

pytestmark = pytest.mark.django_db
INTAKE = "desk:intake:index"


@pytest.fixture(autouse=True)
def media(settings: Any, tmp_path: Any) -> Any:
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def settled(cast: Any, **overrides: Any) -> dict[str, Any]:
    return intake_post(village=cast.dongwan.pk, **{
        "settlement-on_the_spot": "on", "settlement-lead_department": cast.justice.pk,
        "settlement-outcome": "agreement_oral", "settlement-summary": "双方当场同意改走排水沟。", **overrides})


def test_the_settlement_is_offered_to_those_who_may_settle(cast: Any, client: Any) -> None:
    html = page(client, cast.olga, reverse(INTAKE)).content.decode()
    assert 'enctype="multipart/form-data"' in html and 'name="settlement-on_the_spot"' in html
    departments = re.search(r'<select name="settlement-lead_department".*?</select>', html, re.S).group()
    assert f'value="{cast.justice.pk}"' in departments and f'value="{cast.labour_bureau.pk}"' in departments
    assert 'name="settlement-on_the_spot"' not in page(client, cast.alice, reverse(INTAKE)).content.decode()


def test_an_officer_registers_a_dispute_settled_on_the_spot(cast: Any, client: Any) -> None:
    client.force_login(cast.olga)
    response = client.post(reverse(INTAKE), settled(cast))
    case = Case.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("desk:case:detail", args=[case.pk])
    assert (case.stage, case.assignee, case.outcome["kind"]) == ("resolved", cast.olga, "agreement_oral")
    assert list(CaseEvent.objects.filter(case=case).order_by("at", "pk").values_list("kind", flat=True)) == [
        "report", "accept", "start_mediation", "resolve"]
    assert Deadline.objects.open().filter(case=case).get().kind == "follow_up"


def test_a_written_agreement_is_uploaded_with_it(cast: Any, client: Any) -> None:
    client.force_login(cast.olga)
    signed = SimpleUploadedFile("调解协议书.pdf", b"%PDF-1.4 signed", content_type="application/pdf")
    response = client.post(reverse(INTAKE), settled(cast, **{"settlement-outcome": "agreement_written",
                                                            "settlement-agreement": signed}))
    assert response.status_code == 302
    assert CaseDocument.objects.get().original_name == "调解协议书.pdf"
    assert Case.objects.get().outcome["kind"] == "agreement_written"


def test_a_settlement_missing_its_agreement_is_refused_beside_its_fields(cast: Any, client: Any) -> None:
    client.force_login(cast.olga)
    response = client.post(reverse(INTAKE), settled(cast, **{"settlement-outcome": "agreement_written",
                                                            "settlement-summary": "双方和解。"}))
    assert response.status_code == 200
    html = response.content.decode()
    field = re.search(r'<div class="field[^"]*has-error[^"]*">(?:(?!<div class="field).)*settlement-agreement',
                      html, re.S)
    assert field is not None
    assert "双方和解。" in html  # kept as typed
    assert not Case.objects.exists() and not CaseEvent.objects.exists()


def test_ticking_nothing_registers_as_before(cast: Any, client: Any) -> None:
    client.force_login(cast.olga)
    response = client.post(reverse(INTAKE), settled(cast, **{"settlement-on_the_spot": ""}))
    assert response.status_code == 302 and Case.objects.get().stage == "reported"


def test_a_village_worker_registers_for_the_village_committee(cast: Any, client: Any) -> None:
    client.force_login(cast.alice)
    html = client.get(reverse(INTAKE)).content.decode()
    assert re.search(r'data-kind-only="dispute">\s*<input type="checkbox" name="village_mediation"', html)
    response = client.post(reverse(INTAKE), intake_post(village=cast.dongwan.pk, village_mediation="on"))
    assert response.status_code == 302
    assert Case.objects.get().responsible_unit == cast.dongwan
    refused = client.post(reverse(INTAKE), intake_post(
        village=cast.dongwan.pk, village_mediation="on", kind="petition", petition_type="claim", title="信访事项",
        repeats_seen="1"))
    assert refused.status_code == 200 and Case.objects.count() == 1
    assert re.search(r'has-error[^"]*"[^>]*>\s*<input type="checkbox" name="village_mediation"',
                     refused.content.decode())
