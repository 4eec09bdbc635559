"""Text we did not write (file names, paths, report text, server errors) made safe to print.

Rich reads `[...]` as markup, so a folder called `a[` holding `]x.txt`, or a server error quoting
`[/messages/1/content]`, would raise a MarkupError or vanish from the line; and an ESC in a file
name would reach the terminal as a live control sequence. Everything user- or server-controlled
goes through `lit` before it is put into a markup string or a table cell.
"""

from __future__ import annotations

import re
from typing import Any

from rich.markup import escape

#: C0 controls (ESC, BEL, CR, backspace...), DEL, C1 controls (CSI 0x9b...), and the bidi overrides
#: that can make a name read differently from what it is. Newline and tab are handled per call.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_LINE_BREAKS = re.compile(r"[\n\t]")


def _visible(m: re.Match) -> str:
    c = ord(m.group())
    return f"\\x{c:02x}" if c < 0x100 else f"\\u{c:04x}"


def printable(text: Any, *, multiline: bool = False) -> str:
    """`text` with control characters shown as escapes (ESC → `\\x1b`); newlines and tabs are
    kept only when `multiline` (an error with a traceback), never in a name."""
    s = _CONTROL.sub(_visible, str(text))
    return s if multiline else _LINE_BREAKS.sub(_visible, s)


def lit(text: Any, *, multiline: bool = False) -> str:
    """`text` to be shown literally inside Rich markup: printable, with markup escaped.

    Put it where plain text follows, never right before a tag: Rich's escape doubles a trailing
    backslash (`out\\`) so that it cannot escape a following tag, and that double would show; we
    undo it, and style whole lines with `style=` instead."""
    t = printable(text, multiline=multiline)
    e = escape(t)
    return e[:-1] if t.endswith("\\") and not t.endswith("\\\\") else e
