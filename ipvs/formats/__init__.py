"""The formats layer: tables and plans as text, documents, HTML and data frames.

* :mod:`ipvs.formats.document`: plain dicts for JSON and YAML files, both ways,
  and plans as JSON;
* :mod:`ipvs.formats.ipvsadm` (also importable as :mod:`ipvs.ipvsadm`):
  ipvsadm's save/restore rules and its listings, byte for byte;
* :mod:`ipvs.formats.html`: HTML for Jupyter, and pandas frames of statistics.

The model and the plans know nothing of these formats; each is a set of
functions over them. :func:`load_table` reads any of the three desired-state
formats, detected from the content; :func:`decode_text` turns a file's bytes
into text, or says where they are not UTF-8.
"""

from __future__ import annotations

import re

from ipvs._model import Table
from ipvs.errors import ValidationError

__all__ = ["decode_text", "load_table"]

_BOM = b"\xef\xbb\xbf"
_MAX_MESSAGE = 1000
# ipvsadm text never holds a number this long; Python refuses to convert
# decimal numbers of more than 4300 digits, and converting long ones is slow.
_LONG_NUMBER = re.compile(r"[0-9]{65,}")


def decode_text(data: str | bytes | bytearray | memoryview) -> str:
    """Decode a file's bytes as UTF-8 (a leading byte-order mark is dropped).

    Args:
        data: the bytes; text is returned as it is.

    Returns:
        The text.

    Raises:
        ValidationError: the bytes are not UTF-8 (the message gives the byte
            offset and line of the first bad byte), or ``data`` is neither
            text nor bytes.

    Example:
        >>> from ipvs.formats import decode_text
        >>> decode_text(b"services: []\\n")
        'services: []\\n'
        >>> try:
        ...     decode_text(b"-A -t 10.0.0.1:80\\n-s \\xff\\n")
        ... except ValueError as exc:
        ...     print(exc)
        not UTF-8: byte 0xff at offset 21 (line 2)
    """
    if isinstance(data, str):
        return data
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise ValidationError(f"expected text (str) or bytes, got {type(data).__name__}")
    raw = bytes(data)
    skip = len(_BOM) if raw.startswith(_BOM) else 0
    try:
        return raw[skip:].decode("utf-8")
    except UnicodeDecodeError as exc:
        offset = exc.start + skip
        line = raw.count(b"\n", 0, offset) + 1
        raise ValidationError(
            f"not UTF-8: byte 0x{raw[offset]:02x} at offset {offset} (line {line})"
        ) from None


def _has_rules(text: str) -> bool:
    """Tell whether ipvsadm text holds anything but blank lines and comments.

    Args:
        text: the text.

    Returns:
        False for text that :func:`load_table` refuses as empty.
    """
    return any(
        line.strip(" \t\r\f\v") and not line.lstrip(" \t").startswith("#")
        for line in text.splitlines()
    )


def _check_ipvsadm_text(text: str) -> None:
    """Refuse ipvsadm text with a number too long for any option (before parsing it).

    Args:
        text: the rules.

    Raises:
        ValidationError: ``line N: a number of D digits is too long``.
    """
    match = _LONG_NUMBER.search(text)
    if match is not None:
        line = text.count("\n", 0, match.start()) + 1
        digits = len(match.group())
        raise ValidationError(f"line {line}: a number of {digits} digits is too long")


def load_table(text: str | bytes, name: str = "<text>", *, resolve: bool = True) -> Table:
    """Read a desired state: JSON, YAML or ipvsadm save text, detected from the content.

    A name ending in ``.json``, ``.yaml`` or ``.yml`` decides; otherwise text
    starting with ``{`` (or ``[``) is JSON, with ``services:`` or ``---`` YAML,
    and anything else ipvsadm rules. Text with no rules at all (empty, or only
    comments) is refused: applied, it would delete every service. An empty
    table is said explicitly: ``services: []``, or ``-C`` in ipvsadm rules.

    Args:
        text: the file's text (bytes are decoded as UTF-8).
        name: the file name (for messages and the extension).
        resolve: resolve host and port names in ipvsadm rules, as ipvsadm
            does (see :func:`ipvs.formats.ipvsadm.parse`), or refuse them.

    Returns:
        The table.

    Raises:
        ValidationError: the text cannot be read; the message names the file.
    """
    from ipvs.formats import document, ipvsadm

    if not isinstance(name, str):
        raise ValidationError(f"load_table: the name must be a string, got {name!r:.40}")
    lower = name.lower()
    try:
        text = decode_text(text)
        stripped = text.lstrip()
        if lower.endswith(".json") or stripped.startswith(("{", "[")):
            return document.table_from_json(text)
        if lower.endswith((".yaml", ".yml")) or stripped.startswith(("services:", "---")):
            return document.table_from_yaml(text)
        if not _has_rules(text):
            raise ValidationError(
                "no services and no rules: an empty file would delete every service; "
                "write 'services: []' (YAML) or '-C' (ipvsadm) for an empty table"
            )
        _check_ipvsadm_text(text)
        return ipvsadm.parse_table(text, resolve=resolve)
    except ValidationError as exc:
        message = f"{name}: {exc}"
        if len(message) > _MAX_MESSAGE:  # a parser may quote a whole line
            message = message[: _MAX_MESSAGE - 3] + "..."
        raise ValidationError(message) from None
    except ImportError:
        raise ValidationError(f"{name}: YAML needs PyYAML (pip install 'ipvs[yaml]')") from None
