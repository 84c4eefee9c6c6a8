import type { Schemas } from "../api/client";

export type Subscription = Schemas["notifications.SubscriptionOut"];
export type Topic = Schemas["notifications.Topic"];

/** Customer topics, per product; off until the customer subscribes. */
export const PRODUCT_TOPICS: Topic[] = ["updates", "security"];
/** Publisher topics, per organisation; on for every member from joining. */
export const ORGANISATION_TOPICS: Topic[] = ["scan_results", "vulnerabilities", "sla", "review_decisions", "reports"];

export const TOPIC_LABELS: Record<Topic, string> = {
  updates: "New versions",
  security: "Security notices",
  scan_results: "Scan results",
  vulnerabilities: "New vulnerabilities",
  sla: "Fix deadlines",
  review_decisions: "Review decisions",
  reports: "Monthly reports",
};

/** Return whether a topic is on for a product or organisation. No subscription row means off. */
export function isSubscribed(subscriptions: Subscription[], topic: Topic, scopeId: string): boolean {
  return subscriptions.some((item) => item.topic === topic && item.scope_id === scopeId && item.active);
}

/**
 * Return the products to offer notices for: those with a subscription row, then the
 * others the customer uses (entitlements, licences), each once.
 */
export function productScopes(subscriptions: Subscription[], used: string[]): string[] {
  const subscribed = subscriptions.filter((item) => item.scope === "product").map((item) => item.scope_id);
  return [...new Set([...subscribed, ...used])];
}

/**
 * Return the subscription list after a change: the server's row when it returned one (a
 * subscribe), else the existing row marked inactive (an unsubscribe returns no body).
 */
export function applyChange(
  subscriptions: Subscription[],
  topic: Topic,
  scopeId: string,
  returned: Subscription | null,
): Subscription[] {
  const matches = (item: Subscription) => item.topic === topic && item.scope_id === scopeId;
  if (returned) {
    return subscriptions.some(matches)
      ? subscriptions.map((item) => (matches(item) ? returned : item))
      : [...subscriptions, returned];
  }
  return subscriptions.map((item) => (matches(item) ? { ...item, active: false } : item));
}
