"""`tocsin agent`: runs synthetic checks where it is started and reports results to the server."""
