"""Retrieval quality of the vector, keyword and shipped rankings on a FAQ data set, and the cut-off.

    .venv/bin/python bench/retrieval.py DATASET_DIR [--ood OTHER_DATASET_DIR] [--limit N]
        [--phrasings FILE --learn K[,K...]]

DATASET_DIR holds faqs.jsonl (id, question, answer, optional category), queries.jsonl
({"qid", "query", "relevant_ids": [...]}) and optionally unanswerable.jsonl (queries no article
answers; queries.jsonl rows with empty relevant_ids count as unanswerable too). The articles go
into a fresh scratch database through the import code (`manage.py import_faqs`), and every query
goes through faq.search.search(), the function the API and the pages call, once per ranking.

Printed: hit@1, hit@5 and MRR@10 per ranking; for the shipped ranking, how often it answers
correctly, answers wrongly or abstains at the configured cut-off, and a sweep of cut-offs (from the
top hit's similarity) with the share of out-of-domain queries rightly abstained, to calibrate
SIMILARITY_CUTOFFS. With --ood, OTHER_DATASET_DIR's queries.jsonl (all, or --limit of them spread
evenly over the file) are searched against this set: every answer given to them is a wrong one.

With --phrasings FILE (JSON Lines {"id": article id, "phrasing": str}) and --learn K[,K...], a
learning curve follows: for each K, the first K phrasings of each article are its approved known
phrasings, and the shipped ranking is measured again (with a sweep of the phrasing cut-off).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _django import fresh_database, setup_django

RANKINGS = ("vector", "keyword", "shipped")
SWEEP = [round(0.30 + 0.05 * i, 2) for i in range(7)]  # 0.30 .. 0.60
TOP_K = 10  # MRR@10 needs ten results; hit@1 and hit@5 read the head of the same list


@dataclass
class Query:
    qid: str
    text: str
    relevant: frozenset[str]  # article slugs, as the importer makes them from `id`


@dataclass
class Outcome:
    rank: int | None  # 1-based position of the first relevant article in the top TOP_K
    answered: bool
    top_similarity: float
    seconds: float
    top_article: float = -1.0  # the top hit's own similarity and its best phrasing's
    top_phrasing: float = -1.0

    def answers(self, cutoff: float, phrasing_cutoff: float) -> bool:
        return self.top_article >= cutoff or self.top_phrasing >= phrasing_cutoff


def read_jsonl(path: Path) -> list[dict]:
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except ValueError as exc:
                sys.exit(f"{path}:{number}: broken JSON: {exc}")
    return rows


def to_slug(raw_id: object) -> str:
    """The slug import_records stores for a record's `id` (see faq.importing.validate)."""
    from django.utils.text import slugify

    from faq.importing import SLUG_MAX_LENGTH

    return slugify(str(raw_id))[:SLUG_MAX_LENGTH].strip("-")


def read_queries(path: Path) -> list[Query]:
    return [
        Query(str(row.get("qid", n)), row["query"], frozenset(to_slug(i) for i in row.get("relevant_ids") or []))
        for n, row in enumerate(read_jsonl(path), start=1)
    ]


def spread(items: list, limit: int | None) -> list:
    """`limit` items spread evenly over the list (files are often sorted by topic)."""
    if not limit or limit >= len(items):
        return items
    return [items[i * len(items) // limit] for i in range(limit)]


def rank_of(slugs: list[str], relevant: frozenset[str]) -> int | None:
    return next((n for n, slug in enumerate(slugs[:TOP_K], start=1) if slug in relevant), None)


def run(query: Query, ranking: str) -> Outcome:
    from faq.search import search

    started = time.perf_counter()
    result = search(query.text, user=None, ranking=ranking, limit=TOP_K)
    seconds = time.perf_counter() - started
    slugs = [hit.document.slug for hit in result.hits]
    best = result.hits[0] if result.hits else None
    top = best.similarity if best else 0.0
    article = best.article_similarity if best and best.article_similarity is not None else top
    phrasing = best.phrasing_similarity if best and best.phrasing_similarity is not None else -1.0
    return Outcome(rank_of(slugs, query.relevant), result.answered, top, seconds, article, phrasing)


def quality(outcomes: list[Outcome]) -> tuple[float, float, float]:
    n = len(outcomes) or 1
    hit1 = sum(o.rank == 1 for o in outcomes) / n
    hit5 = sum(o.rank is not None and o.rank <= 5 for o in outcomes) / n
    mrr = sum(1 / o.rank for o in outcomes if o.rank is not None) / n
    return hit1, hit5, mrr


def answer_rates(outcomes: list[Outcome], cutoff: float | None = None) -> tuple[float, float, float]:
    """(answered-correct, answered-wrong, abstained) shares; cutoff None: the search's own flag."""
    n = len(outcomes) or 1

    def answered(o: Outcome) -> bool:
        return o.answered if cutoff is None else o.top_similarity >= cutoff

    correct = sum(answered(o) and o.rank == 1 for o in outcomes) / n
    wrong = sum(answered(o) and o.rank != 1 for o in outcomes) / n
    return correct, wrong, sum(not answered(o) for o in outcomes) / n


def abstained(outcomes: list[Outcome], cutoff: float | None = None) -> float:
    if not outcomes:
        return float("nan")
    return sum(not (o.answered if cutoff is None else o.top_similarity >= cutoff) for o in outcomes) / len(outcomes)


def ms(seconds: list[float]) -> float:
    return statistics.median(seconds) * 1000 if seconds else float("nan")


def add_dataset_arguments(parser: argparse.ArgumentParser, *, phrasings_help: str) -> None:
    """DATASET_DIR [--ood OTHER_DATASET_DIR] [--limit N] [--phrasings FILE], as every quality bench reads them."""
    parser.add_argument("dataset", type=Path, metavar="DATASET_DIR")
    parser.add_argument("--ood", type=Path, metavar="OTHER_DATASET_DIR", help="a data set from another domain")
    parser.add_argument("--limit", type=int, help="search only N of the --ood queries (spread over the file)")
    parser.add_argument("--phrasings", type=Path, metavar="FILE", help=phrasings_help)


def check_dataset_paths(args: argparse.Namespace) -> None:
    if args.phrasings and not args.phrasings.is_file():
        sys.exit(f"{args.phrasings}: no such file")
    for directory in [args.dataset, *([args.ood] if args.ood else [])]:
        if not (directory / "queries.jsonl").is_file():
            sys.exit(f"{directory}: no queries.jsonl")
    if not (args.dataset / "faqs.jsonl").is_file():
        sys.exit(f"{args.dataset}: no faqs.jsonl")


def dataset_queries(args: argparse.Namespace) -> tuple[list[Query], list[Query], list[Query]]:
    """The set's answerable queries, its unanswerable ones, and the --ood set's (spread to --limit)."""
    queries = read_queries(args.dataset / "queries.jsonl")
    answerable = [q for q in queries if q.relevant]
    unanswerable = [q for q in queries if not q.relevant]
    if (args.dataset / "unanswerable.jsonl").is_file():
        unanswerable += read_queries(args.dataset / "unanswerable.jsonl")
    ood = spread(read_queries(args.ood / "queries.jsonl"), args.limit) if args.ood else []
    return answerable, unanswerable, ood


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_dataset_arguments(parser, phrasings_help="known phrasings per article (JSON Lines)")
    parser.add_argument("--learn", type=learn_counts, metavar="K[,K...]", help="phrasings per article to measure")
    args = parser.parse_args()
    if bool(args.phrasings) != bool(args.learn):
        parser.error("--phrasings and --learn go together")
    check_dataset_paths(args)
    setup_django()

    from django.conf import settings

    from faq import embeddings, importing
    from faq.search import similarity_cutoff

    answerable, unanswerable, ood = dataset_queries(args)

    run_started = time.perf_counter()
    with fresh_database():
        records, problems = importing.read_records(args.dataset / "faqs.jsonl")
        report = importing.import_records(records)
        slugs = {r.slug for r in records}
        unknown = sum(1 for q in answerable for slug in q.relevant if slug not in slugs)
        embeddings.get_backend()  # loading the model is start-up, not per-query work
        run(Query("warm-up", "warm up the connection pool", frozenset()), "shipped")

        embed_seconds: list[float] = []
        outcomes: dict[str, list[Outcome]] = {r: [] for r in RANKINGS}
        for query in answerable:
            # Embed once, timed (the cache is cold for a new text); the searches then reuse the
            # cached vector, so each ranking's time is its search alone.
            started = time.perf_counter()
            embeddings.embed_query(query.text)
            embed_seconds.append(time.perf_counter() - started)
            for ranking in RANKINGS:
                outcomes[ranking].append(run(query, ranking))
        in_set_ood = [run(q, "shipped") for q in unanswerable]
        other_ood = [run(q, "shipped") for q in ood]
        curve = learning_curve(args, answerable, unanswerable + ood) if args.learn else []
    total = time.perf_counter() - run_started

    cutoff = similarity_cutoff()
    shipped = outcomes["shipped"]
    print(
        f"data set                 {args.dataset.name}: {report.created} articles imported ({len(problems)} bad), "
        f"{len(answerable)} answerable queries, {len(unanswerable)} unanswerable"
        + (f"; {unknown} relevant ids not among the articles" if unknown else "")
    )
    print(
        f"model / settings         {embeddings.current_model_name()}; cut-off {cutoff:.2f}; "
        f"KEYWORD_WEIGHT {settings.KEYWORD_WEIGHT}; SEARCH_CANDIDATES {settings.SEARCH_CANDIDATES}"
    )
    print()
    print(f"{'ranking':<10}{'hit@1':>8}{'hit@5':>8}{'MRR@10':>8}{'search ms (median)':>21}")
    for ranking in RANKINGS:
        hit1, hit5, mrr = quality(outcomes[ranking])
        print(f"{ranking:<10}{hit1:>8.3f}{hit5:>8.3f}{mrr:>8.3f}{ms([o.seconds for o in outcomes[ranking]]):>21.1f}")
    print()
    correct, wrong, abstain = answer_rates(shipped)
    print(f"shipped at cut-off {cutoff:.2f} over {len(shipped)} answerable queries (the `answered` flag)")
    print(f"  answered-correct       {correct:.3f}")
    print(f"  answered-wrong         {wrong:.3f}")
    print(f"  abstained              {abstain:.3f}")
    ood_sets = []
    if unanswerable:
        ood_sets.append((f"{args.dataset.name} unanswerable", in_set_ood))
    if args.ood:
        ood_sets.append((f"{args.ood.name} queries", other_ood))
    for label, results in ood_sets:
        print(f"  out-of-domain rightly abstained, {label} ({len(results)}): {abstained(results):.3f}")
    print()
    print("cut-off sweep (shipped ranking, top hit's similarity >= cut-off means answered)")
    header = f"{'cut-off':<9}{'answered-correct':>18}{'answered-wrong':>16}{'abstained':>11}"
    header += "".join(f"{'ood abstained: ' + label:>{len(label) + 18}}" for label, _ in ood_sets)
    print(header)
    sweep = sorted({*SWEEP, round(cutoff, 2)})
    for value in sweep:
        row = f"{value:<9.2f}" + "{:>18.3f}{:>16.3f}{:>11.3f}".format(*answer_rates(shipped, value))
        row += "".join(f"{abstained(results, value):>{len(label) + 18}.3f}" for label, results in ood_sets)
        print(row + ("   <- configured" if abs(value - cutoff) < 1e-9 else ""))
    print()
    embed_ms, search_ms = ms(embed_seconds), ms([o.seconds for o in shipped])
    print(
        f"time per query (median)  embedding {embed_ms:.1f} ms + shipped search {search_ms:.1f} ms "
        f"= {embed_ms + search_ms:.1f} ms; whole run {total:.0f} s"
    )
    (v1, _, vmrr), (s1, _, smrr) = quality(outcomes["vector"]), quality(shipped)
    print(f"shipped >= vector-only on hit@1 and MRR@10: {'yes' if s1 >= v1 and smrr >= vmrr else 'no'}")
    if curve:
        print_curve(curve, cutoff)


def learn_counts(text: str) -> list[int]:
    try:
        counts = sorted({int(part) for part in text.split(",") if part.strip()})
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected whole numbers separated by commas") from None
    if not counts or counts[0] < 0:
        raise argparse.ArgumentTypeError(f"{text!r}: expected counts of 0 or more")
    return counts


def learning_curve(args, answerable: list[Query], off_topic: list[Query]) -> list[tuple[int, int, list, list]]:
    """For each K (ascending): add phrasings up to K per article, search again. The phrasings are
    added through faq.phrasings.set_phrasings, the code imports and the content-gap queue use."""
    from faq.models import FaqDocument
    from faq.phrasings import Source, set_phrasings

    per_article: dict[str, list[str]] = {}
    for row in read_jsonl(args.phrasings):
        per_article.setdefault(to_slug(row["id"]), []).append(row["phrasing"])
    documents = {doc.slug: doc for doc in FaqDocument.objects.all()}
    queries = {q.text for q in answerable}
    leaked = sum(t in queries for texts in per_article.values() for t in texts)
    if leaked:
        print(f"warning: {leaked} phrasings are also benchmark queries", file=sys.stderr)
    curve = []
    for k in args.learn:
        stored = 0
        for slug, texts in per_article.items():
            if slug in documents:
                set_phrasings(documents[slug], texts[:k], source=Source.IMPORT)
        from faq.models import KnownPhrasing

        stored = KnownPhrasing.objects.count()
        curve.append((k, stored, [run(q, "shipped") for q in answerable], [run(q, "shipped") for q in off_topic]))
    return curve


PHRASING_SWEEP = [round(0.45 + 0.05 * i, 2) for i in range(6)]  # 0.45 .. 0.70


def print_curve(curve: list[tuple[int, int, list, list]], cutoff: float) -> None:
    from faq.phrasings import phrasing_cutoff

    shipped_phrasing = phrasing_cutoff()
    print()
    print(f"learning curve (shipped ranking; cut-offs: article {cutoff:.2f}, phrasing {shipped_phrasing:.2f})")
    print(
        f"{'K':>4}{'phrasings':>11}{'hit@1':>8}{'hit@5':>8}{'MRR@10':>8}"
        f"{'answered-correct':>18}{'answered-wrong':>16}{'off-topic abstained':>21}"
    )
    for k, stored, answerable, off_topic in curve:
        hit1, hit5, mrr = quality(answerable)
        correct, wrong, _ = answer_rates(answerable)
        print(
            f"{k:>4}{stored:>11}{hit1:>8.3f}{hit5:>8.3f}{mrr:>8.3f}{correct:>18.3f}{wrong:>16.3f}"
            f"{abstained(off_topic):>21.3f}"
        )
    print()
    print("phrasing cut-off sweep (answered-correct / answered-wrong / off-topic abstained)")
    print(f"{'K':>4}" + "".join(f"{value:>22.2f}" for value in PHRASING_SWEEP))
    for k, _stored, answerable, off_topic in curve:
        n, m = len(answerable) or 1, len(off_topic) or 1
        cells = []
        for value in PHRASING_SWEEP:
            correct = sum(o.answers(cutoff, value) and o.rank == 1 for o in answerable) / n
            wrong = sum(o.answers(cutoff, value) and o.rank != 1 for o in answerable) / n
            rightly = sum(not o.answers(cutoff, value) for o in off_topic) / m
            cells.append(f"{correct:.3f}/{wrong:.3f}/{rightly:.3f}")
        print(f"{k:>4}" + "".join(f"{cell:>22}" for cell in cells))


if __name__ == "__main__":
    main()
