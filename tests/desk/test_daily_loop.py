"""The daily loop as people live it (issue 15): what the intake takes and how it says no,
and times shown in Beijing time wherever a deadline is offered for choosing."""

from __future__ import annotations

import re
from datetime import UTC
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from cases.forms import SUMMARY_MAX
from cases.models import Case
from tests.conftest import DISPUTE, PARTIES, Cast
from tests.desk.test_pages import intake_post, text_of
from tests.workflow.test_permissions import investigating
from workflow import services
from workflow.errors import InvalidData
from workflow.models import Deadline

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("amount", ["-100", "-0.01"])
def test_a_negative_amount_is_refused_at_the_page_and_the_service(cast: Cast, client: Any, amount: str) -> None:
    client.force_login(cast.alice)
    response = client.post(reverse("desk:intake:index"), intake_post(village=cast.dongwan.pk, amount=amount))
    assert response.status_code == 200
    assert "金额不能为负数" in text_of(response)
    with pytest.raises(InvalidData) as refused:
        services.report_case(actor=cast.alice, data={**DISPUTE, "village": cast.dongwan.pk, "amount": amount},
                             parties=PARTIES)
    assert list(refused.value.errors) == ["amount"]
    assert not Case.objects.exists()


def test_a_summary_past_its_limit_is_refused_and_the_page_says_the_limit(cast: Cast, client: Any) -> None:
    client.force_login(cast.alice)
    page = client.get(reverse("desk:intake:index")).content.decode()
    assert re.search(rf'<textarea name="summary"[^>]*maxlength="{SUMMARY_MAX}"', page)
    response = client.post(reverse("desk:intake:index"),
                           intake_post(village=cast.dongwan.pk, summary="长" * (SUMMARY_MAX + 1)))
    assert response.status_code == 200 and f"最多 {SUMMARY_MAX} 个字" in text_of(response)
    assert not Case.objects.exists()
    response = client.post(reverse("desk:intake:index"), intake_post(village=cast.dongwan.pk, summary="长" * SUMMARY_MAX))
    assert response.status_code == 302
    assert len(Case.objects.get().summary) == SUMMARY_MAX


def test_a_registration_without_a_party_is_told_so_in_plain_words(cast: Cast, client: Any) -> None:
    client.force_login(cast.alice)
    data = {k: v for k, v in intake_post(village=cast.dongwan.pk).items() if not k.startswith("parties-")}
    data.update({"parties-TOTAL_FORMS": "0", "parties-INITIAL_FORMS": "0"})
    response = client.post(reverse("desk:intake:index"), data)
    text = text_of(response)
    assert "请至少填写 1 名当事人" in text and "表单" not in text
    assert not Case.objects.exists()


def repeats_card(response: Any) -> str:
    """The card listing the cases a party of the new one is already in."""
    card = re.search(r'<div class="desk-card repeats">.*?</table>', response.content.decode(), re.S)
    assert card, "the page lists the earlier cases"
    return re.sub(r"<[^>]+>", " ", card.group())


def test_a_dispute_with_a_known_party_is_not_called_a_repeat_petition(cast: Cast, client: Any) -> None:
    services.report_case(actor=cast.alice, data={**DISPUTE, "village": cast.dongwan.pk}, parties=PARTIES)
    client.force_login(cast.alice)
    dispute = repeats_card(client.post(reverse("desk:intake:index"), intake_post(village=cast.dongwan.pk)))
    assert "可能重复登记" in dispute and "重复信访" not in dispute
    petition = repeats_card(client.post(reverse("desk:intake:index"), intake_post(
        village=cast.dongwan.pk, kind="petition", petition_type="claim")))
    assert "重复信访" in petition
    assert Case.objects.count() == 1


def test_the_deadlines_offered_for_a_pause_read_in_beijing_time(cast: Cast, client: Any) -> None:
    case = investigating(cast)
    clock = Deadline.objects.open().filter(case=case).first()
    client.force_login(cast.mia)
    page = client.get(reverse("desk:case:detail", args=[case.pk])).content.decode()
    options = re.findall(r'<option value="%d"[^>]*>([^<]*)</option>' % clock.pk, page)
    assert options, "the pause form offers the clock"
    beijing = timezone.localtime(clock.due_at).strftime("%Y-%m-%d %H:%M")
    utc = clock.due_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M")
    assert beijing != utc
    assert all(beijing in option and utc not in option for option in options)
