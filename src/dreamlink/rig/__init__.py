"""A rig: one dreamer's pipeline in one process, linked to the session server.

:mod:`~dreamlink.rig.pipeline` runs source → staging/detectors → relay policy → cues → recording;
:mod:`~dreamlink.rig.client` holds the durable outbox and the reconnecting WebSocket link. Run it with
``dreamlink rig``.
"""
