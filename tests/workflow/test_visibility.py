"""One selection of what a user may see, and it agrees with the per-case check."""

from __future__ import annotations

import pytest

from cases.models import Case
from tests.conftest import local, report
from workflow import services
from workflow.permissions import VIEW, grants_for, visible_to

pytestmark = pytest.mark.django_db


@pytest.fixture
def cases(cast):
    dongwan = report(cast, title="东湾村纠纷")
    xiling = report(cast, actor=cast.bob, village=cast.xiling.pk, title="西岭村纠纷")
    nanshan = report(cast, actor=cast.nina, village=cast.nanshan.pk, title="南山村纠纷")
    county = report(cast, actor=cast.cora, village="", responsible_unit=cast.county.pk, title="县级纠纷")
    services.transition(xiling, "accept", actor=cast.olga, at=local(2026, 3, 3, 9),
                        data={"assignee": cast.pete.pk, "lead_department": cast.police.pk})
    return {"dongwan": dongwan, "xiling": xiling, "nanshan": nanshan, "county": county}


def seen(user, cases):
    visible = set(visible_to(user).values_list("pk", flat=True))
    return {name for name, case in cases.items() if case.pk in visible}


@pytest.mark.parametrize(
    "username, expected",
    [
        ("alice", {"dongwan"}),  # a village worker sees her village only
        ("bob", {"xiling"}),
        ("nina", {"nanshan"}),
        ("mia", {"dongwan", "xiling"}),  # the township's mediators, its cases
        ("olga", {"dongwan", "xiling"}),
        ("sam", {"dongwan", "xiling"}),
        ("vic", {"dongwan", "xiling"}),
        ("owen", {"nanshan"}),
        ("cora", {"dongwan", "xiling", "nanshan", "county"}),  # the county reads its subtree
        ("carl", {"dongwan", "xiling", "nanshan", "county"}),  # supervisors see the subtree
        ("pete", {"xiling"}),  # a department sees what it leads, and its assignee's case
        ("lena", set()),
        ("hans", set()),
    ],
)
def test_each_member_sees_exactly_their_reach(cast, cases, username, expected):
    assert seen(getattr(cast, username), cases) == expected


def test_the_list_and_the_per_case_check_agree(cast, cases):
    for user in cast.users.values():
        listed = seen(user, cases)
        checked = {name for name, case in cases.items()
                   if VIEW in grants_for(user, Case.objects.select_related("responsible_unit", "village").get(pk=case.pk))}
        assert listed == checked, user.username


def test_inactive_and_anonymous_users_see_nothing(cast, cases):
    from django.contrib.auth.models import AnonymousUser

    cast.olga.is_active = False
    cast.olga.save()
    assert seen(cast.olga, cases) == set()
    assert seen(AnonymousUser(), cases) == set()


def test_the_listing_costs_a_fixed_number_of_queries(cast, cases, django_assert_max_num_queries):
    with django_assert_max_num_queries(2):
        list(visible_to(cast.carl))
