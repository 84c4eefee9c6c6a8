import { useCallback, useEffect, useState } from "react";
import { Link, useParams, useSearchParams } from "react-router-dom";
import { api, type Schemas } from "../api/client";
import { formatPrice, problemMessage } from "../api/problem";
import { useSession } from "../auth/session";
import { ErrorBanner, Loading } from "../components/Field";
import { MediaImage } from "../components/MediaImage";
import { ProductNotices } from "../components/ProductNotices";

type Listing = Schemas["catalog.ListingOut"];
type Tier = Schemas["catalog.TierOut"];

const PERIODS: Record<string, string> = { free: "", one_time: " once", monthly: " a month", yearly: " a year" };
// Reads of the listing, 2 seconds apart, while waiting for a bought tier's entitlement.
const ENTITLEMENT_POLLS = 30;

function PullCommand({ command }: { command: string }) {
  const [copied, setCopied] = useState(false);
  return (
    <div className="pull-command">
      <code data-testid="pull-command">{command}</code>
      <button
        type="button"
        onClick={async () => {
          await navigator.clipboard?.writeText(command);
          setCopied(true);
        }}
      >
        {copied ? "Copied" : "Copy"}
      </button>
    </div>
  );
}

/**
 * Load whether the signed-in user has accepted the listing's current licence version.
 * Licensing counts one acceptance of that version for the whole product, whichever tier
 * it was given for. Returns null while loading and false when signed out.
 */
function useLicenceAccepted(listing: Listing | null): [boolean | null, () => void] {
  const { me } = useSession();
  const [accepted, setAccepted] = useState<boolean | null>(null);
  const productId = listing?.id;
  const version = listing?.licence_version;

  useEffect(() => {
    setAccepted(null);
    if (!me || !productId || !version) {
      setAccepted(false);
      return;
    }
    let current = true;
    (async () => {
      let cursor: string | null = null;
      do {
        const { data }: { data?: Schemas["licensing.Page_LicenceAcceptanceRead_"] } = await api.GET("/api/licensing/licence-acceptances", {
          params: { query: { limit: 200, cursor } },
        });
        if (!data) break;
        if (data.items.some((item) => item.product_id === productId && item.licence_version === version)) {
          if (current) setAccepted(true);
          return;
        }
        cursor = data.next_cursor ?? null;
      } while (cursor);
      if (current) setAccepted(false);
    })();
    return () => {
      current = false;
    };
  }, [me?.id, productId, version]);

  return [accepted, () => setAccepted(true)];
}

interface TierCardProps {
  listing: Listing;
  tier: Tier;
  // Whether the user had accepted the current licence version before this visit.
  licenceAccepted: boolean;
  onChanged: () => void;
  onLicenceAccepted: () => void;
}

function TierCard({ listing, tier, licenceAccepted, onChanged, onLicenceAccepted }: TierCardProps) {
  const { me } = useSession();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [accepted, setAccepted] = useState(false);
  // Set once "Get it" has recorded the acceptance on this visit.
  const [acceptedNow, setAcceptedNow] = useState(false);
  const free = tier.price_amount === 0;
  const needsLicence = listing.licence_required && !!listing.licence_version;
  // For a free tier the acceptance is all that "Get it" records, so an accepted licence leaves nothing to do.
  const freeAndAccepted = free && needsLicence && (licenceAccepted || acceptedNow);

  const acceptLicence = async () => {
    const { error } = await api.POST("/api/licensing/products/{product_id}/licence-acceptances", {
      params: { path: { product_id: listing.id } },
      body: { licence_version: listing.licence_version ?? "1", tier_id: tier.id },
    });
    if (error) throw new Error(problemMessage(error, "Accepting the licence failed"));
  };

  const obtain = async () => {
    setBusy(true);
    setError(null);
    try {
      if (needsLicence) await acceptLicence();
      if (free) {
        if (needsLicence) {
          setAcceptedNow(true);
          onLicenceAccepted();
        }
        onChanged();
        return;
      }
      // Back to this page, with the bought tier in the address so the page waits for its entitlement.
      const back = `${window.location.origin}${window.location.pathname}`;
      const { data, error } = await api.POST("/api/billing/checkouts", {
        body: {
          tier_id: tier.id,
          success_url: `${back}?checkout=success&tier=${encodeURIComponent(tier.id)}`,
          cancel_url: `${back}?checkout=canceled`,
        },
      });
      if (!data) throw new Error(problemMessage(error, "Checkout failed"));
      // Stripe Checkout, or the billing sandbox's own page when no Stripe key is set.
      window.location.assign(data.url);
    } catch (caught) {
      setError((caught as Error).message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <li className="tier card" aria-label={`Tier ${tier.name}`}>
      <h3>{tier.name}</h3>
      <p className="price">
        {formatPrice(tier.price_amount, tier.currency)}
        {PERIODS[tier.billing_period] ?? ""}
      </p>
      <p>{tier.description}</p>
      {tier.owned && <p className="badge badge-owned">You own this tier</p>}
      {freeAndAccepted && !acceptedNow && <p className="badge badge-owned">Licence version {listing.licence_version} accepted</p>}
      {acceptedNow && (
        <p className="banner banner-success" role="status">
          Licence accepted: you can pull this tier now with the command below.
        </p>
      )}
      {tier.pull_command && <PullCommand command={tier.pull_command} />}
      <ErrorBanner message={error} />
      {free && !needsLicence && !tier.owned && (me || listing.access_policy === "everyone") && listing.status !== "revoked" && tier.pull_command && (
        // Nothing is bought or accepted for such a tier, so there is nothing to get.
        <p className="muted">Free, with no licence to accept: pull it with the command above.</p>
      )}
      {!tier.owned && !freeAndAccepted && !(free && !needsLicence) && me && listing.status !== "revoked" && (
        <>
          {needsLicence && (
            <label className="inline">
              <input type="checkbox" checked={accepted} onChange={(event) => setAccepted(event.target.checked)} /> I
              accept the <a href={listing.licence_url ?? "#"}>licence (version {listing.licence_version})</a>
            </label>
          )}
          <button type="button" disabled={busy || (needsLicence && !accepted)} onClick={obtain}>
            {busy ? "Working…" : free ? "Get it" : "Buy"}
          </button>
        </>
      )}
      {!me && (
        <p>
          <Link to="/login">Sign in</Link> to get this tier.
        </p>
      )}
    </li>
  );
}

export function ProductPage() {
  const { namespace, slug } = useParams();
  const [params] = useSearchParams();
  const { me } = useSession();
  const [listing, setListing] = useState<Listing | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [polls, setPolls] = useState(0);
  const [licenceAccepted, markLicenceAccepted] = useLicenceAccepted(listing);

  const load = useCallback(async () => {
    const { data, error } = await api.GET("/api/catalog/store/{namespace}/{slug}", {
      params: { path: { namespace: namespace!, slug: slug! } },
    });
    if (data) setListing(data);
    else setError(problemMessage(error, "The product could not be loaded"));
    // `me` changes which tiers are owned, so reload when the sign-in changes.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [namespace, slug, me?.id]);

  useEffect(() => {
    void load();
  }, [load]);

  // Back from a paid checkout: billing grants the entitlement through events, so the page
  // reads the listing again until the bought tier shows as owned, for at most a minute.
  const boughtTier = params.get("checkout") === "success" ? params.get("tier") : null;
  const awaitingEntitlement = !!me && !!listing && !!boughtTier && !listing.tiers.some((tier) => tier.id === boughtTier && tier.owned);
  const waitedTooLong = polls >= ENTITLEMENT_POLLS;
  useEffect(() => {
    if (!awaitingEntitlement || waitedTooLong) return;
    const timer = window.setTimeout(() => {
      setPolls((count) => count + 1);
      void load();
    }, 2000);
    return () => window.clearTimeout(timer);
  }, [awaitingEntitlement, waitedTooLong, polls, load]);

  if (error) return <ErrorBanner message={error} />;
  if (!listing) return <Loading what="product" />;

  return (
    <article className="product">
      {awaitingEntitlement && !waitedTooLong && (
        <p className="banner banner-success" role="status">
          Payment received. Your access to the tier is being set up…
        </p>
      )}
      {awaitingEntitlement && waitedTooLong && (
        <ErrorBanner message="The payment went through, but the tier is not yours yet. Reload the page in a few minutes." />
      )}
      {params.get("checkout") === "canceled" && <p role="status">The checkout was canceled, and nothing was charged.</p>}
      {listing.warning && (
        <div className="banner banner-warning" role="alert" data-testid="warning-label">
          <strong>Security hold:</strong> {listing.warning.reason ?? "A security deadline was missed."}
          {listing.warning.since && <> Since {new Date(listing.warning.since).toLocaleDateString()}.</>}
        </div>
      )}
      <header className="product-header">
        {listing.logo_url && <MediaImage url={listing.logo_url} alt={`${listing.name} logo`} width={96} height={96} />}
        <div>
          <h1>{listing.name}</h1>
          <p className="muted">
            by {listing.publisher.name} · {listing.product_type} · version {listing.version.version} · {listing.pull_count}{" "}
            pulls
          </p>
          <p className="badges">
            {listing.badges.map((badge) => (
              <span key={badge} className="badge badge-certified">
                {badge}
              </span>
            ))}
          </p>
          <p>{listing.short_description}</p>
        </div>
      </header>

      <section aria-labelledby="tiers-heading">
        <h2 id="tiers-heading">Tiers</h2>
        <ul className="cards tiers">
          {listing.tiers.map((tier) => (
            <TierCard
              key={tier.id}
              listing={listing}
              tier={tier}
              licenceAccepted={!!licenceAccepted}
              onChanged={load}
              onLicenceAccepted={markLicenceAccepted}
            />
          ))}
        </ul>
      </section>

      {me && <ProductNotices productId={listing.id} name={listing.name} />}

      {listing.screenshot_urls.length > 0 && (
        <section aria-labelledby="screenshots-heading">
          <h2 id="screenshots-heading">Screenshots</h2>
          {/* Focusable, so that keyboard users can scroll a row wider than the screen with the arrow keys. */}
          <div className="screenshots" role="group" aria-labelledby="screenshots-heading" tabIndex={0}>
            {listing.screenshot_urls.map((url, index) => (
              <MediaImage key={url} url={url} alt={`Screenshot ${index + 1} of ${listing.name}`} loading="lazy" />
            ))}
          </div>
        </section>
      )}

      <section aria-labelledby="about-heading">
        <h2 id="about-heading">About</h2>
        {/* The catalog renders Markdown and sanitises the HTML before storing it. */}
        <div dangerouslySetInnerHTML={{ __html: listing.long_description_html }} />
        <h2>Installation</h2>
        <div dangerouslySetInnerHTML={{ __html: listing.install_instructions_html }} />
      </section>

      {listing.support && (
        <section aria-labelledby="support-heading">
          <h2 id="support-heading">Support</h2>
          {listing.support.offered ? (
            <dl>
              {listing.support.url && (
                <>
                  <dt>Website</dt>
                  <dd>
                    <a href={listing.support.url}>{listing.support.url}</a>
                  </dd>
                </>
              )}
              {listing.support.email && (
                <>
                  <dt>Email</dt>
                  <dd>{listing.support.email}</dd>
                </>
              )}
              {listing.support.hours && (
                <>
                  <dt>Hours</dt>
                  <dd>{listing.support.hours}</dd>
                </>
              )}
              {listing.support.response_time && (
                <>
                  <dt>Response time (SLA)</dt>
                  <dd>{listing.support.response_time}</dd>
                </>
              )}
            </dl>
          ) : (
            <p>The publisher offers no support for this product.</p>
          )}
        </section>
      )}

      <section aria-labelledby="versions-heading">
        <h2 id="versions-heading">Version history</h2>
        <ul>
          {listing.versions.map((version) => (
            <li key={version.id}>
              {version.version} — {version.state}
              {version.published_at && `, published ${new Date(version.published_at).toLocaleDateString()}`}
            </li>
          ))}
        </ul>
      </section>
    </article>
  );
}
