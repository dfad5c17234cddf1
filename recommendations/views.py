"""Sign-up, and the signed-in dashboard: history, recommendations, clearing history."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model, login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import UserCreationForm
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from recommendations.engine import recommend
from recommendations.history import clear_history, recent_questions


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
