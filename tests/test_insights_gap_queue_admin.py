"""The content-gap queue in admin: ranked clusters with examples and their closest articles,
"draft an article from this" (with and without an AI provider), and who may see any of it."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth.models import Permission, User
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from faq.models import Category, FaqDocument
from insights.gaps import cluster_questions
from insights.models import GapCluster, GapDismissal
from recommendations.history import clear_history
from tests.insights_history import ISLANDS, KLARNA, asked, published_long_ago

pytestmark = pytest.mark.django_db

QUEUE = reverse("admin:insights_gapcluster_changelist")
ADD_ARTICLE = reverse("admin:faq_faqdocument_add")


def draft_url(cluster: GapCluster) -> str:
    return reverse("admin:insights_gapcluster_draft", args=[cluster.pk])


@pytest.fixture
def queue() -> dict[str, GapCluster]:
    """Klarna asked by three customers, the Channel Islands by one; a payments article exists."""
    payments = Category.objects.create(name="Payments", slug="payments")
    cards = FaqDocument.objects.create(
        question="Which payment methods do you accept?",
        answer="We accept Visa, Mastercard, PayPal and gift cards. Pay later options are coming soon.",
        category=payments,
    )
    published_long_ago(cards, days=60)
    customers = [User.objects.create_user(f"customer{n}") for n in range(3)]
    for user, text in zip(customers, KLARNA, strict=False):
        asked(text, user=user, days_ago=2)
    asked(ISLANDS[0], user=customers[0], days_ago=3)
    asked(ISLANDS[1], user=customers[0], days_ago=1)
    call_command("cluster_questions", verbosity=0)
    return {
        "klarna": GapCluster.objects.filter(members__response__query=KLARNA[0]).get(),
        "islands": GapCluster.objects.filter(members__response__query=ISLANDS[0]).get(),
    }


def _prefill(response) -> dict[str, str]:
    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert location.path == ADD_ARTICLE
    return {name: values[0] for name, values in parse_qs(location.query).items()}


def test_the_queue_lists_clusters_by_customers_with_examples_and_closest_articles(admin_client, queue):
    response = admin_client.get(QUEUE)

    assert response.status_code == 200
    assert [cluster.pk for cluster in response.context["cl"].result_list] == [queue["klarna"].pk, queue["islands"].pk]
    page = response.content.decode()
    # Anonymous questions are not customers: the column is "Askers", not "Customers".
    assert ">Askers<" in page and ">Customers<" not in page
    assert "<h1>Content-gap queue</h1>" in page
    assert page.index("can i pay with klarna") < page.index("do you deliver to the channel islands")
    assert "Can I pay with Klarna?" in page and "klarna payment possible?" in page  # examples
    assert '<a href="/admin/faq/faqdocument/' in page
    assert "Which payment methods do you accept?</a> — similarity 0." in page
    assert "3 no answer" in page
    assert page.count("Draft an article from this") == 2
    assert "Built by <code>manage.py cluster_questions</code>" in page


def test_an_empty_queue_says_how_to_fill_it(admin_client):
    page = admin_client.get(QUEUE).content.decode()
    assert "The queue is empty until <code>python manage.py cluster_questions</code> has run" in page


def test_a_cluster_page_lists_its_questions_and_offers_a_draft(admin_client, queue):
    page = admin_client.get(reverse("admin:insights_gapcluster_change", args=[queue["klarna"].pk])).content.decode()
    assert "3 question(s) from 3 asker(s)" in page
    for text in KLARNA[:3]:
        assert text in page
    assert f'href="{draft_url(queue["klarna"])}"' in page


def test_draft_an_article_opens_the_add_form_prefilled_with_the_questions(admin_client, queue):
    prefill = _prefill(admin_client.get(draft_url(queue["klarna"])))

    # The question nearest the cluster's centre, capitalised, becomes the title.
    assert prefill["question"] in {text[:1].upper() + text[1:] for text in KLARNA}
    assert prefill["status"] == "draft"
    assert prefill["category"] == str(Category.objects.get(slug="payments").pk)  # the closest article's
    for text in KLARNA[:3]:
        assert f"“{text}”" in prefill["answer"]
    assert prefill["answer"].startswith("_Write the answer here._")

    form = admin_client.get(ADD_ARTICLE, prefill).context["adminform"].form
    assert form.initial["question"] == prefill["question"]
    assert form.initial["status"] == "draft"
    assert "“klarna payment possible?”" in form.initial["answer"]
    assert FaqDocument.objects.count() == 1  # nothing saved until staff save the form


def test_with_an_ai_provider_the_draft_has_a_drafted_answer(admin_client, queue, openai_settings, settings):
    settings.ANSWER_MODE = "openai"

    prefill = _prefill(admin_client.get(draft_url(queue["klarna"])))

    assert prefill["answer"].startswith("According to the help centre:")  # the test server's completion
    assert "“can i pay with klarna”" in prefill["answer"]  # the questions follow the draft
    (request,) = [r for r in openai_settings.requests if r["path"] == "/v1/chat/completions"]
    data = request["body"]["messages"][1]["content"]
    assert "can i pay with klarna" in data and "Which payment methods do you accept?" in data


def test_when_the_ai_provider_fails_the_draft_holds_the_questions_and_says_why(
    admin_client, queue, openai_settings, settings
):
    settings.ANSWER_MODE, settings.AI_MAX_RETRIES = "openai", 0
    openai_settings.mode = "error"

    response = admin_client.get(draft_url(queue["klarna"]))

    prefill = _prefill(response)
    assert prefill["answer"].startswith("_Write the answer here._")
    page = admin_client.get(response["Location"]).content.decode()
    assert "The AI provider could not draft an answer (InternalServerError)" in page


def test_a_very_long_cluster_still_gives_an_address_browsers_accept(admin_client):
    for n in range(12):
        asked(f"can i pay with klarna {'é' * 400} {n}", days_ago=1)
    call_command("cluster_questions", verbosity=0)

    response = admin_client.get(draft_url(GapCluster.objects.get()))

    assert len(response["Location"]) < 8000
    assert admin_client.get(response["Location"]).status_code == 200


def test_questions_deleted_from_the_history_disappear_from_the_queue(admin_client, queue):
    clear_history(User.objects.get(username="customer0"))

    page = admin_client.get(QUEUE).content.decode()

    assert KLARNA[0] not in page and ISLANDS[0] not in page
    assert "Can I pay with Klarna?" in page
    assert "The questions were deleted from the history." in page  # the islands cluster, until the next run


def test_publishing_an_article_takes_its_cluster_out_of_the_queue_page(admin_client, queue):
    admin_client.post(
        ADD_ARTICLE,
        {
            "question": "Can I pay with Klarna?",
            "slug": "pay-with-klarna",
            "answer": "Yes: choose Klarna at checkout to pay later with Klarna in three instalments.",
            "status": "published",
            "visibility": "public",
        },
    )

    listed = [c.pk for c in admin_client.get(QUEUE).context["cl"].result_list]
    assert listed == [queue["islands"].pk]
    answered = admin_client.get(QUEUE, {"status": "answered"})
    assert [c.pk for c in answered.context["cl"].result_list] == [queue["klarna"].pk]
    assert "Can I pay with Klarna?</a>" in answered.content.decode()  # "answered by"


def test_bulk_publishing_a_draft_takes_its_cluster_out_when_the_queue_is_next_shown(admin_client, queue):
    draft = FaqDocument.objects.create(
        question="Can I pay with Klarna?",
        answer="Yes: choose Klarna at checkout to pay later with Klarna in three instalments.",
        status=FaqDocument.Status.DRAFT,
    )
    admin_client.post(
        reverse("admin:faq_faqdocument_changelist"),
        {"action": "publish_selected", "_selected_action": [draft.pk]},
    )

    response = admin_client.get(QUEUE, follow=True)

    assert [c.pk for c in response.context["cl"].result_list] == [queue["islands"].pk]
    assert "1 content gap(s) left the queue" in response.content.decode()


def test_an_unknown_cluster_is_a_404_and_a_post_to_draft_is_refused(admin_client, queue):
    assert admin_client.get(reverse("admin:insights_gapcluster_draft", args=[987654321])).status_code == 404
    assert admin_client.get("/admin/insights/gapcluster/not-a-number/draft/").status_code == 404
    assert admin_client.post(draft_url(queue["klarna"])).status_code == 405


def test_nobody_can_add_change_or_delete_clusters_by_hand(admin_client, queue):
    assert admin_client.get(reverse("admin:insights_gapcluster_add")).status_code == 403
    assert admin_client.get(reverse("admin:insights_gapcluster_delete", args=[queue["klarna"].pk])).status_code == 403
    page = admin_client.get(reverse("admin:insights_gapcluster_change", args=[queue["klarna"].pk])).content.decode()
    assert 'name="_save"' not in page


def test_customers_are_sent_to_the_admin_sign_in(client, queue):
    client.force_login(User.objects.create_user("customer", password="pw-123456789"))
    for url in (QUEUE, draft_url(queue["klarna"])):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/admin/login/")
    anonymous = client.__class__()
    assert anonymous.get(QUEUE)["Location"].startswith("/admin/login/")


def test_staff_need_the_view_permission_and_drafting_needs_add_article(client, queue):
    agent = User.objects.create_user("agent", password="pw-123456789", is_staff=True)
    client.force_login(agent)
    assert client.get(QUEUE).status_code == 403
    assert client.get(draft_url(queue["klarna"])).status_code == 403

    agent.user_permissions.add(Permission.objects.get(codename="view_gapcluster"))
    agent = User.objects.get(pk=agent.pk)  # permissions are cached per instance
    client.force_login(agent)
    page = client.get(QUEUE).content.decode()
    assert "can i pay with klarna" in page
    assert "Draft an article from this" not in page
    assert client.get(draft_url(queue["klarna"])).status_code == 403

    agent.user_permissions.add(Permission.objects.get(codename="add_faqdocument"))
    client.force_login(User.objects.get(pk=agent.pk))
    assert client.get(draft_url(queue["klarna"])).status_code == 302


def _act(client, action: str, *clusters: GapCluster, status: str = ""):
    """Run an admin action from the queue page (or the page of one status filter, e.g. dismissed)."""
    url = QUEUE + (f"?status={status}" if status else "")
    return client.post(url, {"action": action, "_selected_action": [cluster.pk for cluster in clusters]}, follow=True)


def _queued() -> set[int]:
    return set(GapCluster.objects.open().values_list("pk", flat=True))


def test_a_dismissed_gap_stays_out_of_the_queue_until_a_customer_asks_again(admin_client, queue):
    response = _act(admin_client, "dismiss_gaps", queue["islands"])
    assert "1 content gap(s) dismissed" in response.content.decode()
    assert _queued() == {queue["klarna"].pk}
    dismissed = admin_client.get(QUEUE, {"status": "dismissed"})
    assert [c.pk for c in dismissed.context["cl"].result_list] == [queue["islands"].pk]
    assert "by admin" in dismissed.content.decode()

    # The queue is rebuilt from the history: the dismissal outlives the cluster it was made on.
    call_command("cluster_questions", verbosity=0)
    islands = GapCluster.objects.get(members__response__query=ISLANDS[0])
    assert islands.dismissal is not None and islands.pk not in _queued()

    # A customer asks again after the dismissal: the gap is back, with the new question.
    asked(ISLANDS[2], days_ago=0)
    call_command("cluster_questions", verbosity=0)
    islands = GapCluster.objects.get(members__response__query=ISLANDS[0])
    assert islands.dismissal is None and islands.pk in _queued() and islands.questions == 3


def test_a_dismissal_can_be_undone_and_then_stays_undone(admin_client, queue):
    _act(admin_client, "dismiss_gaps", queue["klarna"], queue["islands"])
    assert _queued() == set()

    response = _act(admin_client, "restore_gaps", queue["klarna"], status="dismissed")
    assert "1 content gap(s) returned to the queue" in response.content.decode()
    assert _queued() == {queue["klarna"].pk}
    call_command("cluster_questions", verbosity=0)
    assert _queued() == {queue["klarna"].pk}, "the undone dismissal is forgotten; the other one holds"


def test_dismissing_needs_the_change_permission(client, queue):
    agent = User.objects.create_user("viewer", password="pw-123456789", is_staff=True)
    agent.user_permissions.add(Permission.objects.get(codename="view_gapcluster"))
    client.force_login(agent)
    assert "dismiss_gaps" not in client.get(QUEUE).content.decode()
    _act(client, "dismiss_gaps", queue["klarna"])
    assert queue["klarna"].pk in _queued()

    agent.user_permissions.add(Permission.objects.get(codename="change_gapcluster"))
    client.force_login(User.objects.get(pk=agent.pk))
    _act(client, "dismiss_gaps", queue["klarna"])
    assert queue["klarna"].pk not in _queued()


def test_dismissals_older_than_the_window_are_forgotten(admin_client, queue):
    _act(admin_client, "dismiss_gaps", queue["islands"])
    cluster_questions(days=90)
    assert GapDismissal.objects.count() == 1, "still inside the window: kept"
    # A window that starts after the dismissal: every question in it was asked later.
    cluster_questions(days=1, now=timezone.now() + timedelta(days=2))
    assert not GapDismissal.objects.exists()
