"""Menu trees and texts as data, the engine that walks them, and the replies.

``catalog`` loads every text in every language (checked at start-up);
``replies`` renders the services' results and refusals — the one set of
answers shared by USSD screens and SMS replies.
"""
