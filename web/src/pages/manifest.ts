import type { Schemas } from "../api/client";

export type ProductCreate = Schemas["catalog.ProductCreate"];
export type TierIn = Schemas["catalog.TierIn"];

// The store's categories, in the order the catalog lists them. The catalog rejects any
// other value, and tests/web/test_api_client.py checks that both lists match.
export const CATEGORIES = [
  "Database",
  "Networking",
  "Business Software",
  "Security",
  "Monitoring",
  "Developer Tools",
  "Analytics",
  "Storage",
  "Messaging",
  "Operating Systems",
  "Base Images",
  "Application Frameworks",
  "Machine Learning",
  "Other",
] as const;

/** The manifest form's state: plain strings, so every input is controlled. */
export interface ManifestForm {
  name: string;
  product_type: "image" | "plugin";
  version: string;
  short_description: string;
  category: string;
  tags: string;
  long_description: string;
  install_instructions: string;
  logo_media_id: string;
  // Ids of uploaded images, in the order the store shows them.
  screenshots: string[];
  support_offered: boolean;
  support_url: string;
  support_email: string;
  support_hours: string;
  support_response_time: string;
  licence_url: string;
  licence_version: string;
  licence_required: boolean;
  access_policy: string;
  tiers: TierForm[];
}

export interface TierForm {
  id?: string | null;
  name: string;
  description: string;
  price: string;
  currency: string;
  billing_period: string;
  source: string;
}

// The catalog rejects a longer short description; the form counts down to it.
export const SHORT_DESCRIPTION_MAX = 140;

export function emptyTier(): TierForm {
  return { name: "", description: "", price: "0", currency: "EUR", billing_period: "free", source: "" };
}

export function emptyManifest(): ManifestForm {
  return {
    name: "",
    product_type: "image",
    version: "1.0.0",
    short_description: "",
    category: "",
    tags: "",
    long_description: "",
    install_instructions: "",
    logo_media_id: "",
    screenshots: [],
    support_offered: false,
    support_url: "",
    support_email: "",
    support_hours: "",
    support_response_time: "",
    licence_url: "",
    licence_version: "1",
    licence_required: false,
    access_policy: "everyone",
    tiers: [emptyTier()],
  };
}

const orNull = (value: string) => (value.trim() === "" ? null : value.trim());

/** Parse a price typed in major units ("199.00") into minor units (19900); NaN when invalid. */
export function parsePrice(text: string): number {
  const trimmed = text.trim();
  if (!/^\d+(\.\d{1,2})?$/.test(trimmed)) return Number.NaN;
  return Math.round(Number(trimmed) * 100);
}

/** Turn the form into the manifest fields the catalog accepts on create and update. */
export function manifestBody(form: ManifestForm): Omit<ProductCreate, "name" | "version" | "product_type"> {
  return {
    short_description: orNull(form.short_description),
    category: orNull(form.category),
    tags: form.tags
      .split(",")
      .map((tag) => tag.trim())
      .filter(Boolean),
    long_description: orNull(form.long_description),
    install_instructions: orNull(form.install_instructions),
    logo_media_id: orNull(form.logo_media_id),
    screenshots: form.screenshots,
    support: {
      offered: form.support_offered,
      url: orNull(form.support_url),
      email: orNull(form.support_email),
      hours: orNull(form.support_hours),
      response_time: orNull(form.support_response_time),
    },
    licence: { url: orNull(form.licence_url), version: form.licence_version.trim() || "1" },
    licence_required: form.licence_required,
    access_policy: orNull(form.access_policy),
    tiers: form.tiers.map((tier) => ({
      ...(tier.id ? { id: tier.id } : {}),
      name: tier.name,
      description: tier.description,
      // An invalid price is sent as -1, so the catalog names the field in its error.
      price_amount: Number.isNaN(parsePrice(tier.price)) ? -1 : parsePrice(tier.price),
      currency: tier.currency,
      billing_period: tier.billing_period,
      source: tier.source,
    })),
  };
}

/** Fill the form from a stored version's manifest (the object `GET .../versions/{id}` returns). */
export function formFromManifest(name: string, productType: string, version: string, manifest: Record<string, unknown>, tiers: Schemas["catalog.TierOut"][]): ManifestForm {
  const text = (key: string) => (typeof manifest[key] === "string" ? (manifest[key] as string) : "");
  const support = (manifest.support ?? {}) as Record<string, unknown>;
  const licence = (manifest.licence ?? {}) as Record<string, unknown>;
  const supportText = (key: string) => (typeof support[key] === "string" ? (support[key] as string) : "");

  return {
    name,
    product_type: productType === "plugin" ? "plugin" : "image",
    version,
    short_description: text("short_description"),
    category: text("category"),
    tags: Array.isArray(manifest.tags) ? (manifest.tags as string[]).join(", ") : "",
    long_description: text("long_description"),
    install_instructions: text("install_instructions"),
    logo_media_id: text("logo_media_id"),
    screenshots: Array.isArray(manifest.screenshots) ? (manifest.screenshots as string[]) : [],
    support_offered: support.offered === true,
    support_url: supportText("url"),
    support_email: supportText("email"),
    support_hours: supportText("hours"),
    support_response_time: supportText("response_time"),
    licence_url: typeof licence.url === "string" ? licence.url : "",
    licence_version: typeof licence.version === "string" ? licence.version : "1",
    licence_required: manifest.licence_required === true,
    access_policy: text("access_policy") || "everyone",
    tiers: tiers.map((tier) => ({
      id: tier.id,
      name: tier.name,
      description: tier.description,
      price: (tier.price_amount / 100).toFixed(2),
      currency: tier.currency,
      billing_period: tier.billing_period,
      source: tier.source ?? "",
    })),
  };
}
