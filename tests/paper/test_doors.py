"""The doors to the printed forms: the case page's print list, the PDF links (masked, as
the page is, writing nothing), the print in full (a recorded POST for those who may see
the parties in full), and export_dossier for administrators. A case out of reach is a 404."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from django.core.management import ManagementUtility, call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse

from cases.models import PersonalDataAccess
from tests.doors import state

from .conftest import RAW_IDS, agreed, answered_petition, dispute, text_of

pytestmark = pytest.mark.django_db


def logged_in(user: Any, **kwargs: Any) -> Client:
    client = Client(**kwargs)
    client.force_login(user)
    return client


def accesses() -> list[tuple[str, int, str]]:
    return list(PersonalDataAccess.objects.order_by("pk").values_list("user__username", "case", "door"))


def paper(case: Any, name: str) -> str:
    return reverse("desk:case:paper", args=[case.pk, name])


def dossier(case: Any) -> str:
    return reverse("desk:case:dossier", args=[case.pk])


def full(case: Any) -> str:
    return reverse("desk:case:paper_full", args=[case.pk])


def test_the_urls_are_those_documented(cast: Any) -> None:
    assert paper(type("C", (), {"pk": 7})(), "agreement") == "/desk/case/7/paper/agreement.pdf"
    assert dossier(type("C", (), {"pk": 7})()) == "/desk/case/7/dossier.pdf"


def test_a_form_and_the_file_print_masked_and_write_nothing(cast: Any, media: Any) -> None:
    case = agreed(cast)
    client = logged_in(cast.olga)  # who may see the parties in full, but did not ask
    before = state()
    for url in (paper(case, "agreement"), dossier(case)):
        response = client.get(url)
        assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
        text = text_of(response.content)
        assert "人民调解协议书" in text and not any(raw in text for raw in RAW_IDS)
    assert state() == before and accesses() == []
    disposition = client.get(paper(case, "agreement"))["Content-Disposition"]
    assert disposition.startswith(f'inline; filename="{case.number}') and "filename*=UTF-8''" in disposition
    assert unquote(disposition.split("''", 1)[1]).startswith(f"{case.number} ")


def test_a_print_in_full_is_asked_for_and_recorded(cast: Any, media: Any) -> None:
    case = agreed(cast)
    client = logged_in(cast.olga)
    response = client.post(full(case), {"form": "agreement"})
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    shown = text_of(response.content)
    assert all(raw in shown for raw in RAW_IDS)
    assert accesses() == [("olga", case.pk, "paper")]
    # The whole file in full: its own record.
    whole = text_of(client.post(full(case), {"form": "dossier"}).content)
    assert all(raw in whole for raw in RAW_IDS)
    assert accesses() == [("olga", case.pk, "paper")] * 2
    # The assignee holds the right on this case too.
    assert logged_in(cast.mia).post(full(case), {"form": "registration"}).status_code == 200
    assert accesses()[-1] == ("mia", case.pk, "paper")


def test_a_print_in_full_is_refused_to_those_who_may_not_see_it_and_nothing_is_recorded(cast: Any,
                                                                                         media: Any) -> None:
    case = agreed(cast)
    assert logged_in(cast.alice).post(full(case), {"form": "agreement"}).status_code == 403  # sees, not in full
    assert logged_in(cast.vic).post(full(case), {"form": "dossier"}).status_code == 403
    assert logged_in(cast.olga).get(full(case)).status_code == 405  # a link never prints in full
    for bad in ("", "no-such-form", "opinion", "../agreement", "²"):
        assert logged_in(cast.olga).post(full(case), {"form": bad}).status_code == 404, bad
    assert accesses() == []


def test_a_print_in_full_needs_the_csrf_token(cast: Any, media: Any) -> None:
    case = agreed(cast)
    response = logged_in(cast.olga, enforce_csrf_checks=True).post(full(case), {"form": "agreement"})
    assert response.status_code == 403 and accesses() == []


def test_a_case_out_of_reach_is_a_404(cast: Any, media: Any) -> None:
    case = agreed(cast)  # 柳林镇's
    owen = logged_in(cast.owen)  # 桃源镇's officer
    assert owen.get(paper(case, "agreement")).status_code == 404
    assert owen.get(dossier(case)).status_code == 404
    assert owen.post(full(case), {"form": "agreement"}).status_code == 404
    assert logged_in(cast.olga).get(reverse("desk:case:dossier", args=[10**9])).status_code == 404
    assert accesses() == []
    anonymous = Client().get(dossier(case))
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]


def test_a_form_the_case_does_not_have_is_a_404(cast: Any, media: Any) -> None:
    client = logged_in(cast.olga)
    petition = answered_petition(cast)
    assert client.get(paper(petition, "opinion")).status_code == 200
    assert client.get(paper(petition, "agreement")).status_code == 404  # a dispute's form
    assert client.get(paper(dispute(cast), "closing-report")).status_code == 404  # not closed
    assert client.get(f"/desk/case/{petition.pk}/paper/no-such-form.pdf").status_code == 404


def test_the_case_page_lists_the_forms_the_case_has(cast: Any, media: Any) -> None:
    case = agreed(cast)
    page = logged_in(cast.olga).get(reverse("desk:case:detail", args=[case.pk])).content.decode()
    assert f'href="{dossier(case)}"' in page
    for name in ("application", "registration", "investigation", "mediation-record", "agreement", "follow-up"):
        assert f'href="{paper(case, name)}"' in page, name
    assert f'href="{paper(case, "closing-report")}"' not in page and paper(case, "opinion") not in page
    # The print in full is offered to those who may see it, and only to them.
    assert f'action="{full(case)}"' in page
    reporter_page = logged_in(cast.alice).get(reverse("desk:case:detail", args=[case.pk])).content.decode()
    assert f'href="{dossier(case)}"' in reporter_page and full(case) not in reporter_page


def test_export_dossier_writes_the_file_masked(cast: Any, media: Any, tmp_path: Path, capsys: Any) -> None:
    case = agreed(cast)
    out = tmp_path / "卷宗.pdf"
    call_command("export_dossier", case.number, "--out", str(out))
    text = text_of(out.read_bytes())
    assert "人民调解卷宗" in text and "人民调解协议书" in text and not any(raw in text for raw in RAW_IDS)
    assert case.number in capsys.readouterr().out and accesses() == []


def test_export_dossier_in_full_is_made_for_a_person_and_recorded(cast: Any, media: Any, tmp_path: Path) -> None:
    case = agreed(cast)
    out = tmp_path / "full.pdf"
    with pytest.raises(CommandError, match="--user"):
        call_command("export_dossier", case.number, "--out", str(out), "--full")
    with pytest.raises(CommandError, match="not within the reach of owen"):
        call_command("export_dossier", case.number, "--out", str(out), "--user", "owen", "--full")
    with pytest.raises(CommandError, match="may not see"):
        call_command("export_dossier", case.number, "--out", str(out), "--user", "alice", "--full")
    assert not out.exists() and accesses() == []
    call_command("export_dossier", case.number, "--out", str(out), "--user", "olga", "--full")
    shown = text_of(out.read_bytes())
    assert all(raw in shown for raw in RAW_IDS)
    assert accesses() == [("olga", case.pk, "paper")]


def test_export_dossier_refuses_an_unknown_number_plainly(cast: Any, tmp_path: Path, capsys: Any) -> None:
    out = tmp_path / "x.pdf"
    with pytest.raises(SystemExit) as exit_:
        ManagementUtility(["manage.py", "export_dossier", "QY-LL-2026-99999", "--out", str(out)]).execute()
    assert exit_.value.code != 0
    err = capsys.readouterr().err
    assert "There is no case numbered 'QY-LL-2026-99999'." in err and "Traceback" not in err
    assert not out.exists()
    with pytest.raises(CommandError, match=r"\.pdf"):
        call_command("export_dossier", "QY-LL-2026-99999", "--out", str(tmp_path / "x.xlsx"))
