"""The formats layer: tables and plans as text, documents, HTML and data frames.

* :mod:`ipvs.formats.document`: plain dicts for JSON and YAML files, both ways,
  and plans as JSON;
* :mod:`ipvs.formats.ipvsadm` (also importable as :mod:`ipvs.ipvsadm`):
  ipvsadm's save/restore rules and its listings, byte for byte;
* :mod:`ipvs.formats.html`: HTML for Jupyter, and pandas frames of statistics.

The model and the plans know nothing of these formats; each is a set of
functions over them. :func:`load_table` reads any of the three desired-state
formats, detected from the content.
"""

from __future__ import annotations

from ipvs._model import Table
from ipvs.errors import ValidationError

__all__ = ["load_table"]


def load_table(text: str, name: str = "<text>") -> Table:
    """Read a desired state: JSON, YAML or ipvsadm save text, detected from the content.

    A name ending in ``.json``, ``.yaml`` or ``.yml`` decides; otherwise text
    starting with ``{`` is JSON, with ``services:`` or ``---`` YAML, and
    anything else ipvsadm rules.

    Args:
        text: the file's text.
        name: the file name (for messages and the extension).

    Returns:
        The table.

    Raises:
        ValidationError: the text cannot be read; the message names the file.
    """
    from ipvs.formats import document, ipvsadm

    stripped = text.lstrip()
    lower = name.lower()
    try:
        if lower.endswith(".json") or stripped.startswith("{"):
            return document.table_from_json(text)
        if lower.endswith((".yaml", ".yml")) or stripped.startswith(("services:", "---")):
            return document.table_from_yaml(text)
        return ipvsadm.parse_table(text)
    except ValidationError as exc:
        raise ValidationError(f"{name}: {exc}") from None
    except ImportError:
        raise ValidationError(f"{name}: YAML needs PyYAML (pip install 'ipvs[yaml]')") from None
