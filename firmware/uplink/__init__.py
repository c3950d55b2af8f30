"""The box's link to a central panel: a durable outbox and the thread that empties it."""
