"""Storage: declarative base, portable column types, engine and unit of work."""

from tocsin.db.base import Base, UTCDateTime
from tocsin.db.session import Database, make_engine

__all__ = ["Base", "UTCDateTime", "Database", "make_engine"]
