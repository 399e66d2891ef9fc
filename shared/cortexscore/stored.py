"""Float32 matrices kept in a file and read in bounded blocks, so a wide layer never sits whole in memory.

A layer of 2M features over 640 stimuli is 5 GB of float32: the scorer keeps it on disk
(in the activations cache, or in a file it has already unlinked) and the metrics read it a
block of columns or one row at a time with explicit reads. Reads go through ``os.preadv``
into arrays this module allocates, never through a memory map, whose pages would count in
the process's resident memory once touched.

:class:`StoredMatrix` is a numpy duck array (``shape``, ``dtype``, ``ndim``, row indexing), so
an ``xarray.DataArray`` wraps it without reading it; ``numpy.asarray`` reads it whole only
when it is at most :data:`IN_MEMORY_LIMIT_BYTES`, and otherwise raises a ``ValueError`` that
says which computation wanted the whole layer.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

DTYPE = np.dtype("<f4")
# A computation that needs a stored matrix whole (sklearn's PCA, the primal linear regression) may read at
# most this many bytes of it; beyond, it is refused with a message, instead of taking the machine's memory.
IN_MEMORY_LIMIT_BYTES = 1 << 30


class StoredMatrix:
    """A C-order float32 matrix at ``offset`` in an open file, or a selection of its rows.

    Parameters
    ----------
    file : binary file object
        Open for reading; shared by the matrix and every row selection of it, and closed with the last.
    offset : int
        Where row 0 starts in the file.
    shape : tuple of int
        ``(n_rows, n_columns)`` as stored.
    rows : numpy.ndarray of int, optional
        The stored rows this matrix shows, in order; all of them by default.

    Examples
    --------
    >>> import tempfile
    >>> values = np.arange(12, dtype=np.float32).reshape(4, 3)
    >>> handle = tempfile.TemporaryFile()
    >>> _ = handle.write(values.tobytes())
    >>> handle.flush()
    >>> stored = StoredMatrix(handle, 0, (4, 3))
    >>> stored.shape, stored[[True, False, True, False]].shape
    ((4, 3), (2, 3))
    >>> stored[[3, 0]].read_columns(1, 3)
    array([[10., 11.],
           [ 1.,  2.]], dtype=float32)
    >>> bool((np.asarray(stored) == values).all())
    True
    """

    dtype = DTYPE
    ndim = 2

    def __init__(self, file, offset: int, shape: tuple[int, int], rows: np.ndarray | None = None):
        self._file, self._offset = file, int(offset)
        self._stored_rows, self._n_columns = int(shape[0]), int(shape[1])
        self._rows = np.arange(self._stored_rows) if rows is None else np.asarray(rows, dtype=np.int64)

    @property
    def shape(self) -> tuple[int, int]:
        return len(self._rows), self._n_columns

    @property
    def size(self) -> int:
        return self.shape[0] * self.shape[1]

    @property
    def nbytes(self) -> int:
        return self.size * DTYPE.itemsize

    def __len__(self) -> int:
        return len(self._rows)

    def __repr__(self) -> str:
        return f"StoredMatrix(shape={self.shape}, dtype=float32)"

    def __getitem__(self, index):
        """Rows (a mask, indices or a slice, optionally with ``slice(None)`` for the columns) as a new StoredMatrix."""
        if isinstance(index, tuple):
            if len(index) != 2 or not _is_everything(index[1]):
                raise IndexError("a StoredMatrix selects rows only; read columns with read_columns")
            index = index[0]
        selected = self._rows[index]
        if np.ndim(selected) == 0:
            return self._read(np.array([selected]), 0, self._n_columns)[0]
        return StoredMatrix(self._file, self._offset, (self._stored_rows, self._n_columns), selected)

    def read_columns(self, start: int, stop: int) -> np.ndarray:
        """Columns ``start:stop`` of every row, as a float32 array of shape (n_rows, stop - start)."""
        start, stop = max(0, start), min(stop, self._n_columns)
        return self._read(self._rows, start, stop)

    def iter_rows(self):
        """Each row in turn, as a float32 array of ``n_columns`` (one row's memory at a time)."""
        buffer = np.empty((1, self._n_columns), dtype=DTYPE)
        for row in self._rows:
            self._read_into(buffer, np.array([row]), 0, self._n_columns)
            yield buffer[0]

    def __array__(self, dtype=None, copy=None):
        if self.nbytes > IN_MEMORY_LIMIT_BYTES:
            raise ValueError(
                f"this computation needs the whole layer in memory, but it is {self.shape[0]} stimuli x "
                f"{self.shape[1]} features ({self.nbytes / 2**20:,.0f} MiB as float32), over the limit of "
                f"{IN_MEMORY_LIMIT_BYTES / 2**20:,.0f} MiB; wide layers are scored from their Gram matrix (pls, "
                "ridge, ridgecv, rdm, cka), not with the primal 'linear' regression or a full PCA")
        values = self._read(self._rows, 0, self._n_columns)
        return values if dtype is None else values.astype(dtype, copy=False)

    # These make it a duck array, which xarray wraps as it is instead of converting it with numpy.asarray.
    # Any numpy function or ufunc applied to it reads it whole, within the in-memory limit.
    def __array_function__(self, func, types, args, kwargs):
        return func(*_read_whole(args), **_read_whole(kwargs))

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        return getattr(ufunc, method)(*_read_whole(inputs), **_read_whole(kwargs))

    def _read(self, rows: np.ndarray, start: int, stop: int) -> np.ndarray:
        out = np.empty((len(rows), stop - start), dtype=DTYPE)
        self._read_into(out, rows, start, stop)
        return out

    def _read_into(self, out: np.ndarray, rows: np.ndarray, start: int, stop: int) -> None:
        descriptor = self._file.fileno()
        row_bytes = self._n_columns * DTYPE.itemsize
        for position, row in enumerate(rows):
            _pread_exactly(descriptor, memoryview(out[position]).cast("B"),
                           self._offset + int(row) * row_bytes + start * DTYPE.itemsize)


def _read_whole(arguments):
    """``arguments`` (nested in tuples, lists and dicts) with every StoredMatrix read into a numpy array."""
    if isinstance(arguments, StoredMatrix):
        return np.asarray(arguments)
    if isinstance(arguments, (tuple, list)):
        return type(arguments)(_read_whole(item) for item in arguments)
    if isinstance(arguments, dict):
        return {key: _read_whole(item) for key, item in arguments.items()}
    return arguments


def _is_everything(index) -> bool:
    return isinstance(index, slice) and index == slice(None)


def _pread_exactly(descriptor: int, buffer: memoryview, offset: int) -> None:
    """Fill ``buffer`` from ``offset``; a file that ends early (truncated under us) is an error, not zeros."""
    done = 0
    while done < len(buffer):
        read = os.preadv(descriptor, [buffer[done:]], offset + done)
        if read == 0:
            raise ValueError(f"the stored activations end at byte {offset + done}, before the layer does")
        done += read


def column_blocks(values, width: int):
    """``(start, block)`` over ``values`` a block of at most ``width`` columns at a time, as float32 or as stored.

    Works alike on a numpy array (views) and a :class:`StoredMatrix` (explicit reads).

    >>> [(start, block.shape) for start, block in column_blocks(np.zeros((2, 5)), 2)]
    [(0, (2, 2)), (2, (2, 2)), (4, (2, 1))]
    """
    for start in range(0, values.shape[1], width):
        if isinstance(values, StoredMatrix):
            yield start, values.read_columns(start, start + width)
        else:
            yield start, values[:, start:start + width]


def iter_rows(values):
    """Each row of ``values`` in turn: a view of a numpy array, or one explicit read of a :class:`StoredMatrix`."""
    return values.iter_rows() if isinstance(values, StoredMatrix) else iter(values)


class NpyRowWriter:
    """Write a float32 ``(n_rows, n_columns)`` ``.npy`` a batch of rows at a time: header first, rows appended.

    ``n_columns`` is fixed by the first batch. Each batch is flushed to disk and dropped from the page
    cache, which a memory cgroup charges to the writer: writing gigabytes then holds one batch in memory.

    Examples
    --------
    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "layer.npy"
    >>> with NpyRowWriter(path, 3) as writer:
    ...     writer.write(np.ones((2, 4)))
    ...     writer.write(np.zeros((1, 4)))
    >>> np.load(path).sum(axis=1)
    array([4., 4., 0.], dtype=float32)
    """

    def __init__(self, path: str | os.PathLike, n_rows: int):
        self.path, self.n_rows = Path(path), int(n_rows)
        self.n_columns: int | None = None
        self._written = 0
        self._file = None

    def write(self, rows: np.ndarray) -> None:
        """Append ``rows`` (2-D, cast to float32); every batch must have the first batch's width."""
        rows = np.ascontiguousarray(rows, dtype=DTYPE)
        if rows.ndim != 2:
            raise ValueError(f"rows must be 2-D (n_rows, n_columns); got shape {rows.shape}")
        if self._file is None:
            self.n_columns = rows.shape[1]
            self._file = open(self.path, "wb")
            header = {"descr": np.lib.format.dtype_to_descr(DTYPE), "fortran_order": False,
                      "shape": (self.n_rows, self.n_columns)}
            np.lib.format.write_array_header_1_0(self._file, header)
        elif rows.shape[1] != self.n_columns:
            raise ValueError(f"a batch of {rows.shape[1]} columns after batches of {self.n_columns}")
        if self._written + len(rows) > self.n_rows:
            raise ValueError(f"{self._written + len(rows)} rows written to a file of {self.n_rows}")
        self._file.write(rows.data)
        self._written += len(rows)
        self._file.flush()
        os.fdatasync(self._file.fileno())
        os.posix_fadvise(self._file.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)

    def close(self) -> None:
        """Close the file; raise unless every row was written."""
        if self._file is not None:
            self._file.close()
        if self._written != self.n_rows:
            raise ValueError(f"{self._written} rows written to a file of {self.n_rows}")

    def __enter__(self) -> NpyRowWriter:
        return self

    def __exit__(self, kind, *_exception) -> None:
        if kind is None:
            self.close()
        elif self._file is not None:
            self._file.close()
