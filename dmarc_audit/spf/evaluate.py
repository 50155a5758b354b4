"""RFC 7208 ``check_host()``: may this IP send mail for this domain?

Our own evaluator over the async :class:`~dmarc_audit.dns.types.Resolver`. It
counts DNS-querying terms and void lookups across the whole evaluation (§4.6.4),
turns DNS failures into ``temperror`` where §5 says so, and records each step so
a result can be explained and its lookup count checked.

Choices where RFC 7208 leaves room (all pass the OpenSPF suite):

* a target name no DNS query can be made for (empty or over-long label) does not
  match; as an ``include``/``redirect`` target it is a ``permerror``;
* an ``mx`` with more than 10 MX records is a ``permerror`` before any address
  lookup, so the result does not depend on the order of the answer;
* the reverse (PTR) lookup of ``ptr`` and ``%{p}`` never counts as a void lookup:
  the domain owner does not control the client's reverse zone;
* the ``exp=`` lookup counts toward no limit and its failures are ignored (§6.2).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field, replace
from enum import Enum

from dmarc_audit.dns.types import Answer, Resolver
from dmarc_audit.exit_status import ExitStatus
from dmarc_audit.records.spf import (
    Mechanism,
    MechanismKind,
    Modifier,
    SpfRecord,
    is_spf_record,
    parse_spf,
)
from dmarc_audit.spf.identity import (
    derive_identity,
    dns_name_problem,
    domain_problem,
    normalize_domain,
    normalize_sender,
)
from dmarc_audit.spf.macros import (
    IPAddress,
    MacroContext,
    MacroError,
    client_ip,
    expand,
    expand_domain,
    reverse_name,
    validate_ptr,
)

LOOKUP_LIMIT = 10
"""DNS-querying terms (include, a, mx, ptr, exists, redirect) per evaluation."""
VOID_LIMIT = 2
"""Terms whose lookup may return NXDOMAIN or no data before ``permerror``."""
MX_LIMIT = 10
"""MX names one ``mx`` term may look up."""
DEFAULT_EXPLANATION = "%{o} does not designate %{c} as a permitted sender"
"""Explanation for ``fail`` when the record gives no usable ``exp=`` (a macro-string)."""


class SpfResultCode(str, Enum):
    """The seven results of ``check_host()`` (RFC 7208 §2.6)."""

    PASS = "pass"
    FAIL = "fail"
    SOFTFAIL = "softfail"
    NEUTRAL = "neutral"
    NONE = "none"
    PERMERROR = "permerror"
    TEMPERROR = "temperror"


@dataclass(frozen=True, slots=True)
class SpfResult:
    """What ``check_host()`` decided, and why."""

    result: SpfResultCode
    domain: str
    """The domain ``check_host()`` started from."""
    sender: str
    """The ``<sender>`` used (``postmaster@…`` filled in)."""
    explanation: str | None
    """For ``fail``: the expanded ``exp=`` text or the default explanation."""
    matched_term: str | None
    """The term that decided, e.g. ``-all`` or ``include:_spf.example.net``."""
    matched_domain: str | None
    """The domain whose record held ``matched_term``."""
    reason: str
    """One human line: why this result."""
    steps: tuple[str, ...]
    """The evaluation trace, one line per step (indented by include/redirect depth)."""
    lookups: int
    void_lookups: int

    @property
    def exit_status(self) -> ExitStatus:
        """0 for ``pass``, 3 for ``temperror`` (could not decide), 1 for any other result."""
        if self.result is SpfResultCode.PASS:
            return ExitStatus.OK
        if self.result is SpfResultCode.TEMPERROR:
            return ExitStatus.INCOMPLETE
        return ExitStatus.FINDINGS


class _Stop(Exception):
    """A ``permerror`` or ``temperror``: it ends the whole evaluation."""

    def __init__(
        self,
        code: SpfResultCode,
        reason: str,
        term: str | None = None,
        domain: str | None = None,
        *,
        limit: bool = False,
    ) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason
        self.term = term
        self.domain = domain
        self.limit = limit
        """A global limit was hit: not re-attributed to an enclosing include."""


@dataclass(frozen=True, slots=True)
class _Verdict:
    """A definite result from one record (and the records it redirected to)."""

    code: SpfResultCode
    domain: str
    term: str | None
    reason: str
    exp: tuple[str, str] | None = None
    """``(exp= domain-spec, domain of its record)`` of the record that decided."""


@dataclass(slots=True)
class _Run:
    """Mutable state of one evaluation: counters and the trace."""

    resolver: Resolver
    ip: IPAddress
    sender: str
    helo: str
    receiver: str
    lookups: int = 0
    voids: int = 0
    steps: list[str] = field(default_factory=list)

    def log(self, depth: int, text: str) -> None:
        self.steps.append("  " * depth + text)

    def macros(self, domain: str) -> MacroContext:
        return MacroContext(
            ip=self.ip,
            sender=self.sender,
            domain=domain,
            helo=self.helo,
            receiver=self.receiver,
            resolver=self.resolver,
        )

    def count_lookup(self, term: str, domain: str, depth: int) -> None:
        self.lookups += 1
        self.log(depth, f"{term}  [DNS lookup {self.lookups}/{LOOKUP_LIMIT}]")
        if self.lookups > LOOKUP_LIMIT:
            raise _Stop(
                SpfResultCode.PERMERROR,
                f"{self.lookups} DNS lookups (limit {LOOKUP_LIMIT})",
                term,
                domain,
                limit=True,
            )

    def count_void(self, answer: Answer, term: str, domain: str, depth: int) -> None:
        if not answer.outcome.is_void:
            return
        self.voids += 1
        self.log(depth, f"void lookup {self.voids}/{VOID_LIMIT}")
        if self.voids > VOID_LIMIT:
            raise _Stop(
                SpfResultCode.PERMERROR,
                f"{self.voids} void lookups (limit {VOID_LIMIT})",
                term,
                domain,
                limit=True,
            )

    async def query(self, name: str, rdtype: str, depth: int) -> Answer:
        answer = await self.resolver.query(name, rdtype)
        self.log(depth, f"{rdtype} {name}: {_summary(answer)}")
        return answer


async def check_host(
    resolver: Resolver,
    ip: str,
    domain: str,
    sender: str,
    *,
    helo: str | None = None,
    receiver: str = "unknown",
    default_explanation: str | None = None,
) -> SpfResult:
    """Evaluate SPF for ``ip`` at ``domain`` (RFC 7208 §4).

    ``sender`` gets ``postmaster`` as local part when it has none. ``helo`` and
    ``receiver`` feed the ``%{h}`` and ``%{r}`` macros (``unknown`` when not given).
    ``default_explanation`` is a macro-string used for ``fail`` when the record's
    ``exp=`` gives nothing. A malformed ``domain`` gives ``none`` (§4.3).
    Raises :class:`ValueError` for an invalid IP.
    """
    address = client_ip(ip)
    raw = domain.strip()
    domain = normalize_domain(raw)
    sender = normalize_sender(sender, domain)
    run = _Run(resolver, address, sender, helo.strip() if helo else "unknown", receiver)
    problem = domain_problem(raw)
    if problem is not None:
        reason = f"{raw!r} is not a valid domain for SPF: {problem}"
        run.log(0, reason)
        return _result(run, SpfResultCode.NONE, domain, reason)
    try:
        verdict = await _check(run, domain, 0)
    except _Stop as stop:
        run.log(0, f"→ {stop.code.value}: {stop.reason}")
        return _result(run, stop.code, domain, stop.reason, term=stop.term, term_domain=stop.domain)
    explanation = None
    if verdict.code is SpfResultCode.FAIL:
        explanation = await _explain(run, verdict, default_explanation)
    run.log(0, f"→ {verdict.code.value}")
    return _result(
        run,
        verdict.code,
        domain,
        verdict.reason,
        term=verdict.term,
        term_domain=verdict.domain if verdict.term else None,
        explanation=explanation,
    )


async def evaluate_identity(
    resolver: Resolver,
    ip: str,
    *,
    mail_from: str | None,
    helo: str | None,
    domain: str | None = None,
    default_explanation: str | None = None,
) -> SpfResult:
    """Check the MAIL FROM identity, or the HELO identity when MAIL FROM is empty.

    ``domain`` is used only when neither gives a domain (sender ``postmaster@domain``).
    Raises :class:`ValueError` for an invalid IP or when there is nothing to check.
    """
    client_ip(ip)
    identity = derive_identity(mail_from, helo, domain)
    return await check_host(
        resolver,
        ip,
        identity.domain,
        identity.sender,
        helo=helo,
        default_explanation=default_explanation,
    )


def _result(
    run: _Run,
    code: SpfResultCode,
    domain: str,
    reason: str,
    *,
    term: str | None = None,
    term_domain: str | None = None,
    explanation: str | None = None,
) -> SpfResult:
    return SpfResult(
        result=code,
        domain=domain,
        sender=run.sender,
        explanation=explanation,
        matched_term=term,
        matched_domain=term_domain,
        reason=reason,
        steps=tuple(run.steps),
        lookups=run.lookups,
        void_lookups=run.voids,
    )


# --- records -----------------------------------------------------------------------------


async def _check(run: _Run, domain: str, depth: int) -> _Verdict:
    """Evaluate the SPF record of ``domain``; ``none`` when it has none."""
    record = await _fetch_record(run, domain, depth)
    if isinstance(record, str):
        run.log(depth, record)
        return _Verdict(SpfResultCode.NONE, domain, None, record)
    exp = (record.exp.value, domain) if record.exp is not None else None
    for mech in record.mechanisms:
        matched, via = await _match(run, mech, domain, depth)
        if matched:
            code = SpfResultCode(mech.qualifier.result)
            run.log(depth, f"{mech.text}: match → {code.value}")
            where = f"{mech.text} at {domain}"
            reason = f"{where} → {via}" if via else f"{where} matched {run.ip}"
            return _Verdict(code, domain, mech.text, reason, exp)
    if record.redirect is not None and record.all_mechanism is None:
        return await _redirect(run, record.redirect, domain, depth)
    run.log(depth, f"nothing matched at {domain} → neutral (default)")
    return _Verdict(
        SpfResultCode.NEUTRAL,
        domain,
        None,
        f"nothing at {domain} matched {run.ip} (default result neutral)",
    )


async def _fetch_record(run: _Run, domain: str, depth: int) -> SpfRecord | str:
    """The one SPF record at ``domain``, or why there is none (§4.4, §4.5)."""
    answer = await run.resolver.query(domain, "TXT")
    if answer.failed:
        run.log(depth, f"TXT {domain}: {answer.describe()}")
        raise _Stop(
            SpfResultCode.TEMPERROR,
            f"TXT lookup of {domain} failed: {answer.describe()}",
            domain=domain,
        )
    if answer.outcome.is_void:
        return f"no SPF record at {domain} ({answer.describe()})"
    texts = [text for text in answer.texts if is_spf_record(text)]
    if not texts:
        return f"no SPF record at {domain}"
    if len(texts) > 1:
        for text in texts:
            run.log(depth, f"{domain}: {text!r}")
        raise _Stop(
            SpfResultCode.PERMERROR,
            f"{len(texts)} SPF records at {domain} (there must be one)",
            domain=domain,
        )
    run.log(depth, f"{domain}: {texts[0]!r}")
    record = parse_spf(texts[0])
    if record.problems:
        first = record.problems[0]
        more = len(record.problems) - 1
        extra = f" (and {more} more)" if more else ""
        raise _Stop(
            SpfResultCode.PERMERROR,
            f"syntax error in the SPF record of {domain}: {first}{extra}",
            first.term,
            domain,
        )
    return record


async def _redirect(run: _Run, redirect: Modifier, domain: str, depth: int) -> _Verdict:
    """§6.1: the redirect target's result is this record's result; ``none`` → permerror."""
    run.count_lookup(redirect.text, domain, depth)
    target = await _target(run, redirect.value, redirect.text, domain, depth)
    problem = dns_name_problem(target)
    if problem is not None:
        raise _Stop(
            SpfResultCode.PERMERROR,
            f"{redirect.text}: {target!r} is not a valid domain name ({problem})",
            redirect.text,
            domain,
        )
    inner = await _check(run, target, depth + 1)
    if inner.code is SpfResultCode.NONE:
        raise _Stop(
            SpfResultCode.PERMERROR, f"{redirect.text}: {inner.reason}", redirect.text, domain
        )
    return replace(inner, reason=f"{redirect.text} at {domain} → {inner.reason}")


# --- mechanisms --------------------------------------------------------------------------


async def _match(run: _Run, mech: Mechanism, domain: str, depth: int) -> tuple[bool, str | None]:
    """Does ``mech`` match? The second value explains an include's match."""
    kind = mech.kind
    if kind is MechanismKind.ALL:
        return True, None
    if kind in (MechanismKind.IP4, MechanismKind.IP6):
        hit = _ip_match(run.ip, mech)
        if not hit:
            run.log(depth, f"{mech.text}: no match")
        return hit, None
    run.count_lookup(mech.text, domain, depth)
    spec = mech.domain_spec
    target = domain if spec is None else await _target(run, spec, mech.text, domain, depth)
    problem = dns_name_problem(target)
    if kind is MechanismKind.INCLUDE:
        if problem is not None:
            raise _Stop(
                SpfResultCode.PERMERROR,
                f"{mech.text}: {target!r} is not a valid domain name ({problem})",
                mech.text,
                domain,
            )
        return await _include(run, mech, target, domain, depth)
    if problem is not None:
        run.log(depth + 1, f"{target!r} is not a valid domain name ({problem}): no match")
        return False, None
    if kind is MechanismKind.A:
        return await _a(run, mech, target, domain, depth), None
    if kind is MechanismKind.MX:
        return await _mx(run, mech, target, domain, depth), None
    if kind is MechanismKind.PTR:
        return await _ptr(run, target, depth), None
    return await _exists(run, mech, target, domain, depth), None


async def _target(run: _Run, spec: str, term: str, domain: str, depth: int) -> str:
    """Expand a domain-spec (§7); a macro error is a permerror."""
    try:
        target = await expand_domain(spec, run.macros(domain))
    except MacroError as exc:
        raise _Stop(SpfResultCode.PERMERROR, f"{term}: {exc.message}", term, domain) from None
    if "%" in spec:
        run.log(depth + 1, f"expands to {target!r}")
    return target


async def _include(
    run: _Run, mech: Mechanism, target: str, domain: str, depth: int
) -> tuple[bool, str | None]:
    """§5.2: match on pass; temperror/permerror propagate; none is a permerror."""
    try:
        inner = await _check(run, target, depth + 1)
    except _Stop as stop:
        if stop.limit:
            raise
        raise _Stop(
            stop.code, f"{mech.text} returned {stop.code.value}: {stop.reason}", mech.text, domain
        ) from None
    if inner.code is SpfResultCode.NONE:
        raise _Stop(SpfResultCode.PERMERROR, f"{mech.text}: {inner.reason}", mech.text, domain)
    if inner.code is SpfResultCode.PASS:
        return True, inner.reason
    run.log(depth, f"{mech.text}: {inner.code.value} → no match")
    return False, None


def _ip_match(ip: IPAddress, mech: Mechanism) -> bool:
    """ip4/ip6 (§5.6): an IPv4 client never matches ip6, and the reverse."""
    if (mech.kind is MechanismKind.IP4) != (ip.version == 4) or mech.network is None:
        return False
    length = mech.cidr4 if mech.kind is MechanismKind.IP4 else mech.cidr6
    return _in_network(ip, mech.network, length)


def _in_network(ip: IPAddress, address: str, length: int | None) -> bool:
    try:
        other = ipaddress.ip_address(address)
    except ValueError:
        return False
    if other.version != ip.version:
        return False
    prefix = other.max_prefixlen if length is None else length
    return ip in ipaddress.ip_network(f"{other}/{prefix}", strict=False)


def _cidr(run: _Run, mech: Mechanism) -> int | None:
    return mech.cidr4 if run.ip.version == 4 else mech.cidr6


def _address_type(run: _Run) -> str:
    return "A" if run.ip.version == 4 else "AAAA"


def _temperror(answer: Answer, term: str, domain: str) -> _Stop:
    return _Stop(
        SpfResultCode.TEMPERROR,
        f"{term}: {answer.rdtype} lookup of {answer.name} failed: {answer.describe()}",
        term,
        domain,
    )


async def _a(run: _Run, mech: Mechanism, target: str, domain: str, depth: int) -> bool:
    """§5.3: any A (IPv4 client) or AAAA (IPv6 client) record within the CIDR."""
    answer = await run.query(target, _address_type(run), depth + 1)
    if answer.failed:
        raise _temperror(answer, mech.text, domain)
    run.count_void(answer, mech.text, domain, depth + 1)
    return any(_in_network(run.ip, a, _cidr(run, mech)) for a in answer.addresses)


async def _mx(run: _Run, mech: Mechanism, target: str, domain: str, depth: int) -> bool:
    """§5.4: the addresses of each MX name; never the target's own A record."""
    answer = await run.query(target, "MX", depth + 1)
    if answer.failed:
        raise _temperror(answer, mech.text, domain)
    run.count_void(answer, mech.text, domain, depth + 1)
    records = sorted(answer.mx, key=lambda mx: (mx.preference, mx.exchange))
    if len(records) > MX_LIMIT:
        raise _Stop(
            SpfResultCode.PERMERROR,
            f"{mech.text}: {target} has {len(records)} MX records (limit {MX_LIMIT})",
            mech.text,
            domain,
        )
    for mx in records:
        if not mx.exchange or dns_name_problem(mx.exchange) is not None:
            continue  # null MX (RFC 7505) or a name no query can be made for
        addresses = await run.query(mx.exchange, _address_type(run), depth + 2)
        if addresses.failed:
            raise _temperror(addresses, mech.text, domain)
        if any(_in_network(run.ip, a, _cidr(run, mech)) for a in addresses.addresses):
            return True
    return False


async def _ptr(run: _Run, target: str, depth: int) -> bool:
    """§5.5: a validated PTR name equal to or under the target; DNS errors skip."""
    check = await validate_ptr(run.resolver, run.ip, under=target)
    if check.error is not None:
        run.log(depth + 1, f"{check.error}: no match")
        return False
    run.log(
        depth + 1,
        f"PTR {reverse_name(run.ip)}: "
        f"{', '.join(check.names) if check.names else 'no names'}"
        + (f" (+{check.ignored} ignored, limit 10)" if check.ignored else ""),
    )
    for name in check.skipped:
        run.log(depth + 1, f"{name}: address lookup failed, skipped")
    if check.validated:
        run.log(depth + 1, f"validated under {target}: {', '.join(check.validated)}")
    return bool(check.validated)


async def _exists(run: _Run, mech: Mechanism, target: str, domain: str, depth: int) -> bool:
    """§5.7: any A record, whatever the client's address family."""
    answer = await run.query(target, "A", depth + 1)
    if answer.failed:
        raise _temperror(answer, mech.text, domain)
    run.count_void(answer, mech.text, domain, depth + 1)
    return answer.ok


# --- explanation -------------------------------------------------------------------------


async def _explain(run: _Run, verdict: _Verdict, default: str | None) -> str:
    """§6.2: the deciding record's exp= text, else the default explanation."""
    if verdict.exp is not None:
        text = await _exp_text(run, *verdict.exp)
        if text is not None:
            return text
    template = default if default is not None else DEFAULT_EXPLANATION
    try:
        return await expand(template, run.macros(verdict.domain), explanation=True)
    except MacroError:
        return template


async def _exp_text(run: _Run, spec: str, domain: str) -> str | None:
    """Fetch and expand exp= text; any problem means "as if no exp=" (§6.2)."""
    ctx = run.macros(domain)
    try:
        name = await expand_domain(spec, ctx)
    except MacroError as exc:
        run.log(0, f"exp={spec}: {exc.message}; ignored")
        return None
    if dns_name_problem(name) is not None:
        run.log(0, f"exp={spec}: {name!r} is not a valid domain name; ignored")
        return None
    answer = await run.resolver.query(name, "TXT")
    run.log(0, f"exp: TXT {name}: {_summary(answer)}")
    if not answer.ok or len(answer.txt) != 1:
        run.log(0, "exp: not exactly one TXT record; ignored")
        return None
    text = answer.texts[0]
    if not text or not all(0x20 <= ord(ch) <= 0x7E for ch in text):
        run.log(0, "exp: empty, or not printable ASCII; ignored")
        return None
    try:
        return await expand(text, ctx, explanation=True)
    except MacroError as exc:
        run.log(0, f"exp: {exc.message}; ignored")
        return None


def _summary(answer: Answer, limit: int = 5) -> str:
    """``192.0.2.1, 192.0.2.2`` or ``NXDOMAIN``: one short phrase for the trace."""
    if not answer.ok:
        return answer.describe()
    values = (
        answer.addresses
        or [f"{mx.preference} {mx.exchange or '.'}" for mx in answer.mx]
        or answer.targets
        or [repr(text) for text in answer.texts]
    )
    shown = ", ".join(values[:limit])
    if len(values) > limit:
        shown += f", … ({len(values)} in all)"
    return shown
