"""The one model the engine fits at start: a class-balanced, L2-regularised logistic regression.

It says whether the rules cover a question (the scope model, retrieval.decline), whether the best
article is the right one (the ranking model, likewise) and which candidate answers (the
re-ranker, retrieval.rerank).
"""

from dataclasses import dataclass

import numpy as np

# Regularisation, in units of standardised features.
_L2 = 1.0


@dataclass(frozen=True)
class LogisticModel:
    """Logistic regression: over Signals.features(), the log-odds that the rules cover a question;
    over Signals.ranking_features(), that the best article is the right one."""

    coefficients: tuple[float, ...]
    intercept: float

    def log_odds(self, features: np.ndarray) -> np.ndarray:
        return features @ np.array(self.coefficients) + self.intercept

    def probability(self, features: np.ndarray) -> np.ndarray:
        return 1 / (1 + np.exp(-self.log_odds(features)))

    @classmethod
    def fit(cls, features: np.ndarray, in_scope: np.ndarray, steps: int = 2000) -> "LogisticModel":
        """Class-balanced, L2-regularised fit by gradient descent on standardised features."""
        mean, scale = features.mean(axis=0), features.std(axis=0) + 1e-9
        standard = (features - mean) / scale
        positives = max(1, int(in_scope.sum()))
        weight = np.where(in_scope, 1.0, positives / max(1, len(in_scope) - positives))
        w, b = np.zeros(features.shape[1]), 0.0
        for _ in range(steps):
            error = (1 / (1 + np.exp(-(standard @ w + b))) - in_scope) * weight
            w -= 0.1 * (standard.T @ error + _L2 * w) / len(in_scope)
            b -= 0.1 * float(error.mean())
        coefficients = w / scale
        return cls(tuple(float(c) for c in coefficients), float(b - mean @ coefficients))
