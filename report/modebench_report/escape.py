"""Escaping for every string that comes from JSON (names, messages, context)."""

import html


def esc(s) -> str:
    """HTML text and attribute values."""
    return html.escape(str(s), quote=True)


def md(s) -> str:
    """Markdown table cell: no raw HTML, no column breaks."""
    s = html.escape(str(s), quote=False)
    return s.replace("|", "\\|").replace("`", "\\`").replace("\n", " ")
