"""One vote per answer or article and person: repeating it changes nothing, voting again changes it,
and an answer's number alone cannot be voted on (issue 15 point 8)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from faq.feedback import answer_token
from faq.models import FaqDocument, Feedback, UserResponse

pytestmark = pytest.mark.django_db


@pytest.fixture
def document():
    return FaqDocument.objects.create(
        slug="return-window", question="How long do I have to return an item?", answer="30 days."
    )


def _answer(user=None) -> UserResponse:
    return UserResponse.objects.create(
        user=user, query="send it back", response="30 days", answered=True, answer_mode="extractive"
    )


def test_five_votes_in_a_row_on_one_anonymous_answer_are_one_vote(document):
    answer = _answer()
    client = Client()
    for _ in range(5):
        assert client.post("/feedback", {"response": answer_token(answer.pk), "helpful": "no"}).status_code == 302
    # Another client holding the same link is still the same asker: still one vote.
    Client().post("/feedback", {"response": answer_token(answer.pk), "helpful": "no"})
    assert Feedback.objects.filter(response=answer).count() == 1


def test_a_second_vote_changes_the_first(document):
    answer = _answer()
    client = Client()
    client.post("/feedback", {"response": answer_token(answer.pk), "helpful": "no", "comment": "Which items?"})
    client.post("/feedback", {"response": answer_token(answer.pk), "helpful": "yes"})
    vote = Feedback.objects.get()
    assert vote.helpful is True and vote.comment == "Which items?"  # a vote without a comment keeps it


def test_reloading_an_article_vote_does_not_add_votes_but_each_reader_has_one(document):
    first, second = Client(), Client()
    for _ in range(3):
        first.post("/feedback", {"document": "return-window", "helpful": "yes"})
    second.post("/feedback", {"document": "return-window", "helpful": "no"})
    user = User.objects.create_user("ana", password="pw-123456789")
    signed_in = Client()
    signed_in.force_login(user)
    signed_in.post("/feedback", {"document": "return-window", "helpful": "no"})
    signed_in.post("/feedback", {"document": "return-window", "helpful": "yes"})
    assert sorted(Feedback.objects.values_list("helpful", flat=True)) == [False, True, True]
    assert Feedback.objects.filter(user=user).get().helpful is True


def test_answer_numbers_do_not_tell_missing_signed_in_and_anonymous_answers_apart(document):
    owner = User.objects.create_user("ana", password="pw-123456789")
    ids = {"anonymous": _answer().pk, "signed-in": _answer(owner).pk, "missing": 999_999}
    replies = {kind: Client().post("/feedback", {"response": str(pk), "helpful": "yes"}) for kind, pk in ids.items()}
    assert {kind: reply.status_code for kind, reply in replies.items()} == dict.fromkeys(ids, 400)
    assert len({reply.content for reply in replies.values()}) == 1
    assert Feedback.objects.count() == 0


def test_no_asks_what_they_were_looking_for_and_the_answer_is_stored_with_the_vote(document):
    client = Client()
    page = client.post("/feedback", {"document": "return-window", "helpful": "no"}, follow=True).content.decode()
    assert "What were you looking for?" in page and "Contact support" in page
    client.post("/feedback", {"document": "return-window", "helpful": "no", "comment": "Returns from abroad"})
    vote = Feedback.objects.get()
    assert vote.helpful is False and vote.comment == "Returns from abroad"
    assert "Returns from abroad" in client.get("/articles/return-window/").content.decode()
