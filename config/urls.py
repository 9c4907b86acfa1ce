from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _
from django.views.generic import RedirectView

admin.site.site_header = _("tiaochu: dispute and petition cases")
admin.site.site_title = _("tiaochu")
admin.site.index_title = _("Administration")

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("cases.api.urls")),
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
]
