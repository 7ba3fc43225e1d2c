"""The session server: sessions of dreamers (rigs), operators and observers; relay between dreamers.

Use :func:`dreamlink.server.app.create_app` to build the ASGI application and ``dreamlink serve`` to
run it. Parts: :mod:`~dreamlink.server.db` (SQLite), :mod:`~dreamlink.server.auth` (accounts, tokens,
grants), :mod:`~dreamlink.server.audit`, :mod:`~dreamlink.server.sessions`,
:mod:`~dreamlink.server.protocol` (WebSocket frames), :mod:`~dreamlink.server.relay`,
:mod:`~dreamlink.server.hub` (fan-out).
"""
