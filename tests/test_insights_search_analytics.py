"""Search analytics in admin for a chosen period: the figures for a constructed history, CSV
exports, and a clear 400 for every bad period."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, time, timedelta

import pytest
from django.contrib.auth.models import Permission, User
from django.urls import reverse
from django.utils import timezone

from faq.models import FaqDocument, UserResponse
from tests.insights_history import asked, feedback_on, viewed

pytestmark = pytest.mark.django_db

PAGE = reverse("admin:insights_searchanalytics_changelist")


def export_url(kind: str) -> str:
    return reverse("admin:insights_searchanalytics_export", args=[kind])


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour, minute)))


TODAY = date.today()
START, END = TODAY - timedelta(days=20), TODAY - timedelta(days=10)
DAY_A, DAY_B = TODAY - timedelta(days=15), TODAY - timedelta(days=12)
PERIOD = {"start": START.isoformat(), "end": END.isoformat()}


@pytest.fixture
def history() -> dict:
    returns = FaqDocument.objects.create(question="How do I return an item?", answer="Print the label.")
    password = FaqDocument.objects.create(question="How do I reset my password?", answer="Use Forgot password.")
    ann, bob = User.objects.create_user("ann"), User.objects.create_user("bob")
    # Day A: Ann's answered search, then she opens an article 5 minutes later (opened something).
    asked("How do I reset my password", user=ann, answered=True, similarity=0.7, document=password, at=at(DAY_A, 10))
    viewed(password, user=ann, at=at(DAY_A, 10, 5))
    # Her second search is followed by a view only 45 minutes later: nothing opened within 30.
    asked("do you sell sheds", user=ann, at=at(DAY_A, 11))
    viewed(returns, user=ann, at=at(DAY_A, 11, 45))
    asked("how do i reset my password ", answered=True, similarity=0.6, document=password, at=at(DAY_A, 12))
    # Day B: Bob's answer, marked not helpful, nothing opened; an anonymous abstention; a degraded search.
    asked("return a sofa", user=bob, answered=True, similarity=0.5, document=returns, not_helpful=True, at=at(DAY_B, 9))
    asked("garden furniture warranty", at=at(DAY_B, 10))
    asked("return label", user=bob, mode=UserResponse.Mode.KEYWORD, at=at(DAY_B, 11))
    feedback_on(returns, helpful=True, at=at(DAY_B, 12))
    # Outside the period on both sides.
    asked("before the period", answered=True, similarity=0.9, document=returns, at=at(START - timedelta(days=1), 23))
    asked("after the period", at=at(END + timedelta(days=1), 0, 1))
    feedback_on(returns, helpful=False, at=at(END + timedelta(days=2), 8))
    return {"returns": returns, "password": password}


def test_the_period_figures_count_only_what_happened_in_it(admin_client, history):
    response = admin_client.get(PAGE, PERIOD)

    assert response.status_code == 200
    summary = response.context["summary"]
    assert {key: summary[key] for key in ("searches", "answers", "abstained", "degraded", "signed_in")} == {
        "searches": 6,
        "answers": 3,
        "abstained": 2,
        "degraded": 1,
        "signed_in": 4,
    }
    assert (summary["helpful_answers"], summary["not_helpful_answers"]) == (0, 1)
    assert (summary["helpful_articles"], summary["not_helpful_articles"]) == (1, 0)
    # Ann's 11:00 search and both of Bob's opened nothing within 30 minutes; anonymous ones are not counted.
    assert (summary["nothing_opened"], summary["anonymous"]) == (3, 2)
    page = response.content.decode()
    assert '<strong id="answer-rate">50%</strong>' in page
    assert '<strong id="abstain-rate">33%</strong>' in page
    assert '<strong id="nothing-opened-rate">75%</strong>' in page


def test_top_questions_group_the_same_words_and_top_articles_count_answers_given(admin_client, history):
    response = admin_client.get(PAGE, PERIOD)

    top = response.context["top_questions"]
    assert (top[0]["searches"], top[0]["answers"]) == (2, 2)
    assert top[0]["question"].lower().strip() == "how do i reset my password"
    assert [(row["document"], row["times"]) for row in response.context["top_articles"]] == [
        (history["password"], 2),
        (history["returns"], 1),
    ]


def test_the_days_of_the_period_are_listed_even_without_searches(admin_client, history):
    daily = admin_client.get(PAGE, PERIOD).context["daily"]
    assert [row["day"] for row in daily] == [START + timedelta(days=n) for n in range(11)]
    by_day = {row["day"]: row for row in daily}
    assert (by_day[DAY_A]["searches"], by_day[DAY_A]["answers"], by_day[DAY_A]["nothing_opened"]) == (3, 2, 1)
    assert (by_day[DAY_B]["searches"], by_day[DAY_B]["not_helpful_answers"]) == (3, 1)
    assert by_day[START]["searches"] == 0


def test_days_follow_the_sites_time_zone(admin_client, settings):
    settings.TIME_ZONE = "Asia/Tokyo"  # UTC+9: 20:00 UTC is 05:00 the next day there
    asked("late question", at=datetime.combine(DAY_A, time(20), tzinfo=UTC))
    next_day = DAY_A + timedelta(days=1)

    response = admin_client.get(PAGE, {"start": next_day.isoformat(), "end": next_day.isoformat()})

    assert response.context["summary"]["searches"] == 1
    assert response.context["daily"][0]["day"] == next_day
    same_day = admin_client.get(PAGE, {"start": DAY_A.isoformat(), "end": DAY_A.isoformat()})
    assert same_day.context["summary"]["searches"] == 0


def test_the_daily_csv_has_a_row_per_day_and_a_total(admin_client, history):
    response = admin_client.get(export_url("daily"), PERIOD)

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (
        f'attachment; filename="search-analytics-daily-{START.isoformat()}-to-{END.isoformat()}.csv"'
    )
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:7] == ["date", "searches", "answered", "abstained", "degraded", "answer_rate", "abstain_rate"]
    assert len(rows) == 1 + 11 + 1
    day_a = rows[1 + (DAY_A - START).days]
    assert day_a == [DAY_A.isoformat(), "3", "2", "1", "0", "0.6667", "0.3333", "0", "0", "0", "0", "2", "1"]
    assert rows[-1] == ["total", "6", "3", "2", "1", "0.5000", "0.3333", "0", "1", "1", "0", "4", "3"]


def test_the_questions_and_articles_csvs_list_the_tops(admin_client, history):
    questions = list(csv.reader(io.StringIO(admin_client.get(export_url("questions"), PERIOD).content.decode())))
    assert questions[0] == ["question", "searches", "answered"]
    assert questions[1][1:] == ["2", "2"]
    assert len(questions) == 1 + 5  # five different questions in the period
    articles = list(csv.reader(io.StringIO(admin_client.get(export_url("articles"), PERIOD).content.decode())))
    assert articles == [
        ["article_id", "slug", "question", "times_served"],
        [str(history["password"].pk), history["password"].slug, "How do I reset my password?", "2"],
        [str(history["returns"].pk), history["returns"].slug, "How do I return an item?", "1"],
    ]


def test_customer_text_never_becomes_a_spreadsheet_formula(admin_client):
    asked('=HYPERLINK("http://evil.example","click")', at=at(DAY_A, 9))
    asked("-2+3", at=at(DAY_A, 9))
    rows = list(csv.reader(io.StringIO(admin_client.get(export_url("questions"), PERIOD).content.decode())))
    cells = {row[0] for row in rows[1:]}
    assert cells == {'\'=HYPERLINK("http://evil.example","click")', "'-2+3"}


def test_without_dates_the_page_shows_the_last_30_days(admin_client):
    asked("recent question", days_ago=0.1)
    response = admin_client.get(PAGE)
    assert response.status_code == 200
    assert response.context["period"].end == timezone.localdate()
    assert response.context["period"].start == timezone.localdate() - timedelta(days=29)
    assert response.context["summary"]["searches"] == 1


@pytest.mark.parametrize(
    ("params", "problem"),
    [
        ({"start": "2025-02-10", "end": "2025-02-01"}, "“To” (2025-02-01) is before “From” (2025-02-10)"),
        ({"start": "yesterday", "end": "2025-02-01"}, "“From” is not a date."),
        ({"start": "2025-02-01", "end": "2025-02-30"}, "“To” is not a date."),
        ({"start": "2020-01-01", "end": "2022-01-01"}, "The period is 732 days long; choose at most 366 days."),
        ({"start": "1800-01-01", "end": "1800-01-02"}, "“From” must be between 2000-01-01 and 2100-12-31."),
        ({"start": "9999-12-30", "end": "9999-12-31"}, "“From” must be between 2000-01-01 and 2100-12-31."),
        ({"start": "2025-02-01"}, "This field is required."),
        ({"start": "2025-02-01\x00", "end": "2025-02-02"}, "“From” is not a date."),
    ],
)
def test_a_bad_period_is_a_400_that_names_the_problem(admin_client, params, problem):
    for url in (PAGE, export_url("daily")):
        response = admin_client.get(url, params)
        assert response.status_code == 400
        assert response["Content-Type"].startswith("text/html")
        assert problem in response.content.decode()


def test_an_unknown_export_is_a_404_and_a_post_is_refused(admin_client):
    assert admin_client.get(export_url("everything"), PERIOD).status_code == 404
    assert admin_client.post(PAGE, PERIOD).status_code == 405
    assert admin_client.post(export_url("daily"), PERIOD).status_code == 405


def test_only_staff_with_the_view_permission_see_analytics(client):
    customer = User.objects.create_user("customer")
    client.force_login(customer)
    assert client.get(PAGE)["Location"].startswith("/admin/login/")
    assert client.get(export_url("daily"))["Location"].startswith("/admin/login/")

    agent = User.objects.create_user("agent", is_staff=True)
    client.force_login(agent)
    assert client.get(PAGE).status_code == 403
    assert client.get(export_url("daily"), PERIOD).status_code == 403
    agent.user_permissions.add(Permission.objects.get(codename="view_searchanalytics"))
    client.force_login(User.objects.get(pk=agent.pk))
    assert client.get(PAGE).status_code == 200
    assert client.get(export_url("daily"), PERIOD).status_code == 200
