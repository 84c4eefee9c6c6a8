"""Search on a seeded set of listings: relevance, typo tolerance, facets, filters, sorts and pages."""

from __future__ import annotations

import asyncio
import base64
import uuid

import pytest

from services.catalog.app import create_app
from services.catalog.schemas import FacetValue
from services.catalog.search import SearchQuery, search_listings
from services.catalog.facets import CachedFacets, FacetCache
from services.catalog.settings import CatalogSettings
from shared.events.memory import InMemoryTransport
from tests.catalog.support import Publisher, deliver
from tests.support.services import running_service


def tier(namespace: str, repository: str, amount: int = 0, currency: str = "EUR") -> dict:
    return {
        "name": "Paid" if amount else "Free",
        "description": "The tier",
        "price_amount": amount,
        "currency": currency,
        "billing_period": "monthly" if amount else "free",
        "source": f"staging/{namespace}/{repository}:1",
    }


# name, organisation, manifest changes, product type, pulls
SEED = [
    ("Redis", "keyvalue", {"category": "Database", "tags": ["cache", "key-value"], "short_description": "In-memory data store"}, "image", 50),
    ("Valkey", "keyvalue", {"category": "Database", "tags": ["redis", "cache"], "short_description": "A fork of an in-memory store"}, "image", 10),
    ("Redis Insight", "keyvalue", {"category": "Developer Tools", "tags": ["gui"], "short_description": "Visual tool for key-value stores"}, "image", 5),
    ("Postgres Operator", "elephants", {"category": "Database", "tags": ["postgresql", "kubernetes"], "short_description": "Runs clusters on Kubernetes"}, "image", 30),
    ("Nginx Proxy", "webfolk", {"category": "Networking", "tags": ["http", "reverse-proxy"], "short_description": "Reverse proxy and load balancer"}, "image", 70),
    ("Grafana Dashboards", "webfolk", {"category": "Monitoring", "tags": ["metrics"], "short_description": "Dashboards for metrics"}, "plugin", 20),
    ("Kafka Connect", "elephants", {"category": "Messaging", "tags": ["streaming"], "short_description": "Moves data between systems"}, "image", 0),
]
PAID = {"Nginx Proxy": 4900, "Postgres Operator": 990}
# Listings priced in US dollars; the others are priced in euros.
IN_DOLLARS = {"Nginx Proxy", "Grafana Dashboards"}


@pytest.fixture(scope="module")
async def seeded(issuer, tmp_path_factory):
    """A catalog of its own holding exactly the SEED listings; Postgres Operator is certified."""
    settings = CatalogSettings(media_dir=str(tmp_path_factory.mktemp("search-media")), facet_cache_seconds=0)
    transport = InMemoryTransport(retry_delays=[0.01])
    async with running_service(create_app, database="catalog_search", transport=transport, settings=settings) as service:
        issuer.install(service.runtime.state["jwks"])
        service.runtime.state["test_issuer"] = issuer
        publishers = {}
        for namespace in ("keyvalue", "elephants", "webfolk"):
            publishers[namespace] = Publisher(service=service, issuer=issuer, namespace=namespace)
            await publishers[namespace].complete_profile()

        products = {}
        for name, namespace, changes, product_type, pulls in SEED:
            repository = name.lower().replace(" ", "-")
            currency = "USD" if name in IN_DOLLARS else "EUR"
            tiers = [tier(namespace, repository, PAID.get(name, 0), currency)]
            product = await _publish(publishers[namespace], name, product_type, tiers=tiers, **changes)
            products[name] = product
            for _ in range(pulls):
                await deliver(
                    service,
                    "licensing.image.pulled",
                    {
                        "repository": f"store/{namespace}/{product['slug']}",
                        "digest": "sha256:" + "d" * 64,
                        "product_id": product["id"],
                        "registry_event_id": uuid.uuid4().hex,
                        "pulled_at": "2025-01-01T00:00:00Z",
                    },
                )
        await deliver(
            service,
            "moderation.certification.granted",
            {
                "product_id": products["Postgres Operator"]["id"],
                "organisation_id": products["Postgres Operator"]["organisation_id"],
                "badge": "certified_container",
            },
        )
        yield service


async def _publish(publisher: Publisher, name: str, product_type: str, **changes) -> dict:
    from tests.catalog.support import approve_and_promote

    body = {"name": name, "product_type": product_type, **await publisher.manifest(**changes)}
    created = await publisher.service.client.post(
        f"/organisations/{publisher.organisation_id}/products", json=body, headers=publisher.headers
    )
    assert created.status_code == 201, created.text
    product = created.json()
    submitted = await publisher.submit(product)
    assert submitted.status_code == 200, submitted.text
    await approve_and_promote(publisher.service, product, product["version"]["id"])
    return product


async def search(service, **params) -> dict:
    response = await service.client.get("/search", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def names(page: dict) -> list[str]:
    return [item["name"] for item in page["items"]]


# Relevance.


async def test_exact_name_beats_tag_match(seeded):
    page = await search(seeded, q="redis")

    assert names(page)[0] == "Redis"
    assert "Valkey" in names(page)
    assert names(page).index("Redis") < names(page).index("Valkey")


async def test_name_match_beats_tag_match(seeded):
    page = await search(seeded, q="redis")

    assert names(page).index("Redis Insight") < names(page).index("Valkey")


async def test_description_words_found(seeded):
    page = await search(seeded, q="load balancer")

    assert names(page) == ["Nginx Proxy"]


async def test_stemmed_words_found(seeded):
    page = await search(seeded, q="dashboard")

    assert names(page) == ["Grafana Dashboards"]


async def test_publisher_name_found(seeded):
    page = await search(seeded, q="webfolk")

    assert sorted(names(page)) == ["Grafana Dashboards", "Nginx Proxy"]


@pytest.mark.parametrize(
    ("typo", "expected"),
    [
        ("postgress", "Postgres Operator"),
        ("postgres operater", "Postgres Operator"),
        ("grafanna", "Grafana Dashboards"),
        ("nginx prxy", "Nginx Proxy"),
        ("kafka conect", "Kafka Connect"),
        ("kubernetis", "Postgres Operator"),
    ],
)
async def test_typo_tolerated(seeded, typo, expected):
    page = await search(seeded, q=typo)

    assert names(page)[:1] == [expected]


async def test_swapped_letters_in_a_short_word_corrected(seeded):
    page = await search(seeded, q="ngnix")

    assert names(page) == ["Nginx Proxy"]
    assert page["corrected_query"] == "nginx"


async def test_swapped_letters_in_a_four_letter_word_corrected(seeded):
    page = await search(seeded, q="htpt")
    short = await search(seeded, q="ktfa")

    assert names(page) == ["Nginx Proxy"]
    assert page["corrected_query"] == "http"
    # "ktfa" is two edits from "kafka" and from every other term, one too many for four letters.
    assert short["items"] == []
    assert short["corrected_query"] is None


async def test_correction_keeps_known_words_and_query_syntax(seeded):
    page = await search(seeded, q='"Postgres Operater"')

    assert page["corrected_query"] == '"Postgres operator"'
    assert names(page) == ["Postgres Operator"]


async def test_words_that_match_are_not_corrected(seeded):
    page = await search(seeded, q="redis")

    assert page["corrected_query"] is None
    assert "Redis" in names(page)


async def test_short_words_are_not_corrected(seeded):
    page = await search(seeded, q="zq")

    assert page["items"] == []
    assert page["corrected_query"] is None


async def test_unrelated_query_finds_nothing(seeded):
    page = await search(seeded, q="spreadsheet")

    assert page["items"] == []
    assert page["total"] == 0


# Facets and filters.


def facet(page: dict, name: str) -> dict[str, int]:
    return {entry["value"]: entry["count"] for entry in page["facets"][name]}


async def test_facets_count_every_listing(seeded):
    page = await search(seeded)

    assert page["total"] == 7
    assert facet(page, "category") == {
        "Database": 3,
        "Developer Tools": 1,
        "Networking": 1,
        "Monitoring": 1,
        "Messaging": 1,
    }
    assert facet(page, "product_type") == {"image": 6, "plugin": 1}
    assert facet(page, "certified") == {"true": 1, "false": 6}
    assert facet(page, "pricing") == {"free": 5, "paid": 2}
    assert facet(page, "currency") == {"EUR": 5, "USD": 2}
    assert facet(page, "publisher") == {"keyvalue": 3, "elephants": 2, "webfolk": 2}


async def test_facets_follow_text_query(seeded):
    page = await search(seeded, q="cache")

    assert page["total"] == 2
    assert facet(page, "category") == {"Database": 2}


async def test_facet_counts_ignore_their_own_filter(seeded):
    page = await search(seeded, category="Database")

    assert page["total"] == 3
    # The category facet still offers the other categories, with their full counts.
    assert facet(page, "category")["Networking"] == 1
    assert facet(page, "category")["Database"] == 3
    # The other facets count only the Database listings.
    assert facet(page, "publisher") == {"keyvalue": 2, "elephants": 1}
    assert facet(page, "pricing") == {"free": 2, "paid": 1}


async def test_facet_counts_with_words_and_two_filters(seeded):
    page = await search(seeded, q="redis", category="Database", pricing="free")

    assert set(names(page)) == {"Redis", "Valkey"}
    assert page["total"] == 2
    # Counted with the words and the pricing filter, not the category filter.
    assert facet(page, "category") == {"Database": 2, "Developer Tools": 1}
    # Counted with the words and the category filter, not the pricing filter.
    assert facet(page, "pricing") == {"free": 2}


# A query of one word reads its counts from the per-term tables. The same word twice is
# a query of three nodes, so it counts its matches instead. Both must agree.
async def test_one_term_counts_equal_counted_matches(seeded):
    for params in (
        {},
        {"category": "Database"},
        {"pricing": "free"},
        {"publisher": "keyvalue"},
        {"category": "Database", "publisher": "keyvalue"},
        {"certified": "true"},
        {"currency": "USD"},
    ):
        for word in ("cache", "redis", "operator", "rows"):
            one_term = await search(seeded, q=word, **params)
            counted = await search(seeded, q=f"{word} {word}", **params)

            assert one_term["total"] == counted["total"], (word, params)
            for name in ("category", "product_type", "certified", "pricing", "publisher"):
                assert facet(one_term, name) == facet(counted, name), (word, params, name)
            # The ranks differ (a word twice weighs more), but not the matches.
            assert set(names(one_term)) == set(names(counted)), (word, params)


async def test_publisher_facet_of_one_term_lists_every_publisher(seeded):
    page = await search(seeded, q="rows", publisher="keyvalue")

    # Choosing a publisher leaves the other publishers of the word in view.
    assert set(facet(page, "publisher")) > {"keyvalue"}
    assert all(item["namespace"] == "keyvalue" for item in page["items"])


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"category": "Database"}, {"Redis", "Valkey", "Postgres Operator"}),
        ({"product_type": "plugin"}, {"Grafana Dashboards"}),
        ({"certified": "true"}, {"Postgres Operator"}),
        ({"pricing": "paid"}, {"Nginx Proxy", "Postgres Operator"}),
        ({"publisher": "elephants"}, {"Postgres Operator", "Kafka Connect"}),
        ({"currency": "USD"}, {"Nginx Proxy", "Grafana Dashboards"}),
        ({"currency": "EUR", "pricing": "paid"}, {"Postgres Operator"}),
        ({"category": "Database", "pricing": "free"}, {"Redis", "Valkey"}),
    ],
)
async def test_filter(seeded, params, expected):
    page = await search(seeded, **params)

    assert set(names(page)) == expected
    assert page["total"] == len(expected)


async def test_unknown_category_rejected(seeded):
    response = await seeded.client.get("/search", params={"category": "Games"})

    assert response.status_code == 400
    assert response.json()["detail"].startswith("Unknown category 'Games'")


# Sorting and pages.


async def test_sort_by_pulls(seeded):
    page = await search(seeded, sort="pulls")

    assert names(page)[:3] == ["Nginx Proxy", "Redis", "Postgres Operator"]


async def test_sort_newest_by_default(seeded):
    page = await search(seeded)

    assert names(page)[0] == "Kafka Connect"
    assert names(page)[-1] == "Redis"


async def test_sort_by_price_within_currency(seeded):
    ascending = await search(seeded, sort="price_asc")
    descending = await search(seeded, sort="price_desc")

    # Euros come first, each currency from its lowest price up. So the free listing in
    # dollars follows the paid one in euros: dollar prices are not compared with euro prices.
    assert [item["currency"] for item in ascending["items"]] == ["EUR"] * 5 + ["USD"] * 2
    assert names(ascending)[-3:] == ["Postgres Operator", "Grafana Dashboards", "Nginx Proxy"]
    assert [item["currency"] for item in descending["items"]] == ["USD"] * 2 + ["EUR"] * 5
    assert names(descending)[:3] == ["Nginx Proxy", "Grafana Dashboards", "Postgres Operator"]


async def test_currency_filter_keeps_other_counts(seeded):
    page = await search(seeded, currency="USD", sort="price_asc")

    assert names(page) == ["Grafana Dashboards", "Nginx Proxy"]
    assert page["total"] == 2
    assert facet(page, "currency") == {"EUR": 5, "USD": 2}
    assert facet(page, "pricing") == {"free": 1, "paid": 1}


async def test_currency_in_lower_case_accepted(seeded):
    page = await search(seeded, currency="usd")

    assert page["total"] == 2


@pytest.mark.parametrize("currency", ["EURO", "EUR\n", "€", "eu", "ｅｕｒ"])
async def test_invalid_currency_rejected(seeded, currency):
    response = await seeded.client.get("/search", params={"currency": currency})

    assert response.status_code == 400
    assert repr(currency) in response.json()["detail"]


@pytest.mark.parametrize("sort", ["relevance", "newest", "pulls", "price_asc", "price_desc"])
async def test_pages_cover_all_once(seeded, sort):
    query = {"q": "redis"} if sort == "relevance" else {}
    whole = names(await search(seeded, sort=sort, limit=50, **query))

    seen: list[str] = []
    cursor = None
    while True:
        params = {"sort": sort, "limit": 2, **query}
        if cursor:
            params["cursor"] = cursor
        page = await search(seeded, **params)
        seen += names(page)
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert seen == whole


async def test_invalid_cursor_rejected(seeded):
    response = await seeded.client.get("/search", params={"cursor": "not-a-cursor"})

    assert response.status_code == 400
    assert "Invalid cursor" in response.json()["detail"]


async def test_held_listing_marked_in_results(seeded):
    page = await search(seeded, q="kafka")
    product = page["items"][0]

    await deliver(
        seeded,
        "moderation.listing.held",
        {"product_id": product["id"], "organisation_id": str(uuid.uuid4()), "reason": "Critical finding"},
    )
    held = await search(seeded, q="kafka")
    await deliver(
        seeded,
        "moderation.hold.lifted",
        {"product_id": product["id"], "organisation_id": str(uuid.uuid4()), "reason": "Fixed"},
    )

    assert held["items"][0]["held"] is True


# Facet cache.


def test_facet_cache_reuses_counts_within_ttl():
    cache = FacetCache(ttl=60)
    counts = {"category": [FacetValue(value="Database", count=3)]}

    cache.put(("Database",), counts, 3)

    assert cache.get(("Database",)) == CachedFacets(counts, 3, stale=False)
    assert cache.get(("Storage",)) is None


def test_facet_cache_off_at_zero_ttl():
    cache = FacetCache(ttl=0)

    cache.put(("Database",), {}, 3)

    assert cache.get(("Database",)) is None


async def test_facet_cache_recounts_stale_once():
    cache = FacetCache(ttl=0.01)
    cache.put(("Database",), {}, 3)
    await asyncio.sleep(0.02)
    recounted = asyncio.Event()
    calls = []

    async def count():
        calls.append(1)
        await recounted.wait()
        return {}, 4

    stale = cache.get(("Database",))
    cache.recount(("Database",), count)
    cache.recount(("Database",), count)
    recounted.set()
    await asyncio.sleep(0)
    await asyncio.sleep(0)

    assert stale == CachedFacets({}, 3, stale=True)
    assert calls == [1]
    assert cache.get(("Database",)) == CachedFacets({}, 4, stale=False)


async def test_facet_cache_keeps_counts_on_failure():
    cache = FacetCache(ttl=0.01)
    cache.put(("Database",), {}, 3)
    await asyncio.sleep(0.02)

    async def count():
        raise ConnectionError("database down")

    cache.recount(("Database",), count)
    await asyncio.sleep(0)
    await asyncio.sleep(0)

    assert cache.get(("Database",)) == CachedFacets({}, 3, stale=True)


async def test_browse_recounts_stale_facets_from_the_database(seeded):
    cache = FacetCache(ttl=0.01)
    key = (None, None, None, None, None, None)
    cache.put(key, {}, 99)
    await asyncio.sleep(0.02)

    async with seeded.runtime.sessionmaker() as session:
        served = await search_listings(session, SearchQuery(), facet_cache=cache)
    for _ in range(100):
        if cache.get(key).total != 99:
            break
        await asyncio.sleep(0.05)

    assert served.total == 99  # the stale counts, served at once
    recounted = cache.get(key)
    assert recounted.total == 7
    assert {value.value: value.count for value in recounted.facets["pricing"]} == {"free": 5, "paid": 2}


def raw_cursor(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


# Cursors of the price sorts that the database would reject or that crash the JSON parser.
CRAFTED_PRICE_CURSORS = {
    "nested arrays": raw_cursor("[" * 20_000 + "]" * 20_000),
    "price beyond bigint": raw_cursor('["EUR", 9223372036854775808, "00000000-0000-0000-0000-000000000000"]'),
    "price below bigint": raw_cursor('["EUR", -9223372036854775809, "00000000-0000-0000-0000-000000000000"]'),
    "NUL in currency": raw_cursor('["E\\u0000R", 0, "00000000-0000-0000-0000-000000000000"]'),
    "lone surrogate in currency": raw_cursor('["\\ud800", 0, "00000000-0000-0000-0000-000000000000"]'),
    "overlong currency": raw_cursor('["' + "E" * 1000 + '", 0, "00000000-0000-0000-0000-000000000000"]'),
    "number for currency": raw_cursor('[5, 0, "00000000-0000-0000-0000-000000000000"]'),
    "two values": raw_cursor('[0, "00000000-0000-0000-0000-000000000000"]'),
}


@pytest.mark.parametrize("case", CRAFTED_PRICE_CURSORS)
async def test_crafted_price_cursor_rejected(seeded, case):
    cursor = CRAFTED_PRICE_CURSORS[case]

    response = await seeded.client.get("/search", params={"sort": "price_asc", "cursor": cursor})

    assert response.status_code == 400, response.text
    assert "Invalid cursor" in response.json()["detail"]
    assert cursor[:40] in response.json()["detail"]


async def test_non_finite_score_cursor_rejected(seeded):
    cursor = raw_cursor('[NaN, "00000000-0000-0000-0000-000000000000"]')

    response = await seeded.client.get("/search", params={"q": "redis", "cursor": cursor})

    assert response.status_code == 400, response.text
    assert "Invalid cursor" in response.json()["detail"]


@pytest.mark.parametrize(("name", "value"), [("q", "red\x00is"), ("q", "\x00"), ("publisher", "key\x00value")])
async def test_nul_in_words_or_publisher_rejected(seeded, name, value):
    response = await seeded.client.get("/search", params={name: value})

    assert response.status_code == 400, response.text
    assert f"Invalid {name} {value!r}" in response.json()["detail"]


async def test_invalid_utf8_in_words_accepted(seeded):
    # An invalid UTF-8 sequence in the query string is decoded as U+FFFD, never a lone surrogate.
    response = await seeded.client.get("/search?q=%ED%A0%80redis")

    assert response.status_code == 200, response.text
