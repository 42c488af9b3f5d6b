"""``report.html``: the class at a glance, in one self-contained page.

Score distributions per exercise, the checks most often failed with how many students
failed each, similar submissions (a hint for a human, never a penalty), and a table of
students that sorts by any column when its header is clicked, with each student's flags,
notes, the audit of changes to their score, and a link to their feedback file.
Everything is inline (CSS, script, no fonts, no images), and a content security policy
forbids the page any network access, so it opens from a file or an LMS attachment.
"""

from __future__ import annotations

import html
import statistics
from collections import Counter
from typing import TYPE_CHECKING

from grader.batch.similarity import Pair
from grader.batch.store import Manifest
from grader.model import CheckStatus

if TYPE_CHECKING:
    from grader.batch.gradebook import Row

BUCKETS = ("0", "1–49%", "50–79%", "80–99%", "100%")
MOST_FAILED = 20
MOST_SIMILAR = 200
NOT_GRADED = "missing"

STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 96rem; padding: 0 1rem; color: #1d1d1f; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; } h2 { margin-top: 2.2rem; font-size: 1.25rem; }
.summary { color: #555; }
.distributions { display: grid; grid-template-columns: repeat(auto-fill, minmax(20rem, 1fr)); gap: 1rem 2rem; }
.distribution h3 { font-size: 1rem; margin: .6rem 0 .3rem; }
.bar { display: grid; grid-template-columns: 4.5rem 1fr 2.5rem; align-items: center; gap: .4rem; font-size: .85rem; }
.track { background: #eee; height: .9rem; border-radius: 2px; }
.fill { background: #3b7dd8; height: 100%; border-radius: 2px; }
.statuses { font-size: .8rem; color: #555; margin: .2rem 0 0; }
table { border-collapse: collapse; width: 100%; font-size: .9rem; }
th, td { border-bottom: 1px solid #ddd; padding: .3rem .5rem; text-align: left; vertical-align: top; }
td.number, th.number { text-align: right; font-variant-numeric: tabular-nums; }
th button { font: inherit; font-weight: 600; background: none; border: 0; padding: 0; cursor: pointer; color: inherit; }
th[aria-sort=ascending] button::after { content: " ▲"; } th[aria-sort=descending] button::after { content: " ▼"; }
.passed { color: #1a7f37; } .failed { color: #b3261e; } .error { color: #9a6700; } .not_started, .missing { color: #777; }
.overridden { color: #6a3db3; font-style: italic; }
.flags, .notes, .audit { font-size: .8rem; overflow-wrap: anywhere; } .flags { color: #9a6700; min-width: 9rem; }
.notes, .audit { color: #444; min-width: 16rem; } .notes ul, .audit ul { margin: 0; padding-left: 1rem; }
.wide { overflow-x: auto; }
"""

SCRIPT = """
document.querySelectorAll("table.sortable").forEach(function (table) {
  var headers = Array.prototype.slice.call(table.tHead.rows[0].cells);
  var body = table.tBodies[0];
  headers.forEach(function (header, column) {
    header.querySelector("button").addEventListener("click", function () {
      var ascending = header.getAttribute("aria-sort") !== "ascending";
      var numeric = header.classList.contains("number");
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function (a, b) {
        var x = a.cells[column].dataset.value, y = b.cells[column].dataset.value;
        var order = numeric ? parseFloat(x) - parseFloat(y) : x.localeCompare(y);
        if (!ascending) order = -order;
        return order || a.cells[0].dataset.value.localeCompare(b.cells[0].dataset.value);
      });
      headers.forEach(function (other) { other.removeAttribute("aria-sort"); });
      header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
      rows.forEach(function (row) { body.appendChild(row); });
    });
  });
});
"""


class ClassStats:
    """What the page shows, gathered one student at a time."""

    def __init__(self, manifest: Manifest, pairs: list[Pair] | None = None) -> None:
        self.manifest = manifest
        self.pairs = pairs or []
        self.totals: list[float] = []
        self.total_buckets: Counter[str] = Counter()
        self.buckets = {e.id: Counter[str]() for e in manifest.exercises}
        self.statuses = {e.id: Counter[str]() for e in manifest.exercises}
        self.failed: Counter[tuple[str, str]] = Counter()
        self.check_names: dict[tuple[str, str], str] = {}
        self.graded = 0
        self.rows: list[str] = []

    def add(self, row: Row) -> None:
        self.totals.append(row.total)
        self.total_buckets[bucket(row.total, self.manifest.max_score)] += 1
        for exercise in self.manifest.exercises:
            self.statuses[exercise.id][row.statuses[exercise.id]] += 1
            if row.statuses[exercise.id] != NOT_GRADED:
                self.buckets[exercise.id][bucket(row.scores[exercise.id], exercise.max_score)] += 1
        if row.record is not None:
            self.graded += 1
            for result in row.record.report.exercises:
                for check in result.checks:
                    if check.status in (CheckStatus.FAILED, CheckStatus.ERROR):
                        self.failed[(result.id, check.id)] += 1
                        self.check_names[(result.id, check.id)] = check.name
        self.rows.append(self._row(row))

    def _row(self, row: Row) -> str:
        total = f"{row.total:g}"
        cells = [_cell(row.student, row.student), _cell(row.name, row.name), _cell(total, total, "number")]
        for exercise in self.manifest.exercises:
            score = row.scores[exercise.id]
            status = row.statuses[exercise.id]
            cells.append(f'<td class="number {status}" data-value="{score:g}" title="{_e(status)}">{score:g}</td>')
        late = "late" if row.late.late else ""
        cells.append(_cell(late, late))
        cells.append(_cell(" ".join(row.flags), ", ".join(row.flags), "flags"))
        cells += [_list_cell(row.notes, "notes"), _list_cell(row.audit(), "audit")]
        cells.append(f'<td data-value="{_e(row.feedback)}"><a href="{_e(row.feedback)}">feedback</a></td>')
        return "<tr>" + "".join(cells) + "</tr>"


def bucket(score: float, maximum: float) -> str:
    """The distribution bar a score belongs to."""
    if score <= 0:
        return BUCKETS[0]
    if score >= maximum:
        return BUCKETS[-1]
    share = score / maximum
    return BUCKETS[1] if share < 0.5 else BUCKETS[2] if share < 0.8 else BUCKETS[3]


def render_class_report(stats: ClassStats) -> str:
    manifest = stats.manifest
    title = _e(manifest.kit_title or manifest.kit)
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'\">",
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>Class report: {title}</title><style>{STYLE}</style></head><body>",
        f"<h1>Class report: {title}</h1>",
        f'<p class="summary">{_summary(stats)}</p>',
        '<section id="distributions"><h2>Scores per exercise</h2><div class="distributions">',
        _distribution("total", "all exercises", manifest.max_score, stats.total_buckets, Counter()),
        *(_distribution(e.id, e.title, e.max_score, stats.buckets[e.id], stats.statuses[e.id]) for e in manifest.exercises),
        "</div></section>",
        _most_failed(stats),
        _similar(stats),
        _students(stats),
        f"<script>{SCRIPT}</script></body></html>",
    ]
    return "\n".join(parts) + "\n"


def _summary(stats: ClassStats) -> str:
    count = len(stats.totals)
    if not count:
        return "No students."
    maximum = stats.manifest.max_score
    mean, median = statistics.fmean(stats.totals), statistics.median(stats.totals)
    return f"{count} students, {stats.graded} graded · mean {mean:.1f} · median {median:g} of {maximum:g} points"


def _distribution(exercise: str, title: str, maximum: float, counts: Counter[str], statuses: Counter[str]) -> str:
    largest = max(counts.values(), default=0) or 1
    bars = [
        f'<div class="bar"><span>{_e(label)}</span><div class="track"><div class="fill" style="width:{100 * counts[label] / largest:.1f}%"></div></div><span>{counts[label]}</span></div>'
        for label in BUCKETS
    ]
    words = " · ".join(f'<span class="{_e(s)}">{_e(s.replace("_", " "))} {n}</span>' for s, n in sorted(statuses.items()))
    return (
        f'<div class="distribution" data-exercise="{_e(exercise)}"><h3>{_e(exercise)}: {_e(title)} '
        f'<small>({maximum:g} points)</small></h3>{"".join(bars)}<p class="statuses">{words}</p></div>'
    )


def _most_failed(stats: ClassStats) -> str:
    ranked = sorted(stats.failed.items(), key=lambda item: (-item[1], item[0]))[:MOST_FAILED]
    if not ranked:
        return '<section id="failed-checks"><h2>Checks most often failed</h2><p>No check failed.</p></section>'
    rows = [
        f"<tr><td>{_e(exercise)}</td><td>{_e(stats.check_names[(exercise, check)])} <small>({_e(check)})</small></td>"
        f'<td class="number">{count}</td><td class="number">{100 * count / max(stats.graded, 1):.0f}%</td></tr>'
        for (exercise, check), count in ranked
    ]
    head = '<tr><th>Exercise</th><th>Check</th><th class="number">Students</th><th class="number">of graded</th></tr>'
    return f'<section id="failed-checks"><h2>Checks most often failed</h2><table><thead>{head}</thead><tbody>{"".join(rows)}</tbody></table></section>'


def _students(stats: ClassStats) -> str:
    headers = ['<th aria-sort="ascending"><button type="button">Student</button></th>', '<th><button type="button">Name</button></th>']
    headers.append('<th class="number"><button type="button">Total</button></th>')
    headers += [f'<th class="number" title="{_e(e.title)}"><button type="button">{_e(e.id)}</button></th>' for e in stats.manifest.exercises]
    headers += [f'<th><button type="button">{label}</button></th>' for label in ("Late", "Flags", "Notes", "Changes", "Feedback")]
    return (
        '<section id="students"><h2>Students</h2><div class="wide"><table id="students-table" class="sortable">'
        f'<thead><tr>{"".join(headers)}</tr></thead><tbody>{"".join(stats.rows)}</tbody></table></div></section>'
    )


def _similar(stats: ClassStats) -> str:
    intro = (
        "<p>Pairs whose code for an exercise is nearly the same once names, comments and the order of statements are "
        "set aside (1 = the same). A hint for a closer look, never a penalty: similar code can be honest work.</p>"
    )
    if not stats.pairs:
        return f'<section id="similar"><h2>Similar submissions</h2>{intro}<p>No similar pairs.</p></section>'
    rows = [
        f'<tr><td>{_e(p.exercise)}</td><td>{_e(p.first)}</td><td>{_e(p.second)}</td><td class="number">{p.score:.2f}</td></tr>'
        for p in stats.pairs[:MOST_SIMILAR]
    ]
    more = len(stats.pairs) - MOST_SIMILAR
    tail = f"<p>And {more} more pairs, less similar: everyone in a pair has a <code>similar:</code> flag.</p>" if more > 0 else ""
    head = '<tr><th>Exercise</th><th>Student</th><th>Student</th><th class="number">Similarity</th></tr>'
    return f'<section id="similar"><h2>Similar submissions</h2>{intro}<table><thead>{head}</thead><tbody>{"".join(rows)}</tbody></table>{tail}</section>'


def _list_cell(lines: list[str], css: str) -> str:
    items = "".join(f"<li>{_e(line)}</li>" for line in lines)
    return f'<td class="{css}" data-value="{_e(" ".join(lines))}">{f"<ul>{items}</ul>" if lines else ""}</td>'


def _cell(value: str, shown: str, css: str = "") -> str:
    css_attr = f' class="{css}"' if css else ""
    return f'<td{css_attr} data-value="{_e(value)}">{_e(shown)}</td>'


def _e(text: str) -> str:
    return html.escape(text, quote=True)
