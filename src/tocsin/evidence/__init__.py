"""The evidence locker: content-addressed write-once storage and the chain-of-custody ledger (issue 17)."""
