import { PRODUCT_TOPICS, TOPIC_LABELS, isSubscribed } from "../lib/notices";
import { useSubscriptions } from "../lib/subscriptions";
import { ErrorBanner } from "./Field";
import { NoticeSwitch } from "./NoticeSwitch";

/** Render the product page's switches for new-version and security emails. */
export function ProductNotices({ productId, name }: { productId: string; name: string }) {
  const { subscriptions, error, toggle } = useSubscriptions();
  return (
    <section aria-labelledby="notices-heading">
      <h2 id="notices-heading">Email notices</h2>
      <ErrorBanner message={error} />
      {subscriptions && (
        <fieldset className="notice-switches">
          <legend>Email me about {name}</legend>
          {PRODUCT_TOPICS.map((topic) => (
            <NoticeSwitch
              key={topic}
              label={TOPIC_LABELS[topic]}
              topic={topic}
              scopeId={productId}
              on={isSubscribed(subscriptions, topic, productId)}
              toggle={toggle}
            />
          ))}
        </fieldset>
      )}
      <p className="muted">Security notices reach you once you have pulled the product.</p>
    </section>
  );
}
