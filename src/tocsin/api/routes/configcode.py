"""/api/v1/config/apply: configuration as code from CI (docs/config-as-code.md), admins only.

The same apply as `tocsin apply`, as the token's user, in one transaction: a bad document is a 422
naming the document and the field, and changes nothing."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from tocsin.api.context import Ctx, context
from tocsin.api.errors import ERROR_RESPONSES
from tocsin.configcode.apply import apply_documents
from tocsin.principal import OrgRole
from tocsin.schemas import StrictIn

router = APIRouter(prefix="/api/v1", responses=ERROR_RESPONSES)
CtxDep = Annotated[Ctx, Depends(context)]


class ApplyIn(StrictIn):
    documents: list[dict[str, Any]] = Field(min_length=1, max_length=200, description=(
        "Configuration documents, each `{version: 1, ...sections}` as in docs/config-as-code.md"))
    names: list[Annotated[str, Field(max_length=300)]] | None = Field(
        None, max_length=200, description="A name per document (its file), used in error messages")
    dry_run: bool = Field(False, description="Compute the changes and make none")
    prune: bool = Field(False, description="Also remove what the sections present no longer name")


class NewKeyOut(BaseModel):
    service: str
    integration: str
    type: str
    key: str = Field(description="The integration's key, shown once")
    endpoint: str = Field(description="Where a sender posts it")


class ApplyOut(BaseModel):
    changes: list[str] = Field(description='One line per change: "+ service x", "~ schedule y: layers[0].members"')
    new_keys: list[NewKeyOut]
    notes: list[str] = Field(description="What was left as it is, and why")


@router.post("/config/apply", response_model=ApplyOut, tags=["config"],
             summary="Apply configuration documents (admin); dry_run to preview")
def apply_config(body: ApplyIn, ctx: CtxDep) -> dict[str, Any]:
    with ctx.work() as (s, me):
        me.require(OrgRole.admin, "applying configuration")
        names = body.names if body.names and len(body.names) == len(body.documents) else None
        result = apply_documents(s, body.documents, actor=me, now=ctx.now, dry_run=body.dry_run, prune=body.prune,
                                 names=names)
        return {"changes": result.changes, "new_keys": [vars(k) for k in result.new_keys], "notes": result.notes}
