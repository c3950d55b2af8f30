"""The phone side: SIP core, transport, registrar, trunks, B2BUA and media.

Nothing here imports from tracker/ or webui/: calls leave this package only as events.
"""
