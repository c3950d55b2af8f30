"""The central panel: many boxes report to one PostgreSQL database (docs/central.md)."""
