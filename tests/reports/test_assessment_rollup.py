"""The assessment page scores from the rollup of the counts where it can (issue 16): the
same figures as read from the cases, and its links read the cases of one unit's figure
when followed."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse

from reports.assessment import assess
from tests.conftest import accept, local, report, resolve, step
from workflow import services

pytestmark = pytest.mark.django_db
AT = local(2026, 5, 1, 9)


@pytest.fixture
def spring(cast: Any) -> dict[str, Any]:
    """In both townships: accepted on time and resolved, accepted late, never accepted and
    fallen due, a petition, cases of another month, and one accusing the township."""
    on_time = report(cast, at=local(2026, 3, 2, 9), title="按时受理")
    accept(cast, on_time, local(2026, 3, 3, 9))
    resolve(cast, on_time, local(2026, 3, 10, 9))
    late = report(cast, actor=cast.bob, village=cast.xiling.pk, at=local(2026, 3, 2, 9), title="超期受理")
    accept(cast, late, local(2026, 3, 9, 9))
    waiting = report(cast, at=local(2026, 3, 20, 9), title="未受理")
    petition = report(cast, kind="petition", petition_type="claim", at=local(2026, 4, 7, 9), title="信访")
    accusing = report(cast, kind="petition", petition_type="accusation", at=local(2026, 3, 5, 9),
                      title="检举镇政府", accused_unit=cast.liulin.pk)
    elsewhere = report(cast, actor=cast.nina, village=cast.nanshan.pk, at=local(2026, 3, 3, 9), title="南山")
    services.transition(elsewhere, "withdraw", actor=cast.owen, data={"reason": "和解。"}, at=local(2026, 3, 4, 9))
    february = report(cast, at=local(2026, 2, 20, 9), title="二月")
    # A follow-up visit in March, one satisfied and one not; a repeat petition; a major
    # group incident.
    for title, satisfaction in (("满意", "satisfied"), ("不满意", "unsatisfied")):
        visited = report(cast, actor=cast.bob, village=cast.xiling.pk, at=local(2026, 3, 9, 9), title=title)
        accept(cast, visited, local(2026, 3, 9, 11))
        resolve(cast, visited, local(2026, 3, 10, 9))
        step(visited, "follow_up", cast.olga, local(2026, 3, 16, 9), record="回访。", satisfaction=satisfaction)
    repeat = report(cast, kind="petition", petition_type="claim", is_repeat=True, at=local(2026, 3, 11, 9),
                    title="重复信访")
    report(cast, actor=cast.bob, village=cast.xiling.pk, at=local(2026, 3, 12, 9), risk="major", is_group=True,
           people_involved=60, title="群体性事件")
    return {"on_time": on_time, "late": late, "waiting": waiting, "petition": petition, "accusing": accusing,
            "february": february, "repeat": repeat}


@pytest.mark.parametrize(("parent", "period"), [("liulin", "2026-03"), ("liulin", "2026-H1"), ("county", "2026"),
                                                ("county", "2026-04")])
def test_the_numbers_alone_are_the_figures_the_cases_give(cast, spring, parent, period):
    from_cases = assess(getattr(cast, parent), period, at=AT)
    rolled = assess(getattr(cast, parent), period, at=AT, cases=False)
    assert [u.unit for u in rolled.units] == [u.unit for u in from_cases.units]
    seen = set()
    for by_cases, by_rollup in zip(from_cases.units, rolled.units, strict=True):
        for expected, got in zip(by_cases.figures, by_rollup.figures, strict=True):
            assert (got.indicator, got.counted, got.hits, got.points) == (
                expected.indicator, expected.counted, expected.hits, expected.points)
            seen.add((expected.counted, expected.hits))
        assert (by_rollup.score, by_rollup.rank, by_rollup.warned) == (by_cases.score, by_cases.rank, by_cases.warned)
    # Not all nothing: the comparison compared figures.
    assert any(counted for counted, _ in seen)


def test_a_link_of_the_page_opens_the_cases_of_that_figure(cast, spring, client, time_machine):
    time_machine.move_to(AT)
    client.force_login(cast.sam)
    page = reverse("desk:assessment:index")
    html = client.get(page, {"unit": cast.liulin.pk, "period": "2026-03"}).content.decode()
    drill = reverse("desk:assessment:cases")
    query = {"unit": cast.liulin.pk, "period": "2026-03", "of": cast.dongwan.pk, "indicator": "acceptance_on_time"}
    assert drill in html
    counted = client.get(drill, query)
    hits = client.get(drill, {**query, "hit": "1"})
    assert counted.status_code == hits.status_code == 302

    def ids(response: Any) -> set[int]:
        return {int(i) for i in parse_qs(urlsplit(response["Location"]).query)["ids"][0].split(",")}

    # 东湾村 in March: accepted on time; never accepted (or registered) and fallen due. The
    # petition accusing the township is not the township's own.
    assert ids(counted) == {spring["on_time"].pk, spring["waiting"].pk, spring["repeat"].pk}
    assert ids(hits) == {spring["on_time"].pk}


@pytest.mark.parametrize("asked", [
    lambda cast: {"of": 999999, "indicator": "acceptance_on_time"},         # no such unit
    lambda cast: {"of": cast.nanshan.pk, "indicator": "acceptance_on_time"},  # another township's village
    lambda cast: {"of": cast.liulin.pk, "indicator": "acceptance_on_time"},   # the township itself
    lambda cast: {"of": cast.dongwan.pk, "indicator": "no_such_indicator"},
    lambda cast: {"of": "x", "indicator": "acceptance_on_time"},
    lambda cast: {"of": cast.dongwan.pk},
])
def test_a_link_the_page_does_not_show_is_not_found(cast, spring, client, asked):
    client.force_login(cast.sam)
    response = client.get(reverse("desk:assessment:cases"),
                          {"unit": cast.liulin.pk, "period": "2026-03", **asked(cast)})
    assert response.status_code == 404


def test_someone_who_reviews_nothing_is_refused(cast, client):
    client.force_login(cast.alice)
    response = client.get(reverse("desk:assessment:cases"), {"of": cast.dongwan.pk, "indicator": "resolution"})
    assert response.status_code == 403
