"""The content-gap queue: which questions are gaps, clustering them, and when a cluster is answered.

A question is a gap when the help centre abstained, answered with low confidence (its best
article's similarity was under the cut-off plus INSIGHTS_LOW_CONFIDENCE_MARGIN), or the customer
marked the answer not helpful, unless it has since become an approved known phrasing of an article
customers can read (what "Answered by article..." does with a cluster's questions).
`cluster_questions` groups the window's gaps by their stored query
embeddings (never re-embedded) and replaces the queue in one transaction.

A cluster leaves the queue when a published article that customers can read, published or edited
after the cluster's last question, reaches the similarity cut-off with the cluster's centre. That is
checked when the command runs, when an article is saved, and when the queue page is shown (which
catches bulk publishing, which sends no save signal).

Staff may dismiss a cluster as not a gap. The dismissal outlives the cluster: each run keeps out
of the queue the clusters whose centre is within INSIGHTS_CLUSTER_SIMILARITY of a dismissed one
and whose questions were all asked before the dismissal; a customer asking again brings it back.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
from django.conf import settings
from django.db import connection, transaction
from django.db.models import BinaryField, Case, Exists, F, FloatField, Func, OuterRef, Q, QuerySet, Value, When
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, Extract, Left, Trim
from django.utils import timezone
from pgvector.django import CosineDistance

from faq.embeddings import current_model_name
from faq.models import QUESTION_MAX_LENGTH, FaqDocument, Feedback, KnownPhrasing, UserResponse
from faq.search import similarity_cutoff
from insights.clustering import CENTRE_BLOCK, Assigner, LeaderClustering, normalise
from insights.conf import setting
from insights.models import ClusterRun, GapCluster, GapClusterMember, GapDismissal, Reason

logger = logging.getLogger(__name__)

# Rows fetched per round trip from the server-side cursor, and clustered per numpy step.
CHUNK_SIZE = 2048
# Rows written per INSERT: members are four small columns; a cluster carries a 384-float centre,
# sent as text, so fewer of those per statement keep the statement (and memory) small.
INSERT_BATCH = 5000
CLUSTER_BATCH = 250
# Runs kept in the log (their clusters are replaced by each run; the log is just figures).
RUNS_KEPT = 50
REASON_CODES = {Reason.NOT_HELPFUL: 0, Reason.ABSTAINED: 1, Reason.LOW_CONFIDENCE: 2}
REASONS = list(REASON_CODES)


def low_confidence_below() -> float:
    """Answers whose best similarity is under this count as low-confidence gaps."""
    return similarity_cutoff() + setting("INSIGHTS_LOW_CONFIDENCE_MARGIN")


def gap_questions(*, since: datetime, until: datetime) -> QuerySet[UserResponse]:
    """The window's questions that are gaps, each annotated with its `reason`, oldest first."""
    not_helpful = Feedback.objects.filter(response=OuterRef("pk"), helpful=False)
    # A question that is now an approved phrasing of an article customers can read is answered
    # (search matches it at similarity ~1): "Answered by article..." must not reopen it next run.
    learned = KnownPhrasing.objects.approved().filter(
        text=OuterRef("asked_as"), document__in=answering_articles().values("pk")
    )
    return (
        UserResponse.objects.filter(created_at__gte=since, created_at__lt=until, query_embedding__isnull=False)
        # The text a phrasing made from it holds (faq.phrasings.clean_text: whitespace collapsed, cut).
        .annotate(
            asked_as=Left(
                Func(Trim("query"), Value(r"\s+"), Value(" "), Value("g"), function="regexp_replace"),
                QUESTION_MAX_LENGTH,
            )
        )
        .exclude(Exists(learned))
        # matched[0] is the answer given (ranked order): its similarity decided answer or abstain.
        .annotate(
            top_similarity=Cast(KT("matched__0__similarity"), FloatField()),
            marked_not_helpful=Exists(not_helpful),
        )
        .filter(
            Q(marked_not_helpful=True)
            # Degraded (keyword-only) searches abstained because the model was down, not for want of an article.
            | Q(answered=False) & ~Q(answer_mode=UserResponse.Mode.KEYWORD)
            | Q(answered=True, top_similarity__lt=low_confidence_below())
        )
        .annotate(
            reason=Case(
                When(marked_not_helpful=True, then=Value(Reason.NOT_HELPFUL.value)),
                When(answered=False, then=Value(Reason.ABSTAINED.value)),
                default=Value(Reason.LOW_CONFIDENCE.value),
            )
        )
        .order_by("created_at", "pk")
    )


@dataclass
class Chunk:
    ids: np.ndarray
    users: np.ndarray  # -1 for anonymous questions
    reasons: np.ndarray  # REASON_CODES
    asked: np.ndarray  # created_at as POSIX seconds
    vectors: np.ndarray  # unit length, float32


def _vector_bytes(field: str) -> Func:
    # pgvector's binary form (vector_send: two uint16 then big-endian float32s) parses in one numpy
    # call; the text form costs a float() per value, 38 million for 100,000 questions.
    return Func(F(field), function="vector_send", output_field=BinaryField())


def _vectors(blobs: list[bytes], dimensions: int) -> np.ndarray:
    data = np.frombuffer(b"".join(bytes(blob)[4:] for blob in blobs), dtype=">f4")
    return normalise(data.reshape(len(blobs), dimensions).astype(np.float32))


def read_chunks(questions: QuerySet[UserResponse], *, dimensions: int, chunk_size: int = CHUNK_SIZE) -> Iterator[Chunk]:
    """Stream the questions through a server-side cursor, chunk by chunk; no model instances."""
    rows = questions.annotate(
        # Seconds as a float: parsing 100,000 timestamps into datetimes alone took seconds.
        asked=Cast(Extract("created_at", "epoch"), FloatField()),
        vector_bytes=_vector_bytes("query_embedding"),
    ).values_list("pk", "user_id", "reason", "asked", "vector_bytes")
    batch: list[tuple] = []
    for row in rows.iterator(chunk_size=chunk_size):
        batch.append(row)
        if len(batch) == chunk_size:
            yield _chunk(batch, dimensions)
            batch = []
    if batch:
        yield _chunk(batch, dimensions)


def _chunk(rows: list[tuple], dimensions: int) -> Chunk:
    ids, users, reasons, asked, blobs = zip(*rows, strict=True)
    return Chunk(
        ids=np.array(ids, dtype=np.int64),
        users=np.array([-1 if user is None else user for user in users], dtype=np.int64),
        reasons=np.array([REASON_CODES[reason] for reason in reasons], dtype=np.int8),
        asked=np.array(asked, dtype=np.float64),
        vectors=_vectors(list(blobs), dimensions),
    )


@dataclass
class RunResult:
    run: ClusterRun
    open: int
    dismissed: int = 0


def cluster_questions(*, days: int | None = None, now: datetime | None = None) -> RunResult:
    """Cluster the last `days` days of gap questions and replace the queue with the result."""
    started = time.perf_counter()
    started_at = timezone.now()
    until = now or started_at
    since = until - timedelta(days=days or setting("INSIGHTS_WINDOW_DAYS"))
    dimensions = settings.EMBEDDING_DIMENSIONS
    questions = gap_questions(since=since, until=until)

    # Pass 1: leaders and centres, streamed in a fixed order (created_at, id): same input, same clusters.
    leaders = LeaderClustering(threshold=setting("INSIGHTS_CLUSTER_SIMILARITY"), dimensions=dimensions)
    for chunk in read_chunks(questions, dimensions=dimensions):
        leaders.add(chunk.vectors, chunk.ids)

    # Pass 2: every question to its nearest final centre, keeping only the small per-row columns.
    assigner = Assigner(leaders.centres())
    columns: dict[str, list[np.ndarray]] = {key: [] for key in ("ids", "users", "reasons", "asked", "labels", "sims")}
    if len(leaders):
        for chunk in read_chunks(questions, dimensions=dimensions):
            assignment = assigner.assign(chunk.vectors)
            for key, values in (
                ("ids", chunk.ids),
                ("users", chunk.users),
                ("reasons", chunk.reasons),
                ("asked", chunk.asked),
                ("labels", assignment.labels),
                ("sims", assignment.similarities),
            ):
                columns[key].append(values)
    rows = {key: np.concatenate(values) if values else np.zeros(0) for key, values in columns.items()}
    clusters, members = _summarise(rows, assigner, leaders.leaders)
    _answered_by_newer_articles(clusters)
    # A dismissal older than the window can no longer match: every question in it came later.
    GapDismissal.objects.filter(dismissed_at__lt=since).delete()
    _dismissed_before(clusters)

    with transaction.atomic():
        # One rebuild at a time: an overlapping run waits here, then replaces what this one wrote.
        # EXCLUSIVE mode still lets readers in, and they see the previous queue until this commits.
        with connection.cursor() as cursor:
            cursor.execute(f"LOCK TABLE {GapCluster._meta.db_table} IN EXCLUSIVE MODE")
        GapClusterMember.objects.all().delete()
        GapCluster.objects.all().delete()
        finished_at = timezone.now()
        run = ClusterRun.objects.create(
            started_at=started_at,
            finished_at=finished_at,
            window_start=since,
            window_end=until,
            questions=len(rows["ids"]),
            clusters=len(clusters),
            answered=sum(1 for cluster in clusters if cluster.answered_by_id),
            seconds=0.0,
            articles_checked_at=started_at,
        )
        for cluster in clusters:
            cluster.run = run
        GapCluster.objects.bulk_create(clusters, batch_size=CLUSTER_BATCH)
        for batch in members:
            GapClusterMember.objects.bulk_create(batch)
        old_runs = ClusterRun.objects.order_by("-finished_at", "-pk").values_list("pk", flat=True)[RUNS_KEPT:]
        ClusterRun.objects.filter(pk__in=list(old_runs)).delete()
        run.seconds = round(time.perf_counter() - started, 3)
        run.save(update_fields=["seconds"])
    # Articles saved while this ran were checked against the old queue: check them against the new one.
    resolve_recently_changed_articles()
    return RunResult(
        run,
        open=sum(1 for cluster in clusters if not cluster.answered_by_id and not cluster.dismissal_id),
        dismissed=sum(1 for cluster in clusters if cluster.dismissal_id),
    )


def _summarise(rows: dict[str, np.ndarray], assigner: Assigner, leader_keys: list[int]):
    """Cluster rows and member rows from pass 2's columns (all vectorised)."""
    labels = rows["labels"].astype(np.int64)
    if not len(labels):
        return [], iter(())
    k = len(assigner.centres)
    counts = np.bincount(labels, minlength=k)
    reasons = np.bincount(labels * 3 + rows["reasons"].astype(np.int64), minlength=3 * k).reshape(k, 3)
    signed_in = rows["users"] >= 0
    # Distinct (cluster, user) pairs for signed-in customers; each anonymous question counts as one.
    pairs = np.unique(np.stack([labels[signed_in], rows["users"][signed_in]]), axis=1)
    customers = np.bincount(pairs[0], minlength=k) + np.bincount(labels[~signed_in], minlength=k)
    # Rows arrive oldest first: a cluster's first row is its first question, its last row its last.
    _, first_index = np.unique(labels, return_index=True)
    _, last_index_reversed = np.unique(labels[::-1], return_index=True)
    present = np.flatnonzero(counts)
    first_asked = dict(zip(present, rows["asked"][first_index], strict=True))
    last_asked = dict(zip(present, rows["asked"][len(labels) - 1 - last_index_reversed], strict=True))
    centres = assigner.final_centres()
    clusters = []
    for label in present:
        clusters.append(
            GapCluster(
                id=leader_keys[label],
                questions=int(counts[label]),
                customers=int(customers[label]),
                not_helpful=int(reasons[label, 0]),
                abstained=int(reasons[label, 1]),
                low_confidence=int(reasons[label, 2]),
                centroid=centres[label],
                first_asked=_moment(first_asked[label]),
                last_asked=_moment(last_asked[label]),
            )
        )
    return clusters, _member_batches(rows, np.array(leader_keys, dtype=np.int64)[labels])


def _member_batches(rows: dict[str, np.ndarray], cluster_ids: np.ndarray) -> Iterator[list[GapClusterMember]]:
    """Member rows, INSERT_BATCH at a time: 100,000 model instances at once would be ~100 MB."""
    for start in range(0, len(cluster_ids), INSERT_BATCH):
        part = slice(start, start + INSERT_BATCH)
        yield [
            GapClusterMember(cluster_id=cluster_id, response_id=response_id, similarity=sim, reason=REASONS[code])
            for cluster_id, response_id, sim, code in zip(
                cluster_ids[part].tolist(),
                rows["ids"][part].tolist(),
                np.round(rows["sims"][part].astype(np.float64), 4).tolist(),
                rows["reasons"][part].tolist(),
                strict=True,
            )
        ]


def _moment(seconds: float) -> datetime:
    return datetime.fromtimestamp(float(seconds), tz=UTC)


def answering_articles() -> QuerySet[FaqDocument]:
    """Articles that can answer customers: published, not staff-only, embedded by the current model."""
    return FaqDocument.objects.filter(
        status=FaqDocument.Status.PUBLISHED, embedding_model=current_model_name()
    ).exclude(visibility=FaqDocument.Visibility.STAFF)


def _answered_by_newer_articles(clusters: list[GapCluster]) -> None:
    """Set answered_by on the clusters that an article changed after their last question answers.

    Vectorised over all clusters at once: the articles changed within the window are streamed
    against the centres in memory (one matrix product per chunk), not one query per cluster."""
    if not clusters:
        return
    centres = np.array([cluster.centroid for cluster in clusters], dtype=np.float32)
    last_asked = np.array([cluster.last_asked.timestamp() for cluster in clusters])
    cutoff = np.float32(similarity_cutoff())
    best_doc = np.full(len(clusters), -1, dtype=np.int64)
    best_sim = np.full(len(clusters), -np.inf, dtype=np.float32)
    earliest = min(cluster.last_asked for cluster in clusters)
    articles = (
        answering_articles()
        .filter(updated_at__gt=earliest)
        .annotate(vector_bytes=_vector_bytes("embedding"))
        .order_by("pk")
        .values_list("pk", "updated_at", "vector_bytes")
    )
    batch: list[tuple] = []

    def flush() -> None:
        ids = np.array([row[0] for row in batch], dtype=np.int64)
        changed = np.array([row[1].timestamp() for row in batch])
        vectors = _vectors([row[2] for row in batch], settings.EMBEDDING_DIMENSIONS)
        for start in range(0, len(clusters), CENTRE_BLOCK):
            block = slice(start, start + CENTRE_BLOCK)
            similarity = vectors @ centres[block].T
            # Only articles changed after a cluster's last question, and reaching the cut-off.
            similarity[(changed[:, None] <= last_asked[None, block]) | (similarity < cutoff)] = -np.inf
            best = similarity.argmax(axis=0)
            value = similarity[best, np.arange(similarity.shape[1])]
            better = value > best_sim[block]
            best_sim[block][better] = value[better]
            best_doc[block][better] = ids[best][better]

    for row in articles.iterator(chunk_size=CHUNK_SIZE):
        batch.append(row)
        if len(batch) == 1024:
            flush()
            batch = []
    if batch:
        flush()
    now = timezone.now()
    for cluster, doc in zip(clusters, best_doc.tolist(), strict=True):
        if doc >= 0:
            cluster.answered_by_id = doc
            cluster.answered_at = now


def _dismissed_before(clusters: list[GapCluster]) -> None:
    """Keep dismissed gaps dismissed: a cluster near a dismissal, with no question since it."""
    dismissals = list(GapDismissal.objects.values_list("pk", "dismissed_at", "centroid"))
    if not clusters or not dismissals:
        return
    centres = np.array([cluster.centroid for cluster in clusters], dtype=np.float32)
    last_asked = np.array([cluster.last_asked.timestamp() for cluster in clusters])
    ids = np.array([row[0] for row in dismissals], dtype=np.int64)
    dismissed_at = np.array([row[1].timestamp() for row in dismissals])
    vectors = normalise(np.array([row[2] for row in dismissals], dtype=np.float32))
    similarity = centres @ vectors.T  # clusters x dismissals
    too_far = similarity < setting("INSIGHTS_CLUSTER_SIMILARITY")
    asked_since = last_asked[:, None] > dismissed_at[None, :]
    similarity[too_far | asked_since] = -np.inf
    best = similarity.argmax(axis=1)
    for cluster, column, value in zip(clusters, best, similarity[np.arange(len(clusters)), best], strict=True):
        if np.isfinite(value):
            cluster.dismissal_id = int(ids[column])


def dismiss(clusters: QuerySet[GapCluster], *, user) -> int:
    """Take these clusters out of the queue, and keep similar questions out until asked again."""
    with transaction.atomic():
        plain = clusters.select_related(None).prefetch_related(None)  # the admin's list adds joins
        chosen = list(plain.filter(dismissal__isnull=True).only("pk", "centroid", "questions"))
        dismissals = GapDismissal.objects.bulk_create(
            GapDismissal(centroid=cluster.centroid, dismissed_by=user, questions=cluster.questions)
            for cluster in chosen
        )
        for cluster, dismissal in zip(chosen, dismissals, strict=True):
            cluster.dismissal = dismissal
        GapCluster.objects.bulk_update(chosen, ["dismissal"])
    return len(chosen)


def restore(clusters: QuerySet[GapCluster]) -> int:
    """Undo dismissals: the clusters return to the queue and the dismissals are forgotten."""
    with transaction.atomic():
        dismissals = list(clusters.filter(dismissal__isnull=False).values_list("dismissal_id", flat=True))
        # SET NULL on the clusters that held them.
        GapDismissal.objects.filter(pk__in=dismissals).delete()
    return len(dismissals)


def can_answer_customers(document: FaqDocument) -> bool:
    return (
        document.status == FaqDocument.Status.PUBLISHED
        and document.visibility != FaqDocument.Visibility.STAFF
        and document.embedding is not None
        and document.embedding_model == current_model_name()
    )


def resolve_by_article(document: FaqDocument) -> int:
    """Close the open clusters this article answers: asked before it changed, centre within the cut-off."""
    if document.pk is None or not can_answer_customers(document):
        return 0
    from insights.answered_by import answer_gaps

    answered = (
        GapCluster.objects.open()
        .filter(last_asked__lt=document.updated_at)
        .alias(distance=CosineDistance("centroid", document.embedding))
        .filter(distance__lte=1.0 - similarity_cutoff())
    )
    ids = list(answered.values_list("pk", flat=True))
    # Their questions become the article's known phrasings as the clusters close.
    return answer_gaps(GapCluster.objects.filter(pk__in=ids), document)[0] if ids else 0


def resolve_published(documents: QuerySet[FaqDocument]) -> int:
    """Close the clusters that these articles (published in bulk) now answer; returns how many."""
    if not GapCluster.objects.open().exists():  # an import into a help centre with no open gaps
        return 0
    closed = 0
    answering = documents.filter(pk__in=answering_articles().values("pk")).only(
        "pk", "status", "visibility", "embedding", "embedding_model", "updated_at"
    )
    for document in answering.iterator(chunk_size=100):
        closed += resolve_by_article(document)
    return closed


def resolve_recently_changed_articles() -> int:
    """Check the articles changed since the last run against the open clusters (cluster_questions
    calls this, so that an article changed by any other path is caught at the next run)."""
    run = ClusterRun.objects.order_by("-finished_at", "-pk").first()
    if run is None:
        return 0
    checked_at = timezone.now()
    changed = answering_articles().filter(updated_at__gte=run.articles_checked_at)
    closed = resolve_published(changed)
    ClusterRun.objects.filter(pk=run.pk).update(articles_checked_at=checked_at)
    return closed
