"""Threshold ("leader") clustering of unit vectors, streamed in chunks with numpy.

Pass 1 (`LeaderClustering.add`, chunk by chunk, in a fixed order): a vector joins the nearest
cluster centre when their cosine similarity reaches the threshold, otherwise it starts a new
cluster (inside a chunk, later vectors may join an earlier new one). Pass 2 (`Assigner`) reads
the same vectors again and gives each the nearest final centre, like one k-means step, so the
order of pass 1 matters less and every member's similarity is to the centre it ends up in.

Memory is the centres (clusters x dimensions) plus one chunk, never all the vectors: 100,000
questions are never in memory at once. The same input in the same order gives the same clusters.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Centres compared with one chunk at a time: bounds the chunk x centres similarity matrix
# (1,024 x 8,192 float32 = 32 MB) whatever the number of clusters.
CENTRE_BLOCK = 8192


def normalise(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.clip(norms, 1e-12, None)


def nearest_centres(vectors: np.ndarray, centres: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each vector, the index of the most similar centre and that cosine similarity."""
    best = np.full(len(vectors), -1, dtype=np.int64)
    best_similarity = np.full(len(vectors), -np.inf, dtype=np.float32)
    for start in range(0, len(centres), CENTRE_BLOCK):
        similarities = vectors @ centres[start : start + CENTRE_BLOCK].T
        block_best = similarities.argmax(axis=1)
        block_similarity = similarities[np.arange(len(vectors)), block_best]
        better = block_similarity > best_similarity
        best[better] = block_best[better] + start
        best_similarity[better] = block_similarity[better]
    return best, best_similarity


def add_by_label(sums: np.ndarray, vectors: np.ndarray, labels: np.ndarray) -> None:
    """sums[label] += vector for every row: sorted by label and summed run by run (vectorised)."""
    if not len(labels):
        return
    order = np.argsort(labels, kind="stable")
    sorted_labels = labels[order]
    starts = np.flatnonzero(np.r_[True, sorted_labels[1:] != sorted_labels[:-1]])
    sums[sorted_labels[starts]] += np.add.reduceat(vectors[order], starts, axis=0)


class LeaderClustering:
    """Pass 1: feed unit vectors in a fixed order with `add`; read `centres()` at the end."""

    def __init__(self, *, threshold: float, dimensions: int) -> None:
        self.threshold = np.float32(threshold)
        self.dimensions = dimensions
        self._sums = np.zeros((0, dimensions), dtype=np.float32)
        self._counts = np.zeros(0, dtype=np.int64)
        self.leaders: list[int] = []  # the key of each cluster's first vector (its stable id)

    def __len__(self) -> int:
        return len(self._counts)

    def centres(self) -> np.ndarray:
        return normalise(self._sums)

    def add(self, vectors: np.ndarray, keys: np.ndarray) -> None:
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        labels = np.full(len(vectors), -1, dtype=np.int64)
        if len(self):
            best, similarity = nearest_centres(vectors, self.centres())
            joins = similarity >= self.threshold
            labels[joins] = best[joins]
        new = np.flatnonzero(labels < 0)
        if len(new):
            labels[new] = self._new_clusters(vectors[new], keys[new])
        self._accumulate(vectors, labels)

    def _new_clusters(self, vectors: np.ndarray, keys: np.ndarray) -> np.ndarray:
        """Greedy leaders among vectors that joined no existing cluster, in their given order."""
        similarities = vectors @ vectors.T
        labels = np.full(len(vectors), -1, dtype=np.int64)
        for i in range(len(vectors)):
            if labels[i] >= 0:
                continue
            label = len(self.leaders)
            self.leaders.append(int(keys[i]))
            joins = (labels < 0) & (similarities[i] >= self.threshold)
            joins[:i] = False
            joins[i] = True
            labels[joins] = label
        grown = len(self.leaders) - len(self._counts)
        self._sums = np.vstack([self._sums, np.zeros((grown, self.dimensions), dtype=np.float32)])
        self._counts = np.concatenate([self._counts, np.zeros(grown, dtype=np.int64)])
        return labels

    def _accumulate(self, vectors: np.ndarray, labels: np.ndarray) -> None:
        add_by_label(self._sums, vectors, labels)
        self._counts += np.bincount(labels, minlength=len(self._counts))


@dataclass
class Assignment:
    """Pass 2's result for one chunk: each vector's cluster (index into the centres) and similarity."""

    labels: np.ndarray
    similarities: np.ndarray


class Assigner:
    """Pass 2: each vector to its nearest final centre; the centres are recomputed from the result."""

    def __init__(self, centres: np.ndarray) -> None:
        self.centres = np.ascontiguousarray(centres, dtype=np.float32)
        self._sums = np.zeros_like(self.centres)
        self.counts = np.zeros(len(self.centres), dtype=np.int64)

    def assign(self, vectors: np.ndarray) -> Assignment:
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        labels, similarities = nearest_centres(vectors, self.centres)
        add_by_label(self._sums, vectors, labels)
        self.counts += np.bincount(labels, minlength=len(self.centres))
        return Assignment(labels, similarities)

    def final_centres(self) -> np.ndarray:
        """The mean direction of each cluster's members (unit length; zero for an emptied cluster)."""
        return normalise(self._sums)
