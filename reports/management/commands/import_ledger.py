"""python manage.py import_ledger FILE.xlsx [--unit CODE] [--actor USERNAME]"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from cases.models import OrgUnit
from reports.legacy_import import ImportRefused, import_ledger


class Command(BaseCommand):
    help = ("Import a legacy 矛盾纠纷排查化解台账 (xlsx, the layout export_ledger writes) as cases. Every row is "
            "checked first; if any is bad, each bad row is listed and nothing is imported.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="the xlsx ledger")
        parser.add_argument("--unit", help="code of the township (or county) whose villages the rows name")
        parser.add_argument("--actor", help="username of the officer importing (default: the system)")

    def handle(self, *args: Any, **options: Any) -> None:
        unit = actor = None
        if options["unit"]:
            unit = OrgUnit.objects.filter(code=options["unit"]).first()
            if unit is None:
                raise CommandError(f"There is no unit with the code {options['unit']!r}.")
        if options["actor"]:
            actor = get_user_model().objects.filter(username=options["actor"], is_active=True).first()
            if actor is None:
                raise CommandError(f"There is no active user {options['actor']!r}.")

        def progress(done: int, total: int) -> None:
            if done == total or done % 100 == 0:
                self.stdout.write(f"  {done}/{total} rows imported")

        try:
            result = import_ledger(options["file"], unit=unit, actor=actor, progress=progress)
        except ImportRefused as refused:
            for error in refused.errors:
                self.stderr.write(str(error))
            raise CommandError(str(refused)) from None
        self.stdout.write(f"Imported {result.count} cases from {options['file']}.")
