"""The semantic layer: flag log lines whose text is unlike what came before.

:class:`HashingVectorizer` embeds text as signed hashed character n-grams;
:class:`SemanticNoveltyDetector` scores ``1 - cosine(message, centroid)`` against its
own running statistics (in sigma) and lets a decayed centroid follow normal text. Pass
``embed_fn`` (any callable from ``str`` to a sequence of floats) to score real
embeddings instead. Both classes are native.
"""

from __future__ import annotations

from typing import List

from ._native import HashingVectorizer, SemanticNoveltyDetector

Vector = List[float]

__all__ = ["Vector", "HashingVectorizer", "SemanticNoveltyDetector"]
