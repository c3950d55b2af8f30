"""What call control says to the audio desk and hears back: frozen values, no I/O.

The B2BUA (pbx/voicemail.py) decides; the endpoint hands these actions to the audio desk
(pbx/audiodesk.py), which plays and records on the relay's caller leg and feeds `AudioDone`
back when a playout ends or a recording is full. Kept apart from pbx/callio.py so the
voicemail work adds values instead of changing the shared ones.
"""

from __future__ import annotations

from dataclasses import dataclass


# -- plans (what routing decided, kept until the relay is open) ------------------------------
@dataclass(frozen=True)
class ToVoicemail:
    """Nobody to ring (after hours, nobody available): straight to the campaign's voicemail."""

    campaign: str
    reason: str


@dataclass(frozen=True)
class AudioService:
    """A desk phone dialled *97 ("messages") or *98<n> ("greeting" of `campaign`)."""

    kind: str
    extension: str
    campaign: str = ""


# -- input ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class AudioDone:
    """A playout ended (`tag` as given in PlayAudio), or a recording was full ("full")."""

    call_id: str
    tag: str


# -- actions --------------------------------------------------------------------------------
@dataclass(frozen=True)
class PlayAudio:
    """Play `items` to the caller leg of `session`, in order. An item is
    ("prompt", name, campaign) or ("messages", extension)."""

    call_id: str
    session: object
    payload_type: int           # 0 PCMU or 8 PCMA, from the answer
    event_pt: int | None        # RFC 4733 telephone-event payload type, when agreed
    items: tuple
    tag: str
    skip_on_digit: bool = False
    repeat: bool = False        # music on hold: round and round until stopped
    audio_action = True


@dataclass(frozen=True)
class RecordAudio:
    """Record the caller leg of `session`: a voicemail "message" or a campaign "greeting"."""

    call_id: str
    session: object
    event_pt: int | None
    kind: str
    max_seconds: int
    meta: tuple                 # (key, value) pairs stored with the message
    audio_action = True


@dataclass(frozen=True)
class StopAudio:
    """The call ended: stop playing, finish and keep what was recorded."""

    call_id: str
    audio_action = True
