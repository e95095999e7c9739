"""The FastAPI daemon the loan web front end calls; maps loanflow and ekyc to HTTP."""
