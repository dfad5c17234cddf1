"""An article's vector is made from its answer without the Markdown links in it (issue 19 point 3):
a link's text is another article's question and pulled the vector towards that article. A text
without links embeds exactly as written, and an install upgraded from vectors that held the links
gets them re-embedded by the migration (or by `reembed --missing`), with no manual step."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from django.core.management import call_command

from faq.embeddings import embed_texts
from faq.models import FaqDocument

pytestmark = pytest.mark.django_db(transaction=True)

QUESTION = "Why is my account locked?"
ANSWER = (
    "After five wrong passwords we lock the account for 30 minutes. Wait, or reset your password "
    "(see [How do I reset my password if I've forgotten it?](/articles/reset-password/)), which unlocks it."
)
WITHOUT_LINK = (
    "After five wrong passwords we lock the account for 30 minutes. Wait, or reset your password "
    "(see ), which unlocks it."
)


def old_text() -> str:
    return f"{QUESTION}\n\n{ANSWER}"  # what versions before this one embedded


def as_before(document: FaqDocument) -> None:
    """Store the vector and hash an older version made from the text with its link."""
    FaqDocument.objects.filter(pk=document.pk).update(
        embedding=embed_texts([old_text()])[0], embedded_hash=hashlib.sha256(old_text().encode()).hexdigest()
    )


def similarity(a, b) -> float:
    return float(np.dot(np.asarray(a), np.asarray(b)))


def test_an_articles_vector_leaves_out_its_links_text_and_target():
    document = FaqDocument.objects.create(question=QUESTION, answer=ANSWER)
    assert document.embedding_text == f"{QUESTION}\n\n{WITHOUT_LINK}"
    assert similarity(document.embedding, embed_texts([f"{QUESTION}\n\n{WITHOUT_LINK}"])[0]) > 0.9999


def test_a_text_without_links_embeds_exactly_as_written():
    answer = (
        "**Cards:** Visa, Mastercard\n\n| Method | Fee |\n| --- | --- |\n| Card | Free |\n\nSee /articles/fees/ [sic]"
    )
    document = FaqDocument.objects.create(question="Which cards?", answer=answer)
    assert document.embedding_text == f"Which cards?\n\n{answer}"


def test_upgrading_embeds_again_the_articles_whose_vectors_held_their_links():
    linked = FaqDocument.objects.create(question=QUESTION, answer=ANSWER)
    plain = FaqDocument.objects.create(question="How long does delivery take?", answer="Three to five working days.")
    as_before(linked)
    plain_vector = list(FaqDocument.objects.get(pk=plain.pk).embedding)
    call_command("migrate", "faq", "0008", verbosity=0)
    call_command("migrate", "faq", verbosity=0)
    linked.refresh_from_db()
    assert not linked.needs_embedding()
    assert similarity(linked.embedding, embed_texts([linked.embedding_text])[0]) > 0.9999
    assert list(FaqDocument.objects.get(pk=plain.pk).embedding) == plain_vector  # unchanged text: not touched


def test_reembed_missing_embeds_articles_made_from_an_older_text():
    document = FaqDocument.objects.create(question=QUESTION, answer=ANSWER)
    as_before(document)
    call_command("reembed", "--missing", "--no-progress", verbosity=0)
    document.refresh_from_db()
    assert not document.needs_embedding()
