"""The legal gate: on security incidents, updates to audiences outside the need-to-know circle are drafts until the Legal role approves them (issue 17)."""
