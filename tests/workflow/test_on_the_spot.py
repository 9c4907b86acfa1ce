"""当场调解、即调即结 (docs/workflow.md: Roads beside the main one): a dispute settled the
moment it is brought is registered resolved in one step (services.settle_on_the_spot),
along the ordinary road — report, accept, start_mediation, resolve — with every event
written, the clocks met on time and the follow-up visit's clock opened, counted as 排查,
调处 and 成功; by someone who may take each step, or not at all."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from cases.models import Case, CaseDocument, CaseEvent, Role
from cases.periods import parse_period
from notifications.models import Notification
from reports.ledgers import monthly_table
from tests.conftest import DISPUTE, PARTIES, PETITION, Cast, local, person
from workflow import counts, services
from workflow.errors import InvalidData, NotPermitted
from workflow.models import Deadline

pytestmark = pytest.mark.django_db
MARCH = parse_period("2026-03")
AT = local(2026, 3, 2, 9, 30)


@pytest.fixture(autouse=True)
def media(settings: Any, tmp_path: Any) -> Any:
    # The signed agreements uploaded here stay out of var/.
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def settle(cast: Cast, actor: Any, *, settlement: dict[str, Any] | None = None, files: Any = None,
           **overrides: Any) -> Case:
    return services.settle_on_the_spot(
        actor=actor, data={**DISPUTE, "village": cast.dongwan.pk, **overrides}, parties=PARTIES,
        settlement={"lead_department": cast.justice.pk, "outcome": "agreement_oral",
                    "summary": "双方当场达成口头协议，李某当日付清租金。", **(settlement or {})},
        files=files, at=AT, repeats_seen=True)


def test_a_township_officer_settles_a_dispute_on_the_spot(cast: Cast) -> None:
    case = settle(cast, cast.olga)
    assert (case.stage, case.responsible_unit_id, case.assignee_id, case.lead_department_id) == (
        Case.Stage.RESOLVED, cast.liulin.pk, cast.olga.pk, cast.justice.pk)
    assert case.outcome == {"kind": "agreement_oral", "summary": "双方当场达成口头协议，李某当日付清租金。"}
    assert (case.reported_at, case.accepted_at, case.resolved_at) == (AT, AT, AT)
    events = list(CaseEvent.objects.filter(case=case).order_by("at", "pk"))
    assert [(e.kind, e.actor_id, e.to_stage) for e in events] == [
        ("report", cast.olga.pk, "reported"), ("accept", cast.olga.pk, "investigating"),
        ("start_mediation", cast.olga.pk, "mediating"), ("resolve", cast.olga.pk, "resolved")]
    assert events[2].data["findings"] == DISPUTE["summary"]
    # Every clock the road passed is met, on time, at once; the follow-up visit is due.
    clocks = {d.kind: d for d in Deadline.objects.filter(case=case)}
    assert {kind for kind, d in clocks.items() if d.met_at == AT} == {"acceptance", "investigation", "mediation"}
    assert clocks["follow_up"].met_at is None and clocks["follow_up"].due_at > AT
    case.refresh_from_db()
    assert case.acceptance == "on_time"
    # 排查, 调处, 成功 in the monthly table of the township and the dashboard's rollup.
    total = monthly_table(cast.liulin, MARCH)[-1]
    assert (total.found, total.handled, total.succeeded) == (1, 1, 1)
    month = counts.tallied([cast.liulin], MARCH.first, MARCH.end.date(), local(2026, 4, 1))[cast.liulin.pk]
    assert {k: month[(MARCH.first,)][k] for k in ("found", "handled", "succeeded")} == {
        "found": 1, "handled": 1, "succeeded": 1}
    # The settler handed it to themself: no unread news to them; the other officers' news is settled.
    assert not Notification.objects.filter(case=case, read_at__isnull=True).exists()
    # The follow-up visit closes it as any resolved case.
    closed = services.transition(case, "follow_up", actor=cast.olga, at=local(2026, 3, 10, 9),
                                 data={"record": "回访，已履行。", "satisfaction": "satisfied"})
    assert closed.closure == Case.Closure.VISITED


def test_a_village_committee_director_settles_a_village_dispute_with_a_written_agreement(cast: Cast) -> None:
    director = person("dora", (cast.dongwan, Role.OFFICER))
    signed = SimpleUploadedFile("协议书.pdf", b"%PDF-1.4 signed", content_type="application/pdf")
    case = settle(cast, director, village_mediation=True, settlement={"outcome": "agreement_written"},
                  files={"agreement": signed})
    assert (case.stage, case.responsible_unit_id, case.assignee_id) == (Case.Stage.RESOLVED, cast.dongwan.pk,
                                                                        director.pk)
    document = CaseDocument.objects.get(case=case)
    assert CaseEvent.objects.get(case=case, kind="resolve").data["document"] == document.pk
    total = monthly_table(cast.liulin, MARCH)[-1]
    assert (total.found, total.handled, total.succeeded) == (1, 1, 1)


@pytest.mark.parametrize("who, overrides", [
    ("alice", {}),                            # a village worker registers, but does not accept
    ("mia", {}),                              # a mediator carries, but does not accept
    ("olga", {"village_mediation": True}),    # the township's officer does not accept for the committee
    ("owen", {"responsible_unit": "taoyuan"}),  # an officer of another township
], ids=["village worker", "township mediator", "officer for the committee", "other township"])
def test_who_may_not_take_every_step_settles_nothing(cast: Cast, who: str, overrides: dict[str, Any]) -> None:
    overrides = {k: getattr(cast, v).pk if k == "responsible_unit" else v for k, v in overrides.items()}
    with pytest.raises(NotPermitted):
        settle(cast, getattr(cast, who), **overrides)
    assert not Case.objects.exists() and not Notification.objects.exists()


def test_a_settlement_with_bad_data_saves_nothing_and_names_its_fields(cast: Cast) -> None:
    with pytest.raises(InvalidData) as refused:
        settle(cast, cast.olga, settlement={"outcome": "agreement_written", "lead_department": cast.dongwan.pk})
    assert set(refused.value.errors) == {"on_the_spot.lead_department"}
    with pytest.raises(InvalidData) as unsigned:
        settle(cast, cast.olga, settlement={"outcome": "agreement_written"})
    assert set(unsigned.value.errors) == {"on_the_spot.agreement"}
    with pytest.raises(InvalidData) as petition:
        settle(cast, cast.olga, **PETITION)
    assert set(petition.value.errors) == {"on_the_spot"}
    assert not Case.objects.exists() and not CaseEvent.objects.exists() and not Deadline.objects.exists()
