"""The Content-Type of every file of a built site (see :mod:`eotdl.catalog.mediatypes`)."""

from __future__ import annotations

from eotdl.catalog.mediatypes import content_type

__all__ = ["content_type"]
