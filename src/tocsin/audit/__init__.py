"""The hash-chained audit log of privileged and state-changing actions."""
