import { useCallback, useEffect, useState, type FormEvent } from "react";
import { useParams } from "react-router-dom";
import { api, type Schemas } from "../../api/client";
import { fieldErrors, problemMessage, type Problem } from "../../api/problem";
import { ErrorBanner, Field, Loading } from "../../components/Field";
import { SelectField } from "../../components/SelectField";
import { formatDateTime, PublisherNav, useOrganisation, useProducts } from "./common";

type Certification = Schemas["moderation.CertificationOut"];
type Badge = Certification["badge"];

const BADGE_LABELS: Record<Badge, string> = {
  certified_container: "Certified container",
  certified_plugin: "Certified plugin",
};

/** Split "linux/amd64, linux/arm64" (commas, spaces or new lines) into platform names. */
function parsePlatforms(text: string): string[] {
  return [...new Set(text.split(/[\s,]+/).filter(Boolean))];
}

/** Certification requests and badges of the organisation's products, with a form to request one. */
export function CertificationsPage() {
  const { organisationId } = useParams();
  const { organisation } = useOrganisation(organisationId!);
  const products = useProducts(organisationId!);
  const [certifications, setCertifications] = useState<Certification[] | null>(null);
  const [form, setForm] = useState({ product_id: "", joint_support_attested: false, tested_platforms: "" });
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [banner, setBanner] = useState<string | null>(null);
  const [unmet, setUnmet] = useState<string[]>([]);
  const [requested, setRequested] = useState(false);
  const canRequest = organisation?.role === "owner" || organisation?.role === "editor";

  const published = (products ?? []).filter((product) => product.status !== "unpublished");
  const productId = form.product_id || published[0]?.id || "";
  const selected = published.find((product) => product.id === productId);
  const badge: Badge = selected?.product_type === "plugin" ? "certified_plugin" : "certified_container";

  const load = useCallback(async () => {
    const { data, error } = await api.GET("/api/moderation/certifications", { params: { query: { organisation_id: organisationId!, limit: 100 } } });
    setCertifications(data?.items ?? []);
    if (!data) setBanner(problemMessage(error, "The certifications could not be loaded"));
  }, [organisationId]);

  useEffect(() => {
    void load();
  }, [load]);

  const request = async (event: FormEvent) => {
    event.preventDefault();
    const { data, error } = await api.POST("/api/moderation/certifications", {
      body: {
        product_id: productId,
        badge,
        joint_support_attested: form.joint_support_attested,
        tested_platforms: parsePlatforms(form.tested_platforms),
      },
    });
    setRequested(!!data);
    if (!data) {
      const problem = error as Problem;
      const byField = fieldErrors(problem);
      setErrors(byField);
      setUnmet(Array.isArray(problem?.unmet) ? (problem.unmet as string[]) : []);
      setBanner(Array.isArray(problem?.unmet) || Object.keys(byField).length ? null : problemMessage(error, "The request was not recorded"));
      return;
    }
    setErrors({});
    setUnmet([]);
    setBanner(null);
    await load();
  };

  const productName = (id: string) => products?.find((product) => product.id === id)?.name ?? id;

  return (
    <section>
      <h1>{organisation ? `${organisation.display_name}: certification` : "Certification"}</h1>
      <PublisherNav organisationId={organisationId!} />
      <p>
        A certified badge needs a live listing whose images passed the best-practice checks and have no open Critical or Major finding, a
        support link with a response time, an attestation of joint support and the platforms the product was tested on. A reviewer grants it
        after checking again.
      </p>
      <ErrorBanner message={banner} />
      {canRequest && (
        <form onSubmit={request} aria-labelledby="certification-heading" noValidate>
          <h2 id="certification-heading">Request a badge</h2>
          {products === null ? (
            <Loading what="products" />
          ) : published.length === 0 ? (
            <p>None of your products is published yet; a badge needs a live listing.</p>
          ) : (
            <>
              {requested && (
                <p role="status" className="banner banner-success">
                  Request recorded. A reviewer checks the conditions again before granting the badge.
                </p>
              )}
              {unmet.length > 0 && (
                <div className="banner banner-warning" role="alert">
                  <p>The product does not meet these conditions yet:</p>
                  <ul>
                    {unmet.map((condition) => (
                      <li key={condition}>{condition}</li>
                    ))}
                  </ul>
                </div>
              )}
              <SelectField
                label="Product"
                name="product_id"
                value={productId}
                onChange={(event) => setForm({ ...form, product_id: event.target.value })}
                options={published.map((product) => [product.id, `${product.name} (${product.status})`] as const)}
                error={errors.product_id}
                hint={`Badge: ${BADGE_LABELS[badge]}, for a product of type ${selected?.product_type ?? "image"}.`}
              />
              <Field
                label="Tested platforms"
                name="tested_platforms"
                value={form.tested_platforms}
                onChange={(event) => setForm({ ...form, tested_platforms: event.target.value })}
                error={errors.tested_platforms}
                hint="Separated by commas or spaces, e.g. linux/amd64, linux/arm64."
              />
              <div className={errors.joint_support_attested ? "field field-invalid" : "field"}>
                <label className="inline">
                  <input
                    type="checkbox"
                    name="joint_support_attested"
                    checked={form.joint_support_attested}
                    onChange={(event) => setForm({ ...form, joint_support_attested: event.target.checked })}
                  />
                  We offer joint support with the store for this product
                </label>
                {errors.joint_support_attested && (
                  <small className="error" role="alert">
                    {errors.joint_support_attested}
                  </small>
                )}
              </div>
              <button type="submit">Request certification</button>
            </>
          )}
        </form>
      )}
      <h2>Requests and badges</h2>
      {certifications === null ? (
        <Loading what="certifications" />
      ) : certifications.length === 0 ? (
        <p>No requests yet.</p>
      ) : (
        <div className="table-scroll">
          <table>
            <caption className="visually-hidden">Certification requests and badges, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Product</th>
                <th scope="col">Badge</th>
                <th scope="col">Status</th>
                <th scope="col">Requested</th>
                <th scope="col">Note</th>
              </tr>
            </thead>
            <tbody>
              {certifications.map((certification) => (
                <tr key={certification.id}>
                  <td>{productName(certification.product_id)}</td>
                  <td>{BADGE_LABELS[certification.badge]}</td>
                  <td>
                    <span className={`status status-${certification.state}`}>{certification.state}</span>
                    {certification.granted_at && <div className="muted">granted {formatDateTime(certification.granted_at)}</div>}
                    {certification.withdrawn_at && <div className="muted">withdrawn {formatDateTime(certification.withdrawn_at)}</div>}
                  </td>
                  <td>
                    {formatDateTime(certification.requested_at)}
                    <div className="muted">platforms: {certification.tested_platforms.join(", ") || "—"}</div>
                  </td>
                  <td>{certification.withdrawn_reason ?? certification.note ?? "—"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
