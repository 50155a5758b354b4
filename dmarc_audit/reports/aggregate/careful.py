"""The careful callbacks: every start and end tag, with a stack.

They read anything the report may hold (prefixes, extensions, nesting the fast
reader cannot see) and explain what they cannot read. At the first record of a
report that looks ordinary, they hand the records to the fast reader
(:mod:`.fast`), which hands back at ``</feedback>`` or at the first oddity.
"""

from __future__ import annotations

from collections.abc import Callable

from dmarc_audit.reports.aggregate.fast import fast_end_callback
from dmarc_audit.reports.aggregate.handler import Handler
from dmarc_audit.reports.aggregate.vocabulary import (
    AUTH,
    DKIM_SPF,
    DOMAIN,
    ENDS,
    EXTENSIONS,
    GROUP,
    NAMES,
    OPTIONAL_EMPTY_OK,
    REC,
    STARTS,
)

Start = Callable[[str, dict[str, str]], None]
End = Callable[[str], None]


def bind(h: Handler) -> tuple[Start, End]:
    """The start and end callbacks, as closures: fewer lookups per element.

    Until <feedback> opens, a slower start callback looks for it; then the
    parser is switched to the lean one.
    """
    parser = h.parser
    start = _start_callback(h)
    end = _end_callback(h)
    fast_end = fast_end_callback(h, start, end)

    def careful_start(name: str, attrs: dict[str, str]) -> None:
        start(name, attrs)
        if name == "record" and h.rec is not None and h.fast and not h.prefixed:
            parser.StartElementHandler = None
            parser.EndElementHandler = fast_end
            h.auth = {}
            h.fast_mode = True

    def outside(name: str, attrs: dict[str, str]) -> None:
        h.outside(name, attrs)
        if h.fb >= 0:
            parser.StartElementHandler = careful_start if h.fast else start

    return outside, end


def _start_callback(h: Handler) -> Start:
    text, stack = h.text, h.stack
    clear, push = text.clear, stack.append
    starts, names = STARTS, NAMES

    def start(name: str, attrs: dict[str, str]) -> None:
        if ":" in name:
            name = h.local(name)
        if name not in names:
            name = h.canon(name)
        if text:  # one run: buffer_text joins it, no other handler splits it
            if not text[0].isspace() and not h.ext_depth:
                h.stray_before()
            clear()
        if name in EXTENSIONS or h.ext_depth:
            h.in_extension(name, +1)
        elif name in starts:
            if (name == "dkim" or name == "spf") and stack[-1] == "auth_results":
                h.auth = {"method": name}
            else:
                h.start_container(name, stack[-1])
        push(name)

    return start


def _end_callback(h: Handler) -> End:
    """Record and auth-result leaves inline (most of the calls); the rest below."""
    text, stack = h.text, h.stack
    clear, pop, join = text.clear, stack.pop, "".join
    ends = ENDS.get
    optional = OPTIONAL_EMPTY_OK
    rest = _rest_end_callback(h)

    def end(name: str) -> None:
        if ":" in name:
            name = name[name.index(":") + 1 :]
        pop()
        value = join(text).strip()
        clear()
        kind = ends(name)
        if kind is None and name not in EXTENSIONS:
            name = h.canon(name)
            kind = ends(name)
        if h.ext_depth:
            h.in_extension(name, -1)
            return
        if kind == REC:
            rec = h.rec
            if rec is not None:
                rec[name] = value
                if not value and name != "envelope_to":
                    h.empty(name)
        elif kind == AUTH:
            auth = h.auth
            if auth is not None:
                auth[name] = value
                if not value and name not in optional:
                    h.empty(name)
        else:
            rest(name, kind, value)

    return end


def _rest_end_callback(h: Handler) -> Callable[[str, int | None, str], None]:
    """Groups, ``dkim``/``spf``, ``domain``; report-level ends go to the handler."""
    stack = h.stack

    def rest(name: str, kind: int | None, value: str) -> None:
        if kind == GROUP:
            if value:
                h.stray(value, name)
        elif kind == DKIM_SPF:
            parent = stack[-1]
            if parent == "policy_evaluated" and h.rec is not None:
                h.rec[name] = value
            elif parent == "auth_results" and h.auth is not None:
                h.end_auth()
        elif kind == DOMAIN and h.auth is not None:
            h.auth["domain"] = value
            if not value:
                h.empty(name)
        elif h.fb >= 0 and not h.closed:
            h.end_other(name, kind, value)

    return rest
