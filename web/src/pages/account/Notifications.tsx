import { useEffect, useState } from "react";
import { Link } from "react-router-dom";
import { api } from "../../api/client";
import { useSession } from "../../auth/session";
import { ErrorBanner, Loading } from "../../components/Field";
import { NoticeSwitch } from "../../components/NoticeSwitch";
import { ORGANISATION_TOPICS, PRODUCT_TOPICS, TOPIC_LABELS, isSubscribed, productScopes } from "../../lib/notices";
import { productLabel, useProducts } from "../../lib/products";
import { useSubscriptions } from "../../lib/subscriptions";
import { AccountNav } from "./AccountNav";

/** Load the ids of the products the customer owns or accepted a licence for: those worth following. */
function useUsedProducts(): string[] | null {
  const [ids, setIds] = useState<string[] | null>(null);
  useEffect(() => {
    // NOTE: reads the first 200 entitlements and acceptances; products beyond them are
    // missing here until the customer switches their notices on from the product page.
    Promise.all([
      api.GET("/api/licensing/entitlements", { params: { query: { limit: 200 } } }),
      api.GET("/api/licensing/licence-acceptances", { params: { query: { limit: 200 } } }),
    ]).then(([entitlements, acceptances]) =>
      setIds([
        ...(entitlements.data?.items ?? []).map((item) => item.product_id),
        ...(acceptances.data?.items ?? []).map((item) => item.product_id),
      ]),
    );
  }, []);
  return ids;
}

export function NotificationsPage() {
  const { me } = useSession();
  const { subscriptions, error, toggle } = useSubscriptions();
  const used = useUsedProducts();
  const productIds = subscriptions && used ? productScopes(subscriptions, used) : [];
  const products = useProducts(productIds);

  return (
    <section>
      <h1>Email notices</h1>
      <AccountNav />
      <ErrorBanner message={error} />
      {(subscriptions === null || used === null) && !error && <Loading what="notice settings" />}
      {subscriptions && used && (
        <>
          <section aria-labelledby="product-notices-heading">
            <h2 id="product-notices-heading">Products</h2>
            <p>New versions and security notices (a hold or revocation of the listing) of the products you use.</p>
            {productIds.length === 0 && (
              <p>
                No products yet. Switch notices on from a product's page in the <Link to="/search">store</Link>.
              </p>
            )}
            {productIds.map((productId) => {
              const product = products[productId];
              const name = productLabel(product, productId);
              return (
                <fieldset key={productId} className="notice-switches">
                  <legend>{product ? <Link to={`/store/${product.path}`}>{name}</Link> : name}</legend>
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
              );
            })}
          </section>
          {(me?.organisations.length ?? 0) > 0 && (
            <section aria-labelledby="publisher-notices-heading">
              <h2 id="publisher-notices-heading">Publisher notices</h2>
              <p>Notices about your organisations' products; every member gets them unless switched off.</p>
              {me!.organisations.map((organisation) => (
                <fieldset key={organisation.organisation_id} className="notice-switches">
                  <legend>{organisation.display_name}</legend>
                  {ORGANISATION_TOPICS.map((topic) => (
                    <NoticeSwitch
                      key={topic}
                      label={TOPIC_LABELS[topic]}
                      topic={topic}
                      scopeId={organisation.organisation_id}
                      on={isSubscribed(subscriptions, topic, organisation.organisation_id)}
                      toggle={toggle}
                    />
                  ))}
                </fieldset>
              ))}
            </section>
          )}
        </>
      )}
    </section>
  );
}
