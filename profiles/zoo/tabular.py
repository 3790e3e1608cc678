"""Tabular Classification: scikit-learn estimators on its bundled breast-cancer data set
(Wisconsin diagnostic, 569 rows x 30 features). Models are fitted at load (seeded,
deterministic, well under a second each), so nothing is unpickled from disk."""

from __future__ import annotations

import functools
from typing import Any, ClassVar

import numpy as np

from profiles.zoo.base import TaskEval, ZooModel

DATASET = "scikit-learn load_breast_cancer (UCI Wisconsin diagnostic, 569 rows x 30 features)"
CLASSES = ("malignant", "benign")


@functools.cache
def cancer_split() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Stratified 60/40 split, seed 0: (x_train, y_train, x_test, y_test)."""
    from sklearn.datasets import load_breast_cancer
    from sklearn.model_selection import train_test_split

    data = load_breast_cancer()
    xtr, xte, ytr, yte = train_test_split(
        data.data, data.target, test_size=0.4, random_state=0, stratify=data.target
    )
    return xtr, ytr, xte, yte


class TabularModel(ZooModel):
    task: ClassVar[str] = "Tabular Classification"
    requires: ClassVar[tuple[str, ...]] = ("sklearn.ensemble", "sklearn.pipeline")

    def make(self) -> Any:
        raise NotImplementedError

    def _load(self) -> None:
        xtr, ytr, _, _ = cancer_split()
        self.model = self.make().fit(xtr, ytr)

    def predict(self, x: Any) -> tuple[int, float]:
        row = np.asarray(x, dtype=np.float64).reshape(1, -1)
        if row.shape[1] != 30:
            raise ValueError(f"expected 30 features (breast-cancer row), got {row.shape[1]}")
        probs = self.model.predict_proba(row)[0]
        k = int(np.argmax(probs))
        return k, float(probs[k])


class Stump(TabularModel):
    name: ClassVar[str] = "cancer-tree-d2"
    summary: ClassVar[str] = "decision tree, depth 2"

    def make(self) -> Any:
        from sklearn.tree import DecisionTreeClassifier

        return DecisionTreeClassifier(max_depth=2, random_state=0)


class LogReg(TabularModel):
    name: ClassVar[str] = "cancer-logreg"
    summary: ClassVar[str] = "standardise + logistic regression"

    def make(self) -> Any:
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        return make_pipeline(StandardScaler(), LogisticRegression(C=0.3, max_iter=1000))


class Forest(TabularModel):
    name: ClassVar[str] = "cancer-forest-300"
    summary: ClassVar[str] = "random forest, 300 trees"

    def make(self) -> Any:
        from sklearn.ensemble import RandomForestClassifier

        return RandomForestClassifier(n_estimators=300, random_state=0, n_jobs=1)


class Boosting(TabularModel):
    name: ClassVar[str] = "cancer-gbdt-200"
    summary: ClassVar[str] = "gradient-boosted trees, 200 rounds of depth 3"

    def make(self) -> Any:
        from sklearn.ensemble import GradientBoostingClassifier

        return GradientBoostingClassifier(n_estimators=200, random_state=0)


class KNN(TabularModel):
    name: ClassVar[str] = "cancer-knn-15"
    summary: ClassVar[str] = "standardise + 15-nearest-neighbours vote"

    def make(self) -> Any:
        from sklearn.neighbors import KNeighborsClassifier
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        return make_pipeline(StandardScaler(), KNeighborsClassifier(n_neighbors=15))


MODELS: tuple[type[TabularModel], ...] = (Stump, LogReg, KNN, Boosting, Forest)


def tabular_eval(limit: int | None = None) -> TaskEval:
    _, _, x, y = cancer_split()
    n = len(x) if limit is None else min(limit, len(x))
    return TaskEval(
        task="Tabular Classification",
        metric="accuracy",
        dataset=f"{DATASET}: stratified 40% test split, seed 0 ({n} rows)",
        inputs=list(x[:n]),
        expected=[int(v) for v in y[:n]],
        scorer=lambda pred, exp: float(
            np.mean([p[0] == e for p, e in zip(pred, exp, strict=True)])
        ),
    )
