"""The loan application workflow of the bank's smartphone guide (My Page, applications,
documents, consents, eKYC sessions, review, e-signature), on a real database.

Depends on ``ekyc``; never imported by it.
"""
