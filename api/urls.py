from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

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
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("", include(router.urls)),
]
