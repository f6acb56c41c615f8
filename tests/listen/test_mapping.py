"""Tests for cxchange.listen.mapping: header -> field suggestions and --map option parsing."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cxchange.listen.mapping import FIELDS, parse_map_options, suggest_mapping

# --- one header on its own: (header, field or None) ------------------------------------------------------

SINGLE = [
    # nps
    ("How likely are you to recommend us to a friend or colleague?", "nps"),
    ("NPS", "nps"),
    ("Likelihood to recommend", "nps"),
    ("LTR", "nps"),
    ("NPS (0-10)", "nps"),
    ("On a scale from 0-10, how likely is it that you would recommend Acme?", "nps"),
    ("Recommended IND", None),  # a 0/1 flag, not a 0-10 answer
    ("recommended", None),
    ("NPS Category", None),  # derived promoter/passive/detractor label
    # text
    ("Review Text", "text"),
    ("Comment", "text"),
    ("Comments", "text"),
    ("Verbatim", "text"),
    ("Feedback", "text"),
    ("Why did you give that score?", "text"),
    ("content", "text"),
    ("Consumer complaint narrative", "text"),
    ("Description", "text"),
    ("NPS Comment", "text"),
    ("Is there anything else you would like to tell us?", "text"),
    ("Positive Feedback Count", None),
    ("Feedback Type", None),
    # received_at
    ("Submitted At", "received_at"),
    ("Date", "received_at"),
    ("Created", "received_at"),
    ("Timestamp", "received_at"),
    ("Response Date", "received_at"),
    ("date_flown", "received_at"),
    ("RecordedDate", "received_at"),
    ("Review Created (UTC)", "received_at"),
    ("Date of Birth", None),
    ("Updated at", None),
    # external_id
    ("Response ID", "external_id"),
    ("Ticket ID", "external_id"),
    ("Review ID", "external_id"),
    ("id", "external_id"),
    ("ResponseId", "external_id"),
    ("Ticket #", "external_id"),
    ("Clothing ID", None),  # a product id, not a response id
    ("ProductId", None),
    # csat
    ("CSAT", "csat"),
    ("Satisfaction", "csat"),
    ("How satisfied were you with your visit?", "csat"),
    ("Satisfaction Score", "csat"),
    # ces
    ("Customer Effort", "ces"),
    ("CES", "ces"),
    ("How easy was it to get your issue resolved?", "ces"),
    # rating
    ("Rating", "rating"),
    ("Stars", "rating"),
    ("Score", "rating"),
    ("overall_rating", "rating"),
    ("Average Rating", None),  # a product-level aggregate, not this response's rating
    ("Q_RecaptchaScore", None),
    # customer_id
    ("Customer ID", "customer_id"),
    ("Account Number", "customer_id"),
    ("customerID", "customer_id"),
    ("Requester ID", "customer_id"),
    ("Email", None),  # personal data: never a customer id
    ("RecipientEmail", None),
    ("Customer Name", None),
    ("Phone", None),
    # org_unit
    ("Store", "org_unit"),
    ("Branch", "org_unit"),
    ("Team", "org_unit"),
    ("Unit", "org_unit"),
    ("Org Unit", "org_unit"),
    ("Location code", "org_unit"),
    ("Store Name", "org_unit"),
    ("Region", None),  # kept as an attribute by the importer
    ("Department", None),
    ("Department Name", None),
    ("Division Name", None),
    ("Unit Price", None),
    ("Team Lead", None),
    # channel
    ("Channel", "channel"),
    ("Source channel", "channel"),
    ("DistributionChannel", "channel"),
    ("Submitted via", "channel"),
    # customer_value
    ("Customer Value", "customer_value"),
    ("CLV", "customer_value"),
    ("Lifetime value", "customer_value"),
    ("Annual revenue", "customer_value"),
    ("MonthlyCharges", None),
    ("Value For Money", None),  # an airline sub-rating
    # nothing at all
    ("Age", None),
    ("Duration (in seconds)", None),
    ("IPAddress", None),
    ("Q7", None),
]


@pytest.mark.parametrize(("header", "field"), SINGLE)
def test_single_header(header: str, field: str | None) -> None:
    assert suggest_mapping([header]) == ({field: header} if field else {})


def test_single_table_is_big_enough() -> None:
    assert len(SINGLE) >= 30
    assert {field for _, field in SINGLE} >= set(FIELDS)


@pytest.mark.parametrize(
    "header",
    [
        "review text",
        "REVIEW TEXT",
        "review_text",
        "Review-Text",
        "ReviewText",
        "  Review   Text  ",
        "review.text",
    ],
)
def test_case_and_punctuation_insensitive(header: str) -> None:
    assert suggest_mapping([header]) == {"text": header}


# --- competition between columns ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("columns", "expected"),
    [
        (["Title", "Review Text"], {"text": "Review Text"}),
        (["Review Title", "Review Content"], {"text": "Review Content"}),
        (["Title"], {"text": "Title"}),  # only the fallback when nothing better exists
        (["Date", "Response Date"], {"received_at": "Response Date"}),
        (["Date sent to company", "Date received"], {"received_at": "Date received"}),
        (["StartDate", "EndDate", "RecordedDate"], {"received_at": "RecordedDate"}),
        (["Rating", "Food Rating"], {"rating": "Rating"}),
        (["Score", "Satisfaction Score"], {"rating": "Score", "csat": "Satisfaction Score"}),
        (["NPS", "How likely are you to recommend us?"], {"nps": "NPS"}),
        (["id", "Ticket ID"], {"external_id": "Ticket ID"}),
        (["Email", "Customer ID"], {"customer_id": "Customer ID"}),
        (["Description", "Satisfaction Comment"], {"text": "Description"}),
        # the question is free text and must not fall through to a score field once text is taken
        (["Comments", "Why did you give that score?"], {"text": "Comments"}),
    ],
)
def test_competing_columns(columns: list[str], expected: dict[str, str]) -> None:
    assert suggest_mapping(columns) == expected


# --- whole headers from real exports ---------------------------------------------------------------------


def test_kaggle_womens_clothing_reviews() -> None:
    header = [
        "Clothing ID",
        "Age",
        "Title",
        "Review Text",
        "Rating",
        "Recommended IND",
        "Positive Feedback Count",
        "Division Name",
        "Department Name",
        "Class Name",
    ]
    assert suggest_mapping(header) == {"text": "Review Text", "rating": "Rating"}


def test_qualtrics_like_export() -> None:
    header = [
        "StartDate",
        "EndDate",
        "Status",
        "IPAddress",
        "Progress",
        "Duration (in seconds)",
        "Finished",
        "RecordedDate",
        "ResponseId",
        "RecipientLastName",
        "RecipientFirstName",
        "RecipientEmail",
        "ExternalReference",
        "LocationLatitude",
        "LocationLongitude",
        "DistributionChannel",
        "UserLanguage",
        "Q_RecaptchaScore",
        "Q1 - How likely are you to recommend us to a friend or colleague?",
        "Q2 - Why did you give that score?",
        "Q3 - How satisfied were you with your visit?",
        "Q4 - How easy was it to find what you needed?",
        "Store",
    ]
    assert suggest_mapping(header) == {
        "external_id": "ResponseId",
        "received_at": "RecordedDate",
        "text": "Q2 - Why did you give that score?",
        "nps": "Q1 - How likely are you to recommend us to a friend or colleague?",
        "csat": "Q3 - How satisfied were you with your visit?",
        "ces": "Q4 - How easy was it to find what you needed?",
        "org_unit": "Store",
        "channel": "DistributionChannel",
    }


def test_zendesk_like_tickets() -> None:
    header = ["Ticket ID", "Created at", "Satisfaction Score", "Description", "Group", "Requester ID"]
    assert suggest_mapping(header) == {
        "external_id": "Ticket ID",
        "received_at": "Created at",
        "text": "Description",
        "csat": "Satisfaction Score",
        "customer_id": "Requester ID",
        "org_unit": "Group",
    }


def test_zendesk_full_ticket_export() -> None:
    header = [
        "Ticket ID",
        "Created at",
        "Updated at",
        "Solved at",
        "Status",
        "Priority",
        "Subject",
        "Description",
        "Group",
        "Assignee",
        "Requester",
        "Requester ID",
        "Requester email",
        "Organization",
        "Via",
        "Satisfaction Score",
        "Satisfaction Comment",
        "Tags",
    ]
    assert suggest_mapping(header) == {
        "external_id": "Ticket ID",
        "received_at": "Created at",
        "text": "Description",
        "csat": "Satisfaction Score",
        "customer_id": "Requester ID",
        "org_unit": "Group",
        "channel": "Via",
    }


def test_cfpb_complaints() -> None:
    header = [
        "Date received",
        "Product",
        "Sub-product",
        "Issue",
        "Sub-issue",
        "Consumer complaint narrative",
        "Company public response",
        "Company",
        "State",
        "ZIP code",
        "Tags",
        "Consumer consent provided?",
        "Submitted via",
        "Date sent to company",
        "Company response to consumer",
        "Timely response?",
        "Consumer disputed?",
        "Complaint ID",
    ]
    assert suggest_mapping(header) == {
        "external_id": "Complaint ID",
        "received_at": "Date received",
        "text": "Consumer complaint narrative",
        "channel": "Submitted via",
    }


def test_amazon_fine_food_reviews() -> None:
    header = [
        "Id",
        "ProductId",
        "UserId",
        "ProfileName",
        "HelpfulnessNumerator",
        "HelpfulnessDenominator",
        "Score",
        "Time",
        "Summary",
        "Text",
    ]
    assert suggest_mapping(header) == {
        "external_id": "Id",
        "received_at": "Time",
        "text": "Text",
        "rating": "Score",
        "customer_id": "UserId",
    }


def test_airline_reviews() -> None:
    header = [
        "header",
        "author",
        "date",
        "place",
        "content",
        "aircraft",
        "traveller_type",
        "seat_type",
        "route",
        "date_flown",
        "recommended",
        "trip_verified",
        "rating",
        "seat_comfort",
        "cabin_staff_service",
        "food_beverages",
        "value_for_money",
    ]
    assert suggest_mapping(header) == {"received_at": "date", "text": "content", "rating": "rating"}


def test_telco_churn_maps_only_the_customer_id() -> None:
    header = ["customerID", "gender", "SeniorCitizen", "tenure", "PhoneService", "Contract"]
    header += ["PaymentMethod", "MonthlyCharges", "TotalCharges", "Churn"]
    assert suggest_mapping(header) == {"customer_id": "customerID"}


def test_empty_and_blank_headers() -> None:
    assert suggest_mapping([]) == {}
    assert suggest_mapping(["", "   ", "???"]) == {}


# --- properties -------------------------------------------------------------------------------------------

_HEADER_WORDS = st.sampled_from(
    [h for h, _ in SINGLE] + ["Title", "Review Title", "Food Rating", "Customer", "Q1", "x", "ID", "Notes"]
)


@given(st.lists(_HEADER_WORDS, max_size=15, unique=True))
def test_mapping_is_a_partial_injection(columns: list[str]) -> None:
    mapping = suggest_mapping(columns)
    assert set(mapping) <= set(FIELDS)
    assert list(mapping) == [f for f in FIELDS if f in mapping]  # stable field order
    assert len(set(mapping.values())) == len(mapping)
    assert set(mapping.values()) <= set(columns)
    assert suggest_mapping(columns) == mapping


@given(st.lists(_HEADER_WORDS, max_size=15, unique=True))
def test_personal_columns_are_never_mapped(columns: list[str]) -> None:
    personal = {"Email", "RecipientEmail", "Customer Name", "Phone", "IPAddress"}
    assert not set(suggest_mapping(columns).values()) & personal


# --- parse_map_options --------------------------------------------------------------------------------------


def test_parse_map_options_basic() -> None:
    assert parse_map_options(["nps=Q1", "text=Review Text"]) == {"nps": "Q1", "text": "Review Text"}
    assert parse_map_options([]) == {}


def test_parse_map_options_splits_on_first_equals() -> None:
    assert parse_map_options(["text=a=b"]) == {"text": "a=b"}


def test_parse_map_options_normalises_field_not_column() -> None:
    assert parse_map_options([" NPS =Q1 ", "Rating= Stars"]) == {"nps": "Q1 ", "rating": " Stars"}


@pytest.mark.parametrize("option", ["npsQ1", "", "text"])
def test_parse_map_options_missing_equals(option: str) -> None:
    with pytest.raises(ValueError, match="FIELD=COLUMN") as info:
        parse_map_options([option])
    for field in FIELDS:
        assert field in str(info.value)


@pytest.mark.parametrize("option", ["score=Q1", "=Q1", "review_text=Review Text"])
def test_parse_map_options_unknown_field(option: str) -> None:
    with pytest.raises(ValueError, match="unknown field") as info:
        parse_map_options([option])
    for field in FIELDS:
        assert field in str(info.value)


def test_parse_map_options_rejects_empty_column_and_duplicates() -> None:
    with pytest.raises(ValueError, match="no column"):
        parse_map_options(["nps="])
    with pytest.raises(ValueError, match="mapped twice"):
        parse_map_options(["nps=Q1", "nps=Q2"])


@given(st.sampled_from(FIELDS), st.text(min_size=1).filter(lambda c: c.strip() != ""))
def test_parse_map_options_roundtrip(field: str, column: str) -> None:
    assert parse_map_options([f"{field}={column}"]) == {field: column}
