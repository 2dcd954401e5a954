"""Evidence enumerations users see in the API, and the order-of-volatility guidance (RFC 3227)."""

from __future__ import annotations

from enum import StrEnum


class ItemKind(StrEnum):
    file = "file"  # uploaded to tocsin, kept in the content-addressed store
    external = "external"  # registered only: it lives elsewhere (a disk image in a bucket...)


class CustodyAction(StrEnum):
    collected = "collected"
    transferred = "transferred"
    accessed = "accessed"
    analysed = "analysed"
    copied = "copied"
    returned = "returned"


# What people may add by hand; `collected` is written when an item is added, and every download
# writes `accessed` itself (a hand-written `accessed` is allowed too: someone looked at the original).
MANUAL_ACTIONS = tuple(a for a in CustodyAction if a is not CustodyAction.collected)

# RFC 3227 ("Guidelines for Evidence Collection and Archiving", section 2.1): collect from the most
# volatile to the least volatile, shown as help text beside the collection forms.
ORDER_OF_VOLATILITY = (
    "registers, cache",
    "routing table, ARP cache, process table, kernel statistics, memory",
    "temporary file systems",
    "disk",
    "remote logging and monitoring data that is relevant to the system in question",
    "physical configuration, network topology",
    "archival media",
)
