"""Checks on names that people read: display names, product names and tier names."""

from __future__ import annotations

import unicodedata

# Bidirectional formatting characters (Unicode Standard Annex #9: marks, embeddings,
# overrides and isolates). In a name they make the text display in another order than
# it is stored, so one name can pass for another.
BIDI_FORMATTING = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)


def disallowed_character(value: str) -> str | None:
    """Return the first control or bidirectional formatting character in `value`, described, or None.

    The description gives the kind, the code point and, where Unicode names it, the
    name, such as "the bidirectional formatting character U+202E (RIGHT-TO-LEFT OVERRIDE)".
    """
    for character in value:
        if character in BIDI_FORMATTING:
            kind = "bidirectional formatting character"
        elif unicodedata.category(character) == "Cc":
            kind = "control character"
        else:
            continue
        code_point = f"U+{ord(character):04X}"
        name = unicodedata.name(character, "")
        return f"the {kind} {code_point} ({name})" if name else f"the {kind} {code_point}"
    return None
