"""The roads beside the main one (docs/workflow.md), in Chromium, in one test: a village
mediator resolves the village committee's own dispute (小事不出村) on a phone; a township
officer registers a dispute settled on the spot (当场调解) from the intake page on a 390 px
phone, and it is resolved at once.

Screenshots (var/e2e-screenshots/):
- road-village-resolved-phone: the village's dispute resolved by its mediator.
- road-on-the-spot-form-phone: the intake page with the settlement's fields filled in.
- road-on-the-spot-resolved-phone: the case it registered, resolved.
"""

from __future__ import annotations

import json

from playwright.sync_api import expect

from tests.e2e.browser import OFFICER, PASSWORD, login, shot
from tests.e2e.harness import Pages, Server
from tests.e2e.test_story import CASE_PAGE, operate, stage_of

# 东湾村's people's mediation committee, which the demo county does not staff: its
# director (调委会主任, an officer of the village) and a mediator; a dispute the village
# worker registered for it, accepted by the director and given to the mediator.
VILLAGE_ROAD = f"""
import json
from django.contrib.auth import get_user_model
from cases.models import Membership, OrgUnit, Role
from workflow import services
village, justice = OrgUnit.objects.get(name="东湾村"), OrgUnit.objects.get(name="柳林司法所")
def member(username, name, role):
    user, created = get_user_model().objects.get_or_create(username=username, defaults={{"first_name": name}})
    if created:
        user.set_password({PASSWORD!r})
        user.save()
    Membership.objects.get_or_create(user=user, unit=village, role=role)
    return user
director, mediator = member("dw_tiaowei", "陈主任", Role.OFFICER), member("dw_tiaojie", "刘调解", Role.MEDIATOR)
case = services.report_case(
    actor=get_user_model().objects.get(username="wg_dongwan"), repeats_seen=True,
    data={{"kind": "dispute", "title": "东湾村两户晾晒场地纠纷", "summary": "两户因晒场占用发生口角。",
          "category": "neighbours", "source": "screening", "village": village.pk, "village_mediation": True}},
    parties=[{{"name": "孙大勇", "role": "applicant"}}, {{"name": "郑桂芳", "role": "respondent"}}])
services.transition(case, "accept", actor=director, data={{"assignee": mediator.pk, "lead_department": justice.pk}})
print(json.dumps({{"id": case.pk, "username": mediator.username}}))
"""

EVENTS = """
import json
from cases.models import Case, CaseEvent
case = Case.objects.select_related("responsible_unit").get(pk={pk})
print(json.dumps({{"unit": case.responsible_unit.name, "stage": case.stage,
                  "events": list(CaseEvent.objects.filter(case=case).order_by("at", "pk").values_list("kind", flat=True)),
                  "open": list(case.deadlines.filter(met_at__isnull=True).values_list("kind", flat=True))}}))
"""


def test_a_village_mediator_and_a_settlement_on_the_spot(server: Server, new_page: Pages) -> None:
    # 小事不出村: the village's mediator mediates and resolves the committee's own dispute.
    village = json.loads(server.shell(VILLAGE_ROAD))
    mediator = login(new_page("phone"), village["username"])
    mediator.goto(f"/desk/case/{village['id']}/")
    operate(mediator, "start_mediation", {"findings": "现场查看，晒场属集体用地，双方同意轮流使用。"})
    expect(stage_of(mediator)).to_have_text("调解中")
    operate(mediator, "resolve", {"summary": "双方口头约定单双日轮流使用晒场。"},
            selects={"outcome": "达成口头协议（已记录）"})
    expect(stage_of(mediator)).to_have_text("已化解")
    shot(mediator, "road-village-resolved-phone")
    held = json.loads(server.shell(EVENTS.format(pk=village["id"])))
    assert (held["unit"], held["stage"], held["open"]) == ("东湾村", "resolved", ["follow_up"])

    # 当场调解: registered from the intake page on a phone, resolved at once.
    phone = login(new_page("phone"), OFFICER)
    phone.goto("/desk/intake/")
    phone.locator("select[name=kind]").select_option("dispute")
    phone.locator("select[name=category]").select_option(label="邻里")
    phone.locator("select[name=source]").select_option("visit")
    phone.locator("select[name=village]").select_option(label="东湾村")
    phone.locator("input[name=title]").fill("东湾村两户占道堆放柴草纠纷")
    phone.locator("textarea[name=summary]").fill("两户因柴草占道发生争执，来综治办时当场调解。")
    phone.locator("input[name=parties-0-name]").fill("何长顺")
    phone.locator("select[name=parties-0-role]").select_option("applicant")
    settlement = phone.locator(".on-the-spot")
    expect(settlement.locator("textarea[name=settlement-summary]")).to_be_hidden()  # folded until ticked
    settlement.locator("input[name=settlement-on_the_spot]").check()
    settlement.locator("select[name=settlement-lead_department]").select_option(label="柳林司法所")
    settlement.locator("select[name=settlement-outcome]").select_option(label="达成口头协议（已记录）")
    settlement.locator("textarea[name=settlement-summary]").fill("双方当场同意三日内清走柴草。")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    shot(phone, "road-on-the-spot-form-phone")
    phone.get_by_role("button", name="登记", exact=True).click()
    expect(phone).to_have_url(CASE_PAGE)
    expect(stage_of(phone)).to_have_text("已化解")
    shot(phone, "road-on-the-spot-resolved-phone")
    settled = json.loads(server.shell(EVENTS.format(pk=CASE_PAGE.search(phone.url).group(1))))
    assert settled["events"] == ["report", "accept", "start_mediation", "resolve"]
    assert (settled["unit"], settled["open"]) == ("柳林镇", ["follow_up"])
