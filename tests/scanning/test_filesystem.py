"""Layer semantics of the virtual file tree, one hand-made layer per edge case."""

from __future__ import annotations

import pytest

from services.scanning.inventory.errors import CorruptLayer, DigestMismatch, UnsafePath
from services.scanning.inventory.filesystem import DIRECTORY, FILE, SYMLINK
from tests.scanning.layerkit import (
    apply,
    directory,
    file,
    gzipped,
    hardlink,
    symlink,
    tar,
    zstd,
)

OS_RELEASE = 'ID=debian\nVERSION_ID="12"\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n'


def test_whiteout_removes_file():
    tree = apply(
        tar(directory("etc"), file("etc/a", "1"), file("etc/b", "2")),
        tar(file("etc/.wh.a")),
    )

    assert tree.get("/etc/a") is None
    assert tree.get("/etc/b").kind == FILE
    assert tree.get("/etc/.wh.a") is None


def test_whiteout_removes_directory_subtree():
    tree = apply(
        tar(directory("opt"), directory("opt/app"), file("opt/app/x"), file("opt/keep")),
        tar(file("opt/.wh.app")),
    )

    assert tree.get("/opt/app") is None
    assert tree.get("/opt/app/x") is None
    assert tree.list_dir("/opt") == ["keep"]


def test_whiteout_keeps_entry_of_same_layer():
    tree = apply(
        tar(file("a", "old")),
        tar(file("b", "new"), file(".wh.b")),
    )

    assert tree.get("/b") is not None


def test_bare_whiteout_prefix_is_ordinary_file():
    tree = apply(tar(directory("d"), file("d/x"), file("d/.wh.", "not a whiteout")))

    assert tree.list_dir("/d") == [".wh.", "x"]


def test_opaque_directory_hides_lower_entries():
    tree = apply(
        tar(directory("srv"), file("srv/old"), directory("srv/sub"), file("srv/sub/old")),
        tar(directory("srv"), file("srv/new"), file("srv/.wh..wh..opq")),
    )

    assert tree.list_dir("/srv") == ["new"]
    assert tree.get("/srv/sub/old") is None


def test_opaque_marker_after_same_layer_file_keeps_it():
    tree = apply(
        tar(directory("srv"), directory("srv/sub"), file("srv/sub/old")),
        tar(file("srv/sub/new"), file("srv/.wh..wh..opq")),
    )

    assert tree.list_dir("/srv") == ["sub"]
    assert tree.list_dir("/srv/sub") == ["new"]


def test_directory_replaced_by_symlink_drops_subtree():
    tree = apply(
        tar(directory("lib"), directory("lib/x"), file("lib/x/so")),
        tar(symlink("lib", "usr/lib")),
    )

    assert tree.get("/lib", follow=False).kind == SYMLINK
    assert tree.get("/lib/x/so") is None


def test_directory_replaced_by_file_drops_subtree():
    tree = apply(
        tar(directory("conf"), file("conf/a")),
        tar(file("conf", "now a file")),
    )

    assert tree.get("/conf").kind == FILE
    assert tree.get("/conf").children is None


def test_file_replaced_by_directory():
    tree = apply(tar(file("x", "f")), tar(directory("x"), file("x/y")))

    assert tree.get("/x").kind == DIRECTORY
    assert tree.list_dir("/x") == ["y"]


def test_hard_link_bound_to_target_at_link_time():
    tree = apply(
        tar(directory("etc"), file("etc/os-release", OS_RELEASE), hardlink("etc/copy", "etc/os-release")),
        tar(file("etc/os-release", "ID=alpine\n")),
    )

    copy = tree.get("/etc/copy")
    assert copy.kind == FILE
    assert copy.size == len(OS_RELEASE)
    assert "debian" in copy.facts["os"]


def test_hard_link_to_lower_layer_file():
    tree = apply(
        tar(directory("usr"), directory("usr/lib"), file("usr/lib/os-release", OS_RELEASE)),
        tar(directory("etc"), hardlink("etc/os-release", "usr/lib/os-release")),
    )

    assert tree.read_facts("/etc/os-release", "os") == OS_RELEASE


def test_hard_link_absolute_target_rejected():
    with pytest.raises(UnsafePath, match="absolute target '/etc/shadow'"):
        apply(tar(file("etc/shadow"), hardlink("x", "/etc/shadow")))


def test_hard_link_dotdot_target_rejected():
    with pytest.raises(UnsafePath, match=r"'\.\./\.\./etc/passwd'"):
        apply(tar(file("a"), hardlink("x", "../../etc/passwd")))


def test_hard_link_missing_target_rejected():
    with pytest.raises(CorruptLayer, match="'/missing', which is not a file"):
        apply(tar(hardlink("x", "missing")))


def test_dotdot_entry_name_rejected():
    with pytest.raises(UnsafePath, match=r"'\.\./\.\./etc/cron\.d/x'"):
        apply(tar(file("../../etc/cron.d/x", "* * * * * root sh")))


def test_dotdot_inside_entry_name_rejected():
    with pytest.raises(UnsafePath, match="contains '..'"):
        apply(tar(directory("a"), file("a/../../b")))


def test_absolute_entry_name_stays_in_image():
    tree = apply(tar(file("/etc/hostname", "h")))

    assert tree.get("/etc/hostname").kind == FILE


def test_symlink_escape_resolves_inside_image():
    tree = apply(
        tar(
            directory("usr"),
            directory("usr/lib"),
            file("usr/lib/os-release", OS_RELEASE),
            directory("etc"),
            symlink("etc/os-release", "../../../../../../usr/lib/os-release"),
        )
    )

    assert tree.resolve("/etc/os-release") == "/usr/lib/os-release"
    assert tree.read_facts("/etc/os-release", "os") == OS_RELEASE


def test_absolute_symlink_resolves_from_image_root():
    tree = apply(
        tar(
            directory("usr"),
            directory("usr/lib"),
            file("usr/lib/os-release", OS_RELEASE),
            directory("etc"),
            symlink("etc/os-release", "/usr/lib/os-release"),
        )
    )

    assert tree.read_facts("/etc/os-release", "os") == OS_RELEASE


def test_symlink_to_host_path_not_found():
    tree = apply(tar(symlink("passwd", "/etc/passwd")))

    assert tree.get("/passwd") is None


def test_symlink_loop_returns_nothing():
    tree = apply(tar(symlink("a", "b"), symlink("b", "a")))

    assert tree.get("/a") is None


def test_symlinked_directory_in_path_followed():
    tree = apply(
        tar(directory("usr"), directory("usr/lib"), file("usr/lib/x", "1"), symlink("lib", "usr/lib"))
    )

    assert tree.get("/lib/x").kind == FILE


def test_zstd_layer_read():
    tree = apply(zstd(tar(file("etc/os-release", OS_RELEASE))))

    assert tree.read_facts("/etc/os-release", "os") == OS_RELEASE


def test_truncated_gzip_rejected():
    blob = gzipped(tar(file("a", b"x" * 100_000)))

    with pytest.raises(CorruptLayer, match="corrupt or truncated"):
        apply(blob[: len(blob) // 2])


def test_truncated_zstd_rejected():
    blob = zstd(tar(file("a", bytes(range(256)) * 400)))

    with pytest.raises(CorruptLayer, match="corrupt or truncated"):
        apply(blob[: len(blob) - 20])


def test_truncated_tar_rejected():
    blob = tar(file("a", b"x" * 5000), file("b", b"y" * 5000))

    with pytest.raises(CorruptLayer, match="truncated"):
        apply(blob[:3072])


def test_truncated_tar_inside_valid_gzip_rejected():
    layer = tar(file("a", b"x" * 5000), file("b", b"y" * 5000))

    with pytest.raises(CorruptLayer, match="end-of-archive marker"):
        # Cut where the second entry's header would start, where tarfile finds a clean end.
        apply(gzipped(layer[: 512 + 5120]))


def test_garbage_gzip_rejected():
    with pytest.raises(CorruptLayer):
        apply(b"\x1f\x8b\x08\x00" + b"\xff" * 200)


def test_digest_mismatch_rejected():
    blob = gzipped(tar(file("a", "1")))
    wrong = "sha256:" + "0" * 64

    with pytest.raises(DigestMismatch, match=f"not {wrong}"):
        apply(blob, digests=[wrong])


def test_removed_file_history_records_removal():
    tree = apply(
        tar(directory("etc"), file("etc/os-release", OS_RELEASE)),
        tar(file("etc/.wh.os-release")),
        tar(file("etc/os-release", OS_RELEASE)),
    )

    history = tree.history["/etc/os-release"]
    assert [observation.layer for observation in history] == [0, 1, 2]
    assert history[1].facts is None
