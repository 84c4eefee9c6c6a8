import { useCallback, useEffect, useMemo, useState } from "react";
import { Link, useParams, useSearchParams } from "react-router-dom";
import { api, type Schemas } from "../api/client";
import { problemMessage } from "../api/problem";
import { hasStaffRole, isStaff } from "../auth/roles";
import { useSession } from "../auth/session";
import { CaseView } from "../components/CaseView";
import { ErrorBanner, Field, Loading } from "../components/Field";
import { LoadMore } from "../components/Paging";
import { SelectField } from "../components/SelectField";
import { formatDateTime } from "../lib/datetime";
import { usePagedList } from "../lib/paging";
import { useUserNames } from "../lib/userNames";
import { Decision } from "./review/Decision";
import { blockingChecklist, vulnerabilityKey, type Finding } from "./review/findings";
import { ImageReview } from "./review/ImageReview";
import { ManifestView } from "./review/Manifest";
import { ReviewNav } from "./review/ReviewNav";
import {
  CASE_STATES,
  isDefaultQueue,
  onlyStateFiltered,
  queueQuery,
  readQueueFilters,
  writeQueueFilters,
  type QueueFilters,
} from "./review/queueFilters";

type CaseSummary = Schemas["moderation.CaseSummary"];
type Case = Schemas["moderation.CaseDetail"];
type ChecklistFinding = Schemas["moderation.ChecklistFinding"];

const STATE_OPTIONS = [["any", "any state"] as const, ...CASE_STATES.map((state) => [state, state.replace(/_/g, " ")] as const)];
const TYPE_OPTIONS = [
  ["any", "images and plugins"],
  ["image", "images"],
  ["plugin", "plugins"],
] as const;
const CRITICAL_OPTIONS = [
  ["any", "with or without"],
  ["yes", "with Critical findings"],
  ["no", "without Critical findings"],
] as const;
const ASSIGNEE_OPTIONS = [
  ["any", "anyone or nobody"],
  ["me", "me"],
  ["none", "nobody"],
] as const;

function assigneeText(assigneeId: string | null | undefined, myId: string | undefined, names: Map<string, string>): string {
  if (!assigneeId) return "nobody";
  if (assigneeId === myId) return "you";
  return names.get(assigneeId) ?? "another reviewer";
}

export function ReviewQueuePage() {
  const { me } = useSession();
  const [params, setParams] = useSearchParams();
  const filters = useMemo(() => readQueueFilters(params), [params]);
  const query = useMemo(() => queueQuery(filters), [filters]);

  const fetchPage = useCallback(
    (cursor?: string) => api.GET("/api/moderation/cases", { params: { query: { ...query, cursor, limit: 50 } } }),
    [query],
  );
  const cases = usePagedList<CaseSummary>(fetchPage, "The queue could not be loaded");
  const names = useUserNames((cases.items ?? []).map((item) => item.assignee_id), isStaff(me));

  const change = (name: keyof QueueFilters) => (event: { target: { value: string } }) =>
    setParams(writeQueueFilters({ ...filters, [name]: event.target.value }), { replace: true });

  // The age is applied when the field loses focus or on Enter, not while a number is typed.
  const [age, setAge] = useState(filters.minAgeHours);
  useEffect(() => setAge(filters.minAgeHours), [filters.minAgeHours]);
  const applyAge = () => {
    if (age !== filters.minAgeHours) change("minAgeHours")({ target: { value: age } });
  };

  return (
    <section>
      <h1>Review queue</h1>
      <ReviewNav />
      <form
        className="filters"
        aria-label="Queue filters"
        onSubmit={(event) => {
          event.preventDefault();
          applyAge();
        }}
      >
        <SelectField label="State" options={STATE_OPTIONS} value={filters.state} onChange={change("state")} />
        <SelectField label="Product type" options={TYPE_OPTIONS} value={filters.productType} onChange={change("productType")} />
        <SelectField label="Critical findings" options={CRITICAL_OPTIONS} value={filters.critical} onChange={change("critical")} />
        <SelectField label="Assigned to" options={ASSIGNEE_OPTIONS} value={filters.assignee} onChange={change("assignee")} />
        <Field
          label="Waiting at least (hours)"
          name="min-age-hours"
          type="number"
          min={0}
          step="any"
          inputMode="decimal"
          value={age}
          onChange={(event) => setAge(event.target.value)}
          onBlur={applyAge}
          hint="Applied when you leave the field or press Enter."
        />
        {!isDefaultQueue(filters) && (
          <div className="button-row">
            <button type="button" onClick={() => setParams(new URLSearchParams(), { replace: true })}>
              Reset filters
            </button>
          </div>
        )}
      </form>
      <ErrorBanner message={cases.error} />
      {cases.items === null && !cases.error && <Loading what="cases" />}
      {cases.items?.length === 0 &&
        !cases.error &&
        (onlyStateFiltered(filters) ? <p>No cases in this state.</p> : <p>No cases match these filters.</p>)}
      {cases.items && cases.items.length > 0 && (
        <div className="table-scroll">
          <table className="queue">
            <caption className="visually-hidden">Review cases, oldest first</caption>
            <thead>
              <tr>
                <th scope="col">Product</th>
                <th scope="col">Type</th>
                <th scope="col">Version</th>
                <th scope="col">State</th>
                <th scope="col">Opened</th>
                <th scope="col">Assigned to</th>
              </tr>
            </thead>
            <tbody>
              {cases.items.map((item) => (
                <tr key={item.id}>
                  <td>
                    <Link to={`/review/cases/${item.id}`}>
                      {item.namespace}/{item.slug}
                    </Link>
                    {item.has_critical_findings && <span className="badge badge-warning">Critical findings</span>}
                  </td>
                  <td>{item.product_type}</td>
                  <td>
                    {item.version}, round {item.current_round}
                  </td>
                  <td>{item.state.replace(/_/g, " ")}</td>
                  <td>{formatDateTime(item.opened_at)}</td>
                  <td>{assigneeText(item.assignee_id, me?.id, names)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <LoadMore list={cases} noun="cases" />
    </section>
  );
}

function Assignment({ reviewCase, reload }: { reviewCase: Case; reload: () => void }) {
  const { me } = useSession();
  const [error, setError] = useState<string | null>(null);
  const mine = reviewCase.assignee_id === me?.id;
  const names = useUserNames([reviewCase.assignee_id], isStaff(me));

  const assign = async (reviewerId: string | null) => {
    const { error } = await api.PUT("/api/moderation/cases/{case_id}/assignee", {
      params: { path: { case_id: reviewCase.id } },
      body: { reviewer_id: reviewerId },
    });
    setError(error ? problemMessage(error, "The assignment was not saved") : null);
    reload();
  };

  if (!hasStaffRole(me, "reviewer")) return null;
  return (
    <div className="assignment">
      <p>
        Assigned to <strong>{assigneeText(reviewCase.assignee_id, me?.id, names)}</strong>.{" "}
        {!mine && (
          <button type="button" onClick={() => assign(me!.id)}>
            Assign to me
          </button>
        )}{" "}
        {reviewCase.assignee_id && (
          <button type="button" onClick={() => assign(null)}>
            Unassign
          </button>
        )}
      </p>
      <ErrorBanner message={error} />
    </div>
  );
}

/** Render the reviewer's part of a case page: decision, manifest, images with findings and checks. */
function StaffCasePanel({ reviewCase, reload }: { reviewCase: Case; reload: () => void }) {
  const { me } = useSession();
  const [selected, setSelected] = useState<Map<string, ChecklistFinding>>(() => blockingChecklist(reviewCase.blockers));
  const round = reviewCase.rounds.find((item) => item.number === reviewCase.current_round) ?? reviewCase.rounds.at(-1);
  const editable = reviewCase.state === "in_review" && !round?.decision;

  const select = (finding: Finding, ticked: boolean) => {
    const next = new Map(selected);
    const key = vulnerabilityKey(finding);
    if (ticked) next.set(key, { image_digest: finding.image_digest, vulnerability_id: finding.vulnerability_id });
    else next.delete(key);
    setSelected(next);
  };

  return (
    <div className="staff-case">
      <nav aria-label="Case sections" className="sub-nav">
        <a href="#decision">Decision</a>
        <a href="#manifest">Manifest</a>
        <a href="#images">Images, findings and checks</a>
        <a href="#thread">Thread</a>
        <Link to={`/review/certifications?product=${reviewCase.product_id}&state=any`}>Certification of this product</Link>
      </nav>
      <Assignment reviewCase={reviewCase} reload={reload} />
      <section id="decision" aria-labelledby="decision-heading">
        <h3 id="decision-heading">Decision</h3>
        {hasStaffRole(me, "reviewer") ? (
          <Decision
            reviewCase={reviewCase}
            checklist={[...selected.values()]}
            onDecided={() => {
              setSelected(new Map());
              reload();
            }}
          />
        ) : (
          <p>Decisions need the reviewer role.</p>
        )}
      </section>
      {round && (
        <>
          <section id="manifest" aria-labelledby="manifest-heading">
            <h3 id="manifest-heading">Manifest of round {round.number}</h3>
            <p>
              Submitted {formatDateTime(round.submitted_at)}. Publisher profile{" "}
              {round.profile_complete ? "complete" : <strong>incomplete</strong>}.
            </p>
            <ManifestView manifest={round.manifest} />
          </section>
          <section id="images" aria-labelledby="images-heading">
            <h3 id="images-heading">Images of round {round.number}</h3>
            {round.images.map((image) => (
              <ImageReview
                key={image.tier_id}
                caseId={reviewCase.id}
                image={image}
                editable={editable}
                canWaive={hasStaffRole(me, "reviewer", "security")}
                canClassify={hasStaffRole(me, "security")}
                selected={new Set(selected.keys())}
                onSelect={select}
                onChanged={reload}
              />
            ))}
          </section>
        </>
      )}
    </div>
  );
}

export function ReviewCasePage() {
  const { caseId } = useParams();
  return (
    <>
      <h1>Review case</h1>
      <p>
        <Link to="/review">Back to the queue</Link>
      </p>
      <CaseView caseId={caseId!} actions={(reviewCase, reload) => <StaffCasePanel reviewCase={reviewCase} reload={reload} />} />
    </>
  );
}
