"""API tokens, one per device (cases.DeviceToken, django-rest-knox): issued at the token
login, checked the same way by the API and the alerts socket, revoked one at a time by
their owner, and all at once when the password changes or the account is deactivated,
so a lost phone or a leaked token stops working with the password it was issued under."""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db.models import Q
from django.db.models.signals import pre_save
from django.dispatch import receiver
from django.utils import timezone
from django.utils.translation import gettext as _
from knox.auth import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed

from .models import DeviceToken

# How a device is named to revoke it (DeviceToken.handle): 16 hex digits of its hash.
HANDLE = re.compile(r"[0-9a-f]{16}")


def issue(user: Any, device: str = "") -> tuple[DeviceToken, str]:
    """A new token for one device of `user`: the stored row and the token itself, which
    is shown once and never kept."""
    return DeviceToken.objects.create(user=user, name=device)


class DeviceTokenAuthentication(TokenAuthentication):
    """knox's token check ("Authorization: Token <key>"), with a header that is not UTF-8
    refused as an invalid token rather than failing as a server error."""

    def authenticate_credentials(self, token: bytes) -> tuple[Any, DeviceToken]:
        try:
            token.decode("utf-8")
        except UnicodeDecodeError:
            raise AuthenticationFailed(_("Invalid token.")) from None
        return super().authenticate_credentials(token)


def user_for_token(key: str) -> Any:
    """The active user `key` belongs to, checked as the API checks it (expiry included),
    or AnonymousUser."""
    try:
        user, _token = DeviceTokenAuthentication().authenticate_credentials(key.encode("utf-8", "surrogatepass"))
    except AuthenticationFailed:
        return AnonymousUser()
    return user


@receiver(pre_save, sender=settings.AUTH_USER_MODEL, dispatch_uid="cases.tokens.revoke_on_change")
def revoke_on_change(sender: Any, instance: Any, update_fields: Any = None, **kwargs: Any) -> None:
    """Every token of a user whose password is about to change, or who is being
    deactivated, is deleted. Saving the last login (update_fields) costs no query."""
    if instance.pk is None or (update_fields is not None and not {"password", "is_active"} & set(update_fields)):
        return
    stored = sender.objects.filter(pk=instance.pk).values("password", "is_active").first()
    if stored is None:
        return
    if stored["password"] != instance.password or (stored["is_active"] and not instance.is_active):
        DeviceToken.objects.filter(user_id=instance.pk).delete()


def valid(user: Any) -> Any:
    """The user's tokens that have not expired."""
    return DeviceToken.objects.filter(user=user).filter(Q(expiry__isnull=True) | Q(expiry__gt=timezone.now()))


def of_device(user: Any, handle: str) -> DeviceToken | None:
    """The user's valid token named by `handle` (DeviceToken.handle), or None: another
    user's is not found."""
    if not HANDLE.fullmatch(handle):
        return None
    return valid(user).filter(digest__startswith=handle).first()
