from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.urls import path

from recommendations import views
from supportsite.signin_limits import limit_sign_ins, limit_signups

urlpatterns = [
    path("dashboard/", views.dashboard, name="dashboard"),
    path("dashboard/clear-history/", views.clear, name="clear_history"),
    path(
        "accounts/login/",
        limit_sign_ins(auth_views.LoginView.as_view(redirect_authenticated_user=True)),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/signup/", limit_signups(views.signup), name="signup"),
    path("accounts/password-reset/", views.PasswordResetView.as_view(), name="password_reset"),
    path(
        "accounts/password-reset/sent/",
        views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "accounts/reset/<uidb64>/<token>/",
        views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "accounts/reset/done/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
]
