import { useCallback } from "react";
import { Link } from "react-router-dom";
import { api, type Schemas } from "../../api/client";
import { ErrorBanner, Loading } from "../../components/Field";
import { LoadMore } from "../../components/Paging";
import { formatDateTime } from "../../lib/datetime";
import { usePagedList } from "../../lib/paging";
import { productLabel, tierLabel, useProducts } from "../../lib/products";
import { AccountNav } from "./AccountNav";

type Acceptance = Schemas["licensing.LicenceAcceptanceRead"];

export function LicencesPage() {
  const fetchPage = useCallback(
    (cursor?: string) => api.GET("/api/licensing/licence-acceptances", { params: { query: { cursor, limit: 100 } } }),
    [],
  );
  const acceptances = usePagedList<Acceptance>(fetchPage, "Your licence acceptances could not be loaded");
  const products = useProducts((acceptances.items ?? []).map((item) => item.product_id));

  return (
    <section>
      <h1>Accepted licences</h1>
      <AccountNav />
      <p>A new licence version needs a new acceptance before the next pull of a tier that requires it.</p>
      <ErrorBanner message={acceptances.error} />
      {acceptances.items === null && !acceptances.error && <Loading what="licences" />}
      {acceptances.items?.length === 0 && <p>You have not accepted any licence yet.</p>}
      {acceptances.items && acceptances.items.length > 0 && (
        <div className="table-scroll">
          <table>
            <caption className="visually-hidden">Licences you accepted</caption>
            <thead>
              <tr>
                <th scope="col">Product</th>
                <th scope="col">Licence</th>
                <th scope="col">Accepted</th>
              </tr>
            </thead>
            <tbody>
              {acceptances.items.map((item) => {
                const product = products[item.product_id];
                return (
                  <tr key={item.acceptance_id}>
                    <td>
                      {product ? <Link to={`/store/${product.path}`}>{product.name}</Link> : productLabel(product, item.product_id)}
                      {item.tier_id && <div className="muted">tier {tierLabel(product, item.tier_id)}</div>}
                    </td>
                    <td>
                      <a href={item.licence_url}>Version {item.licence_version}</a>
                    </td>
                    <td>{formatDateTime(item.accepted_at)}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      <LoadMore list={acceptances} noun="licences" />
    </section>
  );
}
