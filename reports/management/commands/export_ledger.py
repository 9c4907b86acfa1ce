"""python manage.py export_ledger KIND --period YYYY-MM [--unit CODE] --out FILE.xlsx"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from xlsxwriter.exceptions import FileCreateError

from cases.models import OrgUnit
from cases.periods import BadPeriod, parse_period
from reports.ledgers import KINDS, TITLES, write_ledger


class Command(BaseCommand):
    help = "Write a ledger (台账) as xlsx, as the pages do, for scheduled exports. Kinds: " + ", ".join(
        f"{kind} ({title})" for kind, title in TITLES.items())

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("kind", help="one of: " + ", ".join(KINDS))
        parser.add_argument("--period", required=True, help="YYYY-MM, YYYY-H1, YYYY-H2 or YYYY")
        parser.add_argument("--unit", help="code of the unit (default: the top of the tree)")
        parser.add_argument("--out", required=True, help="the xlsx file to write")

    def handle(self, *args: Any, **options: Any) -> None:
        kind = options["kind"]
        if kind not in KINDS:
            raise CommandError(f"Unknown ledger {kind!r}; the ledgers are: {', '.join(KINDS)}.")
        try:
            period = parse_period(options["period"])
        except BadPeriod as error:
            raise CommandError(str(error)) from None
        if options["unit"]:
            unit = OrgUnit.objects.filter(code=options["unit"]).first()
            if unit is None:
                raise CommandError(f"There is no unit with the code {options['unit']!r}.")
        else:
            roots = list(OrgUnit.objects.filter(parent__isnull=True)[:2])
            if len(roots) != 1:
                raise CommandError("Name the unit with --unit CODE: the tree has no single top unit.")
            unit = roots[0]
        out = options["out"]
        if not out.lower().endswith(".xlsx"):
            raise CommandError(f"--out must name an .xlsx file, not {out!r}.")
        try:
            rows = write_ledger(kind, unit, period, out)
        except (OSError, FileCreateError) as error:
            raise CommandError(f"Cannot write {out}: {error}") from None
        self.stdout.write(f"{TITLES[kind]} {unit.name} {period.label}: {rows} rows → {out}")
