"""Validation of a call's wrap-up (what staff note after a call): pure, BadInput on junk."""

from __future__ import annotations

import math
from typing import Any, Mapping

from firmware.config import Config
from firmware.tracker.errors import BadInput

MAX_TAGS = 20
MAX_TAG_LENGTH = 40
MAX_CATEGORY_LENGTH = 100
MAX_COMMENT_LENGTH = 2000
MAX_VALUE = 1e12
FIELDS = ("rating", "tags", "category", "comment", "value", "answered_by")


def validate_wrapup(fields: Any, config: Config) -> dict[str, Any]:
    """The checked fields (only those given; every field is optional)."""
    if not isinstance(fields, Mapping):
        raise BadInput("wrapup", "must be a JSON object")
    for key in fields:
        if key not in FIELDS:
            raise BadInput(str(key)[:50], "unknown field")
    clean: dict[str, Any] = {}
    if "rating" in fields:
        rating = fields["rating"]
        if isinstance(rating, bool) or not isinstance(rating, int) or not 0 <= rating <= 5:
            raise BadInput("rating", "must be a whole number from 0 to 5")
        clean["rating"] = rating
    if "tags" in fields:
        tags = fields["tags"]
        if not isinstance(tags, list) or len(tags) > MAX_TAGS:
            raise BadInput("tags", f"must be a list of at most {MAX_TAGS} tags")
        for tag in tags:
            if not isinstance(tag, str) or not tag.strip() or len(tag) > MAX_TAG_LENGTH:
                raise BadInput("tags", f"each tag must be text of 1 to {MAX_TAG_LENGTH} characters")
        clean["tags"] = list(dict.fromkeys(t.strip() for t in tags))
    if "category" in fields:
        clean["category"] = _text(fields["category"], "category", MAX_CATEGORY_LENGTH)
    if "comment" in fields:
        clean["comment"] = _text(fields["comment"], "comment", MAX_COMMENT_LENGTH)
    if "value" in fields:
        value = fields["value"]
        if (isinstance(value, bool) or not isinstance(value, (int, float))
                or not math.isfinite(value) or not 0 <= value <= MAX_VALUE):
            raise BadInput("value", "must be a number >= 0")
        clean["value"] = float(value)
    if "answered_by" in fields:
        ext = fields["answered_by"]
        if not isinstance(ext, str) or config.extension(ext) is None:
            raise BadInput("answered_by", "must be an extension number of this box")
        clean["answered_by"] = ext
    return clean


def _text(value: Any, field: str, limit: int) -> str:
    if not isinstance(value, str):
        raise BadInput(field, "must be text")
    if len(value) > limit:
        raise BadInput(field, f"must be at most {limit} characters")
    return value
