"""Search analytics as CSV: the daily figures, the top questions and the top articles of a period."""

from __future__ import annotations

import csv
from collections.abc import Iterator

from django.http import HttpResponse

from insights import analytics

# Spreadsheets run cells that start like a formula: customer text must never be one (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _csv_cell(value) -> object:
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _csv_rate(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}"


CSV_KINDS = {"daily": "daily figures", "questions": "top questions", "articles": "top articles"}


def csv_response(kind: str, period: analytics.Period) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="search-analytics-{kind}-{period.slug()}.csv"'
    writer = csv.writer(response)
    for row in csv_rows(kind, period):
        writer.writerow([_csv_cell(value) for value in row])
    return response


def csv_rows(kind: str, period: analytics.Period) -> Iterator[list]:
    if kind == "daily":
        yield [
            "date",
            "searches",
            "answered",
            "abstained",
            "degraded",
            "answer_rate",
            "abstain_rate",
            "helpful_answers",
            "not_helpful_answers",
            "helpful_articles",
            "not_helpful_articles",
            "signed_in_searches",
            "nothing_opened",
        ]
        rows = [*analytics.daily(period), {**analytics.summary(period), "day": "total"}]
        for row in rows:
            yield [
                str(row["day"]),
                row["searches"],
                row["answers"],
                row["abstained"],
                row["degraded"],
                _csv_rate(row["answer_rate"]),
                _csv_rate(row["abstain_rate"]),
                row["helpful_answers"],
                row["not_helpful_answers"],
                row["helpful_articles"],
                row["not_helpful_articles"],
                row["signed_in"],
                row["nothing_opened"],
            ]
    elif kind == "questions":
        yield ["question", "searches", "answered"]
        for row in analytics.top_questions(period):
            yield [row["question"], row["searches"], row["answers"]]
    else:
        yield ["article_id", "slug", "question", "times_served"]
        for row in analytics.top_articles(period):
            doc = row["document"]
            yield [row["document_id"], doc.slug if doc else "", doc.question if doc else "(deleted)", row["times"]]
