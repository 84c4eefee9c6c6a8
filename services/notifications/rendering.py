"""Email bodies from Jinja2 templates: `<kind>.txt` and `<kind>.html` in `templates/`.

Each text template sets `subject` with `{% set subject = ... %}`; the HTML template
extends `base.html`, which escapes every value, and the text one extends `base.txt`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

TEMPLATES_DIR = Path(__file__).parent / "templates"


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


@lru_cache(maxsize=1)
def _environment() -> Environment:
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    environment.filters["utc"] = format_utc
    return environment


def format_utc(moment: datetime | None) -> str:
    """Format a timezone-aware time as "2025-03-01 14:00 UTC"."""
    if moment is None:
        return ""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def render_email(kind: str, context: dict[str, Any]) -> RenderedEmail:
    """Render the subject, text and HTML of the email `kind` (raises on a missing value)."""
    environment = _environment()
    text_module = environment.get_template(f"{kind}.txt").make_module(context)
    html = environment.get_template(f"{kind}.html").render(context)

    # Header values must be one line, whatever the product or organisation is called.
    subject = " ".join(str(text_module.subject).split())
    return RenderedEmail(subject=subject, text=str(text_module).strip() + "\n", html=html)
