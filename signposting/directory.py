"""The directory of services: stored with SQLAlchemy, searched by need, person, place, hours and words.

SQLite by default (a file, so `make run` works on a bare machine); PostgreSQL when
``DATABASE_URL`` says so. The tables are an index, rebuilt from the knowledge files and
imported feeds: editors never write to them. Syncing is incremental: a source whose content
hash is unchanged costs nothing, and within a changed source only records whose own hash
changed are rewritten, so a running bot picks up an edit in a large directory quickly.

Ranking: services near the person (their postcode area) before national ones, then services named
in the question, open before closed, then the ones that match more of what was asked, then by
name. Each result says why it matched.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

from sqlalchemy import (Boolean, Column, DateTime, ForeignKey, Index, Integer, MetaData, String, Table, Text,
                        create_engine, delete, event, func, insert, select)
from sqlalchemy.engine import Engine

from signposting import hours
from signposting.knowledge import NATION_NAMES, NATIONS

logger = logging.getLogger(__name__)
ROOT = Path(__file__).resolve().parents[1]
WHO_BITS = {"patient": 1, "carer": 2, "professional": 4}
DAY_INDEX = {day: index for index, day in enumerate(hours.DAYS)}
NATIONAL = ""  # the area of a service that covers whole nations

metadata = MetaData()
sources_table = Table(
    "directory_sources", metadata,
    Column("name", String(200), primary_key=True),
    Column("content_hash", String(64), nullable=False),
    Column("records", Integer, nullable=False),
    Column("loaded_at", DateTime, nullable=False),
)
services_table = Table(
    "directory_services", metadata,
    Column("id", String(200), primary_key=True),
    Column("source", String(200), nullable=False, index=True),
    Column("record_hash", String(40), nullable=False),
    Column("name", String(300), nullable=False),
    Column("local", Boolean, nullable=False),
    Column("open_24_7", Boolean, nullable=False),
    Column("bank_holidays", String(10), nullable=False),
    Column("week", Text, nullable=False),           # "0:480-1200;1:480-1200": day, opens, closes (minutes)
    Column("who_mask", Integer, nullable=False),
    Column("min_age", Integer),
    Column("max_age", Integer),
    Column("payload", Text, nullable=False),        # the service as JSON, for rendering
)
index_table = Table(
    "directory_index", metadata,
    Column("service_id", String(200), ForeignKey("directory_services.id", ondelete="CASCADE"), nullable=False),
    Column("category", String(60), nullable=False),
    Column("nation", String(20), nullable=False),
    Column("area", String(2), nullable=False),      # postcode area, or "" for a national service
    Index("ix_directory_lookup", "category", "nation", "area"),
    Index("ix_directory_service", "service_id"),
)


SYNC_LOCK_KEY = 0x5169_0001   # PostgreSQL advisory lock taken while the directory tables are rewritten


def default_url() -> str:
    """DATABASE_URL, or a SQLite file beside the code (git-ignored)."""
    url = os.environ.get("DATABASE_URL")
    if url:
        return url
    folder = ROOT / ".signpost"
    folder.mkdir(exist_ok=True)
    return f"sqlite:///{folder / 'directory.db'}"


def make_engine(url: str) -> Engine:
    engine = create_engine(url, future=True, pool_pre_ping=True)
    if engine.dialect.name == "sqlite":
        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(connection: Any, _record: Any) -> None:
            cursor = connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.close()
    return engine


# --------------------------------------------------------------------------- records
def record_hash(service: Mapping[str, Any]) -> str:
    return hashlib.sha1(json.dumps(service, sort_keys=True, default=str).encode()).hexdigest()


def _week(service: Mapping[str, Any]) -> str:
    blocks = []
    for block in service.get("hours") or []:
        opens, closes = _minutes(block["opens"]), _minutes(block["closes"])
        blocks += [f"{DAY_INDEX[day]}:{opens}-{closes}" for day in block["days"]]
    return ";".join(blocks)


def _minutes(hhmm: str) -> int:
    hour, minute = str(hhmm).split(":")
    return int(hour) * 60 + int(minute)


def _rows(service: dict, source: str, digest: str) -> tuple[dict, list[dict]]:
    areas = [a.upper() for a in service.get("areas") or []]
    age = service.get("age") or {}
    row = {
        "id": service["id"], "source": source, "record_hash": digest, "name": service["name"],
        "local": bool(areas), "open_24_7": bool(service.get("open_24_7")),
        "bank_holidays": service.get("bank_holidays") or "same", "week": _week(service),
        "who_mask": sum(WHO_BITS.get(w, 0) for w in service.get("who") or []),
        "min_age": age.get("min"), "max_age": age.get("max"),
        "payload": json.dumps(service, default=str),
    }
    index = []
    if service.get("status") == "active":
        for category in service.get("categories") or []:
            for nation in service.get("nations") or []:
                for area in areas or [NATIONAL]:
                    index.append({"service_id": service["id"], "category": category, "nation": nation, "area": area})
    return row, index


@dataclass
class Source:
    """One place services come from (the knowledge files, or an imported feed)."""

    name: str
    content_hash: str
    load: Callable[[], list[dict]]  # called only when the content hash changed
    hashes: Callable[[], list[str]] | None = None  # each record's hash, when the caller already knows them


@dataclass
class SyncReport:
    sources_changed: list[str] = field(default_factory=list)
    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    changed_records: list[tuple[str, dict | None]] = field(default_factory=list, repr=False)

    def __str__(self) -> str:
        if not self.sources_changed:
            return "directory up to date"
        return (f"directory synced from {', '.join(self.sources_changed)}: {self.added} added, "
                f"{self.updated} updated, {self.removed} removed, {self.unchanged} unchanged")


# --------------------------------------------------------------------------- search
@dataclass(frozen=True)
class Query:
    categories: tuple[str, ...] = ()
    text: str | None = None
    who: str | None = None           # patient, carer or professional
    nation: str | None = None
    area: str | None = None          # postcode area letters, e.g. "G"
    age: int | None = None
    under_18: bool = False           # a young carer: only services open to some under-18s
    open_now: bool = False
    limit: int = 3
    offset: int = 0


@dataclass(frozen=True)
class Match:
    service: dict
    local: bool
    open_state: hours.OpenState
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class Result:
    matches: tuple[Match, ...]
    total: int
    query: Query
    understood: tuple[str, ...] = ()   # what free text was understood as, for "why"

    @property
    def more(self) -> bool:
        return self.query.offset + len(self.matches) < self.total


@dataclass
class _Candidate:
    id: str
    name: str
    local: bool
    open_24_7: bool
    bank_holidays: str
    week: str
    categories: set[str] = field(default_factory=set)
    named: bool = False
    open_now: bool = False


class Directory:
    """The directory index in a database, and searches over it."""

    def __init__(self, url: str | None = None, engine: Engine | None = None):
        self.engine = engine or make_engine(url or default_url())
        metadata.create_all(self.engine)
        self._text_index: Any = None
        self._lock = threading.Lock()

    # ---- writing
    def sync(self, sources: Sequence[Source], now: datetime | None = None) -> SyncReport:
        """Make the tables match these sources; sources not listed are removed."""
        report = SyncReport()
        with self._lock, self.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                # several action servers start at once on one database: one syncs, the others wait, then
                # see the same hashes and change nothing (the lock ends with the transaction)
                conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({SYNC_LOCK_KEY})")
            stored = {row.name: row.content_hash for row in conn.execute(select(sources_table))}
            for gone in set(stored) - {s.name for s in sources}:
                report.removed += self._remove_source(conn, gone, report)
                report.sources_changed.append(gone)
            for source in sources:
                if stored.get(source.name) == source.content_hash:
                    continue
                self._sync_source(conn, source, report, now or datetime.now())
                report.sources_changed.append(source.name)
            if self._text_index is not None and report.changed_records:
                self._text_index.update(report.changed_records)
        return report

    def _remove_source(self, conn: Any, name: str, report: SyncReport) -> int:
        ids = [r.id for r in conn.execute(select(services_table.c.id).where(services_table.c.source == name))]
        self._delete(conn, ids)
        report.changed_records += [(i, None) for i in ids]
        conn.execute(delete(sources_table).where(sources_table.c.name == name))
        return len(ids)

    @staticmethod
    def _delete(conn: Any, ids: list[str]) -> None:
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            conn.execute(delete(index_table).where(index_table.c.service_id.in_(chunk)))
            conn.execute(delete(services_table).where(services_table.c.id.in_(chunk)))

    def _sync_source(self, conn: Any, source: Source, report: SyncReport, now: datetime) -> None:
        records = source.load()
        existing = {r.id: r.record_hash for r in conn.execute(
            select(services_table.c.id, services_table.c.record_hash).where(services_table.c.source == source.name))}
        digests = source.hashes() if source.hashes else [record_hash(service) for service in records]
        wanted = {service["id"]: (service, digest) for service, digest in zip(records, digests)}
        changed = [i for i, (_, digest) in wanted.items() if existing.get(i) != digest]
        gone = [i for i in existing if i not in wanted]
        self._delete(conn, [i for i in changed if i in existing] + gone)
        rows, index = [], []
        for service_id in changed:
            row, entries = _rows(wanted[service_id][0], source.name, wanted[service_id][1])
            rows.append(row)
            index += entries
        for start in range(0, len(rows), 2000):
            conn.execute(insert(services_table), rows[start:start + 2000])
        for start in range(0, len(index), 5000):
            conn.execute(insert(index_table), index[start:start + 5000])
        conn.execute(delete(sources_table).where(sources_table.c.name == source.name))
        conn.execute(insert(sources_table), [{"name": source.name, "content_hash": source.content_hash,
                                              "records": len(records), "loaded_at": now}])
        report.added += sum(1 for i in changed if i not in existing)
        report.updated += sum(1 for i in changed if i in existing)
        report.removed += len(gone)
        report.unchanged += len(wanted) - len(changed)
        report.changed_records += [(i, wanted[i][0]) for i in changed] + [(i, None) for i in gone]

    # ---- reading
    def count(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(services_table)).scalar() or 0)

    def get(self, service_id: str) -> dict | None:
        with self.engine.connect() as conn:
            payload = conn.execute(select(services_table.c.payload).where(services_table.c.id == service_id)).scalar()
        return json.loads(payload) if payload else None

    def text_index(self) -> "TextIndex":
        with self._lock:
            if self._text_index is None:
                with self.engine.connect() as conn:
                    rows = conn.execute(select(services_table.c.id, services_table.c.payload)).all()
                self._text_index = TextIndex.build((row.id, json.loads(row.payload)) for row in rows)
            return self._text_index

    def search(self, query: Query, categories: Mapping[str, dict], now: datetime | None = None) -> Result:
        now = (now or datetime.now(hours.UK)).astimezone(hours.UK)
        wanted = set(query.categories)
        named: set[str] = set()
        understood: list[str] = []
        if query.text:
            found = self.text_index().find(query.text, categories)
            wanted |= found.categories
            named = found.services
            understood = found.phrases
        if not wanted and not named:
            return Result((), 0, query, tuple(understood))
        candidates = self._candidates(query, wanted, named)
        bank_holiday = hours.is_bank_holiday(now.date(), query.nation)
        minute, day = now.hour * 60 + now.minute, now.weekday()
        for candidate in candidates:
            candidate.open_now = _open(candidate, day, minute, bank_holiday)
        ranked = sorted((c for c in candidates if c.open_now or not query.open_now),
                        key=lambda c: (not c.local, not c.named, not c.open_now, -len(c.categories & wanted), c.name))
        page = ranked[query.offset:query.offset + query.limit]
        payloads = self._payloads([c.id for c in page])
        matches = tuple(self._match(c, payloads[c.id], query, categories, now) for c in page)
        return Result(matches, len(ranked), query, tuple(understood))

    def _candidates(self, query: Query, wanted: set[str], named: set[str]) -> list[_Candidate]:
        s, i = services_table, index_table
        where = []
        if query.nation in NATIONS:
            where.append(i.c.nation == query.nation)
        areas = [NATIONAL] + ([query.area.upper()] if query.area else [])
        where.append(i.c.area.in_(areas))
        if query.who in ("patient", "carer"):
            where.append(s.c.who_mask.op("&")(WHO_BITS[query.who]) != 0)
        if query.age is not None:
            where += [(s.c.min_age.is_(None)) | (s.c.min_age <= query.age),
                      (s.c.max_age.is_(None)) | (s.c.max_age >= query.age)]
        if query.under_18:
            where.append((s.c.min_age.is_(None)) | (s.c.min_age < 18))
        match = i.c.category.in_(sorted(wanted)) if wanted else None
        if named:
            by_name = i.c.service_id.in_(sorted(named))
            match = by_name if match is None else (match | by_name)
        statement = (select(s.c.id, s.c.name, s.c.local, s.c.open_24_7, s.c.bank_holidays, s.c.week, i.c.category)
                     .join(i, i.c.service_id == s.c.id).where(match, *where))
        found: dict[str, _Candidate] = {}
        with self.engine.connect() as conn:
            rows = conn.execute(statement).all()  # unpacked as tuples below: this loop is the hot path
        for service_id, name, local, open_24_7, bank_holidays, week, category in rows:
            candidate = found.get(service_id)
            if candidate is None:
                candidate = found[service_id] = _Candidate(service_id, name, local, open_24_7, bank_holidays, week,
                                                           named=service_id in named)
            if category in wanted:
                candidate.categories.add(category)
        return list(found.values())

    def _payloads(self, ids: list[str]) -> dict[str, dict]:
        if not ids:
            return {}
        with self.engine.connect() as conn:
            rows = conn.execute(select(services_table.c.id, services_table.c.payload)
                                .where(services_table.c.id.in_(ids))).all()
        return {row.id: json.loads(row.payload) for row in rows}

    @staticmethod
    def _match(candidate: _Candidate, service: dict, query: Query, categories: Mapping[str, dict],
               now: datetime) -> Match:
        state = hours.open_state(service, now, query.nation)
        reasons = []
        if candidate.named:
            reasons.append(f"you asked about {service['name']}")
        if candidate.local:
            reasons.append(f"local to {service.get('area_name') or query.area} ({query.area})")
        else:
            nations = service.get("nations") or []
            reasons.append("covers the whole UK" if len(nations) == len(NATIONS)
                           else "covers " + " and ".join(NATION_NAMES[n] for n in nations))
        names = [categories[c]["name"].lower() for c in sorted(candidate.categories) if c in categories]
        if names:
            reasons.append("helps with " + ", ".join(names))
        if query.who == "carer" and "carer" in (service.get("who") or []):
            reasons.append("for carers")
        if candidate.open_now:
            reasons.append("open now")
        return Match(service, candidate.local, state, tuple(reasons))


def _open(candidate: _Candidate, day: int, minute: int, bank_holiday: bool) -> bool:
    if candidate.open_24_7:
        return True
    if bank_holiday and candidate.bank_holidays == "closed":
        return False
    for block in candidate.week.split(";") if candidate.week else ():
        block_day, span = block.split(":")
        if int(block_day) == day:
            opens, closes = span.split("-")
            if int(opens) <= minute < int(closes):
                return True
    return False


# --------------------------------------------------------------------------- free text
@dataclass(frozen=True)
class TextMatch:
    categories: set[str]
    services: set[str]
    phrases: list[str]


class TextIndex:
    """spaCy PhraseMatcher over service names and synonyms, and the words people use for each need."""

    def __init__(self) -> None:
        import spacy
        from spacy.matcher import PhraseMatcher

        self.nlp = spacy.blank("en")
        self.services = PhraseMatcher(self.nlp.vocab, attr="LOWER")
        self.categories: Any = None
        self._category_key: tuple = ()

    @classmethod
    def build(cls, services: Iterable[tuple[str, dict]]) -> "TextIndex":
        index = cls()
        index.update(services)
        return index

    def update(self, services: Iterable[tuple[str, dict | None]]) -> None:
        """Add or replace these services' phrases; None (or a retired service) removes them."""
        keys, phrases = [], []
        for service_id, service in services:
            if service_id in self.services:
                self.services.remove(service_id)
            if service is None or service.get("status") != "active":
                continue
            for phrase in (service["name"], *(service.get("synonyms") or [])):
                keys.append(service_id)
                phrases.append(phrase)
        grouped: dict[str, list[Any]] = {}
        for key, doc in zip(keys, self.nlp.tokenizer.pipe(phrases, batch_size=2000)):
            grouped.setdefault(key, []).append(doc)
        for key, docs in grouped.items():
            self.services.add(key, docs)

    def _category_matcher(self, categories: Mapping[str, dict]) -> Any:
        from spacy.matcher import PhraseMatcher

        key = tuple((cid, tuple(c.get("synonyms") or ()), c.get("name")) for cid, c in categories.items())
        if key != self._category_key:
            matcher = PhraseMatcher(self.nlp.vocab, attr="LOWER")
            for cid, category in categories.items():
                matcher.add(cid, list(self.nlp.tokenizer.pipe([category["name"], *category.get("synonyms", [])])))
            self.categories, self._category_key = matcher, key
        return self.categories

    def find(self, text: str, categories: Mapping[str, dict]) -> TextMatch:
        doc = self.nlp.make_doc(text)
        found_categories, found_services, phrases = set(), set(), []
        for match_id, start, end in self._category_matcher(categories)(doc):
            found_categories.add(self.nlp.vocab.strings[match_id])
            phrases.append(doc[start:end].text)
        for match_id, start, end in self.services(doc):
            found_services.add(self.nlp.vocab.strings[match_id])
            phrases.append(doc[start:end].text)
        return TextMatch(found_categories, found_services, sorted(set(phrases)))


# --------------------------------------------------------------------------- sources
def knowledge_source(services: Mapping[str, dict], organisations: Mapping[str, dict]) -> Source:
    """The services in the knowledge files, with their organisation's name, as one source."""
    records = [_with_organisation(service, organisations) for service in services.values()]
    hashes = [hashlib.sha1((service["_hash"] + record["organisation_name"]).encode()).hexdigest()
              if "_hash" in service else record_hash(record) for service, record in zip(services.values(), records)]
    digest = hashlib.sha256("".join(hashes).encode()).hexdigest()
    return Source("knowledge", digest, lambda: records, lambda: hashes)


def _with_organisation(service: Mapping[str, Any], organisations: Mapping[str, dict]) -> dict:
    clean = {k: v for k, v in service.items() if not k.startswith("_")}
    organisation = organisations.get(str(service.get("organisation"))) or {}
    clean["organisation_name"] = organisation.get("name", "")
    return clean




class Live:
    """A directory kept in step with the knowledge the bot serves: synced whenever that changes."""

    def __init__(self, url: str | None = None):
        self.url = url
        self._directory: Directory | None = None
        self._synced_for: object = None

    def get(self, knowledge: Any) -> Directory:
        if self._directory is None:
            self._directory = Directory(self.url)
        if self._synced_for is not knowledge:
            report = self._directory.sync([knowledge_source(knowledge.services, knowledge.organisations)])
            logger.info("%s", report)
            self._synced_for = knowledge
        return self._directory
