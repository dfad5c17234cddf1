"""search() compiles its nearest-neighbour statement once per shape and re-uses it: the results are
exactly those of the plain ORM query, for every kind of reader, category and ranking, and a shape
(a visibility rule, a category) never borrows another's statement."""

from __future__ import annotations

import io
import json

import pytest
from django.contrib.auth.models import AnonymousUser, User
from django.contrib.postgres.search import SearchQuery, SearchRank
from django.core.management import call_command
from django.db.models import F, Value
from django.db.models.functions import Coalesce
from django.test.utils import CaptureQueriesContext, override_settings

from faq import search as search_module
from faq.embeddings import embed_query
from faq.management.commands.load_demo import DEMO_DIR
from faq.models import LISTING_DEFER, Category, FaqDocument, KnownPhrasing
from faq.search import search

pytestmark = pytest.mark.django_db(transaction=True)

QUESTIONS = [json.loads(line)["query"] for line in (DEMO_DIR / "queries.jsonl").read_text().splitlines()[::7]]


@pytest.fixture
def readers():
    call_command("load_demo", "--if-empty", stdout=io.StringIO())
    # The articles' own statement is compared with the ORM: without the demo's known phrasings.
    KnownPhrasing.objects.all().delete()
    documents = list(FaqDocument.objects.order_by("pk"))
    # Every third article is for signed-in readers, every fifth staff-only, every seventh a draft.
    for i, document in enumerate(documents):
        if i % 7 == 0:
            document.status = FaqDocument.Status.DRAFT
        elif i % 5 == 0:
            document.visibility = FaqDocument.Visibility.STAFF
        elif i % 3 == 0:
            document.visibility = FaqDocument.Visibility.SIGNED_IN
    FaqDocument.objects.bulk_update(documents, ["status", "visibility"])
    member = User.objects.create_user("member", password="pw-123456789")
    staff = User.objects.create_user("staff", password="pw-123456789", is_staff=True)
    return {"anonymous": AnonymousUser(), "member": member, "staff": staff}


def plain_orm(query: str, *, user, category, weight: float, limit: int = 5) -> list[tuple[str, float, float]]:
    """The statement search() used to build on every call, run through the ORM as it was."""
    documents = FaqDocument.objects.visible_to(user).select_related("category")
    if category is not None:
        documents = documents.filter(category=category)
    candidates = documents.nearest(embed_query(query))
    terms = search_module.keyword_terms(query) if weight else None
    if terms:
        keywords = SearchQuery(terms, search_type="raw", config="english")
        candidates = candidates.annotate(
            keyword_rank=Coalesce(SearchRank(F("search_vector"), keywords, normalization=32), Value(0.0))
        )
    rows = list(candidates.defer(*LISTING_DEFER)[:20])
    ranked = [
        (doc.slug, 1.0 - doc.distance, 1.0 - doc.distance + weight * getattr(doc, "keyword_rank", 0.0)) for doc in rows
    ]
    ranked.sort(key=lambda row: row[2], reverse=True)
    return ranked[:limit]


def shown(result) -> list[tuple[str, float, float]]:
    return [(hit.document.slug, hit.similarity, hit.score) for hit in result.hits]


@pytest.mark.parametrize("ranking", ["shipped", "vector"])
def test_results_match_the_plain_orm_query_for_every_reader_and_category(readers, ranking):
    weight = 0.2 if ranking == "shipped" else 0.0
    categories = [None, *Category.objects.order_by("pk")[:3]]
    compared = 0
    # Staff first, so that a statement cached for staff would leak into the later readers' results.
    with override_settings(KEYWORD_WEIGHT=0.2, SEARCH_CANDIDATES=20):
        for name in ("staff", "member", "anonymous"):
            for category in categories:
                for question in QUESTIONS:
                    expected = plain_orm(question, user=readers[name], category=category, weight=weight)
                    got = shown(search(question, user=readers[name], category=category, ranking=ranking))
                    assert [slug for slug, _, _ in got] == [slug for slug, _, _ in expected], (name, category, question)
                    for (_, similarity, score), (_, want_similarity, want_score) in zip(got, expected, strict=True):
                        assert similarity == pytest.approx(want_similarity, abs=1e-6)
                        assert score == pytest.approx(want_score, abs=1e-6)
                    compared += 1
    assert compared == 3 * len(categories) * len(QUESTIONS)


def test_each_reader_gets_only_what_it_may_read_whatever_was_cached_before(readers):
    question = QUESTIONS[0]
    seen = {}
    for name in ("staff", "member", "anonymous", "staff"):
        result = search(question, user=readers[name], limit=20)
        allowed = set(FaqDocument.objects.visible_to(readers[name]).values_list("slug", flat=True))
        seen[name] = {hit.document.slug for hit in result.hits}
        assert seen[name] <= allowed, name
    restricted = FaqDocument.objects.exclude(
        visibility=FaqDocument.Visibility.PUBLIC, status=FaqDocument.Status.PUBLISHED
    )
    assert seen["staff"] & set(restricted.values_list("slug", flat=True)), (
        "the question should reach a restricted article"
    )


def test_a_hit_is_a_whole_article_with_its_category_and_costs_one_statement(readers):
    from django.db import connection

    search(QUESTIONS[1], user=readers["staff"])  # the statement compiled and the vector cached
    with CaptureQueriesContext(connection) as queries:
        result = search(QUESTIONS[1], user=readers["staff"])
        for hit in result.hits:
            assert hit.document.get_absolute_url().endswith(f"/{hit.document.slug}/")
            assert hit.document.answer and hit.document.question
            assert hit.document.category is None or hit.document.category.name
    # Articles and known phrasings are searched in one statement (one round trip).
    assert len(queries.captured_queries) == 1, [q["sql"][:120] for q in queries.captured_queries]


def test_search_reflects_a_save_at_once(readers):
    question = QUESTIONS[2]
    best = search(question, user=readers["anonymous"]).hits[0].document
    FaqDocument.objects.filter(pk=best.pk).update(status=FaqDocument.Status.DRAFT)
    assert best.slug not in {hit.document.slug for hit in search(question, user=readers["anonymous"], limit=20).hits}
