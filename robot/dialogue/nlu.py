"""Language understanding: what a visitor's words mean (intent, service, procedure, codes).

Built for short requests at a desk, not open conversation, and for imperfect input: text
from a recogniser or typed without diacritics, with small recognition errors. Steps:

1. fold the text (lower case, no diacritics, no punctuation: text.fold);
2. correct longer unknown words to the nearest known keyword (difflib, cached), so
   "watter" or "thu tuc" typed as "thutuc"-like slips still meet a keyword;
3. find every keyword phrase of intents.yaml / procedures.yaml / services.yaml in the
   token sequence; keep the longest non-overlapping ones ("tra cứu hồ sơ" hides "hồ sơ");
4. decide: a strong intent wins; else a procedure or question aspect means a procedure
   question; else a named service means a queue number; social words (hello, thanks,
   help) win only when nothing else was said.

The interpreter is immutable after construction except for its word-correction cache
(a dict; a lost race only recomputes an entry), so one instance may serve every thread.
"""

from __future__ import annotations

import difflib
import re
from collections import defaultdict
from dataclasses import dataclass, field

from service_desk_robot.robot.dialogue.config import LANGUAGES, DialogueConfig
from service_desk_robot.robot.dialogue.text import fold, has_vietnamese_marks, strip_diacritics

# Intents that only say something social; any request in the same sentence outranks them.
WEAK_INTENTS = frozenset({"hello", "thanks", "help", "procedure"})
_CODE_TOKEN = re.compile(r"[A-Za-z0-9]+(?:[-./][A-Za-z0-9]+)*")
_CAPITALS_CODE = re.compile(r"[A-Z]{4,10}")  # typed booking codes may be letters only
_CORRECTION_CACHE_MAX = 4096
# Longer input is cut: a desk request is a sentence or two, and a runaway recogniser or a
# pasted page must not stall the conversation (word correction costs per unknown word).
MAX_TEXT_CHARS = 240


@dataclass(frozen=True)
class Understanding:
    """What one utterance means. `intent` is None when nothing was understood."""

    text: str
    intent: str | None = None
    also: frozenset[str] = frozenset()  # every intent mentioned (incl. the chosen one)
    language: str | None = None  # "vi" / "en" when the words tell, else None
    service: str | None = None
    procedure: str | None = None
    aspect: str | None = None
    answer: str | None = None  # "affirm" / "deny" when the utterance is a short answer
    rating: int | None = None  # a score said in words ("very good")
    number: int | None = None  # the one small number said ("number 2", "năm")
    count: int | None = None  # items asked for ("hai chai nước")
    code: str | None = None  # a code with digits ("HS-2024-000123", "một hai ba bốn")
    touch: bool = False  # a tapped button on the screen, not words
    known_words: int = 0  # tokens that belong to some keyword, for the caller's confidence
    tokens: tuple[str, ...] = field(default=(), repr=False)


@dataclass(frozen=True)
class _Match:
    start: int
    end: int
    chars: int
    labels: tuple[tuple[str, str, str], ...]  # (kind, label, language)


class Interpreter:
    def __init__(self, config: DialogueConfig) -> None:
        tables = config.intents
        self._fuzzy_min = tables.fuzzy_min_word_length
        self._fuzzy_cutoff = tables.fuzzy_cutoff
        index: dict[tuple[str, ...], set[tuple[str, str, str]]] = defaultdict(set)

        def add(kind: str, label: str, language: str, phrase: str) -> None:
            key = tuple(fold(phrase).split())
            if key:
                index[key].add((kind, label, language))

        for kind, table in (
            ("intent", tables.intents),
            ("service", tables.services),
            ("aspect", tables.aspects),
            ("answer", tables.answers),
        ):
            for label, by_language in table.items():
                for language, phrases in by_language.items():
                    for phrase in phrases:
                        add(kind, label, language, phrase)
        for language, words in tables.ratings.items():
            for phrase, score in words.items():
                add("rating", str(score), language, phrase)
        for service in config.services.values():
            for language in LANGUAGES:
                # "Hộ tịch (khai sinh, kết hôn)": the whole name and each part name the service.
                for part in re.split(r"[(),;]", service.name[language]):
                    add("service", service.code, language, part)
        for procedure in config.procedures.values():
            for language, phrases in procedure.keywords.items():
                for phrase in phrases:
                    add("procedure", procedure.id, language, phrase)
        self._index = {key: tuple(sorted(labels)) for key, labels in index.items()}
        self._max_n = max(len(key) for key in self._index)
        self._procedure_service = {p.id: p.service for p in config.procedures.values()}
        self._numbers = {fold(w): value for words in tables.numbers.values() for w, value in words.items()}
        self._units = {fold(word) for words in tables.item_units.values() for word in words}
        self._item_words = {
            fold(phrase).split()[-1]
            for intent in ("water", "candy")
            for phrases in tables.intents.get(intent, {}).values()
            for phrase in phrases
        }
        self._hints = {
            language: frozenset(fold(w) for w in tables.language_hints[language]) for language in LANGUAGES
        }
        vocabulary = {token for key in self._index for token in key}
        vocabulary |= set(self._numbers) | self._units | self._hints["vi"] | self._hints["en"]
        self._vocabulary = vocabulary
        # Known words by length and by first and last letter: a word only reaches the cutoff
        # against words of a close length (difflib ratio <= 2*min/(a+b)), and a slip seldom
        # changes both ends of a word, so only those are compared (keeps a turn within ms).
        self._by_end: dict[tuple[int, str], set[str]] = defaultdict(set)
        for word in vocabulary:
            if len(word) >= self._fuzzy_min:
                self._by_end[(len(word), word[0])].add(word)
                self._by_end[(len(word), word[-1])].add(word)
        self._corrections: dict[str, str] = {}

    # -- public -------------------------------------------------------------------------

    def understand(self, text: str) -> Understanding:
        text = text[:MAX_TEXT_CHARS]
        raw_tokens = fold(text).split()
        tokens = tuple(self._correct(token) for token in raw_tokens)
        matches = self._select(self._matches(tokens))
        labels = [label for match in matches for label in match.labels]

        def longest(kind: str) -> str | None:
            best = [(m.chars, label) for m in matches for (k, label, _) in m.labels if k == kind]
            return max(best)[1] if best else None

        intent_scores: dict[str, int] = defaultdict(int)
        for match in matches:
            for kind, label, _ in match.labels:
                if kind == "intent":
                    intent_scores[label] += match.chars
        procedure, aspect, service = longest("procedure"), longest("aspect"), longest("service")
        if service is None and procedure is not None:
            service = self._procedure_service.get(procedure)
        intent = self._decide(intent_scores, procedure, aspect, service)

        covered = sum(m.end - m.start for m in matches)
        answer = None
        answer_labels = [m for m in matches if any(k == "answer" for k, _, _ in m.labels)]
        # A yes/no only counts when it is most of what was said ("có ạ", not "có ... không").
        if answer_labels and len(tokens) <= 4:
            answer_match = max(answer_labels, key=lambda m: m.chars)
            if (answer_match.end - answer_match.start) * 2 >= len(tokens):
                answer = next(label for k, label, _ in answer_match.labels if k == "answer")
        rating = longest("rating")
        return Understanding(
            text=text,
            intent=intent,
            also=frozenset(intent_scores),
            language=self._language(text, tokens, labels),
            service=service,
            procedure=procedure,
            aspect=aspect,
            answer=answer,
            rating=int(rating) if rating is not None else None,
            number=self._lone_number(tokens, matches),
            count=self._count(tokens),
            code=self.code(text, loose=False),
            known_words=covered,
            tokens=tokens,
        )

    def code(self, text: str, *, loose: bool) -> str | None:
        """A booking or receipt code in the text.

        Strict: a typed token with a digit ("HS-2024-000123", "K7M2QX"), a typed token of
        4-10 capital letters ("WBHYCV": booking codes may have no digit), or three or more
        spoken digits in a row ("một hai ba"). Loose (the robot just asked for a code):
        also a run of unknown words ("HS 2024 000123" -> "HS-2024-000123"; "K 7 M 2"
        -> "K7M2"), since booking codes may have no digit at all.
        """
        plain = strip_diacritics(text)
        typed = [
            t
            for t in _CODE_TOKEN.findall(plain)
            if (any(ch.isdigit() for ch in t) and len(t) >= 3) or _CAPITALS_CODE.fullmatch(t)
        ]
        spoken = self._spoken_digits(fold(text).split())
        if not loose:
            return max(typed, key=len).upper() if typed else spoken
        groups = [
            t
            for t in _CODE_TOKEN.findall(plain)
            if any(ch.isdigit() for ch in t)
            or ((len(t) == 1 or fold(t) not in self._vocabulary) and not has_vietnamese_marks(t))
        ]
        # Only take tokens that are not ordinary words of the sentence ("mã của tôi là ...").
        groups = [g for g in groups if any(ch.isdigit() for ch in g) or len(g) <= 8]
        if not groups:
            return spoken
        if len(groups) == 1:
            return groups[0].upper()
        joiner = "-" if all(len(g) >= 2 for g in groups) else ""
        return joiner.join(groups).upper()

    # -- steps --------------------------------------------------------------------------

    def _correct(self, token: str) -> str:
        if token in self._vocabulary or len(token) < self._fuzzy_min or token.isdigit():
            return token
        cached = self._corrections.get(token)
        if cached is None:
            size = len(token)
            candidates: set[str] = set()
            for length in range(self._fuzzy_min, 2 * size + 1):
                if 2 * min(size, length) / (size + length) >= self._fuzzy_cutoff:
                    candidates |= self._by_end.get((length, token[0]), set())
                    candidates |= self._by_end.get((length, token[-1]), set())
            close = difflib.get_close_matches(token, sorted(candidates), n=1, cutoff=self._fuzzy_cutoff)
            cached = close[0] if close else token
            if len(self._corrections) >= _CORRECTION_CACHE_MAX:
                self._corrections.clear()
            self._corrections[token] = cached
        return cached

    def _matches(self, tokens: tuple[str, ...]) -> list[_Match]:
        found = []
        for n in range(min(self._max_n, len(tokens)), 0, -1):
            for start in range(len(tokens) - n + 1):
                key = tokens[start : start + n]
                labels = self._index.get(key)
                if labels:
                    found.append(_Match(start, start + n, sum(map(len, key)) + n - 1, labels))
        return found

    @staticmethod
    def _select(matches: list[_Match]) -> list[_Match]:
        """Longest first; a match overlapping a longer one is dropped (same span: kept)."""
        chosen: list[_Match] = []
        for match in sorted(matches, key=lambda m: (-m.chars, m.start)):
            if all(
                match.end <= c.start or match.start >= c.end or (match.start, match.end) == (c.start, c.end)
                for c in chosen
            ):
                chosen.append(match)
        return chosen

    @staticmethod
    def _decide(
        intent_scores: dict[str, int], procedure: str | None, aspect: str | None, service: str | None
    ) -> str | None:
        strong = {k: v for k, v in intent_scores.items() if k not in WEAK_INTENTS}
        if strong:
            return max(strong.items(), key=lambda kv: kv[1])[0]
        if procedure is not None or aspect is not None or "procedure" in intent_scores:
            return "procedure"
        if service is not None:
            return "queue_number"
        if intent_scores:
            return max(intent_scores.items(), key=lambda kv: kv[1])[0]
        return None

    def _language(self, text: str, tokens: tuple[str, ...], labels: list[tuple[str, str, str]]) -> str | None:
        if has_vietnamese_marks(text):
            return "vi"
        score = {language: sum(t in self._hints[language] for t in tokens) for language in LANGUAGES}
        by_label: dict[tuple[str, str], set[str]] = defaultdict(set)
        for kind, label, language in labels:
            by_label[(kind, label)].add(language)
        for languages in by_label.values():
            if len(languages) == 1:  # a phrase only one language uses
                score[next(iter(languages))] += 2
        if score["en"] > score["vi"]:
            return "en"
        if score["vi"] > score["en"]:
            return "vi"
        return None

    def _spoken_digits(self, tokens: list[str]) -> str | None:
        best: list[str] = []
        run: list[str] = []
        for token in [*tokens, ""]:
            if token.isdigit():
                run.append(token)
            elif token in self._numbers:
                run.append(str(self._numbers[token]))
            else:
                if len("".join(run)) > len("".join(best)):
                    best = run
                run = []
        digits = "".join(best)
        return digits if len(digits) >= 3 else None

    def _lone_number(self, tokens: tuple[str, ...], matches: list[_Match]) -> int | None:
        """The one small number said, outside keywords ("thứ tự" is not "four")."""
        inside = {
            i
            for m in matches
            if any(kind not in ("answer", "rating") for kind, _, _ in m.labels)
            for i in range(m.start, m.end)
        }
        values = []
        for i, token in enumerate(tokens):
            if i in inside:
                continue
            if token.isdigit() and len(token) <= 2:
                values.append(int(token))
            elif self._numbers.get(token, 0) >= 1:  # "không" is "no" far more often than zero
                values.append(self._numbers[token])
        return values[0] if len(values) == 1 else None

    def _count(self, tokens: tuple[str, ...]) -> int | None:
        for i, token in enumerate(tokens[:-1]):
            value = int(token) if token.isdigit() and len(token) <= 2 else self._numbers.get(token)
            if value is None:
                continue
            following = tokens[i + 1 : i + 3]
            if following and (following[0] in self._units or following[0] in self._item_words):
                return value
        return None
