import { useEffect, useState, type FormEvent } from "react";
import { Link, useNavigate, useSearchParams } from "react-router-dom";
import { api, type Schemas } from "../api/client";
import { mediaSource } from "../api/media";
import { formatPrice, problemMessage } from "../api/problem";
import { ErrorBanner, Loading } from "../components/Field";

type SearchPage = Schemas["catalog.SearchPage"];
type Summary = Schemas["catalog.ListingSummary"];

// Query parameters the search page passes through to the catalog, in facet order.
const FILTERS = ["category", "product_type", "certified", "pricing", "currency", "publisher"] as const;
const FACET_TITLES: Record<string, string> = {
  category: "Category",
  product_type: "Type",
  certified: "Certification",
  pricing: "Pricing",
  currency: "Currency",
  publisher: "Publisher",
};
const SORTS = [
  ["relevance", "Relevance"],
  ["newest", "Newest"],
  ["pulls", "Most pulled"],
  ["price_asc", "Price: low to high"],
  ["price_desc", "Price: high to low"],
] as const;

function SearchBox({ initial = "" }: { initial?: string }) {
  const navigate = useNavigate();
  const [query, setQuery] = useState(initial);

  const submit = (event: FormEvent) => {
    event.preventDefault();
    navigate(`/search?q=${encodeURIComponent(query)}`);
  };

  return (
    <form role="search" onSubmit={submit} className="search-box">
      <label htmlFor="store-search" className="visually-hidden">
        Search the store
      </label>
      <input
        id="store-search"
        type="search"
        value={query}
        placeholder="Search images and plugins"
        onChange={(event) => setQuery(event.target.value)}
      />
      <button type="submit">Search</button>
    </form>
  );
}

/** Render one listing in a list of cards, titled by a `Heading` one level below the heading above the list. */
function ListingCard({ item, Heading }: { item: Summary; Heading: "h2" | "h3" }) {
  return (
    <li className="card">
      {item.logo_url ? <img src={mediaSource(item.logo_url)} alt="" width={48} height={48} /> : <span className="logo-placeholder" />}
      <div>
        <Heading className="card-title">
          <Link to={`/store/${item.namespace}/${item.slug}`}>{item.name}</Link>
        </Heading>
        <p className="muted">
          {item.publisher_name} · {item.product_type} · {item.pull_count} {item.pull_count === 1 ? "pull" : "pulls"}
        </p>
        <p>{item.short_description}</p>
        <p className="badges">
          {item.certified && <span className="badge badge-certified">Certified</span>}
          {item.held && <span className="badge badge-warning">Security hold</span>}
          <span className="badge">{item.is_free ? "Free" : `From ${formatPrice(item.min_price, item.currency)}`}</span>
        </p>
      </div>
    </li>
  );
}

export function HomePage() {
  const [page, setPage] = useState<SearchPage | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    api.GET("/api/catalog/search", { params: { query: { certified: true, sort: "pulls", limit: 6 } } }).then(({ data, error }) => {
      if (data) setPage(data);
      else setError(problemMessage(error, "The store is unavailable"));
    });
  }, []);

  return (
    <section>
      <h1>Find trusted container images</h1>
      <SearchBox />
      <ErrorBanner message={error} />
      {page && (
        <>
          <h2>Categories</h2>
          <ul className="chips">
            {(page.facets.category ?? []).map((facet) => (
              <li key={facet.value}>
                <Link to={`/search?category=${encodeURIComponent(facet.value)}`}>
                  {facet.value} ({facet.count})
                </Link>
              </li>
            ))}
          </ul>
          <h2>Featured certified products</h2>
          {page.items.length === 0 ? <p>No certified products yet.</p> : null}
          <ul className="cards">
            {page.items.map((item) => (
              <ListingCard key={item.id} item={item} Heading="h3" />
            ))}
          </ul>
        </>
      )}
    </section>
  );
}

// The catalog compares prices only within one currency, so a price sort groups by currency.
function isPriceSort(sort: string | null): boolean {
  return sort === "price_asc" || sort === "price_desc";
}

export function SearchPage() {
  const [params, setParams] = useSearchParams();
  const [page, setPage] = useState<SearchPage | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const key = params.toString();

  useEffect(() => {
    setLoading(true);
    const query: Record<string, string | number | boolean> = { limit: 20 };
    for (const [name, value] of params.entries()) query[name] = name === "certified" ? value === "true" : value;
    api.GET("/api/catalog/search", { params: { query } }).then(({ data, error }) => {
      setLoading(false);
      if (data) {
        setPage(data);
        setError(null);
      } else setError(problemMessage(error, "Search failed"));
    });
    // `key` stands for the whole query string.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key]);

  const update = (name: string, value: string | null) => {
    const next = new URLSearchParams(params);
    if (value === null || value === "") next.delete(name);
    else next.set(name, value);
    // A new filter starts again from the first page.
    if (name !== "cursor") next.delete("cursor");
    setParams(next);
  };

  return (
    <section className="search-layout">
      <div className="search-header">
        <h1>Search</h1>
        <SearchBox key={params.get("q") ?? ""} initial={params.get("q") ?? ""} />
        <label className="inline">
          <input
            type="checkbox"
            checked={params.get("certified") === "true"}
            onChange={(event) => update("certified", event.target.checked ? "true" : null)}
          />{" "}
          Certified only
        </label>
        <label className="inline">
          Sort by{" "}
          <select value={params.get("sort") ?? "relevance"} onChange={(event) => update("sort", event.target.value)}>
            {SORTS.map(([value, label]) => (
              <option key={value} value={value}>
                {label}
              </option>
            ))}
          </select>
        </label>
      </div>
      {page && isPriceSort(params.get("sort")) && !params.get("currency") && (page.facets.currency ?? []).length > 1 && (
        <p className="muted search-note" role="note">
          Prices are sorted within each currency. Choose a currency to compare every result.
        </p>
      )}
      <aside aria-label="Filters" className="facets">
        {page &&
          FILTERS.filter((name) => name !== "certified").map((name) => (
            <fieldset key={name}>
              <legend>{FACET_TITLES[name]}</legend>
              {(page.facets[name] ?? []).map((facet) => {
                const active = params.get(name) === facet.value;
                return (
                  <button
                    key={facet.value}
                    type="button"
                    className={active ? "facet facet-active" : "facet"}
                    aria-pressed={active}
                    onClick={() => update(name, active ? null : facet.value)}
                  >
                    {facet.value} <span className="muted">({facet.count})</span>
                  </button>
                );
              })}
            </fieldset>
          ))}
      </aside>
      <div className="results" aria-live="polite">
        <ErrorBanner message={error} />
        {loading && <Loading what="results" />}
        {page && !loading && (
          <>
            {page.corrected_query && (
              <p>
                No listing matched your words. Showing results for <strong>{page.corrected_query}</strong>.
              </p>
            )}
            <p className="muted">{page.total} {page.total === 1 ? "result" : "results"}</p>
            <ul className="cards">
              {page.items.map((item) => (
                <ListingCard key={item.id} item={item} Heading="h2" />
              ))}
            </ul>
            {page.next_cursor && (
              <button type="button" onClick={() => update("cursor", page.next_cursor ?? null)}>
                Next page
              </button>
            )}
          </>
        )}
      </div>
    </section>
  );
}
