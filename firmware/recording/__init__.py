"""Call recordings: G.711 from the relay's tap, to stereo Opus (CELT) in Ogg, within budgets.

opus.py (libopus through ctypes), ogg.py (the container), g711.py (decoding), mixer.py (two
legs onto one timeline), recorder.py (the worker thread and the call events), store.py (the
index on disk), retention.py (keep_days, max_disk_mb, free space). docs/recordings.md.
"""
