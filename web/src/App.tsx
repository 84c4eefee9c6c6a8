import { lazy, Suspense } from "react";
import { BrowserRouter, Route, Routes } from "react-router-dom";
import { SessionProvider } from "./auth/session";
import { Loading } from "./components/Field";
import { Layout, RequireSignIn } from "./components/Layout";
import { AccountPage, LoginPage, SignUpPage, VerifyEmailPage } from "./pages/Account";
import { ProductPage } from "./pages/Product";
import { NewProductPage, OrganisationPage, PublisherHomePage, PublisherProductPage } from "./pages/Publisher";
import { CertificationsPage } from "./pages/publisher/Certifications";
import { MembersPage } from "./pages/publisher/Members";
import { ScanPage, ScansPage } from "./pages/publisher/Scans";
import { SlaCasesPage } from "./pages/publisher/SlaCases";
import { WebhooksPage } from "./pages/publisher/Webhooks";
import { ReviewCasePage, ReviewQueuePage } from "./pages/Review";
import { HomePage, SearchPage } from "./pages/Storefront";

// The reports page carries the charting library, so it loads in its own chunk on first visit.
const ReportsPage = lazy(() => import("./pages/publisher/Reports"));

const signedIn = (page: React.ReactNode) => <RequireSignIn>{page}</RequireSignIn>;

export function App() {
  return (
    <BrowserRouter>
      <SessionProvider>
        <Routes>
          <Route element={<Layout />}>
            <Route index element={<HomePage />} />
            <Route path="search" element={<SearchPage />} />
            <Route path="store/:namespace/:slug" element={<ProductPage />} />
            <Route path="signup" element={<SignUpPage />} />
            <Route path="login" element={<LoginPage />} />
            <Route path="verify" element={<VerifyEmailPage />} />
            <Route path="account" element={signedIn(<AccountPage />)} />
            <Route path="publisher" element={signedIn(<PublisherHomePage />)} />
            <Route path="publisher/:organisationId" element={signedIn(<OrganisationPage />)} />
            <Route path="publisher/:organisationId/products/new" element={signedIn(<NewProductPage />)} />
            <Route path="publisher/:organisationId/products/:productId" element={signedIn(<PublisherProductPage />)} />
            <Route path="publisher/:organisationId/members" element={signedIn(<MembersPage />)} />
            <Route path="publisher/:organisationId/scans" element={signedIn(<ScansPage />)} />
            <Route path="publisher/:organisationId/scans/:scanId" element={signedIn(<ScanPage />)} />
            <Route path="publisher/:organisationId/sla" element={signedIn(<SlaCasesPage />)} />
            <Route path="publisher/:organisationId/certifications" element={signedIn(<CertificationsPage />)} />
            <Route path="publisher/:organisationId/reports" element={signedIn(<Suspense fallback={<Loading what="reports" />}><ReportsPage /></Suspense>)} />
            <Route path="publisher/:organisationId/webhooks" element={signedIn(<WebhooksPage />)} />
            <Route path="review" element={signedIn(<ReviewQueuePage />)} />
            <Route path="review/cases/:caseId" element={signedIn(<ReviewCasePage />)} />
            <Route path="*" element={<p>Page not found.</p>} />
          </Route>
        </Routes>
      </SessionProvider>
    </BrowserRouter>
  );
}
