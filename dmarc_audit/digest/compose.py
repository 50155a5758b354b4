"""Write the digest as an e-mail: a headline subject, plain text, and HTML with charts.

Structure (what Gmail and Outlook show inline)::

    multipart/alternative
      text/plain                      the same facts as the HTML, for any client
      multipart/related
        text/html                     <img src="cid:…"> for each domain's chart
        image/png                     Content-ID <…>, Content-Disposition: inline

Percentages are shown rounded down (as ``reports summary`` shows them) and the
change against the previous period is the difference of the shown values.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import cast

from dmarc_audit.digest.build import Digest, DomainDigest
from dmarc_audit.digest.changes import Changes, CompareStatus, RecordChange, RecordChangeKind
from dmarc_audit.digest.figures import DomainFigures, shown_delta
from dmarc_audit.digest.snapshot import PostureState, RecordText
from dmarc_audit.findings import Severity
from dmarc_audit.records.dmarc import Policy, parse_dmarc
from dmarc_audit.records.taglist import FWS, split_tags
from dmarc_audit.reports.summary import Figures, Readiness, ReadyVerdict, percent

TOP_FAILING = 5
NEW_SENDERS = 10
MINUS = "\u2212"


# --- facts shared by subject, text and HTML ----------------------------------------------


def delta_text(delta: float | None) -> str:
    """``+0.4``, ``−1.4`` (a real minus sign) or ``±0.0``."""
    if delta is None:
        return ""
    if delta == 0:
        return "±0.0"
    return f"+{delta:.1f}" if delta > 0 else f"{MINUS}{-delta:.1f}"


def _plural(n: int, word: str, plural: str | None = None) -> str:
    return f"{n:,} {word if n == 1 else (plural or word + 's')}"


def readiness_text(r: Readiness) -> str:
    step = f"p={r.next_policy}" if r.next_policy else ""
    return {
        ReadyVerdict.READY: f"ready for {step}",
        ReadyVerdict.NOT_READY: f"not ready for {step}",
        ReadyVerdict.NOT_ENOUGH_DATA: f"not enough data for {step}",
        ReadyVerdict.AT_REJECT: "at p=reject",
    }[r.verdict]


def figures_line(f: DomainFigures) -> str:
    """``12,408 messages (+3.2%) · 97.1% DMARC pass (−1.4 vs 98.5%) · 2 new senders · …``."""
    t, prev = f.totals, f.previous
    volume = _plural(t.messages, "message")
    if f.volume_change is not None:
        change = f.volume_change * 100
        sign = "+" if change >= 0 else MINUS
        volume += f" ({sign}{abs(change):.1f}% vs {prev.messages:,})"
    rate = f"{percent(t.pass_rate)} DMARC pass"
    if f.rate_delta is not None:
        rate += f" ({delta_text(f.rate_delta)} vs {percent(prev.pass_rate)})"
    parts = [volume, rate, _plural(f.new_senders, "new sender")]
    parts += [readiness_text(r) for r in f.summary.readiness]
    return " · ".join(parts)


def policy_note(d: DomainDigest) -> str | None:
    """Said when DNS now publishes another ``p=`` than the period's reports saw."""
    record = d.snapshot.record("dmarc")
    if record is None or not record.text or d.figures is None:
        return None
    p = parse_dmarc(record.text).tag("p")
    published = p.value if isinstance(p, Policy) else ""
    for r in d.figures.summary.readiness:
        seen = (r.current_policy or "").split(" ")[0].removeprefix("p=").lower()
        if published and seen and published != seen:
            return (
                f"{record.name} now publishes p={published}; the reports in this period "
                f"saw p={seen}, so the step above is judged from p={seen}."
            )
    return None


def posture_line(d: DomainDigest) -> str:
    p = d.posture
    if p.state is PostureState.COULD_NOT_CHECK:
        return f"could not check: {p.problem or 'DNS did not answer'}"
    return p.counts_text


def _domain_headline(d: DomainDigest) -> str:
    if d.figures is None:
        return f"{d.domain} no reports"
    rate = percent(d.figures.totals.pass_rate)
    delta = delta_text(d.figures.rate_delta)
    return f"{d.domain} {rate} pass" + (f" ({delta})" if delta else "")


def subject(digest: Digest) -> str:
    """``dmarc-audit weekly: example.com 97.1% pass (−1.4), 2 new senders, 1 new error``."""
    domains = digest.domains
    if len(domains) <= 2:
        parts = [_domain_headline(d) for d in domains]
    else:
        reported = [d.figures for d in domains if d.figures]
        now = sum((f.totals for f in reported), Figures())
        before = sum((f.previous for f in reported), Figures())
        head = f"{len(domains)} domains"
        if now.messages:
            head += f" {percent(now.pass_rate)} pass"
            delta = delta_text(shown_delta(now.pass_rate, before.pass_rate))
            head += f" ({delta})" if delta else ""
        parts = [head]
    if digest.new_senders:
        parts.append(_plural(digest.new_senders, "new sender"))
    for severity in (Severity.ERROR, Severity.WARNING):
        n = digest.new_findings(severity)
        if n:
            parts.append(f"{n} new {severity.value}{'s' if n != 1 else ''}")
    fixed = sum(len(d.changes.fixed) for d in domains)
    if fixed:
        parts.append(f"{fixed} fixed")
    unchecked = sum(1 for d in domains if d.posture.state is PostureState.COULD_NOT_CHECK)
    if unchecked:
        parts.append(
            "posture could not be checked"
            if unchecked == len(domains)
            else f"{unchecked} not checked"
        )
    if (
        not any(d.changes.new or d.changes.fixed or d.changes.records for d in domains)
        and not digest.new_senders
        and not unchecked
        and any(d.changes.status is CompareStatus.COMPARED for d in domains)
    ):
        parts.append("no changes")
    return f"dmarc-audit {digest.period.label}: " + ", ".join(parts)


def record_shown(change_key: str, record: RecordText | None) -> str:
    """The record as a digest shows it; DKIM keys are shortened to their ends."""
    if record is None or record.text is None:
        return f"({record.state.value})" if record else "(not looked up)"
    text = record.text
    if change_key.startswith("dkim:"):
        text = _short_key(text)
    return text


def _short_key(text: str) -> str:
    """The key record with a long ``p=`` value cut to its ends; the rest as written."""
    for tag in reversed(split_tags(text, wsp=FWS).tags):
        if tag.name == "p" and len(tag.value) > 40:
            end = tag.offset + len(tag.text)
            text = f"{text[: end - len(tag.value)]}{tag.value[:16]}…{tag.value[-12:]}{text[end:]}"
    return text


def _txt(name: str, record: str) -> str:
    return f'{name} TXT "{record}"'


def _since(changes: Changes) -> str:
    return changes.since.strftime("%Y-%m-%d %H:%M UTC") if changes.since else "?"


def _area_label(area: str) -> str:
    return "other checks" if area == "other" else area.upper()


# --- plain text ----------------------------------------------------------------------------


def text_body(digest: Digest) -> str:
    lines = [f"dmarc-audit {digest.period.label} digest: {digest.period.describe()}"]
    if digest.last_digest:
        lines.append(
            "Changes are since the last digest sent to this list "
            f"({digest.last_digest.sent_at.strftime('%Y-%m-%d %H:%M UTC')})."
        )
    else:
        lines.append("First digest for this list: changes are shown from the next one on.")
    for d in digest.domains:
        lines += ["", f"== {d.display} ==", ""]
        lines += _text_domain(d)
    lines += [
        "",
        "--",
        f"dmarc-audit digest · generated {digest.generated_at:%Y-%m-%d %H:%M} "
        "UTC · figures from the report store, posture from DNS",
    ]
    return "\n".join(lines) + "\n"


def _text_domain(d: DomainDigest) -> list[str]:
    f = d.figures
    lines = [figures_line(f) if f else "No aggregate reports in this period."]
    lines += ["", f"Posture now: {posture_line(d)}"]
    top = d.posture.top_fix
    if top is not None and d.posture.state is not PostureState.COULD_NOT_CHECK:
        lines.append(f"  most important: {top.severity.value} {top.id}: {top.message}")
        if top.remediation:
            lines.append(f"    fix: {top.remediation}")
        if top.record:
            lines.append(f'    record: {top.subject} "{top.record}"')
        if top.suggested_record and top.suggested_record not in top.remediation:
            lines.append(f"    publish: {_txt(top.subject, top.suggested_record)}")
    lines += ["", *_text_changes(d.changes)]
    if f is not None:
        lines += _text_figures(f, policy_note(d))
    return lines


def _text_changes(c: Changes) -> list[str]:
    if c.status is CompareStatus.FIRST:
        return ["Changes: none to show yet (first digest for this list)."]
    if c.status is CompareStatus.NOT_CHECKED:
        return [
            "Changes: not compared (DNS could not be checked); they will be in the next digest."
        ]
    head = f"Changes since {_since(c)}:"
    lines = [f"{head} none."] if c.empty else [head]
    for f in c.new:
        lines.append(f"  + new   {f.severity.value:<8} {f.id}: {f.message}")
    for f in c.fixed:
        lines.append(f"  - fixed {f.severity.value:<8} {f.id}: {f.message}")
    for r in c.records:
        lines += _text_record_change(r)
    if c.not_compared:
        areas = ", ".join(_area_label(a) for a in c.not_compared)
        lines.append(f"  not compared (lookups failed): {areas}")
    return lines


def _text_record_change(r: RecordChange) -> list[str]:
    name = r.name or ""
    if r.kind is RecordChangeKind.ADDED:
        return [f"  {r.label} record added at {name}:", f"    now: {record_shown(r.key, r.after)}"]
    if r.kind is RecordChangeKind.REMOVED:
        return [
            f"  {r.label} record removed from {name}:",
            f"    was: {record_shown(r.key, r.before)}",
        ]
    return [
        f"  {r.label} record changed at {name}:",
        f"    was: {record_shown(r.key, r.before)}",
        f"    now: {record_shown(r.key, r.after)}",
    ]


def _text_figures(f: DomainFigures, note: str | None) -> list[str]:
    s = f.summary
    lines = [""]
    if s.top_failing:
        lines.append("Top failing sources:")
        for src in s.top_failing[:TOP_FAILING]:
            host = f" ({src.ptr.name})" if src.ptr and src.ptr.name else ""
            label = src.diagnosis.reason.label if src.diagnosis else ""
            lines.append(
                f"  {src.source_ip}{host}: {src.figures.failing:,} failing of "
                f"{src.figures.messages:,} · {label}"
            )
            if src.diagnosis:
                lines.append(f"    → {src.diagnosis.fix}")
    else:
        lines.append("Top failing sources: none.")
    new = s.new_sources or ()
    if new:
        shown = ", ".join(
            f"{n.source_ip} ({_plural(n.figures.messages, 'msg')}, "
            f"{percent(n.figures.pass_rate)} pass)"
            for n in new[:NEW_SENDERS]
        )
        more = len(new) - NEW_SENDERS
        lines.append(
            f"New senders (never seen before): {shown}" + (f", … {more} more" if more > 0 else "")
        )
    else:
        lines.append("New senders (never seen before): none.")
    for r in s.readiness:
        step = (
            f"{r.current_policy or 'p=?'} → p={r.next_policy}"
            if r.next_policy
            else (r.current_policy or "")
        )
        lines.append(f"Readiness: {step}: {r.verdict.value}. {r.message}")
        if r.fix_first:
            items = ", ".join(
                f"{x.source_ip} ({x.failing:,}, {x.reason.value})" for x in r.fix_first[:5]
            )
            lines.append(f"  fix first: {items}")
        if r.record and r.verdict in (ReadyVerdict.READY, ReadyVerdict.NOT_READY):
            when = "publish" if r.verdict is ReadyVerdict.READY else "then publish"
            lines.append(f"  {when}: {_txt(f'_dmarc.{r.domain}', r.record)}")
            if r.record_note:
                lines.append(f"  note: {r.record_note}")
    if note:
        lines.append(f"  note: {note}")
    lines += ["", "Daily (UTC)   messages   DMARC pass"]
    for day in f.days:
        rate = percent(day.pass_rate) if day.messages else "-"
        lines.append(f"  {day.day:%Y-%m-%d} {day.messages:>10,} {rate:>12}")
    return lines


# --- HTML ----------------------------------------------------------------------------------

_FONT = "font-family:-apple-system,'Segoe UI',Helvetica,Arial,sans-serif"
_CODE = (
    "font-family:Consolas,Menlo,monospace;font-size:12px;background:#f6f8fa;"
    "padding:1px 4px;word-break:break-all"
)
_MUTED = "color:#57606a"
_SEVERITY_COLOUR = {
    Severity.ERROR: "#cf222e",
    Severity.WARNING: "#9a6700",
    Severity.INFO: "#57606a",
}


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _code(text: str) -> str:
    return f'<code style="{_CODE}">{_e(text)}</code>'


def html_body(digest: Digest, cids: Mapping[str, str]) -> str:
    """The HTML part; ``cids`` maps a domain to its chart's Content-ID (without ``<>``)."""
    out = [
        "<!DOCTYPE html>",
        '<html><head><meta charset="utf-8">',
        f"<title>{_e(subject(digest))}</title></head>",
        f'<body style="margin:0;padding:16px;{_FONT};font-size:14px;color:#1f2328;'
        'background:#ffffff">',
        '<div style="max-width:640px">',
        f'<h1 style="font-size:18px;margin:0 0 4px">dmarc-audit {_e(digest.period.label)} '
        "digest</h1>",
        f'<p style="margin:0 0 16px;{_MUTED}">{_e(digest.period.describe())}',
    ]
    if digest.last_digest:
        out.append(
            " · changes since the last digest to this list "
            f"({_e(digest.last_digest.sent_at.strftime('%Y-%m-%d %H:%M UTC'))})"
        )
    else:
        out.append(" · first digest for this list")
    out.append("</p>")
    for d in digest.domains:
        out += _html_domain(d, cids.get(d.domain))
    out += [
        f'<p style="margin:24px 0 0;font-size:12px;{_MUTED}">dmarc-audit digest · generated '
        f"{digest.generated_at:%Y-%m-%d %H:%M} UTC · figures from the report store, "
        "posture from DNS</p>",
        "</div></body></html>",
    ]
    return "\n".join(out) + "\n"


def _h3(text: str) -> str:
    return f'<h3 style="font-size:14px;margin:16px 0 4px">{_e(text)}</h3>'


def _html_domain(d: DomainDigest, cid: str | None) -> list[str]:
    f = d.figures
    out = [
        f'<h2 style="font-size:16px;margin:24px 0 4px;border-bottom:1px solid #d0d7de;'
        f'padding-bottom:4px">{_e(d.display)}</h2>'
    ]
    out.append(
        f'<p style="margin:0 0 8px">{_e(figures_line(f))}</p>'
        if f
        else f'<p style="margin:0 0 8px;{_MUTED}">No aggregate reports in this period.</p>'
    )
    if cid and f:
        alt = f"Daily messages and DMARC pass rate for {d.domain}: " + "; ".join(
            f"{x.day:%m-%d} {x.messages:,} {percent(x.pass_rate) if x.messages else '-'}"
            for x in f.days
        )
        out.append(
            f'<img src="cid:{_e(cid)}" width="600" alt="{_e(alt)}" '
            'style="display:block;width:100%;max-width:600px;height:auto;border:0">'
        )
    out.append(_h3("Posture now"))
    p = d.posture
    if p.state is PostureState.COULD_NOT_CHECK:
        out.append(
            f'<p style="margin:0;color:#9a6700"><b>could not check</b>: '
            f"{_e(p.problem or 'DNS did not answer')}</p>"
        )
    else:
        out.append(f'<p style="margin:0">{_e(p.counts_text)}</p>')
        top = p.top_fix
        if top is not None:
            colour = _SEVERITY_COLOUR[top.severity]
            out.append(
                f'<p style="margin:6px 0 0">Most important: <b style="color:{colour}">'
                f"{_e(top.severity.value)}</b> {_code(top.id)} {_e(top.message)}</p>"
            )
            if top.remediation:
                out.append(f'<p style="margin:4px 0 0 16px">fix: {_e(top.remediation)}</p>')
            if top.record:
                out.append(
                    f'<p style="margin:4px 0 0 16px">record: {_e(top.subject)} '
                    f"{_code(top.record)}</p>"
                )
            if top.suggested_record and top.suggested_record not in top.remediation:
                publish = _txt(top.subject, top.suggested_record)
                out.append(f'<p style="margin:4px 0 0 16px">publish: {_code(publish)}</p>')
    out += _html_changes(d.changes)
    if f is not None:
        out += _html_figures(f)
        note = policy_note(d)
        if note:
            out.append(f'<p style="margin:4px 0 0 16px;color:#9a6700">note: {_e(note)}</p>')
    return out


def _html_changes(c: Changes) -> list[str]:
    if c.status is CompareStatus.FIRST:
        return [
            _h3("Changes"),
            f'<p style="margin:0;{_MUTED}">None to show yet: this is the '
            "first digest for this list.</p>",
        ]
    if c.status is CompareStatus.NOT_CHECKED:
        return [
            _h3("Changes"),
            '<p style="margin:0;color:#9a6700">Not compared: DNS could not '
            "be checked. They will be in the next digest.</p>",
        ]
    out = [_h3(f"Changes since {_since(c)}")]
    if c.empty:
        out.append(f'<p style="margin:0;{_MUTED}">None.</p>')
    items = []
    for f in c.new:
        items.append(
            f'<li><b style="color:{_SEVERITY_COLOUR[f.severity]}">new '
            f"{_e(f.severity.value)}</b> {_code(f.id)} {_e(f.message)}</li>"
        )
    for f in c.fixed:
        items.append(
            f'<li><b style="color:#1a7f37">fixed</b> {_e(f.severity.value)} '
            f"{_code(f.id)} {_e(f.message)}</li>"
        )
    for r in c.records:
        verb = {
            RecordChangeKind.ADDED: "added at",
            RecordChangeKind.REMOVED: "removed from",
            RecordChangeKind.CHANGED: "changed at",
        }[r.kind]
        item = f"<li>{_e(r.label)} record {verb} {_e(r.name or '')}"
        if r.kind is not RecordChangeKind.ADDED:
            item += f"<br>was: {_code(record_shown(r.key, r.before))}"
        if r.kind is not RecordChangeKind.REMOVED:
            item += f"<br>now: {_code(record_shown(r.key, r.after))}"
        items.append(item + "</li>")
    if items:
        out.append('<ul style="margin:0;padding-left:20px">' + "".join(items) + "</ul>")
    if c.not_compared:
        areas = ", ".join(_area_label(a) for a in c.not_compared)
        out.append(
            f'<p style="margin:4px 0 0;{_MUTED}">Not compared (lookups failed): {_e(areas)}</p>'
        )
    return out


_TH = "text-align:left;padding:2px 8px 2px 0;border-bottom:1px solid #d0d7de"
_TD = "padding:2px 8px 2px 0;vertical-align:top"


def _html_figures(f: DomainFigures) -> list[str]:
    s = f.summary
    out = [_h3("Top failing sources")]
    if s.top_failing:
        rows = [
            f'<tr><th style="{_TH}">source</th><th style="{_TH};text-align:right">'
            f'failing</th><th style="{_TH}">likely reason and fix</th></tr>'
        ]
        for src in s.top_failing[:TOP_FAILING]:
            host = (
                f'<br><span style="{_MUTED}">{_e(src.ptr.name)}</span>'
                if src.ptr and src.ptr.name
                else ""
            )
            d = src.diagnosis
            why = (
                f'{_e(d.reason.label)}<br><span style="{_MUTED}">→ {_e(d.fix)}</span>' if d else ""
            )
            rows.append(
                f'<tr><td style="{_TD}">{_e(src.source_ip)}{host}</td>'
                f'<td style="{_TD};text-align:right">{src.figures.failing:,} of '
                f'{src.figures.messages:,}</td><td style="{_TD}">{why}</td></tr>'
            )
        out.append(
            '<table style="border-collapse:collapse;font-size:13px">' + "".join(rows) + "</table>"
        )
    else:
        out.append(f'<p style="margin:0;{_MUTED}">None.</p>')
    out.append(_h3("New senders (never seen before)"))
    new = s.new_sources or ()
    if new:
        shown = ", ".join(
            f"{_e(n.source_ip)} ({_plural(n.figures.messages, 'msg')}, "
            f"{percent(n.figures.pass_rate)} pass)"
            for n in new[:NEW_SENDERS]
        )
        more = len(new) - NEW_SENDERS
        out.append(
            f'<p style="margin:0">{shown}' + (f", … {more} more" if more > 0 else "") + "</p>"
        )
    else:
        out.append(f'<p style="margin:0;{_MUTED}">None.</p>')
    for r in s.readiness:
        step = (
            f"{r.current_policy or 'p=?'} → p={r.next_policy}"
            if r.next_policy
            else (r.current_policy or "")
        )
        out.append(_h3(f"Readiness: {step}"))
        colour = {ReadyVerdict.READY: "#1a7f37", ReadyVerdict.NOT_READY: "#cf222e"}.get(
            r.verdict, "#9a6700"
        )
        out.append(
            f'<p style="margin:0"><b style="color:{colour}">{_e(r.verdict.value)}</b> '
            f"{_e(r.message)}</p>"
        )
        if r.fix_first:
            items = ", ".join(
                f"{x.source_ip} ({x.failing:,}, {x.reason.value})" for x in r.fix_first[:5]
            )
            out.append(f'<p style="margin:4px 0 0 16px">fix first: {_e(items)}</p>')
        if r.record and r.verdict in (ReadyVerdict.READY, ReadyVerdict.NOT_READY):
            when = "publish" if r.verdict is ReadyVerdict.READY else "then publish"
            publish = _txt(f"_dmarc.{r.domain}", r.record)
            out.append(f'<p style="margin:4px 0 0 16px">{when}: {_code(publish)}</p>')
            if r.record_note:
                out.append(f'<p style="margin:4px 0 0 16px;{_MUTED}">note: {_e(r.record_note)}</p>')
    return out


# --- the message ---------------------------------------------------------------------------


def compose_message(digest: Digest, sender: str, *, charts: bool = True) -> EmailMessage:
    """The complete message: headers, text, HTML and one inline PNG per domain with reports."""
    from dmarc_audit.digest.chart import render_chart

    domain = sender.rpartition("@")[2] or "localhost"
    msg = EmailMessage()
    msg["Subject"] = subject(digest)
    msg["From"] = sender
    msg["To"] = ", ".join(digest.recipients)
    msg["Date"] = format_datetime(digest.generated_at)
    msg["Message-ID"] = make_msgid(idstring="digest", domain=domain)
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Auto-Response-Suppress"] = "All"
    msg.set_content(text_body(digest))
    images: dict[str, tuple[str, bytes]] = {}
    if charts:
        for d in digest.domains:
            if d.figures is not None:
                cid = make_msgid(idstring="chart", domain=domain)[1:-1]
                images[d.domain] = (cid, render_chart(d.domain, d.figures.days))
    msg.add_alternative(
        html_body(digest, {k: cid for k, (cid, _) in images.items()}), subtype="html"
    )
    if images:
        html_part = cast(EmailMessage, msg.get_payload(1))
        for name, (cid, png) in images.items():
            html_part.add_related(
                png,
                "image",
                "png",
                cid=f"<{cid}>",
                disposition="inline",
                filename=f"{_filename(name)}.png",
            )
    return msg


def _filename(domain: str) -> str:
    return "".join(c if c.isalnum() or c in ".-" else "_" for c in domain) or "chart"
