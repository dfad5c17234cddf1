"""Sign-up, password resets by email, and the signed-in dashboard: history, recommendations,
clearing history."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model, login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import UserCreationForm
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from recommendations.engine import recommend
from recommendations.history import clear_history, recent_questions
from supportsite.ratelimit import PASSWORD_RESETS, RateLimited, check, request_ip, too_many_page


class SignupForm(UserCreationForm):
    email = forms.EmailField(required=False, help_text="Optional: for password resets.")

    class Meta(UserCreationForm.Meta):
        model = get_user_model()
        fields = ("username", "email")


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    if not settings.ALLOW_SIGNUP:
        raise Http404("Sign-up is turned off on this help centre.")
    if request.user.is_authenticated:
        return redirect("dashboard")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, "Welcome! Your questions and recommendations will appear here.")
        return redirect("dashboard")
    return render(request, "registration/signup.html", {"form": form}, status=400 if form.errors else 200)


class ResetPage:
    """The reset pages that take input: off (404, pointing to support) without EMAIL_HOST, and a
    form with errors is a 400, as everywhere else on the site."""

    def dispatch(self, request, *args, **kwargs):
        if not settings.PASSWORD_RESET_ENABLED:
            return render(request, "registration/password_reset_off.html", status=404)
        return super().dispatch(request, *args, **kwargs)

    def form_invalid(self, form):
        return self.render_to_response(self.get_context_data(form=form), status=400)


class PasswordResetView(ResetPage, auth_views.PasswordResetView):
    """ "Forgot your password?": a one-time link by email, when EMAIL_HOST is set.

    The same "check your inbox" page follows whether or not the address has an account, so the
    form never tells who has one. Requests are limited per IP (RATE_LIMIT_PASSWORD_RESETS): each
    one mails someone. A failing mail server is logged by Django and the page still follows."""

    def form_valid(self, form):
        try:
            check(user=None, ip=request_ip(self.request), kind=PASSWORD_RESETS)
        except RateLimited as exc:
            return too_many_page(self.request, exc)
        return super().form_valid(form)


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    def get_context_data(self, **kwargs):
        minutes = settings.PASSWORD_RESET_TIMEOUT // 60
        hours, rest = divmod(minutes, 60)
        lasts = f"{hours} hour{'s' * (hours != 1)}" if hours and not rest else f"{minutes} minutes"
        return {**super().get_context_data(**kwargs), "link_lasts": lasts}


class PasswordResetConfirmView(ResetPage, auth_views.PasswordResetConfirmView):
    pass


@require_GET
@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "recommendations/dashboard.html",
        {"questions": recent_questions(request.user), "recommendations": recommend(request.user, limit=5)},
    )


@require_POST
@login_required
def clear(request: HttpRequest) -> HttpResponse:
    deleted = clear_history(request.user)
    messages.success(request, f"Your history is cleared ({deleted} question(s) deleted).")
    return redirect("dashboard")
