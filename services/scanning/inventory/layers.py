"""Stream one layer blob (gzip, zstd or plain tar) into the virtual file tree.

The compressed bytes are hashed as they are read and checked against the digest that
names the blob once the stream is drained, so a tampered blob fails the scan. Each tar
entry is applied to the tree at once. File content is read only for the paths an
analyser asks for, and bounded by the safety limits.
"""

from __future__ import annotations

import gzip
import hashlib
import tarfile
import zlib
from collections.abc import Sequence
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

log = structlog.get_logger(__name__)

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
READ_CHUNK = 1024 * 1024
TAR_END_MARKER = 2 * tarfile.BLOCKSIZE


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
    """What reading one layer cost: sizes in bytes and the number of tar entries."""

    compressed_bytes: int
    decompressed_bytes: int
    entries: int
    diff_id: str | None  # sha256 of the uncompressed tar, when requested


class _DigestingReader:
    """Read a raw blob while hashing it and counting its bytes."""

    def __init__(self, raw: BinaryIO, algorithm: str):
        self._raw = raw
        self.hash = hashlib.new(algorithm)
        self.size = 0

    def read(self, size: int = -1) -> bytes:
        data = self._raw.read(size)
        self.hash.update(data)
        self.size += len(data)
        return data

    def readable(self) -> bool:
        return True


class _CountingReader:
    """Read the decompressed tar stream, enforcing the decompressed-size limit."""

    def __init__(self, stream: BinaryIO, budget: ScanBudget, subject: str, diff_id: bool):
        self._stream = stream
        self._budget = budget
        self._subject = subject
        self.size = 0
        self.hash = hashlib.sha256() if diff_id else None

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size)
        self.size += len(data)
        self._budget.count_bytes(len(data), self._subject)
        if self.hash is not None:
            self.hash.update(data)
        return data

    def drain(self) -> None:
        while self.read(READ_CHUNK):
            pass


class _PeekableReader:
    """A reader that lets the caller look at the first bytes to sniff the compression."""

    def __init__(self, raw: _DigestingReader):
        self._raw = raw
        self._head = b""

    def peek(self, size: int) -> bytes:
        while len(self._head) < size:
            data = self._raw.read(size - len(self._head))
            if not data:
                break
            self._head += data
        return self._head

    def read(self, size: int = -1) -> bytes:
        if self._head:
            if size < 0 or size >= len(self._head):
                head, self._head = self._head, b""
                rest = self._raw.read(-1 if size < 0 else size - len(head))
                return head + rest
            head, self._head = self._head[:size], self._head[size:]
            return head
        return self._raw.read(size)

    def readable(self) -> bool:
        return True


def decompressing_stream(raw: _PeekableReader) -> BinaryIO:
    """Wrap a blob in a decompressor chosen by its first bytes, not by its media type.

    Registries and `docker save` disagree on media types, but the magic numbers do not lie.
    """
    head = raw.peek(4)
    if head.startswith(GZIP_MAGIC):
        return gzip.GzipFile(fileobj=raw, mode="rb")
    if head.startswith(ZSTD_MAGIC):
        return zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True)
    return raw


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
    digesting = _DigestingReader(raw, algorithm)

    try:
        stream = _CountingReader(
            decompressing_stream(_PeekableReader(digesting)), budget, subject, diff_id is not None
        )
        entries = _apply_tar(stream, index, tree, analysers, budget)
        # Drain to the end: a truncated compressed stream only shows itself there, and the
        # digest covers every byte of the blob.
        stream.drain()
        while digesting.read(READ_CHUNK):
            pass
    except InventoryError:
        raise
    except (EOFError, OSError, zlib.error, zstandard.ZstdError, tarfile.TarError) as error:
        raise CorruptLayer(f"{subject} is corrupt or truncated: {error}") from error

    if digest is not None and digesting.hash.hexdigest() != expected:
        raise DigestMismatch(
            f"{subject} hashes to {algorithm}:{digesting.hash.hexdigest()}, not {digest}"
        )
    actual_diff_id = f"sha256:{stream.hash.hexdigest()}" if stream.hash is not None else None
    if diff_id is not None and actual_diff_id != diff_id:
        raise DigestMismatch(f"{subject} uncompressed hashes to {actual_diff_id}, not {diff_id}")

    return LayerStats(
        compressed_bytes=digesting.size,
        decompressed_bytes=stream.size,
        entries=entries,
        diff_id=actual_diff_id,
    )


def _apply_tar(
    stream: _CountingReader,
    index: int,
    tree: FileTree,
    analysers: Sequence[FileAnalyser],
    budget: ScanBudget,
) -> int:
    archive = tarfile.open(fileobj=stream, mode="r|")
    entries = 0
    for member in archive:
        entries += 1
        budget.count_entry(member.name)
        _apply_entry(archive, member, index, tree, analysers, budget.limits)

    # tarfile ends quietly when the data stops at an entry boundary, so a truncated tar is
    # only visible as a missing end-of-archive marker: two zero blocks after the last entry.
    end = archive.offset
    stream.drain()
    if stream.size < end + TAR_END_MARKER:
        raise CorruptLayer(
            f"layer {index} tar stream is truncated: it ends at byte {stream.size} "
            f"without the end-of-archive marker"
        )
    return entries


def _apply_entry(
    archive: tarfile.TarFile,
    member: tarfile.TarInfo,
    index: int,
    tree: FileTree,
    analysers: Sequence[FileAnalyser],
    limits: Limits,
) -> None:
    parts = split_path(member.name)
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

    if member.isdir():
        tree.add(path, Node(DIRECTORY, index, member.mode))
    elif member.issym():
        tree.add(path, Node(SYMLINK, index, member.mode, target=member.linkname))
    elif member.islnk():
        if member.linkname.startswith("/"):
            raise UnsafePath(f"hard link {member.name!r} has the absolute target {member.linkname!r}")
        target = "/" + "/".join(split_path(member.linkname))
        tree.link(path, target, index)
    elif member.isreg():
        node = Node(FILE, index, member.mode, member.size)
        node.facts = _extract_facts(archive, member, path, analysers, limits)
        tree.add(path, node)
    else:
        tree.add(path, Node(OTHER, index, member.mode))


def _extract_facts(
    archive: tarfile.TarFile,
    member: tarfile.TarInfo,
    path: str,
    analysers: Sequence[FileAnalyser],
    limits: Limits,
) -> dict[str, object] | None:
    interested = [a for a in analysers if a.wants(path, member.mode, member.size)]
    if not interested:
        return None

    limits.check("max_file_bytes", member.size, path)
    handle = archive.extractfile(member)
    data = handle.read() if handle is not None else b""
    if len(data) != member.size:
        raise CorruptLayer(f"file {path!r} is truncated: {len(data)} of {member.size} bytes")

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
