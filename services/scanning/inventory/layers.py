"""Stream one layer blob (gzip, zstd or plain tar) into the virtual file tree.

The compressed bytes are hashed as they are read and checked against the digest that
names the blob once the stream is drained, so a tampered blob fails the scan. Each tar
entry is applied to the tree at once. File content is read only for the paths an
analyser requests, within the safety limits.
"""

from __future__ import annotations

import hashlib
import queue
import threading
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import BinaryIO, Protocol

import structlog
import zstandard

from services.scanning.inventory.errors import (
    CorruptLayer,
    DigestMismatch,
    InventoryError,
    UnsafePath,
)
from services.scanning.inventory.filesystem import (
    DIRECTORY,
    FILE,
    OPAQUE_MARKER,
    OTHER,
    SYMLINK,
    WHITEOUT_PREFIX,
    FileTree,
    Node,
    join_path,
    split_path,
)
from services.scanning.inventory.limits import Limits
from services.scanning.inventory.tarstream import TarEntry, TarReader

log = structlog.get_logger(__name__)

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
READ_CHUNK = 1024 * 1024
# Bounds the output of one decompression call, so a bomb is caught by the size limit
# before it fills memory. zstd cannot bound its output per call, so its input is fed in
# small slices instead: one zstd block of 128 KiB can come from 4 bytes, so 2 KiB of input
# yields at most 64 MiB.
GZIP_OUTPUT_CHUNK = 4 * 1024 * 1024
ZSTD_INPUT_SLICE = 2048
ZSTD_OUTPUT_BATCH = 1024 * 1024
# Decompressed chunks waiting for the tar reader; bounds the memory of the pipeline.
PREFETCH_CHUNKS = 8
_END = object()


class FileAnalyser(Protocol):
    """The part of an analyser the layer reader uses: which files to read, and how."""

    name: str

    def wants(self, path: str, mode: int, size: int) -> bool: ...

    def extract(self, path: str, data: bytes, limits: Limits) -> object | None: ...


@dataclass
class ScanBudget:
    """Counters shared by all layers of one image, checked against the limits."""

    limits: Limits
    entries: int = 0
    decompressed_bytes: int = 0

    def count_entry(self, subject: str) -> None:
        self.entries += 1
        self.limits.check("max_entries", self.entries, subject)

    def count_bytes(self, size: int, subject: str) -> None:
        self.decompressed_bytes += size
        self.limits.check("max_decompressed_bytes", self.decompressed_bytes, subject)


@dataclass(frozen=True, slots=True)
class LayerStats:
    """Cost of reading one layer: sizes in bytes and the number of tar entries."""

    compressed_bytes: int
    decompressed_bytes: int
    entries: int
    diff_id: str  # sha256 of the uncompressed tar, computed only when verified


class _BlobStream:
    """The raw blob as chunks, hashed and counted as they are read."""

    def __init__(self, raw: BinaryIO, algorithm: str):
        self._raw = raw
        self.hash = hashlib.new(algorithm)
        self.size = 0

    def chunks(self) -> Iterator[bytes]:
        while True:
            chunk = self._raw.read(READ_CHUNK)
            if not chunk:
                return
            self.hash.update(chunk)
            self.size += len(chunk)
            yield chunk


def _decompressed(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """Decompress by the magic number of the first bytes, not by the declared media type.

    Registries and `docker save` disagree on media types, but the magic numbers do not lie.
    Raises `CorruptLayer` when a compressed stream stops before its end.
    """
    first = next(chunks, b"")
    while 0 < len(first) < 4:
        more = next(chunks, b"")
        if not more:
            break
        first += more
    if first.startswith(GZIP_MAGIC):
        yield from _gunzip(first, chunks)
    elif first.startswith(ZSTD_MAGIC):
        yield from _unzstd(first, chunks)
    else:
        if first:
            yield first
        yield from chunks


def _gunzip(first: bytes, chunks: Iterator[bytes]) -> Iterator[bytes]:
    decompressor = zlib.decompressobj(wbits=31)
    pending = first
    while True:
        while pending:
            output = decompressor.decompress(pending, GZIP_OUTPUT_CHUNK)
            if output:
                yield output
            if decompressor.eof:
                # A gzip file may hold several members one after another.
                pending = decompressor.unused_data
                if pending:
                    decompressor = zlib.decompressobj(wbits=31)
                continue
            pending = decompressor.unconsumed_tail
        pending = next(chunks, b"")
        if not pending:
            break
    if not decompressor.eof:
        raise CorruptLayer("gzip stream is truncated: it ends before its last member does")


def _unzstd(first: bytes, chunks: Iterator[bytes]) -> Iterator[bytes]:
    decompressor = zstandard.ZstdDecompressor().decompressobj()
    batch: list[bytes] = []
    batched = 0
    chunk = first
    while chunk:
        view = memoryview(chunk)
        for start in range(0, len(view), ZSTD_INPUT_SLICE):
            output = decompressor.decompress(view[start : start + ZSTD_INPUT_SLICE])
            if decompressor.eof:
                # Another frame may follow; zstandard returns its input as unused_data.
                rest = decompressor.unused_data + view[start + ZSTD_INPUT_SLICE :].tobytes()
                decompressor = zstandard.ZstdDecompressor().decompressobj()
                if output:
                    batch.append(output)
                yield from batch
                batch, batched = [], 0
                chunk = rest or next(chunks, b"")
                break
            if output:
                batch.append(output)
                batched += len(output)
                if batched >= ZSTD_OUTPUT_BATCH:
                    yield b"".join(batch)
                    batch, batched = [], 0
        else:
            chunk = next(chunks, b"")
            continue
        if not chunk:
            return
    if batch:
        yield b"".join(batch)
    raise CorruptLayer("zstd stream is truncated: it ends inside a frame")


def _counted(
    chunks: Iterator[bytes], budget: ScanBudget, subject: str, digest: hashlib._Hash | None
) -> Iterator[bytes]:
    for chunk in chunks:
        budget.count_bytes(len(chunk), subject)
        if digest is not None:
            digest.update(chunk)
        yield chunk


def _prefetched(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """Run `chunks` (download, hash, decompress) in a thread ahead of the tar reader.

    zlib, zstd and hashlib release the GIL, so on two cores decompression overlaps the
    pure-Python tar parsing. Errors raised in the thread are raised again here.
    """
    pipe: queue.Queue = queue.Queue(maxsize=PREFETCH_CHUNKS)
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                pipe.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for chunk in chunks:
                if not put(chunk):
                    return
            put(_END)
        except BaseException as error:  # noqa: BLE001 - handed to the consuming thread
            put(error)

    thread = threading.Thread(target=produce, name="layer-decompress", daemon=True)
    thread.start()
    try:
        while True:
            item = pipe.get()
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join()


def read_layer(
    raw: BinaryIO,
    *,
    index: int,
    tree: FileTree,
    analysers: Sequence[FileAnalyser],
    budget: ScanBudget,
    digest: str | None,
    diff_id: str | None = None,
) -> LayerStats:
    """Apply one layer blob to `tree`, verifying its digests once the stream is drained.

    `digest` names the blob as stored (compressed); `diff_id` names the uncompressed tar,
    which is all a `docker save` archive records. At least one must be given. Raises
    `CorruptLayer` for truncated or invalid compression or tar, `DigestMismatch`,
    `UnsafePath` and `LimitExceeded`.
    """
    if digest is None and diff_id is None:
        raise ValueError("read_layer needs the blob digest or the diff id to verify the layer")
    subject = f"layer {index} ({digest or diff_id})"
    algorithm, _, expected = (digest or "sha256:").partition(":")
    blob = _BlobStream(raw, algorithm)
    uncompressed_hash = hashlib.sha256() if diff_id is not None else None
    decompressed_before = budget.decompressed_bytes

    try:
        reader = TarReader(
            _prefetched(_counted(_decompressed(blob.chunks()), budget, subject, uncompressed_hash))
        )
        entries = 0
        for entry in reader:
            entries += 1
            budget.count_entry(entry.name)
            _apply_entry(reader, entry, index, tree, analysers, budget.limits)
        if not reader.ended_with_marker:
            raise CorruptLayer("tar stream is truncated: it ends without the end-of-archive marker")
        # Drain to the end: a truncated compressed stream only shows itself there, and the
        # digest covers every byte of the blob.
        reader.drain()
    except InventoryError as error:
        if isinstance(error, CorruptLayer):
            raise CorruptLayer(f"{subject} is corrupt or truncated: {error}") from error
        raise
    except (OSError, zlib.error, zstandard.ZstdError) as error:
        raise CorruptLayer(f"{subject} is corrupt or truncated: {error}") from error

    if digest is not None and blob.hash.hexdigest() != expected:
        raise DigestMismatch(f"{subject} hashes to {algorithm}:{blob.hash.hexdigest()}, not {digest}")
    actual_diff_id = f"sha256:{uncompressed_hash.hexdigest()}" if uncompressed_hash else ""
    if diff_id is not None and actual_diff_id != diff_id:
        raise DigestMismatch(f"{subject} uncompressed hashes to {actual_diff_id}, not {diff_id}")

    return LayerStats(
        compressed_bytes=blob.size,
        decompressed_bytes=budget.decompressed_bytes - decompressed_before,
        entries=entries,
        diff_id=actual_diff_id,
    )


def _apply_entry(
    reader: TarReader,
    entry: TarEntry,
    index: int,
    tree: FileTree,
    analysers: Sequence[FileAnalyser],
    limits: Limits,
) -> None:
    parts = split_path(entry.name)
    if not parts:
        return  # the root directory itself
    directory = "/" + "/".join(parts[:-1])
    name = parts[-1]
    path = join_path(directory, name)

    if name == OPAQUE_MARKER:
        tree.make_opaque(directory, index)
        return
    if name.startswith(WHITEOUT_PREFIX) and len(name) > len(WHITEOUT_PREFIX):
        hidden = name[len(WHITEOUT_PREFIX) :]
        if not hidden.startswith(WHITEOUT_PREFIX):
            # `.wh..wh.*` names other than the opaque marker are reserved; ignore them.
            tree.whiteout(directory, hidden, index)
        return

    if entry.is_dir():
        tree.add(path, Node(DIRECTORY, index, entry.mode))
    elif entry.is_symlink():
        tree.add(path, Node(SYMLINK, index, entry.mode, target=entry.linkname))
    elif entry.is_hardlink():
        if entry.linkname.startswith("/"):
            raise UnsafePath(f"hard link {entry.name!r} has the absolute target {entry.linkname!r}")
        target = "/" + "/".join(split_path(entry.linkname))
        tree.link(path, target, index)
    elif entry.is_regular():
        node = Node(FILE, index, entry.mode, entry.size)
        node.facts = _extract_facts(reader, entry, path, analysers, limits)
        tree.add(path, node)
    else:
        tree.add(path, Node(OTHER, index, entry.mode))


def _extract_facts(
    reader: TarReader,
    entry: TarEntry,
    path: str,
    analysers: Sequence[FileAnalyser],
    limits: Limits,
) -> dict[str, object] | None:
    interested = [a for a in analysers if a.wants(path, entry.mode, entry.size)]
    if not interested:
        return None

    limits.check("max_file_bytes", entry.size, path)
    data = reader.read_data()

    facts = {}
    for analyser in interested:
        try:
            extracted = analyser.extract(path, data, limits)
        except InventoryError:
            raise
        except Exception as error:  # noqa: BLE001 - one unparsable file must not fail a scan
            log.warning("analyser_failed", analyser=analyser.name, path=path, error=str(error))
            continue
        if extracted is not None:
            facts[analyser.name] = extracted
    return facts or None
