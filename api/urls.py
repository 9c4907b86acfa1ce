from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from workflow.flow import operations

from . import views

router = DefaultRouter()
router.register("cases", views.CaseViewSet, basename="case")
router.register("notifications", views.NotificationViewSet, basename="notification")
router.register("auth/tokens", views.DeviceTokenViewSet, basename="device-token")
router.register("visits", views.VisitViewSet, basename="visit")

urlpatterns = [
    path("auth/token/", views.TokenView.as_view(), name="api-token"),
    path("categories/", views.CategoriesView.as_view(), name="api-categories"),
    path("sources/", views.SourcesView.as_view(), name="api-sources"),
    path("units/", views.ReportingUnitsView.as_view(), name="api-units"),
    path("me/", views.MeView.as_view(), name="api-me"),
    path("departments/", views.DepartmentsView.as_view(), name="api-departments"),
    # Each operation at its own path, so the schema types each one's body.
    *(path(f"cases/<str:id>/transitions/{name}/", views.transition_view(name), name=f"api-transition-{name}")
      for name in sorted(operations())),
    re_path(r"^cases/(?P<id>[^/.]+)/transitions/(?P<name>[a-z_]+)/$", views.UnknownOperationView.as_view(),
            name="api-transition-unknown"),
    path("cases/<str:id>/operations/<str:name>/choices/", views.OperationChoicesView.as_view(),
         name="api-operation-choices"),
    path("cases/<str:id>/documents/", views.DocumentsView.as_view(), name="api-case-documents"),
    path("cases/<str:id>/documents/<str:document_id>/", views.DocumentView.as_view(), name="api-case-document"),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("", include("api.report_urls")),
    path("", include(router.urls)),
]
