import { useCallback, useEffect, useState, type FormEvent } from "react";
import { useParams } from "react-router-dom";
import { api, type Schemas } from "../../api/client";
import { fieldErrors, problemMessage, type Problem } from "../../api/problem";
import { ErrorBanner, Field, Loading } from "../../components/Field";
import { formatDateTime, PublisherNav, useOrganisation } from "./common";

type Webhook = Schemas["notifications.WebhookOut"];
type Created = Schemas["notifications.WebhookCreated"];
type Topic = Schemas["notifications.Topic"];
type Delivery = Schemas["notifications.MessageOut"];

// The topics a webhook accepts (notifications' `ORGANISATION_TOPICS`), with what each delivers.
const TOPICS: { value: Topic; label: string }[] = [
  { value: "scan_results", label: "Scan results: a scan completed or failed" },
  { value: "vulnerabilities", label: "Vulnerabilities: a new finding on one of your images" },
  { value: "sla", label: "Fix deadlines: an SLA case started or was breached" },
  { value: "review_decisions", label: "Review decisions: approved, changes requested or rejected" },
  { value: "reports", label: "Reports: a monthly report is ready" },
];

function SecretNotice({ created, onDismiss }: { created: Created; onDismiss: () => void }) {
  const [copied, setCopied] = useState(false);
  const copy = async () => {
    await navigator.clipboard?.writeText(created.secret);
    setCopied(true);
  };
  return (
    <div className="banner banner-success" role="status">
      <p>
        Webhook created for <code>{created.url}</code>. Its signing secret is shown only now: store it where your endpoint can read it.
      </p>
      <p className="secret">
        <label>
          Signing secret
          <input readOnly value={created.secret} onFocus={(event) => event.target.select()} size={Math.min(created.secret.length, 60)} />
        </label>
      </p>
      <div className="button-row">
        <button type="button" onClick={() => void copy()}>
          {copied ? "Copied" : "Copy secret"}
        </button>
        <button type="button" onClick={onDismiss}>
          I have stored it
        </button>
      </div>
      <p className="muted">
        Each call carries <code>Wharf-Signature: t=&lt;unix seconds&gt;,v1=&lt;hex&gt;</code>, where v1 is HMAC-SHA256 of <code>&lt;t&gt;.&lt;raw body&gt;</code>{" "}
        keyed with this secret.
      </p>
    </div>
  );
}

function CreateForm({ organisationId, onCreated }: { organisationId: string; onCreated: (created: Created) => Promise<void> }) {
  const [form, setForm] = useState<{ url: string; description: string; topics: Topic[] }>({ url: "", description: "", topics: ["scan_results", "sla"] });
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [banner, setBanner] = useState<string | null>(null);

  const toggle = (topic: Topic, on: boolean) =>
    setForm((current) => ({ ...current, topics: on ? [...current.topics, topic] : current.topics.filter((item) => item !== topic) }));

  const create = async (event: FormEvent) => {
    event.preventDefault();
    const { data, error } = await api.POST("/api/notifications/organisations/{organisation_id}/webhooks", {
      params: { path: { organisation_id: organisationId } },
      body: form,
    });
    if (!data) {
      const byField = fieldErrors(error as Problem);
      // Validation names a topic by its index ("topics.0"), so those errors go on the topic list.
      for (const key of Object.keys(byField)) if (key.startsWith("topics.")) byField.topics ??= byField[key];
      setErrors(byField);
      setBanner(Object.keys(byField).length ? null : problemMessage(error, "The webhook was not created"));
      return;
    }
    setErrors({});
    setBanner(null);
    setForm({ url: "", description: "", topics: form.topics });
    await onCreated(data);
  };

  return (
    <form onSubmit={create} aria-labelledby="webhook-heading" noValidate>
      <h2 id="webhook-heading">Add a webhook</h2>
      <ErrorBanner message={banner} />
      <Field label="URL" name="url" type="url" value={form.url} onChange={(event) => setForm({ ...form, url: event.target.value })} error={errors.url} hint="An HTTPS endpoint on a public address; it receives each event as a JSON POST." required />
      <Field label="Description" name="description" value={form.description} onChange={(event) => setForm({ ...form, description: event.target.value })} error={errors.description} hint="Optional, up to 200 characters." maxLength={200} />
      <fieldset aria-describedby={errors.topics ? "topics-error" : undefined} className={errors.topics ? "field-invalid" : undefined}>
        <legend>Events to send</legend>
        {TOPICS.map((topic) => (
          <label key={topic.value} className="checkbox-row">
            <input type="checkbox" name="topics" value={topic.value} checked={form.topics.includes(topic.value)} onChange={(event) => toggle(topic.value, event.target.checked)} />
            {topic.label}
          </label>
        ))}
        {errors.topics && (
          <small id="topics-error" className="error" role="alert">
            {errors.topics}
          </small>
        )}
      </fieldset>
      <button type="submit">Add webhook</button>
    </form>
  );
}

function Deliveries({ organisationId, webhookId }: { organisationId: string; webhookId: string }) {
  const [deliveries, setDeliveries] = useState<Delivery[] | null>(null);
  const [error, setError] = useState<string | null>(null);

  const load = useCallback(async () => {
    const { data, error } = await api.GET("/api/notifications/organisations/{organisation_id}/webhooks/{webhook_id}/deliveries", {
      params: { path: { organisation_id: organisationId, webhook_id: webhookId }, query: { limit: 50 } },
    });
    setDeliveries(data?.items ?? []);
    setError(data ? null : problemMessage(error, "The deliveries could not be loaded"));
  }, [organisationId, webhookId]);

  useEffect(() => {
    void load();
  }, [load]);

  if (deliveries === null) return <Loading what="deliveries" />;
  return (
    <div className="deliveries">
      <ErrorBanner message={error} />
      <button type="button" onClick={() => void load()}>
        Reload deliveries
      </button>
      {deliveries.length === 0 ? (
        <p>No calls yet.</p>
      ) : (
        <div className="table-scroll">
          <table>
            <caption className="visually-hidden">The latest 50 calls, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Event</th>
                <th scope="col">Status</th>
                <th scope="col">Attempts</th>
                <th scope="col">Queued</th>
                <th scope="col">Sent</th>
              </tr>
            </thead>
            <tbody>
              {deliveries.map((delivery) => (
                <tr key={delivery.id}>
                  <td>{delivery.event_type ?? delivery.kind}</td>
                  <td>
                    {delivery.status}
                    {delivery.last_error && <div className="muted">{delivery.last_error}</div>}
                  </td>
                  <td>{delivery.attempts}</td>
                  <td>{formatDateTime(delivery.created_at)}</td>
                  <td>{formatDateTime(delivery.sent_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}

function WebhookItem({ webhook, canEdit, onChanged }: { webhook: Webhook; canEdit: boolean; onChanged: () => Promise<void> }) {
  const { organisationId } = useParams();
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [showDeliveries, setShowDeliveries] = useState(false);
  const path = { organisation_id: organisationId!, webhook_id: webhook.id };

  const run = async (action: () => Promise<{ error?: unknown }>, failure: string, success: string | null) => {
    const { error } = await action();
    setError(error ? problemMessage(error, failure) : null);
    setNotice(error ? null : success);
    await onChanged();
  };

  const remove = () => {
    if (!window.confirm(`Delete the webhook for ${webhook.url}? Calls still queued for it are canceled.`)) return;
    void run(() => api.DELETE("/api/notifications/organisations/{organisation_id}/webhooks/{webhook_id}", { params: { path } }), "Deleting the webhook failed", null);
  };

  return (
    <li className="card">
      <h3>
        <code>{webhook.url}</code>
      </h3>
      {webhook.description && <p>{webhook.description}</p>}
      <p>
        {webhook.active ? (
          <span className="badge badge-owned">active</span>
        ) : (
          <span className="badge badge-warning">disabled{webhook.disabled_reason ? `: ${webhook.disabled_reason}` : ""}</span>
        )}{" "}
        <span className="muted">
          {webhook.consecutive_failures} failed calls in a row · created {formatDateTime(webhook.created_at)}
        </span>
      </p>
      <p>Events: {webhook.topics.map((topic) => TOPICS.find((item) => item.value === topic)?.label.split(":")[0] ?? topic).join(", ")}</p>
      <ErrorBanner message={error} />
      {notice && <p role="status">{notice}</p>}
      <div className="button-row">
        <button type="button" aria-expanded={showDeliveries} onClick={() => setShowDeliveries(!showDeliveries)}>
          {showDeliveries ? "Hide deliveries" : "Show deliveries"}
        </button>
        {canEdit && (
          <>
            <button
              type="button"
              onClick={() =>
                void run(
                  () => api.POST("/api/notifications/organisations/{organisation_id}/webhooks/{webhook_id}/ping", { params: { path } }),
                  "The test call was not queued",
                  "A signed test call is queued; it appears under the deliveries.",
                )
              }
            >
              Send a test call
            </button>
            {!webhook.active && (
              <button
                type="button"
                onClick={() =>
                  void run(
                    () => api.PATCH("/api/notifications/organisations/{organisation_id}/webhooks/{webhook_id}", { params: { path }, body: { active: true } }),
                    "Enabling the webhook failed",
                    "The webhook is enabled again.",
                  )
                }
              >
                Enable again
              </button>
            )}
            <button type="button" className="danger" onClick={remove}>
              Delete<span className="visually-hidden"> the webhook for {webhook.url}</span>
            </button>
          </>
        )}
      </div>
      {showDeliveries && <Deliveries organisationId={organisationId!} webhookId={webhook.id} />}
    </li>
  );
}

/** Render the organisation's webhooks: create (the signing secret is shown once), test, enable, delete, deliveries. */
export function WebhooksPage() {
  const { organisationId } = useParams();
  const { organisation } = useOrganisation(organisationId!);
  const [webhooks, setWebhooks] = useState<Webhook[] | null>(null);
  const [created, setCreated] = useState<Created | null>(null);
  const [banner, setBanner] = useState<string | null>(null);
  const canEdit = organisation?.role === "owner" || organisation?.role === "editor";

  const load = useCallback(async () => {
    const { data, error } = await api.GET("/api/notifications/organisations/{organisation_id}/webhooks", {
      params: { path: { organisation_id: organisationId! }, query: { limit: 100 } },
    });
    setWebhooks(data?.items ?? []);
    setBanner(data ? null : problemMessage(error, "The webhooks could not be loaded"));
  }, [organisationId]);

  useEffect(() => {
    void load();
  }, [load]);

  return (
    <section>
      <h1>{organisation ? `${organisation.display_name}: webhooks` : "Webhooks"}</h1>
      <PublisherNav organisationId={organisationId!} />
      <ErrorBanner message={banner} />
      {created && <SecretNotice created={created} onDismiss={() => setCreated(null)} />}
      {canEdit && (
        <CreateForm
          organisationId={organisationId!}
          onCreated={async (webhook) => {
            setCreated(webhook);
            await load();
          }}
        />
      )}
      <h2>Webhooks</h2>
      {webhooks === null ? (
        <Loading what="webhooks" />
      ) : webhooks.length === 0 ? (
        <p>No webhooks yet.</p>
      ) : (
        <ul className="cards webhooks">
          {webhooks.map((webhook) => (
            <WebhookItem key={webhook.id} webhook={webhook} canEdit={canEdit} onChanged={load} />
          ))}
        </ul>
      )}
    </section>
  );
}
