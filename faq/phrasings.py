"""Known phrasings: questions that mean an article, learned from staff, imports, the content-gap
queue and customers' "this helped". Embedding them, adding them, and the rules that approve them.

Visibility is never a phrasing's own: search joins every phrasing to its article through
FaqDocument.objects.visible_to(user) (see faq.search)."""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from pgvector.django import CosineDistance

from faq.embeddings import current_model_name, embed_documents
from faq.models import QUESTION_MAX_LENGTH, FaqDocument, Feedback, KnownPhrasing
from faq.reembedding import reembed_rows

logger = logging.getLogger(__name__)

Source = KnownPhrasing.Source
Status = KnownPhrasing.Status


def phrasing_cutoff() -> float:
    """The similarity a phrasing match must reach for an answer (per model, like SIMILARITY_CUTOFFS)."""
    if settings.PHRASING_CUTOFF >= 0:
        return settings.PHRASING_CUTOFF
    return settings.PHRASING_CUTOFFS.get(current_model_name(), 0.60)


def phrasing_combination() -> str:
    """How an article's phrasings rank it (per model, like the cut-offs): "max" (its best
    phrasing) or "centroid" (the better of its best phrasing and the centre of its phrasings)."""
    if settings.PHRASING_COMBINATION:
        return settings.PHRASING_COMBINATION
    return settings.PHRASING_COMBINATIONS.get(current_model_name(), "max")


def clean_text(text: str) -> str:
    return " ".join(str(text).split())[:QUESTION_MAX_LENGTH]


# --- Embedding ---------------------------------------------------------------------------------


def embed_phrasings(phrasings: Sequence[KnownPhrasing]) -> int:
    """Set the vectors of unsaved phrasings whose text changed; on failure they are saved as not
    embedded (and simply not searched until `reembed`). Returns how many were embedded."""
    return embed_documents([p for p in phrasings if p.needs_embedding()])


def reembed_phrasings(*, everything: bool, batch_size: int = 256, progress=None) -> tuple[int, int]:
    """Embed phrasings again (all of them, or those without a current vector): (embedded, failed)."""
    queryset = KnownPhrasing.objects.all()
    if not everything:
        queryset = queryset.exclude(embedding__isnull=False, embedding_model=current_model_name())
    ids = list(queryset.order_by("pk").values_list("pk", flat=True))
    embedded = reembed_rows(KnownPhrasing, ids, batch_size=batch_size, progress=progress)
    return embedded, len(ids) - embedded


# --- Adding ------------------------------------------------------------------------------------


def set_phrasings(document: FaqDocument, texts: Iterable[str], *, source: str) -> int:
    """Upsert approved phrasings of `document` (import, content-gap queue): texts it already knows
    are kept as they are, new ones are embedded in one batch. Returns how many were added."""
    known = set(document.phrasings.approved().values_list("text", flat=True))
    new = [t for t in dict.fromkeys(clean_text(t) for t in texts) if t and t not in known]
    rows = [
        KnownPhrasing(document=document, text=t, source=source, status=Status.APPROVED, approved_at=timezone.now())
        for t in new
    ]
    embed_phrasings(rows)
    KnownPhrasing.objects.bulk_create(rows)
    return len(rows)


@dataclass
class Conflict:
    text: str
    other: FaqDocument
    other_similarity: float
    own_similarity: float

    def __str__(self) -> str:
        return (
            f"{self.text!r} is nearer to {self.other.question!r} ({self.other_similarity:.2f}) than to this "
            f"article ({self.own_similarity:.2f}): it would take that article's questions."
        )


def conflict_for(
    document: FaqDocument | None, text: str, vector: Sequence[float], *, own_vector: Sequence[float] | None = None
) -> Conflict | None:
    """Another published article (its own vector or an approved phrasing) nearer to `vector` than
    `document` (its vector, or `own_vector` for an article being edited) and its approved phrasings
    are, or None."""
    model = current_model_name()
    others = FaqDocument.objects.filter(status=FaqDocument.Status.PUBLISHED)
    if document is not None and document.pk:
        others = others.exclude(pk=document.pk)
    best_article = others.nearest(vector, model=model).only("pk", "question").first()
    best_phrasing = (
        KnownPhrasing.objects.approved()
        .filter(document__in=others.values("pk"), embedding_model=model)
        .annotate(distance=CosineDistance("embedding", vector))
        .order_by("distance")
        .select_related("document")
        .first()
    )
    other, other_similarity = None, -1.0
    if best_article is not None:
        other, other_similarity = best_article, 1.0 - best_article.distance
    if best_phrasing is not None and 1.0 - best_phrasing.distance > other_similarity:
        other, other_similarity = best_phrasing.document, 1.0 - best_phrasing.distance
    if other is None:
        return None
    own_similarity = -1.0
    if own_vector is None and document is not None:
        own_vector = document.embedding
    if own_vector is not None:
        own_similarity = 1.0 - _cosine_distance(own_vector, vector)
    if document is not None and document.pk:
        nearest_own = (
            document.phrasings.approved()
            .filter(embedding_model=model)
            .annotate(distance=CosineDistance("embedding", vector))
            .order_by("distance")
            .values_list("distance", flat=True)
            .first()
        )
        if nearest_own is not None:
            own_similarity = max(own_similarity, 1.0 - float(nearest_own))
    if other_similarity > own_similarity:
        return Conflict(text, other, other_similarity, own_similarity)
    return None


def _cosine_distance(a: Sequence[float], b: Sequence[float]) -> float:
    import numpy as np

    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(1.0 - x.dot(y) / ((np.linalg.norm(x) * np.linalg.norm(y)) or 1.0))


# --- Customers: "this helped" becomes a pending phrasing ---------------------------------------


def address_hash(address: str) -> str:
    """A keyed hash: enough to tell two addresses apart, useless for finding one."""
    return hmac.new(settings.SECRET_KEY.encode(), address.encode(), hashlib.sha256).hexdigest()


def learn_from_feedback(feedback: Feedback, *, address: str) -> KnownPhrasing | None:
    """An answered question marked helpful becomes a pending phrasing of the article that answered
    it; it approves itself only by the rule in `confirmed`. Returns the phrasing, if one was made."""
    response = feedback.response
    if not feedback.helpful or response is None or not response.answered or not response.matched:
        return None
    if response.user_id is not None and response.user_id != feedback.user_id:
        return None  # only the asker can say their own question meant this article
    document = FaqDocument.objects.filter(pk=response.matched[0].get("id")).first()
    text = clean_text(response.query)
    if document is None or not text:
        return None
    if document.phrasings.filter(text=text, status__in=[Status.APPROVED, Status.REJECTED]).exists():
        return None  # known already, or staff said no to this wording
    if document.phrasings.filter(response=response).exists():
        return None  # the same answer marked helpful twice is one confirmation
    phrasing = KnownPhrasing(
        document=document,
        text=text,
        source=Source.CUSTOMER,
        status=Status.PENDING,
        asked_by_id=feedback.user_id,
        response=response,
        address_hash=address_hash(address) if address else "",
    )
    if response.query_embedding is not None and clean_text(response.query) == " ".join(response.query.split()):
        # The question's vector is stored with it: no second model call.
        phrasing.embedding = list(response.query_embedding)
        phrasing.embedding_model = current_model_name()
        phrasing.embedded_hash = phrasing.text_hash
    phrasing.save()
    confirmed(phrasing)
    return phrasing


def confirmed(phrasing: KnownPhrasing) -> bool:
    """Approve a customer's pending phrasing when LEARN_MIN_CONFIRMATIONS distinct signed-in
    customers, from as many distinct addresses, asked near-identical questions this article answered,
    spread over LEARN_MIN_SPREAD_HOURS, and it is not nearer to another article. One account, one
    address or a burst of votes never approves anything."""
    if phrasing.embedding is None or phrasing.status != Status.PENDING:
        return False
    near = list(
        phrasing.document.phrasings.filter(status=Status.PENDING, source=Source.CUSTOMER, asked_by__isnull=False)
        .filter(embedding_model=phrasing.embedding_model)
        .alias(distance=CosineDistance("embedding", phrasing.embedding))
        .filter(distance__lte=1.0 - settings.LEARN_NEAR_IDENTICAL)
        .order_by("created_at")
    )
    first_by_user: dict[int, KnownPhrasing] = {}
    for row in near:
        first_by_user.setdefault(row.asked_by_id, row)
    confirmations = list(first_by_user.values())
    addresses = {row.address_hash for row in confirmations if row.address_hash}
    needed = settings.LEARN_MIN_CONFIRMATIONS
    if len(confirmations) < needed or len(addresses) < needed:
        return False
    times = [row.created_at for row in confirmations]
    if max(times) - min(times) < timedelta(hours=settings.LEARN_MIN_SPREAD_HOURS):
        return False
    if conflict_for(phrasing.document, phrasing.text, phrasing.embedding) is not None:
        return False  # staff decide: it would take another article's questions
    with transaction.atomic():
        KnownPhrasing.objects.filter(pk__in=[row.pk for row in near if row.pk != phrasing.pk]).delete()
        _approve([phrasing], by=None)
    logger.info("phrasing %s of article %s approved by %d customers", phrasing.pk, phrasing.document_id, needed)
    return True


# --- Staff decisions ---------------------------------------------------------------------------


def approve(phrasings: Iterable[KnownPhrasing], *, by) -> int:
    with transaction.atomic():
        return _approve(list(phrasings), by=by)


def _approve(phrasings: list[KnownPhrasing], *, by) -> int:
    """Approved phrasings keep no link to the customer who asked. A text the article already knows
    is dropped instead (the approved copy stands)."""
    done = 0
    for phrasing in phrasings:
        if phrasing.status == Status.APPROVED:
            continue
        if phrasing.document.phrasings.approved().filter(text=phrasing.text).exists():
            phrasing.delete()
            continue
        phrasing.status, phrasing.approved_by, phrasing.approved_at = Status.APPROVED, by, timezone.now()
        phrasing.asked_by, phrasing.response, phrasing.address_hash = None, None, ""
        phrasing.save()
        done += 1
    return done


def reject(phrasings: Iterable[KnownPhrasing], *, by) -> int:
    """Rejected ones are kept (so the same wording is not proposed again) but lose their asker."""
    count = 0
    for phrasing in phrasings:
        phrasing.status, phrasing.approved_by, phrasing.approved_at = Status.REJECTED, by, timezone.now()
        phrasing.asked_by, phrasing.response, phrasing.address_hash = None, None, ""
        phrasing.save()
        count += 1
    return count
