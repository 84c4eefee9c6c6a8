"""Analysers on hand-made files, one test per edge case."""

from __future__ import annotations

import io
import json
import struct
import zipfile

import pytest

from services.scanning.components import Distro, Ecosystem
from services.scanning.inventory.analysers.apk import ApkAnalyser
from services.scanning.inventory.analysers.dpkg import DpkgAnalyser
from services.scanning.inventory.analysers.golang import GoBinaryAnalyser, read_build_info
from services.scanning.inventory.analysers.java import JavaArchiveAnalyser
from services.scanning.inventory.analysers.node import NodeAnalyser
from services.scanning.inventory.analysers.osrelease import detect_distro
from services.scanning.inventory.analysers.python import PythonAnalyser
from services.scanning.inventory.errors import LimitExceeded
from services.scanning.inventory.limits import Limits
from services.scanning.inventory.scanner import Scanner
from tests.scanning.layerkit import apply, directory, file, tar

BOOKWORM = Distro("debian", "12", "Debian GNU/Linux 12 (bookworm)")
LIMITS = Limits()


def packages(analyser, path: str, data: bytes, distro: Distro | None = BOOKWORM):
    facts = analyser.extract(path, data, LIMITS)
    return analyser.packages(path, facts, distro) if facts is not None else []


# -- dpkg ------------------------------------------------------------------------------

DPKG_STATUS = b"""Package: libssl3
Status: install ok installed
Architecture: amd64
Source: openssl (3.0.15-1~deb12u1)
Version: 3.0.15-1~deb12u1
Description: Secure Sockets Layer toolkit

Package: removed-pkg
Status: deinstall ok config-files
Architecture: amd64
Version: 1.0-1

Package: bsdutils
Status: install ok installed
Architecture: amd64
Source: util-linux (2.38.1-5)
Version: 1:2.38.1-5+deb12u3

Package: tzdata
Status: install ok installed
Architecture: all
Version: 2024a-0+deb12u1
Description: time zone
 and daylight-saving time data
"""


def test_dpkg_installed_only():
    names = [package.name for package in packages(DpkgAnalyser(), "/var/lib/dpkg/status", DPKG_STATUS)]

    assert names == ["libssl3", "bsdutils", "tzdata"]


def test_dpkg_source_package_and_version():
    found = {p.name: p for p in packages(DpkgAnalyser(), "/var/lib/dpkg/status", DPKG_STATUS)}

    assert found["libssl3"].source_name == "openssl"
    assert found["libssl3"].source_version == "3.0.15-1~deb12u1"
    assert found["bsdutils"].source_version == "2.38.1-5"
    assert found["tzdata"].source_name == "tzdata"
    assert found["tzdata"].source_version == "2024a-0+deb12u1"


def test_dpkg_epoch_as_purl_qualifier():
    found = {p.name: p for p in packages(DpkgAnalyser(), "/var/lib/dpkg/status", DPKG_STATUS)}

    assert found["bsdutils"].version == "1:2.38.1-5+deb12u3"
    assert found["bsdutils"].purl == (
        "pkg:deb/debian/bsdutils@2.38.1-5%2Bdeb12u3?arch=amd64&distro=debian-12&epoch=1"
        "&upstream=util-linux%402.38.1-5"
    )


def test_dpkg_ubuntu_ecosystem():
    [package, *_] = packages(DpkgAnalyser(), "/var/lib/dpkg/status", DPKG_STATUS,
                             Distro("ubuntu", "24.04"))

    assert package.ecosystem == Ecosystem.UBUNTU
    assert package.purl.startswith("pkg:deb/ubuntu/libssl3@")


def test_dpkg_status_d_distroless():
    analyser = DpkgAnalyser()
    stanza = b"Package: base-files\nArchitecture: amd64\nVersion: 12.4+deb12u5\n"
    tree = apply(tar(
        directory("var/lib/dpkg/status.d"),
        file("var/lib/dpkg/status.d/base-files", stanza),
        file("var/lib/dpkg/status.d/base-files.md5sums", b"d41d8cd98f00b204e9800998ecf8427e  etc/x\n"),
    ))

    assert analyser.wants("/var/lib/dpkg/status.d/base-files", 0o644, 10)
    assert not analyser.wants("/var/lib/dpkg/status.d/base-files.md5sums", 0o644, 10)
    assert tree.get("/var/lib/dpkg/status.d/base-files.md5sums").facts is None
    assert [e.name for e in tree.read_facts("/var/lib/dpkg/status.d/base-files", "dpkg")] == ["base-files"]


def test_dpkg_top_layer_database_wins():
    first = DPKG_STATUS
    second = DPKG_STATUS.split(b"\n\nPackage: tzdata")[0] + b"\n"
    tree = apply(tar(file("var/lib/dpkg/status", first)), tar(file("var/lib/dpkg/status", second)))

    components = Scanner()._components(tree, BOOKWORM, [_ref(0), _ref(1)])

    assert sorted(c.name for c in components) == ["bsdutils", "libssl3"]
    assert {c.layer.index for c in components} == {0}


def test_dpkg_upgrade_attributed_to_upgrading_layer():
    upgraded = DPKG_STATUS.replace(b"2024a-0+deb12u1", b"2025b-0+deb12u1")
    tree = apply(tar(file("var/lib/dpkg/status", DPKG_STATUS)), tar(file("var/lib/dpkg/status", upgraded)))

    components = {c.name: c for c in Scanner()._components(tree, BOOKWORM, [_ref(0), _ref(1)])}

    assert components["tzdata"].layer.index == 1
    assert components["tzdata"].version == "2025b-0+deb12u1"
    assert components["libssl3"].layer.index == 0


def _ref(index: int):
    from services.scanning.components import LayerRef

    return LayerRef(f"sha256:{index:064d}", index, f"step {index}")


# -- apk -------------------------------------------------------------------------------

APK_DB = b"""C:Q1abc=
P:libcrypto3
V:3.3.2-r0
A:x86_64
L:Apache-2.0
o:openssl

P:busybox
V:1.36.1-r29
A:x86_64
L:GPL-2.0-only
o:busybox
"""


def test_apk_origin_as_source():
    found = {p.name: p for p in packages(ApkAnalyser(), "/lib/apk/db/installed", APK_DB,
                                         Distro("alpine", "3.20.3"))}

    assert found["libcrypto3"].source_name == "openssl"
    assert found["libcrypto3"].licenses == ("Apache-2.0",)
    assert found["busybox"].purl == "pkg:apk/alpine/busybox@1.36.1-r29?arch=x86_64&distro=alpine-3.20.3"


# -- Python ----------------------------------------------------------------------------


def test_python_dist_info_pep503_name():
    metadata = b"Metadata-Version: 2.1\nName: Zope.Interface_Extra\nVersion: 6.1\nLicense: ZPL 2.1\n"

    [package] = packages(PythonAnalyser(), "/usr/lib/python3/site-packages/x.dist-info/METADATA", metadata)

    assert package.name == "Zope.Interface_Extra"
    assert package.match_name == "zope-interface-extra"
    assert package.purl == "pkg:pypi/zope-interface-extra@6.1"
    assert package.licenses == ("ZPL 2.1",)


def test_python_egg_info_file():
    analyser = PythonAnalyser()
    path = "/usr/lib/python3/dist-packages/six-1.16.0.egg-info"

    assert analyser.wants(path, 0o644, 100)
    assert [p.version for p in packages(analyser, path, b"Metadata-Version: 1.1\nName: six\nVersion: 1.16.0\n")] == ["1.16.0"]


def test_python_egg_info_directory():
    analyser = PythonAnalyser()
    path = "/app/lib/PyYAML-6.0.egg-info/PKG-INFO"

    assert analyser.wants(path, 0o644, 100)
    assert [p.match_name for p in packages(analyser, path, b"Name: PyYAML\nVersion: 6.0\n")] == ["pyyaml"]


def test_python_metadata_without_version_ignored():
    assert packages(PythonAnalyser(), "/x.dist-info/METADATA", b"Name: broken\n") == []


# -- npm -------------------------------------------------------------------------------


def test_node_nested_and_duplicate_versions_kept():
    tree = apply(tar(
        file("app/node_modules/lodash/package.json", json.dumps({"name": "lodash", "version": "4.17.21"})),
        file("app/node_modules/a/node_modules/lodash/package.json",
             json.dumps({"name": "lodash", "version": "4.17.4"})),
        file("app/node_modules/@babel/core/package.json",
             json.dumps({"name": "@babel/core", "version": "7.24.0", "license": "MIT"})),
        file("app/node_modules/lodash/fp/package.json", json.dumps({"main": "../fp.js"})),
        file("app/package.json", json.dumps({"name": "my-app", "version": "1.0.0"})),
    ))

    components = Scanner()._components(tree, None, [_ref(0)])

    assert sorted((c.name, c.version) for c in components) == [
        ("@babel/core", "7.24.0"), ("lodash", "4.17.21"), ("lodash", "4.17.4"),
    ]
    assert next(c for c in components if c.name == "@babel/core").purl == "pkg:npm/%40babel/core@7.24.0"


def test_node_stub_without_version_ignored():
    data = json.dumps({"name": "stub"}).encode()

    assert packages(NodeAnalyser(), "/a/node_modules/stub/package.json", data) == []


# -- Go --------------------------------------------------------------------------------

START = bytes.fromhex("3077af0c9274080241e1c107e6d618e6")
END = bytes.fromhex("f932433186182072008242104116d8f2")
MODINFO = (
    "path\texample.com/tool/cmd/tool\n"
    "mod\texample.com/tool\tv1.4.0\th1:abc=\n"
    "dep\tgolang.org/x/net\tv0.17.0\th1:net=\n"
    "dep\tgithub.com/old/lib\tv1.0.0\n"
    "=>\tgithub.com/fork/lib\tv1.0.1\th1:fork=\n"
    "build\tCGO_ENABLED=0\n"
)


def varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def inline_binary(version: str, modinfo: str, prefix: bytes = b"MZ") -> bytes:
    head = prefix + bytes(64 - len(prefix))
    header = b"\xff Go buildinf:" + bytes([8, 2]) + bytes(16)
    wrapped = START + modinfo.encode() + END
    body = varint(len(version)) + version.encode() + varint(len(wrapped)) + wrapped
    return head + header + body + bytes(2048)


def test_go_inline_build_info_with_replacement():
    found = packages(GoBinaryAnalyser(), "/usr/bin/tool",
                     inline_binary("go1.21.5 X:boringcrypto", MODINFO))

    assert [(p.name, p.version) for p in found] == [
        ("stdlib", "1.21.5"),
        ("example.com/tool", "v1.4.0"),
        ("golang.org/x/net", "v0.17.0"),
        ("github.com/fork/lib", "v1.0.1"),
    ]
    assert found[2].purl == "pkg:golang/golang.org/x/net@v0.17.0"


def test_go_build_info_without_module_keeps_package_path():
    info = read_build_info(inline_binary("go1.19.8", "path\texample.com/cmd/x\nbuild\tGOOS=linux\n"))

    assert info.go_version == "go1.19.8"
    assert info.package_path == "example.com/cmd/x"
    assert info.main is None


def test_go_legacy_pointer_format_elf():
    base = 0x400000
    data = bytearray(0x1000)
    data[0:4] = b"\x7fELF"
    data[4], data[5], data[6] = 2, 1, 1  # 64-bit, little endian, version 1
    struct.pack_into("<QQ", data, 0x20, 64, 0)  # program headers at 64, no section headers
    struct.pack_into("<5H", data, 0x36, 56, 1, 64, 0, 0)
    struct.pack_into("<IIQQQQQQ", data, 64, 1, 5, 0, base, base, len(data), len(data), 0x1000)

    version = b"go1.16.15"
    modinfo = START + MODINFO.encode() + END
    data[0x300 : 0x300 + len(version)] = version
    data[0x400 : 0x400 + len(modinfo)] = modinfo
    struct.pack_into("<QQ", data, 0x200, base + 0x300, len(version))
    struct.pack_into("<QQ", data, 0x210, base + 0x400, len(modinfo))
    data[0x100:0x110] = b"\xff Go buildinf:" + bytes([8, 0])
    struct.pack_into("<QQ", data, 0x110, base + 0x200, base + 0x210)

    info = read_build_info(bytes(data))

    assert info.go_version == "go1.16.15"
    assert info.main.path == "example.com/tool"
    assert [m.path for m in info.dependencies] == ["golang.org/x/net", "github.com/fork/lib"]


def test_go_magic_at_unaligned_offset_ignored():
    data = b"MZ" + bytes(61) + inline_binary("go1.21.5", MODINFO, prefix=b"")[64:]

    assert read_build_info(data) is None


def test_go_non_executable_not_read():
    analyser = GoBinaryAnalyser()

    assert not analyser.wants("/data/tool", 0o644, 10_000_000)
    assert analyser.wants("/usr/bin/tool", 0o755, 10_000_000)


def test_go_non_binary_ignored():
    assert packages(GoBinaryAnalyser(), "/usr/bin/script", b"#!/bin/sh\necho hi\n" * 100) == []


# -- Java ------------------------------------------------------------------------------


def jar(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def pom(group: str, artifact: str, version: str) -> bytes:
    return f"#Generated by Maven\ngroupId={group}\nartifactId={artifact}\nversion={version}\n".encode()


def test_java_nested_jars():
    inner = jar({"META-INF/maven/org.yaml/snakeyaml/pom.properties": pom("org.yaml", "snakeyaml", "1.33")})
    war = jar({
        "META-INF/maven/com.acme/shop/pom.properties": pom("com.acme", "shop", "2.0"),
        "WEB-INF/lib/snakeyaml-1.33.jar": inner,
    })

    found = packages(JavaArchiveAnalyser(), "/srv/shop.war", war)

    assert [(p.name, p.version, p.location) for p in found] == [
        ("com.acme:shop", "2.0", ""),
        ("org.yaml:snakeyaml", "1.33", "WEB-INF/lib/snakeyaml-1.33.jar"),
    ]
    assert found[1].purl == "pkg:maven/org.yaml/snakeyaml@1.33"


def test_java_jar_without_pom_properties_yields_nothing():
    classes_only = jar({"org/apache/logging/log4j/core/Logger.class": b"\xca\xfe\xba\xbe"})

    assert packages(JavaArchiveAnalyser(), "/app/log4j-core-2.14.1.jar", classes_only) == []


def test_java_nested_jars_count_towards_file_limit():
    inner = jar({"pad.bin": bytes(4000)})
    outer = jar({"lib/a.jar": inner, "lib/b.jar": inner})

    with pytest.raises(LimitExceeded, match="max_file_bytes"):
        JavaArchiveAnalyser().extract("/app.jar", outer, Limits(max_file_bytes=len(outer) + 1000))


def test_java_component_path_names_nested_jar():
    inner = jar({"META-INF/maven/org.x/y/pom.properties": pom("org.x", "y", "1")})
    tree = apply(tar(file("app/app.jar", jar({"BOOT-INF/lib/y.jar": inner}))))

    [component] = Scanner()._components(tree, None, [_ref(0)])

    assert component.path == "/app/app.jar!/BOOT-INF/lib/y.jar"


# -- operating system ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"etc/os-release": 'ID=ubuntu\nVERSION_ID="24.04"\nPRETTY_NAME="Ubuntu 24.04 LTS"\n'},
         ("ubuntu", "24.04")),
        ({"usr/lib/os-release": "ID=debian\nVERSION_ID=12\n"}, ("debian", "12")),
        ({"etc/os-release": "ID=debian\n", "etc/debian_version": "13.1\n"}, ("debian", "13")),
        ({"etc/alpine-release": "3.20.3\n"}, ("alpine", "3.20.3")),
        ({"etc/debian_version": "12.7\n"}, ("debian", "12")),
        ({"etc/os-release": 'ID=debian\nVERSION_ID="12"\nPRETTY_NAME="Distroless"\n'}, ("debian", "12")),
        # Values outside os-release's grammar or longer than 50 characters are not used.
        ({"etc/os-release": f"ID={'a' * 100}\n", "etc/debian_version": "12.7\n"}, ("debian", "12")),
        ({"etc/os-release": "ID=Debian GNU\n", "etc/alpine-release": "3.20.3\n"}, ("alpine", "3.20.3")),
        ({"etc/os-release": f"ID=alpine\nVERSION_ID={'9' * 60}\n"}, ("alpine", "")),
        ({"etc/os-release": 'ID=alpine\nVERSION_ID="3.20\u202e"\n'}, ("alpine", "")),
    ],
)
def test_os_release_detection(files, expected):
    tree = apply(tar(*(file(name, text) for name, text in files.items())))

    distro = detect_distro(tree)

    assert (distro.id, distro.version_id) == expected


def test_os_unknown_without_release_files():
    assert detect_distro(apply(tar(file("bin/app", "x")))) is None


def test_os_release_invalid_id_without_fallback_is_unknown():
    tree = apply(tar(file("etc/os-release", f"ID={'x' * 300}\nVERSION_ID=1\n")))

    assert detect_distro(tree) is None


def test_os_release_pretty_name_cut_to_column():
    tree = apply(tar(file("etc/os-release", f'ID=alpine\nVERSION_ID=3.20\nPRETTY_NAME="{"A" * 500}"\n')))

    assert len(detect_distro(tree).pretty_name) == 200
