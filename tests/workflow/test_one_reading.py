"""A person's memberships are read once per request (workflow.permissions.one_reading,
opened by config.middleware): a page asks the rule of reach a dozen questions about the
same person. A membership written meanwhile is seen; outside a request nothing is kept."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cases.models import Membership, Role
from workflow.permissions import may_supervise, memberships_of, one_reading, units_reached, visible_to

pytestmark = pytest.mark.django_db


def _reads_of_memberships(statements: CaptureQueriesContext, user: Any) -> list[str]:
    return [q["sql"] for q in statements.captured_queries
            if 'FROM "cases_membership"' in q["sql"] and f'"cases_membership"."user_id" = {user.pk}' in q["sql"]]


def test_within_one_reading_the_memberships_are_read_once(cast: Any) -> None:
    with one_reading(), CaptureQueriesContext(connection) as statements:
        visible_to(cast.olga).count()
        may_supervise(cast.olga)
        visible_to(cast.olga).count()
    assert len(_reads_of_memberships(statements, cast.olga)) == 1


def test_a_membership_written_within_the_reading_is_seen(cast: Any) -> None:
    with one_reading():
        assert not may_supervise(cast.olga)
        Membership.objects.create(user=cast.olga, unit=cast.liulin, role=Role.SUPERVISOR)
        assert may_supervise(cast.olga)
        Membership.objects.filter(user=cast.olga, role=Role.SUPERVISOR).delete()
        assert not may_supervise(cast.olga)
        assert [m.role for m in memberships_of(cast.olga)] == [Role.OFFICER]


def test_outside_a_reading_every_question_reads_them_anew(cast: Any) -> None:
    with CaptureQueriesContext(connection) as statements:
        may_supervise(cast.olga)
        may_supervise(cast.olga)
    assert len(_reads_of_memberships(statements, cast.olga)) == 2


def test_a_page_reads_the_persons_memberships_once(cast: Any, client: Any) -> None:
    client.force_login(cast.olga)
    with CaptureQueriesContext(connection) as statements:
        response = client.get("/desk/queue/")
    assert response.status_code == 200
    assert len(_reads_of_memberships(statements, cast.olga)) == 1


def test_the_roles_asked_for_may_come_as_any_iterable(cast: Any) -> None:
    Membership.objects.create(user=cast.olga, unit=cast.taoyuan, role=Role.OFFICER)
    asked = set(units_reached(cast.olga, (role for role in [Role.OFFICER])).values_list("pk", flat=True))
    assert {cast.liulin.pk, cast.taoyuan.pk} <= asked
