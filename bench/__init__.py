"""``make bench``: the mock against Prism, the real service against a bare-Starlette ceiling, and
the service's latency with a thousand and a million sessions stored (``python -m bench``)."""
