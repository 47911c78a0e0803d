"""The triage decision, as a pure function: facts in, decision out.

No Django and no ORM here, on purpose: the decision is tested without a database, replayed by
``triage_preview`` and explained to a viewer or a mediator years later from the stored policy
version. Callers (the triage service, the preview command) build :class:`Facts` from a ticket
and a :class:`Policy` from the rules stored as JSON, then call :func:`decide`.

How a decision is taken, in layers:

1. **Topic.** Every enabled rule whose actions name a topic is a *topic rule*. All topic rules
   are evaluated and each matching one scores its evidence: ``weight`` times the sum over the
   distinct patterns it found of 1 (1.5 for a phrase, being more specific), plus half of that
   for each repetition up to three occurrences (repeating a word shows it is the subject).
   ``words_all`` entries are gates and count once each, whatever their lexicon matched. The
   best score wins; ties go to the lower ``order``. Scoring rather than first-match because
   viewers mix subjects ("merci pour le reportage, mais le son était coupé"): the topic with
   the most evidence is the dominant one, and managers can still force precedence with
   ``weight`` or make a rule decisive with ``stop`` (the first matching ``stop`` topic rule wins
   outright). The winning rule gives the base level and priority; the losers contribute
   nothing.
2. **Classifier.** Only when no topic rule matched, an optional statistical classifier may
   propose topic and base level, if its confidence reaches ``Defaults.classifier_threshold``
   (its answer is named in the explanation, with its confidence).
3. **Modifiers.** Every enabled rule without a topic action is a *modifier*; all matching
   modifiers apply, in order (a matching ``stop`` modifier ends the list). They can be limited
   to topics (``conditions.topics``). Their actions set the level (``level``), cap it
   (``max_level``, e.g. a how-to question about subtitles stays at level 1) or raise it
   (``min_level``, e.g. a legal threat is at least level 2). Floors are applied last so that an
   escalation always beats a cap: a capped how-to question that also threatens a lawsuit still
   reaches level 2. Priorities only go up.
4. **Team.** From the level and the brand: level 1 to the call centre; level 2 to the SRT of
   the national brand (``france3-bretagne`` goes to ``srt-france3``; when the brand is unknown
   it is read from the text, else ``Defaults.level2_fallback_team``, France 2's SRT by default,
   because it is the group's largest service and receives unattributed mail today); level 3 to
   the news mediator for news topics or news programmes, else to the programmes mediator. A
   rule may name a team explicitly; it is used only when that team serves the final level
   (``n1-*`` level 1, ``srt-*`` level 2, ``mediator-*`` level 3), so that an override written
   for level 2 cannot strand an escalated case.

Matching terms (``words_any``, ``words_all``, ``words_none`` and sender-list words) is case-
and accent-insensitive, with French Snowball stemming: ``médiateurs`` matches ``médiateur``.
A term of several words is a phrase: its stemmed words must follow each other exactly (no word
is skipped, so ``pas de son`` does not match "pas son problème"; write variants such as
``journal de 20h`` and ``journal du 20h`` when both occur). Extra syntax for managers:

* ``a|b|c`` — alternatives (useful in ``words_all``: each entry needs one of its alternatives);
* ``@name`` — every term of the policy lexicon ``name`` (shared word lists edited once);
* ``word*`` — prefix on the unstemmed word, for derivations Snowball does not unify
  (``sous-titr*`` matches ``sous-titres``, ``sous-titrage``, ``sous-titré``);
* ``"word"`` — exact word, not stemmed (``"fautes"`` without also matching ``il faut``).

A rule may also set ``skip_negated`` so that words right after a negation do not count
("pas de voyeurisme" is praise, not a grievance).

The text is normalised once per decision, not once per rule: the policy is compiled at
construction into an index of patterns by their longest word, the text is scanned once against
it, and rules then only test membership in what was found. A decision takes well under a
millisecond (see ``bench/triage_quality.py``).
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import MISSING, dataclass, field, fields
from functools import lru_cache
from typing import Any, Protocol

import snowballstemmer

CHANNELS = ("email", "web", "letter", "phone")
LEVELS = (1, 2, 3)
PRIORITIES = ("low", "normal", "high", "urgent")
SOURCES = ("rules", "classifier", "default")

PRIORITY_LABELS = {"low": "basse", "normal": "normale", "high": "haute", "urgent": "urgente"}
NATIONAL_BRANDS = ("france2", "france3", "france5")
_BRAND_LABELS = {"france2": "France 2", "france3": "France 3", "france5": "France 5"}

# Team code prefixes tell which level a team serves (see the module docstring, layer 4).
_TEAM_PREFIX_LEVEL = (("n1-", 1), ("srt-", 2), ("mediator-", 3))


# --- facts and decision --------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Facts:
    """What the triage knows about one request: the message and a little history.

    ``brand`` is a brand code (``france2``, ``france3``, ``france3-bretagne``, ``france5``) or
    ``unknown``/empty. ``sender_kind`` is the viewer's recorded kind when known (``elected``,
    ``lawyer``, ``press``, ...). ``earlier_answers`` counts answers already sent to this viewer
    on a recent ticket; ``repeat_contacts_same_subject`` counts earlier contacts on this subject.
    """

    channel: str
    brand: str = ""
    subject: str = ""
    body: str = ""
    programme: str | None = None
    programme_is_news: bool = False
    sender_email: str = ""
    sender_name: str = ""
    sender_kind: str = ""
    open_tickets: int = 0
    earlier_answers: int = 0
    repeat_contacts_same_subject: int = 0
    has_attachments: bool = False

    @property
    def text(self) -> str:
        """Subject and body as one text: what rules read and what the classifier is fed."""
        return f"{self.subject}\n{self.body}" if self.subject else self.body


@dataclass(frozen=True, kw_only=True)
class Decision:
    """The outcome of :func:`decide`, stored with the ticket so it can be explained later."""

    level: int
    team: str
    topic: str | None
    priority: str
    tags: tuple[str, ...]
    explanation: str
    matched_rules: tuple[str, ...]
    policy_version: str
    source: str
    confidence: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "level": self.level,
            "team": self.team,
            "topic": self.topic,
            "priority": self.priority,
            "tags": list(self.tags),
            "explanation": self.explanation,
            "matched_rules": list(self.matched_rules),
            "policy_version": self.policy_version,
            "source": self.source,
            "confidence": self.confidence,
        }


class TopicClassifier(Protocol):
    """Anything with ``predict(text) -> (topic, level, confidence)``, e.g. ``classifier.Model``.

    A classifier may also offer ``level_probability(text, level) -> float``: the policy's
    second opinion (``Defaults.review_threshold``) uses it when present.
    """

    def predict(self, text: str) -> tuple[str, int, float]: ...


# --- rules as plain data -------------------------------------------------------------------------


def _as_tuple(value: Any, *, name: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        # A bare string would otherwise be split into characters: almost always a typo in JSON.
        raise ValueError(f"{name} must be a list of strings, not a string")
    items = tuple(value)
    for item in items:
        if not isinstance(item, str) or not item.strip():
            raise ValueError(f"{name} must hold non-empty strings, got {item!r}")
    return items


def _check_level(value: int | None, *, name: str) -> None:
    if value is not None and value not in LEVELS:
        raise ValueError(f"{name} must be one of {LEVELS}, got {value!r}")


@dataclass(frozen=True, kw_only=True)
class Conditions:
    """All given conditions must hold (empty lists and ``None`` mean "no condition").

    ``brands``: a national code also matches its regional stations (``france3`` matches
    ``france3-bretagne``), ``france3-*`` matches the regional stations only and ``unknown``
    matches a missing brand. ``topics``: the topic chosen in layer 1 or 2; only for modifiers.
    ``sender_lists``: codes of the policy's sender lists, any of which may match.
    ``skip_negated``: ``words_any`` occurrences right after a negation ("pas de violence",
    "sans vulgarité", "aucun parti pris") do not count, so that praise is not read as a grievance.
    """

    channels: tuple[str, ...] = ()
    brands: tuple[str, ...] = ()
    programmes: tuple[str, ...] = ()
    programme_is_news: bool | None = None
    topics: tuple[str, ...] = ()
    words_any: tuple[str, ...] = ()
    words_all: tuple[str, ...] = ()
    words_none: tuple[str, ...] = ()
    sender_lists: tuple[str, ...] = ()
    min_open_tickets: int | None = None
    min_repeat_contacts: int | None = None
    min_earlier_answers: int | None = None
    has_attachments: bool | None = None
    skip_negated: bool = False

    def __post_init__(self) -> None:
        for name in (
            "channels",
            "brands",
            "programmes",
            "topics",
            "words_any",
            "words_all",
            "words_none",
            "sender_lists",
        ):
            object.__setattr__(self, name, _as_tuple(getattr(self, name), name=name))
        for channel in self.channels:
            if channel not in CHANNELS:
                raise ValueError(f"unknown channel {channel!r}")
        for name in ("min_open_tickets", "min_repeat_contacts", "min_earlier_answers"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 0):
                raise ValueError(f"{name} must be a non-negative integer, got {value!r}")


@dataclass(frozen=True, kw_only=True)
class Actions:
    """What a matching rule does.

    On a topic rule, ``level`` and ``priority`` are the base; on a modifier, ``level`` sets the
    level, and ``priority`` raises it (priorities never go down). ``min_level`` raises the level
    to at least N and ``max_level`` caps it; floors beat caps.
    """

    topic: str | None = None
    level: int | None = None
    min_level: int | None = None
    max_level: int | None = None
    team: str | None = None
    priority: str | None = None
    tags: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "tags", _as_tuple(self.tags, name="tags"))
        for name in ("level", "min_level", "max_level"):
            _check_level(getattr(self, name), name=name)
        if self.priority is not None and self.priority not in PRIORITIES:
            raise ValueError(f"priority must be one of {PRIORITIES}, got {self.priority!r}")
        if self.team is not None and _team_level(self.team) is None:
            prefixes = ", ".join(prefix + "*" for prefix, _ in _TEAM_PREFIX_LEVEL)
            raise ValueError(f"team {self.team!r} must start with one of {prefixes}")


@dataclass(frozen=True, kw_only=True)
class Rule:
    code: str
    name: str
    order: int = 100
    enabled: bool = True
    conditions: Conditions = field(default_factory=Conditions)
    actions: Actions = field(default_factory=Actions)
    stop: bool = False
    weight: float = 1.0

    def __post_init__(self) -> None:
        if not self.code or not self.name:
            raise ValueError("a rule needs a code and a name")
        if self.weight <= 0:
            raise ValueError(f"rule {self.code}: weight must be positive")
        if self.is_topic_rule and self.conditions.topics:
            raise ValueError(f"rule {self.code}: a topic rule cannot depend on the topic")

    @property
    def is_topic_rule(self) -> bool:
        return bool(self.actions.topic)


@dataclass(frozen=True, kw_only=True)
class SenderList:
    """Known kinds of senders (elected officials, lawyers, press).

    Matches when the viewer's recorded ``sender_kind`` equals ``code``, when the sender's email
    domain is listed (a domain also covers its subdomains), or when one of ``words`` appears in
    the letterhead or signature (the first 200 and last 300 characters of the body, and the
    sender's name).
    """

    code: str
    name: str
    domains: tuple[str, ...] = ()
    words: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "domains", _as_tuple(self.domains, name="domains"))
        object.__setattr__(self, "words", _as_tuple(self.words, name="words"))


@dataclass(frozen=True, kw_only=True)
class Defaults:
    """What applies when no rule says otherwise, and how levels map to teams."""

    level: int = 1
    topic: str | None = None
    priority: str = "normal"
    classifier_threshold: float = 0.7
    # Second opinion: a message the rules leave at level 1 goes to ``review_level`` when the
    # classifier gives level 3 at least this probability (None: never). A mediator's case
    # left at level 1 is the worst error; the service that receives it can escalate or send
    # it back in one step.
    review_threshold: float | None = None
    review_level: int = 2
    # An escalated case is never handled as "low": levels 2 and 3 imply at least this priority.
    min_priority_by_level: Mapping[int, str] = field(
        default_factory=lambda: {2: "normal", 3: "normal"}
    )
    level1_team: str = "n1-call-centre"
    level2_teams: Mapping[str, str] = field(
        default_factory=lambda: {b: f"srt-{b}" for b in NATIONAL_BRANDS}
    )
    level2_fallback_team: str = "srt-france2"
    level3_news_team: str = "mediator-news"
    level3_programmes_team: str = "mediator-programmes"
    news_topics: tuple[str, ...] = ("editorial_news",)
    topic_labels: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _check_level(self.level, name="defaults.level")
        if self.priority not in PRIORITIES:
            raise ValueError(f"defaults.priority must be one of {PRIORITIES}")
        if not 0.0 <= self.classifier_threshold <= 1.0:
            raise ValueError("classifier_threshold must be between 0 and 1")
        if self.review_threshold is not None and not 0.0 <= self.review_threshold <= 1.0:
            raise ValueError("review_threshold must be between 0 and 1")
        if self.review_level not in (2, 3):
            raise ValueError("review_level must be 2 or 3")
        # JSON object keys are strings: accept "2" as well as 2.
        object.__setattr__(
            self,
            "min_priority_by_level",
            {int(k): v for k, v in dict(self.min_priority_by_level).items()},
        )
        for priority in self.min_priority_by_level.values():
            if priority not in PRIORITIES:
                raise ValueError(f"unknown priority {priority!r} in min_priority_by_level")
        object.__setattr__(self, "level2_teams", dict(self.level2_teams))
        object.__setattr__(self, "topic_labels", dict(self.topic_labels))
        object.__setattr__(self, "news_topics", _as_tuple(self.news_topics, name="news_topics"))


@dataclass(frozen=True, kw_only=True)
class Policy:
    """A versioned set of rules; compiled once at construction (bad terms fail here, loudly)."""

    version: str
    rules: tuple[Rule, ...]
    defaults: Defaults = field(default_factory=Defaults)
    lexicons: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    sender_lists: tuple[SenderList, ...] = ()
    _compiled: _CompiledPolicy = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "rules", tuple(self.rules))
        object.__setattr__(self, "sender_lists", tuple(self.sender_lists))
        object.__setattr__(
            self,
            "lexicons",
            {k: _as_tuple(v, name=f"lexicon {k}") for k, v in dict(self.lexicons).items()},
        )
        codes = [rule.code for rule in self.rules]
        duplicates = sorted({code for code in codes if codes.count(code) > 1})
        if duplicates:
            raise ValueError(f"duplicate rule codes: {', '.join(duplicates)}")
        object.__setattr__(self, "_compiled", _CompiledPolicy(self))


# --- text normalisation --------------------------------------------------------------------------

_WORD_RE = re.compile(r"[^\W_]+")
_TERM_WORD_RE = re.compile(r"[^\W_]+\*?")
_NEGATIONS = frozenset({"sans", "aucun", "aucune", "ni"})
_SEPARATOR = ""  # between the parts of a text, so that no phrase spans two; matches nothing
_stemmers = threading.local()


def fold(text: str) -> str:
    """Lower-case, accents removed, ligatures expanded: the form every comparison uses."""
    return unicodedata.normalize("NFKD", _lower(text)).encode("ascii", "ignore").decode("ascii")


def _snowball(word: str) -> str:
    # Snowball stemmer objects keep state while stemming: one per thread.
    stemmer = getattr(_stemmers, "french", None)
    if stemmer is None:
        stemmer = _stemmers.french = snowballstemmer.stemmer("french")
    return stemmer.stemWord(word)


@lru_cache(maxsize=200_000)
def _analyse(word: str) -> tuple[str, str, str]:
    """A lower-case word as (folded word, stem of the accented word folded, stem of the folded
    word).

    Snowball needs the accents to strip some endings ("rediffusée" -> "rediffus"), but viewers
    also type without accents ("rediffusee"). Two words match when either stem agrees, so an
    accented rule matches an accented text as well as an unaccented one.
    """
    folded = fold(word)
    return folded, fold(_snowball(word)), _snowball(folded)


def _lower(text: str) -> str:
    text = text.lower()
    # str.translate is slow on long texts; ligatures are rare, so test before replacing.
    if "œ" in text or "æ" in text or "ß" in text:
        text = text.replace("œ", "oe").replace("æ", "ae").replace("ß", "ss")
    return text


class _Text:
    """A text tokenised and stemmed once, with position indexes for the pattern look-ups."""

    __slots__ = ("source", "words", "stems_a", "stems_f", "spans", "part_starts")

    def __init__(self, *parts: str) -> None:
        # Spans index into ``source`` (lower-cased parts joined by newlines), for excerpts.
        lowered = [_lower(part) for part in parts]
        self.source = "\n".join(lowered)
        words: list[str] = []
        stems_a: list[str] = []
        stems_f: list[str] = []
        spans: list[tuple[int, int]] = []
        self.part_starts: list[int] = []  # offset of each part in ``source``
        offset = 0
        for index, part in enumerate(lowered):
            if index:
                words.append(_SEPARATOR)
                stems_a.append(_SEPARATOR)
                stems_f.append(_SEPARATOR)
                spans.append((offset - 1, offset - 1))
            self.part_starts.append(offset)
            for found in _WORD_RE.finditer(part):
                folded, stem_a, stem_f = _analyse(found.group())
                if folded:
                    words.append(folded)
                    stems_a.append(stem_a)
                    stems_f.append(stem_f)
                    spans.append((offset + found.start(), offset + found.end()))
            offset += len(part) + 1
        self.words, self.stems_a, self.stems_f, self.spans = words, stems_a, stems_f, spans

    def excerpt(self, start: int, length: int) -> str:
        return self.source[self.spans[start][0] : self.spans[start + length - 1][1]]

    def negated(self, index: int) -> bool:
        """Whether the word at ``index`` follows a negation: "sans", "aucun", "ni", "pas de"."""
        before = self.words[index - 1] if index >= 1 else ""
        if before in _NEGATIONS:
            return True
        return before in ("de", "d") and index >= 2 and self.words[index - 2] in ("pas", "jamais")

    def token_is(self, index: int, token: _Token) -> bool:
        if index >= len(self.words) or not self.words[index]:
            return False
        mode, value, value_f = token
        if mode == "stem":
            return self.stems_a[index] == value or self.stems_f[index] == value_f
        if mode == "word":
            return self.words[index] == value
        return self.words[index].startswith(value)


# --- compiled patterns ---------------------------------------------------------------------------

# (mode, value, second value): mode "stem" compares both stems of ``_analyse``, "word" the exact
# folded word, "prefix" the start of the folded word.
_Token = tuple[str, str, str]


class _Pattern:
    """One phrase to look for; interned per policy, so identity is equality."""

    __slots__ = ("source", "tokens", "anchor")

    def __init__(self, source: str, tokens: tuple[_Token, ...]) -> None:
        self.source = source
        self.tokens = tokens
        # A phrase is looked up by its longest word ("pas de réponse" by "réponse"): long words
        # are rarer, so fewer candidate positions need checking.
        self.anchor = max(
            range(len(tokens)), key=lambda i: (tokens[i][0] != "prefix", len(tokens[i][1]))
        )

    def starts(self, text: _Text, anchors: Iterable[int]) -> list[int]:
        """Non-overlapping positions in ``text`` where the whole phrase starts, given the
        positions where its anchor word was found."""
        found: list[int] = []
        free_from = 0
        for anchor in anchors:
            start = anchor - self.anchor
            if start >= free_from and all(
                text.token_is(start + offset, token) for offset, token in enumerate(self.tokens)
            ):
                found.append(start)
                free_from = start + len(self.tokens)
        return found

    def score(self, occurrences: int) -> float:
        """Evidence weight: a phrase is more specific than a word; repeating a word shows it is
        the subject of the message, up to a point."""
        base = 1.5 if len(self.tokens) > 1 else 1.0
        return base * (1.0 + 0.5 * (min(occurrences, 3) - 1))


class _PatternIndex:
    """All patterns of a policy, indexed by their first token.

    Scanning a text then costs one look-up per distinct word of the text rather than one search
    per pattern, which is what keeps a decision well under a millisecond.
    """

    def __init__(self) -> None:
        self._by_tokens: dict[tuple[_Token, ...], _Pattern] = {}
        self._by_stem_a: dict[str, list[_Pattern]] = {}
        self._by_stem_f: dict[str, list[_Pattern]] = {}
        self._by_word: dict[str, list[_Pattern]] = {}
        self._by_prefix: dict[str, list[_Pattern]] = {}  # by the first 3 letters of the prefix

    def intern(self, source: str) -> _Pattern:
        raw = source.strip()
        exact = len(raw) > 2 and raw.startswith('"') and raw.endswith('"')
        tokens: list[_Token] = []
        for word in _TERM_WORD_RE.findall(_lower(raw)):
            if word.endswith("*"):
                prefix = fold(word.rstrip("*"))
                if len(prefix) < 3:
                    raise ValueError(f"term {source!r}: a prefix needs at least 3 letters")
                tokens.append(("prefix", prefix, prefix))
            else:
                folded, stem_a, stem_f = _analyse(word)
                if not folded:
                    continue
                tokens.append(("word", folded, folded) if exact else ("stem", stem_a, stem_f))
        if not tokens:
            raise ValueError(f"term {source!r} has no word to match")
        key = tuple(tokens)
        pattern = self._by_tokens.get(key)
        if pattern is None:
            pattern = self._by_tokens[key] = _Pattern(raw.strip('"') if exact else raw, key)
            mode, value, value_f = key[pattern.anchor]
            if mode == "stem":
                self._by_stem_a.setdefault(value, []).append(pattern)
                self._by_stem_f.setdefault(value_f, []).append(pattern)
            elif mode == "word":
                self._by_word.setdefault(value, []).append(pattern)
            else:
                self._by_prefix.setdefault(value[:3], []).append(pattern)
        return pattern

    def scan(self, text: _Text) -> dict[_Pattern, list[int]]:
        """Every pattern found in ``text``, with the positions where it starts."""
        candidates: dict[_Pattern, list[int]] = {}
        by_a, by_f, by_word, prefixes = (
            self._by_stem_a,
            self._by_stem_f,
            self._by_word,
            self._by_prefix,
        )
        for index, (word, stem_a, stem_f) in enumerate(
            zip(text.words, text.stems_a, text.stems_f, strict=True)
        ):
            if not word:
                continue
            for group in (by_a.get(stem_a), by_f.get(stem_f), by_word.get(word)):
                if group:
                    for pattern in group:
                        positions = candidates.setdefault(pattern, [])
                        # Both stems may index the same pattern: add each position once.
                        if not positions or positions[-1] != index:
                            positions.append(index)
            for pattern in prefixes.get(word[:3], ()):
                if word.startswith(pattern.tokens[pattern.anchor][1]):
                    positions = candidates.setdefault(pattern, [])
                    if not positions or positions[-1] != index:
                        positions.append(index)
        found: dict[_Pattern, list[int]] = {}
        for pattern, positions in candidates.items():
            if len(pattern.tokens) == 1:
                # A single word matches wherever it was indexed; nothing to verify.
                found[pattern] = positions
                continue
            starts = pattern.starts(text, positions)
            if starts:
                found[pattern] = starts
        return found


class _Term:
    """One entry of a word list: alternatives, any of which matches."""

    __slots__ = ("source", "patterns")

    def __init__(self, source: str, patterns: tuple[_Pattern, ...]) -> None:
        self.source = source
        self.patterns = patterns


def _compile_term(
    source: str, *, lexicons: Mapping[str, tuple[str, ...]], index: _PatternIndex
) -> _Term:
    patterns: list[_Pattern] = []
    for alternative in source.split("|"):
        alternative = alternative.strip()
        if alternative.startswith("@"):
            name = alternative[1:]
            if name not in lexicons:
                raise ValueError(f"term {source!r}: unknown lexicon {name!r}")
            # Lexicon entries may hold alternatives but not other lexicons: no cycles to chase.
            for entry in lexicons[name]:
                for sub in entry.split("|"):
                    if sub.strip().startswith("@"):
                        raise ValueError(f"lexicon {name!r} cannot refer to another lexicon")
                    patterns.append(index.intern(sub))
        elif alternative:
            patterns.append(index.intern(alternative))
    if not patterns:
        raise ValueError(f"empty term {source!r}")
    return _Term(source, tuple(dict.fromkeys(patterns)))


def _brand_matches(wanted: str, brand: str) -> bool:
    if wanted == "unknown":
        return brand in ("", "unknown")
    if wanted.endswith("-*"):
        return brand.startswith(wanted[:-1])
    return brand == wanted or brand.startswith(wanted + "-")


def national_brand(brand: str) -> str | None:
    """``france3-bretagne`` -> ``france3``; ``None`` for an unknown or foreign code."""
    base = brand.split("-", 1)[0] if brand else ""
    return base if base in NATIONAL_BRANDS else None


def _team_level(team: str) -> int | None:
    for prefix, level in _TEAM_PREFIX_LEVEL:
        if team.startswith(prefix):
            return level
    return None


def _ordinal(n: int) -> str:
    return "1er" if n == 1 else f"{n}e"


def _french_number(value: float) -> str:
    return f"{value:.2f}".replace(".", ",")


@dataclass
class _Match:
    rule: Rule
    words: list[str]
    evidence: list[str]
    score: float

    def describe(self) -> str:
        parts = []
        if self.words:
            parts.append("mots " + ", ".join(f"« {w} »" for w in self.words))
        parts.extend(self.evidence)
        text = f"règle « {self.rule.name} »"
        return f"{text} : {' ; '.join(parts)}" if parts else text


# The first line of a letter or a message proper, after any letterhead.
_SALUTATION = re.compile(
    r"^[ \t]*(?:madame|monsieur|mesdames|messieurs|bonjour|bonsoir|cher|chère|dear|hello)\b",
    re.IGNORECASE | re.MULTILINE,
)


class _Context:
    """Per-decision state: the facts, their texts scanned once, the signature zone lazily."""

    def __init__(self, facts: Facts, index: _PatternIndex) -> None:
        self.facts = facts
        self.index = index
        self.text = _Text(facts.subject, facts.body)
        self.found = index.scan(self.text)
        self.programme = fold(facts.programme or "").strip()
        self._signature: list[tuple[_Text, dict[_Pattern, list[int]]]] | None = None

    @property
    def signature(self) -> list[tuple[_Text, dict[_Pattern, list[int]]]]:
        """Where titles are written: the sender's name, and the letterhead and signature (the
        first 200 characters of the body, up to the salutation, and its last 300), as (text,
        patterns found there). "Madame, Monsieur, … l'ancien maire de notre commune" names
        someone else: the letterhead ends where the letter begins."""
        if self._signature is None:
            text, body_start = self.text, self.text.part_starts[-1]
            body_end = len(text.source)
            header_end = body_start + 200
            salutation = _SALUTATION.search(text.source, body_start, header_end)
            if salutation:
                header_end = salutation.start()
            zone = [
                i
                for i, (start, _) in enumerate(text.spans)
                if body_start <= start < header_end or start >= body_end - 300
            ]
            in_zone = {p: [i for i in starts if i in zone] for p, starts in self.found.items()}
            self._signature = [(text, {p: s for p, s in in_zone.items() if s})]
            if self.facts.sender_name:
                name = _Text(self.facts.sender_name)
                self._signature.append((name, self.index.scan(name)))
        return self._signature


class UnknownSenderListsError(ValueError):
    """A rule names sender lists the policy does not define (kept apart so that the admin can
    say it in the reader's language, naming the rule and the lists)."""

    def __init__(self, *, rule: str, codes: list[str]) -> None:
        self.rule, self.codes = rule, list(codes)
        super().__init__(f"rule {rule}: unknown sender lists {self.codes}")


class _CompiledSenderList:
    def __init__(
        self,
        sender_list: SenderList,
        *,
        lexicons: Mapping[str, tuple[str, ...]],
        index: _PatternIndex,
    ) -> None:
        self.sender_list = sender_list
        self.domains = tuple(d.lower().lstrip("@.") for d in sender_list.domains)
        self.terms = tuple(
            _compile_term(w, lexicons=lexicons, index=index) for w in sender_list.words
        )

    def evidence(self, ctx: _Context) -> str | None:
        facts, name = ctx.facts, self.sender_list.name
        if facts.sender_kind and facts.sender_kind == self.sender_list.code:
            return f"expéditeur connu comme « {name} »"
        domain = facts.sender_email.rpartition("@")[2].lower()
        if domain and any(domain == d or domain.endswith("." + d) for d in self.domains):
            return f"adresse de l'expéditeur dans la liste « {name} »"
        for text, found in ctx.signature if self.terms else ():
            for term in self.terms:
                for pattern in term.patterns:
                    if pattern in found:
                        excerpt = text.excerpt(found[pattern][0], len(pattern.tokens))
                        return f"signature « {excerpt} » (liste « {name} »)"
        return None


class _CompiledRule:
    def __init__(
        self,
        rule: Rule,
        *,
        lexicons: Mapping[str, tuple[str, ...]],
        sender_lists: Mapping[str, _CompiledSenderList],
        index: _PatternIndex,
    ) -> None:
        c = rule.conditions

        def terms(sources: tuple[str, ...]) -> tuple[_Term, ...]:
            return tuple(_compile_term(t, lexicons=lexicons, index=index) for t in sources)

        self.rule = rule
        self.any_terms = terms(c.words_any)
        self.all_terms = terms(c.words_all)
        self.none_terms = terms(c.words_none)
        self.any_patterns = frozenset(p for term in self.any_terms for p in term.patterns)
        self.none_patterns = frozenset(p for term in self.none_terms for p in term.patterns)
        self.programmes = frozenset(fold(p).strip() for p in c.programmes)
        self.topics = frozenset(c.topics)
        unknown = [code for code in c.sender_lists if code not in sender_lists]
        if unknown:
            raise UnknownSenderListsError(rule=rule.code, codes=unknown)
        self.sender_lists = tuple(sender_lists[code] for code in c.sender_lists)

    def match(self, ctx: _Context, *, topic: str | None) -> _Match | None:
        """The rule's evidence when all its conditions hold, else ``None``. Cheap checks first."""
        c, facts, found = self.rule.conditions, ctx.facts, ctx.found
        if c.channels and facts.channel not in c.channels:
            return None
        if c.brands and not any(_brand_matches(b, facts.brand) for b in c.brands):
            return None
        if self.programmes and ctx.programme not in self.programmes:
            return None
        if c.programme_is_news is not None and facts.programme_is_news != c.programme_is_news:
            return None
        if self.topics and topic not in self.topics:
            return None
        if c.has_attachments is not None and facts.has_attachments != c.has_attachments:
            return None
        evidence: list[str] = []
        if c.min_open_tickets is not None:
            if facts.open_tickets < c.min_open_tickets:
                return None
            evidence.append(f"{facts.open_tickets} ticket(s) ouvert(s)")
        if c.min_repeat_contacts is not None:
            if facts.repeat_contacts_same_subject < c.min_repeat_contacts:
                return None
            nth = _ordinal(facts.repeat_contacts_same_subject + 1)
            evidence.append(f"{nth} contact sur ce sujet")
        if c.min_earlier_answers is not None:
            if facts.earlier_answers < c.min_earlier_answers:
                return None
            evidence.append(f"{facts.earlier_answers} réponse(s) déjà envoyée(s)")
        if c.has_attachments:
            evidence.append("pièce jointe")
        if self.none_patterns and any(p in self.none_patterns for p in found):
            return None
        # ``words_all`` entries are gates (often a broad context lexicon): each counts once.
        # Every ``words_any`` alternative found is evidence (a lexicon may match many words).
        matched: dict[_Pattern, None] = {}
        for term in self.all_terms:
            hit = next((p for p in term.patterns if p in found), None)
            if hit is None:
                return None
            matched[hit] = None
        if self.any_patterns:
            # Iterate over what the text holds (tens of patterns), not over the rule's lists.
            hits = [p for p in found if p in self.any_patterns]
            if c.skip_negated:
                kept = {}
                for p in hits:
                    # A phrase that starts with the negation ("aucune contradiction") is kept.
                    if p.tokens[0][1] in _NEGATIONS:
                        kept[p] = found[p]
                    else:
                        starts = [i for i in found[p] if not ctx.text.negated(i)]
                        if starts:
                            kept[p] = starts
                hits = list(kept)
                found = {**found, **kept}
            if not hits:
                return None
            matched.update(dict.fromkeys(hits))
        if self.sender_lists:
            senders = [e for e in (s.evidence(ctx) for s in self.sender_lists) if e]
            if not senders:
                return None
            evidence.extend(senders)
        score = sum(p.score(len(found[p])) for p in matched) + (1.0 if self.sender_lists else 0)
        # Evidence as the reader sees it: a phrase lying inside a longer matched phrase at the
        # same place ("conteste votre réponse" in "je conteste votre réponse") is not repeated.
        spans = [(found[p][0], found[p][0] + len(p.tokens), p) for p in matched]
        shown = [
            (start, end, p)
            for start, end, p in spans
            if not any(s <= start and end <= e and (e - s) > (end - start) for s, e, _ in spans)
        ]
        words: list[str] = []
        for start, end, _pattern in sorted(shown, key=lambda span: span[0]):
            excerpt = ctx.text.excerpt(start, end - start)
            if excerpt not in words:
                words.append(excerpt)
        return _Match(
            rule=self.rule,
            words=words,
            evidence=evidence,
            score=self.rule.weight * max(score, 1.0),
        )


class _CompiledPolicy:
    def __init__(self, policy: Policy) -> None:
        self.index = _PatternIndex()
        sender_lists = {
            s.code: _CompiledSenderList(s, lexicons=policy.lexicons, index=self.index)
            for s in policy.sender_lists
        }
        enabled = sorted((r for r in policy.rules if r.enabled), key=lambda r: (r.order, r.code))
        compiled = [
            _CompiledRule(r, lexicons=policy.lexicons, sender_lists=sender_lists, index=self.index)
            for r in enabled
        ]
        self.topic_rules = tuple(c for c in compiled if c.rule.is_topic_rule)
        self.modifiers = tuple(c for c in compiled if not c.rule.is_topic_rule)
        self.brand_mentions = tuple(
            (brand, self.index.intern(_BRAND_LABELS[brand])) for brand in NATIONAL_BRANDS
        )


# --- the decision --------------------------------------------------------------------------------


def decide(*, facts: Facts, policy: Policy, classifier: TopicClassifier | None = None) -> Decision:
    """Decide level, team, topic and priority for ``facts`` under ``policy``, with reasons.

    Pure and deterministic for a given policy and classifier. The classifier is consulted only
    when no topic rule matched; its exceptions propagate (a broken model is a bug to see).
    """
    compiled: _CompiledPolicy = policy._compiled
    defaults = policy.defaults
    ctx = _Context(facts, compiled.index)

    # Layer 1: topic rules compete on evidence; a decisive (stop) rule wins outright.
    candidates: list[_Match] = []
    winner: _Match | None = None
    for crule in compiled.topic_rules:
        found = crule.match(ctx, topic=None)
        if found is None:
            continue
        candidates.append(found)
        if crule.rule.stop:
            winner = found
            break
    if winner is None and candidates:
        # max() keeps the first of equal scores, i.e. the lower order.
        winner = max(candidates, key=lambda m: m.score)

    topic: str | None = defaults.topic
    level = defaults.level
    priority = defaults.priority
    source = "default"
    confidence: float | None = None
    base_reason = "aucune règle de sujet ne s'applique : niveau par défaut"
    if winner is not None:
        actions = winner.rule.actions
        topic = actions.topic
        level = actions.level or defaults.level
        priority = actions.priority or defaults.priority
        source = "rules"
        base_reason = winner.describe()
    elif classifier is not None:
        predicted_topic, predicted_level, predicted_confidence = classifier.predict(facts.text)
        if predicted_confidence >= defaults.classifier_threshold:
            topic, level, confidence = predicted_topic, int(predicted_level), predicted_confidence
            _check_level(level, name="classifier level")
            source = "classifier"
            base_reason = (
                f"classifieur statistique : sujet « {_topic_label(topic, defaults)} » "
                f"(confiance {_french_number(confidence)})"
            )

    # Layer 3: modifiers, in order.
    modifiers: list[_Match] = []
    for crule in compiled.modifiers:
        found = crule.match(ctx, topic=topic)
        if found is None:
            continue
        modifiers.append(found)
        if crule.rule.stop:
            break
    if modifiers and source == "default":
        source = "rules"
    applied = ([winner] if winner else []) + modifiers

    level_reasons: list[_Match] = []
    setters = [m for m in modifiers if m.rule.actions.level is not None]
    if setters:
        level, level_reasons = setters[-1].rule.actions.level, [setters[-1]]
    caps = [m for m in applied if m.rule.actions.max_level is not None]
    if caps:
        cap = min(m.rule.actions.max_level for m in caps)
        if level > cap:
            level = cap
            level_reasons = [m for m in caps if m.rule.actions.max_level == cap]
    floors = [m for m in applied if m.rule.actions.min_level is not None]
    if floors:
        floor = max(m.rule.actions.min_level for m in floors)
        if level < floor:
            level = floor
            level_reasons = [m for m in floors if m.rule.actions.min_level == floor]
    review_note = ""
    if (
        level == 1
        and classifier is not None
        and defaults.review_threshold is not None
        and not caps
        and hasattr(classifier, "level_probability")
    ):
        chance = float(classifier.level_probability(facts.text, 3))
        if chance >= defaults.review_threshold:
            level, level_reasons = defaults.review_level, []
            review_note = (
                f"second avis du classifieur statistique : saisine de niveau 3 probable "
                f"(probabilité {_french_number(chance)}), relecture au niveau "
                f"{defaults.review_level}"
            )
            if source == "default":
                source = "classifier"
    if not level_reasons and not review_note:
        # The topic gave the level; modifiers asking for that very level say more about why
        # (an explicit request for the mediator tells more than "editorial dispute").
        level_reasons = [
            m for m in modifiers if level in (m.rule.actions.min_level, m.rule.actions.level)
        ]

    priority_reasons: list[_Match] = []
    for found in modifiers:
        wanted = found.rule.actions.priority
        if wanted and PRIORITIES.index(wanted) > PRIORITIES.index(priority):
            priority, priority_reasons = wanted, [found]
        elif wanted and wanted == priority and priority_reasons:
            priority_reasons.append(found)
    level_floor_priority = defaults.min_priority_by_level.get(level)
    if level_floor_priority and PRIORITIES.index(level_floor_priority) > PRIORITIES.index(priority):
        priority = level_floor_priority

    team, team_note = _choose_team(
        level=level, topic=topic, ctx=ctx, policy=policy, applied=applied
    )

    tags: list[str] = []
    for found in applied:
        tags.extend(t for t in found.rule.actions.tags if t not in tags)
    if review_note:
        tags.append("second-avis")

    explanation = _explain(
        level=level,
        level_reasons=level_reasons,
        review_note=review_note,
        base_reason=base_reason,
        winner=winner,
        topic=topic,
        priority=priority,
        priority_reasons=priority_reasons,
        others=modifiers,
        team=team,
        team_note=team_note,
        facts=facts,
        defaults=defaults,
    )
    return Decision(
        level=level,
        team=team,
        topic=topic,
        priority=priority,
        tags=tuple(tags),
        explanation=explanation,
        matched_rules=tuple(m.rule.code for m in applied),
        policy_version=policy.version,
        source=source,
        confidence=confidence,
    )


def _topic_label(topic: str | None, defaults: Defaults) -> str:
    if not topic:
        return "non classé"
    return defaults.topic_labels.get(topic, topic)


def _choose_team(
    *, level: int, topic: str | None, ctx: _Context, policy: Policy, applied: Sequence[_Match]
) -> tuple[str, str]:
    """The team for the final level, and a short French note on why (may be empty)."""
    defaults = policy.defaults
    for found in reversed(applied):
        team = found.rule.actions.team
        if team and _team_level(team) == level:
            return team, f"désignée par la règle « {found.rule.name} »"
    if level == 1:
        return defaults.level1_team, ""
    if level == 3:
        if topic in defaults.news_topics or ctx.facts.programme_is_news:
            return defaults.level3_news_team, "information"
        return defaults.level3_programmes_team, "programmes"
    brand = national_brand(ctx.facts.brand)
    note = ""
    if brand is None:
        # The form said nothing; a single channel named in the text is a safe guess.
        mentioned = [b for b, pattern in policy._compiled.brand_mentions if pattern in ctx.found]
        if len(mentioned) == 1:
            brand = mentioned[0]
            note = f"chaîne déduite du texte : {_BRAND_LABELS[brand]}"
    if brand and brand in defaults.level2_teams:
        return defaults.level2_teams[brand], note
    return defaults.level2_fallback_team, "chaîne inconnue : service par défaut"


def _explain(
    *,
    level: int,
    level_reasons: Sequence[_Match],
    review_note: str,
    base_reason: str,
    winner: _Match | None,
    topic: str | None,
    priority: str,
    priority_reasons: Sequence[_Match],
    others: Sequence[_Match],
    team: str,
    team_note: str,
    facts: Facts,
    defaults: Defaults,
) -> str:
    """French sentences an agent, a manager or a mediator can read without knowing the code.

    Each rule's evidence is given the first time the rule is named, then only its name.
    """
    described: set[str] = set()

    def say(matches: Sequence[_Match]) -> str:
        parts = []
        for found in matches:
            if found.rule.code in described:
                parts.append(f"règle « {found.rule.name} »")
            else:
                described.add(found.rule.code)
                parts.append(found.describe())
        return " ; ".join(parts)

    label = _topic_label(topic, defaults)
    sentences: list[str] = []
    if review_note or level_reasons:
        sentences.append(f"Niveau {level} — {review_note or say(level_reasons)}")
        if winner is not None:
            sentences.append(f"Sujet « {label} » — {say([winner])}")
        elif topic:
            sentences.append(f"Sujet « {label} » — {base_reason}")
    else:
        head = say([winner]) if winner is not None else base_reason
        sentences.append(f"Niveau {level} — {head}")
        if topic:
            sentences.append(f"Sujet « {label} »")
    priority_label = PRIORITY_LABELS[priority]
    if priority_reasons:
        sentences.append(f"Priorité {priority_label} — {say(priority_reasons)}")
    else:
        sentences.append(f"Priorité {priority_label}")
    rest = [m for m in others if m.rule.code not in described]
    if rest:
        sentences.append("Autres règles : " + say(rest))
    history = []
    if facts.repeat_contacts_same_subject:
        history.append(f"{_ordinal(facts.repeat_contacts_same_subject + 1)} contact sur ce sujet")
    if facts.earlier_answers:
        history.append(f"{facts.earlier_answers} réponse(s) déjà envoyée(s)")
    if facts.open_tickets:
        history.append(f"{facts.open_tickets} ticket(s) ouvert(s)")
    if history:
        sentences.append("Historique : " + ", ".join(history))
    sentences.append(f"Équipe {team}" + (f" ({team_note})" if team_note else ""))
    return ". ".join(sentences) + "."


# --- (de)serialisation ---------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def _to_dict(obj: Any, *, skip_defaults: bool) -> dict[str, Any]:
    """Dataclass fields as JSON-able values; with ``skip_defaults``, those left at their default
    are omitted so that stored rules stay short enough to read in the admin."""
    out: dict[str, Any] = {}
    for f in fields(obj):
        if not f.init:
            continue
        value = getattr(obj, f.name)
        if skip_defaults:
            if f.default is not MISSING:
                default = f.default
            elif f.default_factory is not MISSING:
                default = f.default_factory()
            else:
                default = MISSING
            if default is not MISSING and _plain(default) == _plain(value):
                continue
        out[f.name] = _plain(value)
    return out


def _from_dict(cls: type, data: Mapping[str, Any], *, where: str) -> Any:
    if not isinstance(data, Mapping):
        raise ValueError(f"{where}: expected an object, got {type(data).__name__}")
    known = {f.name for f in fields(cls) if f.init}
    unknown = sorted(set(data) - known)
    if unknown:
        # A typo in a manager's JSON must not silently disable a condition.
        raise ValueError(f"{where}: unknown keys {', '.join(unknown)}")
    try:
        return cls(**data)
    except TypeError as exc:
        raise ValueError(f"{where}: {exc}") from exc


def rule_to_dict(rule: Rule) -> dict[str, Any]:
    """A JSON-able dict of the rule, empty conditions and actions left out for readability."""
    data = _to_dict(rule, skip_defaults=False)
    data["conditions"] = _to_dict(rule.conditions, skip_defaults=True)
    data["actions"] = _to_dict(rule.actions, skip_defaults=True)
    return data


def rule_from_dict(data: Mapping[str, Any]) -> Rule:
    """The inverse of :func:`rule_to_dict`; raises ``ValueError`` on unknown keys or values."""
    where = f"rule {data.get('code', '?')}" if isinstance(data, Mapping) else "rule"
    values = dict(data)
    values["conditions"] = _from_dict(
        Conditions, values.get("conditions") or {}, where=f"{where} conditions"
    )
    values["actions"] = _from_dict(Actions, values.get("actions") or {}, where=f"{where} actions")
    return _from_dict(Rule, values, where=where)


def policy_to_dict(policy: Policy) -> dict[str, Any]:
    return {
        "version": policy.version,
        "defaults": _to_dict(policy.defaults, skip_defaults=True),
        "lexicons": _plain(policy.lexicons),
        "sender_lists": [_to_dict(s, skip_defaults=True) for s in policy.sender_lists],
        "rules": [rule_to_dict(r) for r in policy.rules],
    }


def policy_from_dict(data: Mapping[str, Any]) -> Policy:
    """Build (and compile) a policy from plain data; raises ``ValueError`` when it is wrong."""
    unknown = sorted(set(data) - {"version", "defaults", "lexicons", "sender_lists", "rules"})
    if unknown:
        raise ValueError(f"policy: unknown keys {', '.join(unknown)}")
    return Policy(
        version=str(data["version"]),
        defaults=_from_dict(Defaults, data.get("defaults") or {}, where="defaults"),
        lexicons=dict(data.get("lexicons") or {}),
        sender_lists=tuple(
            _from_dict(SenderList, s, where=f"sender list {s.get('code', '?')}")
            for s in data.get("sender_lists") or ()
        ),
        rules=tuple(rule_from_dict(r) for r in data.get("rules") or ()),
    )
