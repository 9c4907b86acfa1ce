"""The screening returns and the figures the pages report (ledgers, monthly table,
assessment), for grid apps and the platforms above."""

from django.urls import path

from . import report_views as views

urlpatterns = [
    path("returns/", views.ReturnsView.as_view(), name="api-returns"),
    path("ledgers/<str:kind>/", views.LedgerView.as_view(), name="api-ledger"),
    path("monthly-table/", views.MonthlyTableView.as_view(), name="api-monthly-table"),
    path("assessment/", views.AssessmentView.as_view(), name="api-assessment"),
    path("meeting/", views.MeetingView.as_view(), name="api-meeting"),
]
