"""What the two HTTP edges (the API in `api/`, the console in `web/`) share: the error-to-status
mapping, request checks (NUL bytes, same origin), and rows turned into output shapes with
need-to-know applied. Neither edge imports the other."""
