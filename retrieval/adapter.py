"""A linear map from how staff ask to how the rules are written, learned from example questions.

The embedding model places "一把手出去学习了谁管事" far from the article about 区长外出学习; the
example questions say which article such wording means. A ridge regression from question vectors to
the vectors of their articles, pulled towards the identity, moves a new question the same way; the
article whose vector is nearest the moved question scores highest in the `dense_adapted` channel.
A linear map cannot memorise one question's answer; it learns directions ("一把手" → 区长).
"""

import numpy as np

# Chosen by `zhengwu eval --cv` (retrieval/questions/README.md).
RIDGE = 0.3


def fit_adapter(questions: np.ndarray, targets: np.ndarray, ridge: float = RIDGE) -> np.ndarray:
    """W minimising |QW - T|² + ridge·|W - I|² (rows: unit question and target vectors; with no
    rows, the identity)."""
    identity = np.eye(questions.shape[1])
    return np.linalg.solve(questions.T @ questions + ridge * identity, questions.T @ targets + ridge * identity)


def unit(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to length 1 (a zero row stays zero)."""
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return vectors / np.where(norms == 0, 1.0, norms)
