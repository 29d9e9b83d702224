"""Errors of the retrieval package; all derive from RetrievalError.

RetrievalError
├── EmbeddingBackendError   the configured embedding model cannot be loaded
└── GenerationError         the optional LLM failed (callers fall back to the extractive answer)
"""


class RetrievalError(Exception):
    """Base of every retrieval failure."""


class EmbeddingBackendError(RetrievalError):
    """The configured embedding backend or model folder is unusable."""


class GenerationError(RetrievalError):
    """The optional LLM endpoint failed or timed out."""
