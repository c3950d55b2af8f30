"""G.711 test tones as RTP packets (shared by the recording unit and e2e tests)."""

from __future__ import annotations

import math
import struct

from firmware.recording.g711 import encode_ulaw


def ulaw_tone(frequency: float, seconds: float, rate: int = 8000,
              amplitude: int = 8000) -> bytes:
    count = int(seconds * rate)
    return bytes(encode_ulaw(int(amplitude * math.sin(2 * math.pi * frequency * n / rate)))
                 for n in range(count))


def rtp_packets(payload: bytes, *, ssrc: int = 0x1234, seq: int = 1, timestamp: int = 160,
                payload_type: int = 0, samples: int = 160) -> list[bytes]:
    packets = []
    for index in range(len(payload) // samples):
        header = struct.pack("!BBHII", 0x80, payload_type, (seq + index) & 0xFFFF,
                             (timestamp + index * samples) & 0xFFFFFFFF, ssrc)
        packets.append(header + payload[index * samples:(index + 1) * samples])
    return packets


def write_pcap(path, packets: list[bytes], *, source: str, dest: str, sport: int = 6000,
               dport: int = 6000, interval: float = 0.02) -> None:
    """RTP packets as a pcap (Ethernet/IPv4/UDP, one every `interval`), for SIPp's
    play_pcap_audio (it keeps the RTP, and sends it to the SDP's address at the pcap's pace)."""
    import socket as _socket

    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)]
    for index, rtp in enumerate(packets):
        udp = struct.pack("!HHHH", sport, dport, 8 + len(rtp), 0) + rtp
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), index & 0xFFFF, 0, 64, 17, 0,
                         _socket.inet_aton(source), _socket.inet_aton(dest))
        checksum = sum(struct.unpack("!10H", ip))
        checksum = (checksum & 0xFFFF) + (checksum >> 16)
        ip = ip[:10] + struct.pack("!H", ~checksum & 0xFFFF) + ip[12:]
        frame = b"\x00\x11\x22\x33\x44\x55" + b"\x66\x77\x88\x99\xaa\xbb" + b"\x08\x00" + ip + udp
        at = index * interval
        out.append(struct.pack("<IIII", int(at), int(round((at % 1) * 1e6)), len(frame),
                               len(frame)) + frame)
    with open(path, "wb") as handle:
        handle.write(b"".join(out))
