"""The assessment page (issue 15): the title names the scheme's scale once; the weighted
indicators are columns with their weights; the veto items (一票否决) are no 0.00-weight
columns but one pass-or-fail mark per unit, linking the cases that vetoed."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext

from tests.conftest import local, report

pytestmark = pytest.mark.django_db

VETOES = ("major_concealed", "major_group_incident")


def zh(text: str, **params: Any) -> str:
    with translation.override(settings.LANGUAGE_CODE):
        return gettext(text) % params if params else gettext(text)


@pytest.fixture
def page(cast: Any, client: Any, time_machine: Any) -> str:
    """柳林镇's villages assessed for March 2026, seen in April: 东湾村 had a major group
    incident (重大群体性事件) in March, 西岭村 an ordinary dispute."""
    time_machine.move_to(local(2026, 4, 10, 10, 0))
    report(cast, title="重大群体性纠纷", at=local(2026, 3, 5, 9, 0), risk="major", is_group=True, people_involved=60)
    report(cast, actor=cast.bob, village=cast.xiling.pk, title="邻里纠纷", at=local(2026, 3, 6, 9, 0))
    client.force_login(cast.olga)
    response = client.get(reverse("desk:assessment:index"), {"unit": cast.liulin.pk, "period": "2026-03"})
    assert response.status_code == 200
    return response.content.decode()


def heading(html: str) -> str:
    match = re.search(r'<div class="desk-card[^"]*">\s*<h2>(.*?)</h2>', html, flags=re.S)
    assert match
    return re.sub(r"<[^>]+>", "", match.group(1))


def row(html: str, unit: Any) -> str:
    match = re.search(rf'<tr data-unit="{unit.pk}".*?</tr>', html, flags=re.S)
    assert match
    return match.group(0)


def test_the_title_names_the_scale_once(page: str) -> None:
    title = heading(page)
    # The default scheme is named 综治考核（百分制）: the page no longer adds （100 分制）.
    assert "综治考核（百分制）" in title
    assert title.count("分制") == 1 and "100" not in title


def test_weighted_indicators_are_columns_with_their_weights_and_vetoes_are_not(page: str) -> None:
    head = re.search(r"<thead>.*?</thead>", page, flags=re.S).group(0)
    weights = dict(re.findall(r'<th data-indicator="(\w+)"[^>]*>.*?data-weight="([\d.]+)"', head, flags=re.S))
    assert weights == {"acceptance_on_time": "15.00", "completion_on_time": "20.00", "resolution": "25.00",
                       "satisfaction": "15.00", "repeat_petitions": "10.00", "late_returns": "5.00",
                       "missing_returns": "5.00", "concealed": "5.00"}
    # No column weighs nothing: the old page showed the veto items as weights of 0.00.
    assert not re.search(r'data-weight="0(\.0+)?"', head) and not re.search(r"[>\s]0\.00\b", head)
    assert zh("%(weight)s points", weight="25") in head
    for indicator in VETOES:
        assert f'<th data-indicator="{indicator}"' not in head
        assert f'<td data-indicator="{indicator}"' not in page
    assert zh("Veto") in head


def test_each_unit_passes_or_fails_the_veto_items(cast: Any, page: str) -> None:
    vetoed, passed = row(page, cast.dongwan), row(page, cast.xiling)
    assert 'data-veto="vetoed"' in vetoed and 'data-veto="passed"' in passed
    # 东湾村 fails on the major group incident, its case linked; its score is zero.
    fail = re.search(r'<td class="veto"[^>]*>.*?</td>', vetoed, flags=re.S).group(0)
    assert 'data-failed="major_group_incident"' in fail and 'data-failed="major_concealed"' not in fail
    assert zh("Major group incident") in fail and "indicator=major_group_incident" in fail
    assert re.search(r"<strong>0\.00</strong>", vetoed)
    mark = re.search(r'<td class="veto"[^>]*>.*?</td>', passed, flags=re.S).group(0)
    assert zh("no veto") in mark and "data-failed" not in mark


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_in_a_browser_the_assessment_fits_a_phone_and_a_desk(live_server: Any, client: Any, time_machine: Any) -> None:
    from tests.conftest import build_cast
    from tests.desk.test_dashboard_page import SCREENS, WIDTHS, in_browser, require_chromium

    require_chromium()
    time_machine.move_to(local(2026, 4, 10, 10, 0))
    cast = build_cast()
    report(cast, title="重大群体性纠纷", at=local(2026, 3, 5, 9, 0), risk="major", is_group=True, people_involved=60)
    report(cast, actor=cast.bob, village=cast.xiling.pk, title="邻里纠纷", at=local(2026, 3, 6, 9, 0))
    client.force_login(cast.olga)
    url = f"{live_server.url}{reverse('desk:assessment:index')}?unit={cast.liulin.pk}&period=2026-03"
    seen = in_browser(url, client.cookies["sessionid"].value, {"widths": WIDTHS})
    for width, _height, _phone in SCREENS:
        scroll_width, inner_width = seen[width]["widths"]
        assert scroll_width <= width and inner_width == width, (width, scroll_width, inner_width)
