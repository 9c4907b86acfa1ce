"""The site: viewflow's frontend shell (menu, toolbar, Turbo navigation, login) around
our pages. Each menu entry is a small viewset with the pages it owns; who sees an entry
is decided by its `permission`, and each view checks again."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.auth.views import LoginView, PasswordChangeView
from django.urls import path
from django.utils.translation import gettext_lazy as _
from django.views.generic import RedirectView
from viewflow.contrib.auth import AuthViewset
from viewflow.urls import Application, Site, Viewset
from viewflow.urls.sites import AppMenuMixin

from workflow.permissions import (
    may_administer,
    may_file_returns,
    may_read_visits,
    may_review,
    may_supervise,
    reporting_units,
)

from . import (
    assessment,
    board,
    case_page,
    dashboard,
    devices,
    intake,
    ledgers,
    operation_frames,
    paper,
    queue,
    reporting,
    screening,
    visits,
    workbench,
)
from .forms import LoginForm, ThrottledPasswordChangeForm
from .responses import only_for


class MenuEntry(AppMenuMixin, Viewset):
    permission: Callable[[Any], bool] | None = None

    def has_view_permission(self, user: Any, obj: Any = None) -> bool:
        if not user.is_authenticated:
            return False
        if self.permission is None:
            return True
        # The menu asks every entry on every page, and four entries ask the same question
        # (may_review), each a query or two. The answers are kept on the request's user
        # object, which is read anew for every request.
        answers = getattr(user, "_menu_answers", None)
        if answers is None:
            answers = {}
            user._menu_answers = answers
        if self.permission not in answers:
            answers[self.permission] = self.permission(user)
        return answers[self.permission]


class WorkbenchPages(MenuEntry):
    title = _("My workbench")
    icon = "dashboard"
    index_path = path("", workbench.workbench, name="index")
    read_path = path("notifications/<int:pk>/read/", workbench.mark_read, name="read")
    read_all_path = path("notifications/read/", workbench.mark_all_read, name="read_all")
    devices_path = path("devices/", devices.devices, name="devices")
    revoke_device_path = path("devices/<str:handle>/revoke/", devices.revoke, name="revoke_device")


class IntakePages(MenuEntry):
    title = _("Register a case")
    icon = "note_add"
    permission = staticmethod(lambda user: reporting_units(user).exists())
    index_path = path("", intake.intake, name="index")


class QueuePages(MenuEntry):
    title = _("Queues")
    icon = "list"
    index_path = path("", queue.queue, name="index")
    assign_path = path("assign/", queue.bulk_assign, name="assign")


class BoardPages(MenuEntry):
    title = _("Supervision board")
    icon = "assignment_late"
    permission = staticmethod(may_supervise)
    index_path = path("", board.board, name="index")


class ReturnPages(MenuEntry):
    title = _("Screening returns")
    icon = "fact_check"
    permission = staticmethod(may_file_returns)
    index_path = path("", only_for(may_file_returns)(screening.returns), name="index")


class VisitPages(MenuEntry):
    # 走访: the household visits of a village (desk/visits.py).
    title = _("Household visits")
    icon = "home_work"
    permission = staticmethod(may_read_visits)
    index_path = path("", only_for(may_read_visits)(visits.visits), name="index")


class MeetingPages(MenuEntry):
    # Short enough for the menu's width in English too; the page says it in full.
    title = _("Screening meeting")
    icon = "groups"
    permission = staticmethod(may_review)
    index_path = path("", only_for(may_review)(screening.meeting), name="index")
    # The meeting's minutes (排查例会纪要): saved or closed from the meeting page, printed as PDF.
    minutes_path = path("minutes/<str:township_id>/<str:month>/", screening.minutes, name="minutes")
    minutes_pdf_path = path("minutes/<str:township_id>/<str:month>.pdf", screening.minutes_pdf, name="minutes_pdf")


class LedgerPages(MenuEntry):
    title = _("Ledgers")
    icon = "table_view"
    permission = staticmethod(may_review)
    index_path = path("", ledgers.ledgers, name="index")
    import_path = path("import/", ledgers.import_page, name="import")
    # A ledger written while its page shows the progress, then the finished file (desk/ledgers.py).
    export_path = path("export/", ledgers.export_page, name="export")
    download_path = path("export/<slug:token>/", ledgers.download, name="download")
    # The monthly table sent upward (报送) and the county's list of who sent it (desk/reporting.py).
    monthly_path = path("monthly/", reporting.monthly, name="monthly")
    monthly_pdf_path = path("monthly/<str:unit_id>/<str:month>.pdf", reporting.monthly_pdf, name="monthly_pdf")


class AssessmentPages(MenuEntry):
    title = _("Assessment")
    icon = "leaderboard"
    permission = staticmethod(may_review)
    index_path = path("", assessment.assessment, name="index")
    # A figure's cases, read when a link of the page is followed (desk/assessment.py).
    cases_path = path("cases/", assessment.figure_cases, name="cases")


class DashboardPages(MenuEntry):
    title = _("Dashboard")
    icon = "insights"
    permission = staticmethod(may_review)
    turbo_disabled = True  # its chart scripts load in order on a full page load
    index_path = path("", dashboard.dashboard, name="index")


class AdministrationEntry(MenuEntry):
    title = _("Administration")
    icon = "settings"
    permission = staticmethod(may_administer)
    turbo_disabled = True  # the admin is another application, with its own scripts
    index_path = path("", only_for(may_administer)(RedirectView.as_view(url="/admin/")), name="index")


class CasePages(Viewset):
    """Not a menu entry: reached from lists, alerts and links."""

    detail_path = path("<int:pk>/", case_page.detail, name="detail")
    operate_path = path("<int:pk>/do/<slug:name>/", case_page.operate, name="operate")
    document_path = path("<int:pk>/documents/<int:document_id>/", case_page.document, name="document")
    reveal_path = path("<int:pk>/parties/", case_page.reveal, name="reveal")
    # The case's forms as PDF (desk/paper.py): masked by GET, in full by a recorded POST.
    paper_path = path("<int:pk>/paper/<slug:name>.pdf", paper.form, name="paper")
    paper_full_path = path("<int:pk>/paper/full/", paper.full, name="paper_full")
    dossier_path = path("<int:pk>/dossier.pdf", paper.dossier, name="dossier")
    operation_form_path = path("<int:pk>/form/<slug:name>/", operation_frames.operation_frame, name="operation_form")


class Desk(Application):
    title = _("Dispute resolution")
    icon = "gavel"
    app_name = "desk"
    base_template_name = "desk/base.html"


desk = Desk(viewsets=[
    WorkbenchPages(app_name="workbench"),
    IntakePages(app_name="intake"),
    QueuePages(app_name="queue"),
    BoardPages(app_name="board"),
    ReturnPages(app_name="returns"),
    VisitPages(app_name="visits"),
    MeetingPages(app_name="meeting"),
    LedgerPages(app_name="ledgers"),
    AssessmentPages(app_name="assessment"),
    DashboardPages(app_name="dashboard"),
    AdministrationEntry(app_name="administration"),
    CasePages(app_name="case"),
])

# One application: its own menu is the whole navigation, without a list of applications.
site = Site(title=_("tiaochu"), viewsets=[desk], menu_template_name=None)

accounts = AuthViewset(
    with_profile_view=False,
    login_view=LoginView.as_view(authentication_form=LoginForm, redirect_authenticated_user=True),
    pass_change_view=PasswordChangeView.as_view(form_class=ThrottledPasswordChangeForm),
)
