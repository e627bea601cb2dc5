"""Menus: the USSD menu trees as data, and the sans-I/O engine that walks them.

- ``trees/*.toml``: one menu tree per file (screens, options, inputs, actions);
- ``locales/<lang>/*.toml``: every text, per language (``menus.catalog``);
- ``loader``: reads and checks the trees once at start-up;
- ``engine``: request in (the answers so far), screen or action request out;
- ``actions``: what each action name calls on ``Services`` and how its result
  is rendered (``menus.replies``, shared with SMS).
"""
