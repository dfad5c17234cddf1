"""The local model's kernels side by side, in this process, one model thread, one run.

    .venv/bin/python bench/embedding_kernels.py [--questions 400] [--articles 200] [--repeats 3]

For each LOCAL_EMBEDDING_KERNEL ("float": the int8 weights turned back into floats; "int8": each
layer's input quantized on the fly and multiplied as int8, faq.embeddings.int8_matmuls) it embeds
banking77 test questions one at a time (what a customer's new question costs) and generated articles
(bench/embed_import.generate, what a save or an import costs), alternating the kernels `--repeats`
times, and prints the median milliseconds per text, their ratio, and how close the two kernels'
vectors are (cosine of each text's two vectors). Batches are measured too: with the int8 kernel a
batch gives each text another vector (the input's quantization scale is the whole batch's), so it
runs texts one at a time, and batching would have to pay for itself to be worth that. The
questions' kernel "token-int8" (faq/question_kernel.py: each token quantized alone, the outlier
channels in float) is measured beside them: a batch leaves its vectors exactly as they are.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _django import ROOT, setup_django
from embed_import import generate

QUESTIONS = ROOT.parent / "shared" / "datasets" / "banking77" / "queries.jsonl"
FALLBACK_QUESTIONS = ROOT / "faq" / "demo" / "queries.jsonl"
# "float" and "int8" (LOCAL_EMBEDDING_KERNEL), and the questions' kernel (LOCAL_QUESTION_KERNEL).
KERNELS = ("float", "int8", "token-int8")


def _questions(limit: int) -> list[str]:
    path = QUESTIONS if QUESTIONS.exists() else FALLBACK_QUESTIONS
    with path.open(encoding="utf-8") as rows:
        return [json.loads(row)["query"] for row in rows][:limit]


def _per_text_ms(backend, texts: list[str], batch: int) -> float:
    session = backend.session
    started = time.perf_counter()
    for start in range(0, len(texts), batch):
        backend._embed_batch(session, texts[start : start + batch])
    return 1000 * (time.perf_counter() - started) / len(texts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--questions", type=int, default=400)
    parser.add_argument("--articles", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    setup_django()
    from django.conf import settings

    from faq.embeddings import LocalBackend
    from faq.models import article_embedding_text

    settings.EMBEDDING_THREADS = 1
    questions = _questions(args.questions)
    articles = sorted(
        (article_embedding_text(row["question"], row["answer"]) for row in generate(args.articles)), key=len
    )
    backends = {kernel: LocalBackend(kernel=kernel, query_process=False) for kernel in KERNELS}
    cases = [("question, alone", questions, 1), ("question, batches of 8", questions, 8)]
    cases += [("question, batches of 16", questions, 16)]
    cases += [("article, alone", articles, 1), ("article, batches of 8", articles, 8)]
    print(f"{len(questions)} questions, {len(articles)} articles, 1 model thread, median of {args.repeats} runs")
    print(f"{'ms per text':24s} " + " ".join(f"{k:>10s}" for k in KERNELS) + "   float/int8  float/token-int8")
    for name, texts, batch in cases:
        times: dict[str, list[float]] = {kernel: [] for kernel in KERNELS}
        for _ in range(args.repeats):
            for kernel, backend in backends.items():
                times[kernel].append(_per_text_ms(backend, texts, batch))
        ms = {k: statistics.median(times[k]) for k in KERNELS}
        print(
            f"{name:24s} "
            + " ".join(f"{ms[k]:10.2f}" for k in KERNELS)
            + f"   {ms['float'] / ms['int8']:9.2f}x  {ms['float'] / ms['token-int8']:14.2f}x"
        )
    for name, texts in (("questions", questions), ("articles", articles)):
        vectors = {k: np.array([b._embed_batch(b.session, [t])[0] for t in texts]) for k, b in backends.items()}
        for other in ("int8", "token-int8"):
            cosine = (vectors["float"] * vectors[other]).sum(axis=1)
            print(f"cosine float vs {other}, {name}: median {np.median(cosine):.6f}, min {cosine.min():.6f}")
    for kernel in ("int8", "token-int8"):
        backend = backends[kernel]
        alone = np.array([backend._embed_batch(backend.session, [t])[0] for t in questions[:64]])
        batched = np.concatenate([backend._embed_batch(backend.session, questions[s : s + 8]) for s in range(0, 64, 8)])
        shift = (alone * batched).sum(axis=1)
        print(
            f"{kernel}, a question in a batch of 8 vs alone: cosine median {np.median(shift):.6f}, "
            f"min {shift.min():.6f}, bit for bit the same: {np.array_equal(alone, batched)}"
        )


if __name__ == "__main__":
    main()
