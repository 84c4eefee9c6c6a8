import { useCallback, useEffect, useRef, useState, type FormEvent } from "react";
import { Link, useNavigate, useParams } from "react-router-dom";
import { api, type Schemas } from "../api/client";
import { uploadImage } from "../api/media";
import { fieldErrors, problemMessage, type Problem } from "../api/problem";
import { useSession } from "../auth/session";
import { CaseView } from "../components/CaseView";
import { ErrorBanner, Field, Loading } from "../components/Field";
import { MediaImage } from "../components/MediaImage";
import { ManifestEditor } from "./ManifestEditor";
import { PublisherNav, useOrganisation } from "./publisher/common";

// The labels of the profile's fields, for the list of items still missing.
const PROFILE_ITEMS: Record<string, string> = {
  legal_name: "legal entity name",
  website: "website",
  phone: "phone",
  email: "email",
  logo_media_id: "logo",
  story: "company story",
};

type Organisation = Schemas["identity.OrganisationOut"];
type Profile = Schemas["catalog.ProfileOut"];
type ProductSummary = Schemas["catalog.ProductSummary"];

// The catalog requires a square logo of at least this many pixels a side
// (WHARF_CATALOG_MIN_LOGO_SIDE, 512 by default); the form checks before uploading.
export const MIN_LOGO_SIDE = 512;

function imageSide(file: File): Promise<{ width: number; height: number }> {
  return new Promise((resolve, reject) => {
    const image = new Image();
    image.onload = () => resolve({ width: image.naturalWidth, height: image.naturalHeight });
    image.onerror = () => reject(new Error(`${file.name} is not a PNG or JPEG image`));
    image.src = URL.createObjectURL(file);
  });
}

export function PublisherHomePage() {
  const { refresh } = useSession();
  const [organisations, setOrganisations] = useState<Organisation[] | null>(null);
  const [form, setForm] = useState({ namespace: "", display_name: "" });
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [banner, setBanner] = useState<string | null>(null);

  const load = useCallback(async () => {
    const { data } = await api.GET("/api/identity/organisations", { params: { query: { limit: 100 } } });
    setOrganisations(data?.items ?? []);
  }, []);

  useEffect(() => {
    void load();
  }, [load]);

  const create = async (event: FormEvent) => {
    event.preventDefault();
    const { data, error } = await api.POST("/api/identity/organisations", { body: form });
    if (!data) {
      setErrors(fieldErrors(error as Problem));
      setBanner(problemMessage(error, "Creating the organisation failed"));
      return;
    }
    setErrors({});
    setBanner(null);
    setForm({ namespace: "", display_name: "" });
    // Access tokens carry the memberships, so a new one is needed for the new organisation.
    await refresh();
    await load();
  };

  return (
    <section>
      <h1>Publisher portal</h1>
      {organisations === null ? (
        <Loading what="organisations" />
      ) : (
        <ul>
          {organisations.map((organisation) => (
            <li key={organisation.id}>
              <Link to={`/publisher/${organisation.id}`}>{organisation.display_name}</Link> ({organisation.namespace},{" "}
              {organisation.role})
            </li>
          ))}
        </ul>
      )}
      <h2>Create an organisation</h2>
      <form onSubmit={create}>
        <ErrorBanner message={banner} />
        <Field label="Namespace" name="namespace" value={form.namespace} onChange={(event) => setForm({ ...form, namespace: event.target.value })} error={errors.namespace} hint="Used in image names: staging/<namespace>/<repository>." required />
        <Field label="Display name" name="org_display_name" value={form.display_name} onChange={(event) => setForm({ ...form, display_name: event.target.value })} error={errors.display_name} required />
        <button type="submit">Create organisation</button>
      </form>
    </section>
  );
}

function ProfileForm({ organisationId }: { organisationId: string }) {
  const [profile, setProfile] = useState<Profile | null>(null);
  const [form, setForm] = useState({ legal_name: "", website: "", phone: "", email: "", story: "", logo_media_id: "" });
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [banner, setBanner] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);
  const [uploading, setUploading] = useState(false);
  // The form appears only once the stored profile is loaded, so a late response never
  // overwrites what the user has started typing.
  const [loaded, setLoaded] = useState(false);

  useEffect(() => {
    api.GET("/api/catalog/organisations/{organisation_id}/profile", { params: { path: { organisation_id: organisationId } } }).then(({ data }) => {
      setLoaded(true);
      if (!data) return;
      setProfile(data);
      setForm({
        legal_name: data.legal_name ?? "",
        website: data.website ?? "",
        phone: data.phone ?? "",
        email: data.email ?? "",
        story: data.story ?? "",
        logo_media_id: data.logo_media_id ?? "",
      });
    });
  }, [organisationId]);

  const chooseLogo = async (file: File | undefined) => {
    if (!file) return;
    setErrors({ ...errors, logo_media_id: "" });
    const { width, height } = await imageSide(file).catch((error: Error) => {
      setErrors({ ...errors, logo_media_id: error.message });
      return { width: 0, height: 0 };
    });
    if (width === 0) return;
    if (width !== height || width < MIN_LOGO_SIDE) {
      setErrors({ ...errors, logo_media_id: `The logo is ${width}x${height}: it must be square and at least ${MIN_LOGO_SIDE}x${MIN_LOGO_SIDE} pixels` });
      return;
    }
    setUploading(true);
    const { data, error } = await uploadImage(organisationId, file);
    setUploading(false);
    if (data) setForm((current) => ({ ...current, logo_media_id: data.id }));
    else setErrors({ ...errors, logo_media_id: problemMessage(error, "The upload failed") });
  };

  const save = async (event: FormEvent) => {
    event.preventDefault();
    const body = Object.fromEntries(Object.entries(form).map(([key, value]) => [key, value.trim() === "" ? null : value]));
    const { data, error } = await api.PUT("/api/catalog/organisations/{organisation_id}/profile", {
      params: { path: { organisation_id: organisationId } },
      body,
    });
    setSaved(!!data);
    if (data) {
      setProfile(data);
      setErrors({});
      setBanner(null);
    } else {
      setErrors(fieldErrors(error as Problem));
      setBanner(problemMessage(error, "Saving the profile failed"));
    }
  };

  const set = (name: keyof typeof form) => (event: { target: { value: string } }) => setForm({ ...form, [name]: event.target.value });

  if (!loaded) return <Loading what="profile" />;

  return (
    <form onSubmit={save} aria-labelledby="profile-heading">
      <h2 id="profile-heading">Profile</h2>
      {profile && !profile.complete && (
        <p className="muted">Missing before the first submission: {profile.missing.map((item) => PROFILE_ITEMS[item] ?? item).join(", ")}</p>
      )}
      <ErrorBanner message={banner} />
      {saved && <p role="status">Profile saved.</p>}
      <Field label="Legal entity name" name="legal_name" value={form.legal_name} onChange={set("legal_name")} error={errors.legal_name} />
      <Field label="Website" name="website" type="url" value={form.website} onChange={set("website")} error={errors.website} />
      <Field label="Phone" name="phone" type="tel" value={form.phone} onChange={set("phone")} error={errors.phone} hint="With the country code, e.g. +44 20 7946 0958." />
      <Field label="Email" name="profile_email" type="email" value={form.email} onChange={set("email")} error={errors.email} />
      <Field label="Company story" name="story" multiline value={form.story} onChange={set("story")} error={errors.story} hint="Markdown." />
      <Field
        label="Logo"
        name="logo"
        type="file"
        accept="image/png,image/jpeg"
        onChange={(event) => void chooseLogo((event.target as HTMLInputElement).files?.[0])}
        error={errors.logo_media_id}
        hint={`PNG or JPEG, square, at least ${MIN_LOGO_SIDE}x${MIN_LOGO_SIDE} pixels.${form.logo_media_id ? " A logo is set." : ""}`}
      />
      {uploading && <p role="status">Uploading the logo…</p>}
      {profile?.logo_url && <MediaImage url={profile.logo_url} alt="Current logo" width={96} height={96} />}
      <button type="submit">Save profile</button>
    </form>
  );
}

export function OrganisationPage() {
  const { organisationId } = useParams();
  const { organisation } = useOrganisation(organisationId!);
  const [products, setProducts] = useState<ProductSummary[] | null>(null);

  useEffect(() => {
    api
      .GET("/api/catalog/organisations/{organisation_id}/products", { params: { path: { organisation_id: organisationId! }, query: { limit: 100 } } })
      .then(({ data }) => setProducts(data?.items ?? []));
  }, [organisationId]);

  return (
    <section>
      <h1>{organisation?.display_name ?? "Organisation"}</h1>
      <PublisherNav organisationId={organisationId!} />
      <h2>Products</h2>
      {products === null ? (
        <Loading what="products" />
      ) : (
        <ul>
          {products.map((product) => (
            <li key={product.id}>
              <Link to={`/publisher/${organisationId}/products/${product.id}`}>{product.name}</Link> ({product.status})
            </li>
          ))}
        </ul>
      )}
      <p>
        <Link to={`/publisher/${organisationId}/products/new`}>New product</Link>
      </p>
      <ProfileForm organisationId={organisationId!} />
    </section>
  );
}

export function NewProductPage() {
  const { organisationId } = useParams();
  const navigate = useNavigate();
  return (
    <section>
      <h1>New product</h1>
      <ManifestEditor organisationId={organisationId!} onSaved={(productId) => navigate(`/publisher/${organisationId}/products/${productId}`)} />
    </section>
  );
}

// Version states that change without the publisher: scans, review and promotion.
const WAITING_STATES = ["submitted", "in_review", "approved"];
// Version states that a reviewer's decision, or the promotion after it, leads to.
const DECIDED_STATES = ["approved", "changes_requested", "rejected", "published"];

/** Return the message for a withdrawal that found the version in `state` instead of waiting for review. */
export function withdrawConflictMessage(state: string): string {
  if (DECIDED_STATES.includes(state)) return `This version was already decided (${state.replace(/_/g, " ")}); reload to see the decision.`;
  if (state === "draft") return "This version was already withdrawn and is a draft again; reload to edit it.";
  return `This version is ${state.replace(/_/g, " ")} now, so it cannot be withdrawn; reload to see its state.`;
}

/** Render the withdraw button and the confirmation step that must follow it before the withdrawal. */
function WithdrawSubmission({ version, onWithdraw }: { version: string; onWithdraw: () => Promise<void> }) {
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const confirmButton = useRef<HTMLButtonElement>(null);
  const withdrawButton = useRef<HTMLButtonElement>(null);
  const wasConfirming = useRef(false);

  // Move focus into the question when it opens, and back to the button when it closes.
  useEffect(() => {
    if (confirming) confirmButton.current?.focus();
    else if (wasConfirming.current) withdrawButton.current?.focus();
    wasConfirming.current = confirming;
  }, [confirming]);

  if (!confirming) {
    return (
      <p>
        <button type="button" ref={withdrawButton} onClick={() => setConfirming(true)}>
          Withdraw submission
        </button>{" "}
        <span className="muted">returns this version to draft so you can edit it and submit it again.</span>
      </p>
    );
  }

  return (
    <div role="group" aria-labelledby="withdraw-question" className="card">
      <p id="withdraw-question">
        Withdraw version {version} from review? It returns to draft, and you need to submit it again for a new review.
      </p>
      <button
        type="button"
        ref={confirmButton}
        disabled={busy}
        onClick={async () => {
          setBusy(true);
          await onWithdraw();
          setBusy(false);
          setConfirming(false);
        }}
      >
        {busy ? "Withdrawing…" : "Yes, withdraw"}
      </button>{" "}
      <button type="button" disabled={busy} onClick={() => setConfirming(false)}>
        Cancel
      </button>
    </div>
  );
}

export function PublisherProductPage() {
  const { organisationId, productId } = useParams();
  const [version, setVersion] = useState<Schemas["catalog.VersionOut"] | null>(null);
  const [product, setProduct] = useState<ProductSummary | null>(null);
  const [caseId, setCaseId] = useState<string | null>(null);
  const [submitErrors, setSubmitErrors] = useState<Record<string, string>>({});
  const [banner, setBanner] = useState<string | null>(null);

  const load = useCallback(async () => {
    const versions = await api.GET("/api/catalog/products/{product_id}/versions", { params: { path: { product_id: productId! }, query: { limit: 1 } } });
    const latest = versions.data?.items[0];
    if (!latest) {
      setBanner(problemMessage(versions.error, "The product could not be loaded"));
      return;
    }
    const detail = await api.GET("/api/catalog/products/{product_id}/versions/{version_id}", { params: { path: { product_id: productId!, version_id: latest.id } } });
    setVersion(detail.data ?? null);

    const products = await api.GET("/api/catalog/organisations/{organisation_id}/products", { params: { path: { organisation_id: organisationId! }, query: { limit: 100 } } });
    setProduct(products.data?.items.find((item) => item.id === productId) ?? null);

    const cases = await api.GET("/api/moderation/cases", { params: { query: { organisation_id: organisationId!, limit: 100 } } });
    setCaseId(cases.data?.items.find((item) => item.product_id === productId)?.id ?? null);
  }, [organisationId, productId]);

  useEffect(() => {
    void load();
  }, [load]);

  // Poll while the version waits for the scans, the review or the promotion, so the state
  // moves without a reload.
  useEffect(() => {
    if (!version || !WAITING_STATES.includes(version.state)) return;
    const timer = window.setInterval(() => void load(), 3000);
    return () => window.clearInterval(timer);
  }, [version?.state, load]);

  const submit = async () => {
    if (!version) return;
    const { error } = await api.POST("/api/catalog/products/{product_id}/versions/{version_id}/submit", {
      params: { path: { product_id: productId!, version_id: version.id } },
    });
    if (error) {
      setSubmitErrors(fieldErrors(error as Problem));
      setBanner(problemMessage(error, "The submission failed"));
    } else {
      setSubmitErrors({});
      setBanner(null);
    }
    await load();
  };

  const withdraw = async () => {
    if (!version) return;
    const { error } = await api.POST("/api/catalog/products/{product_id}/versions/{version_id}/withdraw", {
      params: { path: { product_id: productId!, version_id: version.id } },
    });
    if (!error) setBanner(null);
    else if (typeof (error as Problem).current_state === "string") setBanner(withdrawConflictMessage((error as Problem).current_state as string));
    else setBanner(problemMessage(error, "The submission could not be withdrawn"));
    await load();
  };

  if (!version || !product) return banner ? <ErrorBanner message={banner} /> : <Loading what="product" />;
  const editable = version.state === "draft" || version.state === "changes_requested";
  // Before a decision, the publisher can take the submission back to fix it.
  const withdrawable = version.state === "submitted" || version.state === "in_review";

  return (
    <section>
      <h1>{product.name}</h1>
      <p>
        Version {version.version}: <strong data-testid="version-state">{version.state}</strong>
        {version.state_reason && ` (${version.state_reason})`} · listing {product.status}
        {product.status !== "unpublished" && (
          <>
            {" "}
            · <Link to={`/store/${product.namespace}/${product.slug}`}>store page</Link>
          </>
        )}
      </p>
      <p>
        <Link to={`/publisher/${organisationId}/scans?product=${productId}`}>Scan results of this product</Link>
      </p>
      <ErrorBanner message={banner} />
      {withdrawable && <WithdrawSubmission version={version.version} onWithdraw={withdraw} />}
      {editable && (
        <>
          <ManifestEditor
            organisationId={organisationId!}
            productId={productId}
            version={version}
            product={product}
            serverErrors={submitErrors}
            onSaved={() => void load()}
            submitForReview={{
              label: version.state === "changes_requested" ? "Resubmit for review" : "Submit for review",
              onSubmit: submit,
            }}
          />
        </>
      )}
      {/* A new version state means a new decision or round, so the case is read again. */}
      {caseId && <CaseView key={version.state} caseId={caseId} />}
    </section>
  );
}
