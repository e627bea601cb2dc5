"""The operator console: web pages and a JSON API over the services, on a port of its own.

An adapter at the edge, as the USSD channel is: it calls the services
(``gateway.services``) and nothing below them. ``web`` is the aiohttp
application (pages under ``/admin/``, the same data under ``/admin/api/``,
described by ``openapi.json``), ``auth`` who may ask what (the operator and
viewer tokens, signed-in browsers, CSRF), ``masking`` what a viewer sees of
a phone number, ``pages`` the HTML. ``gateway.app`` builds and starts it
when ``[admin] token`` is set.
"""
