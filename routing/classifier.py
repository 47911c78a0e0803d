"""A small statistical classifier for triage, in pure scikit-learn (no Django).

It proposes a topic and a level for messages that no topic rule recognised; the rules stay the
primary, explainable decision (see :func:`routing.rules.decide`). Two linear models share one
text representation: TF-IDF on words (uni- and bigrams) and on character n-grams inside word
boundaries (2 to 5), both lower-cased and accent-folded, so that misspellings, missing accents
and inflections still share features. Logistic regression gives usable class probabilities
without a separate calibration step, which would need more examples per class than a few
hundred labelled messages provide; levels are weighted by class so the rare level 3 is not
drowned by level 1.

``confidence`` is the lower of the two probabilities (topic, level): the decision uses both,
so it is only as sure as its weaker half.

Persistence uses pickle (:meth:`Model.dumps`, :func:`loads`). That is acceptable here only
because models are produced by our own management command and stored by us: never load bytes
that came from elsewhere, since unpickling can run arbitrary code.
"""

from __future__ import annotations

import pickle
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import sklearn
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import FeatureUnion, Pipeline

_FORMAT = 1


def _features() -> FeatureUnion:
    return FeatureUnion(
        [
            (
                "words",
                TfidfVectorizer(
                    analyzer="word",
                    ngram_range=(1, 2),
                    strip_accents="unicode",
                    lowercase=True,
                    sublinear_tf=True,
                    min_df=1,
                ),
            ),
            (
                "chars",
                TfidfVectorizer(
                    analyzer="char_wb",
                    ngram_range=(2, 5),
                    strip_accents="unicode",
                    lowercase=True,
                    sublinear_tf=True,
                    min_df=2,
                ),
            ),
        ]
    )


def _pipeline(*, balanced: bool, seed: int) -> Pipeline:
    return Pipeline(
        [
            ("features", _features()),
            (
                "model",
                LogisticRegression(
                    C=10.0,
                    max_iter=5000,
                    class_weight="balanced" if balanced else None,
                    random_state=seed,
                ),
            ),
        ]
    )


@dataclass(frozen=True)
class Assessment:
    """What the models say of one text: the prediction and each level's probability."""

    topic: str
    level: int
    confidence: float
    level_probabilities: dict[int, float]


@dataclass
class Model:
    """A trained topic model and level model; see the module docstring."""

    topic_pipeline: Pipeline
    level_pipeline: Pipeline

    def predict(self, text: str) -> tuple[str, int, float]:
        """``(topic, level, confidence)`` for one text (subject and body)."""
        return self.predict_many([text])[0]

    def predict_many(self, texts: Sequence[str]) -> list[tuple[str, int, float]]:
        """Batch form of :meth:`predict`: one vectorisation for many texts is much faster."""
        return [(a.topic, a.level, a.confidence) for a in self.assess_many(texts)]

    def level_probability(self, text: str, level: int) -> float:
        """The level model's probability that ``text`` belongs at ``level`` (0 if unseen)."""
        return self.assess_many([text])[0].level_probabilities.get(level, 0.0)

    def assess_many(self, texts: Sequence[str]) -> list[Assessment]:
        """Everything both models say of each text, each model run once for all of them."""
        texts = list(texts)
        topic_proba = self.topic_pipeline.predict_proba(texts)
        level_proba = self.level_pipeline.predict_proba(texts)
        topic_classes = self.topic_pipeline.classes_
        level_classes = [int(c) for c in self.level_pipeline.classes_]
        results = []
        for t_row, l_row in zip(topic_proba, level_proba, strict=True):
            t_best, l_best = int(np.argmax(t_row)), int(np.argmax(l_row))
            results.append(
                Assessment(
                    topic=str(topic_classes[t_best]),
                    level=level_classes[l_best],
                    confidence=float(min(t_row[t_best], l_row[l_best])),
                    level_probabilities=dict(zip(level_classes, map(float, l_row), strict=True)),
                )
            )
        return results

    def dumps(self) -> bytes:
        """Pickled bytes, tagged with the scikit-learn version (trusted storage only)."""
        payload = {"format": _FORMAT, "sklearn": sklearn.__version__, "model": self}
        return pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL)


def loads(data: bytes) -> Model:
    """The inverse of :meth:`Model.dumps`. Only for bytes our own command produced."""
    payload = pickle.loads(data)  # noqa: S301 - trusted, self-produced bytes (module docstring)
    if not isinstance(payload, dict) or payload.get("format") != _FORMAT:
        raise ValueError("not a triage classifier produced by this version of the code")
    if payload.get("sklearn") != sklearn.__version__:
        # Pickles across scikit-learn versions usually load but may predict differently.
        warnings.warn(
            f"classifier trained with scikit-learn {payload.get('sklearn')}, "
            f"running {sklearn.__version__}: retrain it",
            stacklevel=2,
        )
    model = payload["model"]
    if not isinstance(model, Model):
        raise ValueError("the payload does not hold a triage classifier")
    return model


def train(
    *, texts: Sequence[str], topics: Sequence[str], levels: Sequence[int], seed: int = 0
) -> Model:
    """Fit both models on labelled messages (``texts[i]`` has ``topics[i]``, ``levels[i]``)."""
    if not (len(texts) == len(topics) == len(levels)):
        raise ValueError("texts, topics and levels must have the same length")
    if len(set(topics)) < 2 or len(set(levels)) < 2:
        raise ValueError("need at least two topics and two levels to learn anything")
    texts = list(texts)
    topic_pipeline = _pipeline(balanced=False, seed=seed).fit(texts, list(topics))
    level_pipeline = _pipeline(balanced=True, seed=seed).fit(texts, [int(x) for x in levels])
    return Model(topic_pipeline=topic_pipeline, level_pipeline=level_pipeline)


def cross_validate(
    *,
    texts: Sequence[str],
    topics: Sequence[str],
    levels: Sequence[int],
    folds: int = 5,
    seed: int = 0,
) -> dict[str, float]:
    """Stratified k-fold estimate (stratified on topic and level together where possible).

    Returns ``topic_accuracy``, ``level_accuracy``, ``level3_recall`` (``nan`` without any
    level 3) and ``folds``.
    """
    texts, topics, levels = list(texts), list(topics), [int(x) for x in levels]
    strata = [f"{t}|{lv}" for t, lv in zip(topics, levels, strict=True)]
    counts = {s: strata.count(s) for s in set(strata)}
    # Pairs too rare to appear in every fold are stratified on the topic alone.
    strata = [s if counts[s] >= folds else s.split("|")[0] for s in strata]
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    topic_hits = level_hits = l3_total = l3_hits = 0
    with warnings.catch_warnings():
        # Topics with fewer members than folds are expected on small sets; the estimate holds.
        warnings.filterwarnings("ignore", message="The least populated class")
        for train_idx, test_idx in splitter.split(texts, strata):
            model = train(
                texts=[texts[i] for i in train_idx],
                topics=[topics[i] for i in train_idx],
                levels=[levels[i] for i in train_idx],
                seed=seed,
            )
            predictions = model.predict_many([texts[i] for i in test_idx])
            for i, (topic, level, _) in zip(test_idx, predictions, strict=True):
                topic_hits += topic == topics[i]
                level_hits += level == levels[i]
                if levels[i] == 3:
                    l3_total += 1
                    l3_hits += level == 3
    n = len(texts)
    return {
        "topic_accuracy": topic_hits / n,
        "level_accuracy": level_hits / n,
        "level3_recall": l3_hits / l3_total if l3_total else float("nan"),
        "folds": float(folds),
    }
