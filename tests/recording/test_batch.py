"""The batch decode path: a leg's packets in one batch onto the stereo timeline."""

from __future__ import annotations

import random
import struct

import pytest

from firmware.recording import g711, ogg
from firmware.recording.check import tone_power
from firmware.recording.mixer import FRAME, RATE, StereoTimeline, laws_for
from tests.recording.tones import rtp_packets, ulaw_tone


def channels(frames: list[bytes]) -> tuple[list[int], list[int]]:
    pcm = b"".join(frames)
    samples = struct.unpack(f"<{len(pcm) // 2}h", pcm)
    return list(samples[0::2]), list(samples[1::2])


def batch(packets: list[bytes], start: float = 0.0) -> list[tuple[float, bytes]]:
    """(arrival, packet): one every 20 ms from `start`."""
    return [(start + 0.02 * index, packet) for index, packet in enumerate(packets)]


def test_a_tone_on_each_leg_lands_on_its_own_channel():
    timeline = StereoTimeline()
    timeline.put_batch("a", batch(rtp_packets(ulaw_tone(440, 2), ssrc=1)))
    timeline.put_batch("b", batch(rtp_packets(ulaw_tone(1000, 2), ssrc=2, timestamp=777)))
    left, right = channels(timeline.finish(2.0))
    assert len(left) == len(right) == 2 * RATE + (-2 * RATE) % FRAME     # whole frames
    assert timeline.end_samples == 2 * RATE
    assert tone_power(left, RATE, 440) > 100 * tone_power(left, RATE, 1000)
    assert tone_power(right, RATE, 1000) > 100 * tone_power(right, RATE, 440)
    assert timeline.decoded == 200 and not timeline.undecodable


def test_gaps_are_silence_and_the_file_lasts_the_talk_time():
    packets = rtp_packets(ulaw_tone(440, 3), ssrc=1)
    timeline = StereoTimeline()
    timeline.put_batch("a", batch(packets[:50]))                 # 0-1 s
    timeline.put_batch("a", batch(packets[100:], start=2.0))     # 2-3 s: 1 s lost on the way
    left, right = channels(timeline.finish(3.5))
    assert timeline.end_samples == int(3.5 * RATE)
    assert any(left[:RATE]) and any(left[2 * RATE:3 * RATE])
    assert not any(left[RATE + 10:2 * RATE - 10])                # the gap: silence
    assert not any(left[3 * RATE + 10:])                        # after the caller stopped
    assert not any(right)                                       # the desk phone never spoke


def test_reordered_and_duplicate_packets_give_the_same_audio_as_in_order():
    packets = batch(rtp_packets(ulaw_tone(440, 1), ssrc=5))
    straight = StereoTimeline()
    straight.put_batch("a", packets)
    # the network swaps neighbours (the first packet, which anchors the leg, comes first);
    # arrival times stay in arrival order: only the RTP timestamps say where a packet goes
    order = list(range(len(packets)))
    for i in range(1, len(order) - 1, 2):
        order[i], order[i + 1] = order[i + 1], order[i]
    jumbled = [(packets[i][0], packets[order[i]][1]) for i in range(len(packets))]
    jumbled[20:20] = [jumbled[10], jumbled[11]]                 # two duplicates
    mixed = StereoTimeline()
    mixed.put_batch("a", jumbled[:30])
    mixed.put_batch("a", jumbled[30:])
    assert channels(mixed.finish(1.0)) == channels(straight.finish(1.0))


def test_batch_and_packet_by_packet_agree():
    packets = batch(rtp_packets(ulaw_tone(700, 1), ssrc=9, payload_type=0))
    one = StereoTimeline()
    for arrival, packet in packets:
        one.put("b", arrival, packet)
    many = StereoTimeline()
    many.put_batch("b", packets)
    assert one.finish(1.0) == many.finish(1.0)


def test_frames_already_given_out_are_not_rewritten():
    packets = batch(rtp_packets(ulaw_tone(440, 2), ssrc=1))
    timeline = StereoTimeline(delay=0.3)
    timeline.put_batch("a", packets[:25])
    assert len(timeline.due(0.3 + 2 * FRAME / RATE)) == 2         # two frames are out
    timeline.put_batch("a", [(0.5, packets[0][1])])              # a very late packet
    assert timeline.late == 1


def test_a_dynamic_payload_type_named_g711_is_decoded_and_others_are_flagged():
    laws = laws_for({"96": "pcmu/8000", "101": "telephone-event/8000", "13": "cn/8000"},
                    {"97": "pcma/8000", "98": "opus/48000"})
    assert laws[96] == g711.PCMU and laws[97] == g711.PCMA and laws[0] == g711.PCMU
    assert 101 not in laws and 13 not in laws
    assert laws[98] == "opus/48000" and laws[9] == "g722/8000"
    # RFC 3264: a sender uses the receiver's numbers; the peer's map wins a clash
    assert laws_for({"96": "g722/8000"}, {"96": "pcmu/8000"})[96] == g711.PCMU
    timeline = StereoTimeline()
    timeline.put_batch("a", batch(rtp_packets(ulaw_tone(440, 1), payload_type=96)), laws)
    timeline.put_batch("b", batch(rtp_packets(b"\0" * 8000, payload_type=98)), laws)
    timeline.put_batch("b", batch(rtp_packets(b"\0" * 800, payload_type=101)), laws)
    assert timeline.decoded == 50 and timeline.undecodable == {"opus/48000": 50}
    assert timeline.ignored == 5
    left, _ = channels(timeline.finish(1.0))
    assert tone_power(left, RATE, 440) > 100 * tone_power(left, RATE, 1000)


def test_without_sdp_only_the_static_types_decode():
    timeline = StereoTimeline()
    timeline.put_batch("a", batch(rtp_packets(ulaw_tone(440, 1), payload_type=96)))
    timeline.put_batch("a", batch(rtp_packets(ulaw_tone(440, 1), payload_type=9)))
    assert timeline.decoded == 0 and timeline.ignored == 50
    assert timeline.undecodable == {"g722/8000": 50}


@pytest.mark.parametrize("law", [g711.PCMU, g711.PCMA])
def test_the_c_decoder_and_the_pure_fallback_give_the_same_samples(law):
    every_code = bytes(range(256))
    assert bytes(g711.decode(every_code, law)) == bytes(g711.decode_tables(every_code, law))
    assert g711.decode(every_code, 101) is None


def test_the_fast_ogg_crc_is_the_reference_crc():
    rng = random.Random(1)
    for size in (0, 1, 3, 27, 255, 4096):
        data = bytes(rng.getrandbits(8) for _ in range(size))
        assert ogg.ogg_crc(data) == ogg.ogg_crc_reference(data)
