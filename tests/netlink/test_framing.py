"""Tests of netlink framing: byte vectors in both directions, and bad lengths.

Hex vectors are written out by hand from the netlink header layouts
(``struct nlmsghdr`` = u32 len, u16 type, u16 flags, u32 seq, u32 pid, all
little-endian on the test hosts; ``struct nlattr`` = u16 len, u16 type).
"""

from __future__ import annotations

import struct
import sys

import pytest

from ipvs.errors import DecodeError
from ipvs.netlink import (
    CTRL_ATTR_FAMILY_ID,
    CTRL_ATTR_FAMILY_NAME,
    CTRL_CMD_GETFAMILY,
    GENL_ID_CTRL,
    GENLMSGHDR,
    NLATTR,
    NLM_F_ACK,
    NLM_F_ACK_TLVS,
    NLM_F_CAPPED,
    NLM_F_DUMP,
    NLM_F_MATCH,
    NLM_F_MULTI,
    NLM_F_REQUEST,
    NLM_F_ROOT,
    NLMSG_DONE,
    NLMSG_ERROR,
    NLMSG_NOOP,
    NLMSG_OVERRUN,
    NLMSGHDR,
    Message,
    NlmsgErr,
    align4,
    attr,
    decode_ack,
    decode_done,
    decode_family_id,
    encode_genl,
    encode_get_family,
    iter_attrs,
    iter_messages,
    parse_attrs,
    split_genl,
)

pytestmark = pytest.mark.skipif(sys.byteorder != "little", reason="vectors are little-endian")


def h(text: str) -> bytes:
    """Hex with spaces and ``|`` separators allowed."""
    return bytes.fromhex(text.replace("|", " "))


def test_constants() -> None:
    assert (NLM_F_REQUEST, NLM_F_MULTI, NLM_F_ACK) == (1, 2, 4)
    assert (NLM_F_ROOT, NLM_F_MATCH, NLM_F_DUMP) == (0x100, 0x200, 0x300)
    assert (NLM_F_CAPPED, NLM_F_ACK_TLVS) == (0x100, 0x200)
    assert (NLMSG_NOOP, NLMSG_ERROR, NLMSG_DONE, NLMSG_OVERRUN) == (1, 2, 3, 4)
    assert (GENL_ID_CTRL, CTRL_CMD_GETFAMILY) == (0x10, 3)
    assert (CTRL_ATTR_FAMILY_ID, CTRL_ATTR_FAMILY_NAME) == (1, 2)
    assert (NLMSGHDR.size, GENLMSGHDR.size, NLATTR.size) == (16, 4, 4)


@pytest.mark.parametrize(("n", "aligned"), [(0, 0), (1, 4), (3, 4), (4, 4), (5, 8), (8, 8)])
def test_align4(n: int, aligned: int) -> None:
    assert align4(n) == aligned


# (name, type, payload, encoded)
ATTR_VECTORS = [
    ("empty", 1, b"", "04 00 01 00"),
    ("u8 padded", 13, b"\x07", "05 00 0d 00 07 00 00 00"),
    ("u16 padded", 2, b"\x00\x50", "06 00 02 00 00 50 00 00"),
    ("u32", 4, b"\x01\x00\x00\x00", "08 00 04 00 01 00 00 00"),
    ("string wlc", 6, b"wlc\0", "08 00 06 00 77 6c 63 00"),
    ("string rr", 6, b"rr\0", "07 00 06 00 72 72 00 00"),
    ("nested flag kept", 0x8001, b"", "04 00 01 80"),
]


@pytest.mark.parametrize(("name", "atype", "payload", "encoded"), ATTR_VECTORS)
def test_attr_vectors(name: str, atype: int, payload: bytes, encoded: str) -> None:
    assert attr(atype, payload) == h(encoded), name
    parsed = parse_attrs(h(encoded))
    assert list(parsed) == [atype & 0x3FFF]
    assert bytes(parsed[atype & 0x3FFF]) == payload


def test_parse_attrs_masks_type_flags_and_last_wins() -> None:
    area = h(
        "08 00 01 80 01 00 00 00"  # type 1 | NLA_F_NESTED
        "|08 00 02 40 02 00 00 00"  # type 2 | NLA_F_NET_BYTEORDER
        "|08 00 01 00 03 00 00 00"  # type 1 again: last wins
        "|05 00 63 00 ff 00 00 00"  # unknown type 99 is kept
    )
    parsed = parse_attrs(area)
    assert sorted(parsed) == [1, 2, 99]
    assert bytes(parsed[1]) == b"\x03\0\0\0"
    assert bytes(parsed[2]) == b"\x02\0\0\0"
    assert bytes(parsed[99]) == b"\xff"
    assert [(t, bytes(p)) for t, p in iter_attrs(area)][:2] == [
        (1, b"\x01\0\0\0"),
        (2, b"\x02\0\0\0"),
    ]


def test_parse_attrs_last_attribute_may_lack_padding() -> None:
    parsed = parse_attrs(h("05 00 01 00 2a"))
    assert bytes(parsed[1]) == b"*"


def test_parse_attrs_returns_views_without_copying() -> None:
    buf = bytearray(h("08 00 01 00 01 00 00 00"))
    parsed = parse_attrs(memoryview(buf))
    buf[4] = 9
    assert parsed[1][0] == 9


@pytest.mark.parametrize(
    "area",
    [
        "08 00",  # truncated header
        "03 00 01 00",  # length below the header size
        "0c 00 01 00 00 00 00 00",  # length past the end
        "08 00 01 00 00 00 00 00 00 00",  # two stray bytes
    ],
)
def test_parse_attrs_rejects_bad_lengths(area: str) -> None:
    with pytest.raises(DecodeError):
        parse_attrs(h(area))
    with pytest.raises(DecodeError):
        list(iter_attrs(h(area)))


# (name, args, encoded)
GENL_VECTORS = [
    (
        "flush, request+ack, seq 7",
        (0x24, 17, NLM_F_REQUEST | NLM_F_ACK, 7, b""),
        "14 00 00 00 24 00 05 00 07 00 00 00 00 00 00 00 | 11 01 00 00",
    ),
    (
        "dump with one u32 attribute",
        (0x1C, 8, NLM_F_REQUEST | NLM_F_DUMP, 0x01020304, h("08 00 04 00 84 03 00 00")),
        "1c 00 00 00 1c 00 01 03 04 03 02 01 00 00 00 00 | 08 01 00 00 | 08 00 04 00 84 03 00 00",
    ),
]


@pytest.mark.parametrize(("name", "args", "encoded"), GENL_VECTORS)
def test_encode_genl_vectors(
    name: str, args: tuple[int, int, int, int, bytes], encoded: str
) -> None:
    family_id, cmd, flags, seq, body = args
    assert encode_genl(family_id, cmd, flags, seq, body) == h(encoded), name
    (msg,) = iter_messages(h(encoded))
    assert (msg.type, msg.flags, msg.seq, msg.pid) == (family_id, flags, seq, 0)
    got_cmd, version, area = split_genl(msg.payload)
    assert (got_cmd, version, bytes(area)) == (cmd, 1, body)


def test_encode_get_family() -> None:
    # len 32; type 0x10; flags REQUEST; seq 3; cmd 3 version 1; FAMILY_NAME "IPVS\0" (len 9)
    expected = h(
        "20 00 00 00 10 00 01 00 03 00 00 00 00 00 00 00 | 03 01 00 00"
        "| 09 00 02 00 49 50 56 53 00 00 00 00"
    )
    assert encode_get_family("IPVS", 3) == expected


def test_decode_family_id() -> None:
    payload = h(
        "01 02 00 00"  # cmd NEWFAMILY, version 2
        "| 09 00 02 00 49 50 56 53 00 00 00 00"  # FAMILY_NAME
        "| 06 00 01 00 24 00 00 00"  # FAMILY_ID 0x24
    )
    assert decode_family_id(payload) == 0x24
    with pytest.raises(DecodeError):
        decode_family_id(h("01 02 00 00 | 09 00 02 00 49 50 56 53 00 00 00 00"))
    with pytest.raises(DecodeError):
        decode_family_id(h("01 02"))


def test_iter_messages_splits_a_batch() -> None:
    buf = h(
        # NEW_DEST reply (genl only), MULTI, seq 5, pid 0x99
        "14 00 00 00 24 00 02 00 05 00 00 00 99 00 00 00 | 05 01 00 00"
        # NLMSG_DONE with int 0, MULTI
        "| 14 00 00 00 03 00 02 00 05 00 00 00 99 00 00 00 | 00 00 00 00"
        # an error ack: -ENOENT (-2) for seq 6, CAPPED
        "| 24 00 00 00 02 00 00 01 06 00 00 00 99 00 00 00 | fe ff ff ff"
        "| 20 00 00 00 24 00 05 00 06 00 00 00 00 00 00 00"
    )
    msgs = list(iter_messages(buf))
    assert [(m.type, m.flags, m.seq, m.pid) for m in msgs] == [
        (0x24, NLM_F_MULTI, 5, 0x99),
        (NLMSG_DONE, NLM_F_MULTI, 5, 0x99),
        (NLMSG_ERROR, NLM_F_CAPPED, 6, 0x99),
    ]
    assert isinstance(msgs[0], Message) and isinstance(msgs[0].payload, memoryview)
    assert decode_done(msgs[1].payload) == 0
    assert decode_ack(msgs[2].flags, msgs[2].payload) == NlmsgErr(-2, 6)


def test_iter_messages_unpadded_last_message() -> None:
    buf = h("11 00 00 00 24 00 00 00 01 00 00 00 00 00 00 00 | ab")
    (msg,) = iter_messages(buf)
    assert bytes(msg.payload) == b"\xab"


@pytest.mark.parametrize(
    "buf",
    [
        "10 00 00 00 24 00",  # truncated header
        "0f 00 00 00 24 00 00 00 00 00 00 00 00 00 00 00",  # length < 16
        "20 00 00 00 24 00 00 00 00 00 00 00 00 00 00 00",  # length past the end
        "10 00 00 00 24 00 00 00 00 00 00 00 00 00 00 00 | 00 00",  # trailing junk
    ],
)
def test_iter_messages_rejects_bad_lengths(buf: str) -> None:
    with pytest.raises(DecodeError):
        list(iter_messages(h(buf)))


def test_decode_ack_success_and_extack() -> None:
    # success ack: error 0, CAPPED, echoed header only
    ok = h("00 00 00 00 | 18 00 00 00 24 00 05 00 09 00 00 00 00 00 00 00")
    assert decode_ack(NLM_F_CAPPED, ok) == NlmsgErr(0, 9)
    # error with TLVs, not capped: the full request (24 bytes) is echoed first
    err = h(
        "ea ff ff ff"  # -EINVAL
        "| 18 00 00 00 24 00 05 00 0a 00 00 00 00 00 00 00 | 01 01 00 00 | 04 00 01 00"
        "| 08 00 01 00 62 61 64 00"  # MSG "bad"
        "| 08 00 02 00 24 00 00 00"  # OFFS 36
    )
    assert decode_ack(NLM_F_ACK_TLVS, err) == NlmsgErr(-22, 10, "bad", 36)
    # the same TLVs after a capped echo
    capped = h(
        "ea ff ff ff | 18 00 00 00 24 00 05 00 0a 00 00 00 00 00 00 00| 08 00 01 00 62 61 64 00"
    )
    assert decode_ack(NLM_F_ACK_TLVS | NLM_F_CAPPED, capped) == NlmsgErr(-22, 10, "bad", None)
    with pytest.raises(DecodeError):
        decode_ack(0, h("00 00 00 00"))
    with pytest.raises(DecodeError):  # echoed length points past the end
        decode_ack(NLM_F_ACK_TLVS, h("ea ff ff ff | 40 00 00 00") + bytes(12))


def test_decode_done() -> None:
    assert decode_done(b"") == 0
    assert decode_done(struct.pack("=i", -4)) == -4
    with pytest.raises(DecodeError):
        decode_done(b"\0\0")


def test_split_genl_rejects_short_payload() -> None:
    with pytest.raises(DecodeError):
        split_genl(b"\x01\x01")
