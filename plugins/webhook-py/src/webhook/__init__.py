"""The generic HTTP JSON webhook CRM plugin.

Every module here except `wasi_http` and the entry point `app` is plain
Python with no WIT imports, so the unit tests in `tests/` run on an ordinary
interpreter (`python3 -m unittest`) without building the component.
"""
