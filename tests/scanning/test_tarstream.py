"""The streaming tar reader and the decompressors on hand-made streams."""

from __future__ import annotations

import gzip
import io
import tarfile

import pytest
import zstandard

from services.scanning.inventory.errors import CorruptLayer, LimitExceeded
from services.scanning.inventory.layers import _decompressed
from services.scanning.inventory.limits import Limits
from services.scanning.inventory.tarstream import TarReader
from tests.scanning.layerkit import apply, digest_of, file, tar


def entries_of(data: bytes, chunk: int = 700) -> list[tuple[str, str, int]]:
    chunks = iter([data[i : i + chunk] for i in range(0, len(data), chunk)])
    return [(e.name, e.linkname, e.size) for e in TarReader(chunks)]


def gnu_tar(name: str, link: str = "") -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT) as archive:
        info = tarfile.TarInfo(name)
        if link:
            info.type = tarfile.SYMTYPE
            info.linkname = link
        archive.addfile(info)
    return buffer.getvalue()


def test_gnu_long_name_and_link():
    name = "usr/share/" + "very-long-directory-name/" * 8 + "file"
    link = "../" * 50 + "target"

    assert entries_of(gnu_tar(name, link)) == [(name, link, 0)]


def test_pax_path_and_linkpath():
    name = "opt/" + "ü" * 120
    data = tar(file(name, "abc"))

    assert entries_of(data) == [(name, "", 3)]


def test_ustar_prefix_joined():
    name = "a" * 90 + "/" + "b" * 90
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as archive:
        archive.addfile(tarfile.TarInfo(name))

    assert entries_of(buffer.getvalue()) == [(name, "", 0)]


def test_data_read_across_chunks():
    data = tar(file("var/lib/dpkg/status", "Package: a\nVersion: 1\nStatus: install ok installed\n"),
               file("b", b"x" * 3000))
    reader = TarReader(iter([data[i : i + 100] for i in range(0, len(data), 100)]))

    first = next(iter(reader))

    assert reader.read_data().startswith(b"Package: a")
    assert first.size == 51
    assert [entry.name for entry in reader] == ["b"]
    assert reader.ended_with_marker


def test_bad_header_checksum_rejected():
    data = bytearray(tar(file("a", "1")))
    data[0] = ord("b")

    with pytest.raises(CorruptLayer, match="checksum"):
        entries_of(bytes(data))


def test_header_cut_short_rejected():
    with pytest.raises(CorruptLayer, match="inside an entry header"):
        entries_of(tar(file("a", "1"))[:300])


def test_multi_member_gzip_read_whole():
    data = gzip.compress(b"first ") + gzip.compress(b"second")

    assert b"".join(_decompressed(iter([data]))) == b"first second"


def test_multi_frame_zstd_read_whole():
    compressor = zstandard.ZstdCompressor()
    data = compressor.compress(b"first ") + compressor.compress(b"second" * 1000)

    assert b"".join(_decompressed(iter([data[:10], data[10:]]))) == b"first " + b"second" * 1000


def test_zstd_bomb_stopped_by_limit():
    bomb = zstandard.ZstdCompressor(level=19).compress(tar(file("zeros", bytes(64 * 1024 * 1024))))

    with pytest.raises(LimitExceeded, match="max_decompressed_bytes"):
        apply(bomb, limits=Limits(max_decompressed_bytes=8 * 1024 * 1024))

    assert len(bomb) < 100_000


def test_plain_tar_digest_is_blob_digest():
    layer = tar(file("a", "1"))

    tree = apply(layer, digests=[digest_of(layer)])

    assert tree.get("/a") is not None
