"""When are the best two articles "nearly tied"? A sweep of top-2 margins on a FAQ data set.

    .venv/bin/python bench/near_ties.py DATASET_DIR [--ood OTHER_DATASET_DIR] [--limit N] [--phrasings FILE]

The data set is loaded and searched exactly as bench/retrieval.py does (its helpers, the import
code, faq.search.search with the shipped ranking). For each margin m, a question is "nearly tied"
when the search answers it and the best article's score leads the second's by less than m; the
search page then asks "Is it one of these?" with the two instead of committing to the first.

Printed per margin, over the answerable questions: the share nearly tied; in that slice, how often
the right article is first (hit@1) and among the two; answered-correct / answered-wrong when only
the committed answers count; the same with a choice that holds the right article counted as
correct (the customer reaches it in one click) and one without it as wrong; and, with --ood or an
unanswerable file, how many off-topic questions still get a committed (wrong) answer. With
--phrasings FILE ({"id", "phrasing"} per line, as bench/retrieval.py reads it) every phrasing is an
approved known phrasing first, as `make run` ships the demo.

The rule that picks NEAR_TIE_MARGINS (README, "Nearly tied"): the largest margin of the sweep at
which, on every data set measured, the right article is among the two at least CHOICE_WORTH times
as often as it is first in the tied slice.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _django import fresh_database, setup_django
from retrieval import (
    TOP_K,
    Query,
    add_dataset_arguments,
    check_dataset_paths,
    dataset_queries,
    rank_of,
    read_jsonl,
    to_slug,
)

MARGINS = [0.0, 0.005, 0.01, 0.015, 0.02, 0.03, 0.04, 0.05, 0.075, 0.1]
# One customer helped (the right article was second: a wrong answer avoided) is worth at least two
# delayed (the right article was first: one click more). Among-two / first >= 1.5 says so.
CHOICE_WORTH = 1.5


@dataclass
class Outcome:
    rank: int | None  # 1-based position of the right article in the top TOP_K (None: not there)
    answered: bool
    margin: float  # the best score minus the second's (inf with fewer than two hits)


def run(query: Query) -> Outcome:
    from faq.near_ties import top_margin
    from faq.search import search

    result = search(query.text, user=None, ranking="shipped", limit=TOP_K)
    slugs = [hit.document.slug for hit in result.hits]
    return Outcome(rank_of(slugs, query.relevant), result.answered, top_margin(result.hits))


@dataclass
class Row:
    margin: float
    tied: float  # share of the answerable questions nearly tied
    tied_first: float  # in the tied slice: right article first
    tied_two: float  # in the tied slice: right article among the two
    correct: float  # committed answers only
    wrong: float
    reached: float  # committed-correct + a choice holding the right article
    missed: float  # committed-wrong + a choice without it
    off_topic_committed: float | None  # off-topic questions given a committed answer

    @property
    def worth(self) -> float:
        return self.tied_two / self.tied_first if self.tied_first else float("inf")


def row(margin: float, outcomes: list[Outcome], off_topic: list[Outcome]) -> Row:
    n = len(outcomes) or 1

    def tied(o: Outcome) -> bool:
        return o.answered and o.margin < margin

    slice_ = [o for o in outcomes if tied(o)]
    committed = [o for o in outcomes if o.answered and not tied(o)]
    first = sum(o.rank == 1 for o in slice_)
    two = sum(o.rank is not None and o.rank <= 2 for o in slice_)
    correct = sum(o.rank == 1 for o in committed)
    return Row(
        margin,
        len(slice_) / n,
        first / (len(slice_) or 1),
        two / (len(slice_) or 1),
        correct / n,
        (len(committed) - correct) / n,
        (correct + two) / n,
        (len(committed) - correct + len(slice_) - two) / n,
        sum(o.answered and not tied(o) for o in off_topic) / len(off_topic) if off_topic else None,
    )


def chosen(rows: list[Row]) -> float:
    """The rule: the largest margin at which a choice is worth it (the sweep's first is 0: never)."""
    worth = [r.margin for r in rows if r.tied == 0 or r.worth >= CHOICE_WORTH]
    # Only a run of margins from 0 upwards counts: a larger one past a failing one is noise.
    best = 0.0
    for r in rows:
        if r.margin not in worth:
            break
        best = r.margin
    return best


def add_phrasings(path: Path) -> int:
    """Every phrasing of the file approved for its article, through the import code's set_phrasings."""
    from faq.models import FaqDocument, KnownPhrasing
    from faq.phrasings import Source, set_phrasings

    per_article: dict[str, list[str]] = {}
    for line in read_jsonl(path):
        per_article.setdefault(to_slug(line["id"]), []).append(line["phrasing"])
    for document in FaqDocument.objects.filter(slug__in=per_article):
        set_phrasings(document, per_article[document.slug], source=Source.IMPORT)
    return KnownPhrasing.objects.count()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_dataset_arguments(parser, phrasings_help="approved known phrasings (JSON Lines)")
    args = parser.parse_args()
    check_dataset_paths(args)
    setup_django()

    from faq import embeddings, importing
    from faq.near_ties import near_tie_margin
    from faq.search import similarity_cutoff

    answerable, unanswerable, ood = dataset_queries(args)
    off_topic_queries = unanswerable + ood

    with fresh_database():
        records, problems = importing.read_records(args.dataset / "faqs.jsonl")
        report = importing.import_records(records)
        phrasings = add_phrasings(args.phrasings) if args.phrasings else 0
        embeddings.get_backend()
        outcomes = [run(q) for q in answerable]
        off_topic = [run(q) for q in off_topic_queries]

    rows = [row(m, outcomes, off_topic) for m in MARGINS]
    print(
        f"data set {args.dataset.name}: {report.created} articles ({len(problems)} bad), {len(answerable)} answerable "
        f"queries, {len(off_topic)} off-topic; model {embeddings.current_model_name()}, "
        f"cut-off {similarity_cutoff():.2f}; {phrasings} known phrasings"
    )
    print()
    print(
        f"{'margin':<8}{'tied':>7}{'tied hit@1':>12}{'tied in two':>13}{'two/first':>11}"
        f"{'correct':>9}{'wrong':>8}{'correct+choice':>16}{'wrong+choice':>14}{'off-topic committed':>21}"
    )
    configured = near_tie_margin()
    for r in rows:
        off = "" if r.off_topic_committed is None else f"{r.off_topic_committed:.3f}"
        print(
            f"{r.margin:<8.3f}{r.tied:>7.3f}{r.tied_first:>12.3f}{r.tied_two:>13.3f}{r.worth:>11.2f}"
            f"{r.correct:>9.3f}{r.wrong:>8.3f}{r.reached:>16.3f}{r.missed:>14.3f}{off:>21}"
            + ("   <- configured" if abs(r.margin - configured) < 1e-9 else "")
        )
    print()
    print(
        f"rule (two/first >= {CHOICE_WORTH} in the tied slice, every margin up to it): {chosen(rows):.3f} on this set; "
        f"configured {configured:.3f}"
    )


if __name__ == "__main__":
    main()
