"""A synthetic directory the size of a large real one, for benchmarks (never shipped as content).

Shaped like knowledge/services/*.yml: most services are local (spread over the real postcode
areas), a few are national; categories, audiences and opening hours vary; every entry is valid.
"""
from __future__ import annotations

import random
from typing import Iterator

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WORDS = ("community", "cancer", "carers", "wellbeing", "advice", "support", "centre", "hub", "trust", "network",
         "friends", "money", "work", "home", "care", "help", "together", "family", "hope", "light")


def _hours(rng: random.Random) -> dict:
    kind = rng.random()
    if kind < 0.1:
        return {"open_24_7": True, "hours": []}
    if kind < 0.2:
        return {"open_24_7": False, "hours": [], "hours_note": "By appointment"}
    weekdays = {"days": list(DAYS[:5]), "opens": rng.choice(["08:00", "09:00", "09:30"]),
                "closes": rng.choice(["17:00", "17:30", "20:00"])}
    hours = [weekdays]
    if rng.random() < 0.4:
        hours.append({"days": ["sat"], "opens": "10:00", "closes": "14:00"})
    return {"open_24_7": False, "hours": hours}


def services(count: int, categories: list[str], areas: dict[str, str], seed: int = 20261123) -> Iterator[dict]:
    """`count` services; `areas` maps postcode area letters to their nation."""
    rng = random.Random(seed)
    area_list = sorted(areas)
    for index in range(count):
        local = rng.random() < 0.95
        area = rng.choice(area_list)
        name = " ".join(rng.sample(WORDS, 3)).title() + f" {index}"
        service = {
            "id": f"synthetic_{index}",
            "organisation": f"synthetic_org_{index // 10}",
            "name": name,
            "description": f"A synthetic service for benchmarks, number {index}.",
            "status": "active" if rng.random() < 0.97 else "defunct",
            "categories": rng.sample(categories, rng.choice([1, 1, 2, 3])),
            "who": rng.choice([["patient"], ["carer"], ["patient", "carer"], ["patient", "carer", "professional"]]),
            "nations": [areas[area]] if local else ["england", "scotland", "wales", "northern_ireland"],
            "phone": f"01{rng.randint(100, 999)} {rng.randint(100000, 999999)}",
            "url": f"https://example.org/services/{index}",
            "bank_holidays": rng.choice(["closed", "same", "reduced"]),
            "synonyms": [f"{name.split()[0].lower()} {name.split()[1].lower()}"],
            "source": f"https://example.org/services/{index}",
            "checked": "2026-11-01",
            "review_by": "2027-05-01",
            "owner": "bench",
            **_hours(rng),
        }
        if local:
            service["areas"] = [area]
            service["area_name"] = f"Area {area}"
        yield service


def organisations(count: int) -> Iterator[dict]:
    for index in range((count + 9) // 10):
        yield {"id": f"synthetic_org_{index}", "name": f"Synthetic Organisation {index}",
               "url": f"https://example.org/{index}", "source": f"https://example.org/{index}",
               "checked": "2026-11-01", "review_by": "2027-05-01", "owner": "bench"}
