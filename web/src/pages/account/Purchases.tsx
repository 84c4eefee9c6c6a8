import { useCallback, useState } from "react";
import { Link } from "react-router-dom";
import { api, type Schemas } from "../../api/client";
import { formatPrice, problemMessage } from "../../api/problem";
import { ErrorBanner, Loading } from "../../components/Field";
import { LoadMore } from "../../components/Paging";
import { formatDate, formatDateTime } from "../../lib/datetime";
import { usePagedList } from "../../lib/paging";
import { productLabel, tierLabel, useProducts, type ProductSummary } from "../../lib/products";
import { AccountNav } from "./AccountNav";

type Order = Schemas["billing.OrderRead"];
type Subscription = Schemas["billing.SubscriptionRead"];
type Entitlement = Schemas["licensing.EntitlementRead"];

function ProductCell({ summary, productId, tierId }: { summary: ProductSummary | null | undefined; productId: string; tierId?: string | null }) {
  return (
    <>
      {summary ? <Link to={`/store/${summary.path}`}>{summary.name}</Link> : productLabel(summary, productId)}
      {tierId && <div className="muted">tier {tierLabel(summary, tierId)}</div>}
    </>
  );
}

function Orders() {
  const fetchPage = useCallback((cursor?: string) => api.GET("/api/billing/orders", { params: { query: { cursor, limit: 50 } } }), []);
  const orders = usePagedList<Order>(fetchPage, "Your orders could not be loaded");
  const products = useProducts((orders.items ?? []).map((order) => order.product_id));

  return (
    <section aria-labelledby="orders-heading">
      <h2 id="orders-heading">Orders</h2>
      <ErrorBanner message={orders.error} />
      {orders.items === null && !orders.error && <Loading what="orders" />}
      {orders.items?.length === 0 && <p>No orders yet. Free tiers need no order.</p>}
      {orders.items && orders.items.length > 0 && (
        <div className="table-scroll">
          <table>
            <caption className="visually-hidden">Your orders, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Product</th>
                <th scope="col">Amount</th>
                <th scope="col">Status</th>
                <th scope="col">Date</th>
              </tr>
            </thead>
            <tbody>
              {orders.items.map((order) => (
                <tr key={order.id}>
                  <td>
                    <ProductCell summary={products[order.product_id]} productId={order.product_id} tierId={order.tier_id} />
                  </td>
                  <td>
                    {formatPrice(order.amount, order.currency)}
                    {order.tax_amount > 0 && <div className="muted">incl. tax {formatPrice(order.tax_amount, order.currency)}</div>}
                    {order.refunded_amount > 0 && (
                      <div>refunded {formatPrice(order.refunded_amount, order.currency)}</div>
                    )}
                  </td>
                  <td>
                    {order.status}
                    {order.kind === "renewal" && <div className="muted">subscription renewal</div>}
                    {order.status === "pending" && order.checkout_url && (
                      <div>
                        <a href={order.checkout_url}>Complete the payment</a>
                      </div>
                    )}
                  </td>
                  <td>{formatDateTime(order.paid_at ?? order.created_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <LoadMore list={orders} noun="orders" />
    </section>
  );
}

function Subscriptions() {
  const fetchPage = useCallback((cursor?: string) => api.GET("/api/billing/subscriptions", { params: { query: { cursor, limit: 50 } } }), []);
  const subscriptions = usePagedList<Subscription>(fetchPage, "Your subscriptions could not be loaded");
  const products = useProducts((subscriptions.items ?? []).map((item) => item.product_id));
  const [portalError, setPortalError] = useState<string | null>(null);
  const [opening, setOpening] = useState(false);

  const openPortal = async () => {
    setOpening(true);
    const { data, error } = await api.POST("/api/billing/portal-sessions", { body: { return_url: window.location.href } });
    if (data) {
      // Stripe's customer portal, or the billing sandbox's own page without a Stripe key.
      window.location.assign(data.url);
      return;
    }
    setOpening(false);
    setPortalError(problemMessage(error, "The subscription portal could not be opened"));
  };

  return (
    <section aria-labelledby="subscriptions-heading">
      <h2 id="subscriptions-heading">Subscriptions</h2>
      <ErrorBanner message={subscriptions.error ?? portalError} />
      {subscriptions.items === null && !subscriptions.error && <Loading what="subscriptions" />}
      {subscriptions.items?.length === 0 && <p>No subscriptions.</p>}
      {subscriptions.items && subscriptions.items.length > 0 && (
        <>
          <div className="table-scroll">
            <table>
              <caption className="visually-hidden">Your subscriptions, newest first</caption>
              <thead>
                <tr>
                  <th scope="col">Product</th>
                  <th scope="col">Status</th>
                  <th scope="col">Current period ends</th>
                </tr>
              </thead>
              <tbody>
                {subscriptions.items.map((item) => (
                  <tr key={item.id}>
                    <td>
                      <ProductCell summary={products[item.product_id]} productId={item.product_id} tierId={item.tier_id} />
                    </td>
                    <td>
                      {item.status}
                      {item.cancel_at_period_end && <div className="muted">ends at the period end</div>}
                    </td>
                    <td>{formatDate(item.current_period_end)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <button type="button" onClick={openPortal} disabled={opening}>
            {opening ? "Opening…" : "Manage or cancel subscriptions"}
          </button>
        </>
      )}
      <LoadMore list={subscriptions} noun="subscriptions" />
    </section>
  );
}

function Entitlements() {
  const fetchPage = useCallback((cursor?: string) => api.GET("/api/licensing/entitlements", { params: { query: { cursor, limit: 100 } } }), []);
  const entitlements = usePagedList<Entitlement>(fetchPage, "Your entitlements could not be loaded");
  const products = useProducts((entitlements.items ?? []).map((item) => item.product_id));

  return (
    <section aria-labelledby="entitlements-heading">
      <h2 id="entitlements-heading">Entitlements</h2>
      <p>What you may pull. A purchase or subscription grants one; a refund or the end of a subscription ends it.</p>
      <ErrorBanner message={entitlements.error} />
      {entitlements.items === null && !entitlements.error && <Loading what="entitlements" />}
      {entitlements.items?.length === 0 && <p>No entitlements yet.</p>}
      {entitlements.items && entitlements.items.length > 0 && (
        <div className="table-scroll">
          <table>
            <caption className="visually-hidden">Your entitlements</caption>
            <thead>
              <tr>
                <th scope="col">Product</th>
                <th scope="col">Status</th>
                <th scope="col">Valid until</th>
              </tr>
            </thead>
            <tbody>
              {entitlements.items.map((item) => (
                <tr key={item.entitlement_id}>
                  <td>
                    <ProductCell summary={products[item.product_id]} productId={item.product_id} tierId={item.tier_id} />
                  </td>
                  <td>
                    {item.status}
                    {item.revoked_at && <div className="muted">ended {formatDateTime(item.revoked_at)}</div>}
                  </td>
                  <td>{item.valid_until ? formatDate(item.valid_until) : "no end"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <LoadMore list={entitlements} noun="entitlements" />
    </section>
  );
}

export function PurchasesPage() {
  return (
    <section>
      <h1>Purchases and entitlements</h1>
      <AccountNav />
      <Orders />
      <Subscriptions />
      <Entitlements />
    </section>
  );
}
