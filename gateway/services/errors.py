"""The database's failures as the channels see them: answer "busy" or "unavailable", never a 500."""

from gateway.store.port import DATABASE_ERRORS, StoreBusy, StoreError

__all__ = ["DATABASE_ERRORS", "StoreBusy", "StoreError"]
