"""The pages people use (issue: web application): what each role sees and may do, forms
that keep what was typed and say what is wrong, 404 for cases out of reach, and list
pages whose query count does not grow with the page size. State is built through the
real services; assertions are on what the database holds afterwards."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from cases.models import Case, CaseEvent, Party
from notifications.models import Notification
from tests.conftest import accept, local, report
from workflow import services
from workflow.models import Deadline, SupervisionOrder

pytestmark = pytest.mark.django_db

PAGES = ["desk:workbench:index", "desk:intake:index", "desk:queue:index", "desk:board:index"]


def page(client: Any, user: Any, url: str, **kwargs: Any) -> Any:
    client.force_login(user)
    return client.get(url, **kwargs)


def text_of(response: Any) -> str:
    """What a reader sees: the page without tags, scripts and styles."""
    html = response.content.decode()
    # Icon ligatures (<i class="material-icons">lock</i>) are drawn as icons, not read.
    html = re.sub(r"<(\w+)\b[^>]*material-icons[^>]*>[^<]*</\1>", " ", html)
    html = re.sub(r"<(script|style|template|svg)\b.*?</\1>", " ", html, flags=re.S)
    html = re.sub(r"<[^>]+>", " ", html)
    return re.sub(r"\s+", " ", html)


# Login, logout, password change.

def test_the_login_page_is_tiaochus_in_chinese(client: Any) -> None:
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert "调处" in text_of(response)
    assert "Viewflow" not in response.content.decode()


def test_logging_in_lands_on_the_workbench(cast: Any, client: Any) -> None:
    response = client.post(reverse("login"), {"username": "olga", "password": "pw-olga"})
    assert response.status_code == 302
    assert client.get(response["Location"], follow=True).request["PATH_INFO"] == reverse("desk:workbench:index")


def test_a_wrong_password_is_refused_in_chinese_and_keeps_the_username(cast: Any, client: Any) -> None:
    response = client.post(reverse("login"), {"username": "olga", "password": "wrong"})
    assert response.status_code == 200
    assert "请输入一个正确的" in text_of(response)
    assert 'value="olga"' in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_logins_are_throttled_after_repeated_failures(cast: Any, client: Any, settings: Any) -> None:
    settings.LOGIN_FAILURE_LIMIT = 3
    for _attempt in range(3):
        client.post(reverse("login"), {"username": "olga", "password": "wrong"})
    response = client.post(reverse("login"), {"username": "olga", "password": "pw-olga"})
    assert "登录失败次数过多" in text_of(response)
    assert "_auth_user_id" not in client.session


def test_every_page_asks_an_anonymous_visitor_to_log_in(cast: Any, client: Any) -> None:
    case = report(cast)
    for url in [*map(reverse, PAGES), reverse("desk:case:detail", args=[case.pk])]:
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("login")), url


def test_logout_ends_the_session(cast: Any, client: Any) -> None:
    client.force_login(cast.olga)
    assert client.post(reverse("logout")).status_code == 302
    assert client.get(reverse("desk:workbench:index")).status_code == 302


def test_password_change_checks_the_old_password(cast: Any, client: Any) -> None:
    client.force_login(cast.olga)
    url = reverse("password_change")
    response = client.post(url, {"old_password": "nope", "new_password1": "Lin-2026-xyz",
                                 "new_password2": "Lin-2026-xyz"})
    assert response.status_code == 200 and "旧密码不正确" in text_of(response)
    client.post(url, {"old_password": "pw-olga", "new_password1": "Lin-2026-xyz", "new_password2": "Lin-2026-xyz"})
    cast.olga.refresh_from_db()
    assert cast.olga.check_password("Lin-2026-xyz")


# Menu: who is offered which page.

@pytest.mark.parametrize("who, offered, not_offered", [
    ("alice", ["desk:intake:index", "desk:queue:index"], ["desk:board:index", "desk:administration:index"]),
    ("olga", ["desk:intake:index", "desk:queue:index"], ["desk:board:index"]),
    ("sam", ["desk:intake:index", "desk:board:index"], []),
    ("pete", ["desk:queue:index"], ["desk:intake:index", "desk:board:index"]),
])
def test_the_menu_offers_each_role_its_pages(cast: Any, client: Any, who: str, offered: list[str],
                                           not_offered: list[str]) -> None:
    html = page(client, getattr(cast, who), reverse("desk:workbench:index")).content.decode()
    for name in offered:
        assert f'href="{reverse(name)}"' in html, name
    for name in not_offered:
        assert f'href="{reverse(name)}"' not in html, name


def test_the_board_is_refused_to_those_who_do_not_supervise(cast: Any, client: Any) -> None:
    assert page(client, cast.olga, reverse("desk:board:index")).status_code == 403
    assert page(client, cast.sam, reverse("desk:board:index")).status_code == 200


def test_the_administration_entry_is_for_administrators(cast: Any, client: Any, django_user_model: Any) -> None:
    assert page(client, cast.olga, reverse("desk:administration:index")).status_code == 403
    admin = django_user_model.objects.create_superuser("root", password="pw-root")
    html = page(client, admin, reverse("desk:workbench:index")).content.decode()
    assert f'href="{reverse("desk:administration:index")}"' in html
    assert client.get(reverse("desk:administration:index"))["Location"] == "/admin/"


# Workbench.

def test_the_workbench_lists_nearest_deadline_first(cast: Any, client: Any) -> None:
    later = report(cast, title="后报的纠纷", at=local(2026, 11, 20, 9, 0))
    earlier = report(cast, title="先报的纠纷")
    html = page(client, cast.olga, reverse("desk:workbench:index")).content.decode()
    awaiting = html[html.index('id="awaiting"'):]
    assert awaiting.index(earlier.number) < awaiting.index(later.number)


def test_the_workbench_shows_red_and_yellow_cards(cast: Any, client: Any) -> None:
    report(cast)  # reported in March: its acceptance deadline is long past
    html = page(client, cast.olga, reverse("desk:workbench:index")).content.decode()
    assert 'class="card red"' in html and "红牌" in html


def test_a_notification_is_marked_read_by_its_owner_only(cast: Any, client: Any) -> None:
    case = accept(cast, report(cast), local(2026, 3, 3, 9, 0))  # assignment notifies mia
    mine = Notification.objects.get(user=cast.mia, case=case)
    assert page(client, cast.olga, "/").status_code == 302
    assert client.post(reverse("desk:workbench:read", args=[mine.pk])).status_code == 404
    mine.refresh_from_db()
    assert mine.read_at is None
    client.force_login(cast.mia)
    assert client.post(reverse("desk:workbench:read", args=[mine.pk])).status_code == 302
    mine.refresh_from_db()
    assert mine.read_at is not None


def test_mark_all_read_touches_only_my_notifications(cast: Any, client: Any) -> None:
    case = accept(cast, report(cast), local(2026, 3, 3, 9, 0))
    services.transition(case, "supervise", actor=cast.sam, data={"instructions": "三日内答复。"})
    client.force_login(cast.mia)
    client.post(reverse("desk:workbench:read_all"))
    assert not Notification.objects.filter(user=cast.mia, read_at__isnull=True).exists()
    assert Notification.objects.filter(user=cast.olga, read_at__isnull=True).exists()


# Intake.

def intake_post(**overrides: Any) -> dict[str, Any]:
    data = {
        "kind": "dispute", "category": "neighbours", "source": "screening", "title": "东湾村排水沟纠纷",
        "summary": "两户因排水沟走向发生争执。", "people_involved": "2", "risk": "general",
        "parties-TOTAL_FORMS": "2", "parties-INITIAL_FORMS": "0", "parties-MIN_NUM_FORMS": "1",
        "parties-MAX_NUM_FORMS": "30",
        "parties-0-name": "王五", "parties-0-role": "applicant", "parties-0-id_number": "11010519491231002X",
        "parties-0-phone": "13800138000",
        "parties-1-name": "赵六", "parties-1-role": "respondent",
    }
    return {**data, **overrides}


def test_a_village_worker_registers_a_dispute_with_its_parties(cast: Any, client: Any) -> None:
    client.force_login(cast.alice)
    response = client.post(reverse("desk:intake:index"), intake_post(village=cast.dongwan.pk))
    case = Case.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("desk:case:detail", args=[case.pk])
    assert (case.stage, case.village, case.responsible_unit, case.reporter) == (
        "reported", cast.dongwan, cast.liulin, cast.alice)
    assert sorted(case.parties.values_list("name", flat=True)) == ["王五", "赵六"]
    assert CaseEvent.objects.filter(case=case, kind="report", actor=cast.alice).exists()


def test_intake_errors_are_shown_next_to_the_field_and_nothing_is_saved(cast: Any, client: Any) -> None:
    client.force_login(cast.alice)
    response = client.post(reverse("desk:intake:index"), intake_post(
        village=cast.dongwan.pk, **{"parties-0-id_number": "110105194912310021", "parties-0-phone": "12345",
                                    "title": ""}))
    assert response.status_code == 200
    html = response.content.decode()
    assert "身份证号码校验位不正确" in text_of(response) or "校验" in text_of(response)
    assert 'value="12345"' in html and 'value="110105194912310021"' in html  # kept as typed
    assert "该字段是必填项" in text_of(response)
    assert Case.objects.count() == 0 and Party.objects.count() == 0


def test_a_village_worker_cannot_register_for_another_village(cast: Any, client: Any) -> None:
    client.force_login(cast.alice)
    response = client.post(reverse("desk:intake:index"), intake_post(village=cast.xiling.pk))
    assert response.status_code == 200 and Case.objects.count() == 0
    villages = re.search(r'<select name="village".*?</select>', response.content.decode(), re.S).group()
    assert f'<option value="{cast.xiling.pk}"' not in villages and f'<option value="{cast.dongwan.pk}"' in villages


def test_possible_repeats_are_shown_before_saving(cast: Any, client: Any) -> None:
    earlier = report(cast)  # its applicant has ID 11010519491231002X
    client.force_login(cast.alice)
    response = client.post(reverse("desk:intake:index"), intake_post(village=cast.dongwan.pk))
    assert response.status_code == 200
    assert earlier.number in text_of(response) and "可能重复登记" in text_of(response)
    assert Case.objects.count() == 1
    response = client.post(reverse("desk:intake:index"), intake_post(village=cast.dongwan.pk, repeats_seen="1",
                                                                     is_repeat="on"))
    assert response.status_code == 302
    assert Case.objects.filter(is_repeat=True).count() == 1


def test_intake_is_not_for_those_who_may_not_report(cast: Any, client: Any) -> None:
    response = page(client, cast.pete, reverse("desk:intake:index"))
    assert response.status_code == 302
    client.post(reverse("desk:intake:index"), intake_post(village=cast.dongwan.pk))
    assert Case.objects.count() == 0


# Case page.

@pytest.mark.parametrize("who, status", [
    ("alice", 200), ("olga", 200), ("sam", 200), ("vic", 200), ("carl", 200), ("cora", 200),
    ("bob", 404), ("nina", 404), ("owen", 404), ("pete", 404), ("hans", 404),
])
def test_the_case_page_is_a_404_for_those_out_of_reach(cast: Any, client: Any, who: str, status: int) -> None:
    case = report(cast)
    assert page(client, getattr(cast, who), reverse("desk:case:detail", args=[case.pk])).status_code == status


def test_a_case_out_of_reach_gets_the_same_chinese_404_page_as_a_case_that_does_not_exist(
        cast: Any, client: Any) -> None:
    case = report(cast)
    hidden = page(client, cast.owen, reverse("desk:case:detail", args=[case.pk]))
    missing = client.get(reverse("desk:case:detail", args=[case.pk + 1000]))
    assert hidden.status_code == missing.status_code == 404
    assert "未找到" in text_of(hidden) and case.number not in hidden.content.decode()
    assert text_of(hidden) == text_of(missing)


def test_the_case_page_shows_the_operations_this_user_may_take(cast: Any, client: Any) -> None:
    case = report(cast)
    officer = page(client, cast.olga, reverse("desk:case:detail", args=[case.pk])).content.decode()
    assert 'data-operation="accept"' in officer and 'data-operation="reject"' in officer
    assert 'name="lead_department"' in officer  # the accept form asks exactly for its data
    reporter = page(client, cast.alice, reverse("desk:case:detail", args=[case.pk])).content.decode()
    assert 'data-operation="accept"' not in reporter and 'data-operation="note"' in reporter
    assert 'data-operation="resume_deadline"' not in officer  # nothing is paused


def test_party_numbers_are_masked_unless_the_role_may_see_them(cast: Any, client: Any) -> None:
    # Masked by default even for a role that may see them: full numbers on request only.
    case = report(cast)
    reveal = reverse("desk:case:reveal", args=[case.pk])
    officer = page(client, cast.olga, reverse("desk:case:detail", args=[case.pk])).content.decode()
    assert "11010519491231002X" not in officer and f'action="{reveal}"' in officer
    assert "11010519491231002X" in client.post(reveal).content.decode()
    reporter = page(client, cast.alice, reverse("desk:case:detail", args=[case.pk])).content.decode()
    assert "11010519491231002X" not in reporter and "13800138000" not in reporter
    assert case.parties.get(name="张三").masked_id_number in reporter
    assert f'action="{reveal}"' not in reporter


def test_the_case_page_shows_deadlines_timeline_and_the_lifecycle(cast: Any, client: Any) -> None:
    case = accept(cast, report(cast), local(2026, 3, 3, 9, 0))
    html = page(client, cast.olga, reverse("desk:case:detail", args=[case.pk])).content.decode()
    assert 'data-stage="investigating" class="stage current"' in html
    assert html.count('class="stage current"') == 1
    assert 'data-from="reported" data-to="investigating"' in html  # a move of the machine
    assert 'data-event="report"' in html and 'data-event="accept"' in html
    deadline = case.deadlines.get(kind="investigation", met_at__isnull=True)
    assert deadline.legal_basis in html


def test_the_outcome_is_shown_as_people_read_it(cast: Any, client: Any, media: Any) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    case = accept(cast, report(cast), local(2026, 3, 3, 9, 0))
    services.transition(case, "resolve", actor=cast.mia, data={"outcome": "agreement_written", "summary": "双方和解。"},
                        files={"agreement": SimpleUploadedFile("调解协议书.pdf", b"%PDF-1.4")})
    facts = text_of(page(client, cast.olga, reverse("desk:case:detail", args=[case.pk])))
    assert "达成书面调解协议：双方和解。" in facts and "agreement_written" not in facts


def test_an_operation_from_the_page_changes_the_case(cast: Any, client: Any) -> None:
    case = report(cast)
    client.force_login(cast.olga)
    response = client.post(reverse("desk:case:operate", args=[case.pk, "accept"]),
                           {"assignee": cast.mia.pk, "lead_department": cast.justice.pk})
    assert response.status_code == 302
    case.refresh_from_db()
    assert (case.stage, case.assignee) == ("investigating", cast.mia)
    assert CaseEvent.objects.filter(case=case, kind="accept", actor=cast.olga).exists()


def test_invalid_operation_data_rerenders_the_form_with_errors(cast: Any, client: Any) -> None:
    case = report(cast)
    client.force_login(cast.olga)
    response = client.post(reverse("desk:case:operate", args=[case.pk, "reject"]), {"reason": ""})
    assert response.status_code == 400
    html = response.content.decode()
    assert '<details open data-operation="reject">' in html and "该字段是必填项" in text_of(response)
    case.refresh_from_db()
    assert case.stage == "reported" and not CaseEvent.objects.filter(kind="reject").exists()


def test_a_case_moved_meanwhile_is_explained_and_shown_as_it_now_is(cast: Any, client: Any) -> None:
    case = accept(cast, report(cast), local(2026, 3, 3, 9, 0))  # someone else accepted it while olga's page was open
    client.force_login(cast.olga)
    response = client.post(reverse("desk:case:operate", args=[case.pk, "accept"]),
                           {"assignee": cast.mia.pk, "lead_department": cast.justice.pk})
    assert response.status_code == 409
    assert "调查核实" in text_of(response) and "不能" in text_of(response) or "无法" in text_of(response)
    assert CaseEvent.objects.filter(case=case, kind="accept").count() == 1


def test_an_operation_the_user_may_not_take_is_refused_and_changes_nothing(cast: Any, client: Any) -> None:
    case = report(cast)
    client.force_login(cast.alice)
    response = client.post(reverse("desk:case:operate", args=[case.pk, "reject"]), {"reason": "不属实"})
    assert response.status_code == 403
    case.refresh_from_db()
    assert case.stage == "reported"


def test_an_operation_on_a_case_out_of_reach_is_a_404(cast: Any, client: Any) -> None:
    case = report(cast)
    client.force_login(cast.owen)
    response = client.post(reverse("desk:case:operate", args=[case.pk, "reject"]), {"reason": "不属实"})
    assert response.status_code == 404
    assert client.post(reverse("desk:case:operate", args=[case.pk, "no_such_thing"])).status_code == 404
    case.refresh_from_db()
    assert case.stage == "reported"


def test_operations_need_the_csrf_token(cast: Any) -> None:
    from django.test import Client

    case = report(cast)
    client = Client(enforce_csrf_checks=True)
    client.force_login(cast.olga)
    response = client.post(reverse("desk:case:operate", args=[case.pk, "reject"]), {"reason": "不属实"})
    assert response.status_code == 403
    case.refresh_from_db()
    assert case.stage == "reported"


# Queues.

def test_the_queue_filters_by_village_stage_and_overdue(cast: Any, client: Any, time_machine: Any) -> None:
    time_machine.move_to(local(2026, 11, 30, 9, 0))
    dongwan = report(cast, at=local(2026, 3, 2, 9, 0))
    xiling = report(cast, actor=cast.bob, village=cast.xiling.pk, at=local(2026, 11, 29, 9, 0))
    client.force_login(cast.olga)
    url = reverse("desk:queue:index")
    by_village = client.get(url, {"village": cast.xiling.pk}).content.decode()
    assert xiling.number in by_village and dongwan.number not in by_village
    overdue = client.get(url, {"overdue": "on"}).content.decode()
    assert dongwan.number in overdue and xiling.number not in overdue
    accept(cast, dongwan, local(2026, 3, 3, 9, 0))
    investigating = client.get(url, {"stage": "investigating"}).content.decode()
    assert dongwan.number in investigating and xiling.number not in investigating


def test_closed_cases_are_listed_newest_first(cast: Any, client: Any) -> None:
    older = report(cast, title="旧纠纷", at=local(2026, 10, 5, 9, 0))
    newer = report(cast, title="新纠纷", at=local(2026, 10, 20, 9, 0))
    for case in (newer, older):  # withdrawn in the other order: the list follows the report
        services.transition(case, "withdraw", actor=cast.olga, data={"reason": "撤回"})
    assert set(Case.objects.filter(pk__in=[older.pk, newer.pk]).values_list("stage", flat=True)) == {"closed"}
    client.force_login(cast.olga)
    response = client.get(reverse("desk:queue:index"), {"stage": "closed"})
    html = response.content.decode()
    assert html.index(newer.number) < html.index(older.number)
    # The sort menu says what the list is sorted by; a chosen sort still wins.
    assert response.context["filter"]["sort"].value() == "-reported"
    oldest = client.get(reverse("desk:queue:index"), {"stage": "closed", "sort": "reported"}).content.decode()
    assert oldest.index(older.number) < oldest.index(newer.number)


def test_a_bad_filter_value_is_reported_and_lists_nothing(cast: Any, client: Any) -> None:
    case = report(cast)
    response = page(client, cast.olga, reverse("desk:queue:index"), data={"due_within": "abc"})
    assert response.status_code == 200
    assert "输入整数" in text_of(response) and case.number not in response.content.decode()


def test_the_queue_shows_only_what_the_user_may_see(cast: Any, client: Any) -> None:
    mine = report(cast)
    theirs = report(cast, actor=cast.nina, village=cast.nanshan.pk)
    html = page(client, cast.olga, reverse("desk:queue:index")).content.decode()
    assert mine.number in html and theirs.number not in html


def test_the_queue_costs_the_same_queries_at_any_page_size(cast: Any, client: Any) -> None:
    for i in range(60):
        report(cast, title=f"纠纷{i}", at=local(2026, 10, 1 + i % 28, 9, 0))
    client.force_login(cast.olga)
    counts = {}
    for size in (10, 50):
        with CaptureQueriesContext(connection) as queries:
            response = client.get(reverse("desk:queue:index"), {"size": size})
        assert response.status_code == 200 and response.content.decode().count("data-case=") == size
        counts[size] = len(queries)
    assert counts[10] == counts[50]


def test_the_workbench_costs_the_same_queries_however_many_cases(cast: Any, client: Any) -> None:
    client.force_login(cast.olga)
    report(cast)
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("desk:workbench:index"))
    for i in range(20):
        accept(cast, report(cast, title=f"纠纷{i}"), local(2026, 3, 3, 9, 0))
    with CaptureQueriesContext(connection) as many:
        client.get(reverse("desk:workbench:index"))
    assert len(few) == len(many)


def test_officers_assign_in_bulk_and_each_is_recorded(cast: Any, client: Any) -> None:
    cases = [accept(cast, report(cast, title=f"纠纷{i}"), local(2026, 3, 3, 9, 0)) for i in range(3)]
    outsider = report(cast, actor=cast.nina, village=cast.nanshan.pk)
    client.force_login(cast.olga)
    response = client.post(reverse("desk:queue:assign"),
                           {"case": [c.pk for c in cases] + [outsider.pk], "assignee": cast.olga.pk})
    assert response.status_code == 302
    assert set(Case.objects.filter(assignee=cast.olga).values_list("pk", flat=True)) == {c.pk for c in cases}
    assert CaseEvent.objects.filter(kind="assign", actor=cast.olga).count() == 3
    outsider.refresh_from_db()
    assert outsider.assignee is None


def test_bulk_assignment_is_not_offered_to_village_workers(cast: Any, client: Any) -> None:
    report(cast)
    assert 'id="bulk-assign"' not in page(client, cast.alice, reverse("desk:queue:index")).content.decode()
    assert 'id="bulk-assign"' in page(client, cast.olga, reverse("desk:queue:index")).content.decode()


# Supervision board.

def test_the_board_shows_overdue_cases_of_the_subtree_by_unit(cast: Any, client: Any, time_machine: Any) -> None:
    time_machine.move_to(local(2026, 11, 30, 9, 0))
    late = report(cast, at=local(2026, 3, 2, 9, 0))
    fresh = report(cast, at=local(2026, 11, 29, 9, 0))
    elsewhere = report(cast, actor=cast.nina, village=cast.nanshan.pk)
    sam = page(client, cast.sam, reverse("desk:board:index")).content.decode()
    assert late.number in sam and fresh.number not in sam and elsewhere.number not in sam
    carl = page(client, cast.carl, reverse("desk:board:index")).content.decode()
    assert late.number in carl and elsewhere.number in carl
    # By unit (issue 16): a line for each township beneath the county, each its red card's figure.
    for township in (cast.liulin, cast.taoyuan):
        assert re.search(rf'<tr data-unit="{township.pk}">.*?data-figure="red"><a [^>]*>1</a>', carl, flags=re.S)


def test_a_supervision_order_is_issued_from_the_board(cast: Any, client: Any) -> None:
    case = report(cast)
    client.force_login(cast.sam)
    board = reverse("desk:board:index")
    response = client.post(reverse("desk:case:operate", args=[case.pk, "supervise"]),
                           {"instructions": "请三日内受理并答复。", "next": board})
    assert response.status_code == 302 and response["Location"] == board
    order = SupervisionOrder.objects.get(case=case)
    assert (order.issued_by, order.instructions) == (cast.sam, "请三日内受理并答复。")


def test_redirects_after_an_operation_stay_on_this_site(cast: Any, client: Any) -> None:
    case = report(cast)
    client.force_login(cast.olga)
    response = client.post(reverse("desk:case:operate", args=[case.pk, "note"]),
                           {"text": "已电话联系。", "next": "https://evil.example/"})
    assert response["Location"] == reverse("desk:case:detail", args=[case.pk])


# Language.

# Three letters or more with a lower-case one: words. Capitals alone are names of file
# formats (PDF, OFD, WPS) that Chinese pages write the same way.
ENGLISH_WORD = re.compile(r"\b(?=[A-Za-z]*[a-z])[A-Za-z]{3,}\b")


def test_no_user_facing_english_remains_on_the_main_pages(cast: Any, client: Any) -> None:
    case = accept(cast, report(cast), local(2026, 3, 3, 9, 0))
    services.transition(case, "supervise", actor=cast.sam, data={"instructions": "请加快办理。"})
    urls = [*map(reverse, PAGES), reverse("desk:case:detail", args=[case.pk])]
    for url in urls:
        words = set(ENGLISH_WORD.findall(text_of(page(client, cast.sam, url))))
        # Usernames are names, not text: the cast's are English-looking. The language
        # menu names each language in itself: English.
        assert words <= {*cast.users, "English"}, (url, words)
    client.logout()
    assert not ENGLISH_WORD.findall(text_of(client.get(reverse("login"))))


def test_english_is_available_by_switching_language(cast: Any, client: Any) -> None:
    client.force_login(cast.olga)
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    assert "My workbench" in text_of(client.get(reverse("desk:workbench:index")))


# Documents.

@pytest.fixture
def media(settings: Any, tmp_path: Any) -> Any:
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def test_a_document_is_attached_from_the_case_page_and_served_to_those_who_see_the_case(
        cast: Any, client: Any, media: Any) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from cases.models import CaseDocument

    case = accept(cast, report(cast), local(2026, 3, 3, 9, 0))
    client.force_login(cast.mia)
    upload = SimpleUploadedFile("调解协议书.pdf", b"%PDF-1.4 agreement", content_type="application/pdf")
    response = client.post(reverse("desk:case:operate", args=[case.pk, "attach_document"]),
                           {"title": "人民调解协议书", "file": upload})
    assert response.status_code == 302
    document = CaseDocument.objects.get(case=case)
    assert (document.title, document.original_name, document.uploaded_by) == ("人民调解协议书", "调解协议书.pdf", cast.mia)
    assert "调解协议书" not in document.file.name  # stored under a random name
    event = CaseEvent.objects.get(case=case, kind="attach_document")
    assert event.data["document"] == document.pk
    url = reverse("desk:case:document", args=[case.pk, document.pk])
    assert url in page(client, cast.olga, reverse("desk:case:detail", args=[case.pk])).content.decode()
    download = client.get(url)
    assert download.status_code == 200 and b"".join(download.streaming_content) == b"%PDF-1.4 agreement"
    assert page(client, cast.owen, url).status_code == 404


def test_a_document_of_a_forbidden_type_is_refused_and_nothing_is_kept(cast: Any, client: Any, media: Any) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    case = report(cast)
    client.force_login(cast.olga)
    upload = SimpleUploadedFile("run.exe", b"MZ", content_type="application/octet-stream")
    response = client.post(reverse("desk:case:operate", args=[case.pk, "attach_document"]),
                           {"title": "程序", "file": upload})
    assert response.status_code == 400 and "exe" in text_of(response)
    assert not case.documents.exists() and not list(media.rglob("*.exe"))


def test_the_case_page_shows_the_same_card_in_its_header_and_beside_the_clock(cast: Any, client: Any,
                                                                               time_machine: Any) -> None:
    # Investigation of 7 日 from 3 November ran out on 10 November; no sweep has run since.
    time_machine.move_to(local(2026, 11, 30, 9, 0))
    case = report(cast, at=local(2026, 11, 2, 9, 0))
    services.transition(case, "accept", actor=cast.olga, at=local(2026, 11, 3, 9, 0),
                        data={"assignee": cast.mia.pk, "lead_department": cast.justice.pk})
    assert Deadline.objects.get(case=case, met_at__isnull=True).breached_at is None
    html = page(client, cast.olga, reverse("desk:case:detail", args=[case.pk])).content.decode()
    assert html.count('<span class="card red">') == 2  # the header's, and the clock's in the table


@pytest.mark.parametrize("digits", ["²", "١٢", "１２"])
def test_digits_that_are_not_ascii_are_refused_without_a_server_error(cast: Any, client: Any, digits: str) -> None:
    # "²", Arabic-Indic and full-width digits pass str.isdigit() but are no case number.
    case = report(cast)
    client.force_login(cast.olga)
    listed = client.get(reverse("desk:queue:index"), {"ids": digits, "stage": "all"})
    assert listed.status_code == 200 and case.number not in listed.content.decode()
    assigned = client.post(reverse("desk:queue:assign"), {"case": digits, "assignee": cast.mia.pk})
    assert assigned.status_code == 302
    assert Case.objects.get(pk=case.pk).assignee is None
    filed = client.post(reverse("desk:returns:index"), {"village": digits, "signed_off_by": "王村长"})
    assert filed.status_code in (200, 302)


# The import of a legacy ledger: for those who may create cases, and never a broken page.

def streamed(response: Any) -> str:
    """The whole of the import page, which streams its progress."""
    async def collect() -> bytes:
        return b"".join([part async for part in response.streaming_content])

    return asyncio.run(collect()).decode()


def ledger_upload(content: bytes) -> Any:
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("ledger.xlsx", content)


def test_the_import_is_offered_to_officers_and_refused_to_a_viewer_before_the_file_is_read(
        cast: Any, client: Any, monkeypatch: Any) -> None:
    from tests.reports.test_legacy_import import GOOD, workbook

    def read(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the file was read")

    monkeypatch.setattr("desk.ledgers.import_ledger", read)
    import_url = reverse("desk:ledgers:import")
    assert import_url in page(client, cast.olga, reverse("desk:ledgers:index")).content.decode()
    ledgers = page(client, cast.vic, reverse("desk:ledgers:index"))
    assert ledgers.status_code == 200 and import_url not in ledgers.content.decode()
    assert client.get(import_url).status_code == 403
    response = client.post(import_url, {"unit": cast.liulin.pk, "file": ledger_upload(workbook(GOOD).getvalue())})
    assert response.status_code == 403
    assert not Case.objects.exists()


def test_an_officer_imports_only_into_their_own_township(cast: Any, client: Any, monkeypatch: Any) -> None:
    from tests.reports.test_legacy_import import GOOD, workbook

    def read(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the file was read")

    monkeypatch.setattr("desk.ledgers.import_ledger", read)
    form = page(client, cast.owen, reverse("desk:ledgers:import")).content.decode()
    assert f'value="{cast.taoyuan.pk}"' in form and f'value="{cast.liulin.pk}"' not in form
    response = client.post(reverse("desk:ledgers:import"),
                           {"unit": cast.liulin.pk, "file": ledger_upload(workbook(GOOD).getvalue())})
    assert response.status_code == 400
    assert not Case.objects.exists()


# The import reads the file in a worker thread of its own, which sees only committed data.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_malformed_or_hostile_file_gets_the_error_list_and_the_page_ends(cast: Any, client: Any) -> None:
    from tests.reports.test_legacy_import import HOSTILE

    client.force_login(cast.olga)
    for name in ("cut-off sheet", "entities", "no sheets", "not a number", "broken styles", "declared dimension"):
        response = client.post(reverse("desk:ledgers:import"),
                               {"unit": cast.liulin.pk, "file": ledger_upload(HOSTILE[name]())})
        html = streamed(response)
        assert 'class="row-errors"' in html and "未导入任何数据" in html, name
        assert reverse("desk:ledgers:index") in html.rsplit("row-errors", 1)[1], name
    assert not Case.objects.exists()


def test_an_unexpected_failure_of_the_import_is_logged_and_shown_as_an_error(
        cast: Any, client: Any, monkeypatch: Any, caplog: Any) -> None:
    from tests.reports.test_legacy_import import GOOD, workbook

    def fail(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the disk is gone")

    monkeypatch.setattr("desk.ledgers.import_ledger", fail)
    client.force_login(cast.olga)
    response = client.post(reverse("desk:ledgers:import"),
                           {"unit": cast.liulin.pk, "file": ledger_upload(workbook(GOOD).getvalue())})
    html = streamed(response)
    assert 'class="row-errors"' in html and "未导入任何数据" in html
    assert "the disk is gone" not in html
    assert reverse("desk:ledgers:index") in html.rsplit("row-errors", 1)[1]
    assert any(r.exc_info and "the disk is gone" in str(r.exc_info[1]) for r in caplog.records)
