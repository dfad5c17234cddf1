from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from supportsite import views
from supportsite.api import api

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("metrics", views.prometheus_metrics, name="metrics"),
    path("admin/", admin.site.urls),
    path("api/", api.urls),
    path("", include("recommendations.urls")),
    path("", include("faq.urls")),
]
