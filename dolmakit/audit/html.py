"""Build small self-contained HTML pages: inline CSS, inline SVG charts, no script, no links."""

from __future__ import annotations

import html
from collections.abc import Sequence

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222;
       padding: 0 1em; line-height: 1.4; }
h1 { font-size: 1.6em; } h2 { font-size: 1.25em; margin-top: 1.8em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: 0.6em 0; font-size: 0.9em; }
th, td { border: 1px solid #ddd; padding: 0.25em 0.6em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
th { background: #f4f4f4; }
figure.chart { margin: 1em 0; }
figure.chart svg { display: block; width: 100%; height: auto; }
code { background: #f4f4f4; padding: 0 0.2em; }
.note { color: #555; font-size: 0.9em; }
"""


def esc(text: str) -> str:
    """Escape text for HTML."""
    return html.escape(text, quote=True)


def table(head: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Return an HTML table; cells are escaped."""
    out = ["<table><thead><tr>"]
    out.extend(f"<th>{esc(h)}</th>" for h in head)
    out.append("</tr></thead><tbody>")
    for row in rows:
        out.append("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def page(title: str, sections: Sequence[str]) -> str:
    """Return a whole HTML document: `sections` are HTML fragments, in order."""
    body = "\n".join(sections)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title><style>{_STYLE}</style></head>\n"
        f"<body><h1>{esc(title)}</h1>\n{body}\n</body></html>\n"
    )
