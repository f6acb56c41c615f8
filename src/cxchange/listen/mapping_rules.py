"""The rules that read an export's column headers: what each feedback field's header says.

Data more than code, so they can grow with each new export format: `SYNONYMS` are the exact headers of
each field (score `EXACT`), `RULES` the keyword patterns with their scores and veto words, `PERSONAL` the
headers of personal data that never feed any field. `listen.mapping` applies them to normalised headers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

EXACT = 100  # score of the field name itself or one of its exact synonyms


@dataclass(frozen=True)
class Rule:
    """A keyword pattern on the normalised header; `veto` (if any) knocks the rule out."""

    pattern: re.Pattern[str]
    score: int
    veto: re.Pattern[str] | None


def _words(*alternatives: str) -> str:
    return r"\b(?:" + "|".join(alternatives) + r")\b"


def _rule(pattern: str, score: int, veto: str | None = None) -> Rule:
    return Rule(re.compile(pattern), score, re.compile(veto) if veto else None)


# Personal data never feeds any field (an email is not a customer id, a name is not a unit).
PERSONAL = re.compile(
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

SYNONYMS: dict[str, tuple[str, ...]] = {
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

RULES: dict[str, tuple[Rule, ...]] = {
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
