"""A returning person's check-in: kept only with their consent, found again by conversation or short code,
and compared with the new one ("Money went from 8 to 4.").

Kept only while the person has an active ``keep_plan`` consent (signposting/consent.py): without it
:func:`save_plan` raises :class:`~signposting.consent.ConsentRequired` and stores nothing, and
:func:`latest_plan` finds nothing. Withdrawing that consent, "delete my data" and the retention job
delete the person's plans, links and code.

Storage (SQLAlchemy Core, the project database, tables created on first use):

* ``record_people``: one row per person who kept a plan: a random id, the hash of their code, and
  when they last saved;
* ``record_senders``: which conversations belong to that person (``privacy.sender_key`` of the
  conversation id, never the id): the one they saved from and any linked with their code;
* ``record_plans``: their check-ins (the plan as JSON), newest ``MAX_PLANS`` kept.

The short code ("KX7F-94QA") lets someone continue on another channel. It is derived from the
person's random id with an HMAC keyed by ``SIGNPOST_SECRET_KEY`` (a fixed development constant when
unset), so the same person always gets the same code and the code itself is never stored: only
an HMAC of it is, for lookup. 8 characters from an alphabet without 0/O/1/I/L (31 symbols: about
8.5 x 10^11 codes), shown as two groups of four; typing is forgiving about case, spaces and dashes.

Comparison is pure: :func:`compare` takes two ``{domain id: score or None}`` mappings, and
:func:`describe` turns the result into plain sentences from knowledge/wording.yml.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Mapping, Optional, Sequence

from sqlalchemy import Column, ForeignKey, Integer, MetaData, String, Table, Text, delete, func, insert, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from signposting import consent, privacy
from signposting.handoff import UTCDateTime

logger = logging.getLogger(__name__)

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"   # no 0/O, 1/I/L: easy to read out and type
CODE_LENGTH = 8
MAX_PLANS = 10            # per person: enough history for comparisons, no archive
SECRET_ENV = "SIGNPOST_SECRET_KEY"
_DEV_SECRET = b"signpost-development-records-key"   # only when SIGNPOST_SECRET_KEY is unset

metadata = MetaData()
people_table = Table(
    "record_people", metadata,
    Column("id", String(32), primary_key=True),               # random, means nothing outside this table
    Column("code_hash", String(64), nullable=False, unique=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False, index=True),
)
senders_table = Table(
    "record_senders", metadata,
    Column("sender_key", String(64), primary_key=True),       # privacy.sender_key(conversation id)
    Column("person_id", String(32), ForeignKey("record_people.id", ondelete="CASCADE"), nullable=False,
           index=True),
    Column("linked_at", UTCDateTime, nullable=False),
)
plans_table = Table(
    "record_plans", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("person_id", String(32), ForeignKey("record_people.id", ondelete="CASCADE"), nullable=False,
           index=True),
    Column("saved_at", UTCDateTime, nullable=False),
    Column("plan_json", Text, nullable=False),
)


@dataclass(frozen=True)
class StoredPlan:
    """One kept check-in. ``plan`` is what the bot saved (for example role, what matters, scores)."""

    id: int
    plan: dict
    saved_at: datetime
    code: str

    @property
    def scores(self) -> dict:
        """{area id: score or None}: the plan's "scores" mapping, else read from its "items"
        (signposting.plan.to_dict: [{"area_id", "area_name", "score", ...}])."""
        return scores_of(self.plan)

    @property
    def names(self) -> dict:
        """{area id: name} as the plan's items name them (for :func:`compare`)."""
        return {str(i["area_id"]): str(i.get("area_name") or i["area_id"]) for i in _items(self.plan)}


def _items(plan: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    items = plan.get("items")
    if not isinstance(items, (list, tuple)):
        return []
    return [i for i in items if isinstance(i, Mapping) and i.get("area_id")]


def scores_of(plan: Mapping[str, Any]) -> dict:
    """A plan's scores as {area id: score or None}, from "scores" or from the plan's "items"."""
    scores = plan.get("scores")
    if isinstance(scores, Mapping):
        return dict(scores)
    return {str(i["area_id"]): i.get("score") for i in _items(plan)}


# --------------------------------------------------------------------------- storage
def engine(url: Optional[str] = None) -> Engine:
    return consent.engine(url, metadata)


def _secret() -> bytes:
    raw = os.environ.get(SECRET_ENV, "").strip()
    return raw.encode("utf-8") if raw else _DEV_SECRET


def _code_for(person_id: str) -> str:
    digest = hmac.new(_secret(), b"records-code:" + person_id.encode("ascii"), hashlib.sha256).digest()
    number = int.from_bytes(digest, "big")
    chars = []
    for _ in range(CODE_LENGTH):
        number, index = divmod(number, len(ALPHABET))
        chars.append(ALPHABET[index])
    return "".join(chars)


def show_code(code: str) -> str:
    """'KX7F94QA' -> 'KX7F-94QA', the way the person is shown it."""
    half = len(code) // 2
    return f"{code[:half]}-{code[half:]}"


def normalise_code(text: str) -> Optional[str]:
    """What the person typed, as a code ('kx7f 94qa', 'KX7F-94QA' -> 'KX7F94QA'), or None if it cannot be one
    (wrong length, or a character the alphabet leaves out such as O or 0: refused, never guessed)."""
    cleaned = re.sub(r"[\s\-_.]", "", str(text or "")).upper()
    if len(cleaned) != CODE_LENGTH or any(c not in ALPHABET for c in cleaned):
        return None
    return cleaned


def _code_hash(code: str) -> str:
    return hmac.new(_secret(), b"records-lookup:" + code.encode("ascii"), hashlib.sha256).hexdigest()


def _plan_from(row: Any, person_id: str) -> StoredPlan:
    try:
        plan = json.loads(row["plan_json"])
    except (TypeError, ValueError):
        plan = {}
    return StoredPlan(row["id"], plan if isinstance(plan, dict) else {}, row["saved_at"],
                      show_code(_code_for(person_id)))


def _person_of(conn: Connection, sender_id: str) -> Optional[str]:
    return conn.execute(select(senders_table.c.person_id).where(
        senders_table.c.sender_key == privacy.sender_key(sender_id))).scalar()


def _require_consent(sender_id: str, url: Optional[str]) -> consent.ConsentRecord:
    record = consent.active(sender_id, consent.KEEP_PLAN, url=url)
    if record is None:
        raise consent.ConsentRequired("The person has not agreed to Signpost keeping their check-in, "
                                      "so nothing was kept.")
    return record


# --------------------------------------------------------------------------- API
def save_plan(sender_id: str, plan: Mapping[str, Any], now: Optional[datetime] = None,
              url: Optional[str] = None) -> str:
    """Keep this check-in for the person behind ``sender_id``; returns their short code ('KX7F-94QA').

    Raises ConsentRequired (and keeps nothing) without an active keep_plan consent. The same person
    always gets the same code; only the newest MAX_PLANS plans are kept.
    """
    _require_consent(sender_id, url)
    stamp = now or consent.now_utc()
    kept = {k: v for k, v in plan.items() if k != "short_code"}   # the code is never stored (plan.to_dict has it)
    body = json.dumps(kept, ensure_ascii=False, sort_keys=True, default=str)
    key = privacy.sender_key(sender_id)
    for _ in range(5):   # a new person's code clashing with someone else's: try another random id
        try:
            with engine(url).begin() as conn:
                person_id = _person_of(conn, sender_id)
                if person_id is None:
                    person_id = secrets.token_hex(16)
                    conn.execute(insert(people_table).values(id=person_id, code_hash=_code_hash(_code_for(person_id)),
                                                             created_at=stamp, updated_at=stamp))
                    conn.execute(insert(senders_table).values(sender_key=key, person_id=person_id, linked_at=stamp))
                else:
                    conn.execute(update(people_table).where(people_table.c.id == person_id).values(updated_at=stamp))
                conn.execute(insert(plans_table).values(person_id=person_id, saved_at=stamp, plan_json=body))
                _trim(conn, person_id)
            return show_code(_code_for(person_id))
        except IntegrityError:
            continue
    raise RuntimeError("could not keep the plan: try again")


def _trim(conn: Connection, person_id: str) -> None:
    t = plans_table
    oldest_kept = conn.execute(select(t.c.id).where(t.c.person_id == person_id).order_by(t.c.id.desc())
                               .offset(MAX_PLANS - 1).limit(1)).scalar()
    if oldest_kept is not None:
        conn.execute(delete(t).where(t.c.person_id == person_id, t.c.id < oldest_kept))


def history(sender_id: str, n: int = 2, url: Optional[str] = None) -> list[StoredPlan]:
    """The person's newest ``n`` kept plans, newest first (none without an active keep_plan consent)."""
    if consent.active(sender_id, consent.KEEP_PLAN, url=url) is None:
        return []
    with engine(url).connect() as conn:
        person_id = _person_of(conn, sender_id)
        if person_id is None:
            return []
        return _plans(conn, person_id, n)


def _plans(conn: Connection, person_id: str, n: int) -> list[StoredPlan]:
    rows = conn.execute(select(plans_table).where(plans_table.c.person_id == person_id)
                        .order_by(plans_table.c.id.desc()).limit(max(0, int(n)))).mappings()
    return [_plan_from(row, person_id) for row in rows]


def latest_plan(sender_id: str, url: Optional[str] = None) -> Optional[StoredPlan]:
    """The person's last kept plan, or None (never kept, or consent withdrawn)."""
    found = history(sender_id, 1, url)
    return found[0] if found else None


def plan_by_code(code: str, url: Optional[str] = None) -> Optional[StoredPlan]:
    """The last plan kept under this code ('kx7f 94qa' is fine), or None if no such code is kept."""
    normal = normalise_code(code)
    if normal is None:
        return None
    with engine(url).connect() as conn:
        person_id = conn.execute(select(people_table.c.id).where(
            people_table.c.code_hash == _code_hash(normal))).scalar()
        if person_id is None:
            return None
        found = _plans(conn, person_id, 1)
    return found[0] if found else None


def link_code(code: str, new_sender_id: str, now: Optional[datetime] = None, url: Optional[str] = None) -> bool:
    """Someone on another channel typed their code: their plans now follow this conversation too.

    The new conversation needs its own keep_plan consent (ConsentRequired otherwise: linking keeps
    something about it). Returns False if the code is not known. A conversation linked to someone
    else's plans before is moved to this code's.
    """
    normal = normalise_code(code)
    if normal is None:
        return False
    _require_consent(new_sender_id, url)
    stamp = now or consent.now_utc()
    key = privacy.sender_key(new_sender_id)
    with engine(url).begin() as conn:
        person_id = conn.execute(select(people_table.c.id).where(
            people_table.c.code_hash == _code_hash(normal))).scalar()
        if person_id is None:
            return False
        conn.execute(delete(senders_table).where(senders_table.c.sender_key == key))
        conn.execute(insert(senders_table).values(sender_key=key, person_id=person_id, linked_at=stamp))
        conn.execute(update(people_table).where(people_table.c.id == person_id).values(updated_at=stamp))
    return True


def delete_person(sender_id: str, requested_by: str = "person", url: Optional[str] = None) -> int:
    """Remove everything kept for the person behind this conversation: every plan, every linked
    conversation, the code. Returns rows removed (the privacy deleter and the withdrawal hook)."""
    with engine(url).begin() as conn:
        person_id = _person_of(conn, sender_id)
        if person_id is None:
            return 0
        return _delete_people(conn, [person_id])


def _delete_people(conn: Connection, ids: Sequence[str]) -> int:
    if not ids:
        return 0
    removed = conn.execute(delete(plans_table).where(plans_table.c.person_id.in_(ids))).rowcount
    removed += conn.execute(delete(senders_table).where(senders_table.c.person_id.in_(ids))).rowcount
    removed += conn.execute(delete(people_table).where(people_table.c.id.in_(ids))).rowcount
    return int(removed or 0)


def purge(older_than_days: Optional[int] = None, now: Optional[datetime] = None, url: Optional[str] = None) -> int:
    """Retention: delete people who have not saved or linked for ``older_than_days`` (default
    privacy.retention_days(), SIGNPOST_RETENTION_DAYS). Returns rows removed."""
    days = privacy.retention_days() if older_than_days is None else int(older_than_days)
    if days < 1:
        raise ValueError("older_than_days must be at least 1")
    cutoff = (now or consent.now_utc()) - timedelta(days=days)
    with engine(url).begin() as conn:
        ids = [row[0] for row in conn.execute(select(people_table.c.id).where(people_table.c.updated_at < cutoff))]
        return _delete_people(conn, ids)


def counts(url: Optional[str] = None) -> dict[str, int]:
    """How many people and plans are kept (no personal data): for the CLI."""
    with engine(url).connect() as conn:
        return {"people": int(conn.execute(select(func.count()).select_from(people_table)).scalar() or 0),
                "plans": int(conn.execute(select(func.count()).select_from(plans_table)).scalar() or 0)}


# --------------------------------------------------------------------------- comparison
@dataclass(frozen=True)
class AreaChange:
    """One area between two check-ins. ``kind``: better, worse, same, new (not scored last time),
    gone (not scored this time)."""

    id: str
    name: str
    before: Optional[int]
    after: Optional[int]

    @property
    def change(self) -> Optional[int]:
        return None if self.before is None or self.after is None else self.after - self.before

    @property
    def kind(self) -> str:
        if self.before is None:
            return "new"
        if self.after is None:
            return "gone"
        if self.after < self.before:
            return "better"
        return "worse" if self.after > self.before else "same"

    @property
    def size(self) -> int:
        """How big the change is, for sorting: a new or gone area counts its one score."""
        if self.change is not None:
            return abs(self.change)
        return int(self.after if self.after is not None else self.before or 0)


@dataclass(frozen=True)
class Comparison:
    """Last check-in against this one.

    ``count_before``/``count_after``: areas scored at or above ``threshold`` (1 by default: anything
    worrying them at all, the concerns the summary lists; pass the assessment's high_score to count
    only big worries). ``mean_before``/``mean_after``: the average score of the areas answered in
    each check-in (None if none were), rounded to one decimal place. ``changes``: every area scored
    in either check-in: areas that went up or down first, biggest change first; then areas new or
    not scored this time, highest score first; then areas that stayed the same (ties keep the order
    of ``names``).
    """

    count_before: int
    count_after: int
    mean_before: Optional[float]
    mean_after: Optional[float]
    changes: list[AreaChange] = field(default_factory=list)
    threshold: int = 1

    @property
    def better(self) -> list[AreaChange]:
        return [c for c in self.changes if c.kind == "better"]

    @property
    def worse(self) -> list[AreaChange]:
        return [c for c in self.changes if c.kind == "worse"]


def _score(value: Any) -> Optional[int]:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None   # None, "skipped", anything else: not scored


def _scored(scores: Mapping[str, Any]) -> dict[str, int]:
    found = {}
    for key, value in scores.items():
        score = _score(value)
        if score is not None:
            found[key[len("score_"):] if key.startswith("score_") else key] = score
    return found


def compare(previous: Mapping[str, Any], current: Mapping[str, Any], names: Mapping[str, str],
            threshold: int = 1) -> Comparison:
    """Compare two check-ins' scores ({domain id: 0-10, or None/'skipped' when not scored}; slot names
    such as 'score_financial' are read as the domain id)."""
    before, after = _scored(previous), _scored(current)
    order = list(names) + sorted((set(before) | set(after)) - set(names))
    changes = [AreaChange(area, str(names.get(area, area)), before.get(area), after.get(area))
               for area in order if area in before or area in after]
    position = {area: i for i, area in enumerate(order)}
    group = {"better": 0, "worse": 0, "new": 1, "gone": 1, "same": 2}
    changes.sort(key=lambda c: (group[c.kind], -c.size, position[c.id]))

    def mean(scores: Mapping[str, int]) -> Optional[float]:
        return round(sum(scores.values()) / len(scores), 1) if scores else None

    return Comparison(
        count_before=sum(1 for s in before.values() if s >= threshold),
        count_after=sum(1 for s in after.values() if s >= threshold),
        mean_before=mean(before), mean_after=mean(after), changes=changes, threshold=threshold)


def describe(comparison: Comparison, knowledge: Any = None) -> list[str]:
    """Plain sentences: the count of worries, then each area, biggest change first.

    'Things worrying you: 3 last time, 2 now.', 'Money went from 8 to 4.', 'Work is new since last
    time (6).', 'Feelings stayed at 5.'. The templates are wording.yml's compare_* messages. An area
    first scored 0 says nothing (nothing new to worry about).
    """
    if knowledge is None:
        from signposting import knowledge as kb

        knowledge = kb.current()
    lines = [knowledge.say("compare_count", before=comparison.count_before, after=comparison.count_after)]
    for change in comparison.changes:
        if change.kind == "new":
            if change.after:
                lines.append(knowledge.say("compare_new", area=change.name, after=change.after))
        elif change.kind == "gone":
            lines.append(knowledge.say("compare_gone", area=change.name, before=change.before))
        elif change.kind == "same":
            lines.append(knowledge.say("compare_same", area=change.name, after=change.after))
        else:
            lines.append(knowledge.say("compare_changed", area=change.name, before=change.before,
                                       after=change.after))
    return lines


def domain_names(knowledge: Any = None) -> dict[str, str]:
    """{domain id: label} from knowledge/assessment.yml, in questionnaire order, for :func:`compare`."""
    if knowledge is None:
        from signposting import knowledge as kb

        knowledge = kb.current()
    return {d["id"]: d["label"] for d in knowledge.assessment["domains"]}


# --------------------------------------------------------------------------- registration
privacy.register_deleter("kept plans", lambda sender_id, requested_by: delete_person(sender_id, requested_by))
consent.register_withdrawal_hook("kept plans", (consent.KEEP_PLAN,), lambda sender_id, scope: delete_person(sender_id))

__all__ = [
    "AreaChange", "Comparison", "StoredPlan", "compare", "counts", "delete_person", "describe", "domain_names",
    "history", "latest_plan", "link_code", "metadata", "normalise_code", "plan_by_code", "purge", "save_plan",
    "scores_of", "show_code",
]
