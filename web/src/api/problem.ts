/** An RFC 9457 problem body as every Wharf service returns it. */
export interface Problem {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
  errors?: { field: string; message: string }[];
  // Some services name a single field at fault instead of listing `errors`.
  field?: string;
  [extra: string]: unknown;
}

// FastAPI's request validation names fields by location ("body.tiers.0.price"), while
// domain rules name them from the body ("tiers.0.price"); forms use the second form.
const LOCATIONS = ["body.", "query.", "path."];

export function fieldName(field: string): string {
  const location = LOCATIONS.find((prefix) => field.startsWith(prefix));
  return location ? field.slice(location.length) : field;
}

/** Map each field a problem names to its first message. */
export function fieldErrors(problem: Problem | undefined | null): Record<string, string> {
  const errors: Record<string, string> = {};
  for (const error of problem?.errors ?? []) {
    const name = fieldName(error.field);
    errors[name] ??= error.message;
  }
  if (problem?.field && problem.detail) errors[fieldName(problem.field)] ??= problem.detail;
  return errors;
}

/** One line for a banner: the detail, else the title, else the status. */
export function problemMessage(problem: unknown, fallback = "The request failed"): string {
  if (problem && typeof problem === "object") {
    const body = problem as Problem;
    if (body.detail) return body.detail;
    if (body.title) return body.title;
    if (body.status) return `${fallback} (HTTP ${body.status})`;
  }
  return fallback;
}

/** Price in minor units as the store shows it, e.g. 19900 EUR -> "€199.00". */
export function formatPrice(amount: number, currency: string): string {
  if (amount === 0) return "Free";
  try {
    return new Intl.NumberFormat("en", { style: "currency", currency }).format(amount / 100);
  } catch {
    return `${(amount / 100).toFixed(2)} ${currency}`;
  }
}
