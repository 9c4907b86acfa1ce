from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CasesConfig(AppConfig):
    name = "cases"
    verbose_name = _("Cases")

    def ready(self) -> None:
        # Connects the login throttle's count of failed logins (user_login_failed) and
        # the revocation of API tokens when a password changes.
        from . import login_throttle, tokens  # noqa: F401
