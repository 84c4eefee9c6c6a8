import { useCallback, useEffect, useState } from "react";
import { Link, useParams } from "react-router-dom";
import { api, type Schemas } from "../../api/client";
import { problemMessage } from "../../api/problem";
import { ErrorBanner, Loading } from "../../components/Field";
import { formatDateTime, PublisherNav, shortDigest, useOrganisation, useProducts } from "./common";
import { FIX_HOURS, formatCountdown, millisecondsLeft, urgency } from "./countdown";
import { CLASS_LABELS } from "./findings";
import { collectPages } from "./paging";

type SlaCase = Schemas["moderation.SlaCaseOut"];

// The list is read again this often, so cases closed by a fix or a waiver drop out.
const RELOAD_MILLISECONDS = 60_000;

/** Return the current time, updated every second while the component is mounted. */
function useNow(): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = window.setInterval(() => setNow(Date.now()), 1000);
    return () => window.clearInterval(timer);
  }, []);
  return now;
}

function Countdown({ sla, fetchedAt }: { sla: SlaCase; fetchedAt: number }) {
  const now = useNow();
  const left = millisecondsLeft(sla, fetchedAt, now);
  const level = sla.state === "breached" ? "overdue" : urgency(left);
  // The ticking text is hidden from screen readers, which would announce every second.
  // They read the deadline itself instead.
  return (
    <span className={`countdown countdown-${level}`}>
      <time dateTime={sla.deadline} aria-hidden="true">
        {formatCountdown(left)}
      </time>
      <span className="visually-hidden">
        {left > 0 ? `Fix before ${formatDateTime(sla.deadline)}` : `Deadline passed on ${formatDateTime(sla.deadline)}`}
      </span>
    </span>
  );
}

/** Open and breached fix-deadline cases of the organisation, nearest deadline first. */
export function SlaCasesPage() {
  const { organisationId } = useParams();
  const { organisation } = useOrganisation(organisationId!);
  const products = useProducts(organisationId!);
  const [cases, setCases] = useState<SlaCase[] | null>(null);
  const [fetchedAt, setFetchedAt] = useState(0);
  const [banner, setBanner] = useState<string | null>(null);

  const load = useCallback(async () => {
    const result = await collectPages((cursor) =>
      api.GET("/api/moderation/sla-cases", { params: { query: { organisation_id: organisationId!, state: "active", cursor, limit: 200 } } }),
    );
    setFetchedAt(Date.now());
    setCases(result.items);
    setBanner(result.error ? problemMessage(result.error, "The fix deadlines could not be loaded") : null);
  }, [organisationId]);

  useEffect(() => {
    void load();
    const timer = window.setInterval(() => void load(), RELOAD_MILLISECONDS);
    return () => window.clearInterval(timer);
  }, [load]);

  const product = (productId: string) => products?.find((item) => item.id === productId);

  return (
    <section>
      <h1>{organisation ? `${organisation.display_name}: fix deadlines` : "Fix deadlines"}</h1>
      <PublisherNav organisationId={organisationId!} />
      <p>
        A Critical finding on a published image must be fixed within {FIX_HOURS.critical} hours, a Major one within {FIX_HOURS.major / 24} days.
        After the deadline the listing is held with a warning label, and a hold that lasts 30 days revokes it. Publish a version without the
        finding to close its case.
      </p>
      <ErrorBanner message={banner} />
      {cases === null ? (
        <Loading what="fix deadlines" />
      ) : cases.length === 0 ? (
        <p role="status">No open cases: no published image has an unfixed Critical or Major finding.</p>
      ) : (
        <div className="table-scroll">
          <table>
            <caption className="visually-hidden">Open cases, nearest deadline first</caption>
            <thead>
              <tr>
                <th scope="col">Time left</th>
                <th scope="col">Class</th>
                <th scope="col">Vulnerability</th>
                <th scope="col">Product and image</th>
                <th scope="col">Opened</th>
              </tr>
            </thead>
            <tbody>
              {cases.map((sla) => {
                const listing = product(sla.product_id);
                return (
                  <tr key={sla.id} className={sla.state === "breached" ? "row-breached" : undefined}>
                    <td>
                      <Countdown sla={sla} fetchedAt={fetchedAt} />
                      {sla.state === "breached" && <div className="badge badge-warning">breached: listing held</div>}
                    </td>
                    <td>{CLASS_LABELS[sla.finding_class] ?? sla.finding_class}</td>
                    <td>
                      {sla.vulnerability_id}
                      <div className="muted">in {sla.package}</div>
                    </td>
                    <td>
                      {listing ? <Link to={`/publisher/${organisationId}/products/${listing.id}`}>{listing.name}</Link> : sla.product_id}
                      <div>
                        <code className="muted">{shortDigest(sla.image_digest)}</code>
                      </div>
                    </td>
                    <td>{formatDateTime(sla.opened_at)}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
