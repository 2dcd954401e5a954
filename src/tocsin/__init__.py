"""tocsin: self-hosted incident response — paging, coordination, status pages, postmortems."""

__version__ = "0.1.0"
