"""Suggest which export column feeds which feedback field, and parse explicit ``field=column`` overrides.

Every survey tool, ticket system and review site names its columns differently ("Review Text", "Comments",
"Why did you give that score?", "RecordedDate"). Guessing well saves the user a mapping step; guessing
wrong silently loads the wrong numbers, so the rules are conservative: a column is only suggested when
its header clearly says what it holds, personal data (email, names, phone) is never mapped, flags and
counts never become scores, and anything unsure is left unmapped for the importer to keep as an attribute
or for the user to map with ``--map field=column``.

How a suggestion is made:
  * headers are normalised: camelCase split, case folded, punctuation and ``_`` turned into spaces
    (``customerID`` -> ``customer id``, ``overall_rating`` -> ``overall rating``, ``Ticket #`` ->
    ``ticket number``);
  * every (column, field) pair is scored by rules: the field name or an exact synonym scores 100, keyword
    patterns less; a field's veto words (``count``, ``flag``, ``id``, ``date``...) knock out its weaker
    rules, and question-style headers ("Why did you...") beat vetoes for free text;
  * pairs are then assigned greedily: highest score first, then the longest matched phrase (the most
    specific header), then the leftmost column; each field and each column is used at most once.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["FIELDS", "parse_map_options", "suggest_mapping"]

FIELDS = (
    "external_id",
    "received_at",
    "text",
    "nps",
    "csat",
    "ces",
    "rating",
    "customer_id",
    "org_unit",
    "channel",
    "customer_value",
)

EXACT = 100  # score of the field name itself or one of its exact synonyms


@dataclass(frozen=True)
class _Rule:
    """A keyword pattern on the normalised header; `veto` (if any) knocks the rule out."""

    pattern: re.Pattern[str]
    score: int
    veto: re.Pattern[str] | None


def _words(*alternatives: str) -> str:
    return r"\b(?:" + "|".join(alternatives) + r")\b"


def _rule(pattern: str, score: int, veto: str | None = None) -> _Rule:
    return _Rule(re.compile(pattern), score, re.compile(veto) if veto else None)


# Personal data never feeds any field (an email is not a customer id, a name is not a unit).
_PERSONAL = re.compile(
    _words(
        r"e ?mail",
        r"mail address",
        r"phone",
        r"telephone",
        r"mobile",
        r"address",
        r"ip",
        r"post ?code",
        r"zip",
        r"postal",
        r"birth",
        r"dob",
        r"surname",
        r"username",
        r"(?:first|last|full|given|family|user|profile|reviewer|author|customer|client|contact|recipient"
        r"|respondent|requester|person|member|guest) ?name",
    )
)

# Columns that count, flag, classify or identify something are not answers on a scale.
_SCORE_VETO = _words(
    "ind",
    "flag",
    "yn",
    "bool",
    "binary",
    "count",
    "counts",
    "num",
    "number of",
    "votes",
    "helpful",
    "helpfulness",
    "likes",
    "category",
    "categories",
    "group",
    "segment",
    "type",
    "class",
    "status",
    "label",
    "bucket",
    "band",
    "comment",
    "comments",
    "why",
    "reason",
    "reasons",
    "verbatim",
    "text",
    "feedback",
    "explain",
    "driver",
    "drivers",
    "date",
    "time",
    "id",
    "average",
    "avg",
    "mean",
    "credit",
    "risk",
    "fraud",
    "recaptcha",
    "sentiment",
    "probability",
    "propensity",
    "churn",
    "health",
)

_VERB_TIME = r"(?:created|submitted|received|recorded|completed|posted|published|entered|logged)"

# Free text: words that make a column metadata about the text rather than the text itself.
_TEXT_HARD_VETO = _words(
    "id",
    "ids",
    "number",
    "no",
    "count",
    "counts",
    "date",
    "time",
    "timestamp",
    "at",
    "type",
    "category",
    "categories",
    "status",
    "language",
    "lang",
    "length",
    "len",
    "sentiment",
    "channel",
    "flag",
    "ind",
    "code",
    "url",
    "link",
    "helpful",
    "votes",
    "product",
    "item",
    "tag",
    "tags",
    "topic",
    "topics",
    "positive",
    "negative",
)
_TEXT_HARD_VETO += "|" + _words(_VERB_TIME, "utc")
_TEXT_SOFT = _TEXT_HARD_VETO + "|" + _words("score", "rating", "stars", "title", "subject", "summary")

_TIME_VETO = _words(
    "birth",
    "dob",
    "due",
    "closed",
    "solved",
    "resolved",
    "updated",
    "modified",
    "sent",
    "shipped",
    "shipping",
    "delivery",
    "delivered",
    "expiry",
    "expiration",
    "expires",
    "duration",
    "spent",
    "response time",
    "reply",
    "replied",
    "first reply",
)

_ID_SUFFIX = r"(?:id|number|no|nr|num|ref|reference|key|code|uuid)"

_EXACT: dict[str, tuple[str, ...]] = {
    "external_id": (
        "id",
        "external id",
        "response id",
        "response number",
        "ticket id",
        "ticket number",
        "review id",
        "feedback id",
        "comment id",
        "case id",
        "case number",
        "complaint id",
        "submission id",
        "interaction id",
        "respondent id",
        "record id",
        "conversation id",
        "survey response id",
        "uuid",
    ),
    "received_at": (
        "received at",
        "received",
        "date received",
        "received date",
        "date",
        "created",
        "created at",
        "created on",
        "created date",
        "date created",
        "creation date",
        "timestamp",
        "time stamp",
        "datetime",
        "date time",
        "submitted",
        "submitted at",
        "submitted on",
        "date submitted",
        "submission date",
        "response date",
        "recorded date",
        "review date",
        "feedback date",
        "survey date",
        "completed at",
        "completion date",
        "date completed",
    ),
    "text": (
        "text",
        "review text",
        "review",
        "reviews",
        "review body",
        "review content",
        "comment",
        "comments",
        "comment text",
        "customer comment",
        "customer comments",
        "verbatim",
        "verbatims",
        "feedback",
        "feedback text",
        "content",
        "description",
        "body",
        "message",
        "consumer complaint narrative",
        "complaint narrative",
        "narrative",
        "free text",
        "open text",
        "open ended",
        "response text",
        "answer",
        "remarks",
    ),
    "nps": (
        "nps",
        "nps score",
        "nps rating",
        "net promoter",
        "net promoter score",
        "promoter score",
        "ltr",
        "likelihood to recommend",
        "likely to recommend",
        "likelihood of recommending",
        "recommend score",
        "recommendation score",
    ),
    "csat": (
        "csat",
        "csat score",
        "csat rating",
        "satisfaction",
        "satisfaction score",
        "satisfaction rating",
        "customer satisfaction",
        "customer satisfaction score",
        "overall satisfaction",
    ),
    "ces": (
        "ces",
        "ces score",
        "customer effort",
        "customer effort score",
        "effort",
        "effort score",
        "ease",
        "ease score",
    ),
    "rating": (
        "rating",
        "ratings",
        "overall rating",
        "rating overall",
        "review rating",
        "rating value",
        "rating score",
        "stars",
        "star",
        "star rating",
        "review stars",
        "number of stars",
        "score",
        "overall score",
        "review score",
        "reviewer score",
        "overall",
        "grade",
    ),
    "customer_id": (
        "customer id",
        "customer number",
        "customer no",
        "customer ref",
        "customer reference",
        "account id",
        "account number",
        "account no",
        "client id",
        "client number",
        "member id",
        "membership number",
        "user id",
        "userid",
        "contact id",
        "requester id",
        "subscriber id",
        "guest id",
        "loyalty number",
        "cust id",
        "custid",
        "crm id",
    ),
    "org_unit": (
        "org unit",
        "organisation unit",
        "organization unit",
        "organisational unit",
        "organizational unit",
        "unit",
        "business unit",
        "store",
        "branch",
        "team",
        "site",
        "outlet",
        "office",
        "shop",
        "restaurant",
        "hotel",
        "clinic",
        "depot",
        "location code",
        "location id",
        "cost centre",
        "cost center",
    ),
    "channel": (
        "channel",
        "source channel",
        "distribution channel",
        "contact channel",
        "feedback channel",
        "survey channel",
        "interaction channel",
        "communication channel",
        "channel name",
        "via",
        "submitted via",
        "received via",
        "source",
        "medium",
        "touchpoint",
        "platform",
    ),
    "customer_value": (
        "customer value",
        "customer lifetime value",
        "lifetime value",
        "clv",
        "cltv",
        "ltv",
        "annual revenue",
        "customer revenue",
        "revenue",
        "arr",
        "acv",
        "annual contract value",
        "contract value",
        "account value",
        "annual spend",
        "total spend",
        "yearly spend",
        "annual value",
    ),
}

_PLACE = r"(?:store|branch|outlet|site|shop|restaurant|hotel|clinic|depot|franchise)"
# "Unit price" is no org unit, "Team lead" is a person; an order's value is not the customer's value.
_UNIT_VETO = _words(
    "price", "cost", "qty", "quantity", "count", "size", "measure", "lead", "manager", "member"
)
_PURCHASE_VETO = _words("order", "product", "item", "basket", "transaction")
_CHANNEL_VETO = _words("url", "link", "file", "language", "lang")
_QUESTION = _words(
    "why",
    "tell us",
    "please explain",
    "please describe",
    "please share",
    "explain",
    "describe",
    "anything else",
    "what could we",
    "what can we",
    "what would",
    "how can we improve",
    "how could we improve",
    "what did you like",
    "what did you dislike",
    "in your own words",
    "suggestions?",
    r"reason for (?:your |the |this )?(?:score|rating)",
)

_RULES: dict[str, tuple[_Rule, ...]] = {
    "external_id": (
        _rule(
            _words(
                r"(?:survey )?(?:response|ticket|review|feedback|comment|case|complaint|submission"
                r"|interaction|conversation|respondent|record) ?" + _ID_SUFFIX
            ),
            80,
        ),
    ),
    "received_at": (
        _rule(_words(rf"{_VERB_TIME} (?:at|on|date|time)", rf"(?:date|time) {_VERB_TIME}"), 90, _TIME_VETO),
        _rule(_words("end date", "end time"), 75, _TIME_VETO),
        _rule(_words("timestamp", "datetime"), 70, _TIME_VETO),
        _rule(r"^time$", 70),
        _rule(_words("start date", "start time"), 60, _TIME_VETO),
        _rule(_words(_VERB_TIME), 55, _TIME_VETO + "|" + _words("by", "via", "user", "agent")),
        _rule(_words("date"), 50, _TIME_VETO),
    ),
    "text": (
        _rule(_QUESTION, 90),
        _rule(
            _words("comments?", "verbatims?", "feedback", "narrative", "remarks", "free text", "open text"),
            85,
            _TEXT_HARD_VETO,
        ),
        _rule(_words("reviews?", "description", "message", "body", "content", "answer"), 60, _TEXT_SOFT),
        # A title or subject is text, but only the fallback when no real body column exists.
        _rule(_words("title", "subject", "summary", "headline", "header"), 20, _TEXT_HARD_VETO),
    ),
    "nps": (
        _rule(_words("nps", "net promoter"), 95, _SCORE_VETO),
        _rule(r"\b(?:likely|likelihood)\b.*\brecommend|\brecommend\w*\b.*\blikel", 90, _SCORE_VETO),
    ),
    "csat": (
        _rule(_words("csat"), 95, _SCORE_VETO),
        _rule(r"\b(?:dis)?satisf\w*", 85, _SCORE_VETO),
    ),
    "ces": (
        _rule(_words("ces"), 95, _SCORE_VETO),
        _rule(_words("effort", "how easy", r"easy (?:was|is|did|it)", "easy to"), 85, _SCORE_VETO),
        _rule(_words("ease of"), 60, _SCORE_VETO),
    ),
    "rating": (
        _rule(_words("overall rating", "overall score", "star rating"), 85, _SCORE_VETO),
        _rule(_words("rating", "ratings", "stars?", "score", "how would you rate", "rate"), 60, _SCORE_VETO),
    ),
    "customer_id": (
        _rule(
            _words(
                r"(?:customer|client|account|member|membership|user|contact|requester|subscriber|guest|cust"
                r"|consumer|shopper|buyer|patient|loyalty|reviewer|crm) ?" + _ID_SUFFIX
            ),
            80,
            _words("name"),
        ),
    ),
    "org_unit": (
        _rule(_words("location (?:code|id|number|no)"), 90),
        _rule(
            _words(_PLACE + r" ?(?:id|number|no|code|name|ref)?"),
            85,
            _words("type", "category", "size", "manager"),
        ),
        _rule(
            _words("org unit", "team", "unit"),
            70,
            _UNIT_VETO,
        ),
        _rule(r"^(?:agent |assignee |support )?group$", 60),
    ),
    "channel": (
        _rule(_words("channel", "touch ?point"), 90, _CHANNEL_VETO),
        _rule(_words("via"), 80),
        _rule(_words("source", "platform", "medium"), 50, _CHANNEL_VETO + "|" + _words("data", "traffic")),
    ),
    "customer_value": (
        _rule(_words("lifetime value", "clv", "cltv", "ltv"), 85),
        _rule(_words(r"(?:annual|yearly|total) (?:revenue|spend|spending|value)"), 80, _PURCHASE_VETO),
        _rule(_words("revenue", "spend"), 60, _PURCHASE_VETO),
    ),
}


def _normalise(header: str) -> str:
    """Comparable form of a header: camelCase split, casefolded, punctuation and '_' to single spaces."""
    text = header.replace("#", " number ")
    text = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", text)
    text = re.sub(r"(?<=[A-Z])(?=[A-Z][a-z])", " ", text)
    text = re.sub(r"[\W_]+", " ", text.casefold())
    return text.strip()


def _score(norm: str, field: str) -> tuple[int, int] | None:
    """(score, length of the matched phrase) of the best rule of `field` on a normalised header."""
    if norm in _EXACT[field]:
        return EXACT, len(norm)
    best: tuple[int, int] | None = None
    for rule in _RULES[field]:
        match = rule.pattern.search(norm)
        if match is None or (rule.veto is not None and rule.veto.search(norm)):
            continue
        candidate = (rule.score, len(match.group(0)))
        if best is None or candidate > best:
            best = candidate
    return best


def suggest_mapping(columns: Sequence[str]) -> dict[str, str]:
    """Best guess of field -> column from the header alone; unsure columns stay unmapped."""
    candidates: list[tuple[int, int, int, int, str]] = []
    for index, column in enumerate(columns):
        norm = _normalise(column)
        if not norm or _PERSONAL.search(norm):
            continue
        for field_index, field in enumerate(FIELDS):
            scored = _score(norm, field)
            if scored is not None:
                candidates.append((-scored[0], -scored[1], index, field_index, field))
    candidates.sort()
    chosen: dict[str, str] = {}
    used: set[int] = set()
    for _, _, index, _, field in candidates:
        if field in chosen or index in used:
            continue
        chosen[field] = columns[index]
        used.add(index)
    return {field: chosen[field] for field in FIELDS if field in chosen}


def parse_map_options(options: Sequence[str]) -> dict[str, str]:
    """Parse ``field=column`` overrides given by the user (``--map``), failing loudly on typos.

    Splits on the first '=' (a column name may itself contain '='). The field is case/space-insensitive;
    the column is kept verbatim because real headers can carry odd spacing.
    """
    valid = ", ".join(FIELDS)
    mapping: dict[str, str] = {}
    for option in options:
        field, sep, column = option.partition("=")
        field = field.strip().lower()
        if not sep:
            raise ValueError(f"map option {option!r} must look like FIELD=COLUMN; valid fields: {valid}")
        if field not in FIELDS:
            raise ValueError(f"unknown field {field!r} in map option {option!r}; valid fields: {valid}")
        if not column.strip():
            raise ValueError(f"map option {option!r} names no column after '='")
        if field in mapping:
            raise ValueError(f"field {field!r} is mapped twice ({mapping[field]!r} and {column!r})")
        mapping[field] = column
    return mapping
