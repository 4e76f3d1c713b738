"""Deterministic rules that run after the statistical classifier, on every message, on every channel.

1. The crisis screen (signposting.safety, phrase lists in knowledge/safety/): a message that shows
   risk becomes the `crisis` intent with confidence 1.0 and a `crisis_kind` entity, whatever the
   classifier thought. This is why the crisis answer comes first.
2. Short answers: a message that is only a score ("7", "about a 6", "seven out of ten"), a nation
   ("Wales") or a postcode ("CF10 1AA") becomes `inform`, with a `score` entity for scores, so a
   form question answered in a few words is never mistaken for something else.
3. Places: a UK postcode whose area exists (knowledge/postcode_areas.yml) gives a `postcode`
   entity, and a nation named anywhere gives a `nation` entity with its canonical value.
4. Nothing recognisable: a typed message in which not one word was ever seen in training
   ("blorp wibble zzz") becomes `nlu_fallback` unless the character n-grams make the classifier
   sure anyway ("prescripton"), so the bot says it is not sure instead of guessing. The
   classifier's ranking is kept, so the closest topics can still be offered.

Listed last in config.yml's pipeline. Not trainable: editors change behaviour through knowledge/.
"""
from __future__ import annotations

import logging
import re
from typing import Any, Dict, List, Optional, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_NAME_KEY, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from signposting import assessment, places, safety
from signposting import knowledge as kb

logger = logging.getLogger(__name__)
EXTRACTOR = "SignpostRules"
WORD_FEATURIZER = "word_counts"  # the alias of the word-level CountVectorsFeaturizer in config.yml
FALLBACK_INTENT = "nlu_fallback"
SURE_DESPITE_UNKNOWN_WORDS = 0.6  # a typo the character n-grams recognise this well is not a guess
_NATION_ONLY = re.compile(
    r"^(?:(?:i'?m|i am|we'?re|we are|i live|we live|living|based|it'?s|in|from|my nation is|nation is)\s+)*"
    r"(?:in\s+)?(?P<nation>[a-z .]+?)\s*[.!]?$"
)
_NUMBER = re.compile(r"\d|\b(?:zero|nought|one|two|three|four|five|six|seven|eight|nine|ten)\b")
_POSTCODE_ONLY = re.compile(
    r"^(?:(?:my )?post ?code(?: is)?|it'?s|i'?m in|im in|i live in)?\s*"
    r"[a-z]{1,2}[0-9][a-z0-9]?(?:\s*[0-9][a-z]{2})?\s*[.!]?$",
    re.IGNORECASE,
)


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class SignpostRules(GraphComponent):
    """Overrides the intent for crisis messages and bare short answers."""

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "SignpostRules":
        cls._warm_up()
        return cls()

    @staticmethod
    def _warm_up() -> None:
        """Load the crisis screen and the knowledge now, while the model loads, not on someone's first
        message (several seconds on a busy machine: long enough for a channel's time limit to give up)."""
        try:
            safety.load_screen()
            kb.current()
        except Exception:  # a broken file is reported when a message needs it; it must not stop the server
            logger.exception("Warm-up of the crisis screen or the knowledge failed")

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            text = message.get(TEXT) or ""
            if not text.strip():
                continue
            self._add_places(message, text)
            result = safety.load_screen().screen(text)
            if result is not None:
                self._set_intent(message, "crisis", {"entity": "crisis_kind", "value": result.kind.value})
                logger.info("Crisis screen matched (%s)", result.kind.value)
                continue
            short = self._short_answer(text)
            if short is not None:
                self._set_intent(message, "inform", short)
            elif self._no_known_words(message, text):
                self._set_fallback(message)
        return messages

    @staticmethod
    def _no_known_words(message: Message, text: str) -> bool:
        """True when the word featurizer found none of the message's words in its training vocabulary."""
        intent = message.get(INTENT) or {}
        if text.startswith("/") or intent.get(INTENT_NAME_KEY) == FALLBACK_INTENT:
            return False
        if (intent.get("confidence") or 0.0) >= SURE_DESPITE_UNKNOWN_WORDS:
            return False
        _, sentence = message.get_sparse_features(TEXT, [WORD_FEATURIZER])
        return sentence is not None and sentence.features.nnz == 0

    @staticmethod
    def _set_fallback(message: Message) -> None:
        ranking = message.get(INTENT_RANKING_KEY) or []
        message.set(INTENT, {"name": FALLBACK_INTENT, "confidence": 1.0}, add_to_output=True)
        message.set(INTENT_RANKING_KEY, [{"name": FALLBACK_INTENT, "confidence": 1.0}, *ranking], add_to_output=True)

    @staticmethod
    def _short_answer(text: str) -> Optional[Dict[str, Any]]:
        """The entity a bare short answer carries, {} for a bare answer without one, None otherwise."""
        try:
            knowledge = kb.current()
        except kb.KnowledgeError:
            return None
        clean = text.strip().lower()
        if _NUMBER.search(clean):  # "7", "about a 6", "seven out of ten"; words like "fine" stay with the classifier
            answer = assessment.parse_score(clean, knowledge.assessment, accept_no=False)
            if answer.exact and answer.score is not None:
                return {"entity": "score", "value": str(answer.score)}
        if _POSTCODE_ONLY.match(clean):  # known or not: an unknown one gets "I don't recognise that postcode"
            return {}
        match = _NATION_ONLY.match(clean)
        if match and match.group("nation").strip(" .") in places.NATION_WORDS:  # the whole answer is a nation
            return {}
        return None

    @staticmethod
    def _add_places(message: Message, text: str) -> None:
        if text.startswith("/"):
            return  # a button payload carries its own entities
        try:
            knowledge = kb.current()
        except kb.KnowledgeError:
            return
        found = []
        for match in places.POSTCODE.finditer(text):
            if match.group("area").upper() in knowledge.postcode_areas:
                found.append({"entity": "postcode", "value": match.group(0).upper(), "start": match.start(),
                              "end": match.end(), "extractor": EXTRACTOR})
                break
        nation = places.nation_from_text(text)
        if nation:
            found.append({"entity": "nation", "value": nation, "start": 0, "end": len(text), "extractor": EXTRACTOR})
        if found:
            names = {e["entity"] for e in found}
            kept = [e for e in message.get(ENTITIES) or [] if e.get("entity") not in names]
            message.set(ENTITIES, kept + found, add_to_output=True)

    @staticmethod
    def _set_intent(message: Message, name: str, entity: Optional[Dict[str, Any]]) -> None:
        ranking = [r for r in message.get(INTENT_RANKING_KEY) or [] if r.get("name") != name]
        message.set(INTENT, {"name": name, "confidence": 1.0}, add_to_output=True)
        message.set(INTENT_RANKING_KEY, [{"name": name, "confidence": 1.0}, *ranking], add_to_output=True)
        if entity:
            entities = [e for e in message.get(ENTITIES) or [] if e.get("entity") != entity["entity"]]
            entities.append({**entity, "start": 0, "end": len(message.get(TEXT) or ""), "extractor": EXTRACTOR})
            message.set(ENTITIES, entities, add_to_output=True)
