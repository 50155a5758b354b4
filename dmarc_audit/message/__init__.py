"""Message mode: why one message passed or failed DMARC, and what to fix.

:func:`analyze_message` runs DKIM, SPF for the connecting IP, alignment, the
DMARC policy, ARC and the bulk-sender header checks over one message read by
:func:`parse_message`, and returns a :class:`MessageReport` (see docs/message.md).
"""

from dmarc_audit.message.parse import Message, NotAMessage, parse_message
from dmarc_audit.message.report import DmarcResult, MessageReport
from dmarc_audit.message.verdict import MessageOptions, analyze_message

__all__ = [
    "DmarcResult",
    "Message",
    "MessageOptions",
    "MessageReport",
    "NotAMessage",
    "analyze_message",
    "parse_message",
]
