"""复查 on the case page (信访工作条例 第三十五条): the township offers to register the review
request of an answered petition; the county, holding it then, is offered the review
opinion first and open; the page shows the review level and each request and decision."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from cases.models import Case
from tests.conftest import PETITION, Cast, report, step
from tests.desk.test_case_page_operations import shown

pytestmark = pytest.mark.django_db


def test_the_page_registers_and_decides_a_review(cast: Cast, client: Any) -> None:
    # The page acts now: the petition was answered hours ago, inside the 30 days.
    now = timezone.now()
    case = report(cast, at=now - timedelta(hours=5), **PETITION)
    step(case, "accept", cast.olga, now - timedelta(hours=4), assignee=cast.mia.pk, lead_department=cast.justice.pk)
    step(case, "resolve", cast.mia, now - timedelta(hours=3), outcome="not_supported", summary="不予支持。")

    client.force_login(cast.olga)
    html = client.get(reverse("desk:case:detail", args=[case.pk])).content.decode()
    assert "request_review" in [name for name, _open in shown(html)]
    assert 'class="review-level"' not in html
    response = client.post(reverse("desk:case:operate", args=[case.pk, "request_review"]),
                           {"reason": "信访人不服处理意见。"})
    assert response.status_code == 302
    assert Case.objects.get(pk=case.pk).review_level == 1

    client.force_login(cast.cora)
    html = client.get(reverse("desk:case:detail", args=[case.pk])).content.decode()
    assert 'class="review-level"' in html and "复查" in html.split('class="review-level"', 1)[1][:200]
    offered = shown(html)
    assert offered[0] == ("decide_review", True) and "resolve" not in [name for name, _open in offered]
    assert html.count('data-review-level="1"') == 1 and "信访人不服处理意见。" in html
    response = client.post(reverse("desk:case:operate", args=[case.pk, "decide_review"]),
                           {"decision": "changed", "outcome": "supported", "opinion": "经复查，予以支持。"})
    assert response.status_code == 302
    html = client.get(reverse("desk:case:detail", args=[case.pk])).content.decode()
    assert html.count('data-review-level="1"') == 2 and "经复查，予以支持。" in html
