"""A ledger's export in a browser (issue 16): the township supervisor opens a ledger from
the ledgers page, the export page shows its progress bar and ends with the row count, the
download starts by itself, and the file holds those rows. The page fits a phone and a
desk.

Screenshots: ledger-export-desktop, ledger-export-phone (the finished export page)."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect

from tests.e2e.browser import SUPERVISOR, login, shot
from tests.e2e.harness import SCREENS, Pages


@pytest.mark.parametrize("screen", ["desktop", "phone"])
def test_the_export_page_shows_its_progress_then_downloads_the_ledger(new_page: Pages, screen: str) -> None:
    page = login(new_page(screen), SUPERVISOR)
    page.goto("/desk/ledgers/")
    link = page.locator("a[data-kind=disputes]")
    expect(link).to_be_visible()
    # The page starts the download itself once the file is written.
    with page.expect_download() as started:
        link.click()
        ready = page.locator(".export-ready")
        expect(ready).to_be_visible()
    download = started.value
    assert download.suggested_filename.endswith(".xlsx")
    rows = int(ready.get_attribute("data-rows"))
    expect(ready).to_contain_text(f"{rows}")

    # The bar is full, and it is the newest state of the bar that the person sees.
    bars = page.locator(".stream-bars .stream-bar")
    last = bars.last
    assert last.locator("progress").get_attribute("value") == str(rows)
    assert last.locator("progress").get_attribute("max") == str(rows)
    expect(last.locator("progress")).to_be_visible()
    assert last.evaluate("""bar => { const r = bar.getBoundingClientRect();
        return bar.contains(document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2)); }""")
    expect(last).to_contain_text(f"{rows} / {rows}")
    # What the page said while writing is covered by the finished bar, not left above it.
    working = page.locator(".stream-bars .stream-bar", has_text="正在逐行生成台账").first
    assert working.evaluate("""bar => { const r = bar.getBoundingClientRect();
        return !bar.contains(document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2)); }""")
    expect(last).not_to_contain_text("正在逐行生成台账")
    # Every state is one line, so the finished one leaves no gap where the words were.
    assert last.evaluate("bar => bar.getBoundingClientRect().height") == working.evaluate(
        "bar => bar.getBoundingClientRect().height")
    # The link to the file is a button whose label can be read.
    button = page.locator("a[data-ledger-download]")
    assert button.evaluate("a => getComputedStyle(a).color !== getComputedStyle(a).backgroundColor")
    expect(page.locator("a[data-ledger-download]")).to_contain_text(download.suggested_filename)

    # The file holds the rows the page counted, under the ledger's header.
    sheet = load_workbook(io.BytesIO(download.path().read_bytes()), read_only=True).active
    filled = [row for row in sheet.iter_rows(values_only=True) if any(cell is not None for cell in row)]
    assert rows > 0
    assert len(filled) > rows
    assert [row[0] for row in filled[-rows:]] == list(range(1, rows + 1))

    # The whole page came: the download, started at its end, cut nothing off.
    expect(page.get_by_role("link", name="返回台账")).to_be_visible()
    width = SCREENS[screen]["viewport"]["width"]
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    shot(page, f"ledger-export-{screen}")
