"""Voicemail messages: the store the box writes and the panel reads (docs/voicemail.md)."""
