"""Import of a legacy 矛盾纠纷排查化解台账 (README: Pages): an xlsx in the layout
reports.ledgers writes becomes cases, registered with workflow.services.report_case() at the
recorded date and moved with workflow.services.transition() at the recorded dates, so the
audit trail and the deadlines are what real use would have left.

Every row is checked before anything is written; any bad row (with its row number and
reason) refuses the whole file, and the import itself is one transaction: a file is
imported whole or not at all.

What a row becomes, by what it records:
- 办结方式 已化解并回访: accepted, resolved, visited (回访满意度 required);
- 办结方式 不予受理 / 已撤回: rejected / withdrawn on 办结日期;
- 办结方式 已移交: accepted, referred to another department on 办结日期;
- 化解日期 without 办结方式: accepted and resolved;
- 受理日期 alone: accepted; nothing: registered.
Accepting needs 承办人 (a user, by name or username) and 牵头部门 (a department). The
steps of one day are placed at 09:00, 10:00, 15:00 and 16:00 local time, in order.

Where the ledger has them, the columns 发生时间 and 发生地点 give when and where the matter
arose, and 性别, 民族, 出生日期, 职业 and 住址 describe the first party of 当事人; they are
checked as at every door (cases.forms).

The file comes from anyone who may import, so it is held to a ledger's size and shape
before openpyxl parses any of it (`check_package`), and read within those bounds.
"""

from __future__ import annotations

import os
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import IO, Any
from xml.parsers import expat
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from cases.ethnicity import by_name as ethnicity_by_name
from cases.forms import IntakeForm, PartyForm
from cases.models import Case, OrgUnit, Party, Sex
from cases.wording import series
from workflow import services
from workflow.errors import CaseOperationError
from workflow.permissions import assignable_users, lead_departments, may_import_into, visible_to

from .ledgers import Labels

REQUIRED = ("登记日期", "村（社区）", "纠纷名称", "纠纷类别", "来源", "当事人", "简要情况")
HOURS = {"report": 9, "accept": 10, "resolve": 15, "close": 16}
DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y年%m月%d日", "%Y%m%d")
# A moment as ledgers write it; a date alone is the start of its day.
MOMENT_FORMATS = tuple(f"{day}{between}{clock}" for day in DATE_FORMATS[:4] for between in (" ", "T", "")
                       for clock in ("%H:%M", "%H:%M:%S", "%H时%M分", "%H时")) + DATE_FORMATS
SEXES = {"男": Sex.MALE, "女": Sex.FEMALE, "男性": Sex.MALE, "女性": Sex.FEMALE}
# The optional columns of the first party, and the form's fields they fill.
PARTY_COLUMNS = {"性别": "sex", "民族": "ethnicity", "出生日期": "birth_date", "职业": "occupation", "住址": "address"}
CASE_COLUMNS = {"发生时间": "occurred_at", "发生地点": "occurred_place"}
# A refused field's column, to name it in the row's error.
PARTY_FIELDS = {field: column for column, field in PARTY_COLUMNS.items()}
CASE_FIELDS = {field: column for column, field in CASE_COLUMNS.items()}
PARTY = re.compile(r"^(?P<name>.+?)\s*[（(](?P<role>[^）)]+)[）)]$")

# What a file may hold. A hand-kept ledger has about 20 columns and a township's few
# hundred rows a year; these bounds are far above any real one, and keep a hostile file
# from taking the server's memory or time: openpyxl pads every row it reads to the
# widest column the sheet declares or uses (16,384 at column XFD) and every gap between
# rows with empty ones, and keeps all the cells of a row at once.
MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_COLUMNS = 100
MAX_ROWS = 20_000
# Unpacked, a ledger of 20,000 rows written by openpyxl is some 30 MB of XML.
MAX_UNPACKED_BYTES = 100 * 1024 * 1024
# Spreadsheet XML packs 5 to 20 times; a zip bomb, a thousand times and more.
MAX_PACKING_RATIO = 100
# Parts openpyxl reads whole into memory, some 100 bytes an element: the shared strings
# (two or three elements a distinct text; a full ledger has fewer than a million) and the
# rest (styles, the workbook, relationships: a few thousand elements in a real file).
MAX_SHARED_STRING_ELEMENTS = 1_000_000
MAX_PART_ELEMENTS = 100_000
SHEET_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
CELL_REFERENCE = re.compile(r"^\$?([A-Za-z]+)\$?([0-9]+)$")


@dataclass(frozen=True)
class RowError:
    row: int  # the spreadsheet's row number (1 = the first row)
    column: str
    message: str

    def __str__(self) -> str:
        where = _("row %(row)s") % {"row": self.row} if self.row else _("file")
        return f"{where}, {self.column}: {self.message}" if self.column else f"{where}: {self.message}"


class ImportRefused(Exception):
    def __init__(self, errors: list[RowError]) -> None:
        self.errors = errors
        rows = len({e.row for e in errors if e.row})
        if len(errors) == 1 and not errors[0].column:  # the file itself, or the one row the service refused
            super().__init__(_("Nothing was imported: %(reason)s") % {"reason": errors[0]})
        else:
            super().__init__(_("Nothing was imported: %(rows)s row(s) have errors.") % {"rows": rows})


@dataclass
class Row:
    number: int
    legacy_number: str
    data: dict[str, Any]
    parties: list[dict[str, Any]]
    reported: date
    accepted: date | None = None
    resolved: date | None = None
    closed: date | None = None
    closure: str = ""
    outcome: str = ""
    outcome_summary: str = ""
    satisfaction: str = ""
    assignee: Any = None
    lead: OrgUnit | None = None


@dataclass
class ImportResult:
    case_ids: list[int] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.case_ids)


Progress = Callable[[int, int], None]


def normal(header: Any) -> str:
    """A header as written by hand: spaces dropped, half-width parentheses made full."""
    text = str(header or "").strip().replace(" ", "").replace("\u3000", "")
    return text.replace("(", "（").replace(")", "）")


def read_rows(source: str | IO[bytes]) -> tuple[dict[str, int], list[tuple[int, tuple[Any, ...]]]]:
    """The header's columns and the data rows (with their row numbers) of the first sheet."""
    check_package(source)
    try:
        rows = first_sheet(source)
    except Exception as error:
        # A malformed part makes openpyxl raise whatever its parser met: ParseError,
        # ValueError, KeyError, IndexError… Each means the same to the person uploading.
        reason = str(error) or type(error).__name__
        raise ImportRefused([RowError(0, "", _("The file is not a readable xlsx workbook: %(reason)s")
                                      % {"reason": reason[:200]})]) from None
    if rows is None:
        raise ImportRefused([RowError(0, "", _("The workbook has no sheet."))])
    if len(rows) > MAX_ROWS:
        raise ImportRefused([RowError(0, "", too_long())])
    for i, row in enumerate(rows[:10]):
        names = [normal(cell) for cell in row]
        if "纠纷名称" in names and "登记日期" in names:
            columns = {name: j for j, name in enumerate(names) if name}
            missing = [name for name in REQUIRED if name not in columns]
            if missing:
                raise ImportRefused([RowError(i + 1, "", _("Columns missing: %(columns)s.")
                                              % {"columns": series(missing)})])
            data = [(i + 2 + k, r) for k, r in enumerate(rows[i + 1:])
                    if any(c not in (None, "") for c in r)]
            return columns, data
    raise ImportRefused([RowError(0, "", _("No header row with the columns of a 矛盾纠纷排查化解台账 was found; "
                                           "the columns needed are: %(columns)s.") % {"columns": series(REQUIRED)})])


def first_sheet(source: str | IO[bytes]) -> list[tuple[Any, ...]] | None:
    """The rows of the first sheet (None if there is none), MAX_COLUMNS wide, and at most
    one past MAX_ROWS: openpyxl reads no further, whatever the sheet declares or holds."""
    import openpyxl

    book = openpyxl.load_workbook(source, read_only=True, data_only=True)
    try:
        if not book.worksheets:
            return None
        sheet = book.worksheets[0]
        # What the sheet holds, not the size it declares (checked by check_package): a
        # declared size smaller than the data would silently cut rows off.
        sheet.reset_dimensions()
        return list(sheet.iter_rows(max_row=MAX_ROWS + 1, max_col=MAX_COLUMNS, values_only=True))
    finally:
        book.close()


def check_package(source: str | IO[bytes]) -> None:
    """Refuses, before openpyxl parses anything, a file larger than a ledger can be: its
    size, packed and unpacked, and the size of each sheet, declared and used. Refuses
    XML entities too, which no workbook declares, and a billion-laughs file does."""
    try:
        reason = package_problem(source)
    except Exception:
        # A damaged zip makes zipfile or zlib raise many kinds of errors.
        reason = _("The file is not an xlsx workbook.")
    if reason:
        raise ImportRefused([RowError(0, "", reason)])


def package_problem(source: str | IO[bytes]) -> str | None:
    """Why the file is refused, or None."""
    size = os.path.getsize(source) if isinstance(source, str | os.PathLike) else source.seek(0, os.SEEK_END)
    if size > MAX_FILE_BYTES:
        return _("The file is larger than %(size)s MB.") % {"size": MAX_FILE_BYTES // (1024 * 1024)}
    with zipfile.ZipFile(source) as package:
        parts = package.infolist()
        # zipfile never unpacks more than these declared sizes: past them it stops with
        # an error, so the sums bound the work.
        unpacked = sum(part.file_size for part in parts)
        if unpacked > MAX_UNPACKED_BYTES:
            return _("The file unpacks to more than %(size)s MB, as no ledger does.") % {
                "size": MAX_UNPACKED_BYTES // (1024 * 1024)}
        if unpacked > MAX_PACKING_RATIO * sum(part.compress_size for part in parts):
            return _("The file packs its contents more than %(ratio)s times, as no workbook does.") % {
                "ratio": MAX_PACKING_RATIO}
        for part in parts:
            with package.open(part) as xml:
                problem = PartCheck(part.filename).check(xml)
            if problem:
                return problem
    return None


def too_long() -> str:
    return _("A sheet of the file is longer than %(rows)s rows; a ledger has fewer: delete the empty rows "
             "at its end, or import it in parts.") % {"rows": MAX_ROWS}


def too_wide() -> str:
    return _("A sheet of the file is wider than %(columns)s columns (beyond column %(last)s); a ledger has "
             "about 20: delete the columns beyond.") % {"columns": MAX_COLUMNS, "last": column_letters(MAX_COLUMNS)}


def column_number(letters: str) -> int:
    number = 0
    for letter in letters.upper():
        number = number * 26 + ord(letter) - ord("A") + 1
    return number


def column_letters(number: int) -> str:
    letters = ""
    while number:
        number, rest = divmod(number - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


class OutOfBounds(Exception):
    pass


class PartCheck:
    """Reads one XML part of the file with expat, the parser openpyxl uses, so in the
    encoding it will read: refuses a document type declaration (where entities are
    declared) and, for a worksheet, a declared size, a row number or a cell's column
    beyond the bounds, and more cells in a row than MAX_COLUMNS. Counts as openpyxl
    does: a row or cell without its reference follows the one before."""

    DIMENSION, ROW, CELL = (f"{SHEET_NS} {name}" for name in ("dimension", "row", "c"))

    def __init__(self, name: str = "") -> None:
        self.row = 0
        self.column = 0
        self.cells = 0  # since the row began: openpyxl holds them all until its end
        # Worksheets are streamed, bounded by their rows and columns; other parts are
        # read whole, bounded by their count of elements.
        self.elements = 0
        self.max_elements = (None if "worksheets/" in name else MAX_SHARED_STRING_ELEMENTS
                             if name.lower().endswith("sharedstrings.xml") else MAX_PART_ELEMENTS)

    def check(self, xml: IO[bytes]) -> str | None:
        parser = expat.ParserCreate(namespace_separator=" ")
        parser.StartDoctypeDeclHandler = self.doctype
        parser.StartElementHandler = self.element
        try:
            while chunk := xml.read(64 * 1024):
                parser.Parse(chunk, False)
            parser.Parse(b"", True)
        except OutOfBounds as refused:
            return str(refused)
        except expat.ExpatError:
            # Not XML (a picture), or malformed: openpyxl fails on it too, if it reads it.
            return None
        return None

    def doctype(self, *args: Any) -> None:
        raise OutOfBounds(_("The file declares XML entities, as no workbook does."))

    def element(self, name: str, attributes: dict[str, str]) -> None:
        self.elements += 1
        if self.max_elements is not None and self.elements > self.max_elements:
            raise OutOfBounds(_("A part of the file holds more than %(count)s XML elements, as no ledger "
                                "does.") % {"count": self.max_elements})
        if name == self.CELL:
            reference = CELL_REFERENCE.match(attributes.get("r", ""))
            self.column = column_number(reference.group(1)) if reference else self.column + 1
            self.cells += 1
            if self.column > MAX_COLUMNS or self.cells > MAX_COLUMNS:
                raise OutOfBounds(too_wide())
        elif name == self.ROW:
            self.row = row_number(attributes["r"]) if "r" in attributes else self.row + 1
            self.column = self.cells = 0
            if self.row > MAX_ROWS:
                raise OutOfBounds(too_long())
        elif name == self.DIMENSION:
            last = CELL_REFERENCE.match(attributes.get("ref", "").rpartition(":")[2])
            if last and column_number(last.group(1)) > MAX_COLUMNS:
                raise OutOfBounds(too_wide())
            if last and int(last.group(2)) > MAX_ROWS:
                raise OutOfBounds(too_long())


def row_number(text: str) -> int:
    """A row's number as openpyxl reads it (it takes "3.0" too); 0 where it would fail."""
    try:
        return int(float(text))
    except (ValueError, OverflowError):
        return 0


def parse_date(value: Any) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip()
    for fmt in DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError(_("“%(value)s” is not a date (write 2026-03-05).") % {"value": text})


def parse_moment(value: Any) -> datetime | None:
    """A date and time of a cell, in local time; a date alone is the start of its day."""
    if value in (None, ""):
        return None
    tz = ZoneInfo(settings.TIME_ZONE)
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=tz)
    if isinstance(value, date):
        return datetime.combine(value, time.min, tzinfo=tz)
    text = str(value).strip()
    for fmt in MOMENT_FORMATS:
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=tz)
        except ValueError:
            continue
    raise ValueError(_("“%(value)s” is not a date and time (write 2026-03-05 14:30).") % {"value": text})


def reverse(labels: dict[str, str], extra: dict[str, str] | None = None) -> dict[str, str]:
    """Label → value, also under the label's short form ("山林土地" for "山林土地（土地流转）")
    and with a trailing 纠纷, as hand-kept ledgers write them; values map to themselves."""
    out = {value: value for value in labels}
    for value, label in labels.items():
        short = re.split(r"[（(]", label)[0]
        for form in {label, short}:
            out[form] = value
            out[form + "纠纷"] = value
    out.update(extra or {})
    return out


class Lookups:
    def __init__(self, unit: OrgUnit | None) -> None:
        lb = Labels()
        self.category = reverse(lb.category, {"土地流转": "land_forest", "劳资": "labour", "工伤": "labour",
                                              "医患": "medical", "交通事故": "road_traffic",
                                              "道路交通事故": "road_traffic", "安全事故": "work_safety"})
        self.source = reverse(lb.source, {"12345": "12345", "110": "110", "来电": "phone"})
        self.risk = reverse(lb.risk)
        self.closure = reverse(lb.closure, {"回访办结": "visited", "移交": "referred", "撤回": "withdrawn"})
        self.outcome = reverse({k: v for k, v in lb.outcome.items() if k.startswith("agreement")},
                               {"书面协议": "agreement_written", "口头协议": "agreement_oral"})
        self.satisfaction = reverse(lb.satisfaction)
        self.role = {label: value for value, label in lb.party_role.items()}
        scope = OrgUnit.objects.all() if unit is None else OrgUnit.objects.filter(path__startswith=unit.path)
        self.villages: dict[str, list[OrgUnit]] = {}
        for village in scope.filter(level=OrgUnit.Level.VILLAGE).select_related("parent"):
            self.villages.setdefault(village.name, []).append(village)


def flag(value: Any) -> bool:
    return str(value or "").strip() in ("是", "1", "Y", "y", "yes", "True", "true", "√")


def validate(columns: dict[str, int], rows: list[tuple[int, tuple[Any, ...]]], unit: OrgUnit | None, *,
             check_existing: bool = True, actor: Any = None) -> tuple[list[Row], list[RowError]]:
    """Every row parsed, or the errors of every bad one. `check_existing`: also refuse a
    row already registered (the same village, title and registration day) among the cases
    `actor` may see (all, for the system): a case out of their reach is never named."""
    look = Lookups(unit)
    errors: list[RowError] = []
    parsed: list[Row] = []
    seen: dict[tuple[Any, ...], int] = {}

    for number, cells in rows:
        def cell(name: str) -> Any:
            j = columns.get(name)
            value = cells[j] if j is not None and j < len(cells) else None
            return value.strip() if isinstance(value, str) else value

        def text(name: str) -> str:
            value = cell(name)
            return "" if value is None else str(value).strip()

        bad = len(errors)

        def err(column: str, message: str) -> None:
            errors.append(RowError(number, column, message))

        dates: dict[str, date | None] = {}
        for name in ("登记日期", "受理日期", "化解日期", "办结日期"):
            try:
                dates[name] = parse_date(cell(name))
            except ValueError as error:
                err(name, str(error))
                dates[name] = None
        if dates["登记日期"] is None and not any(e.column == "登记日期" for e in errors[bad:]):
            err("登记日期", _("The date of registration is missing."))
        village = None
        candidates = look.villages.get(text("村（社区）"), [])
        if not candidates:
            err("村（社区）", _("No village “%(name)s” here.") % {"name": text("村（社区）")})
        elif len(candidates) > 1:
            err("村（社区）", _("More than one village is called “%(name)s”; import for one township.")
                % {"name": text("村（社区）")})
        else:
            village = candidates[0]
        values: dict[str, str] = {}
        for name, table, key in (("纠纷类别", look.category, "category"), ("来源", look.source, "source"),
                                 ("风险等级", look.risk, "risk")):
            raw = text(name)
            if not raw and name == "风险等级":
                values[key] = Case.Risk.GENERAL
            elif raw in table:
                values[key] = table[raw]
            else:
                err(name, _("Unknown value “%(value)s”.") % {"value": raw})
        people = cell("涉及人数")
        try:
            people = int(people) if people not in (None, "") else 1
            if people < 1:
                raise ValueError
        except (TypeError, ValueError):
            err("涉及人数", _("“%(value)s” is not a number of people.") % {"value": people})
            people = 1
        amount = cell("涉及金额（元）")
        try:
            amount = "" if amount in (None, "") else str(Decimal(str(amount)).quantize(Decimal("0.01")))
        except InvalidOperation:
            err("涉及金额（元）", _("“%(value)s” is not an amount.") % {"value": amount})
            amount = ""
        parties = []
        for piece in re.split(r"[、，,；;]", text("当事人")):
            piece = piece.strip()
            if not piece:
                continue
            match = PARTY.match(piece)
            if match and match.group("role") in look.role:
                parties.append({"name": match.group("name"), "role": look.role[match.group("role")]})
            elif match:
                err("当事人", _("Unknown party role “%(role)s”.") % {"role": match.group("role")})
            else:
                role = Party.PartyRole.APPLICANT if not parties else Party.PartyRole.RESPONDENT
                parties.append({"name": piece, "role": role})
        if not parties:
            err("当事人", _("A case has at least one party."))
        # The first party's facts, as far as the ledger records them.
        facts: dict[str, Any] = {}
        for column, key in PARTY_COLUMNS.items():
            raw = text(column)
            if not raw:
                continue
            if key == "sex":
                if raw in SEXES:
                    facts[key] = SEXES[raw]
                else:
                    err(column, _("Unknown value “%(value)s”.") % {"value": raw})
            elif key == "birth_date":
                try:
                    facts[key] = parse_date(cell(column))
                except ValueError as error:
                    err(column, str(error))
            elif key == "ethnicity":
                # "汉" for 汉族, as ledgers write it; a name of no group is the form's to refuse.
                facts[key] = ethnicity_by_name(raw) or raw
            else:
                facts[key] = raw
        if parties:
            parties[0].update(facts)
        try:
            occurred = parse_moment(cell("发生时间"))
        except ValueError as error:
            err("发生时间", str(error))
            occurred = None
        data = {
            "kind": Case.Kind.DISPUTE, "title": text("纠纷名称"), "summary": text("简要情况"),
            "village": village.pk if village else "", "people_involved": people, "amount": amount,
            "is_group": flag(cell("群体性")), "is_legacy": flag(cell("历史遗留")), **values,
            "occurred_at": occurred or "", "occurred_place": text("发生地点"),
        }
        if village is not None and len(errors) == bad:
            # Checked against the moment report_case will register the row at.
            registered = datetime.combine(dates["登记日期"], time(HOURS["report"]), tzinfo=ZoneInfo(settings.TIME_ZONE))
            form = IntakeForm(data, at=registered)
            if not form.is_valid():
                for name, messages in form.errors.items():
                    column = CASE_FIELDS.get(name) or (str(form.fields[name].label) if name in form.fields else name)
                    err(column, " ".join(messages))
            for party in parties:
                party_form = PartyForm(party)
                if not party_form.is_valid():
                    by_column: dict[str, list[str]] = {}
                    for name, messages in party_form.errors.items():
                        by_column.setdefault(PARTY_FIELDS.get(name, "当事人"), []).extend(messages)
                    for column, messages in by_column.items():
                        err(column, " ".join(messages))
        row = Row(number, text("编号"), data, parties, dates["登记日期"] or date.min,
                  dates["受理日期"], dates["化解日期"], dates["办结日期"])
        closure_text = text("办结方式")
        if closure_text:
            if closure_text in look.closure:
                row.closure = look.closure[closure_text]
            else:
                err("办结方式", _("Unknown value “%(value)s”.") % {"value": closure_text})
        if row.closure and row.closed is None:
            err("办结日期", _("A closed case needs its closing date."))
        if row.closed and not row.closure:
            err("办结方式", _("Say how the case was closed."))
        if row.closure in (Case.Closure.VISITED, Case.Closure.REFERRED) and row.accepted is None:
            err("受理日期", _("This case was accepted: give the date."))
        if row.closure == Case.Closure.VISITED and row.resolved is None:
            err("化解日期", _("A visited case was resolved: give the date."))
        if row.closure in (Case.Closure.REJECTED, Case.Closure.WITHDRAWN) and row.resolved:
            err("化解日期", _("A rejected or withdrawn case has no resolution date."))
        if row.resolved and row.accepted is None:
            err("受理日期", _("A resolved case was accepted: give the date."))
        if row.resolved:
            outcome = text("化解方式")
            row.outcome = look.outcome.get(outcome, "")
            if not row.outcome:
                err("化解方式", _("Unknown value “%(value)s”.") % {"value": outcome})
            row.outcome_summary = text("化解情况") or outcome
        if row.closure == Case.Closure.VISITED:
            row.satisfaction = look.satisfaction.get(text("回访满意度"), "")
            if not row.satisfaction:
                err("回访满意度", _("A visited case needs the satisfaction recorded at the visit."))
        order = [d for d in (row.reported, row.accepted, row.resolved, row.closed) if d is not None]
        if order != sorted(order):
            err("登记日期", _("The dates are out of order (registered ≤ accepted ≤ resolved ≤ closed)."))
        if row.accepted is not None and village is not None:
            # The choices the accept form would offer for this case (the rule of reach).
            handled_by = Case(responsible_unit=village.parent or village, village=village)
            row.lead = _one(list(lead_departments(handled_by).filter(name=text("牵头部门"))))
            if row.lead is None:
                err("牵头部门", _("No single department “%(name)s” here.") % {"name": text("牵头部门")})
            name = text("承办人")
            people_here = assignable_users(handled_by, row.lead).filter(Q(first_name=name) | Q(username=name))
            row.assignee = _one(list(people_here)) if name else None
            if row.assignee is None:
                err("承办人", _("No single person “%(name)s” of the township or the lead department.")
                    % {"name": name})
        key = (row.reported, data["village"], data["title"], text("当事人"))
        if key in seen:
            err("纠纷名称", _("The same dispute as row %(row)s.") % {"row": seen[key]})
        else:
            seen[key] = number
        if check_existing and village is not None and dates["登记日期"] is not None:
            tz = ZoneInfo(settings.TIME_ZONE)
            existing = (Case.objects.all() if actor is None else visible_to(actor)).filter(
                village=village, title=data["title"],
                reported_at__gte=datetime.combine(row.reported, time.min, tzinfo=tz),
                reported_at__lte=datetime.combine(row.reported, time.max, tzinfo=tz),
            ).first()
            if existing is not None:
                err("纠纷名称", _("Already registered as case %(number)s.") % {"number": existing.number})
        if len(errors) == bad:
            parsed.append(row)
    return parsed, errors


def _one(items: list[Any]) -> Any:
    return items[0] if len(items) == 1 else None


def import_ledger(source: str | IO[bytes], *, unit: OrgUnit | None = None, actor: Any = None,
                  progress: Progress | None = None) -> ImportResult:
    """Import a legacy dispute ledger; raises ImportRefused (nothing imported) with every
    bad row's number and reason. `progress(done, total)` is called after each row.
    An `actor` who may not import into `unit` is refused before the file is read."""
    if not may_import_into(actor, unit):
        where = unit.name if unit is not None else _("all units")
        raise ImportRefused([RowError(0, "", _("You may not import a ledger into %(unit)s.") % {"unit": where})])
    columns, rows = read_rows(source)
    if not rows:
        raise ImportRefused([RowError(0, "", _("The ledger has no rows."))])
    parsed, errors = validate(columns, rows, unit, actor=actor)
    if errors:
        raise ImportRefused(errors)
    tz = ZoneInfo(settings.TIME_ZONE)

    def moment(day: date | None, step: str) -> datetime:
        assert day is not None
        return datetime.combine(day, time(HOURS[step]), tzinfo=tz)

    result = ImportResult()
    with transaction.atomic():
        for done, row in enumerate(parsed, start=1):
            try:
                # A ledger records what happened: its repeats were registered then.
                case = services.report_case(actor=actor, data=row.data, parties=row.parties,
                                            at=moment(row.reported, "report"), repeats_seen=True)
                # The system takes the recorded steps: the ledger says they were taken,
                # not by whom in this system.
                if row.closure in (Case.Closure.REJECTED, Case.Closure.WITHDRAWN):
                    name = "reject" if row.closure == Case.Closure.REJECTED else "withdraw"
                    services.transition(case, name, actor=None, at=moment(row.closed, "close"),
                                        data={"reason": _("Recorded in the legacy ledger.")})
                if row.accepted:
                    services.transition(case, "accept", actor=None, at=moment(row.accepted, "accept"),
                                        data={"assignee": row.assignee.pk, "lead_department": row.lead.pk})
                if row.resolved:
                    services.transition(case, "resolve", actor=None, at=moment(row.resolved, "resolve"),
                                        data={"outcome": row.outcome, "summary": row.outcome_summary})
                if row.closure == Case.Closure.VISITED:
                    services.transition(case, "follow_up", actor=None, at=moment(row.closed, "close"),
                                        data={"record": _("Recorded in the legacy ledger."),
                                              "satisfaction": row.satisfaction})
                if row.closure == Case.Closure.REFERRED:
                    services.transition(case, "refer", actor=None, at=moment(row.closed, "close"),
                                        data={"channel": "other_department",
                                              "reason": row.outcome_summary or _("Recorded in the legacy ledger.")})
                # The registration event names the importer; this note says where from.
                services.transition(case, "note", actor=None, at=moment(
                    row.closed or row.resolved or row.accepted or row.reported, "close"),
                    data={"text": _("Imported by %(user)s from a legacy ledger, row %(row)s (number there: "
                                    "%(number)s).") % {"user": actor or _("the system"), "row": row.number,
                                                      "number": row.legacy_number or "—"}})
            except CaseOperationError as error:
                # Checked above; a refusal here (a permission, a rule) still names its row.
                raise ImportRefused([RowError(row.number, "", error.message)]) from None
            result.case_ids.append(case.pk)
            if progress:
                progress(done, len(parsed))
    return result
