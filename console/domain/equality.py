"""Equality monitoring: the groups a force records, in the codes its returns use.

Plain Python, no Qt, no storage. Three attributes, each with a "not recorded" choice
that is always allowed (an officer is never made to guess, and never held up):

- **perceived ethnicity**: the officer-defined ethnicity codes (IC1-IC6) UK forces use
  in their returns and FOI answers about LFR (the Met publishes true and false alerts
  and engagements by them);
- **sex** as perceived;
- **age band** as perceived.

The same attributes may be given for watchlist subjects (optional columns of
``watchlist.csv``: ``ethnicity_code``, ``sex``, ``age_band``), so a record can set the
watchlist's share of each group beside the alerts' share.
"""

from __future__ import annotations

from dataclasses import dataclass

NOT_RECORDED = "not recorded"

ETHNICITY_CODES: dict[str, str] = {
    "IC1": "White: North European",
    "IC2": "White: South European",
    "IC3": "Black",
    "IC4": "Asian",
    "IC5": "Chinese, Japanese or other South East Asian",
    "IC6": "Arab or North African",
}
SEXES: dict[str, str] = {"female": "Female", "male": "Male"}
AGE_BANDS: dict[str, str] = {
    "under 18": "Under 18",
    "18-24": "18 to 24",
    "25-34": "25 to 34",
    "35-44": "35 to 44",
    "45-54": "45 to 54",
    "55-64": "55 to 64",
    "65 and over": "65 and over",
}


@dataclass(frozen=True)
class Attribute:
    key: str  # as stored and as the watchlist's column is named
    label: str
    choices: dict[str, str]  # code -> label; NOT_RECORDED is always allowed besides

    def normalise(self, value: str) -> str:
        """The stored code for *value* (any case, code or label; empty: not recorded);
        ValueError naming the choices if it is none of them."""
        text = " ".join(str(value).split()).strip()
        if not text or text.lower() in (NOT_RECORDED, "unknown", "not stated"):
            return NOT_RECORDED
        for code, label in self.choices.items():
            if text.lower() in (code.lower(), label.lower()):
                return code
        allowed = ", ".join(self.choices) + f" or '{NOT_RECORDED}'"
        shown = text if len(text) <= 40 else text[:40] + "..."
        raise ValueError(f"{self.key} {shown!r} is not one of {allowed}")

    def label_of(self, code: str) -> str:
        return self.choices.get(code, "Not recorded")


ETHNICITY = Attribute("ethnicity_code", "Perceived ethnicity", ETHNICITY_CODES)
SEX = Attribute("sex", "Sex", SEXES)
AGE_BAND = Attribute("age_band", "Age band", AGE_BANDS)
ATTRIBUTES: tuple[Attribute, ...] = (ETHNICITY, SEX, AGE_BAND)


@dataclass(frozen=True)
class EqualityFields:
    """What the officer recorded about the person engaged (perceived, never required)."""

    ethnicity_code: str = NOT_RECORDED
    sex: str = NOT_RECORDED
    age_band: str = NOT_RECORDED

    def __post_init__(self) -> None:
        for attribute in ATTRIBUTES:
            value = getattr(self, attribute.key)
            if value != NOT_RECORDED and value not in attribute.choices:
                raise ValueError(f"{attribute.key} {value!r} is not a recordable code")

    @classmethod
    def parse(cls, **values: str) -> EqualityFields:
        """From typed or stored text (codes or labels, any case); ValueError if not one."""
        return cls(**{a.key: a.normalise(values.get(a.key, "")) for a in ATTRIBUTES})

    def as_dict(self) -> dict[str, str]:
        return {a.key: getattr(self, a.key) for a in ATTRIBUTES}

    @property
    def any_recorded(self) -> bool:
        return any(v != NOT_RECORDED for v in self.as_dict().values())


def watchlist_problems(row: dict[str, str]) -> list[str]:
    """Problems with a watchlist row's optional equality columns (none when absent), and
    the row's cells normalised to their codes in place."""
    problems = []
    for attribute in ATTRIBUTES:
        if attribute.key not in row:
            continue
        try:
            row[attribute.key] = attribute.normalise(row[attribute.key])
        except ValueError as exc:
            problems.append(str(exc))
    return problems
