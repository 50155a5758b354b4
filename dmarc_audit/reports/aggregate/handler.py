"""The reader's state while expat runs, and the callbacks' rarer paths.

The hot paths are closures in :mod:`.careful` and :mod:`.fast`; they keep their
state here and call these methods for anything that is not a plain leaf of a
record. Typed values are made by the :class:`.build.Builder`.
"""

from __future__ import annotations

from typing import Any

from dmarc_audit.reports.aggregate.build import Builder, Item, MetaFields, Skip
from dmarc_audit.reports.aggregate.signals import Warnings
from dmarc_audit.reports.aggregate.vocabulary import (
    CONTAINER,
    CONTAINERS,
    DOMAIN,
    ERROR,
    EXTENSIONS,
    MAX_PER_RECORD,
    MISSPELLINGS,
    NAMES,
    NS_DMARC_2,
    OPTIONAL_EMPTY_OK,
    OPTIONAL_IN_PRACTICE,
    POLICY,
    REASON,
    VERSION,
)
from dmarc_audit.reports.model import AggregateMeta, AuthResult


class Handler:
    """A small state machine keyed on element names, one per parse pass."""

    def __init__(self, parser: Any, warnings: Warnings, fast: bool = False) -> None:
        self.parser = parser
        self.warnings = warnings
        self.build = Builder(warnings, self.where)
        self.fast = fast
        """Switch to the fast end-only callback at the first record."""
        self.fast_mode = False
        """True while the fast end-only callback is installed."""
        self.ext_depth = 0
        self.prefixed = False
        """Element names carry a namespace prefix: the fast reader does not handle them."""
        self.text: list[str] = []
        self.stack: list[str] = []
        self.root: str | None = None
        self.fb = -1
        """Depth of <feedback> in the stack, -1 before it opens."""
        self.closed = False
        self.out: list[AggregateMeta | Item] = []
        self.records = 0
        self.version: str | None = None
        self.namespace: str | None = None
        self.meta_fields: dict[str, str] = {}
        self.errors: list[str] = []
        self.policy: dict[str, str] = {}
        self.policy_open = False
        """Inside the first <policy_published>: its fields are kept."""
        self.policies = 0
        self.meta_done = False
        self.rec: dict[str, str] | None = None
        self.auths: list[AuthResult] = []
        self.auth: dict[str, str] | None = None
        self.reasons: list[tuple[str, str]] = []
        self.reason: dict[str, str] | None = None
        self.unknown: list[tuple[str, str]] = []
        """(parent, name) of the elements the reader could not place."""

    # names --------------------------------------------------------------------

    def canon(self, name: str) -> str:
        """A known name for ``name`` when one matches without case, or a misspelling.

        Called only for names the reader does not know as they are.
        """
        low = name.lower()
        target = MISSPELLINGS.get(low) or (low if low in NAMES else None)
        if target is None:
            return name
        if not self.ext_depth:
            if low in MISSPELLINGS:
                message = f"<{name}> read as <{target}> (a misspelling some reporters send)"
            else:
                message = f"element <{name}> read as <{target}> (element names are case-sensitive)"
            self.warnings.add(message, self.line(), key=("canon", name))
        return target

    # where --------------------------------------------------------------------

    def line(self) -> str:
        return f"line {self.parser.CurrentLineNumber}"

    def where(self) -> str:
        """Inside a record: which one, and the line being read."""
        if self.rec is None:
            return self.line()
        return f"record {self.records + 1} (line {self.parser.CurrentLineNumber})"

    # before <feedback> --------------------------------------------------------

    def outside(self, raw: str, attrs: dict[str, str]) -> None:
        """A start tag before <feedback>: the root, a wrapper, or <feedback> itself."""
        if self.root is None:
            self.root = raw
        self.text.clear()
        name = raw.partition(":")[2] if ":" in raw else raw
        if name != "feedback" and name.lower() == "feedback":
            name = self.canon(name)
        self.stack.append(name)
        if name != "feedback":
            return
        if raw != name:
            self.local(raw)
        self.fb = len(self.stack) - 1
        if self.fb > 0:
            self.warnings.add(f"the report is wrapped in <{self.root}>", self.line())
        for attr, value in attrs.items():
            if (attr == "xmlns" or attr.startswith("xmlns:")) and value.strip() == NS_DMARC_2:
                self.namespace = NS_DMARC_2

    def local(self, name: str) -> str:
        """The local part of a prefixed name (warned about once per prefix)."""
        self.prefixed = True
        prefix, _, local = name.partition(":")
        if self.fb >= 0 or local == "feedback":
            self.warnings.add(
                f"namespace prefix '{prefix}:' on element names ignored", key=("prefix", prefix)
            )
        return local

    # starts -------------------------------------------------------------------

    def start_container(self, name: str, parent: str) -> None:
        if self.closed:
            if name == "feedback":
                self.warnings.add("a second <feedback> in the same document ignored")
            return
        if name == "record":  # also inside an unknown wrapper such as <records>
            if self.rec is not None:
                self.warnings.add(
                    "a <record> inside a record: the outer one is dropped", self.line()
                )
            self.begin_record()
        elif parent == "feedback":
            self._feedback_child(name)
        elif parent == "policy_evaluated" and name == "reason":
            self.reason = {}

    def _feedback_child(self, name: str) -> None:
        if name == "policy_published":
            self.policies += 1
            self.policy_open = self.policies == 1 and not self.meta_done
            if self.meta_done:
                self.warnings.add("<policy_published> after the records ignored", self.line())
            elif self.policies > 1:
                self.warnings.add(
                    "a second <policy_published> ignored; the first is used", self.line()
                )
        elif name == "report_metadata" and self.meta_done:
            self.warnings.add("<report_metadata> after the records ignored", self.line())

    def in_extension(self, name: str, step: int) -> None:
        """RFC 9990 <extensions>: any content, read past without a word."""
        if name in EXTENSIONS:
            self.ext_depth += step

    # ends outside records -----------------------------------------------------

    def end_other(self, name: str, kind: int | None, value: str) -> None:
        """The end of anything but a record's own fields (the careful reader only)."""
        stack = self.stack
        if kind is None:
            self._unknown(name)
        elif kind == DOMAIN:
            if stack[-1] == "policy_published":
                self._leaf(POLICY, name, value)
        elif kind == CONTAINER:
            self._end_container(name, value)
        else:
            self._leaf(kind, name, value)

    def _end_container(self, name: str, value: str) -> None:
        if value:
            self.stray(value, name)
        if name == "record":
            self.end_record()
        elif name == "reason":
            self.end_reason()
        elif name == "policy_published":
            self.policy_open = False
        elif len(self.stack) == self.fb:
            self._end_feedback()

    def _leaf(self, kind: int, name: str, value: str) -> None:
        if not value and name not in OPTIONAL_EMPTY_OK:
            self.empty(name)
        if kind == REASON:
            if self.reason is not None:
                self.reason[name] = value
        elif kind == POLICY:
            if self.policy_open:
                self.policy[name] = value
        elif kind == VERSION:
            self.version = value
        elif not self.meta_done:
            self._report_leaf(kind, name, value)

    def _report_leaf(self, kind: int, name: str, value: str) -> None:
        """A <report_metadata> leaf or an <error>, before the records."""
        if kind != ERROR:
            self.meta_fields.setdefault(name, value)
        elif value and len(self.errors) < MAX_PER_RECORD:
            self.errors.append(value)

    def _end_feedback(self) -> None:
        if not self.meta_done:
            self.build_meta()
        self.closed = True

    # warnings -----------------------------------------------------------------

    def empty(self, name: str) -> None:
        if name in OPTIONAL_IN_PRACTICE:
            self.warnings.omit(name)
            return
        if self.rec is not None:  # the fast reader keeps no stack
            self.warnings.add(f"empty <{name}> in a record", self.where(), key=("empty", name))
            return
        parent = self.stack[-1] if self.stack else ""
        self.warnings.add(f"empty <{name}> in <{parent}>", self.line(), key=("empty", parent, name))

    def _unknown(self, name: str) -> None:
        stack = self.stack
        parent = stack[-1] if stack else ""
        if len(self.unknown) < MAX_PER_RECORD and (parent, name) not in self.unknown:
            self.unknown.append((parent, name))
        self.warnings.add(
            f"unknown element <{name}> in <{parent}> ignored",
            self.line(),
            key=("unknown", parent, name),
        )

    def stray_before(self) -> None:
        """Text before a start tag, inside a container."""
        if self.fb >= 0 and self.stack and self.stack[-1] in CONTAINERS:
            self.stray("".join(self.text).strip(), self.stack[-1])

    def stray(self, text: str, parent: str) -> None:
        if text:
            self.warnings.add(
                f"stray text {text[:40]!r} in <{parent}> ignored",
                self.line(),
                key=("stray", parent),
            )

    # records ------------------------------------------------------------------

    def begin_record(self) -> None:
        if not self.meta_done:
            self.build_meta()
        self.rec = {}
        self.auths = []
        self.reasons = []

    def end_auth(self) -> None:
        auth, self.auth = self.auth, None
        assert auth is not None
        result = self.build.auth_result(auth)
        if len(self.auths) >= MAX_PER_RECORD:
            self.build.too_many("auth result")
            return
        self.auths.append(result)

    def end_reason(self) -> None:
        reason, self.reason = self.reason, None
        if reason is None:
            return
        kind = reason.get("type", "")
        if len(self.reasons) >= MAX_PER_RECORD:
            self.build.too_many("reason")
        elif kind:
            self.reasons.append((self.build.lower(kind, "type"), reason.get("comment", "")))
        else:
            self.warnings.add(
                "a <reason> without a <type> ignored", self.where(), key="empty-reason"
            )

    def end_record(self) -> None:
        rec = self.rec
        if rec is None:
            return
        ordinal = self.records + 1
        built = self.build.record(rec, self.reasons, self.auths)
        if isinstance(built, Skip):
            item = Item(ordinal, None, built.why, self.where())
        else:
            item = Item(ordinal, built)
        self.rec = None
        self.records = ordinal
        self.out.append(item)

    # metadata -----------------------------------------------------------------

    def build_meta(self) -> None:
        self.meta_done = True
        collected = MetaFields(
            self.meta_fields,
            self.policy,
            self.policies,
            self.errors,
            self.version,
            self.namespace,
        )
        self.out.append(self.build.meta(collected))
