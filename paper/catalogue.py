"""The forms a case leaves on paper, in the order of its file (一案一卷), and which of them a
case has: by its kind (a dispute's 人民调解 file, a petition's 信访 notices) and by what has
happened to it. docs/paper.md describes each form and where its facts come from.

A form is one or several documents of the file (one 调解笔录 per session); each document
is an Entry, which the file's contents (卷内目录) list and the templates draw. The names of
the documents are Chinese official names: they are written in the templates
(paper/includes/title.html), the English labels here are for the pages' print list.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from cases.models import Case, CaseDocument
from workflow.forms import FollowUpForm

from .facts import APPLIED_SOURCES, CaseFacts, PartyShown, Record

DISPUTE, PETITION = Case.Kind.DISPUTE, Case.Kind.PETITION


@dataclass
class Entry:
    """One document of the file: the form it belongs to, the template that draws it and
    what that template needs besides the case's facts."""

    form: str
    template: str
    record: Record | None = None  # the event it is the record of (a session, a visit)
    on: date | None = None  # the document's own date: parties' ages are counted to it
    parties: list[PartyShown] = field(default_factory=list)
    # An uploaded document: listed in the contents, its pages appended when it is a
    # readable PDF (`pages` > 0, paper.dossier), else kept apart (原件另存).
    upload: CaseDocument | None = None
    pages: int = 0
    anchor: str = ""  # set when the file is laid out: "doc-3"
    front: bool = False  # cover: not numbered
    details: dict[str, str] = field(default_factory=dict)  # labels the template prints

    @property
    def page_numbers(self) -> range:
        return range(1, self.pages + 1)


@dataclass(frozen=True)
class Form:
    slug: str
    label: Promise
    kinds: frozenset[str]
    applies: Callable[[CaseFacts], bool]
    entries: Callable[[CaseFacts], list[Entry]]


def taken_up(facts: CaseFacts) -> bool:
    return facts.case.accepted_at is not None


def one(form: str, template: str, on: Callable[[CaseFacts], date | None] | None = None,
        **kwargs: Any) -> Callable[[CaseFacts], list[Entry]]:
    """A form of one document, dated by `on` (the registration day by default)."""

    def entries(facts: CaseFacts) -> list[Entry]:
        day = (on(facts) if on else None) or facts.reported_on
        return [Entry(form, template, on=day, parties=facts.parties(day), **kwargs)]

    return entries


def session_entries(facts: CaseFacts) -> list[Entry]:
    """One 调解笔录 per recorded session; a blank one while mediation is under way and none
    is recorded; and the record of an oral agreement (人民调解法 第二十八条), which the
    mediator writes down instead of an agreement document."""
    entries = [Entry("mediation-record", "paper/forms/session.html", record=r, on=r.day, parties=facts.parties(r.day))
               for r in facts.sessions]
    if not entries and facts.case.stage == Case.Stage.MEDIATING:
        entries.append(Entry("mediation-record", "paper/forms/session.html", parties=facts.parties()))
    if facts.oral_agreement and facts.resolution is not None:
        day = facts.resolution.day
        entries.append(Entry("mediation-record", "paper/forms/oral_agreement.html", record=facts.resolution, on=day,
                             parties=facts.parties(day)))
    return entries


def follow_up_entries(facts: CaseFacts) -> list[Entry]:
    """One 回访记录 per visit recorded; a blank one for the visit still to make."""
    satisfaction = dict(FollowUpForm.SATISFACTION)
    entries = [Entry("follow-up", "paper/forms/follow_up.html", record=r, on=r.day, parties=facts.parties(r.day),
                     details={"satisfaction": str(satisfaction.get(r.text("satisfaction"), ""))})
               for r in facts.follow_ups]
    if not entries:
        entries.append(Entry("follow-up", "paper/forms/follow_up.html", parties=facts.parties()))
    return entries


def closing_entries(facts: CaseFacts) -> list[Entry]:
    day = facts.closed_on or facts.reported_on
    return [Entry("closing-report", "paper/forms/closing_report.html", on=day, parties=facts.parties(day),
                  details={"channel": facts.channel_label(facts.closing)})]


FORMS: list[Form] = [
    Form("cover", _("File cover"), frozenset({DISPUTE, PETITION}), lambda facts: True,
         one("cover", "paper/forms/cover.html", front=True)),
    # The dispute's file (人民调解法 第二十七条: 调解登记、调解工作记录、调解协议书 kept as a file).
    Form("application", _("Application for mediation"), frozenset({DISPUTE}),
         lambda facts: facts.case.source in APPLIED_SOURCES,
         one("application", "paper/forms/application.html")),
    Form("registration", _("Acceptance register"), frozenset({DISPUTE}), taken_up,
         one("registration", "paper/forms/registration.html", on=lambda facts: facts.accepted_on)),
    Form("investigation", _("Investigation record"), frozenset({DISPUTE}), taken_up,
         one("investigation", "paper/forms/investigation.html", on=lambda facts: facts.accepted_on)),
    Form("mediation-record", _("Mediation records"), frozenset({DISPUTE}),
         lambda facts: bool(session_entries(facts)), session_entries),
    # Printed for signing while the case is being handled (a written agreement is resolved
    # with its signed copy attached, workflow.forms.ResolveForm), and with the agreed terms
    # once it is resolved so.
    Form("agreement", _("Mediation agreement"), frozenset({DISPUTE}),
         lambda facts: facts.case.stage in (Case.Stage.INVESTIGATING, Case.Stage.MEDIATING) or facts.written_agreement,
         one("agreement", "paper/forms/agreement.html", on=lambda facts: facts.resolved_on)),
    # The petition's notices (信访工作条例 第二十三、三十二、三十四、三十五条).
    Form("acceptance-notice", _("Notice of acceptance"), frozenset({PETITION}), taken_up,
         one("acceptance-notice", "paper/forms/acceptance_notice.html", on=lambda facts: facts.accepted_on)),
    Form("rejection-notice", _("Notice of non-acceptance"), frozenset({PETITION}),
         lambda facts: facts.rejection is not None,
         one("rejection-notice", "paper/forms/rejection_notice.html", on=lambda facts: facts.closed_on)),
    Form("opinion", _("Petition handling opinion"), frozenset({PETITION}),
         lambda facts: bool(facts.petition_answer),
         one("opinion", "paper/forms/opinion.html", on=lambda facts: facts.resolved_on)),
    # Both kinds are visited once resolved (回访).
    Form("follow-up", _("Follow-up visit record"), frozenset({DISPUTE, PETITION}),
         lambda facts: bool(facts.follow_ups) or facts.case.stage == Case.Stage.RESOLVED, follow_up_entries),
    Form("closing-report", _("Case closing report"), frozenset({DISPUTE}),
         lambda facts: facts.case.stage == Case.Stage.CLOSED, closing_entries),
]
BY_SLUG = {form.slug: form for form in FORMS}
# Where the uploaded documents go in the file: after what the mediation or the handling
# produced (the signed agreement's scan follows the printed agreement), before the visit.
UPLOADS_BEFORE = "follow-up"


def applicable(facts: CaseFacts) -> list[Form]:
    """The forms `facts`' case has now, in the order of its file."""
    return [form for form in FORMS if facts.case.kind in form.kinds and form.applies(facts)]


def form_for(facts: CaseFacts, slug: str) -> Form | None:
    """The form `slug` if the case has it; None for an unknown form or one of another kind
    or stage."""
    form = BY_SLUG.get(slug)
    return form if form is not None and form in applicable(facts) else None


def print_list(case: Case) -> list[tuple[str, Promise]]:
    """(slug, label) of the forms the case page offers to print, in the file's order."""
    return [(form.slug, form.label) for form in applicable(CaseFacts(case))]
