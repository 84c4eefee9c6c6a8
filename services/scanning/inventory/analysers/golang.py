"""Go binaries: the build information the Go linker embeds in every executable.

The format is the one Go's debug/buildinfo package reads (Go 1.13 to 1.23). A 32-byte
header starts with the magic ``\\xff Go buildinf:`` at a 16-byte aligned offset of the
``.go.buildinfo`` section, then the pointer size and a flags byte. From Go 1.18 on (flag
bit 2) the toolchain version and the module information follow as length-prefixed
strings. Earlier binaries hold two pointers to Go string headers instead, which are read
through the ELF program headers.

The module information is the text `go version -m` prints: ``path``, ``mod``, ``dep`` and
``=>`` (replacement) lines, tab-separated, between two 16-byte sentinels.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from packageurl import PackageURL

from services.scanning.components import Distro, Ecosystem
from services.scanning.inventory.analysers.base import Package
from services.scanning.inventory.limits import Limits

MAGIC = b"\xff Go buildinf:"
HEADER_SIZE = 32
ALIGNMENT = 16
FLAG_BIG_ENDIAN = 0x1
FLAG_INLINE_STRINGS = 0x2
ELF_MAGIC = b"\x7fELF"
PE_MAGIC = b"MZ"
MACHO_MAGICS = (b"\xfe\xed\xfa\xce", b"\xfe\xed\xfa\xcf", b"\xce\xfa\xed\xfe", b"\xcf\xfa\xed\xfe")
MIN_EXECUTABLE_BYTES = 1024
EXECUTABLE_BITS = 0o111
# A module string longer than this is not build information.
MAX_STRING_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Module:
    path: str
    version: str
    checksum: str = ""


@dataclass(frozen=True, slots=True)
class BuildInfo:
    """The parsed build information of one Go binary."""

    go_version: str  # "go1.21.5", with suffixes such as " X:boringcrypto" removed
    package_path: str  # the main package, e.g. "github.com/org/tool/cmd/tool"
    main: Module | None  # None for binaries built outside module mode
    dependencies: tuple[Module, ...]


class GoBinaryAnalyser:
    name = "go"

    def wants(self, path: str, mode: int, size: int) -> bool:
        # NOTE: only files with an execute bit are read, so a Go binary shipped without one
        # (in an archive or a data folder) is not found.
        return bool(mode & EXECUTABLE_BITS) and size >= MIN_EXECUTABLE_BYTES

    def extract(self, path: str, data: bytes, limits: Limits) -> BuildInfo | None:
        if not (data.startswith((ELF_MAGIC, PE_MAGIC)) or data[:4] in MACHO_MAGICS):
            return None
        return read_build_info(data)

    def packages(self, path: str, facts: BuildInfo, distro: Distro | None) -> list[Package]:
        packages = []
        stdlib_version = facts.go_version.removeprefix("go")
        if stdlib_version and stdlib_version[0].isdigit():
            # OSV files Go toolchain advisories under the module name "stdlib".
            packages.append(_package("stdlib", stdlib_version))
        if facts.main is not None and facts.main.version:
            packages.append(_package(facts.main.path, facts.main.version))
        for module in facts.dependencies:
            packages.append(_package(module.path, module.version))
        return packages


def _package(module_path: str, version: str) -> Package:
    namespace, _, name = module_path.rpartition("/")
    purl = PackageURL(type="golang", namespace=namespace or None, name=name, version=version)
    return Package(
        ecosystem=Ecosystem.GO,
        name=module_path,
        version=version,
        match_name=module_path,
        purl=purl.to_string(),
    )


# ---------------------------------------------------------------------------------------
# Locating and decoding the build information


def read_build_info(data: bytes) -> BuildInfo | None:
    """Return the build information of a Go binary, or None if it has none."""
    if MAGIC not in data:
        return None  # most executables are not Go: skip parsing their headers
    elf = _Elf.parse(data) if data.startswith(ELF_MAGIC) else None
    section = elf.section(".go.buildinfo") if elf else None
    start, end = section if section else (0, len(data))

    offset = _find_aligned(data, start, end)
    if offset is None or offset + HEADER_SIZE > len(data):
        return None

    pointer_size = data[offset + 14]
    flags = data[offset + 15]
    if flags & FLAG_INLINE_STRINGS:
        version, position = _read_varint_string(data, offset + HEADER_SIZE)
        modinfo, _ = _read_varint_string(data, position)
    elif elf is not None and pointer_size in (4, 8):
        byteorder = ">" if flags & FLAG_BIG_ENDIAN else "<"
        word = "I" if pointer_size == 4 else "Q"
        version_pointer, modinfo_pointer = struct.unpack_from(
            f"{byteorder}2{word}", data, offset + 16
        )
        version = elf.read_go_string(version_pointer, pointer_size, byteorder)
        modinfo = elf.read_go_string(modinfo_pointer, pointer_size, byteorder)
    else:
        # NOTE: pre-1.18 PE and Mach-O binaries keep pointers that need those formats'
        # section tables; they are not decoded.
        return None

    if version is None or not version.startswith("go") and not version.startswith("devel"):
        return None
    return _parse_modinfo(_strip_suffixes(version), _strip_sentinels(modinfo or ""))


def _find_aligned(data: bytes, start: int, end: int) -> int | None:
    position = data.find(MAGIC, start, end)
    while position != -1:
        if (position - start) % ALIGNMENT == 0:
            return position
        position = data.find(MAGIC, position + 1, end)
    return None


def _read_varint_string(data: bytes, position: int) -> tuple[str | None, int]:
    length = 0
    shift = 0
    while True:
        if position >= len(data) or shift > 63:
            return None, position
        byte = data[position]
        position += 1
        length |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            break
    if length > MAX_STRING_BYTES or position + length > len(data):
        return None, position
    return data[position : position + length].decode("utf-8", errors="replace"), position + length


def _strip_suffixes(version: str) -> str:
    # "go1.21.5 X:boringcrypto" names experiments after the version; matching needs the
    # version alone.
    return version.split(" ")[0] if not version.startswith("devel") else version


def _strip_sentinels(modinfo: str) -> str:
    # The linker wraps the text in 16 bytes on each side; debug/buildinfo checks for the
    # newline just before the closing sentinel.
    if len(modinfo) >= 33 and modinfo[-17] == "\n":
        return modinfo[16:-16]
    return ""


def _parse_modinfo(go_version: str, text: str) -> BuildInfo:
    package_path = ""
    main: Module | None = None
    dependencies: list[Module] = []

    for line in text.splitlines():
        fields = line.split("\t")
        kind = fields[0]
        if kind == "path" and len(fields) >= 2:
            package_path = fields[1]
        elif kind == "mod" and len(fields) >= 3:
            main = Module(fields[1], fields[2], fields[3] if len(fields) > 3 else "")
        elif kind == "dep" and len(fields) >= 3:
            dependencies.append(Module(fields[1], fields[2], fields[3] if len(fields) > 3 else ""))
        elif kind == "=>" and len(fields) >= 3 and dependencies:
            # A replacement applies to the dependency on the line before; the replacement
            # is the code that was compiled in.
            dependencies[-1] = Module(fields[1], fields[2], fields[3] if len(fields) > 3 else "")

    return BuildInfo(go_version, package_path, main, tuple(dependencies))


class _Elf:
    """Just enough of ELF to find a section and read memory through the load segments."""

    def __init__(self, data: bytes, sections: dict[str, tuple[int, int]], segments):
        self.data = data
        self.sections = sections
        self.segments = segments  # (virtual address, file offset, file size)

    @classmethod
    def parse(cls, data: bytes) -> _Elf | None:
        if len(data) < 64:
            return None
        is_64 = data[4] == 2
        byteorder = ">" if data[5] == 2 else "<"
        try:
            if is_64:
                phoff, shoff = struct.unpack_from(f"{byteorder}QQ", data, 0x20)
                phentsize, phnum, shentsize, shnum, shstrndx = struct.unpack_from(
                    f"{byteorder}5H", data, 0x36
                )
            else:
                phoff, shoff = struct.unpack_from(f"{byteorder}II", data, 0x1C)
                phentsize, phnum, shentsize, shnum, shstrndx = struct.unpack_from(
                    f"{byteorder}5H", data, 0x2A
                )
            segments = [
                _program_header(data, phoff + i * phentsize, is_64, byteorder)
                for i in range(phnum)
            ]
            headers = [
                _section_header(data, shoff + i * shentsize, is_64, byteorder)
                for i in range(shnum)
            ]
        except struct.error:
            return None

        sections = {}
        if headers and shstrndx < len(headers):
            names_offset = headers[shstrndx][1]
            for name_index, offset, size in headers:
                end = data.find(b"\0", names_offset + name_index)
                name = data[names_offset + name_index : end].decode("ascii", errors="replace")
                sections[name] = (offset, min(offset + size, len(data)))
        loads = [(vaddr, offset, size) for kind, vaddr, offset, size in segments if kind == 1]
        return cls(data, sections, loads)

    def section(self, name: str) -> tuple[int, int] | None:
        return self.sections.get(name)

    def read(self, address: int, size: int) -> bytes | None:
        for vaddr, offset, filesize in self.segments:
            if vaddr <= address and address + size <= vaddr + filesize:
                start = offset + address - vaddr
                return self.data[start : start + size]
        return None

    def read_go_string(self, address: int, pointer_size: int, byteorder: str) -> str | None:
        header = self.read(address, 2 * pointer_size)
        if header is None:
            return None
        word = "I" if pointer_size == 4 else "Q"
        pointer, length = struct.unpack(f"{byteorder}2{word}", header)
        if length > MAX_STRING_BYTES:
            return None
        text = self.read(pointer, length)
        return text.decode("utf-8", errors="replace") if text is not None else None


def _program_header(data: bytes, offset: int, is_64: bool, byteorder: str):
    if is_64:
        kind, _flags, file_offset, vaddr, _paddr, filesize = struct.unpack_from(
            f"{byteorder}IIQQQQ", data, offset
        )
    else:
        kind, file_offset, vaddr, _paddr, filesize = struct.unpack_from(
            f"{byteorder}5I", data, offset
        )
    return kind, vaddr, file_offset, filesize


def _section_header(data: bytes, offset: int, is_64: bool, byteorder: str):
    if is_64:
        name, _kind, _flags, _addr, file_offset, size = struct.unpack_from(
            f"{byteorder}IIQQQQ", data, offset
        )
    else:
        name, _kind, _flags, _addr, file_offset, size = struct.unpack_from(
            f"{byteorder}6I", data, offset
        )
    return name, file_offset, size
