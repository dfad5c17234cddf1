""" "Was this helpful?": one vote per answer or article and person, changeable, never lost.

A vote on an answer names it by a signed token (`answer_token`), not its number: numbers can be
guessed, and a guessed number let anyone vote on other people's anonymous answers without bound
and tell missing, signed-in and anonymous answers apart. The token is only ever given to the
person who asked, and it is also the address of the stored answer (`/answers/<token>/`), where
the form returns without JavaScript. Articles are voted on once per signed-in user or, for an
anonymous reader, once per browser session; voting again changes the vote.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_POST, require_safe

from faq.inputs import BadInput
from faq.markdown import render_markdown
from faq.models import FaqDocument, Feedback, UserResponse
from faq.phrasings import learn_from_feedback
from supportsite import metrics
from supportsite.errors import problem, wants_json
from supportsite.ratelimit import request_ip

COMMENT_MAX_LENGTH = 2000
THANKS = "Thanks for your feedback!"
_SIGNER = signing.Signer(salt="faq.feedback.answer")
SESSION_VOTER = "feedback_voter"
BAD_ANSWER_LINK = "That answer cannot be rated from here: its link is not valid. Search again to rate it."


def answer_token(response_id: int | None) -> str:
    """The unguessable name of a stored answer, given only to the person who asked."""
    return _SIGNER.sign(str(response_id)) if response_id else ""


def response_for_token(token: str, *, user) -> UserResponse:
    """The answer a token names, if `user` may see it; BadInput / PermissionDenied otherwise."""
    try:
        response_id = int(_SIGNER.unsign(token))
    except (signing.BadSignature, ValueError):
        raise BadInput(BAD_ANSWER_LINK) from None
    response = UserResponse.objects.filter(pk=response_id).first()
    if response is None:
        raise BadInput("That answer is no longer stored, so it cannot be rated.")
    # A signed-in customer's answer stays theirs, even if its link is passed on.
    if response.user_id is not None and response.user_id != getattr(user, "pk", None):
        raise PermissionDenied("That answer was given to someone else, so you cannot rate it.")
    return response


def voter_for(request: HttpRequest, *, create: bool) -> str:
    """Who is voting: the signed-in user, or a random name kept in the anonymous session."""
    if request.user.is_authenticated:
        return f"user:{request.user.pk}"
    voter = request.session.get(SESSION_VOTER, "")
    if not voter and create:
        voter = request.session[SESSION_VOTER] = secrets.token_hex(16)
    return f"anon:{voter}" if voter else ""


def current_vote(request: HttpRequest, *, response: UserResponse | None = None, document=None) -> Feedback | None:
    if response is not None:
        return Feedback.objects.filter(response=response).first()
    voter = voter_for(request, create=False)
    if document is None or not voter:
        return None
    return Feedback.objects.filter(document=document, response=None, voter=voter).first()


def record_feedback(
    *, user, voter: str, helpful: bool, comment: str | None, response=None, document=None
) -> tuple[Feedback, bool]:
    """The one place a vote is stored: a second vote by the same person changes the first.

    Returns the row and whether it is a new vote or a changed one (a repeat changes nothing).
    `comment` None keeps the comment already given.
    """
    target = {"response": response} if response is not None else {"document": document, "response": None}
    row = Feedback.objects.filter(**target, **({} if response is not None else {"voter": voter})).first()
    if row is None:
        row = Feedback.objects.create(user=user, voter=voter, helpful=helpful, comment=comment or "", **target)
        return row, True
    changed = row.helpful != helpful
    row.helpful, row.user, row.voter = helpful, user or row.user, voter
    if comment is not None:
        row.comment = comment
    row.save(update_fields=["helpful", "user", "voter", "comment", "updated_at"])
    return row, changed


@require_POST
def feedback(request: HttpRequest) -> HttpResponse:
    """Store a vote on an answer (field `response`, its token) or an article (`document`)."""
    try:
        helpful, comment = _helpful_and_comment(request)
        target = _feedback_target(request)
    except BadInput as exc:
        return problem(request, 400, str(exc))
    except PermissionDenied as exc:
        return problem(request, 403, str(exc))
    user = request.user if request.user.is_authenticated else None
    vote, counted = record_feedback(
        user=user, voter=voter_for(request, create=True), helpful=helpful, comment=comment, **target
    )
    if counted:
        metrics.FEEDBACK.labels(value="helpful" if helpful else "not_helpful").inc()
        learn_from_feedback(vote, address=request_ip(request))  # "helpful" -> a pending known phrasing
    if wants_json(request):
        html = render_to_string("faq/_feedback.html", feedback_context(request, vote=vote, **target), request=request)
        return JsonResponse({"ok": True, "message": THANKS, "helpful": helpful, "html": html})
    return redirect(_next_url(request, target) + "#feedback")


def _helpful_and_comment(request: HttpRequest) -> tuple[bool, str | None]:
    helpful = request.POST.get("helpful", "")
    if helpful not in ("yes", "no"):
        raise BadInput("Choose “Yes” or “No” to say whether this was helpful.")
    if "comment" not in request.POST:
        return helpful == "yes", None
    comment = request.POST["comment"].strip()
    if "\x00" in comment:
        raise BadInput("Your comment contains a NUL character (\\0).")
    if len(comment) > COMMENT_MAX_LENGTH:
        raise BadInput(f"Your comment is {len(comment)} characters; the limit is {COMMENT_MAX_LENGTH}.")
    return helpful == "yes", comment


def _feedback_target(request: HttpRequest) -> dict:
    """{"response": UserResponse} or {"document": FaqDocument}; raises BadInput/PermissionDenied."""
    token = request.POST.get("response", "").strip()
    slug = request.POST.get("document", "").strip()
    if bool(token) == bool(slug):
        raise BadInput("Say what the feedback is about: an answer (response) or an article (document), not both.")
    if slug:
        if "\x00" in slug or len(slug) > 200:
            raise BadInput("The article name is not valid.")
        document = FaqDocument.objects.visible_to(request.user).filter(slug=slug).first()
        if document is None:
            raise BadInput(f"There is no article “{slug}” in the help centre.")
        return {"document": document}
    if "\x00" in token or len(token) > 200:
        raise BadInput(BAD_ANSWER_LINK)
    return {"response": response_for_token(token, user=request.user)}


def _next_url(request: HttpRequest, target: dict) -> str:
    wanted = request.POST.get("next", "")
    # Only paths on this site: an open redirect would let a link bounce users anywhere.
    if (
        wanted.startswith("/")
        and "#" not in wanted
        and wanted.isprintable()
        and url_has_allowed_host_and_scheme(
            wanted, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )
    ):
        return wanted
    if "document" in target:
        return target["document"].get_absolute_url()
    # The stored answer, not the search page: reloading that would ask the question again.
    return answer_url(target["response"].pk)


def answer_url(response_id: int) -> str:
    return f"/answers/{answer_token(response_id)}/"


def feedback_context(request: HttpRequest, *, vote: Feedback | None, response=None, document=None) -> dict:
    """What templates/faq/_feedback.html needs."""
    return {
        "vote": vote,
        "feedback_document": document,
        "response_token": answer_token(response.pk) if response is not None else "",
        "contact_url": settings.SUPPORT_CONTACT_URL,
        "comment_max_length": COMMENT_MAX_LENGTH,
    }


@require_safe
@cache_control(private=True, no_store=True)
def answer(request: HttpRequest, token: str) -> HttpResponse:
    """A stored answer, for the person it was given to: where "Was this helpful?" comes back to."""
    try:
        response = response_for_token(token, user=request.user)
    except (BadInput, PermissionDenied):
        raise Http404("no such answer for this reader") from None
    ids = [match["id"] for match in response.matched if isinstance(match, dict) and "id" in match]
    visible = {d.pk: d for d in FaqDocument.objects.visible_to(request.user).filter(pk__in=ids[:4])}
    # A nearly tied answer was offered as a choice of the best two (faq/near_ties.py): so it is here.
    chosen = ids[:2] if response.nearly_tied else []
    answered = response.answered and not chosen
    context = {
        "response": response,
        "answered": answered,
        "choices": [visible[pk] for pk in chosen if pk in visible],
        "answer_html": render_markdown(response.response) if answered else "",
        "sources": [visible[pk] for pk in ids[:1] if pk in visible] if answered else [],
        "others": [visible[pk] for pk in ids[len(chosen) or 1 :][:2] if pk in visible],
        **feedback_context(request, vote=current_vote(request, response=response), response=response),
    }
    return render(request, "faq/answer.html", context)
