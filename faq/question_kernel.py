"""The questions' kernel ("token-int8"): the packaged MiniLM with every product by an int8 weight
done in 8-bit integers, each token's input quantized on its own, and the few input channels that
carry outliers multiplied in float.

Why: customers' questions are embedded as they arrive, and the model is most of a new question's
cost. The float kernel turns the packaged int8 weights back into floats and multiplies in float
(MLAS runs it near the CPU's float peak); 8-bit integer products do four times the work per
instruction on VNNI. Earlier int8 kernels lost answers (README, "Local model"): one scale for a
whole batch made a text's vector depend on the texts beside it, and one scale per token left
too few steps for ordinary values, because a handful of channels (MiniLM's channel 99 reaches 30
after some layer norms, where the median is 0.3) set every token's scale. Here those channels are
taken out of the integer product and multiplied in float (as LLM.int8() does), so each token's
scale is set by ordinary values; the int8 weights are the packaged ones, unchanged.

- A text's vector is the same alone or in any batch (each token is quantized alone, integer sums
  are exact, and the float parts are row by row), so questions keep sharing model runs.
- The outlier channels are the model's own, not a data set's: found once at load, by running the
  float model on probe texts drawn from the tokenizer's vocabulary with a fixed seed, as the
  channels whose largest value is over OUTLIER_FACTOR times the median channel's.
- Vectors stay within a cosine of about 0.9997 of the float kernel's, so they are compared with the
  articles' float vectors under the same model name (bench/retrieval.py measures the answers).

Only where the CPU multiplies 8-bit integers without saturating (VNNI on x86, or not x86): on
x86 without VNNI, onnxruntime sums pairs of u8 x s8 products in 16 bits, which can saturate, so
there questions keep the float kernel (`question_kernel_supported`).
"""

from __future__ import annotations

import functools
import platform
from pathlib import Path

import numpy as np

from faq.embeddings import EmbeddingError, _drop_unused_nodes, int8_weight_products

# A channel is an outlier where its largest |value| over the probe texts is more than this many
# times the median channel's (the median channel's largest is about 1-3; outliers 6-30).
OUTLIER_FACTOR = 4.0
PROBE_TEXTS = 64
PROBE_WORDS = 12
_BITS = 8
_ZERO = 1 << (_BITS - 1)  # u8 values around 128: a token's input is symmetric
_STEPS = float(_ZERO - 1)  # 127 steps each side


def question_kernel_supported() -> bool:
    """Whether 8-bit products are exact here: VNNI on x86 (the pair sums are 32-bit), any
    non-x86 CPU that onnxruntime runs (its ARM kernels sum in 32 bits)."""
    if platform.machine().lower() not in ("x86_64", "amd64", "i386", "i686", "x86"):
        return True
    flags = _cpu_flags()
    return "avx512_vnni" in flags or "avx_vnni" in flags


@functools.cache
def _cpu_flags() -> frozenset[str]:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                return frozenset(line.split(":", 1)[1].split())
    except OSError:
        pass
    return frozenset()


def probe_texts(tokenizer) -> list[str]:
    """Texts of whole words from the tokenizer's vocabulary, drawn with a fixed seed: the same on
    every machine, and no data set's."""
    words = sorted(token for token in tokenizer.get_vocab() if token.isalpha() and token.islower() and len(token) >= 3)
    rng = np.random.default_rng(0)
    return [" ".join(words[i] for i in rng.choice(len(words), PROBE_WORDS)) for _ in range(PROBE_TEXTS)]


def outlier_channels(path: str, tokenizer) -> dict[str, np.ndarray]:
    """For each input of a product by an int8 weight: its outlier channels, from the float model
    run on probe_texts() with one thread (the same channels whatever threads the questions get)."""
    import onnx
    import onnxruntime
    from onnx import helper

    session_options = onnxruntime.SessionOptions()
    session_options.intra_op_num_threads = 1
    session_options.inter_op_num_threads = 1
    model = onnx.load(path)
    graph = model.graph
    inputs = list(dict.fromkeys(node.input[0] for _, node, *_ in int8_weight_products(graph)))
    graph.output.extend(helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None) for name in inputs)
    session = onnxruntime.InferenceSession(
        model.SerializeToString(), sess_options=session_options, providers=["CPUExecutionProvider"]
    )
    largest: dict[str, np.ndarray] = {}
    texts = probe_texts(tokenizer)
    for start in range(0, len(texts), 16):
        encodings = tokenizer.encode_batch(texts[start : start + 16])
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        values = session.run(inputs, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)})
        for name, value in zip(inputs, values, strict=True):
            peak = np.abs(value[mask.astype(bool)]).max(axis=0)
            largest[name] = np.maximum(largest.get(name, peak), peak)
    return {
        name: np.flatnonzero(peak > OUTLIER_FACTOR * np.median(peak)).astype(np.int64) for name, peak in largest.items()
    }


def token_int8_matmuls(path: str, channels: dict[str, np.ndarray]) -> bytes:
    """The ONNX graph at `path` with each product X @ W by an int8 weight (one scale per output
    column) computed as

        s = max|X_rest| / 127 per token;  q = round(X_rest / s) + 128 (uint8, QuantizeLinear per row)
        Y = s * MatMulIntegerToFloat(q, W_int8, zero point 128, W's column scales) + X[:, outliers] @ W[outliers, :]

    where X_rest is X with its outlier channels zeroed. An input shared by several products (the
    attention's query, key and value) is quantized once."""
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load(path)
    graph = model.graph
    zero_point = numpy_helper.from_array(np.array([_ZERO], np.uint8))
    added = [
        numpy_helper.from_array(np.array(1.0, np.float32), "tq_one"),
        numpy_helper.from_array(np.array(_ZERO, np.uint8), "tq_zero"),
        numpy_helper.from_array(np.array(1.0 / _STEPS, np.float32), "tq_step"),
        numpy_helper.from_array(np.array(1e-12, np.float32), "tq_tiny"),
        numpy_helper.from_array(np.array([-1], np.int64), "tq_flat"),
    ]
    quantized: dict[str, tuple[str, str]] = {}  # input -> (its uint8 tensor, its per-token scale)
    replacements: dict[int, list] = {}
    for position, node, weight_name, weight, scale in int8_weight_products(graph):
        rows, columns = weight.shape
        x, prefix, nodes = node.input[0], node.name, []
        outliers = channels.get(x, np.zeros(0, np.int64))
        if x not in quantized:
            q = f"{x}_tq"
            rest = x
            if outliers.size:
                keep = np.ones(rows, np.float32)
                keep[outliers] = 0.0
                added.append(numpy_helper.from_array(keep, f"{q}_keep"))
                nodes.append(helper.make_node("Mul", [x, f"{q}_keep"], [f"{q}_rest"]))
                rest = f"{q}_rest"
            nodes += [
                helper.make_node("Abs", [rest], [f"{q}_abs"]),
                helper.make_node("ReduceMax", [f"{q}_abs"], [f"{q}_peak"], axes=[-1], keepdims=1),
                helper.make_node("Max", [f"{q}_peak", "tq_tiny"], [f"{q}_peak1"]),
                helper.make_node("Mul", [f"{q}_peak1", "tq_step"], [f"{q}_scale"]),
                # One QuantizeLinear with a scale per row of the (tokens, channels) matrix: the same
                # bytes as Div, Round, Add and Cast (checked bit for bit), in one pass instead of
                # four (6% less of the model's time a question).
                helper.make_node("Reshape", [rest, f"{q}_matrix_shape"], [f"{q}_matrix"]),
                helper.make_node("Reshape", [f"{q}_scale", "tq_flat"], [f"{q}_row_scale"]),
                helper.make_node("Shape", [f"{q}_row_scale"], [f"{q}_rows"]),
                helper.make_node("ConstantOfShape", [f"{q}_rows"], [f"{q}_row_zero"], value=zero_point),
                helper.make_node(
                    "QuantizeLinear", [f"{q}_matrix", f"{q}_row_scale", f"{q}_row_zero"], [f"{q}_u8_matrix"], axis=0
                ),
                helper.make_node("Shape", [x], [f"{q}_shape"]),
                helper.make_node("Reshape", [f"{q}_u8_matrix", f"{q}_shape"], [f"{q}_u8"]),
            ]
            added.append(numpy_helper.from_array(np.array([-1, rows], np.int64), f"{q}_matrix_shape"))
            quantized[x] = (f"{q}_u8", f"{q}_scale")
        u8, token_scale = quantized[x]
        added += [
            numpy_helper.from_array(scale, f"{prefix}_tq_columns"),
            numpy_helper.from_array(np.zeros(columns, np.int8), f"{prefix}_tq_wzero"),
        ]
        nodes.append(
            helper.make_node(
                "MatMulIntegerToFloat",
                [u8, weight_name, "tq_one", f"{prefix}_tq_columns", "tq_zero", f"{prefix}_tq_wzero"],
                [f"{prefix}_tq_int"],
                domain="com.microsoft",
            )
        )
        output = node.output[0]
        if outliers.size:
            in_float = (weight[outliers, :].astype(np.float32) * scale[None, :]).astype(np.float32)
            added += [
                numpy_helper.from_array(outliers, f"{prefix}_tq_outliers"),
                numpy_helper.from_array(in_float, f"{prefix}_tq_float_rows"),
            ]
            nodes += [
                helper.make_node("Mul", [f"{prefix}_tq_int", token_scale], [f"{prefix}_tq_scaled"]),
                helper.make_node("Gather", [x, f"{prefix}_tq_outliers"], [f"{prefix}_tq_x_out"], axis=-1),
                helper.make_node("MatMul", [f"{prefix}_tq_x_out", f"{prefix}_tq_float_rows"], [f"{prefix}_tq_out"]),
                helper.make_node("Add", [f"{prefix}_tq_scaled", f"{prefix}_tq_out"], [output]),
            ]
        else:
            nodes.append(helper.make_node("Mul", [f"{prefix}_tq_int", token_scale], [output]))
        replacements[position] = nodes
    if not replacements:
        raise EmbeddingError(f"{path} has no int8-weight MatMul to run as int8; set LOCAL_QUESTION_KERNEL=float")
    rebuilt = []
    for position, node in enumerate(graph.node):
        rebuilt += replacements.get(position, [node])
    del graph.node[:]
    graph.node.extend(rebuilt)
    graph.initializer.extend(added)
    _drop_unused_nodes(graph)  # the Casts and Muls that made float weights, and their scales
    model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    return model.SerializeToString()
