"""Members' prepaid credit beside the shop: booking what the shop did, bank
top-ups, the wallet rows the bridge writes, reconciliation and statements."""
