"""The synthetic applicant's declared data: what the OCR cross-check compares the card with."""

from __future__ import annotations

import pytest

from benchmarks.synth.applicant import SyntheticApplicant
from benchmarks.synth.identity import make_identity
from ekyc.read.normalize import address_key, name_key
from ekyc.types import DocumentType


@pytest.mark.parametrize(
    "doc",
    [DocumentType.DRIVERS_LICENSE, DocumentType.MY_NUMBER_CARD, DocumentType.RESIDENCE_CARD],
)
def test_application_declares_what_the_card_prints(doc):
    identity = make_identity(20003, doc)
    applicant = SyntheticApplicant(doc, identity, shots={}, impostor=None).application()
    assert name_key(applicant.full_name) == name_key(identity.name)  # the card's script
    assert applicant.birth_date == identity.birth
    assert address_key(applicant.address) == address_key(identity.address)
    assert applicant.license_number is None  # the form does not ask for it
