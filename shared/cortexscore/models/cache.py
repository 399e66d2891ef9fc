"""An on-disk, content-addressed cache of layer activations, with a size cap and LRU eviction.

An entry holds named layers' (n_images, n_features) float32 matrices, addressed by the sha256
of (model fingerprint, stimulus set sha256, layers, placement). In-process, the fingerprint covers
the weights, the architecture and its code, and the preprocessing, so a changed model never reads
stale features; the scorer, which never imports user code, fingerprints a model by its zip's
sha256 and name. Each benchmark that shares a stimulus set with another reuses its activations:
the model's forward pass runs over the set once.

Entries are ``.npz`` files written atomically (write, then rename) so that concurrent processes
can share one folder; a read refreshes the file's time, and a write evicts the least recently
used files until the folder fits the cap. Their members are stored uncompressed, so
:func:`open_entry` can hand out each layer as a :class:`~cortexscore.stored.StoredMatrix`
over the open file: a wide layer is then read in blocks, never whole.
"""
from __future__ import annotations

import functools
import hashlib
import inspect
import os
import struct
import uuid
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from cortexscore.models.activations import weights_hash
from cortexscore.signing import FileSigner
from cortexscore.stored import StoredMatrix, iter_rows

DEFAULT_MAX_BYTES = 20 << 30
MAX_LAYERS = 1000


def placement_tag(model_degrees: float, stimulus_degrees: float) -> str:
    """How stimuli were placed before the model saw them, as part of a cache key.

    Examples
    --------
    >>> placement_tag(8, 4.0)
    'model8deg-stimulus4deg'
    """
    return f"model{model_degrees:g}deg-stimulus{stimulus_degrees:g}deg"


def _describe_callable(function) -> str:
    if isinstance(function, functools.partial):
        arguments = [repr(arg) for arg in function.args] + [f"{k}={v!r}" for k, v in sorted(function.keywords.items())]
        return f"{_describe_callable(function.func)}({', '.join(arguments)})"
    return f"{getattr(function, '__module__', '')}.{getattr(function, '__qualname__', type(function).__qualname__)}"


def _class_source(cls: type) -> str:
    try:
        return inspect.getsource(cls)
    except (OSError, TypeError):
        return cls.__qualname__


def model_fingerprint(brain_model) -> str | None:
    """A sha256 of everything that decides a PyTorch brain model's activations, or None if unknown.

    It covers the weights (:func:`weights_hash`), the module tree and the source code of every
    module class (so two networks with the same weights but different ``forward`` differ), the
    preprocessing and the forward keyword arguments.

    Examples
    --------
    >>> import functools
    >>> from cortexscore.models.activations import PytorchActivations
    >>> from cortexscore.models.preprocessing import load_preprocess_images
    >>> net = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.ReLU())
    >>> at_224 = PytorchActivations(net, functools.partial(load_preprocess_images, image_size=224))
    >>> at_112 = PytorchActivations(net, functools.partial(load_preprocess_images, image_size=112))
    >>> model_fingerprint(at_224) == model_fingerprint(at_112)
    False
    >>> model_fingerprint(object()) is None
    True
    """
    extractor = getattr(brain_model, "activations_model", brain_model)
    network = getattr(extractor, "model", None)
    if not isinstance(network, torch.nn.Module):
        return None
    classes = sorted({type(module) for module in network.modules()}, key=lambda cls: cls.__qualname__)
    parts = [weights_hash(network), repr(network), *map(_class_source, classes),
             _describe_callable(extractor.preprocessing), repr(sorted(getattr(extractor, "forward_kwargs", {}).items()))]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


@dataclass(frozen=True)
class ActivationsKey:
    """What one cache entry holds: some layers of a model on a placed stimulus set.

    ``layers`` names the entry's layers: one layer name for :meth:`ActivationsCache.activations`,
    or a layer mode such as ``"candidates"`` when the layer names are only known after the model ran
    (the scorer's case: the model lives in a sandbox, so the parent keys it by its zip instead).

    Examples
    --------
    >>> key = ActivationsKey("m" * 64, "s" * 64, "features.2", placement_tag(8, 8))
    >>> len(key.digest())
    64
    """

    model_fingerprint: str
    stimulus_set_sha256: str
    layers: str
    placement: str

    def digest(self) -> str:
        fields = (self.model_fingerprint, self.stimulus_set_sha256, self.layers, self.placement)
        return hashlib.sha256("\0".join(fields).encode()).hexdigest()


def write_entry(path: str | os.PathLike,
                features: Mapping[str, np.ndarray] | Iterable[tuple[str, np.ndarray | StoredMatrix]]) -> None:
    """Write layer activations as one cache entry: an uncompressed ``.npz`` of float32 arrays, in layer order.

    ``features`` maps layer names to arrays, or gives ``(name, values)`` pairs one at a time: each
    :class:`~cortexscore.stored.StoredMatrix` among them is copied a row at a time, so writing takes one
    row's memory, and the pairs can come from a generator that opens each layer's file only for its turn.
    """
    if isinstance(features, Mapping) and not any(isinstance(values, StoredMatrix) for values in features.values()):
        arrays = {f"layer{index}": np.ascontiguousarray(values, dtype=np.float32)
                  for index, values in enumerate(features.values())}
        with open(path, "wb") as handle:
            np.savez(handle, __layers__=np.array(list(features), dtype=str), **arrays)
        return
    names = []
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
        for index, (name, values) in enumerate(features.items() if isinstance(features, Mapping) else features):
            names.append(name)
            with archive.open(f"layer{index}.npy", "w", force_zip64=True) as member:
                if not isinstance(values, StoredMatrix):
                    np.lib.format.write_array(member, np.ascontiguousarray(values, dtype=np.float32))
                    continue
                header = {"descr": np.lib.format.dtype_to_descr(values.dtype), "fortran_order": False,
                          "shape": values.shape}
                np.lib.format.write_array_header_1_0(member, header)
                for row in iter_rows(values):
                    member.write(row.data)
        with archive.open("__layers__.npy", "w") as member:
            np.lib.format.write_array(member, np.array(names, dtype=str))


def _member_data_start(handle, member: zipfile.ZipInfo) -> int:
    """Where a stored member's bytes begin in the zip file: after its local header, whose lengths it gives."""
    handle.seek(member.header_offset)
    local = handle.read(30)
    if len(local) != 30 or local[:4] != b"PK\x03\x04":
        raise ValueError(f"member {member.filename!r} has no local header")
    name_length, extra_length = struct.unpack("<HH", local[26:30])
    return member.header_offset + 30 + name_length + extra_length


def _read_header(handle, what: str):
    """(shape, fortran_order, dtype) of the ``.npy`` header at ``handle``'s position, of at most 10 kB."""
    version = np.lib.format.read_magic(handle)
    read_header = {(1, 0): np.lib.format.read_array_header_1_0,
                   (2, 0): np.lib.format.read_array_header_2_0}.get(version)
    if read_header is None:
        raise ValueError(f"{what} uses .npy format {version}; use 1.0 or 2.0")
    return read_header(handle, max_header_size=10000)


def read_npy_header(handle, what: str, rows: int | None = None,
                    max_columns: int | None = None) -> tuple[tuple[int, int], int]:
    """Shape and header length of a layer's ``.npy`` at ``handle``'s position, checked from the header alone.

    A layer is a 2-D C-order float32 array; ``rows`` and ``max_columns``, when given, bound its shape.
    The header comes from untrusted code, so its size is bounded and nothing else of it is believed.
    """
    start = handle.tell()
    shape, fortran_order, dtype = _read_header(handle, what)
    if dtype != np.float32 or len(shape) != 2 or fortran_order:
        raise ValueError(f"{what} is {dtype} with shape {shape}{' in Fortran order' if fortran_order else ''}; "
                         "layers are 2-D float32, in C order")
    if rows is not None and shape[0] != rows:
        raise ValueError(f"{what} has {shape[0]} rows; the stimulus set has {rows} images")
    if max_columns is not None and shape[1] > max_columns:
        raise ValueError(f"{what} has {shape[1]} features, over the limit of {max_columns}")
    return (int(shape[0]), int(shape[1])), handle.tell() - start


def _check_entry_layout(path: str | os.PathLike, rows: int | None,
                        max_columns: int | None) -> dict[int, tuple[int, tuple[int, int]]]:
    """Check an entry's zip directory and array headers before any data is read; return where each layer lies.

    Entries can come from untrusted code, so compressed members (a deflate bomb expands in the reader),
    unknown members, and arrays of the wrong type or size are refused from their headers alone. The
    result maps each layer's index to (the file offset of its first row, its shape).
    """
    layout = {}
    with open(path, "rb") as raw, zipfile.ZipFile(raw) as archive:
        members = archive.infolist()
        if not 0 < len(members) <= MAX_LAYERS + 1:
            raise ValueError(f"it has {len(members)} members; an entry holds __layers__ and 1 to {MAX_LAYERS} layers")
        for member in members:
            if member.compress_type != zipfile.ZIP_STORED:
                raise ValueError(f"member {member.filename!r} is compressed; entries must be stored uncompressed "
                                 "(numpy.savez, not savez_compressed)")
            stem = member.filename.removesuffix(".npy")
            if not (stem == "__layers__" or (stem.startswith("layer") and stem[5:].isdigit())):
                raise ValueError(f"unexpected member {member.filename!r}")
            with archive.open(member) as handle:
                if stem == "__layers__":
                    shape, _, dtype = _read_header(handle, f"member {member.filename!r}")
                    if dtype.kind != "U" or len(shape) != 1 or dtype.itemsize > 4 * 512:
                        raise ValueError("__layers__ must be a 1-D array of layer names")
                    continue
                shape, header_length = read_npy_header(handle, f"layer {stem}", rows, max_columns)
            if member.file_size < header_length + 4 * shape[0] * shape[1]:
                raise ValueError(f"layer {stem} is truncated")
            layout[int(stem[5:])] = (_member_data_start(raw, member) + header_length, shape)
    return layout


def read_entry(path: str | os.PathLike, *, rows: int | None = None,
               max_columns: int | None = None) -> dict[str, np.ndarray]:
    """The layers of an entry file, checked: named layers, float32, 2-D, one row per image in every layer.

    ``rows`` and ``max_columns``, when given, are checked from the array headers before any data is read.

    Examples
    --------
    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "entry.npz"
    >>> write_entry(path, {"relu1": np.ones((2, 3)), "fc": np.zeros((2, 4))})
    >>> {layer: values.shape for layer, values in read_entry(path).items()}
    {'relu1': (2, 3), 'fc': (2, 4)}
    >>> read_entry(path, rows=5)
    Traceback (most recent call last):
    ...
    ValueError: ... layer layer0 has 2 rows; the stimulus set has 5 images)
    """
    try:
        _check_entry_layout(path, rows, max_columns)
        with np.load(path) as stored:  # allow_pickle stays False: no object arrays from untrusted writers
            names = [str(name) for name in stored["__layers__"]]
            features = {name: stored[f"layer{index}"] for index, name in enumerate(names)}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as error:
        raise ValueError(f"{path} is not a readable activations file ({type(error).__name__}: {error})") from None
    rows_found = {values.shape[0] if values.ndim else None for values in features.values()}
    bad = [name for name, values in features.items() if values.dtype != np.float32 or values.ndim != 2]
    if not features or bad or len(rows_found) != 1:
        raise ValueError(f"{path} must hold 2-D float32 layers with one row per image each; "
                         f"layers {bad or sorted(features)} do not")
    return features


def open_entry(path: str | os.PathLike, *, rows: int | None = None,
               max_columns: int | None = None) -> dict[str, StoredMatrix]:
    """The layers of an entry file as :class:`~cortexscore.stored.StoredMatrix`, read only when used.

    The layout is checked as :func:`read_entry` checks it; the layers share one open file, which stays
    readable while any of them lives, even after the entry is evicted or deleted.

    Examples
    --------
    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "entry.npz"
    >>> write_entry(path, {"relu1": np.ones((2, 3)), "fc": np.arange(8).reshape(2, 4)})
    >>> stored = open_entry(path)
    >>> {layer: values.shape for layer, values in stored.items()}
    {'relu1': (2, 3), 'fc': (2, 4)}
    >>> stored["fc"].read_columns(2, 4)
    array([[2., 3.],
           [6., 7.]], dtype=float32)
    """
    try:
        layout = _check_entry_layout(path, rows, max_columns)
        with np.load(path) as stored:
            names = [str(name) for name in stored["__layers__"]]
        if sorted(layout) != list(range(len(names))) or not names:
            raise ValueError(f"it names {len(names)} layers but holds {len(layout)}")
        if len({shape[0] for _, shape in layout.values()}) != 1:
            raise ValueError("it must hold 2-D float32 layers with one row per image each; its layers' rows differ")
        handle = open(path, "rb")
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as error:
        raise ValueError(f"{path} is not a readable activations file ({type(error).__name__}: {error})") from None
    return {name: StoredMatrix(handle, *layout[index]) for index, name in enumerate(names)}


class ActivationsCache:
    """Layer activations on local disk under ``root``, at most ``max_bytes`` in total.

    An entry maps layer names to float32 (n_images, n_features) matrices, stored as one
    uncompressed ``.npz``; the layer order is kept.

    Examples
    --------
    >>> import tempfile
    >>> cache = ActivationsCache(tempfile.mkdtemp(), max_bytes=1000)
    >>> key = ActivationsKey("model", "stimuli", "relu1", "model8deg-stimulus8deg")
    >>> cache.get(key) is None
    True
    >>> cache.put(key, {"relu1": np.ones((2, 3), dtype=np.float32)})
    >>> {layer: values.shape for layer, values in cache.get(key).items()}
    {'relu1': (2, 3)}
    """

    def __init__(self, root: str | os.PathLike, max_bytes: int = DEFAULT_MAX_BYTES, signer: FileSigner | None = None):
        if max_bytes <= 0:
            raise ValueError(f"max_bytes must be positive; got {max_bytes}.")
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.max_bytes = max_bytes
        # With a signer (the scorer's), an entry counts only if its HMAC tag matches: see cortexscore.signing.
        self.signer = signer

    def _path(self, key: ActivationsKey) -> Path:
        digest = key.digest()
        return self.root / digest[:2] / f"{digest}.npz"

    def get(self, key: ActivationsKey) -> dict[str, np.ndarray] | None:
        """The cached layers, in the order they were stored, or None; a hit marks the entry recently used."""
        path = self._path(key)
        try:
            os.utime(path)
            if self.signer is not None and not self.signer.verify(path, key.digest()):
                return None  # forged, torn or from another key: recomputed, and the new entry replaces it
            return read_entry(path)
        except (OSError, ValueError):
            return None  # missing, or truncated by a crash mid-write on a filesystem without atomic rename

    def open(self, key: ActivationsKey) -> dict[str, StoredMatrix] | None:
        """As :meth:`get`, but the layers stay on disk (:func:`open_entry`): what the scorer scores wide layers from."""
        path = self._path(key)
        try:
            os.utime(path)
            if self.signer is not None and not self.signer.verify(path, key.digest()):
                return None
            return open_entry(path)
        except (OSError, ValueError):
            return None

    def put(self, key: ActivationsKey, features: Mapping[str, np.ndarray]) -> None:
        """Store ``features``, then evict least recently used entries until the cache fits its cap."""
        if sum(np.asarray(values).size * 4 for values in features.values()) > self.max_bytes:
            return  # larger than the whole cache: keeping it would evict everything else
        partial = self._partial(key)
        write_entry(partial, features)
        self._commit(key, partial)

    def staging_path(self, key: ActivationsKey) -> Path:
        """A fresh path inside the cache where an entry for ``key`` can be written before :meth:`adopt`."""
        return self._partial(key)

    def adopt(self, key: ActivationsKey, staged: str | os.PathLike, *, rows: int | None = None,
              max_columns: int | None = None) -> dict[str, StoredMatrix]:
        """Take over an entry file at :meth:`staging_path`, without writing it again; return its layers, on disk.

        The scorer writes its sandboxed child's activations there once, instead of loading and
        re-saving hundreds of megabytes. The file is checked first (it comes from untrusted code), with
        ``rows`` and ``max_columns`` checked from its headers: ``ValueError`` names what is wrong.
        An entry larger than the whole cache is not kept: its layers stay readable through their open
        file, whose space the system frees when the last of them is gone.
        """
        staged = Path(staged)
        try:
            features = open_entry(staged, rows=rows, max_columns=max_columns)
            if staged.stat().st_size > self.max_bytes:
                staged.unlink()
                return features
        except BaseException:
            staged.unlink(missing_ok=True)
            raise
        self._commit(key, staged)
        return features

    def _partial(self, key: ActivationsKey) -> Path:
        path = self._path(key)
        path.parent.mkdir(exist_ok=True)
        return path.with_name(f".{path.stem}.{uuid.uuid4().hex}.partial")

    def _commit(self, key: ActivationsKey, partial: Path) -> None:
        path = self._path(key)
        path.parent.mkdir(exist_ok=True)
        if self.signer is not None:
            # The tag is of the content, so it can be written before the rename that publishes the entry.
            mac = FileSigner.mac_path(path)
            mac_partial = partial.with_suffix(".mac-partial")
            mac_partial.write_text(self.signer.tag(partial, key.digest()))
            os.replace(mac_partial, mac)
        # Written aside, then renamed: a concurrent reader never sees half an entry.
        partial.replace(path)
        self.evict()

    def size_bytes(self) -> int:
        return sum(entry.stat().st_size for entry in self._entries())

    def _entries(self) -> list[Path]:
        return list(self.root.glob("*/*.npz"))

    def evict(self) -> None:
        """Delete the least recently used entries until the total size is within ``max_bytes``."""
        entries = []
        for entry in self._entries():
            try:
                status = entry.stat()
            except FileNotFoundError:  # evicted meanwhile by another process
                continue
            entries.append((status.st_mtime_ns, status.st_size, entry))
        total = sum(size for _, size, _ in entries)
        for _, size, entry in sorted(entries):
            if total <= self.max_bytes:
                break
            entry.unlink(missing_ok=True)
            FileSigner.mac_path(entry).unlink(missing_ok=True)
            total -= size

    def activations(self, brain_model, image_paths: Sequence[str | os.PathLike], layers: Sequence[str],
                    stimulus_set_sha256: str, placement: str, batch_size: int = 64,
                    progress: Callable[[int, int], None] | None = None) -> dict[str, np.ndarray]:
        """``brain_model.activations`` through the cache: layers not cached come from one forward pass.

        Each layer is its own entry, so a later call asking for more layers computes only the new ones.
        ``image_paths`` must be the whole stimulus set that ``stimulus_set_sha256`` names, in its order,
        placed as ``placement`` says.

        Models without a fingerprint (not PyTorch) are computed every time and not stored.
        """
        fingerprint = model_fingerprint(brain_model)
        if fingerprint is None:
            return brain_model.activations(image_paths, layers, batch_size=batch_size, progress=progress)
        keys = {layer: ActivationsKey(fingerprint, stimulus_set_sha256, layer, placement) for layer in layers}
        found = {layer: (self.get(key) or {}).get(layer) for layer, key in keys.items()}
        # A row count that disagrees means the caller passed another image list under the same set hash.
        missing = [layer for layer, features in found.items()
                   if features is None or features.shape[0] != len(image_paths)]
        if missing:
            computed = brain_model.activations(image_paths, missing, batch_size=batch_size, progress=progress)
            for layer in missing:
                self.put(keys[layer], {layer: computed[layer]})
                found[layer] = computed[layer]
        elif progress is not None:
            progress(len(image_paths), len(image_paths))
        return {layer: found[layer] for layer in layers}
