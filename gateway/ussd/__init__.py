"""The USSD channel over HTTP: the aggregator's dialect, sessions, access, metrics.

``web.init_app`` builds the aiohttp application; ``dialogue.Dialogues`` runs
one request through ``menus.engine`` and the services; ``sessions`` keeps
the little a replayed dialogue needs across requests and restarts.
"""
