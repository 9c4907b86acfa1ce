"""The queue's listings read a page without sorting the whole selection (issue 7,
tests/bench/queue.py): they must give exactly the rows, in exactly the order, that the
plain sort gives, whichever way they take (the window of earliest deadlines or the
sort), for broad and narrow selections, ties, several open clocks per case, paused
clocks and cases without any; and the quicker select must write Django's markup."""

from __future__ import annotations

from typing import Any

import pytest
from django import forms
from django.db.models import F
from django.utils.translation import gettext_lazy

from cases.models import Case, OrgUnit
from desk.queue import ListedSelect
from tests.conftest import PETITION, local, report
from workflow import services
from workflow.models import Deadline
from workflow.permissions import visible_to
from workflow.queues import Listing, NearestDueFirst, risk_rank, with_listing

pytestmark = pytest.mark.django_db


@pytest.fixture
def spread(cast: Any) -> list[Case]:
    """Disputes and petitions in both townships' villages: several reported at the same
    minute (their clocks tie), petitions reported together, a major case with two clocks
    (acceptance, and reporting upward within hours), accepted ones, a paused clock, and
    closed cases without any."""
    cases = []
    for i in range(12):
        village = (cast.dongwan, cast.xiling)[i % 2]
        cases.append(report(cast, actor=cast.olga, title=f"纠纷{i}", village=village.pk,
                            at=local(2026, 3, 2 + i // 3, 9)))
    cases.append(report(cast, actor=cast.nina, village=cast.nanshan.pk, at=local(2026, 3, 2, 9)))
    cases += [report(cast, **{**PETITION, "title": f"信访{i}"}, village=cast.dongwan.pk, at=local(2026, 3, 3, 10))
              for i in range(3)]
    cases.append(report(cast, title="重大纠纷", risk="major", at=local(2026, 3, 4, 15)))
    for case in cases[:4]:
        services.transition(case, "accept", actor=cast.olga, at=local(2026, 3, 6, 9),
                            data={"assignee": cast.mia.pk, "lead_department": cast.justice.pk})
    clock = Deadline.objects.get(case=cases[1], met_at__isnull=True)
    services.transition(cases[1], "pause_deadline", actor=cast.olga, at=local(2026, 3, 7, 9),
                        data={"deadline": clock.pk, "reason": "等待鉴定"})
    for case in cases[4:6]:
        services.transition(case, "withdraw", actor=cast.olga, at=local(2026, 3, 8, 9), data={"reason": "撤回"})
    return cases


def by_nearest_due(cases: Any) -> list[int]:
    return list(with_listing(cases).order_by(F("next_due_at").asc(nulls_last=True), "pk")
                .values_list("pk", flat=True))


SLICES = [(0, 1), (0, 2), (0, 5), (1, 3), (2, 7), (5, 10), (10, 15), (14, 20), (0, 30), (19, 25)]


@pytest.mark.parametrize("who", ["carl", "sam", "olga", "alice", "bob", "nina", "lena"])
def test_nearest_due_first_pages_as_the_plain_sort_does(cast: Any, spread: list[Case], who: str,
                                                        monkeypatch: Any) -> None:
    user = getattr(cast, who)
    # Every selection through the windows, as a large one would go.
    monkeypatch.setattr(NearestDueFirst, "FEW", 0)
    for cases in (visible_to(user), visible_to(user).open(),
                  visible_to(user).filter(kind="petition")):
        expected = by_nearest_due(cases)
        listing = NearestDueFirst(cases)
        assert listing.count() == len(expected)
        for start, stop in SLICES:
            page = listing[start:stop]
            assert [c.pk for c in page] == expected[start:stop], (who, start, stop)
            # With what the list shows of each row.
            assert all(hasattr(c, "next_due_at") and hasattr(c, "overdue") for c in page)


def test_the_window_serves_a_broad_selection_and_gives_way_for_a_narrow_one(cast: Any, spread: list[Case]) -> None:
    everything = NearestDueFirst(visible_to(cast.carl))
    assert everything.from_window(0, 2, 16)[0] == by_nearest_due(visible_to(cast.carl))[:2]
    # Nina's village holds one case: the window of the county's earliest deadlines cannot
    # fill a page of two for her, and the sort does.
    hers = NearestDueFirst(visible_to(cast.nina))
    assert hers.from_window(0, 2, 16)[0] is None
    assert [c.pk for c in hers[0:2]] == by_nearest_due(visible_to(cast.nina))[:2]


def test_a_case_with_two_clocks_is_listed_once_at_its_earliest(cast: Any, spread: list[Case]) -> None:
    major = spread[16]
    assert Deadline.objects.filter(case=major, met_at__isnull=True).count() == 2
    ids = [c.pk for c in NearestDueFirst(visible_to(cast.carl))[0:30]]
    assert ids.count(major.pk) == 1


@pytest.mark.parametrize("order", [["-reported_at"], ["reported_at"], ["number"], ["-risk_rank"]])
def test_the_other_sorts_page_as_the_plain_sort_does(cast: Any, spread: list[Case], order: list[str]) -> None:
    cases = visible_to(cast.sam)
    expected = list(cases.annotate(risk_rank=risk_rank()).order_by(*order, "pk").values_list("pk", flat=True))
    listing = Listing(cases, order, risk_rank=risk_rank())
    for start, stop in SLICES:
        assert [c.pk for c in listing[start:stop]] == expected[start:stop]


def test_a_case_moved_on_between_the_two_reads_is_left_out_of_the_page(cast: Any, spread: list[Case],
                                                                       monkeypatch: Any) -> None:
    reported = visible_to(cast.olga).filter(stage="reported")
    listing = Listing(reported, ["reported_at"])
    chosen = listing.page_ids(0, 3)
    moved = Case.objects.get(pk=chosen[1])

    def then_someone_accepts(start: int, stop: int) -> list[int]:
        # Another officer accepts the second case after the page's ids were chosen.
        services.transition(moved, "accept", actor=cast.olga,
                            data={"assignee": cast.mia.pk, "lead_department": cast.justice.pk})
        return chosen

    monkeypatch.setattr(listing, "page_ids", then_someone_accepts)
    page = listing[0:3]
    assert Case.objects.get(pk=moved.pk).stage == "investigating"
    assert [c.pk for c in page] == [chosen[0], chosen[2]]


def choices_form(widget: Any) -> type[forms.Form]:
    class Choices(forms.Form):
        unit = forms.ModelChoiceField(queryset=OrgUnit.objects.order_by("path"), required=False,
                                      empty_label=gettext_lazy("all units"), widget=widget)
        village = forms.ModelChoiceField(queryset=OrgUnit.objects.order_by("path"), widget=widget,
                                         help_text="村（社区）")

    return Choices


@pytest.mark.parametrize("value", [None, "", "own", "999999", "<script>"])
def test_the_listed_select_writes_what_djangos_select_writes(cast: Any, value: Any) -> None:
    # A unit whose name needs escaping, and the value chosen among them.
    odd = OrgUnit.objects.create(code="QY-X", name='李"家"<村> & 店', level=OrgUnit.Level.VILLAGE, parent=cast.liulin)
    chosen = odd.pk if value == "own" else value
    plain, listed = (choices_form(widget)({"unit": chosen, "village": chosen}) for widget in (forms.Select, ListedSelect))
    plain.is_valid(), listed.is_valid()
    # Optional and required, valid and in error (Django adds aria attributes then).
    for name in ("unit", "village"):
        assert str(listed[name]) == str(plain[name])
