"""A ledger written while its page shows the progress (issue 16): the page streams a
progress bar, then a link to the finished file, which only the person who asked for it
downloads, for a day. The file is compared cell by cell with what write_ledger writes."""

from __future__ import annotations

import asyncio
import json
import re
import time
from io import BytesIO
from pathlib import Path
from typing import Any
from urllib.parse import quote

import openpyxl
import pytest
from django.http import FileResponse
from django.urls import reverse

from cases.periods import parse_period
from reports.ledgers import ledger_filename, write_ledger
from tests.conftest import local
from tests.reports.test_ledgers import march  # noqa: F401 (the ledgers' fixture)

pytestmark = pytest.mark.django_db

LINK = re.compile(r'href="(/desk/ledgers/export/([0-9a-f]{32})/)"')


@pytest.fixture(autouse=True)
def _clock(time_machine: Any) -> None:
    # April 2026: March's ledgers are complete; a record's age is read from this clock.
    time_machine.move_to(local(2026, 4, 10, 9))


@pytest.fixture
def exports(settings: Any, tmp_path: Path) -> Path:
    settings.LEDGER_EXPORT_DIR = tmp_path / "exports"
    return settings.LEDGER_EXPORT_DIR


def streamed(response: Any) -> str:
    """The whole export page, which streams (asynchronously) as the ledger is written."""
    assert response.status_code == 200 and response.streaming

    async def collect() -> bytes:
        return b"".join([part async for part in response.streaming_content])

    return asyncio.run(collect()).decode()


def export(client: Any, **query: Any) -> Any:
    return client.get(reverse("desk:ledgers:export"), query)


def cells(content: bytes) -> list[tuple[Any, ...]]:
    return list(openpyxl.load_workbook(BytesIO(content), read_only=True).active.iter_rows(values_only=True))


def record(exports: Path, token: str, **fields: Any) -> None:
    exports.mkdir(exist_ok=True)
    (exports / f"{token}.json").write_text(json.dumps(fields))
    (exports / f"{token}.xlsx").write_bytes(b"PK old ledger")


# The page, its progress and its file. The ledger is written in a worker thread of its
# own (the page streams meanwhile), which sees only committed data.

@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_page_streams_its_progress_and_links_the_same_ledger_write_ledger_writes(
        cast: Any, client: Any, march: Any, exports: Path, monkeypatch: Any) -> None:  # noqa: F811
    def slow(*args: Any, **kwargs: Any) -> int:
        time.sleep(0.8)  # long enough for the page to show the bar before the first row
        return write_ledger(*args, **kwargs)

    monkeypatch.setattr("desk.ledgers.write_ledger", slow)
    client.force_login(cast.olga)
    ledgers = client.get(reverse("desk:ledgers:index"), {"unit": cast.liulin.pk, "period": "2026-03"}).content.decode()
    url = f'{reverse("desk:ledgers:export")}?unit={cast.liulin.pk}&amp;period=2026-03&amp;kind=disputes'
    assert f'href="{url}"' in ledgers

    html = streamed(export(client, unit=cast.liulin.pk, period="2026-03", kind="disputes"))
    assert "矛盾纠纷排查化解台账" in html and "柳林镇" in html and "2026-03" in html
    # The six disputes of March, counted before writing: the bar goes from none to six of six.
    assert html.index('<progress value="0" max="6">') < html.index('<progress value="6" max="6">')
    link, token = LINK.search(html).groups()
    assert "data-ledger-download" in html and "<script>" in html.rsplit(link, 1)[1]
    assert html.index(link) > html.index('<progress value="6"')
    assert reverse("desk:ledgers:index") in html.rsplit(link, 1)[1]  # the page's tail

    download = client.get(link)
    assert download.status_code == 200 and isinstance(download, FileResponse)
    assert download["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    name = ledger_filename("disputes", cast.liulin, parse_period("2026-03"))
    assert download["Content-Disposition"].startswith("attachment")
    assert quote(name) in download["Content-Disposition"]
    direct = BytesIO()
    write_ledger("disputes", cast.liulin, "2026-03", direct, user=cast.olga)
    rows = cells(b"".join(download.streaming_content))
    assert rows == cells(direct.getvalue())
    assert len(rows) == 2 + 6 and march["rent"].number in {row[1] for row in rows}
    # Kept for the day: downloaded again, the same file.
    assert b"".join(client.get(link).streaming_content) == (exports / f"{token}.xlsx").read_bytes()
    assert sorted(p.name for p in exports.iterdir()) == [f"{token}.json", f"{token}.xlsx"]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_only_the_person_who_asked_downloads_the_file(
        cast: Any, client: Any, march: Any, exports: Path) -> None:  # noqa: F811
    client.force_login(cast.olga)
    link, token = LINK.search(streamed(export(client, unit=cast.liulin.pk, period="2026-03",
                                              kind="follow_up"))).groups()
    assert client.get(link).status_code == 200
    # A reviewer of the same township, its supervisor, and someone with no reach at all.
    for other in (cast.vic, cast.sam, cast.alice):
        client.force_login(other)
        assert client.get(link).status_code == 404, other.username
    client.logout()
    anonymous = client.get(link)
    assert anonymous.status_code == 302 and anonymous["Location"].startswith(reverse("login"))
    # Tokens that are not one: nothing is looked up.
    client.force_login(cast.olga)
    for wrong in ("0" * 32, "set-password", token.upper()):
        assert client.get(reverse("desk:ledgers:download", args=[wrong])).status_code == 404, wrong


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_monthly_table_streams_without_a_count_and_matches(
        cast: Any, client: Any, march: Any, exports: Path) -> None:  # noqa: F811
    client.force_login(cast.sam)
    html = streamed(export(client, unit=cast.liulin.pk, period="2026-03", kind="monthly"))
    link, _token = LINK.search(html).groups()
    direct = BytesIO()
    write_ledger("monthly", cast.liulin, "2026-03", direct, user=cast.sam)
    assert cells(b"".join(client.get(link).streaming_content)) == cells(direct.getvalue())


def test_a_bad_kind_unit_or_period_gets_the_pages_error_and_writes_nothing(
        cast: Any, client: Any, exports: Path) -> None:
    client.force_login(cast.olga)
    assert export(client, unit=cast.liulin.pk, period="2026-03", kind="ledgers").status_code == 404
    assert export(client, unit=cast.liulin.pk, period="2026-03").status_code == 404
    # 桃源镇 is out of olga's reach; 2026-13 is no period: the ledgers page, with the error.
    for query in ({"unit": cast.taoyuan.pk, "period": "2026-03"}, {"unit": cast.liulin.pk, "period": "2026-13"},
                  {"unit": "x", "period": "2026-03"}):
        response = export(client, **query, kind="disputes")
        assert response.status_code == 400, query
        assert not response.streaming and 'class="errorlist' in response.content.decode(), query
    client.force_login(cast.alice)  # a village worker reviews no ledgers
    assert export(client, unit=cast.dongwan.pk, period="2026-03", kind="disputes").status_code == 403
    client.logout()
    anonymous = export(client, unit=cast.liulin.pk, period="2026-03", kind="disputes")
    assert anonymous.status_code == 302 and anonymous["Location"].startswith(reverse("login"))
    assert not exports.exists()


def test_a_failing_writer_ends_the_page_with_the_error_and_leaves_no_file(
        cast: Any, client: Any, exports: Path, monkeypatch: Any, caplog: Any) -> None:
    def fail(kind: str, unit: Any, period: Any, out: Any, *, user: Any, progress: Any) -> int:
        out.write(b"PK half a ledger")
        progress(12)
        raise RuntimeError("the disk is gone")

    monkeypatch.setattr("desk.ledgers.write_ledger", fail)
    client.force_login(cast.olga)
    html = streamed(export(client, unit=cast.liulin.pk, period="2026-03", kind="monthly"))
    assert 'class="problem"' in html and "the disk is gone" not in html
    assert not LINK.search(html)
    assert reverse("desk:ledgers:index") in html.rsplit('class="problem"', 1)[1]  # the page ended
    assert any(r.exc_info and "the disk is gone" in str(r.exc_info[1]) for r in caplog.records)
    assert list(exports.iterdir()) == []


def test_exports_older_than_a_day_are_removed_when_a_new_one_starts(
        cast: Any, client: Any, exports: Path, monkeypatch: Any) -> None:
    def write(kind: str, unit: Any, period: Any, out: Any, *, user: Any, progress: Any) -> int:
        out.write(b"PK new ledger")
        return 0

    monkeypatch.setattr("desk.ledgers.write_ledger", write)
    old, recent, broken = "a" * 32, "b" * 32, "c" * 32
    record(exports, old, owner=cast.olga.pk, filename="old.xlsx", created=time.time() - 25 * 3600)
    record(exports, recent, owner=cast.olga.pk, filename="recent.xlsx", created=time.time() - 3600)
    record(exports, broken, owner=cast.olga.pk)
    (exports / "notes.txt").write_text("not an export")
    client.force_login(cast.olga)
    # Past its day a file is not served, even before it is removed.
    assert client.get(reverse("desk:ledgers:download", args=[old])).status_code == 404
    recent_download = client.get(reverse("desk:ledgers:download", args=[recent]))
    assert recent_download.status_code == 200 and 'filename="recent.xlsx"' in recent_download["Content-Disposition"]
    assert b"".join(recent_download.streaming_content) == b"PK old ledger"

    _link, token = LINK.search(streamed(export(client, unit=cast.liulin.pk, period="2026-03",
                                               kind="monthly"))).groups()
    assert sorted(p.name for p in exports.iterdir()) == sorted([
        f"{recent}.json", f"{recent}.xlsx", f"{token}.json", f"{token}.xlsx", "notes.txt"])
    assert (exports / f"{token}.xlsx").read_bytes() == b"PK new ledger"
