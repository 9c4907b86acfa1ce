from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import PasswordChangeForm
from django.utils.translation import gettext_lazy as _
from viewflow.contrib.auth import AuthenticationForm

from cases.login_throttle import record_failure, throttled, was_throttled


class ThrottledLogin:
    """Says why a login was refused when the throttle refused it (cases.login_throttle
    counts and refuses at every door; the form only words the answer)."""

    request: Any

    def clean(self) -> dict[str, Any]:
        try:
            return super().clean()  # type: ignore[misc]
        except forms.ValidationError:
            if was_throttled(self.request):
                raise forms.ValidationError(_("Too many failed logins; try again later."), code="throttled") from None
            raise


class LoginForm(ThrottledLogin, AuthenticationForm):
    """viewflow's login form."""


class AdminLoginForm(ThrottledLogin, AdminAuthenticationForm):
    """The admin's login form (desk.admin)."""


class ThrottledPasswordChangeForm(PasswordChangeForm):
    """Django's password change, with wrong old passwords counted as failed logins: a
    session left open on a shared office computer must not let someone guess the
    password at speed and take the account over."""

    def clean_old_password(self) -> str:
        username = self.user.get_username()
        if throttled(username, ""):
            raise forms.ValidationError(_("Too many failed logins; try again later."), code="throttled")
        try:
            return super().clean_old_password()
        except forms.ValidationError:
            record_failure(username, "")
            raise
