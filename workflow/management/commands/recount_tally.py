"""Rebuild the rollup of the counts (workflow.tally) from the cases, or with --check say
whether it equals a recount. For a database loaded with its triggers off (a bulk load in
SQL, a restore); the triggers keep it otherwise."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from workflow import tally


class Command(BaseCommand):
    help = "Rebuild the rollup of the counts from the cases (--check: compare only)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--check", action="store_true", help="only compare the rollup with a recount")

    def handle(self, *args: Any, check: bool = False, **options: Any) -> None:
        if check:
            differences = tally.differences()
            if differences:
                raise CommandError(f"the rollup differs from a recount in {len(differences)} rows")
            self.stdout.write("the rollup equals a recount")
            return
        rows = tally.recount()
        self.stdout.write(f"the rollup is rebuilt: {rows} rows")
