"""The case page of issue 18's follow-through: the agreement's performance and visits, the
judicial confirmation's status, the visit recorded from the page and the closing visit
refused with its reason while the agreement is not performed."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from cases.models import Case
from tests.conftest import Cast, accept, local, report, resolve, step
from workflow import services
from workflow.models import FollowUpVisit

pytestmark = pytest.mark.django_db


def resolved(cast: Cast, outcome: str = "agreement_oral") -> Case:
    case = accept(cast, report(cast), local(2026, 3, 3, 9))
    if outcome == "agreement_oral":
        return resolve(cast, case, local(2026, 3, 10, 16))
    # Written, as the system records it from a ledger: no file to keep.
    return services.transition(case, "resolve", actor=None, at=local(2026, 3, 10, 16),
                               data={"outcome": outcome, "summary": "书面协议。"})


def page(client: Any, user: Any, case: Case) -> str:
    client.force_login(user)
    response = client.get(reverse("desk:case:detail", args=[case.pk]))
    assert response.status_code == 200
    return response.content.decode()


def test_a_visit_is_recorded_from_the_page_and_shown(cast: Cast, client: Any) -> None:
    case = resolved(cast)
    html = page(client, cast.olga, case)
    assert 'class="desk-card follow-through"' in html and 'data-performed="no"' in html
    assert 'data-operation="record_visit"' in html and 'data-operation="apply_confirmation"' not in html
    response = client.post(reverse("desk:case:operate", args=[case.pk, "record_visit"]),
                           {"record": "第一期租金已付。", "performance": "partly"})
    assert response.status_code == 302
    assert FollowUpVisit.objects.get(case=case).performance == "partly"
    html = page(client, cast.olga, case)
    assert 'class="visit"' in html and "第一期租金已付。" in html


def test_the_closing_visit_is_refused_on_the_page_with_its_reason(cast: Cast, client: Any) -> None:
    case = step(resolved(cast), "record_visit", cast.mia, local(2026, 3, 18, 10), record="未付。", performance="not_yet")
    client.force_login(cast.olga)
    response = client.post(reverse("desk:case:operate", args=[case.pk, "follow_up"]),
                           {"record": "回访。", "satisfaction": "satisfied"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 409
    assert 'class="problem"' in response.content.decode()
    assert Case.objects.get(pk=case.pk).stage == "resolved"


def test_the_judicial_confirmation_status_is_shown(cast: Cast, client: Any) -> None:
    case = resolved(cast, "agreement_written")
    html = page(client, cast.olga, case)
    assert 'data-operation="apply_confirmation"' in html and 'class="confirmation"' not in html
    step(case, "apply_confirmation", cast.olga, local(2026, 3, 20, 10), court="青阳县人民法院", applied_on="2026-03-20")
    html = page(client, cast.olga, case)
    assert 'data-result="pending"' in html and "青阳县人民法院" in html
    assert 'data-operation="record_confirmation"' in html and 'data-operation="follow_up"' not in html
    step(case, "record_confirmation", cast.mia, local(2026, 3, 30, 10), result="rejected",
         ruling_number="（2026）青民特1号", ruled_on="2026-03-30")
    html = page(client, cast.olga, case)
    assert 'data-result="rejected"' in html and "（2026）青民特1号" in html
    assert 'data-operation="reopen"' in html and 'data-operation="refer"' in html


def test_a_petition_shows_no_follow_through(cast: Cast, client: Any) -> None:
    case = step(accept(cast, report(cast, kind="petition", petition_type="claim", category="land_acquisition",
                                    source="visit")), "resolve", cast.mia, local(2026, 3, 10, 16),
                outcome="explained", summary="已解释。")
    assert 'follow-through' not in page(client, cast.olga, case)
