"""A streaming tar reader over chunks of bytes, for layers that are read once, front to back.

`tarfile` in stream mode skips file data in 10 KiB reads through several Python layers
and ends quietly when the data stops at an entry boundary. Layers are large and hostile,
so this reader skips data by offset arithmetic over large chunks, checks each header's
checksum and reports a stream that stops without the end-of-archive marker.

Formats read: POSIX ustar with its name prefix, PAX extended and global headers (the
``path``, ``linkpath`` and ``size`` records), and GNU long names and link names. Those
cover what Docker, BuildKit, Buildah, Kaniko and GNU tar write.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from services.scanning.inventory.errors import CorruptLayer

BLOCK = 512
ZERO_BLOCK = bytes(BLOCK)
# Type flags (POSIX.1-2001 and GNU tar).
REGULAR = (b"0", b"\0", b"7")
HARDLINK = b"1"
SYMLINK = b"2"
DIRECTORY = b"5"
PAX_HEADER = b"x"
PAX_GLOBAL = b"g"
GNU_LONGNAME = b"L"
GNU_LONGLINK = b"K"
# Entries whose size field does not announce data (links, directories, devices, FIFOs).
NO_DATA = (HARDLINK, SYMLINK, DIRECTORY, b"3", b"4", b"6")
# A PAX header or GNU long name larger than this is not a name.
MAX_META_BYTES = 1024 * 1024


@dataclass(slots=True)
class TarEntry:
    name: str
    type: bytes
    mode: int
    size: int
    linkname: str

    def is_regular(self) -> bool:
        return self.type in REGULAR

    def is_dir(self) -> bool:
        return self.type == DIRECTORY

    def is_symlink(self) -> bool:
        return self.type == SYMLINK

    def is_hardlink(self) -> bool:
        return self.type == HARDLINK


class TarReader:
    """Iterate the entries of an uncompressed tar stream given as an iterator of chunks.

    The data of the entry last yielded can be read once with `read_data` before the
    iteration moves on; otherwise it is skipped.
    """

    def __init__(self, chunks: Iterator[bytes]):
        self._chunks = chunks
        self._buffer = b""
        self._position = 0
        self._unread = 0  # data and padding of the current entry still in the stream
        self._data_size = 0
        self.ended_with_marker = False

    def __iter__(self) -> Iterator[TarEntry]:
        global_pax: dict[str, str] = {}
        pending_pax: dict[str, str] = {}
        long_name: str | None = None
        long_link: str | None = None

        while True:
            self._skip_unread()
            header = self._take(BLOCK)
            if len(header) < BLOCK:
                if header:
                    raise CorruptLayer("tar stream is truncated inside an entry header")
                return  # no end-of-archive marker: the caller decides if that is an error
            if header == ZERO_BLOCK:
                self.ended_with_marker = True
                return

            entry = _parse_header(header)
            padded = (entry.size + BLOCK - 1) // BLOCK * BLOCK

            if entry.type in (PAX_HEADER, PAX_GLOBAL, GNU_LONGNAME, GNU_LONGLINK):
                if entry.size > MAX_META_BYTES:
                    raise CorruptLayer(f"tar extended header of {entry.size} bytes is too large")
                data = self._take_exact(padded)[: entry.size]
                if entry.type == PAX_HEADER:
                    pending_pax.update(_parse_pax(data))
                elif entry.type == PAX_GLOBAL:
                    global_pax.update(_parse_pax(data))
                elif entry.type == GNU_LONGNAME:
                    long_name = _decode(data.split(b"\0", 1)[0])
                else:
                    long_link = _decode(data.split(b"\0", 1)[0])
                continue

            extended = {**global_pax, **pending_pax}
            if long_name is not None:
                entry.name = long_name
            if long_link is not None:
                entry.linkname = long_link
            if "path" in extended:
                entry.name = extended["path"]
            if "linkpath" in extended:
                entry.linkname = extended["linkpath"]
            if "size" in extended:
                try:
                    entry.size = int(extended["size"])
                except ValueError:
                    raise CorruptLayer(f"invalid PAX size {extended['size']!r}") from None
                padded = (entry.size + BLOCK - 1) // BLOCK * BLOCK
            pending_pax = {}
            long_name = long_link = None

            # Regular files and unknown types carry data, as tarfile and GNU tar read them.
            if entry.type not in NO_DATA:
                self._unread = padded
                self._data_size = entry.size
            else:
                self._unread = 0
                self._data_size = 0
            yield entry

    def read_data(self) -> bytes:
        """Return the data of the entry last yielded; only once, before moving on."""
        size = self._data_size
        padded = self._unread
        data = self._take_exact(size)
        self._skip_exact(padded - size)
        self._unread = 0
        self._data_size = 0
        return data

    def drain(self) -> int:
        """Consume what follows the end-of-archive marker and return its length."""
        length = len(self._buffer) - self._position
        self._buffer, self._position = b"", 0
        for chunk in self._chunks:
            length += len(chunk)
        return length

    # -- buffer handling ----------------------------------------------------------------

    def _skip_unread(self) -> None:
        if self._unread:
            self._skip_exact(self._unread)
            self._unread = 0
            self._data_size = 0

    def _take_exact(self, size: int) -> bytes:
        data = self._take(size)
        if len(data) < size:
            raise CorruptLayer(f"tar stream is truncated: {size - len(data)} bytes of an entry are missing")
        return data

    def _take(self, size: int) -> bytes:
        available = len(self._buffer) - self._position
        if available >= size:
            start = self._position
            self._position += size
            return self._buffer[start : start + size]

        parts = [self._buffer[self._position :]]
        collected = available
        self._buffer, self._position = b"", 0
        while collected < size:
            chunk = next(self._chunks, None)
            if chunk is None:
                break
            needed = size - collected
            if len(chunk) > needed:
                parts.append(chunk[:needed])
                self._buffer, self._position = chunk, needed
                collected = size
            else:
                parts.append(chunk)
                collected += len(chunk)
        return b"".join(parts)

    def _skip_exact(self, size: int) -> None:
        available = len(self._buffer) - self._position
        if available >= size:
            self._position += size
            return

        remaining = size - available
        self._buffer, self._position = b"", 0
        while remaining:
            chunk = next(self._chunks, None)
            if chunk is None:
                raise CorruptLayer(f"tar stream is truncated: {remaining} bytes of an entry are missing")
            if len(chunk) > remaining:
                self._buffer, self._position = chunk, remaining
                return
            remaining -= len(chunk)


def _parse_header(header: bytes) -> TarEntry:
    stored = _number(header[148:156])
    # The checksum field itself counts as eight spaces (0x20 each).
    unsigned = sum(header) - sum(header[148:156]) + 256
    if stored != unsigned:
        # Some old writers summed signed bytes; accept that variant too.
        signed = unsigned - 2 * sum(1 for byte in header[:148] + header[156:] if byte > 127)
        if stored != signed:
            raise CorruptLayer(f"invalid tar header: checksum {stored} does not match {unsigned}")

    name = header[0:100].split(b"\0", 1)[0]
    if header[257:263] == b"ustar\x00":
        prefix = header[345:500].split(b"\0", 1)[0]
        if prefix:
            name = prefix + b"/" + name

    return TarEntry(
        name=_decode(name),
        type=header[156:157],
        mode=_number(header[100:108]),
        size=_number(header[124:136]),
        linkname=_decode(header[157:257].split(b"\0", 1)[0]) if header[157] else "",
    )


def _number(field: bytes) -> int:
    if field and field[0] & 0x80:
        # GNU base-256 encoding for values that do not fit in octal; negative is invalid.
        if field[0] == 0xFF:
            raise CorruptLayer("invalid tar header: negative number")
        return int.from_bytes(bytes([field[0] & 0x7F]) + field[1:], "big")
    text = field.split(b"\0", 1)[0].strip(b" ")
    if not text:
        return 0
    try:
        return int(text, 8)
    except ValueError:
        raise CorruptLayer(f"invalid tar header: number {text!r} is not octal") from None


def _parse_pax(data: bytes) -> dict[str, str]:
    """Parse PAX records, each ``<length> <key>=<value>\\n`` with length counting itself."""
    records = {}
    position = 0
    while position < len(data):
        space = data.find(b" ", position)
        if space == -1:
            break
        try:
            length = int(data[position:space])
        except ValueError:
            raise CorruptLayer("invalid PAX record length") from None
        if length <= 0 or position + length > len(data):
            raise CorruptLayer("invalid PAX record length")
        record = data[space + 1 : position + length - 1]
        key, _, value = record.partition(b"=")
        records[_decode(key)] = _decode(value)
        position += length
    return records


def _decode(raw: bytes) -> str:
    return raw.decode("utf-8", errors="surrogateescape")
