import { BrowserRouter, Route, Routes } from "react-router-dom";
import { SessionProvider } from "./auth/session";
import { Layout, RequireSignIn } from "./components/Layout";
import { AccountPage, LoginPage, SignUpPage, VerifyEmailPage } from "./pages/Account";
import { ProductPage } from "./pages/Product";
import { NewProductPage, OrganisationPage, PublisherHomePage, PublisherProductPage } from "./pages/Publisher";
import { ReviewCasePage, ReviewQueuePage } from "./pages/Review";
import { HomePage, SearchPage } from "./pages/Storefront";

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
            <Route path="review" element={signedIn(<ReviewQueuePage />)} />
            <Route path="review/cases/:caseId" element={signedIn(<ReviewCasePage />)} />
            <Route path="*" element={<p>Page not found.</p>} />
          </Route>
        </Routes>
      </SessionProvider>
    </BrowserRouter>
  );
}
