"""Pure SIP: parse and serialize, digest auth, transactions, dialogs. No sockets, no clock reads."""
