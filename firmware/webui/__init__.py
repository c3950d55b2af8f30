"""The web panel: Flask app factory, one blueprint per area, JSON API."""
