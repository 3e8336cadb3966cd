"""The built-in QA checks, grouped by theme; :mod:`eotdl.qa.registry` lists them."""
