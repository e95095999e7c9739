"""One module per resource; each exposes ``router`` (or ``build_router(settings)``)."""
