"""The operator's rules as pure functions and value types.

No I/O, no clock reads (``now`` is always a parameter), no asyncio, and no
outside library: everything here can be tested with plain function calls.
"""
