"""我的设备: the phones and programs that hold an API token of the user's (one per device,
cases.tokens), and revoking one, as for a lost phone, without logging out the others."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cases import tokens


@login_required
def devices(request: HttpRequest) -> HttpResponse:
    return render(request, "desk/devices.html", {"devices": tokens.valid(request.user)})


@login_required
@require_POST
def revoke(request: HttpRequest, handle: str) -> HttpResponse:
    device = tokens.of_device(request.user, handle)
    if device is None:
        raise Http404
    device.delete()
    messages.success(request, _("“%(device)s” is logged out: its token no longer works.")
                     % {"device": device.name or _("unnamed device")})
    return redirect("desk:workbench:devices")
