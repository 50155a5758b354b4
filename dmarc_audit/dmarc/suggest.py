"""The DMARC record to publish: a record with every problem fixed, or a first one.

Pure text work over the parsed record (:mod:`dmarc_audit.records.dmarc`); the
rules in :mod:`dmarc_audit.checks.dmarc` attach the result to their findings.
"""

from __future__ import annotations

import difflib

from dmarc_audit.orgdomain import is_public_suffix
from dmarc_audit.records.dmarc import DmarcRecord, Policy, parse_dmarc, recover_tags


def suggest_dmarc_record(
    record: DmarcRecord | None, domain: str, *, sends_mail: bool = True
) -> str:
    """The record to publish at ``_dmarc.<domain>``: ``record`` with every problem fixed.

    Invalid or unknown tags are repaired (close typos) or dropped, the removed
    tags (pct, rf, ri, ``!size``) are dropped, and the user's report URIs are
    kept. The policy moves one safe step forward: under an enforcing ``p`` a
    ``pct`` below 100 or ``t=y`` is removed first; otherwise none → quarantine →
    reject (``sp`` likewise).
    A missing or unreadable ``p`` becomes ``p=none`` (monitor first). Without a
    record: ``v=DMARC1; p=none; rua=mailto:dmarc-reports@<domain>``. For a domain
    that sends no mail the policy is ``reject`` straight away.
    """
    default_rua = f"mailto:dmarc-reports@{domain}"
    if record is None or record.text.strip().lower().startswith("v=spf1"):
        policy = "none" if sends_mail else "reject"
        return f"v=DMARC1; p={policy}; rua={default_rua}"
    tags = recover_tags(record.text)
    p = _policy_value(tags.get("p"))
    sp = _policy_value(tags.get("sp"))
    np = _policy_value(tags.get("np"))
    pct = tags.get("pct", "100")
    ramping = p in (Policy.QUARANTINE, Policy.REJECT) and (
        (pct.isdigit() and int(pct) < 100) or tags.get("t", "").lower() == "y"
    )
    as_written = record.valid and not record.fallback and isinstance(record.tag("p"), Policy)
    if not sends_mail:
        p, sp = Policy.REJECT, (Policy.REJECT if sp is not None else None)
    elif p is None:
        p = Policy.NONE
    elif as_written and not ramping:
        p = p.step_up()
        sp = sp.step_up() if sp is not None else None
    parts = ["v=DMARC1", f"p={p.value}"]
    if sp is not None and sp is not p:
        parts.append(f"sp={sp.value}")
    if np is not None and np is not (sp or p):
        parts.append(f"np={np.value}")
    for name in ("adkim", "aspf"):
        if tags.get(name, "").lower() == "s":
            parts.append(f"{name}=s")
    if tags.get("psd", "").lower() == "n" or (
        tags.get("psd", "").lower() == "y" and is_public_suffix(domain)
    ):
        parts.append(f"psd={tags['psd'].lower()}")
    rua = _repair_uris(tags.get("rua", "")) or [default_rua]
    parts.append("rua=" + ",".join(rua))
    ruf = _repair_uris(tags.get("ruf", ""))
    if ruf:
        parts.append("ruf=" + ",".join(ruf))
        fo = _repair_fo(tags.get("fo", ""))
        if fo:
            parts.append(f"fo={fo}")
    return "; ".join(parts)


def _policy_value(value: str | None) -> Policy | None:
    if not value:
        return None
    word = value.strip().lower()
    names = [p.value for p in Policy]
    if word in names:
        return Policy(word)
    prefix = [n for n in names if n.startswith(word)]
    if len(prefix) == 1:
        return Policy(prefix[0])
    close = difflib.get_close_matches(word, names, n=1, cutoff=0.6)
    return Policy(close[0]) if close else None


def _repair_uris(value: str) -> list[str]:
    """Valid URIs as meant: scheme-less addresses get ``mailto:``, an address cut in two
    by a literal ',' is joined again (``%2C``), size suffixes and duplicates dropped."""
    entries = [e.strip().split("!", 1)[0] for e in value.split(",")]
    joined: list[str] = []
    for entry in entries:
        if not entry:
            continue
        if (
            joined
            and ":" not in entry
            and joined[-1].lower().startswith("mailto:")
            and "@" not in joined[-1]
        ):
            joined[-1] += "%2C" + entry
            continue
        joined.append(entry if ":" in entry or "@" not in entry else f"mailto:{entry}")
    out: list[str] = []
    for entry in joined:
        if entry.lower().startswith("mailto:") and "@" not in entry:
            continue
        parsed = parse_dmarc(f"v=DMARC1; rua={entry}").rua
        if parsed and parsed[0].uri not in out:
            out.append(parsed[0].uri)
    return out


def _repair_fo(value: str) -> str:
    options = [o.strip().lower() for o in value.split(":") if o.strip()]
    options = [o for o in dict.fromkeys(options) if o in ("0", "1", "d", "s")]
    if "0" in options and "1" in options:
        options.remove("0")
    return ":".join(options)
