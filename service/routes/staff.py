"""Staff API: bank employees authenticate with a bearer token (the review routes come here)."""

from __future__ import annotations

from fastapi import APIRouter

from service.deps import CurrentStaff
from service.schemas import StaffOut

__all__ = ["router"]

router = APIRouter(prefix="/v1/staff", tags=["staff"])


@router.get("/whoami")
def whoami(staff_id: CurrentStaff) -> StaffOut:
    """The staff id the token belongs to (a check for the bank's back office)."""
    return StaffOut(staff_id=staff_id)
