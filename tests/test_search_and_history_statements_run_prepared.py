"""The two statements every new question runs, the nearest-neighbour search and the history row, are
sent server-side bound and prepared (faq/prepared.py): the query vector goes once, as one binary
parameter; PostgreSQL parses each statement once per connection and re-uses a generic plan that
still scans both HNSW indexes; the rows are exactly those the client-side statement returned; the
query-time metric and the error counter see them as before; and a dropped connection costs one
question, after which the next is answered on a new connection, prepared again."""

from __future__ import annotations

import io
import json
import re

import numpy as np
import psycopg
import pytest
from django.contrib.auth.models import AnonymousUser, User
from django.core.management import call_command
from django.db import OperationalError, connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings
from prometheus_client import REGISTRY

from faq import search as search_module
from faq.answers import ask
from faq.embeddings import current_model_name, embed_query, vector_literal
from faq.management.commands.load_demo import DEMO_DIR
from faq.models import Category, FaqDocument, KnownPhrasing, UserResponse
from faq.search import search

pytestmark = pytest.mark.django_db(transaction=True)

QUESTIONS = [json.loads(line)["query"] for line in (DEMO_DIR / "queries.jsonl").read_text().splitlines()[::9]]


@pytest.fixture
def readers():
    """The demo help centre (with its known phrasings), some of it for signed-in readers or staff."""
    call_command("load_demo", "--if-empty", stdout=io.StringIO())
    documents = list(FaqDocument.objects.order_by("pk"))
    for i, document in enumerate(documents):
        if i % 4 == 0:
            document.visibility = FaqDocument.Visibility.STAFF
        elif i % 3 == 0:
            document.visibility = FaqDocument.Visibility.SIGNED_IN
    FaqDocument.objects.bulk_update(documents, ["visibility"])
    assert KnownPhrasing.objects.approved().filter(document__visibility=FaqDocument.Visibility.STAFF).exists()
    member = User.objects.create_user("member", password="pw-123456789")
    staff = User.objects.create_user("staff", password="pw-123456789", is_staff=True)
    with connection.cursor() as cursor:
        # A pooled connection keeps what earlier tests prepared (psycopg sees this and forgets too).
        cursor.execute("DEALLOCATE ALL")
    return {"anonymous": AnonymousUser(), "member": member, "staff": staff}


def prepared_statements(like: str) -> list[dict]:
    """This session's prepared statements whose text contains `like`."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name, statement, parameter_types::text[], generic_plans, custom_plans"
            " FROM pg_prepared_statements WHERE statement LIKE %s",
            [f"%{like}%"],
        )
        columns = [column.name for column in cursor.description]
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


def client_side_rows(documents, question: str, *, keyword_signal: bool, centroid: bool) -> list[list]:
    """The statement as it ran before: the ORM's compiled SQL on Django's own (client-side binding)
    cursor, the vector pasted in as text at each of its uses."""
    model = current_model_name()
    query = search_module._candidates(documents, model, keyword_signal=keyword_signal, centroid=centroid).query
    sql, params = query.get_compiler(using=documents.db).as_sql()
    values = {search_module._VECTOR_SLOT: vector_literal(embed_query(question))}
    values[search_module._KEYWORDS_SLOT] = search_module.keyword_terms(question)
    with connection.cursor() as cursor:
        cursor.execute(sql, [values.get(value, value) if isinstance(value, str) else value for value in params])
        return [list(row) for row in cursor.fetchall()]


def count(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_the_search_is_prepared_once_with_the_vector_as_one_binary_parameter(readers):
    for question in QUESTIONS[:8]:
        search(question, user=readers["staff"])

    (statement,) = prepared_statements("<=>")
    # One vector parameter named at all five of its uses, and the keywords; nothing else varies.
    assert statement["parameter_types"] == ["vector", "text"]
    assert statement["statement"].count("$1::vector") == 5
    assert not re.search(r"\[\s*-?\d", statement["statement"]), "no vector literal in the statement's text"
    assert statement["generic_plans"] + statement["custom_plans"] == 8
    # After its first custom plans PostgreSQL settles on one generic plan: no planning per question.
    assert statement["generic_plans"] >= 1


def test_the_generic_plan_can_still_scan_both_hnsw_indexes(readers):
    search(QUESTIONS[0], user=readers["anonymous"])
    (statement,) = prepared_statements("<=>")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname FROM pg_indexes WHERE tablename IN (%s, %s) AND indexdef LIKE '%%USING hnsw%%'",
            [FaqDocument._meta.db_table, KnownPhrasing._meta.db_table],
        )
        hnsw = {name for (name,) in cursor.fetchall()}
        with transaction.atomic():
            # The same text prepared afresh, so that its generic plan is made under these settings
            # (a cached plan is not re-made when they change). Sorts and seq scans are disabled:
            # the demo's few articles cannot then hide an index the plan could not use, as the
            # phrasings' partial one would be, were its predicate's value a parameter.
            cursor.execute("SET LOCAL plan_cache_mode = force_generic_plan")
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("SET LOCAL enable_sort = off")
            cursor.execute("PREPARE generic_search(vector, text) AS " + statement["statement"])
            cursor.execute(
                "EXPLAIN (FORMAT JSON) EXECUTE generic_search(%s, %s)",
                [vector_literal(embed_query(QUESTIONS[0])), "order"],
            )
            plan = json.dumps(cursor.fetchone()[0])
            cursor.execute("DEALLOCATE generic_search")
    assert len(hnsw) == 2
    for name in hnsw:
        assert f'"Index Name": "{name}"' in plan, (name, plan)
    assert "$1" in plan, "a generic plan: the vector is a parameter"


@pytest.mark.parametrize(("keyword_signal", "centroid"), [(True, True), (False, False)])
def test_the_rows_are_those_of_the_client_side_statement_for_every_reader_and_category(
    readers, keyword_signal, centroid
):
    categories = [None, *Category.objects.order_by("pk")[:2]]
    compared = 0
    # Staff first: a statement prepared for staff must not serve the readers after them.
    for name in ("staff", "member", "anonymous"):
        for category in categories:
            documents = FaqDocument.objects.visible_to(readers[name]).select_related("category")
            if category is not None:
                documents = documents.filter(category=category)
            plan = search_module._plan_for(documents, keyword_signal=keyword_signal, centroid=centroid)
            for question in QUESTIONS:
                terms = search_module.keyword_terms(question) if keyword_signal else None
                got = plan.fetch(embed_query(question), terms)
                expected = client_side_rows(documents, question, keyword_signal=keyword_signal, centroid=centroid)
                assert got == expected, (name, category, question)
                compared += 1
    assert compared == 3 * len(categories) * len(QUESTIONS)
    staff_only = set(FaqDocument.objects.filter(visibility=FaqDocument.Visibility.STAFF).values_list("slug", flat=True))
    assert staff_only & {hit.document.slug for hit in search(QUESTIONS[0], user=readers["staff"], limit=20).hits}
    assert not staff_only & {hit.document.slug for q in QUESTIONS for hit in search(q, limit=20).hits}


def test_the_history_row_is_one_prepared_statement_and_keeps_the_exact_vector(readers):
    for question in QUESTIONS[:3]:
        answer = ask(question)
    (statement,) = prepared_statements("INSERT INTO user_responses")
    assert statement["parameter_types"].count("vector") == 1
    assert statement["generic_plans"] + statement["custom_plans"] == 3
    stored = UserResponse.objects.get(pk=answer.response_id).query_embedding
    assert np.array_equal(np.asarray(stored, dtype=np.float32), np.asarray(embed_query(QUESTIONS[2]), np.float32))


def test_the_query_time_metric_records_the_prepared_statements(readers):
    search(QUESTIONS[0])  # compiled and prepared
    searches = count("database_query_time_seconds_count", query_type="vector_search")
    inserts = count("database_query_time_seconds_count", query_type="history_insert")
    executed = count("django_db_execute_total", alias="default", vendor="postgresql")
    with CaptureQueriesContext(connection) as captured:
        ask(QUESTIONS[1])
    assert count("database_query_time_seconds_count", query_type="vector_search") == searches + 1
    assert count("database_query_time_seconds_count", query_type="history_insert") == inserts + 1
    assert count("django_db_execute_total", alias="default", vendor="postgresql") >= executed + 2
    # Django's query log shows them with the vector as text, as before.
    logged = [
        q["sql"] for q in captured.captured_queries if "<=>" in q["sql"] or "INSERT INTO user_responses" in q["sql"]
    ]
    assert len(logged) == 2 and all("'[" in sql for sql in logged), logged


def _terminate_this_sessions_backend() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    params = {**connection.get_connection_params(), "autocommit": True}
    with psycopg.connect(**params) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])
    return pid


def test_a_dropped_connection_fails_one_question_and_the_next_is_answered_on_a_new_one(readers):
    question = QUESTIONS[0]
    expected = [hit.document.slug for hit in search(question).hits]
    old_pid = _terminate_this_sessions_backend()
    errors = count("database_errors_total", error_type="OperationalError")

    with pytest.raises(OperationalError):  # Django's class: an outage to the 503 middleware
        search(question)
    assert count("database_errors_total", error_type="OperationalError") == errors + 1

    connection.close_if_unusable_or_obsolete()  # what the end of every request does
    assert [hit.document.slug for hit in search(question).hits] == expected
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        assert cursor.fetchone()[0] != old_pid
    assert len(prepared_statements("<=>")) == 1, "prepared again on the new connection"


def test_dropped_connections_are_503s_for_the_api_until_the_pool_has_replaced_them(readers):
    client = Client()
    body = {"query": QUESTIONS[0]}
    assert client.post("/api/ai_faq_search", body, content_type="application/json").status_code == 200
    params = {**connection.get_connection_params(), "autocommit": True}
    with psycopg.connect(**params) as other:
        # Every session of the test database but this one: the pooled connections the API uses.
        other.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    statuses = []
    try:
        for _ in range(30):
            response = client.post("/api/ai_faq_search", body, content_type="application/json")
            statuses.append(response.status_code)
            if response.status_code == 200:
                break
            assert response.status_code == 503 and response["Retry-After"] == "5", response.content
    finally:
        connection.close()
        connection.pool.check()  # for the test's own teardown: the pool's idle connections died too
    assert statuses[0] == 503 and statuses[-1] == 200, statuses


def test_with_prepared_statements_off_nothing_is_prepared_and_the_results_are_the_same(readers):
    with override_settings(DB_PREPARED_STATEMENTS=False):
        off = [[(hit.document.slug, hit.score) for hit in search(q, user=readers["staff"]).hits] for q in QUESTIONS]
        ask(QUESTIONS[0])
        assert prepared_statements("<=>") == [] and prepared_statements("INSERT INTO user_responses") == []
    on = [[(hit.document.slug, hit.score) for hit in search(q, user=readers["staff"]).hits] for q in QUESTIONS]
    assert on == off
    assert len(prepared_statements("<=>")) == 1
