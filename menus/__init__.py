"""Menu trees and texts as data, the engine that walks them, and the replies.

- ``texts``: every text in every language (checked at start-up);
- ``tree``: the menu trees as values (screens, options) and the engine's inputs and outputs;
- ``replies``: the services' results — the one set of answers shared by USSD
  screens and SMS replies; ``refusals``: what each domain error says;
- ``trees/*.toml``: one USSD menu tree per file (screens, options, inputs, actions);
- ``loader``: reads and checks the trees once at start-up;
- ``engine``: sans-I/O — the answers so far in, a screen or an action request out;
- ``actions``: what each action name calls on the use cases and how its result reads;
- ``ports``: the Protocols the menus need of the services (``Services`` satisfies them).
"""
