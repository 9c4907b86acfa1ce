"""The API's registration of a dispute settled on the spot (`on_the_spot`) and of one held
by the village's committee (`village_mediation`): the same service and refusals as the
intake page, documented in the schema."""

from __future__ import annotations

import pytest
import yaml

from cases.models import Case, CaseEvent, Role
from tests.api.test_api import API, api
from tests.conftest import DISPUTE, PARTIES, PETITION, Cast, person
from workflow.models import Deadline

pytestmark = pytest.mark.django_db


def body(cast: Cast, **overrides: object) -> dict[str, object]:
    return {**DISPUTE, "village": cast.dongwan.pk, "parties": PARTIES, "repeats_seen": True,
            "on_the_spot": {"lead_department": cast.justice.pk, "outcome": "agreement_oral",
                            "summary": "双方当场和解，口头协议。"}, **overrides}


def test_a_dispute_settled_on_the_spot_is_registered_resolved(cast: Cast) -> None:
    response = api(cast.olga).post(f"{API}/cases/", body(cast), format="json")
    assert response.status_code == 201, response.content
    answer = response.json()
    case = Case.objects.get(pk=answer["id"])
    assert answer["stage"] == case.stage == Case.Stage.RESOLVED
    assert case.reported_at == case.accepted_at == case.resolved_at
    assert answer["outcome"] == {"kind": "agreement_oral", "summary": "双方当场和解，口头协议。"}
    assert list(CaseEvent.objects.filter(case=case).order_by("at", "pk").values_list("kind", flat=True)) == [
        "report", "accept", "start_mediation", "resolve"]
    assert [d["kind"] for d in answer["deadlines"]] == ["follow_up"]
    assert Deadline.objects.open().filter(case=case).get().kind == "follow_up"


def test_a_written_agreement_is_refused_with_the_reason_and_nothing_saved(cast: Cast) -> None:
    written = body(cast)
    written["on_the_spot"] = {**written["on_the_spot"], "outcome": "agreement_written"}
    response = api(cast.olga).post(f"{API}/cases/", written, format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    messages = response.json()["errors"]["on_the_spot.agreement"]
    # A JSON body carries no file: the answer says how to send one (tests/api/test_documents_api.py).
    assert messages[-1] == "A file is sent in a multipart/form-data body."
    assert not Case.objects.exists()


def test_who_may_not_accept_is_refused(cast: Cast) -> None:
    response = api(cast.alice).post(f"{API}/cases/", body(cast), format="json")
    assert response.status_code == 403
    assert not Case.objects.exists()


def test_the_village_committee_holds_a_dispute_and_a_petition_stays_with_the_township(cast: Cast) -> None:
    director = person("dora", (cast.dongwan, Role.OFFICER))
    response = api(director).post(f"{API}/cases/", body(cast, village_mediation=True), format="json")
    assert response.status_code == 201, response.content
    assert (response.json()["responsible_unit"]["id"], response.json()["stage"]) == (cast.dongwan.pk, "resolved")
    plain = {**DISPUTE, "village": cast.dongwan.pk, "parties": PARTIES, "repeats_seen": True}
    held = api(cast.alice).post(f"{API}/cases/", {**plain, "village_mediation": True}, format="json")
    assert held.status_code == 201 and held.json()["responsible_unit"]["id"] == cast.dongwan.pk
    petition = api(cast.alice).post(f"{API}/cases/", {**plain, **PETITION, "village_mediation": True}, format="json")
    assert petition.status_code == 400 and "village_mediation" in petition.json()["errors"]
    assert Case.objects.count() == 2


def test_the_schema_documents_both(cast: Cast) -> None:
    schema = yaml.safe_load(api(cast.alice).get(f"{API}/schema/").content)
    create = schema["components"]["schemas"]["CaseCreateRequest"]["properties"]
    assert create["village_mediation"]["type"] == "boolean"
    settlement = schema["components"]["schemas"]["OnTheSpotRequest"]
    assert set(settlement["required"]) == {"lead_department", "outcome", "summary"}
