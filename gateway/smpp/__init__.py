"""SMPP: the ESME bound to the operator's SMSC, with its adapters on the store.

``gateway.app.start_sms`` wires these with the SMS routing (``gateway.sms``):
      Esme (client.py)      bind / reconnect / unbind; one Session per link
      Session (session.py)  reader, windowed sender, keep-alive
      StoreHook (hook.py)   MO, receipts and submit outcomes saved in batches
      OutboxBroker          claims due outbox rows (broker.py)
      Correlator            requests in flight by sequence number
      codec.py              encodings, concatenation, deliver_sm bodies
"""
