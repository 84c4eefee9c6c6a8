import { lazy, Suspense } from "react";
import { BrowserRouter, Navigate, Route, Routes } from "react-router-dom";
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
import { InvitationPage } from "./pages/account/Invitation";
import { LicencesPage } from "./pages/account/Licences";
import { NotificationsPage } from "./pages/account/Notifications";
import { ResetPasswordPage } from "./pages/account/PasswordReset";
import { PurchasesPage } from "./pages/account/Purchases";
import { HomePage, SearchPage } from "./pages/Storefront";


// The reports page carries the charting library, so it loads in its own chunk on first visit.
const ReportsPage = lazy(() => import("./pages/publisher/Reports"));

// Staff pages load on first use, so customers never download them.
const ReviewQueuePage = lazy(() => import("./pages/Review").then((module) => ({ default: module.ReviewQueuePage })));
const ReviewCasePage = lazy(() => import("./pages/Review").then((module) => ({ default: module.ReviewCasePage })));
const ReviewCertificationsPage = lazy(() =>
  import("./pages/review/Certifications").then((module) => ({ default: module.CertificationsPage })),
);
const StaffRolesPage = lazy(() => import("./pages/admin/StaffRoles").then((module) => ({ default: module.StaffRolesPage })));
const AuditLogPage = lazy(() => import("./pages/admin/AuditLog").then((module) => ({ default: module.AuditLogPage })));

const signedIn = (page: React.ReactNode) => <RequireSignIn>{page}</RequireSignIn>;
const staffPage = (page: React.ReactNode) => signedIn(<Suspense fallback={<Loading what="page" />}>{page}</Suspense>);

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
            <Route path="reset-password" element={<ResetPasswordPage />} />
            <Route path="invitations/:token" element={<InvitationPage />} />
            <Route path="account" element={signedIn(<AccountPage />)} />
            <Route path="account/purchases" element={signedIn(<PurchasesPage />)} />
            <Route path="account/licences" element={signedIn(<LicencesPage />)} />
            <Route path="account/notifications" element={signedIn(<NotificationsPage />)} />
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
            <Route path="review" element={staffPage(<ReviewQueuePage />)} />
            <Route path="review/cases/:caseId" element={staffPage(<ReviewCasePage />)} />
            <Route path="review/certifications" element={staffPage(<ReviewCertificationsPage />)} />
            <Route path="admin" element={<Navigate to="/admin/audit" replace />} />
            <Route path="admin/staff" element={staffPage(<StaffRolesPage />)} />
            <Route path="admin/audit" element={staffPage(<AuditLogPage />)} />
            <Route path="*" element={<p>Page not found.</p>} />
          </Route>
        </Routes>
      </SessionProvider>
    </BrowserRouter>
  );
}
