"""Face matching: detection, alignment to each embedder's template, embeddings, comparison.

Filled by the face-matching issue; nothing lives here yet.
"""

__all__: list[str] = []
