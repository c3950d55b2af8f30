"""Call records, the callback queue, figures and the store: the only writer of call data."""
