"""Render one list of report blocks twice: as Markdown and as one self-contained HTML file.

Why blocks: the two formats must say the same thing; writing the content once and rendering it
twice keeps them from drifting. All text is escaped here, in one place: a model named
`<script>` shows as text in both formats.

    md, html = to_markdown(blocks), to_html(blocks, title, images={"figures/a.png": b"..."})
"""
from __future__ import annotations

import base64
import html
from dataclasses import dataclass, field


@dataclass
class Heading:
    text: str
    level: int = 2


@dataclass
class Para:
    text: str


@dataclass
class Bullets:
    items: list[str]


@dataclass
class Table:
    headers: list[str]
    rows: list[list[str]]
    bold: list[list[bool]] = field(default_factory=list)
    sortable: bool = False
    id: str = ""
    groups: list[tuple[str, int]] = field(default_factory=list)  # (label, colspan) header row
    notes: list[list[str]] = field(default_factory=list)  # HTML only: a small second line per cell
    shade: list[list[float | None]] = field(default_factory=list)  # HTML only: 1 = best, 0 = worst
    help: list[str] = field(default_factory=list)   # HTML only: each header's hover text
    tags: list[str] = field(default_factory=list)   # HTML only: more words a row filter matches (a family)
    csv: str = ""                                   # HTML only: offered as a download from the page itself


@dataclass
class Figure:
    path: str          # relative to the report, e.g. figures/umap.png
    caption: str


Block = Heading | Para | Bullets | Table | Figure


# ---------------------------------------------------------------------------- Markdown
def _md(text: str) -> str:
    return (str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace("|", "\\|").replace("\n", " "))


def to_markdown(blocks: list[Block], title: str) -> str:
    out = [f"# {_md(title)}", ""]
    for b in blocks:
        if isinstance(b, Heading):
            out += ["#" * b.level + " " + _md(b.text), ""]
        elif isinstance(b, Para):
            out += [_md(b.text), ""]
        elif isinstance(b, Bullets):
            out += [f"- {_md(item)}" for item in b.items] + [""]
        elif isinstance(b, Table):
            out.append("| " + " | ".join(_md(h) for h in b.headers) + " |")
            out.append("|" + "|".join("---" for _ in b.headers) + "|")
            for r, row in enumerate(b.rows):
                cells = [f"**{_md(c)}**" if _is_bold(b, r, i) else _md(c) for i, c in enumerate(row)]
                out.append("| " + " | ".join(cells) + " |")
            out.append("")
        elif isinstance(b, Figure):
            out += [f"![{_md(b.caption)}]({b.path})", "", f"*{_md(b.caption)}*", ""]
    return "\n".join(out).rstrip() + "\n"


def _is_bold(table: Table, r: int, c: int) -> bool:
    return bool(table.bold) and table.bold[r][c]


# ---------------------------------------------------------------------------- HTML
CSS = """
body{font:15px/1.5 system-ui,-apple-system,Segoe UI,sans-serif;max-width:1320px;margin:2em auto;
padding:0 1em;color:#222}h1{font-size:1.6em}h2{margin-top:1.8em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:1em 0;font-size:13px;display:block;overflow-x:auto;max-width:100%}th,td{padding:4px 8px;
border-bottom:1px solid #e5e5e5;text-align:right}th:first-child,td:first-child{text-align:left}
th{background:#f6f6f6}table.sortable thead tr:last-child th{cursor:pointer}
th.group{text-align:center;border-left:2px solid #fff;font-weight:600;color:#444}figure{margin:1.5em 0}
figure img{max-width:100%}figcaption{color:#555;font-size:13px}
small.ci{color:#888;font-size:10px;white-space:nowrap}
div.tools{display:flex;gap:1em;align-items:center;margin-top:1em}div.tools input{padding:3px 6px}
div.scroll{max-height:85vh;overflow:auto;margin:.5em 0 1em;border:1px solid #e5e5e5}
div.scroll table{display:table;margin:0;overflow:visible;max-width:none}
div.scroll thead{position:sticky;top:0;z-index:2}
div.scroll td:first-child{position:sticky;left:0;z-index:1;background:#fff}
div.scroll th:first-child{position:sticky;left:0;z-index:3}
#overview td{white-space:nowrap}#verdict td,#verdict th{text-align:left}
th.group{cursor:pointer;user-select:none}th[title]{text-decoration:underline dotted #aaa}
"""
# A wide table: type to filter its rows (model name or family), click a column group to fold it
# to its first column and back.
TOOLS_JS = """
document.querySelectorAll('input.filter').forEach(function(inp){
 var t=document.getElementById(inp.dataset.table);
 inp.addEventListener('input',function(){var q=inp.value.trim().toLowerCase();
  Array.from(t.tBodies[0].rows).forEach(function(r){
   var text=(r.cells[0].textContent+' '+(r.dataset.tags||'')).toLowerCase();
   r.style.display=(!q||text.indexOf(q)>=0)?'':'none'})})});
document.querySelectorAll('th.group').forEach(function(th){
 var t=th.closest('table'),start=0,c=th;
 while((c=c.previousElementSibling))start+=parseInt(c.dataset.span||c.colSpan);
 var span=parseInt(th.colSpan);th.dataset.span=span;th.dataset.label=th.textContent;
 if(!th.textContent)return;
 th.title='click to fold or unfold these columns';
 th.addEventListener('click',function(){var fold=!th.classList.contains('folded');
  th.classList.toggle('folded',fold);th.colSpan=fold?1:span;
  th.textContent=fold?'▸ '+th.dataset.label+' (+'+(span-1)+')':th.dataset.label;
  var rows=[t.tHead.rows[t.tHead.rows.length-1]].concat(Array.from(t.tBodies[0].rows));
  rows.forEach(function(r){for(var i=start+1;i<start+span;i++)r.cells[i].style.display=fold?'none':''})})});
"""
# Click a header to sort by that column; numbers compare as numbers ("0.91 ± 0.01" -> 0.91).
SORT_JS = """
document.querySelectorAll('table.sortable').forEach(function(t){
 var hs=t.tHead.rows[t.tHead.rows.length-1].cells;
 Array.from(hs).forEach(function(th,i){th.addEventListener('click',function(){
  var b=t.tBodies[0],rs=Array.from(b.rows),asc=th.dataset.dir!=='asc';
  Array.from(hs).forEach(function(h){delete h.dataset.dir});th.dataset.dir=asc?'asc':'desc';
  var key=function(r){var s=r.cells[i].textContent.trim(),v=parseFloat(s);return isNaN(v)?s:v};
  rs.sort(function(a,c){var x=key(a),y=key(c),nx=typeof x==='number',ny=typeof y==='number';
   if(nx!==ny)return nx?-1:1;  /* blanks ("–") last in either direction */
   var d=nx?x-y:String(x).localeCompare(String(y));return asc?d:-d});
  rs.forEach(function(r){b.appendChild(r)});
 })})});
"""


def _note(table: Table, r: int, c: int) -> str:
    note = table.notes[r][c] if table.notes else ""
    return f'<br><small class="ci">{_h(note)}</small>' if note else ""


def _shade(table: Table, r: int, c: int) -> str:
    """A green (best) to pale (worst) background: how the overview reads at a glance."""
    value = table.shade[r][c] if table.shade else None
    return "" if value is None else f' style="background:hsl(140,55%,{95 - 35 * value:.0f}%)"'


def _h(text: str) -> str:
    return html.escape(str(text), quote=True)


def _html_table(b: Table) -> str:
    """One table; a sortable one with an id gets a row filter, foldable column groups, a sticky
    header and first column, and its CSV as a data-URI download (the page stays one file)."""
    attrs = (f' id="{_h(b.id)}"' if b.id else "") + (' class="sortable"' if b.sortable else "")
    head = "".join(f'<th title="{_h(b.help[i])}">{_h(h)}</th>' if b.help and b.help[i] else f"<th>{_h(h)}</th>"
                   for i, h in enumerate(b.headers))
    if b.groups:
        group_row = "".join(f'<th colspan="{n}" class="group">{_h(g)}</th>' for g, n in b.groups)
        head = f"{group_row}</tr><tr>{head}"
    body = "".join(
        (f'<tr data-tags="{_h(b.tags[r])}">' if b.tags and b.tags[r] else "<tr>")
        + "".join(f"<td{_shade(b, r, i)}>{'<b>' + _h(c) + '</b>' if _is_bold(b, r, i) else _h(c)}"
                  f"{_note(b, r, i)}</td>" for i, c in enumerate(row)) + "</tr>"
        for r, row in enumerate(b.rows))
    table = f"<table{attrs}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    if not (b.sortable and b.id):
        return table
    tools = (f'<input type="search" class="filter" data-table="{_h(b.id)}" '
             f'placeholder="filter: model or family" aria-label="filter rows of {_h(b.id)}">')
    if b.csv:
        data = base64.b64encode(b.csv.encode()).decode("ascii")
        tools += (f'<a class="csv" download="{_h(b.id)}.csv" '
                  f'href="data:text/csv;charset=utf-8;base64,{data}">download this table as CSV</a>')
    return f'<div class="tools">{tools}</div><div class="scroll">{table}</div>'


def to_html(blocks: list[Block], title: str, images: dict[str, bytes]) -> str:
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           # No network: the policy forbids every fetch; images are inline data URIs.
           "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
           "img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'\">",
           f"<title>{_h(title)}</title><style>{CSS}</style></head><body>", f"<h1>{_h(title)}</h1>"]
    for b in blocks:
        if isinstance(b, Heading):
            out.append(f"<h{b.level}>{_h(b.text)}</h{b.level}>")
        elif isinstance(b, Para):
            out.append(f"<p>{_h(b.text)}</p>")
        elif isinstance(b, Bullets):
            out.append("<ul>" + "".join(f"<li>{_h(i)}</li>" for i in b.items) + "</ul>")
        elif isinstance(b, Table):
            out.append(_html_table(b))
        elif isinstance(b, Figure):
            data = base64.b64encode(images[b.path]).decode("ascii")
            out.append(f'<figure><img alt="{_h(b.caption)}" src="data:image/png;base64,{data}">'
                       f"<figcaption>{_h(b.caption)}</figcaption></figure>")
    out.append(f"<script>{SORT_JS}{TOOLS_JS}</script></body></html>")
    return "\n".join(out) + "\n"
