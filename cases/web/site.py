"""The site: viewflow's frontend shell (menu, toolbar, Turbo navigation, login) around
our pages. Each menu entry is a small viewset with the pages it owns; who sees an entry
is decided by its `permission`, and each view checks again."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.auth.views import LoginView
from django.urls import path
from django.utils.translation import gettext_lazy as _
from django.views.generic import RedirectView
from viewflow.contrib.auth import AuthViewset
from viewflow.urls import Application, Site, Viewset
from viewflow.urls.sites import AppMenuMixin

from workflow.permissions import reporting_units

from . import board, case_page, intake, queue, workbench
from .forms import LoginForm
from .responses import only_for


class MenuEntry(AppMenuMixin, Viewset):
    permission: Callable[[Any], bool] | None = None

    def has_view_permission(self, user: Any, obj: Any = None) -> bool:
        return user.is_authenticated and (self.permission is None or self.permission(user))


def may_administer(user: Any) -> bool:
    return user.is_active and user.is_staff and (user.is_superuser or any(
        user.has_perm(p) for p in ("cases.change_orgunit", "auth.change_user", "workflow.change_deadlinerule",
                                   "workflow.change_calendarday")))


class WorkbenchPages(MenuEntry):
    title = _("My workbench")
    icon = "dashboard"
    index_path = path("", workbench.workbench, name="index")
    read_path = path("notifications/<int:pk>/read/", workbench.mark_read, name="read")
    read_all_path = path("notifications/read/", workbench.mark_all_read, name="read_all")


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
    permission = staticmethod(board.may_supervise)
    index_path = path("", board.board, name="index")


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


class Desk(Application):
    title = _("Dispute resolution")
    icon = "gavel"
    app_name = "desk"
    base_template_name = "cases/base.html"


desk = Desk(viewsets=[
    WorkbenchPages(app_name="workbench"),
    IntakePages(app_name="intake"),
    QueuePages(app_name="queue"),
    BoardPages(app_name="board"),
    AdministrationEntry(app_name="administration"),
    CasePages(app_name="case"),
])

# One application: its own menu is the whole navigation, without a list of applications.
site = Site(title=_("tiaochu"), viewsets=[desk], menu_template_name=None)

accounts = AuthViewset(
    with_profile_view=False,
    login_view=LoginView.as_view(authentication_form=LoginForm, redirect_authenticated_user=True),
)
