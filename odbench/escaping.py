"""Showing untrusted text: one terminal line, a markdown table cell, a markdown link, HTML text.

Submission files, their names and the values inside them are written by whoever opens a pull
request. What reaches a CI log or leaderboard.md must stay one line of inert text: no line
breaks or control characters (a forged log line, a markdown heading), no HTML, no markdown
link or image syntax.
"""
from __future__ import annotations

import html
import re
from urllib.parse import quote

# Characters with a meaning in CommonMark/GFM inline text or in HTML, escaped with a backslash
# (CommonMark allows a backslash before any ASCII punctuation; '$' opens math on GitHub).
# ':', '.', '-', '/', '=' and '@' are left alone so that paths and model specs stay readable; they start nothing inside
# a table cell.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+!|~&$])")


def one_line(text: object, limit: int = 200) -> str:
    """Printable characters only (others as \\n, \\x1b, \\u2028 escapes), at most `limit` long."""
    out = []
    for char in str(text):
        out.append(char if char.isprintable() else repr(char)[1:-1])
    shown = "".join(out)
    return shown if len(shown) <= limit else shown[:limit] + "..."


def md_text(text: object, limit: int = 200) -> str:
    """Inert markdown text for a table cell or a list item."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", one_line(text, limit))


def md_code(text: object, limit: int = 200) -> str:
    """A code span (shown verbatim, never parsed as HTML or markdown) safe inside a table cell."""
    body = one_line(text, limit).replace("|", "\\|")    # GFM splits cells on '|' even in code
    longest = max((len(run) for run in re.findall(r"`+", body)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if body.startswith("`") or body.endswith("`") else ""
    return f"{fence}{pad}{body}{pad}{fence}"


def md_link(label: object, target: str) -> str:
    """[label](target) with the label escaped and the relative target percent-encoded."""
    return f"[{md_text(label)}]({quote(target, safe='/')})"


def html_text(text: object, limit: int = 200) -> str:
    """Inert HTML text or attribute value (quotes escaped too), one line."""
    return html.escape(one_line(text, limit), quote=True)
