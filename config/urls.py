from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _
from django.views.i18n import JavaScriptCatalog

from desk.site import accounts, site

admin.site.site_header = _("tiaochu: dispute and petition cases")
admin.site.site_title = _("tiaochu")
admin.site.index_title = _("Administration")
admin.site.site_url = "/"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("api.urls")),
    path("accounts/", accounts.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("", site.urls),
]
