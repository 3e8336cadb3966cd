"""One module per builder kind, each giving the contract test a tiny source to build.

A case module defines ``KIND`` and ``make_case(tmp_path) -> Case`` (:class:`eotdl.testing.Case`,
the same a third-party builder's test gives :func:`eotdl.testing.check_builder`).
"""

from __future__ import annotations

from eotdl.testing import Case

__all__ = ["Case"]
