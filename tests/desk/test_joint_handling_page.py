"""联调 on the case page: the officer names a co-handling department among those within
reach, the page shows the co-handling departments and the parts they recorded, and the
co-department's liaison is offered its part, never the lead's operations."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from cases.models import CaseEvent
from tests.conftest import Cast, accept, local, report, step
from tests.desk.test_case_page_operations import shown

pytestmark = pytest.mark.django_db


def test_the_page_names_a_co_department_and_shows_its_part(cast: Cast, client: Any) -> None:
    case = accept(cast, report(cast, at=local(2026, 3, 2, 9)), local(2026, 3, 3, 9))
    client.force_login(cast.olga)
    html = client.get(reverse("desk:case:detail", args=[case.pk])).content.decode()
    form = html.split('data-operation="name_co_department"', 1)[1].split("</form>", 1)[0]
    # Within reach, the lead excluded.
    assert "柳林派出所" in form and "县人社局" in form and "柳林司法所" not in form
    response = client.post(reverse("desk:case:operate", args=[case.pk, "name_co_department"]),
                           {"department": cast.police.pk, "task": "核实双方冲突经过。"})
    assert response.status_code == 302

    step(case, "record_part", cast.pete, part="已询问双方并制作笔录。")
    client.force_login(cast.pete)
    html = client.get(reverse("desk:case:detail", args=[case.pk])).content.decode()
    assert '<dd class="co-departments">柳林派出所</dd>' in html
    part = html.split('<div class="part">', 1)[1].split("</div></div>", 1)[0]
    assert "已询问双方并制作笔录。" in part and "柳林派出所" in part
    offered = [name for name, _open in shown(html)]
    assert "record_part" in offered and "resolve" not in offered and "name_co_department" not in offered
    response = client.post(reverse("desk:case:operate", args=[case.pk, "record_part"]), {"part": "补充调取监控。"})
    assert response.status_code == 302
    assert CaseEvent.objects.filter(case=case, kind="record_part", actor=cast.pete).count() == 2
