import { useEffect, useId, useState, type FormEvent } from "react";
import { api, type Schemas } from "../api/client";
import { uploadImage } from "../api/media";
import { fieldErrors, problemMessage, type Problem } from "../api/problem";
import { ErrorBanner, Field } from "../components/Field";
import { SelectField } from "../components/SelectField";
import { CATEGORIES, emptyManifest, emptyTier, formFromManifest, manifestBody, parsePrice, SHORT_DESCRIPTION_MAX, type ManifestForm, type TierForm } from "./manifest";

interface Props {
  organisationId: string;
  productId?: string;
  version?: Schemas["catalog.VersionOut"];
  product?: Schemas["catalog.ProductSummary"];
  // Field errors of a failed submission, shown beside the fields they name.
  serverErrors?: Record<string, string>;
  onSaved: (productId: string) => void;
  // Adds a button that submits the version for review. The editor saves unsaved changes
  // first and submits only when that save succeeds, so what is submitted is what is shown.
  submitForReview?: { label: string; onSubmit: () => Promise<void> };
}

/** The product manifest: every item the catalog stores, with the server's errors per field. */
// A constant, so a missing prop keeps one identity and does not reset `edited` on every render.
const NO_ERRORS: Record<string, string> = {};

/** Return the errors whose field is not in `edited`. The error "tiers.0.name" belongs to the field "tiers". */
export function withoutEdited(errors: Record<string, string>, edited: ReadonlySet<string>): Record<string, string> {
  return Object.fromEntries(Object.entries(errors).filter(([field]) => !edited.has(field.split(/[.[]/)[0])));
}

/** Return true when `form` has changes that a save has not stored yet. */
export function hasUnsavedChanges(form: ManifestForm, savedForm: ManifestForm): boolean {
  return JSON.stringify(form) !== JSON.stringify(savedForm);
}

export function ManifestEditor({ organisationId, productId, version, product, serverErrors = NO_ERRORS, onSaved, submitForReview }: Props) {
  const [form, setForm] = useState<ManifestForm>(() =>
    version && product ? formFromManifest(product.name, product.product_type, version.version, version.manifest, version.tiers) : emptyManifest(),
  );
  // The form as the catalog last stored it: at load, then after each successful save.
  const [savedForm, setSavedForm] = useState<ManifestForm>(form);
  const [busy, setBusy] = useState(false);
  const unsavedHintId = useId();
  const [saveErrors, setSaveErrors] = useState<Record<string, string>>({});
  const [banner, setBanner] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);
  const [uploading, setUploading] = useState(false);
  const [uploadErrors, setUploadErrors] = useState<Record<string, string>>({});
  // Fields changed since the last errors arrived: their old errors no longer apply.
  const [edited, setEdited] = useState<ReadonlySet<string>>(new Set());
  useEffect(() => setEdited(new Set()), [serverErrors, saveErrors]);
  const errors = withoutEdited({ ...serverErrors, ...saveErrors, ...uploadErrors }, edited);
  const creating = !productId;

  const set = <K extends keyof ManifestForm>(name: K, value: ManifestForm[K]) => {
    setForm({ ...form, [name]: value });
    if (!edited.has(name)) setEdited(new Set(edited).add(name));
  };
  const text = (name: keyof ManifestForm) => (event: { target: { value: string } }) => set(name, event.target.value as never);
  const setTier = (index: number, changes: Partial<TierForm>) =>
    set("tiers", form.tiers.map((tier, position) => (position === index ? { ...tier, ...changes } : tier)));

  const unsaved = hasUnsavedChanges(form, savedForm);

  /** Store the form as it is now. Returns false, with the errors shown, when the catalog rejects it. */
  const persist = async (): Promise<boolean> => {
    setSaved(false);
    const sent = form;
    const manifest = manifestBody(sent);
    const result = creating
      ? await api.POST("/api/catalog/organisations/{organisation_id}/products", {
          params: { path: { organisation_id: organisationId } },
          body: { ...manifest, name: form.name, product_type: form.product_type, version: form.version },
        })
      : await api.PATCH("/api/catalog/products/{product_id}/versions/{version_id}", {
          params: { path: { product_id: productId!, version_id: version!.id } },
          body: manifest,
        });

    if (result.error) {
      setSaveErrors(fieldErrors(result.error as Problem));
      setBanner(problemMessage(result.error, "Saving the manifest failed"));
      return false;
    }
    setSaveErrors({});
    setBanner(null);
    setSaved(true);
    setSavedForm(sent);
    onSaved(creating ? (result.data as Schemas["catalog.ProductOut"]).id : productId!);
    return true;
  };

  const save = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    await persist();
    setBusy(false);
  };

  const saveAndSubmit = async () => {
    if (!submitForReview) return;
    setBusy(true);
    if (!unsaved || (await persist())) await submitForReview.onSubmit();
    setBusy(false);
  };

  // Upload the chosen images to the organisation's media; the manifest stores their ids.
  const upload = async (files: FileList | null, field: "logo_media_id" | "screenshots") => {
    if (!files?.length) return;
    setUploading(true);
    setUploadErrors({});
    const ids: string[] = [];
    for (const file of Array.from(files)) {
      const { data, error } = await uploadImage(organisationId, file);
      if (!data) {
        setUploadErrors({ [field]: problemMessage(error, `Uploading ${file.name} failed`) });
        break;
      }
      ids.push(data.id);
    }
    setUploading(false);
    if (ids.length === 0) return;
    setForm((current) =>
      field === "logo_media_id" ? { ...current, logo_media_id: ids[0] } : { ...current, screenshots: [...current.screenshots, ...ids] },
    );
  };

  const remaining = SHORT_DESCRIPTION_MAX - form.short_description.length;

  return (
    <form onSubmit={save} className="manifest" noValidate>
      <ErrorBanner message={banner} />
      {saved && <p role="status">Manifest saved.</p>}
      <fieldset disabled={!creating}>
        <legend>Product</legend>
        <Field label="Name" name="name" value={form.name} onChange={text("name")} error={errors.name} required />
        <label>
          Type{" "}
          <select value={form.product_type} onChange={(event) => set("product_type", event.target.value as ManifestForm["product_type"])}>
            <option value="image">Container image</option>
            <option value="plugin">Docker plugin</option>
          </select>
        </label>
        <Field label="Version" name="version" value={form.version} onChange={text("version")} error={errors.version} required />
      </fieldset>
      <fieldset>
        <legend>Listing</legend>
        <Field
          label="Short description"
          name="short_description"
          value={form.short_description}
          onChange={text("short_description")}
          error={errors.short_description}
          hint={<span className={remaining < 0 ? "over-limit" : undefined} aria-live="polite">{remaining} characters left</span>}
          required
        />
        <SelectField
          label="Category"
          name="category"
          options={[["", "Choose a category"], ...CATEGORIES.map((category) => [category, category] as const)]}
          value={form.category}
          onChange={text("category")}
          error={errors.category}
          required
        />
        <Field label="Tags" name="tags" value={form.tags} onChange={text("tags")} error={errors.tags} hint="Separated by commas." />
        <Field label="Long description" name="long_description" multiline value={form.long_description} onChange={text("long_description")} error={errors.long_description} hint="Markdown." required />
        <Field label="Installation instructions" name="install_instructions" multiline value={form.install_instructions} onChange={text("install_instructions")} error={errors.install_instructions} hint="Markdown." required />
        <Field
          label="Product logo"
          name="logo_media_id"
          type="file"
          accept="image/png,image/jpeg"
          onChange={(event) => void upload((event.target as HTMLInputElement).files, "logo_media_id")}
          error={errors.logo_media_id}
          hint={form.logo_media_id ? "A logo is set." : "PNG or JPEG."}
        />
        <Field
          label="Screenshots"
          name="screenshots"
          type="file"
          accept="image/png,image/jpeg"
          multiple
          onChange={(event) => void upload((event.target as HTMLInputElement).files, "screenshots")}
          error={errors.screenshots ?? errors["screenshots.0"]}
          hint={<span data-testid="screenshot-count">{form.screenshots.length} uploaded</span>}
        />
        {form.screenshots.length > 0 && (
          <button type="button" onClick={() => set("screenshots", [])}>
            Remove the screenshots
          </button>
        )}
        {uploading && <p role="status">Uploading…</p>}
      </fieldset>
      <fieldset>
        <legend>Support</legend>
        <label className="inline">
          <input type="checkbox" checked={form.support_offered} onChange={(event) => set("support_offered", event.target.checked)} /> Support offered
        </label>
        <Field label="Support website" name="support_url" type="url" value={form.support_url} onChange={text("support_url")} error={errors["support.url"]} />
        <Field label="Support email" name="support_email" type="email" value={form.support_email} onChange={text("support_email")} error={errors["support.email"]} />
        <Field label="Support hours" name="support_hours" value={form.support_hours} onChange={text("support_hours")} error={errors["support.hours"]} />
        <Field label="Response time (SLA)" name="support_response_time" value={form.support_response_time} onChange={text("support_response_time")} error={errors["support.response_time"]} />
      </fieldset>
      <fieldset>
        <legend>Licence and access</legend>
        <Field label="Licence URL" name="licence_url" type="url" value={form.licence_url} onChange={text("licence_url")} error={errors["licence.url"] ?? errors.licence} />
        <Field label="Licence version" name="licence_version" value={form.licence_version} onChange={text("licence_version")} error={errors["licence.version"]} />
        <label className="inline">
          <input type="checkbox" checked={form.licence_required} onChange={(event) => set("licence_required", event.target.checked)} /> Customers must accept the licence
        </label>
        <label>
          Who may pull{" "}
          <select value={form.access_policy} onChange={(event) => set("access_policy", event.target.value)}>
            <option value="everyone">Everyone, anonymous pulls too</option>
            <option value="logged_in">Signed-in users</option>
            <option value="purchasers">Purchasers of a tier</option>
          </select>
        </label>
        {errors.access_policy && <small className="error" role="alert">{errors.access_policy}</small>}
      </fieldset>
      <fieldset>
        <legend>Tiers</legend>
        {errors.tiers && <small className="error" role="alert">{errors.tiers}</small>}
        {form.tiers.map((tier, index) => (
          <div key={index} className="tier-editor" role="group" aria-label={`Tier ${index + 1}`}>
            <Field label={`Tier ${index + 1} name`} name={`tiers.${index}.name`} value={tier.name} onChange={(event) => setTier(index, { name: event.target.value })} error={errors[`tiers.${index}.name`]} />
            <Field label={`Tier ${index + 1} description`} name={`tiers.${index}.description`} value={tier.description} onChange={(event) => setTier(index, { description: event.target.value })} error={errors[`tiers.${index}.description`]} />
            <Field
              label={`Tier ${index + 1} price`}
              name={`tiers.${index}.price`}
              inputMode="decimal"
              value={tier.price}
              onChange={(event) => setTier(index, { price: event.target.value })}
              error={Number.isNaN(parsePrice(tier.price)) ? "Enter a price such as 0 or 199.00" : errors[`tiers.${index}.price_amount`]}
            />
            <Field label={`Tier ${index + 1} currency`} name={`tiers.${index}.currency`} value={tier.currency} maxLength={3} onChange={(event) => setTier(index, { currency: event.target.value.toUpperCase() })} error={errors[`tiers.${index}.currency`]} />
            <label>
              Tier {index + 1} billing{" "}
              <select value={tier.billing_period} onChange={(event) => setTier(index, { billing_period: event.target.value })}>
                <option value="free">Free</option>
                <option value="one_time">One-time</option>
                <option value="monthly">Monthly</option>
                <option value="yearly">Yearly</option>
              </select>
            </label>
            {errors[`tiers.${index}.billing_period`] && <small className="error" role="alert">{errors[`tiers.${index}.billing_period`]}</small>}
            <Field label={`Tier ${index + 1} staging image`} name={`tiers.${index}.source`} value={tier.source} placeholder="staging/<namespace>/<repository>:<tag>" onChange={(event) => setTier(index, { source: event.target.value })} error={errors[`tiers.${index}.source`]} />
            {form.tiers.length > 1 && (
              <button type="button" onClick={() => set("tiers", form.tiers.filter((_, position) => position !== index))}>
                Remove tier {index + 1}
              </button>
            )}
          </div>
        ))}
        <button type="button" onClick={() => set("tiers", [...form.tiers, emptyTier()])}>
          Add a tier
        </button>
      </fieldset>
      <div className="form-actions">
        <button type="submit" disabled={busy || uploading}>
          {creating ? "Create product" : "Save manifest"}
        </button>
        {submitForReview && (
          <button type="button" className="primary" disabled={busy || uploading} onClick={saveAndSubmit} aria-describedby={unsaved ? unsavedHintId : undefined}>
            {submitForReview.label}
          </button>
        )}
        {submitForReview && unsaved && (
          <p id={unsavedHintId} className="hint">
            You have unsaved changes. Submitting saves them first, and submits only if they are valid.
          </p>
        )}
      </div>
    </form>
  );
}
