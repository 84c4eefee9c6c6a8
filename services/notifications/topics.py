"""Notice topics a user or webhook can subscribe to, and what each topic is scoped to."""

from __future__ import annotations

from enum import StrEnum


class Topic(StrEnum):
    # Customer topics, per product, off until the customer subscribes.
    UPDATES = "updates"
    SECURITY = "security"
    # Publisher topics, per organisation, on by default for every member.
    SCAN_RESULTS = "scan_results"
    VULNERABILITIES = "vulnerabilities"
    SLA = "sla"
    REVIEW_DECISIONS = "review_decisions"
    REPORTS = "reports"


PRODUCT_TOPICS = frozenset({Topic.UPDATES, Topic.SECURITY})
ORGANISATION_TOPICS = frozenset(
    {Topic.SCAN_RESULTS, Topic.VULNERABILITIES, Topic.SLA, Topic.REVIEW_DECISIONS, Topic.REPORTS}
)


def scope_kind(topic: Topic) -> str:
    """Return "product" or "organisation": what a subscription to `topic` names."""
    return "product" if topic in PRODUCT_TOPICS else "organisation"
