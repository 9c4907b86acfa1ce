"""The Simplified Chinese catalogue (locale/zh_Hans): complete, compiled, and used.

Users read Chinese first, so an English string leaking into the pages is a defect. The
.po is parsed with the standard library only; the committed .mo must match it, because
the project ships compiled catalogues and does not need gettext to run.
"""

from __future__ import annotations

import ast
import gettext
import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings
from django.utils.translation import override

from cases.models import Case
from workflow.errors import CaseNotFound
from workflow.flow import CaseFlow

LC_MESSAGES = Path(settings.BASE_DIR) / "locale" / "zh_Hans" / "LC_MESSAGES"
PO = LC_MESSAGES / "django.po"
MO = LC_MESSAGES / "django.mo"
MSGFMT = Path("/usr/bin/msgfmt")

ASCII_LETTER = re.compile(r"[A-Za-z]")
# %(name)s, %s, %d …; "%%" is a literal percent sign.
PLACEHOLDER = re.compile(r"%(?:\([^)]*\))?[-#0 +]*\d*(?:\.\d+)?[sdifrxXeEgGcou%]")


@dataclass
class Entry:
    msgid: str = ""
    msgid_plural: str | None = None
    msgctxt: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)
    obsolete: bool = False

    @property
    def key(self) -> str:
        """The key the entry has in a compiled catalogue."""
        return self.msgid if self.msgctxt is None else f"{self.msgctxt}\x04{self.msgid}"


def parse_po(path: Path) -> list[Entry]:
    """A small .po reader: comments, flags, msgctxt, msgid(_plural), msgstr([n]) with
    continuation lines. Obsolete (#~) entries are read and marked as such."""
    entries: list[Entry] = []
    entry = Entry()
    target: tuple[str, int | None] | None = None
    seen_keyword = False

    def finish() -> None:
        nonlocal entry, target, seen_keyword
        if seen_keyword:
            entries.append(entry)
        entry, target, seen_keyword = Entry(), None, False

    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        obsolete = line.startswith("#~")
        if obsolete:
            line = line[2:].strip()
        if not line:
            finish()
            continue
        if line.startswith("#,") and not obsolete:
            if seen_keyword:
                finish()
            entry.flags.update(flag.strip() for flag in line[2:].split(",") if flag.strip())
            continue
        if line.startswith("#"):
            if seen_keyword and not obsolete:
                finish()
            continue
        keyword, _, rest = line.partition(" ")
        if line.startswith('"'):
            assert target is not None, f"continuation line without a keyword: {raw!r}"
            value = ast.literal_eval(line)
        else:
            value = ast.literal_eval(rest.strip())
            if keyword == "msgctxt" or (keyword == "msgid" and target is not None and target[0] != "msgctxt"):
                finish()
            seen_keyword = True
            entry.obsolete = entry.obsolete or obsolete
            match = re.fullmatch(r"msgstr\[(\d+)\]", keyword)
            if match:
                target = ("msgstr", int(match.group(1)))
            elif keyword in ("msgctxt", "msgid", "msgid_plural", "msgstr"):
                target = (keyword, 0 if keyword == "msgstr" else None)
            else:
                raise AssertionError(f"unknown keyword in {path}: {raw!r}")
            _store(entry, target, "")
        _store(entry, target, _load(entry, target) + value)
    finish()
    return entries


def _load(entry: Entry, target: tuple[str, int | None]) -> str:
    name, index = target
    if name == "msgstr":
        return entry.msgstr.get(index or 0, "")
    return getattr(entry, name) or ""


def _store(entry: Entry, target: tuple[str, int | None], value: str) -> None:
    name, index = target
    if name == "msgstr":
        entry.msgstr[index or 0] = value
    else:
        setattr(entry, name, value)


@pytest.fixture(scope="module")
def entries() -> list[Entry]:
    assert PO.exists(), f"{PO} is missing: run makemessages -l zh_Hans"
    return parse_po(PO)


@pytest.fixture(scope="module")
def messages(entries: list[Entry]) -> list[Entry]:
    """The translatable entries: neither the header nor obsolete ones."""
    found = [e for e in entries if e.msgid and not e.obsolete]
    assert found, "the catalogue has no messages"
    return found


def header(entries: list[Entry]) -> dict[str, str]:
    head = next(e for e in entries if e.msgid == "" and e.msgctxt is None and not e.obsolete)
    assert "fuzzy" not in head.flags, "the header is still marked fuzzy"
    lines = [line for line in head.msgstr[0].split("\n") if line]
    return {key.strip(): value.strip() for key, _, value in (line.partition(":") for line in lines)}


def test_header(entries: list[Entry]) -> None:
    fields = header(entries)
    assert fields["Language"] == "zh_Hans"
    assert fields["Content-Type"] == "text/plain; charset=UTF-8"
    assert fields["Plural-Forms"].replace(" ", "") == "nplurals=1;plural=0;"


def test_every_entry_is_translated_and_none_is_fuzzy(messages: list[Entry]) -> None:
    fuzzy = [e.msgid for e in messages if "fuzzy" in e.flags]
    untranslated = [e.msgid for e in messages if not e.msgstr or not all(e.msgstr.values())]
    assert not fuzzy, f"fuzzy entries: {fuzzy}"
    assert not untranslated, f"untranslated entries: {untranslated}"


def test_no_duplicate_msgids(messages: list[Entry]) -> None:
    keys = [e.key for e in messages]
    assert len(keys) == len(set(keys))


def test_placeholders_and_quotes_are_kept(messages: list[Entry]) -> None:
    for e in messages:
        wanted = sorted(PLACEHOLDER.findall(e.msgid))
        for translation in e.msgstr.values():
            assert sorted(PLACEHOLDER.findall(translation)) == wanted, (e.msgid, translation)
            for mark in "“”":
                assert translation.count(mark) == e.msgid.count(mark), (e.msgid, translation)


def test_translations_are_chinese(messages: list[Entry]) -> None:
    """Nothing left in English: the only Latin letters allowed are those of placeholders
    and of codes that stay as they are (the X of an ID number, the YYYY-MM of a format
    the message itself spells out)."""
    for e in messages:
        codes = set(re.findall(r"\b[A-Z][A-Z0-9]*\b", e.msgid)) | {"X"}
        for translation in e.msgstr.values():
            rest = PLACEHOLDER.sub("", translation)
            for code in sorted(codes, key=len, reverse=True):
                rest = rest.replace(code, "")
            assert not ASCII_LETTER.search(rest), (e.msgid, translation)


@pytest.mark.skipif(not MSGFMT.exists(), reason="gettext's msgfmt is not installed")
def test_msgfmt_agrees() -> None:
    result = subprocess.run(
        [str(MSGFMT), "--check", "--statistics", "-o", os.devnull, str(PO)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "untranslated" not in result.stderr and "fuzzy" not in result.stderr, result.stderr


def test_compiled_catalogue_matches_the_po(messages: list[Entry]) -> None:
    """The committed .mo was compiled from the current .po (run compilemessages)."""
    assert MO.exists(), f"{MO} is missing: run compilemessages -l zh_Hans"
    with MO.open("rb") as fp:
        compiled = gettext.GNUTranslations(fp)
    catalog = compiled._catalog  # type: ignore[attr-defined]
    stale = []
    for e in messages:
        if e.msgid_plural is None:
            if catalog.get(e.key) != e.msgstr[0]:
                stale.append(e.msgid)
        else:
            for n, translation in e.msgstr.items():
                if catalog.get((e.key, n)) != translation:
                    stale.append(e.msgid)
    assert not stale, f"django.mo is older than django.po for: {stale}"
    keys = {key if isinstance(key, str) else key[0] for key in catalog if key != ""}
    extra = keys - {e.key for e in messages}
    assert not extra, f"django.mo has messages the .po no longer has: {sorted(extra)}"
    assert compiled.info().get("language") == "zh_Hans"
    assert compiled.charset() == "UTF-8"


def accept_label() -> str:
    return str([t for t in CaseFlow.accept.get_transitions()][0].label)


def test_strings_render_in_chinese() -> None:
    with override("zh-hans"):
        assert str(Case.Stage.REPORTED.label) == "已登记"
        assert accept_label() == "受理"
        message = CaseNotFound().message
        assert message and not ASCII_LETTER.search(message), message


def test_strings_render_in_english() -> None:
    with override("en"):
        assert str(Case.Stage.REPORTED.label) == "Reported"
        assert accept_label() == "Accept"
        assert CaseNotFound().message == "No such case."


def test_every_operation_label_is_in_the_catalogue(messages: list[Entry]) -> None:
    """The buttons of the state machine. Their labels are marked with an alias
    (`_lazy`) that a plain `makemessages` does not extract, so a refresh that drops them
    from the .po would silently turn the buttons back to English."""
    msgids = {e.msgid for e in messages}
    with override("en"):
        english = {str(t.label) for method in CaseFlow.stage.get_transitions() for t in method.get_transitions()}
    assert english <= msgids, f"operation labels missing from django.po: {sorted(english - msgids)}"
    with override("zh-hans"):
        chinese = {str(t.label) for method in CaseFlow.stage.get_transitions() for t in method.get_transitions()}
    assert english and not any(ASCII_LETTER.search(label) for label in chinese), sorted(chinese)


# The translation functions the code calls (and the aliases it imports them as), and where
# each takes its context and its message among its arguments.
TRANSLATING = {"_": (None, 0), "gettext": (None, 0), "gettext_lazy": (None, 0), "gettext_noop": (None, 0),
               "_lazy": (None, 0), "ngettext": (None, 0), "ngettext_lazy": (None, 0),
               "pgettext": (0, 1), "pgettext_lazy": (0, 1), "npgettext": (0, 1), "npgettext_lazy": (0, 1)}


def marked_messages() -> tuple[set[tuple[str | None, str]], list[str]]:
    """Every (context, message) the project's Python code passes to a translation
    function, and the places where such a call sits inside an f-string."""
    root = Path(settings.BASE_DIR)
    listed = ["git", "ls-files", "--cached", "--others", "--exclude-standard", "*.py"]
    sources = subprocess.run(listed, cwd=root, capture_output=True, text=True, check=True).stdout.split()
    marked, in_fstrings = set(), []
    for source in sources:
        if source.startswith("tests/"):
            continue
        tree = ast.parse((root / source).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.JoinedStr):
                in_fstrings += [f"{source}:{call.lineno} {ast.unparse(call)}" for call in ast.walk(node)
                                if isinstance(call, ast.Call) and getattr(call.func, "id", None) in TRANSLATING]
            if not isinstance(node, ast.Call) or getattr(node.func, "id", None) not in TRANSLATING:
                continue
            context, message = TRANSLATING[node.func.id]
            args = node.args
            if len(args) > message and all(isinstance(a, ast.Constant) and isinstance(a.value, str)
                                           for a in args[:message + 1]):
                marked.add((args[context].value if context is not None else None, args[message].value))
    return marked, in_fstrings


def test_every_message_the_python_code_marks_is_in_the_catalogue(messages: list[Entry]) -> None:
    """A string marked for translation in the code but missing from the .po shows in
    English on a Chinese page (the export's bar and the import's result once did). Every
    one is in the catalogue, and none is marked inside an f-string, where makemessages
    does not look: a refresh of the catalogue would leave it out."""
    marked, in_fstrings = marked_messages()
    assert len(marked) > 100
    assert not in_fstrings, f"translation calls inside f-strings, which makemessages skips: {in_fstrings}"
    missing = marked - {(e.msgctxt, e.msgid) for e in messages}
    assert not missing, f"marked in the code but missing from django.po (run makemessages): {sorted(missing)}"
