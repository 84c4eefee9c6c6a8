"""The virtual file tree of an image, built by applying its layers in order in memory.

Nothing is extracted to the host. The tree keeps metadata for every path and, for the few
files an analyser asked for, the facts it extracted while the layer streamed past. Layer
semantics follow the OCI image spec (image-spec v1.1, layer.md):

- ``.wh.<name>`` deletes ``<name>`` and everything beneath it from lower layers; a bare
  ``.wh.`` is an ordinary file name;
- ``.wh..wh..opq`` hides every lower-layer entry of its directory;
- an entry replacing a directory with a file or symlink drops the whole subtree;
- a hard link is bound to its target's content at the moment it is applied, so a later
  change to the target does not change the link;
- symlinks are resolved only inside the image, with the image root as ``/``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from services.scanning.inventory.errors import CorruptLayer, UnsafePath

WHITEOUT_PREFIX = ".wh."
OPAQUE_MARKER = ".wh..wh..opq"
# Linux gives up resolving a path after 40 symlinks (MAXSYMLINKS); so does the tree.
MAX_SYMLINK_HOPS = 40

DIRECTORY = "dir"
FILE = "file"
SYMLINK = "symlink"
OTHER = "other"  # devices, FIFOs


class Node:
    """One path in the tree: its kind, the layer that last wrote it, and extracted facts."""

    __slots__ = ("kind", "layer", "mode", "size", "target", "children", "facts")

    def __init__(self, kind: str, layer: int, mode: int = 0, size: int = 0, target: str = ""):
        self.kind = kind
        self.layer = layer
        self.mode = mode
        self.size = size
        self.target = target  # symlink target as written in the layer
        self.children: dict[str, Node] | None = {} if kind == DIRECTORY else None
        self.facts: dict[str, Any] | None = None  # analyser name -> facts


@dataclass(slots=True)
class Observation:
    """Facts seen at one path in one layer; `facts` is None when the path was removed."""

    layer: int
    facts: dict[str, Any] | None


@dataclass
class FileTree:
    """The merged file tree of the layers applied so far."""

    root: Node = field(default_factory=lambda: Node(DIRECTORY, 0, 0o755))
    # Every write and removal of a path that carried facts, in layer order. Analysers use it
    # to find the layer that first introduced a component still present at the top.
    history: dict[str, list[Observation]] = field(default_factory=dict)

    # -- applying layer entries ---------------------------------------------------------

    def add(self, path: str, node: Node) -> None:
        """Put `node` at `path`, replacing what was there.

        A directory written over a directory keeps the children; anything else replaces the
        old node and so drops its whole subtree.
        """
        parts = split_path(path)
        if not parts:
            if node.kind == DIRECTORY:
                self.root.mode = node.mode
            return

        parent = self._make_parents(parts[:-1], node.layer)
        name = parts[-1]
        existing = parent.children.get(name)

        if existing is not None and existing.kind == DIRECTORY and node.kind == DIRECTORY:
            existing.mode = node.mode
            existing.layer = node.layer
            return

        if existing is not None:
            # When the new node carries facts, its own observation below replaces the old one.
            self._forget(path, existing, node.layer, include_root=node.facts is None)
        parent.children[name] = node
        if node.facts is not None:
            self.history.setdefault(path, []).append(Observation(node.layer, node.facts))

    def link(self, path: str, target: str, layer: int) -> None:
        """Apply a hard link entry: `path` becomes a copy of the regular file at `target`."""
        source = self.get(target, follow=False)
        if source is None or source.kind != FILE:
            raise CorruptLayer(f"hard link {path!r} points to {target!r}, which is not a file")

        # NOTE: the link gets the facts extracted from the target's path. When only the link's
        # path interests an analyser, the content has already streamed past and is not read.
        copy = Node(FILE, layer, source.mode, source.size)
        copy.facts = source.facts
        self.add(path, copy)

    def whiteout(self, directory: str, name: str, layer: int) -> None:
        """Apply ``.wh.<name>`` in `directory`: remove the lower-layer entry `name`."""
        parent = self.get(directory, follow=False)
        if parent is None or parent.kind != DIRECTORY:
            return
        existing = parent.children.get(name)
        if existing is None or existing.layer >= layer:
            # An entry written by this same layer is not hidden by its own whiteout.
            return
        del parent.children[name]
        self._forget(join_path(directory, name), existing, layer)

    def make_opaque(self, directory: str, layer: int) -> None:
        """Apply ``.wh..wh..opq``: hide every lower-layer entry beneath `directory`."""
        node = self.get(directory, follow=False)
        if node is None or node.kind != DIRECTORY:
            return
        self._drop_older(directory, node, layer)

    def _drop_older(self, path: str, directory: Node, layer: int) -> None:
        for name, child in list(directory.children.items()):
            child_path = join_path(path, name)
            if child.layer < layer:
                del directory.children[name]
                self._forget(child_path, child, layer)
            elif child.kind == DIRECTORY:
                # Re-created in this layer, so lower-layer content beneath it is hidden too.
                self._drop_older(child_path, child, layer)

    def _make_parents(self, parts: list[str], layer: int) -> Node:
        node = self.root
        path = ""
        for name in parts:
            path = f"{path}/{name}"
            child = node.children.get(name)
            if child is None or child.kind != DIRECTORY:
                # A layer's path is literal: a missing parent, or a file or symlink in its
                # place, becomes a directory, as when a runtime unpacks the layer.
                if child is not None:
                    self._forget(path, child, layer)
                child = Node(DIRECTORY, layer, 0o755)
                node.children[name] = child
            else:
                # Marks the directory as touched by this layer, so an opaque marker later in
                # the same layer keeps what this layer put beneath it.
                child.layer = layer
            node = child
        return node

    def _forget(self, path: str, node: Node, layer: int, include_root: bool = True) -> None:
        """Record the removal of every path with facts in a removed subtree."""
        for removed_path, removed in _walk(path, node):
            if removed_path == path and not include_root:
                continue
            if removed.facts is not None:
                self.history.setdefault(removed_path, []).append(Observation(layer, None))

    # -- reading ------------------------------------------------------------------------

    def get(self, path: str, follow: bool = True) -> Node | None:
        """Return the node at `path`, resolving symlinks inside the image when `follow`.

        Intermediate symlinks are always resolved; `follow` decides for the last component.
        Returns None for a missing path or a symlink loop.
        """
        resolved = self.resolve(path, follow=follow)
        if resolved is None:
            return None
        node = self.root
        for name in split_path(resolved):
            node = node.children.get(name) if node.children is not None else None
            if node is None:
                return None
        return node

    def resolve(self, path: str, follow: bool = True) -> str | None:
        """Return the canonical path of `path`, treating the image root as ``/``.

        ``..`` above the root stays at the root, as in a chroot, so no resolution can name a
        path outside the image.
        """
        pending = split_path(path, allow_dotdot=True)
        resolved: list[str] = []
        nodes: list[Node] = [self.root]
        hops = 0

        while pending:
            name = pending.pop(0)
            if name == "..":
                if resolved:
                    resolved.pop()
                    nodes.pop()
                continue

            current = nodes[-1]
            child = current.children.get(name) if current.children is not None else None
            is_last = not pending
            if child is not None and child.kind == SYMLINK and (follow or not is_last):
                hops += 1
                if hops > MAX_SYMLINK_HOPS:
                    return None
                target = split_path(child.target, allow_dotdot=True)
                if child.target.startswith("/"):
                    resolved, nodes = [], [self.root]
                pending = target + pending
                continue

            resolved.append(name)
            nodes.append(child if child is not None else Node(OTHER, 0))
        return "/" + "/".join(resolved)

    def read_facts(self, path: str, analyser: str) -> Any:
        """Return the facts an analyser extracted from the file at `path`, symlinks followed."""
        node = self.get(path)
        if node is None or node.facts is None:
            return None
        return node.facts.get(analyser)

    def exists(self, path: str) -> bool:
        return self.get(path) is not None

    def list_dir(self, path: str) -> list[str]:
        """Return the names in a directory, or an empty list when it is missing."""
        node = self.get(path)
        if node is None or node.children is None:
            return []
        return sorted(node.children)

    def walk(self) -> Iterator[tuple[str, Node]]:
        """Yield every (path, node) of the tree, parents before children."""
        yield from _walk("/", self.root)

    def with_facts(self) -> Iterator[tuple[str, Node]]:
        """Yield the (path, node) pairs that carry analyser facts."""
        for path, node in self.walk():
            if node.facts:
                yield path, node


def _walk(path: str, node: Node) -> Iterator[tuple[str, Node]]:
    stack = [(path, node)]
    while stack:
        current_path, current = stack.pop()
        yield current_path, current
        if current.children:
            for name, child in current.children.items():
                stack.append((join_path(current_path, name), child))


def split_path(path: str, allow_dotdot: bool = False) -> list[str]:
    """Split a tar entry name or image path into components, dropping ``.`` and empties.

    Raises `UnsafePath` on ``..`` unless `allow_dotdot` (used for symlink targets, which
    resolve within the image).
    """
    parts = [part for part in path.split("/") if part and part != "."]
    if not allow_dotdot and ".." in parts:
        raise UnsafePath(f"path {path!r} contains '..', which would leave the image root")
    return parts


def join_path(directory: str, name: str) -> str:
    return f"{directory.rstrip('/')}/{name}"
