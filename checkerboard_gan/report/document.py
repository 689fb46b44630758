"""The report as a document: paragraphs, tables, code and figures, rendered to Markdown and to
self-contained HTML (figures are files beside it)."""

from __future__ import annotations

import html
import math
import re
from dataclasses import dataclass, field

from .verdicts import Verdict


@dataclass
class Fig:
    path: str  # relative to OUT
    caption: str
    links: list[tuple[str, str]] = field(default_factory=list)  # (label, run folder)


@dataclass
class Table:
    header: list[str]
    rows: list[list[str]]


@dataclass
class Code:
    text: str


Block = str | Fig | Table | Code  # str: a paragraph with [links](x), `code` and **bold**


def fmt(value: float, digits: int = 3) -> str:
    """A number as tables and captions show it: `digits` significant digits, n/a for NaN."""
    return "n/a" if math.isnan(value) else f"{value:.{digits}g}"


def rule(text: str) -> str:
    """The paragraph that states how a claim is decided."""
    return f"**Rule:** {text}"


@dataclass
class Section:
    anchor: str
    title: str
    blocks: list[Block]
    verdict: Verdict | None = None


def to_markdown(sections: list[Section], title: str) -> str:
    def cell(text: str) -> str:
        return text.replace("\n", " ").replace("|", "\\|")

    out = [f"# {title}", ""]
    for s in sections:
        out += [f'<a id="{s.anchor}"></a>', "", f"## {s.title}", ""]
        for b in s.blocks:
            if isinstance(b, str):
                out.append(b)
            elif isinstance(b, Table):
                out.append("| " + " | ".join(map(cell, b.header)) + " |")
                out.append("|" + " --- |" * len(b.header))
                out += ["| " + " | ".join(map(cell, r)) + " |" for r in b.rows]
            elif isinstance(b, Code):
                out.append(f"```\n{b.text}\n```")
            elif isinstance(b, Fig):
                runs = ", ".join(f"[{label}]({path}/)" for label, path in b.links)
                out += [f"[![{cell(b.caption)}]({b.path})]({b.path})", ""]
                out.append(f"*{b.caption}*" + (f" Run folders: {runs}." if runs else ""))
            out.append("")
        if s.verdict:
            out += [f"**Verdict ({s.verdict.status}).** {s.verdict.sentence}", ""]
    return "\n".join(out)


def inline(text: str) -> str:
    """HTML of a paragraph: escaped, then the three Markdown forms used, [a](x) `c` **b**."""
    s = re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(text, quote=False))
    s = re.sub(r"\[([^\]]+)\]\(([^)\s]+)\)", r'<a href="\2">\1</a>', s)
    return re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", s)


CSS = """
body { font: 15px/1.5 system-ui, sans-serif; color: #222; margin: 0; background: #f4f4f4; }
main { max-width: 1100px; margin: 0 auto; padding: 1em 2em 4em; background: white; }
h2 { border-bottom: 1px solid #ddd; padding-top: 0.5em; }
nav a { margin-right: 1em; }
.table-box { max-width: 100%; overflow-x: auto; margin: 0.8em 0; }
table { border-collapse: collapse; font-size: 13px; }
th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: left; vertical-align: top; }
td, p, figcaption { overflow-wrap: anywhere; }  /* long run folders wrap */
th { background: #f0f0f0; }
code { background: #f3f3f3; padding: 0 3px; font-size: 12px; }
pre { background: #f3f3f3; padding: 0.6em; font-size: 12px; white-space: pre-wrap; }
figure { margin: 1em 0; }
figure img { max-width: 100%; border: 1px solid #eee; }
figcaption { font-size: 13px; color: #555; }
.verdict { padding: 0.6em 0.9em; border-left: 6px solid #888; background: #eee; }
.verdict.supported { background: #dff3e4; border-color: #2e9d4a; }
.verdict.partly-supported { background: #fff3d6; border-color: #e0a100; }
.verdict.not-supported { background: #fde4e4; border-color: #c62828; }
.verdict.undecided { background: #e8ecf8; border-color: #3f51b5; }
.verdict.not-judged { background: #f2f2f2; border-color: #9e9e9e; border-left-style: dashed;
  color: #555; }
"""


def table_html(table: Table) -> str:
    """A table in its own box, which scrolls sideways when the table is wider than the page
    (long cells wrap first)."""
    rows = [table.header] + table.rows
    tags = ["th"] + ["td"] * len(table.rows)
    body = "".join(
        "<tr>" + "".join(f"<{t}>{inline(c)}</{t}>" for c in r) + "</tr>"
        for r, t in zip(rows, tags, strict=True)
    )
    return f'<div class="table-box"><table>{body}</table></div>'


def to_html(sections: list[Section], title: str) -> str:
    t = html.escape(title)
    nav = " ".join(
        f'<a href="#{s.anchor}">{html.escape(s.title.split(":")[0])}</a>' for s in sections
    )
    out = [
        f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>{t}</title>',
        f"<style>{CSS}</style></head><body><main><h1>{t}</h1><nav>{nav}</nav>",
    ]
    for s in sections:
        out.append(f'<section id="{s.anchor}"><h2>{html.escape(s.title)}</h2>')
        for b in s.blocks:
            if isinstance(b, str):
                out.append(f"<p>{inline(b)}</p>")
            elif isinstance(b, Table):
                out.append(table_html(b))
            elif isinstance(b, Code):
                out.append(f"<pre>{html.escape(b.text)}</pre>")
            elif isinstance(b, Fig):
                runs = ", ".join(f"[{label}]({path}/)" for label, path in b.links)
                caption = inline(b.caption + (f" Run folders: {runs}." if runs else ""))
                alt = html.escape(b.caption)
                out.append(
                    f'<figure><a href="{b.path}"><img src="{b.path}" alt="{alt}"></a>'
                    f"<figcaption>{caption}</figcaption></figure>"
                )
        if s.verdict:
            css = s.verdict.status.replace(" ", "-")
            out.append(
                f'<p class="verdict {css}"><strong>Verdict ({s.verdict.status}).</strong> '
                f"{inline(s.verdict.sentence)}</p>"
            )
        out.append("</section>")
    return "\n".join(out) + "\n</main></body></html>\n"
