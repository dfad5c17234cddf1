from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from supportsite import views
from supportsite.api import api
from supportsite.signin_limits import limit_sign_ins

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("metrics", views.prometheus_metrics, name="metrics"),
    # The admin's sign-in, limited like the customers' (before admin.site.urls, which it shadows).
    path("admin/login/", limit_sign_ins(admin.site.login), name="admin_login"),
    path("admin/", admin.site.urls),
    path("api/", api.urls),
    path("", include("recommendations.urls")),
    path("", include("faq.urls")),
]
