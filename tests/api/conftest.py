"""Collection rules for the API tests."""

from __future__ import annotations

import pytest


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Give each schemathesis test (one per API operation) its own node id.

    With pytest 9.2, schemathesis 4.32 names its items "test_...[GET /path]" but leaves their node
    ids without the operation, so all 177 share one id. pytest-xdist tells tests apart by node id:
    under `--dist loadgroup` all but one of them silently did not run. The operation becomes the
    id's parameter part: tests/api/test_schemathesis.py::test_...[GET /api/v1/incidents]."""
    for item in items:
        label = getattr(item, "operation_label", None)
        node_id = getattr(item, "_id", None)
        if label and node_id is not None and getattr(node_id, "params", "") is None:
            item._id = node_id.with_params(label)
