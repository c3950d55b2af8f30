"""The Ogg writer and libopus through ctypes: pages a reader accepts, audio that decodes."""

import struct
import zlib

import pytest

from firmware.recording import g711, ogg
from firmware.recording.check import decode_file, inspect, tone_power
from firmware.recording.opus import Decoder, Encoder


def test_crc_matches_the_ogg_reference_value():
    # The Ogg CRC is CRC-32/MPEG-2 without the final inversion and with initial value 0
    # ("CRC-32/BZIP2" reflected no, init 0): the check value of "123456789" is 0x89A1897F.
    assert ogg.ogg_crc(b"123456789") == 0x89A1897F
    assert ogg.ogg_crc(b"123456789") != zlib.crc32(b"123456789")


def test_pages_carry_valid_crcs_headers_and_granules():
    writer = ogg.OggWriter(serial=77)
    data = writer.headers(ogg.opus_head(2, 312, 8000), ogg.opus_tags("test", ["A=b"]))
    for index in range(120):
        writer.add(bytes([index]) * (10 + index * 3), 312 + (index + 1) * 960)
        if index % 50 == 49:
            data += writer.pages()
    data += writer.finish()
    pages = list(ogg.read_pages(data))
    assert all(page.crc_ok for page in pages)
    assert [p.sequence for p in pages] == list(range(len(pages)))
    assert pages[0].flags == ogg.FLAG_FIRST and pages[-1].flags == ogg.FLAG_LAST
    assert pages[0].packets[0][:8] == b"OpusHead" and pages[1].packets[0][:8] == b"OpusTags"
    assert pages[-1].granule == 312 + 120 * 960
    packets, granule = ogg.read_packets(data)
    assert len(packets) == 122 and packets[2 + 119] == bytes([119]) * (10 + 119 * 3)
    # one flipped byte fails the page's CRC
    broken = bytearray(data)
    broken[len(data) - 5] ^= 0xFF
    assert not list(ogg.read_pages(bytes(broken)))[-1].crc_ok


def test_a_page_never_holds_more_than_255_lacing_values():
    writer = ogg.OggWriter(serial=1)
    for index in range(300):
        writer.add(b"x" * 300, index)          # two lacing values each
    pages = list(ogg.read_pages(writer.pages() + writer.finish()))
    assert sum(len(p.packets) for p in pages) == 300
    assert all(len(p.packets) <= 127 for p in pages)


def test_g711_decodes_both_laws():
    assert struct.unpack("<2h", g711.decode(b"\xff\x7f", g711.PCMU)) == (0, 0)
    assert struct.unpack("<2h", g711.decode(b"\xd5\xaa", g711.PCMA)) == (8, 32256)
    assert g711.decode(b"\x00", 101) is None
    for sample in (-30000, -1000, 0, 500, 12000):
        decoded = struct.unpack("<h", g711.decode(bytes([g711.encode_ulaw(sample)]), 0))[0]
        assert abs(decoded - sample) <= max(abs(sample) // 16, 8)


def test_opus_file_written_by_us_decodes_to_our_tones(tmp_path):
    import math
    encoder = Encoder(8000, 2)
    pre_skip = encoder.lookahead * 6
    writer = ogg.OggWriter(serial=5)
    data = writer.headers(ogg.opus_head(2, pre_skip, 8000), ogg.opus_tags("test"))
    frames = 150                                      # 3 s
    for index in range(frames):
        pcm = bytearray()
        for n in range(160):
            t = (index * 160 + n) / 8000
            pcm += struct.pack("<hh", int(8000 * math.sin(2 * math.pi * 440 * t)),
                               int(8000 * math.sin(2 * math.pi * 1000 * t)))
        writer.add(encoder.encode(bytes(pcm)), pre_skip + (index + 1) * 960)
    data += writer.finish()
    path = tmp_path / "tones.ogg"
    path.write_bytes(data)
    state = inspect(path)
    assert state.state == "ok" and state.seconds == pytest.approx(3.0)
    rate, left, right = decode_file(path)
    assert len(left) == pytest.approx(3 * rate, abs=rate // 50)
    middle = slice(rate // 2, 2 * rate)
    assert tone_power(left[middle], rate, 440) > 20 * tone_power(left[middle], rate, 1000)
    assert tone_power(right[middle], rate, 1000) > 20 * tone_power(right[middle], rate, 440)
    # cut the file short (a power cut mid-page): truncated, what is whole still reads
    path.write_bytes(data[:len(data) - 40])
    assert inspect(path).state == "truncated"
    assert inspect(tmp_path / "nothing.ogg").state == "missing"
    Decoder().close()
