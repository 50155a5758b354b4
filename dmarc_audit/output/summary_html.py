"""``reports summary --format html``: the dashboard as one self-contained HTML file.

No scripts, fonts, images or style sheets from anywhere (a Content-Security-Policy
says so to the browser); the chart is inline SVG. Readable from a 360 px phone to a
desktop: the sender table becomes one card per sender on narrow screens, and the
chart scales with the page (its text stays at least 12 px at 400 px wide).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from html import escape

from dmarc_audit.reports.summary import DayFigures, Figures, Readiness, Summary, percent
from dmarc_audit.senders.facts import SpfPosture
from dmarc_audit.senders.table import SenderRow, SenderState

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
GOOD_RATE = 0.98
CHART_W, CHART_H = 600, 260
"""The chart's drawing size; it is shown at the page width (100%)."""
CHART_FONT = 22
"""SVG text size in drawing units: 22 × 380 / 600 ≈ 14 px on a 400 px wide screen."""

STATE_CLASS = {
    SenderState.ALIGNED: "ok",
    SenderState.NOT_ALIGNED: "warn",
    SenderState.NOT_AUTHORISED: "bad",
    SenderState.FORWARDING: "info",
    SenderState.SPOOFING: "spoof",
    SenderState.UNKNOWN: "muted",
}


@dataclass(frozen=True, slots=True)
class SummaryPage:
    """What the page shows: the summary, its daily series, the posture when DNS was asked."""

    summary: Summary
    days: tuple[DayFigures, ...] = ()
    posture: Mapping[str, SpfPosture] = field(default_factory=dict)


def render_html(page: SummaryPage) -> str:
    """The whole page, as text."""
    s = page.summary
    domains = ", ".join(s.domains) or "no domain"
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>DMARC report: {escape(domains)}</title>",
        f"<style>{_STYLE}</style></head><body><main>",
        _header(s),
        _headline(s),
        _chart_section(page.days),
        _senders(s.senders),
        _readiness(s.readiness),
        _posture(page.posture),
        _reporters(s),
        _FOOTER,
        "</main></body></html>",
    ]
    return "\n".join(p for p in parts if p) + "\n"


def _header(s: Summary) -> str:
    first = s.first_begin.strftime("%Y-%m-%d") if s.first_begin else "?"
    last = s.last_end.strftime("%Y-%m-%d") if s.last_end else "?"
    reporters = len(s.reporters)
    return (
        f"<header><h1>{escape(', '.join(s.domains))}</h1>"
        f'<p class="muted" id="period">{first} → {last} · {s.reports:,} reports from '
        f"{reporters} reporter{'s' if reporters != 1 else ''}</p></header>"
    )


def _previous_totals(rows: Sequence[SenderRow]) -> Figures | None:
    previous = [r.previous for r in rows if r.previous is not None]
    if not previous:
        return None
    return sum(previous, Figures())


def first_action(rows: Sequence[SenderRow]) -> SenderRow | None:
    """The sender whose fix helps most: a sender to fix with the most failing messages."""
    candidates = [r for r in rows if r.state.to_fix and r.fix]
    if not candidates:
        return None
    return max(candidates, key=lambda r: (r.figures.failing, r.figures.messages))


def _headline(s: Summary) -> str:
    t = s.totals
    trend = ""
    before = _previous_totals(s.senders)
    if before is not None and before.messages and t.messages:
        delta = ((t.pass_rate or 0) - (before.pass_rate or 0)) * 100
        sign = "+" if delta >= 0 else "\u2212"
        trend = (
            f'<span class="trend" id="trend">{sign}{abs(delta):.1f} points vs the '
            f"previous period ({percent(before.pass_rate)})</span>"
        )
    action = first_action(s.senders)
    if action is not None:
        todo = f'<p id="first-action"><strong>Do this first:</strong> {_fix_html(action)}</p>'
    elif s.senders:
        todo = (
            '<p id="first-action"><strong>Nothing to fix:</strong> '
            "every sender of yours passes.</p>"
        )
    else:
        todo = ""
    return (
        '<section class="headline">'
        f'<div class="big" id="pass-rate">{percent(t.pass_rate)}</div>'
        f'<div><div class="label">of {t.messages:,} messages pass DMARC</div>{trend}'
        f'<div class="muted">{percent(t.rate(t.spf_aligned))} SPF aligned · '
        f"{percent(t.rate(t.dkim_aligned))} DKIM aligned</div></div>{todo}</section>"
    )


def _fix_html(row: SenderRow) -> str:
    """The fix line; the part between backticks is the record, shown as code."""
    text = row.fix or ""
    pieces = text.split("`")
    out = []
    for i, piece in enumerate(pieces):
        out.append(f"<code>{escape(piece)}</code>" if i % 2 else escape(piece))
    return "".join(out)


# --- the chart ------------------------------------------------------------------------


def _chart_section(days: Sequence[DayFigures]) -> str:
    if not days:
        return ""
    return (
        "<section><h2>Daily volume and pass rate</h2>"
        f"{chart_svg(days)}"
        '<p class="legend"><span class="key bar"></span> messages per day (left axis) · '
        '<span class="key line"></span> DMARC pass rate (right axis) · '
        '<span class="key low"></span> a day under 98%</p></section>'
    )


def chart_svg(days: Sequence[DayFigures]) -> str:
    """Bars for messages, a line for the pass rate; the rate axis says where it starts."""
    left, right, top, bottom = 70, 80, 36, 46
    width, height = CHART_W - left - right, CHART_H - top - bottom
    peak = max((d.messages for d in days), default=0) or 1
    rates = [d.pass_rate for d in days if d.pass_rate is not None]
    floor = min(rates, default=1.0)
    low = max(0.0, math.floor(floor * 10 - 1e-9) / 10) if floor >= 0.5 else 0.0
    span = (1.0 - low) or 1.0
    step = width / len(days)
    f = CHART_FONT
    out = [
        f'<svg id="chart" viewBox="0 0 {CHART_W} {CHART_H}" role="img" '
        f'aria-label="Daily messages and DMARC pass rate" font-size="{f}" '
        'font-family="system-ui, sans-serif">',
        f'<text x="{left}" y="{f}" class="axis">messages</text>',
        f'<text x="{CHART_W - right + 8}" y="{f}" class="axis">pass</text>',
    ]
    for frac in (0.0, 0.5, 1.0):
        y = top + height * (1 - frac)
        out.append(
            f'<line x1="{left}" x2="{left + width}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
        )
        out.append(
            f'<text x="{left - 6}" y="{y + f / 3:.1f}" text-anchor="end" class="axis">'
            f"{_short(round(peak * frac))}</text>"
        )
        out.append(
            f'<text x="{left + width + 6}" y="{y + f / 3:.1f}" class="axis">'
            f"{(low + span * frac) * 100:.0f}%</text>"
        )
    points = []
    for i, d in enumerate(days):
        x = left + step * i
        h = height * d.messages / peak
        out.append(
            f'<rect x="{x + step * 0.15:.1f}" y="{top + height - h:.1f}" '
            f'width="{step * 0.7:.1f}" height="{h:.1f}" class="bar">'
            f"<title>{d.day.isoformat()}: {d.messages:,} messages</title></rect>"
        )
        if d.pass_rate is not None:
            y = top + height * (1 - (d.pass_rate - low) / span)
            points.append((x + step / 2, y, d))
    if len(points) > 1:
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y, _ in points)
        out.append(f'<polyline points="{path}" class="line"/>')
    for x, y, d in points:
        cls = "dot" if (d.pass_rate or 0) >= GOOD_RATE else "dot low"
        out.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="5" class="{cls}">'
            f"<title>{d.day.isoformat()}: {percent(d.pass_rate)} pass</title></circle>"
        )
    labels = {0, len(days) - 1} | ({len(days) // 2} if len(days) > 4 else set())
    for i in sorted(labels):
        x = left + step * i + step / 2
        out.append(
            f'<text x="{x:.1f}" y="{CHART_H - bottom + f + 6}" text-anchor="middle" '
            f'class="axis">{days[i].day.strftime("%m-%d")}</text>'
        )
    out.append(
        f'<text x="{left}" y="{CHART_H - 4}" class="axis note">pass-rate axis starts at '
        f"{low * 100:.0f}%</text>"
    )
    out.append("</svg>")
    return "".join(out)


def _short(n: int) -> str:
    if n >= 1_000_000:
        return f"{n / 1_000_000:.1f}M"
    if n >= 10_000:
        return f"{n / 1000:.0f}k"
    return f"{n:,}"


# --- tables ---------------------------------------------------------------------------


def _senders(rows: Sequence[SenderRow]) -> str:
    if not rows:
        return ""
    head = "".join(
        f"<th>{h}</th>"
        for h in (
            "Sender",
            "State",
            "Messages",
            "Share",
            "SPF aligned",
            "DKIM aligned",
            "DMARC pass",
            "Trend",
            "What to do",
        )
    )
    body = []
    for r in rows:
        f = r.figures
        ips = f"{len(r.ips)} IPs" if len(r.ips) > 1 else r.ips[0]
        new = ' <span class="new">new</span>' if r.new else ""
        trend = "" if r.trend is None else f"{r.trend:+.1f}".replace("-", "\u2212")
        body.append(
            "<tr>"
            f'<td data-h="Sender"><strong>{escape(r.name)}</strong>{new}'
            f'<div class="muted">{escape(ips)}</div></td>'
            f'<td data-h="State"><span class="state {STATE_CLASS[r.state]}">'
            f"{escape(r.state.label)}</span></td>"
            f'<td data-h="Messages" class="n">{f.messages:,}</td>'
            f'<td data-h="Share" class="n">{percent(r.share)}</td>'
            f'<td data-h="SPF aligned" class="n">{percent(f.rate(f.spf_aligned))}</td>'
            f'<td data-h="DKIM aligned" class="n">{percent(f.rate(f.dkim_aligned))}</td>'
            f'<td data-h="DMARC pass" class="n">{percent(f.pass_rate)}</td>'
            f'<td data-h="Trend" class="n">{trend}</td>'
            f'<td data-h="What to do" class="fix">{_fix_html(r)}</td>'
            "</tr>"
        )
    return (
        '<section><h2>Senders</h2><table id="senders"><thead><tr>'
        f"{head}</tr></thead><tbody>{''.join(body)}</tbody></table></section>"
    )


def _readiness(items: Sequence[Readiness]) -> str:
    if not items:
        return ""
    out = ['<section id="readiness"><h2>Ready to enforce?</h2>']
    for r in items:
        cls = {"ready": "ok", "not-ready": "bad"}.get(r.verdict.value, "warn")
        step = (
            f"{r.current_policy or 'p=?'} → p={r.next_policy}"
            if r.next_policy
            else (r.current_policy or "")
        )
        out.append(
            f'<div class="card"><h3>{escape(r.domain)} <span class="muted">{escape(step)}</span> '
            f'<span class="state {cls}">{escape(r.verdict.value)}</span></h3>'
            f"<p>{escape(r.message)}</p>"
        )
        if r.record and r.verdict.value in ("ready", "not-ready"):
            when = "Publish" if r.verdict.value == "ready" else "Then publish"
            out.append(
                f"<p>{when}:</p><pre><code>_dmarc.{escape(r.domain)} TXT "
                f'"{escape(r.record)}"</code></pre>'
            )
            if r.record_note:
                out.append(f'<p class="muted">Note: {escape(r.record_note)}</p>')
        out.append("</div>")
    out.append("</section>")
    return "".join(out)


def _posture(posture: Mapping[str, SpfPosture]) -> str:
    if not posture:
        return ""
    out = ['<section id="posture"><h2>DNS posture</h2>']
    for domain, p in sorted(posture.items()):
        lookups = (
            "could not check the lookup count"
            if p.lookups is None
            else f"{p.lookups} of 10 DNS lookups"
        )
        record = (
            f"<pre><code>{escape(domain)} TXT &quot;{escape(p.record)}&quot;</code></pre>"
            if p.record
            else "<p>no single SPF record</p>"
        )
        out.append(
            f'<div class="card"><h3>{escape(domain)}</h3><p>SPF: {lookups}</p>{record}</div>'
        )
    out.append("</section>")
    return "".join(out)


def _reporters(s: Summary) -> str:
    if not s.reporters:
        return ""
    rows = "".join(
        f'<tr><td data-h="Reporter">{escape(r.org_name)}</td>'
        f'<td data-h="Reports" class="n">{r.reports:,}</td>'
        f'<td data-h="Messages" class="n">{r.figures.messages:,}</td>'
        f'<td data-h="DMARC pass" class="n">{percent(r.figures.pass_rate)}</td></tr>'
        for r in s.reporters
    )
    return (
        '<section><h2>Who reported</h2><table id="reporters"><thead><tr><th>Reporter</th>'
        "<th>Reports</th><th>Messages</th><th>DMARC pass</th></tr></thead>"
        f"<tbody>{rows}</tbody></table></section>"
    )


_FOOTER = (
    "<footer><h2>Words used here</h2><dl>"
    "<dt>Authorised</dt><dd>the domain's SPF record lists the server that sent the "
    "mail.</dd>"
    "<dt>Signed</dt><dd>the mail carries a DKIM signature that checks out.</dd>"
    "<dt>Aligned</dt><dd>the authorised or signing domain is your domain (the one in "
    "the From line), not the sending service's own. DMARC passes when SPF or DKIM "
    "passes aligned.</dd>"
    "<dt>Forwarding</dt><dd>your mail passed on by someone else (a forwarder, a "
    "mailing list); nothing to publish for it.</dd>"
    "<dt>Spoofing</dt><dd>mail that claims to be you from servers that are not "
    "yours; an enforcing policy (p=quarantine, p=reject) stops it.</dd>"
    '</dl><p class="muted">Made by dmarc-audit from the DMARC aggregate reports '
    "receivers sent.</p></footer>"
)

_STYLE = """
:root{color-scheme:light dark;--fg:#1f2328;--muted:#57606a;--bg:#fff;--card:#f6f8fa;
--line:#d0d7de;--ok:#1a7f37;--warn:#9a6700;--bad:#cf222e;--info:#0969da;--spoof:#8250df}
@media (prefers-color-scheme:dark){:root{--fg:#e6edf3;--muted:#9198a1;--bg:#0d1117;
--card:#161b22;--line:#30363d}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:16px/1.5 system-ui,-apple-system,
"Segoe UI",Roboto,sans-serif}
main{max-width:1100px;margin:0 auto;padding:16px}
h1{font-size:1.5rem;margin:.2em 0}h2{font-size:1.2rem;margin:1.6em 0 .5em}
h3{font-size:1rem;margin:0 0 .4em}
.muted{color:var(--muted)}
.headline{display:flex;flex-wrap:wrap;gap:8px 24px;align-items:center;background:var(--card);
border:1px solid var(--line);border-radius:8px;padding:16px}
.big{font-size:3rem;font-weight:700;line-height:1}
.label{font-weight:600}.trend{display:block}
#first-action{flex-basis:100%;margin:.4em 0 0}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.9em}
code{background:var(--card);border:1px solid var(--line);border-radius:4px;padding:0 3px;
overflow-wrap:anywhere}
pre{white-space:pre-wrap;overflow-wrap:anywhere;margin:.3em 0}
pre code{display:block;padding:8px}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:6px 8px;border-bottom:1px solid var(--line);vertical-align:top}
th{font-size:.85rem;color:var(--muted)}
td.n{text-align:right;white-space:nowrap}
td.fix{min-width:16em}
.state{display:inline-block;border-radius:10px;padding:0 8px;font-size:.85rem;
border:1px solid currentColor;white-space:nowrap}
.ok{color:var(--ok)}.warn{color:var(--warn)}.bad{color:var(--bad)}.info{color:var(--info)}
.spoof{color:var(--spoof)}
.new{font-size:.75rem;font-weight:700;color:var(--info);text-transform:uppercase}
.card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:12px;
margin:8px 0}
svg{width:100%;max-width:760px;height:auto;display:block}
svg .grid{stroke:var(--line);stroke-width:1}
svg .axis{fill:var(--muted)}
svg .bar{fill:#a0b8d6}
svg .line{fill:none;stroke:var(--ok);stroke-width:3}
svg .dot{fill:var(--ok)}svg .dot.low{fill:var(--bad)}
.legend{font-size:.9rem;color:var(--muted)}
.key{display:inline-block;width:14px;height:10px;vertical-align:middle}
.key.bar{background:#a0b8d6}.key.line{background:var(--ok);height:3px}
.key.low{background:var(--bad);border-radius:50%;width:10px}
dt{font-weight:600}dd{margin:0 0 .5em 0}
footer{margin-top:2em;border-top:1px solid var(--line)}
@media (max-width:640px){
main{padding:10px}.big{font-size:2.4rem}
table,thead,tbody,tr,td{display:block;width:100%}
thead{display:none}
tr{background:var(--card);border:1px solid var(--line);border-radius:8px;margin:8px 0;
padding:6px 10px}
td{border:0;padding:3px 0;text-align:left}
td.n{text-align:left}
td:empty{display:none}
td[data-h]:not(:first-child)::before{content:attr(data-h) ": ";color:var(--muted);
font-size:.85rem}
}
"""
