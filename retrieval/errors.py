"""Errors of the retrieval package; all derive from RetrievalError.

RetrievalError
├── EmbeddingBackendError   the configured embedding model cannot be loaded
├── IndexUnavailableError   the Chroma server (chroma_url) cannot be reached
└── GenerationError         the optional LLM failed (callers fall back to the extractive answer)
"""


class RetrievalError(Exception):
    """Base of every retrieval failure."""


class EmbeddingBackendError(RetrievalError):
    """The configured embedding backend or model folder is unusable."""


class GenerationError(RetrievalError):
    """The optional LLM endpoint failed or timed out."""


class IndexUnavailableError(RetrievalError):
    """The Chroma server named by chroma_url cannot be reached, or its address is malformed."""
