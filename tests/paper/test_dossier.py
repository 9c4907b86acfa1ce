"""The whole file of a case (一案一卷): cover, contents whose page numbers are the pages the
documents begin on, every form in the file's order, the uploads bound or kept apart, the
back cover; written in time and memory that grow with its pages, not faster."""

from __future__ import annotations

import io
import re
import time
import tracemalloc
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from pypdf import PdfReader, PdfWriter

from cases.models import Case, CaseDocument
from paper import dossier
from paper.dossier import AppendLimits, render_dossier
from tests.conftest import local

from .conftest import (
    AGREEMENT,
    RAW_IDS,
    answered_petition,
    mediating,
    pages_of,
    rejected_petition,
    step,
    text_of,
    upload_pdf,
    visited,
)

pytestmark = pytest.mark.django_db

FRONT = 2  # cover and contents, not numbered


def contents_pages(contents: str, titles: list[str]) -> list[int]:
    """The page the contents give each of `titles`, the file's rows in order: the digits
    between a row's title (after its serial) and the next row's serial."""
    numbers, position = [], 0
    for n, title in enumerate(titles, start=1):
        after = str(n + 1) if n < len(titles) else "$"
        found = re.compile(rf"{n}{re.escape(title)}(\d+?)(?:上传文件，\d+页|原件另存)?(?={after})").search(contents, position)
        assert found, (n, title, contents)
        numbers.append(int(found.group(1)))
        position = found.end()
    return numbers


def attach(case: Case, cast: Any, n: int, upload: Any, title: str) -> None:
    step(case, "attach_document", cast.mia, local(2026, 3, 9, 9) + timedelta(minutes=n), files={"file": upload},
         title=title)


def test_the_contents_give_the_page_each_document_begins_on(cast: Any, media: Any) -> None:
    pages = pages_of(render_dossier(visited(cast)))
    assert pages[0].startswith("卷号：（2026）柳林人调字第1号人民调解卷宗") and "卷内目录" in pages[1]
    rows = [("人民调解申请书", "人民调解申请书"), ("人民调解受理登记表", "人民调解受理登记表"), ("调查记录", "调查记录"),
            ("人民调解记录（调解笔录）2026年3月5日", "人民调解记录"), ("人民调解协议书", "人民调解协议书"),
            ("调解协议书", "已签署的调解协议书扫描件"),  # the signed scan, bound
            ("回访记录2026年3月25日", "回访记录"), ("结案报告", "结案报告")]
    numbers = contents_pages(pages[1], [title for title, _ in rows])
    for (title, heading), number in zip(rows, numbers, strict=True):
        page = pages[FRONT + number - 1]
        assert heading in page[:60], (title, number, page[:80])
        assert page.endswith(str(number)), (title, page[-20:])  # the page's own number, at its foot
    assert numbers == sorted(numbers) and numbers[0] == 1
    assert "上传文件，1页" in pages[1]
    # The back cover counts the documents and the numbered pages, and carries no number.
    total = len(pages) - FRONT - 1
    assert f"本卷共有文件材料{len(rows)}件，共{total}页。" in pages[-1] and pages[-1].startswith("卷内备考表")
    assert pages[FRONT + total - 1].endswith(str(total))


def test_the_file_follows_the_order_of_a_mediation_file(cast: Any, media: Any) -> None:
    text = "".join(pages_of(render_dossier(visited(cast)))[FRONT:])
    order = ["人民调解申请书案件编号", "人民调解受理登记表", "调查记录案件编号", "人民调解记录（调解笔录）",
             "人民调解协议书当事人基本情况", "已签署的调解协议书扫描件", "回访记录案件编号", "结案报告卷号", "卷内备考表"]
    positions = [text.index(heading) for heading in order]
    assert positions == sorted(positions)
    assert AGREEMENT in text


def test_a_petitions_file_holds_its_notices(cast: Any, media: Any) -> None:
    pages = pages_of(render_dossier(answered_petition(cast)))
    assert "信访事项卷宗" in pages[0]
    assert contents_pages(pages[1], ["信访事项受理告知书", "信访事项处理意见书", "回访记录"]) == [1, 2, 4]
    text = "".join(pages)
    assert "复查" in text and "60日内办结" in text
    refused = "".join(pages_of(render_dossier(rejected_petition(cast))))
    assert "信访事项不予受理告知书" in refused and "本卷共有文件材料1件" in refused


def test_uploads_that_are_no_readable_pdf_are_listed_and_kept_apart(cast: Any, media: Any) -> None:
    case = mediating(cast)
    rotated = PdfWriter()
    rotated.add_blank_page(792, 612)  # a landscape Letter page, turned: bound upright, scaled to A4
    rotated.pages[0].rotate(90)
    buffer = io.BytesIO()
    rotated.write(buffer)
    encrypted = PdfWriter()
    encrypted.add_blank_page(595, 842)
    encrypted.encrypt("secret")
    locked = io.BytesIO()
    encrypted.write(locked)
    uploads = [
        (upload_pdf("现场照片说明"), "现场照片说明"),
        (SimpleUploadedFile("现场.jpg", b"\xff\xd8\xff\xe0" + b"0" * 100), "现场照片"),
        (SimpleUploadedFile("假的.pdf", b"not a pdf at all"), "损坏的文件"),
        (SimpleUploadedFile("加密.pdf", locked.getvalue()), "加密的文件"),
        (SimpleUploadedFile("横向.pdf", buffer.getvalue()), "横向扫描件"),
    ]
    uploads.append((upload_pdf("已遗失"), "文件已不在存储中"))
    for n, (upload, title) in enumerate(uploads):
        attach(case, cast, n, upload, title)
    lost = CaseDocument.objects.get(case=case, title="文件已不在存储中")
    Path(lost.file.path).unlink()
    pages = pages_of(render_dossier(Case.objects.get(pk=case.pk)))
    contents = pages[1]
    for title in ("现场照片", "损坏的文件", "加密的文件", "文件已不在存储中"):
        assert re.search(rf"\d{title}—原件另存", contents), title
    assert re.search(r"\d现场照片说明\d+上传文件，1页", contents)
    assert re.search(r"\d横向扫描件\d+上传文件，1页", contents)
    assert any(page.startswith("现场照片说明") for page in pages)
    assert "下列材料原件另存：《现场照片》、《损坏的文件》、《加密的文件》、《文件已不在存储中》。" in pages[-1]


def test_uploads_past_the_limits_are_listed_not_bound(cast: Any, media: Any, monkeypatch: Any) -> None:
    case = mediating(cast)
    for n in range(3):
        attach(case, cast, n, upload_pdf(f"证据{n}"), f"证据材料{n}")
    monkeypatch.setattr(dossier, "APPEND_LIMITS", AppendLimits(pages_total=2))
    pages = pages_of(render_dossier(Case.objects.get(pk=case.pk)))
    assert [bool(re.search(rf"证据材料{n}\d+上传文件", pages[1])) for n in range(3)] == [True, True, False]
    assert "证据材料2—原件另存" in pages[1]


def test_the_file_is_masked_unless_printed_in_full(cast: Any, media: Any) -> None:
    case = visited(cast)
    masked, shown = (text_of(render_dossier(case, full=full)) for full in (False, True))
    assert not any(raw in masked for raw in RAW_IDS) and all(raw in shown for raw in RAW_IDS)


def timed(case: Case) -> tuple[float, int, int]:
    """Seconds of this process's CPU (the best of three: the test suite's other runs share
    the machine's cores, and wall time followed them) and the peak of traced memory for
    the case's file."""
    seconds = []
    for _ in range(3):
        start = time.process_time()
        render_dossier(case)
        seconds.append(time.process_time() - start)
    tracemalloc.start()
    try:
        pdf = render_dossier(case)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return min(seconds), peak, len(PdfReader(io.BytesIO(pdf)).pages)


def test_a_large_file_is_written_in_time_and_memory_that_follow_its_pages(cast: Any, media: Any) -> None:
    baseline = mediating(cast, sessions=1)
    large = mediating(cast, sessions=30)
    for n in range(20):  # ten bound PDFs and ten photos kept apart
        upload = upload_pdf(f"证据材料第{n}号") if n % 2 == 0 else SimpleUploadedFile(f"照片{n}.jpg", b"\xff\xd8\xff" + b"0" * 999)
        attach(large, cast, n, upload, f"证据材料{n}")
    large = Case.objects.get(pk=large.pk)
    render_dossier(baseline)  # fonts and templates loaded once, before either is measured
    base_seconds, base_peak, base_pages = timed(baseline)
    large_seconds, large_peak, large_pages = timed(large)
    time_ratio, memory_ratio, page_ratio = large_seconds / base_seconds, large_peak / base_peak, large_pages / base_pages
    print(f"PAPER dossier pages {base_pages} → {large_pages} ({page_ratio:.1f}×), time {time_ratio:.1f}×, "
          f"traced memory peak {base_peak // 2**20} → {large_peak // 2**20} MiB ({memory_ratio:.2f}×)")
    assert large_pages >= 45
    # Time grows with the pages, not faster; memory much slower (the fonts dominate it).
    assert time_ratio <= 1.5 * page_ratio
    assert memory_ratio <= 3
