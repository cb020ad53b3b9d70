"""Re-capture the stored vectors from the live kernel: they must still be what it sends.

Each scenario of ``tests/capture_vectors.py`` is rebuilt with ipvsadm in the
test's own namespace and captured again with the raw socket. The live replies
must decode to the manifest's expected objects, and every message must be
byte-for-byte one of the stored ones (apart from sequence number and port
id), so tests/data cannot drift from the kernel the tests run on.
"""

from __future__ import annotations

import json
import pathlib
import struct
from collections import Counter
from typing import Any

import pytest

from tests import capture_vectors as cv

MANIFEST = json.loads(
    (pathlib.Path(__file__).parent.parent / "data" / "ipvs_vectors.json").read_text()
)


def _normalised(hexes: list[str], family_id: int) -> Counter[tuple[Any, ...]]:
    """Messages without seq and pid (and with the family id made symbolic)."""
    out: Counter[tuple[Any, ...]] = Counter()
    for text in hexes:
        raw = bytes.fromhex(text)
        length, kind, flags, _seq, _pid = struct.unpack_from("=IHHII", raw)
        out[(length, "IPVS" if kind == family_id else kind, flags, raw[16:])] += 1
    return out


@pytest.mark.parametrize("name", sorted(cv.SCENARIOS))
def test_live_capture_matches_the_stored_vectors(name: str) -> None:
    stored = MANIFEST["scenarios"][name]
    cv.build(name)
    live = cv.capture(name)

    decoded = cv.decode_replies(live)
    expected = stored["expected"]
    assert decoded["table"] == cv.expected_table(expected)
    assert decoded["daemons"] == [cv.to_daemon(d) for d in expected["daemons"]]
    assert decoded["timeouts"] == cv.decode_replies(stored["replies"])["timeouts"]
    assert decoded["info"] == cv.decode_replies(stored["replies"])["info"]

    old = stored["replies"]
    for what in ("GET_SERVICE", "GET_SERVICE_ONE", "GET_DAEMON", "GET_CONFIG", "GET_INFO"):
        assert _normalised(live[what], live["family_id"]) == _normalised(
            old[what], old["family_id"]
        ), what
    assert sorted(live["GET_DEST"]) == sorted(old["GET_DEST"])
    for label, hexes in live["GET_DEST"].items():
        # same destinations in the same (newest first) order
        assert [_normalised([h], live["family_id"]) for h in hexes] == [
            _normalised([h], old["family_id"]) for h in old["GET_DEST"][label]
        ], label
