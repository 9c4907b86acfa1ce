"""The isolation matrix (docs/architecture.md: the rule of reach): every role against cases of their own village,
another village, another township, the unit above, a department's, and 检举控告 aimed
at their unit (信访工作条例 第三十条: never shown to the unit accused) — through every
door: case page and its forms, queue (list and search), workbench, board, API (detail,
list, events, transitions), ledger export, admin. Out of reach: 404 on a detail, absent
from a list. The WebSocket is checked at the bottom: nobody hears another's alerts.

The expected table is written out below; each cell is one parametrised test."""

from __future__ import annotations

import io
from typing import Any

import openpyxl
import pytest
from asgiref.sync import async_to_sync
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from cases.models import Case, CaseEvent, PersonalDataAccess
from reports.ledgers import ledger_response
from tests.conftest import PARTIES, PETITION, Cast, build_cast, local, report, token_for
from workflow import services

# Rows: one person per role (and the county supervisor above them all).
# Columns, the cases (all built through workflow.services):
#   dongwan           dispute in 东湾村 (alice's village), held by 柳林镇
#   xiling_police     dispute in 西岭村 (another village of 柳林镇), led by 柳林派出所 (pete's department)
#   nanshan           dispute in 南山村, another township's village (桃源镇)
#   county            a case of the unit above: registered and held by 青阳县, no village
#   accuses_township  检举控告 against 柳林镇, from 东湾村, handled by the county
#   accuses_police    检举控告 against 柳林派出所, from 西岭村, handled by 柳林镇
EXPECTED = """
            dongwan  xiling_police  nanshan  county  accuses_township  accuses_police
alice       yes      -              -        -       -                 -
mia         yes      yes            -        -       -                 yes
olga        yes      yes            -        -       -                 yes
sam         yes      yes            -        -       -                 yes
pete        -        yes            -        -       -                 -
vic         yes      yes            -        -       -                 yes
carl        yes      yes            yes      yes     yes               yes
"""
ROLES = {"alice": "reporter", "mia": "mediator", "olga": "officer", "sam": "supervisor", "pete": "liaison",
         "vic": "viewer", "carl": "supervisor (county)"}


def table() -> dict[tuple[str, str], bool]:
    header, *rows = [line.split() for line in EXPECTED.strip().splitlines()]
    return {(row[0], case): mark == "yes" for row in rows for case, mark in zip(header, row[1:], strict=True)}


CELLS = sorted(table().items())


def build_cases(cast: Cast) -> dict[str, Case]:
    accept = {"assignee": cast.mia.pk}
    dongwan = report(cast)
    xiling = report(cast, actor=cast.bob, village=cast.xiling.pk, title="西岭村宅基地纠纷")
    services.transition(xiling, "accept", actor=cast.olga, at=local(2026, 3, 3, 9),
                        data={**accept, "lead_department": cast.police.pk})
    nanshan = report(cast, actor=cast.nina, village=cast.nanshan.pk, title="南山村劳资纠纷")
    county = services.report_case(
        actor=cast.cora, at=local(2026, 3, 2, 10), parties=PARTIES, repeats_seen=True,
        data={**PETITION, "village": "", "responsible_unit": cast.county.pk, "title": "县级信访"})
    accusation = {**PETITION, "petition_type": "accusation", "title": "检举控告", "source": "letter"}
    accuses_township = services.report_case(
        actor=cast.cora, at=local(2026, 3, 2, 11), parties=PARTIES, repeats_seen=True,
        data={**accusation, "village": cast.dongwan.pk, "responsible_unit": cast.county.pk,
              "accused_unit": cast.liulin.pk})
    accuses_police = services.report_case(
        actor=cast.olga, at=local(2026, 3, 2, 12), parties=PARTIES, repeats_seen=True,
        data={**accusation, "village": cast.xiling.pk, "responsible_unit": cast.liulin.pk,
              "accused_unit": cast.police.pk})
    return {"dongwan": dongwan, "xiling_police": Case.objects.get(pk=xiling.pk), "nanshan": nanshan,
            "county": county, "accuses_township": accuses_township, "accuses_police": accuses_police}


@pytest.fixture
def world(cast: Cast) -> dict[str, Case]:
    return build_cases(cast)


def staff(user: Any) -> Client:
    """The user as the admin sees them: staff, with the model permission to view cases."""
    user.is_staff = True
    user.save()
    user.user_permissions.add(Permission.objects.get(codename="view_case"))
    client = Client()
    client.force_login(user)
    return client


def api(user: Any) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_for(user)}")
    return client


def ledger_numbers(user: Any, cast: Cast, case: Case) -> set[str]:
    """Every cell of the ledger the case belongs in (disputes or petitions), for the county."""
    kind = "disputes" if case.kind == Case.Kind.DISPUTE else "petitions"
    response = ledger_response(kind, cast.county, "2026-03", user=user)
    book = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)), read_only=True)
    return {str(v) for sheet in book.worksheets for row in sheet.iter_rows(values_only=True) for v in row if v}


def test_the_table_covers_every_role_and_case(world: dict[str, Case]) -> None:
    assert {u for u, _ in table()} == set(ROLES) and {c for _, c in table()} == set(world)
    # Both answers occur in every column but the unit above's: the matrix can fail both ways.
    assert all(any(table()[(u, c)] for u in ROLES) for c in world)


@pytest.mark.parametrize(("username", "case_name", "visible"), [(u, c, v) for (u, c), v in CELLS],
                         ids=[f"{u}({ROLES[u]})-{c}" for (u, c), _ in CELLS])
def test_the_matrix(cast: Cast, world: dict[str, Case], username: str, case_name: str, visible: bool) -> None:
    user, case = cast.users[username], world[case_name]
    number, pk = case.number, case.pk
    client = Client()
    client.force_login(user)
    seen: dict[str, bool] = {}

    # Pages: the case page (404 when out of reach), its forms, and the lists.
    seen["case page"] = client.get(reverse("desk:case:detail", args=[pk])).status_code == 200
    events = CaseEvent.objects.count()
    note = client.post(reverse("desk:case:operate", args=[pk, "note"]), {"text": "越权备注"})
    seen["case page: note form"] = note.status_code != 404
    reveal = client.post(reverse("desk:case:reveal", args=[pk]))
    seen["case page: full party details"] = reveal.status_code != 404
    if not visible:
        assert CaseEvent.objects.count() == events and not PersonalDataAccess.objects.exists()
    seen["queue"] = number in client.get(reverse("desk:queue:index"), {"size": 100}).content.decode()
    seen["queue: search by id"] = number in client.get(reverse("desk:queue:index"), {"ids": str(pk)}).content.decode()
    if case.village_id:
        by_village = client.get(reverse("desk:queue:index"), {"village": case.village_id, "size": 100})
        # The village choice offers only villages in reach: a liaison cannot filter by one.
        seen["queue: filter by village"] = number in by_village.content.decode() or (None if visible else False)
    seen["workbench"] = None if visible else number in client.get(reverse("desk:workbench:index")).content.decode()
    board = client.get(reverse("desk:board:index"))
    seen["board"] = None if visible else board.status_code == 200 and number in board.content.decode()

    # API.
    token = api(user)
    seen["api detail"] = token.get(f"/api/v1/cases/{pk}/").status_code == 200
    listed = token.get("/api/v1/cases/", {"page_size": 100}).json()["results"]
    seen["api list"] = pk in [row["id"] for row in listed]
    seen["api list: filter by village"] = (not case.village_id and visible) or pk in [
        row["id"] for row in token.get("/api/v1/cases/", {"village": case.village_id or 0}).json()["results"]]
    seen["api events"] = token.get(f"/api/v1/cases/{pk}/events/").status_code == 200
    seen["api transition"] = token.post(f"/api/v1/cases/{pk}/transitions/note/", {"text": "越权"},
                                        format="json").status_code != 404

    # Export and admin.
    seen["ledger export"] = number in ledger_numbers(user, cast, case)
    admin = staff(user)
    changelist = admin.get(reverse("admin:cases_case_changelist"), {"q": number})
    seen["admin list"] = reverse("admin:cases_case_change", args=[pk]) in changelist.content.decode()
    change_view = admin.get(reverse("admin:cases_case_change", args=[pk])).status_code
    assert change_view in (200, 404), change_view
    seen["admin change view"] = change_view == 200

    # The workbench and board are lists of one's own work: a visible case need not be on
    # them (None), an invisible one never is.
    wrong = {door: got for door, got in seen.items() if got is not None and got != visible}
    assert wrong == {}, f"{username} ({ROLES[username]}) × {case_name}: expected {'seen' if visible else 'hidden'}"


def test_a_ledger_without_a_user_is_the_commands_and_holds_everything(cast: Cast, world: dict[str, Case]) -> None:
    # The control for the export door: the rows are there when nobody's reach limits them.
    for case in world.values():
        assert case.number in ledger_numbers(None, cast, case)


# The WebSocket: each user hears their own notifications, nobody else's.

@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_on_the_socket_everyone_hears_only_their_own_alerts(settings: Any) -> None:
    from channels.layers import channel_layers
    from django.db import transaction
    from django.utils import timezone

    from notifications.models import Notification
    from notifications.services import notify
    from tests.notifications.test_alerts_consumer import backlog_ids, connected, session_headers

    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    channel_layers.backends.clear()
    cast = build_cast()
    case = report(cast)
    names = list(ROLES)
    for name in names:
        with transaction.atomic():
            notify([cast.users[name]], kind="note", level=Notification.Level.ASSIGNMENT, text=f"给{name}",
                           at=timezone.now(), case=case)
    # Each one's own: the note above, and for the officers the news of the report.
    mine = {name: list(Notification.objects.filter(user=cast.users[name]).order_by("pk").values_list("pk", flat=True))
            for name in names}
    headers = {name: session_headers(cast.users[name]) for name in names}

    async def body() -> None:
        from channels.db import database_sync_to_async

        for name in names:
            async with connected(headers[name]) as sock:
                assert await backlog_ids(sock) == mine[name], name
        # Live: a push to olga reaches olga, not sam beside her in the same office.
        async with connected(headers["olga"]) as olga, connected(headers["sam"]) as sam:
            await backlog_ids(olga), await backlog_ids(sam)

            def push_to_olga() -> int:
                with transaction.atomic():
                    return notify([cast.olga], kind="note", level=Notification.Level.ASSIGNMENT, text="仅给olga",
                                  at=timezone.now(), case=case)[0].pk

            pushed = await database_sync_to_async(push_to_olga)()
            assert (await olga.receive_json_from())["id"] == pushed
            assert await sam.receive_nothing(timeout=0.3)

    async_to_sync(body)()
    channel_layers.backends.clear()
