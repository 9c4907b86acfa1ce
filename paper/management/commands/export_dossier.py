"""python manage.py export_dossier CASE_NUMBER --out FILE.pdf [--user USERNAME [--full]]

The whole file of a case (paper.dossier), written by an administrator on the server, e.g.
to archive closed cases. It prints what the case page prints without a request:
parties' ID numbers and phones masked. A print in full names the person it is made for
(--user): it is made only if that person may see the case and its parties in full (the
rule of reach, workflow.permissions), and it is recorded as their access through the
paper door, as every full showing is (个人信息保护法 第五十一条). Nothing is recorded for
a masked print, as for a masked page.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from cases import personal_data
from cases.models import Case, PersonalDataAccess
from paper.dossier import render_dossier
from workflow.permissions import PII, VIEW, grants_for


class Command(BaseCommand):
    help = ("Write the whole file of a case (一案一卷) as PDF: cover, contents, every form, the uploaded "
            "documents. Masked unless --full with --user.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("number", help="the case number, e.g. QY-LL-2026-00001")
        parser.add_argument("--out", required=True, help="the PDF file to write")
        parser.add_argument("--user", help="the person the file is printed for: it must be within their reach")
        parser.add_argument("--full", action="store_true",
                            help="ID numbers and phones in full (needs --user allowed to see them; recorded)")

    def handle(self, *args: Any, **options: Any) -> None:
        number, out = options["number"].strip(), Path(options["out"])
        if out.suffix.lower() != ".pdf":
            raise CommandError(f"--out must name a .pdf file, not {str(out)!r}.")
        case = (Case.objects.select_related("responsible_unit", "village", "registered_unit", "assignee", "reporter",
                                            "lead_department")
                .filter(number=number).first())
        if case is None:
            raise CommandError(f"There is no case numbered {number!r}.")
        user = None
        if options["user"]:
            user = get_user_model().objects.filter(username=options["user"], is_active=True).first()
            if user is None:
                raise CommandError(f"There is no active user {options['user']!r}.")
            grants = grants_for(user, case)
            if VIEW not in grants:
                raise CommandError(f"Case {number} is not within the reach of {user.get_username()}.")
            if options["full"] and PII not in grants:
                raise CommandError(f"{user.get_username()} may not see the parties' ID numbers and phones in full.")
        elif options["full"]:
            raise CommandError("A print in full is recorded as a person's access: name them with --user USERNAME.")
        pdf = render_dossier(case, full=options["full"])
        try:
            out.write_bytes(pdf)
        except OSError as error:
            raise CommandError(f"Cannot write {out}: {error}") from None
        if options["full"]:
            personal_data.record(user, case, PersonalDataAccess.Door.PAPER)
        shown = "in full, recorded" if options["full"] else "masked"
        self.stdout.write(f"{case.number} {case.title}: {len(pdf)} bytes ({shown}) → {out}")
