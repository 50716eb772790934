"""The report's HTML: one page, inline CSS, figures as ``data:image/png;base64`` URIs.

Every text that comes from a file, a path or a class name goes through :func:`html.escape`;
the page has no script, no link and no external URL (a mailed file shows the same everywhere).
Numbers are percentages with two decimals, as ``grace val`` prints them.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from datetime import datetime, timezone
from string import Template
from typing import Any

from grace.colors import class_rgb

PAGE = Template("""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>$title</title>
<style>
body { font-family: -apple-system, "Segoe UI", Roboto, "DejaVu Sans", Arial, sans-serif;
  color: #1d2329; margin: 0 auto; max-width: 1120px; padding: 18px 28px 60px; line-height: 1.4; }
h1 { font-size: 1.6em; margin: 0.2em 0; }
h2 { font-size: 1.25em; border-bottom: 2px solid #d5dbe1; padding-bottom: 4px; margin-top: 2em; }
h3 { font-size: 1.02em; margin: 1.2em 0 0.4em; }
p.sub { color: #58636e; margin: 0 0 1em; }
table { border-collapse: collapse; margin: 0.4em 0 0.8em; font-size: 0.92em; }
th, td { border: 1px solid #d5dbe1; padding: 3px 9px; text-align: left; vertical-align: top; }
th { background: #eef1f4; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr:nth-child(even) td { background: #f8f9fa; }
tr.total td { font-weight: 600; background: #eef1f4; }
code, .hash { font-family: "DejaVu Sans Mono", Consolas, monospace; font-size: 0.88em;
  word-break: break-all; }
.swatch { display: inline-block; width: 0.9em; height: 0.9em; border-radius: 2px;
  vertical-align: -0.1em; margin-right: 6px; }
figure { margin: 0.6em 0 1.2em; }
figure img { max-width: 100%; border: 1px solid #d5dbe1; }
figcaption { color: #58636e; font-size: 0.9em; margin-top: 4px; }
.thumbs { display: flex; flex-wrap: wrap; gap: 12px; }
.thumbs figure { width: 240px; margin: 0; }
.thumbs img { width: 240px; }
.note { background: #fff8e1; border-left: 4px solid #f0b400; padding: 6px 10px; }
.ok { color: #2e7d32; }
details { margin: 0.3em 0 0.8em; }
summary { cursor: pointer; color: #34495e; }
ul.problems li { font-family: "DejaVu Sans Mono", Consolas, monospace; font-size: 0.85em; }
nav a { margin-right: 10px; font-size: 0.9em; }
</style>
</head>
<body>
<h1>$title</h1>
<p class="sub">GRACE Inspector report, written $written. $evaluation</p>
<nav>$nav</nav>
$body
</body>
</html>
""")


def e(x: Any) -> str:
    """Escaped text of ``x``."""
    return html.escape(str(x), quote=True)


def pct(x: float | None) -> str:
    """``16.73`` for 0.1673; an em dash for None."""
    return "—" if x is None else f"{100 * float(x):.2f}"


def interval_text(low: float, high: float) -> str:
    """``[14.10, 19.22]`` in percent; "not available" when NaN."""
    if low != low or high != high:  # NaN
        return "not available"
    return f"[{pct(low)}, {pct(high)}]"


def img(png: bytes, alt: str, cls: str = "") -> str:
    """An ``<img>`` holding ``png`` as a base64 ``data:`` URI."""
    data = base64.b64encode(png).decode("ascii")
    c = f' class="{e(cls)}"' if cls else ""
    return f'<img{c} alt="{e(alt)}" src="data:image/png;base64,{data}">'


def swatch(c: int | None) -> str:
    if c is None:
        return ""
    r, g, b = class_rgb(c)
    return f'<span class="swatch" style="background: rgb({r}, {g}, {b})"></span>'


def table(
    head: Sequence[str],
    rows: Sequence[Sequence[str]],
    num_from: int = 1,
    attrs: str = "",
    row_attrs: Sequence[str] | None = None,
    num_to: int | None = None,
) -> str:
    """A table of already-escaped cells; columns ``num_from`` to ``num_to`` (excluded; default
    the last) are right-aligned numbers."""
    end = len(head) if num_to is None else num_to
    cls = [" class=num" if num_from <= i < end else "" for i in range(len(head))]
    th = "".join(f"<th{cls[i]}>{h}</th>" for i, h in enumerate(head))
    body = []
    for k, row in enumerate(rows):
        ra = f" {row_attrs[k]}" if row_attrs and row_attrs[k] else ""
        tds = "".join(f"<td{cls[i]}>{c}</td>" for i, c in enumerate(row))
        body.append(f"<tr{ra}>{tds}</tr>")
    return f"<table{attrs}><thead><tr>{th}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def kv_table(pairs: Sequence[tuple[str, str]]) -> str:
    """A two-column table (label, escaped value)."""
    rows = "".join(f"<tr><th>{e(k)}</th><td>{v}</td></tr>" for k, v in pairs)
    return f"<table>{rows}</table>"


def section(sid: str, heading: str, body: str) -> str:
    return f'<section id="{e(sid)}">\n<h2>{e(heading)}</h2>\n{body}\n</section>'


def render(content: dict[str, Any], sections: Sequence[tuple[str, str]]) -> str:
    """The whole page from :func:`grace.eval.report.build_report`'s content, one ``<section>``
    per entry of ``sections`` (id, heading), in order."""
    from grace.eval import report_parts as parts

    builders = {
        "model": parts.model_section,
        "dataset": parts.dataset_section,
        "metrics": parts.metrics_section,
        "per-class": parts.class_section,
        "pr-curves": parts.pr_section,
        "ap-bars": parts.bars_section,
        "confusion": parts.confusion_section,
        "errors": parts.errors_section,
        "eigencam": parts.cam_section,
        "problems": parts.problems_section,
    }
    body = "\n".join(section(s, h, builders[s](content)) for s, h in sections)
    nav = "".join(f'<a href="#{e(s)}">{e(h)}</a>' for s, h in sections)
    written = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return PAGE.substitute(
        title=e(content["title"]),
        written=e(written),
        evaluation=e(f"Figures: {content['evaluation']}."),
        nav=nav,
        body=body,
    )
