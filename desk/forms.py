from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.forms import PasswordChangeForm
from django.utils.translation import gettext_lazy as _
from viewflow.contrib.auth import AuthenticationForm

from cases.login_throttle import client_address, record_failure, throttled


class LoginForm(AuthenticationForm):
    """viewflow's login form, throttled like the API's token login."""

    def clean(self) -> dict[str, Any]:
        username = self.data.get("username", "")
        address = client_address(self.request)
        if throttled(username, address):
            raise forms.ValidationError(_("Too many failed logins; try again later."), code="throttled")
        try:
            return super().clean()
        except forms.ValidationError:
            record_failure(username, address)
            raise


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
