"""Staff manage the knowledge base in Django admin: find, preview, publish and re-embed articles."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from faq.models import Category, FaqDocument

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:faq_faqdocument_changelist")


def _change_url(doc: FaqDocument) -> str:
    return reverse("admin:faq_faqdocument_change", args=[doc.pk])


def _listed(admin_client, **params: str) -> set[str]:
    response = admin_client.get(CHANGELIST, params)
    assert response.status_code == 200
    return {doc.question for doc in response.context["cl"].result_list}


def _messages(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def _run_action(admin_client, action: str, docs: list[FaqDocument]):
    return admin_client.post(CHANGELIST, {"action": action, "_selected_action": [doc.pk for doc in docs]}, follow=True)


def _unembed(doc: FaqDocument) -> None:
    # What an outage or a model change leaves behind; update() skips save(), so nothing re-embeds.
    FaqDocument.objects.filter(pk=doc.pk).update(embedding=None, embedding_model="")


@pytest.fixture
def knowledge_base() -> dict[str, FaqDocument]:
    orders = Category.objects.create(name="Orders", slug="orders")
    account = Category.objects.create(name="Account", slug="account")
    docs = {
        "returns": FaqDocument.objects.create(
            question="How do I return an item?",
            answer="Print the free label from **Your orders** and drop the parcel at any post office.",
            category=orders,
        ),
        "draft": FaqDocument.objects.create(
            question="Can I change my delivery address?",
            answer="Until the order ships, edit the address under Your orders.",
            category=orders,
            status=FaqDocument.Status.DRAFT,
        ),
        "staff": FaqDocument.objects.create(
            question="How do I issue a goodwill refund?",
            answer="Agents open the order in the back office and choose Refund.",
            category=account,
            visibility=FaqDocument.Visibility.STAFF,
        ),
        "password": FaqDocument.objects.create(
            question="How do I reset my password?",
            answer="Select Forgot password on the sign-in page and follow the emailed link.",
            category=account,
        ),
    }
    _unembed(docs["password"])
    return docs


def test_the_changelist_lists_every_article_with_its_embedding_state(admin_client, knowledge_base):
    response = admin_client.get(CHANGELIST)
    assert response.status_code == 200
    assert {doc.question for doc in response.context["cl"].result_list} == {
        doc.question for doc in knowledge_base.values()
    }
    assert 'alt="True"' in response.content.decode() and 'alt="False"' in response.content.decode()


def test_each_filter_shows_only_the_matching_articles(admin_client, knowledge_base):
    orders = Category.objects.get(slug="orders")
    assert _listed(admin_client, category__id__exact=str(orders.pk)) == {
        "How do I return an item?",
        "Can I change my delivery address?",
    }
    assert _listed(admin_client, status__exact="draft") == {"Can I change my delivery address?"}
    assert _listed(admin_client, visibility__exact="staff") == {"How do I issue a goodwill refund?"}
    assert _listed(admin_client, embedding="no") == {"How do I reset my password?"}
    assert _listed(admin_client, embedding="yes") == {
        "How do I return an item?",
        "Can I change my delivery address?",
        "How do I issue a goodwill refund?",
    }


def test_an_article_embedded_by_another_model_counts_as_not_embedded(admin_client, knowledge_base):
    FaqDocument.objects.filter(pk=knowledge_base["returns"].pk).update(embedding_model="some-old-model")
    assert "How do I return an item?" in _listed(admin_client, embedding="no")
    assert "How do I return an item?" not in _listed(admin_client, embedding="yes")


def test_search_finds_articles_by_words_in_their_answer(admin_client, knowledge_base):
    assert _listed(admin_client, q="post office") == {"How do I return an item?"}
    assert _listed(admin_client, q="reset-my-password") == {"How do I reset my password?"}  # by slug


def test_the_change_page_previews_the_answer_as_sanitised_markdown(admin_client):
    doc = FaqDocument.objects.create(
        question="What does bold look like?", answer="This is **bold**.\n\n<script>alert('owned')</script>"
    )
    page = admin_client.get(_change_url(doc)).content.decode()
    assert 'aria-live="polite"><p>This is <strong>bold</strong>.</p>' in page and 'class="markdown-preview"' in page
    assert "<script>alert(" not in page
    assert "&lt;script&gt;alert(" in page


def test_the_change_page_says_which_model_embedded_the_article(admin_client, knowledge_base):
    page = admin_client.get(_change_url(knowledge_base["returns"])).content.decode()
    assert "Embedded with <code>all-MiniLM-L6-v2-int8</code>" in page


def test_the_change_page_warns_when_an_article_is_not_embedded_and_says_how_to_fix_it(admin_client, knowledge_base):
    page = admin_client.get(_change_url(knowledge_base["password"])).content.decode()
    assert '<span class="not-embedded">Not embedded' in page
    assert "python manage.py reembed --missing" in page
    assert "Not embedded, so similar articles cannot be found." in page


def test_similar_articles_show_the_five_nearest_and_flag_a_near_duplicate(admin_client):
    doc = FaqDocument.objects.create(
        question="How do I reset my password?",
        answer="Select Forgot password on the sign-in page and follow the link we email you.",
    )
    duplicate = FaqDocument.objects.create(
        question="How can I reset my password?",
        answer="Choose Forgot password on the sign-in page, then follow the link in the email we send you.",
    )
    # The same text without a vector can't be ranked, so it must not appear at all.
    unembedded_copy = FaqDocument.objects.create(question="Reset my password", answer=doc.answer)
    _unembed(unembedded_copy)
    for question, answer in [
        ("How long does delivery take?", "Standard delivery takes 3-5 working days."),
        ("Do you ship abroad?", "We ship to 30 countries in Europe."),
        ("Can I pay with PayPal?", "Yes, choose PayPal at checkout."),
        ("How do I return a sofa?", "Book a collection from Your orders."),
        ("Are gift cards refundable?", "No, gift cards cannot be exchanged for cash."),
        ("Where is my invoice?", "Invoices are under Your orders > Documents."),
    ]:
        FaqDocument.objects.create(question=question, answer=answer)

    page = admin_client.get(_change_url(doc)).content.decode()
    panel = re.search(r'<ul class="similar-articles">(.*?)</ul>', page, re.DOTALL).group(1)
    items = re.findall(r'<li class="similar-article">(.*?)</li>', panel, re.DOTALL)
    assert len(items) == 5
    assert f'href="{_change_url(duplicate)}"' in items[0]
    assert "possible duplicate" in items[0]
    assert sum("possible duplicate" in item for item in items) == 1
    similarities = [float(re.search(r"similarity (\d\.\d\d)", item).group(1)) for item in items]
    assert similarities == sorted(similarities, reverse=True)
    assert similarities[0] >= 0.9 > similarities[1]
    assert _change_url(doc) not in panel
    assert _change_url(unembedded_copy) not in panel


def test_bulk_publish_and_unpublish_change_the_status_of_the_selected_articles(admin_client, knowledge_base):
    draft, returns = knowledge_base["draft"], knowledge_base["returns"]
    before = draft.updated_at

    response = _run_action(admin_client, "publish_selected", [draft])
    assert "Published 1 article(s)." in _messages(response)
    draft.refresh_from_db()
    assert draft.status == FaqDocument.Status.PUBLISHED
    assert draft.updated_at > before

    response = _run_action(admin_client, "unpublish_selected", [draft, returns])
    assert "Moved 2 article(s) back to draft." in _messages(response)
    assert set(FaqDocument.objects.filter(pk__in=[draft.pk, returns.pk]).values_list("status", flat=True)) == {
        FaqDocument.Status.DRAFT
    }
    assert FaqDocument.objects.get(pk=knowledge_base["staff"].pk).status == FaqDocument.Status.PUBLISHED


def test_bulk_re_embed_fixes_an_article_that_lost_its_vector(admin_client, knowledge_base):
    doc = knowledge_base["password"]
    assert FaqDocument.objects.not_embedded().filter(pk=doc.pk).exists()

    response = _run_action(admin_client, "reembed_selected", [doc, knowledge_base["returns"]])
    assert "Embedded 2 article(s); 0 failed." in _messages(response)
    doc.refresh_from_db()
    assert doc.is_embedded
    assert doc.embedded_hash == doc.text_hash
    assert not FaqDocument.objects.not_embedded().exists()


def test_a_failed_re_embed_is_reported_and_keeps_the_vectors_the_articles_had(
    admin_client, knowledge_base, openai_settings, settings
):
    doc = knowledge_base["returns"]
    vector_before = list(doc.embedding)
    settings.EMBEDDING_BACKEND = "openai"
    settings.AI_MAX_RETRIES = 0
    openai_settings.mode = "error"

    response = _run_action(admin_client, "reembed_selected", [doc])
    assert "Embedded 0 article(s); 1 failed (see the server log, then try again)." in _messages(response)
    doc.refresh_from_db()
    assert list(doc.embedding) == pytest.approx(vector_before)


def test_saving_an_edited_answer_in_the_admin_re_embeds_the_article(admin_client, knowledge_base):
    doc = knowledge_base["returns"]
    old_hash, old_vector = doc.embedded_hash, list(doc.embedding)
    response = admin_client.post(
        _change_url(doc),
        {
            "question": doc.question,
            "slug": doc.slug,
            "category": str(doc.category_id),
            "answer": "Returns are free for 60 days: book a courier collection from Your orders.",
            "status": doc.status,
            "visibility": doc.visibility,
            "_save": "Save",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    doc.refresh_from_db()
    assert doc.answer.startswith("Returns are free for 60 days")
    assert doc.embedding is not None and doc.is_embedded
    assert doc.embedded_hash == doc.text_hash != old_hash
    assert list(doc.embedding) != pytest.approx(old_vector)


def test_the_add_page_explains_that_the_preview_follows_typing_and_embeddings_come_after_saving(admin_client):
    page = admin_client.get(reverse("admin:faq_faqdocument_add")).content.decode()
    assert "Type an answer to see its preview." in page
    assert "Embedded when saved." in page


def test_categories_list_how_many_articles_they_hold(admin_client, knowledge_base):
    response = admin_client.get(reverse("admin:faq_category_changelist"))
    counts = {category.name: category.article_count for category in response.context["cl"].result_list}
    assert counts == {"Orders": 2, "Account": 2}


@pytest.mark.parametrize("url", [CHANGELIST, reverse("admin:faq_category_changelist")])
def test_signed_in_customers_who_are_not_staff_are_sent_to_the_admin_login(client, django_user_model, url):
    client.force_login(django_user_model.objects.create_user("customer", password="a long password"))
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_the_preview_endpoint_renders_what_customers_would_see_for_staff_only(admin_client, client):
    url = reverse("admin:faq_faqdocument_preview")
    rendered = admin_client.post(url, {"answer": "**Bold** <script>x</script>"}).json()["html"]
    assert "<strong>Bold</strong>" in rendered and "<script>" not in rendered
    assert admin_client.get(url).status_code == 405
    assert admin_client.post(url, {"answer": "a\x00b"}).status_code == 400
    assert client.post(url, {"answer": "x"}).status_code == 302  # not signed in: admin's sign-in page
