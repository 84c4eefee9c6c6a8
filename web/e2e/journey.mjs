// Browser journey through the web front end, driven by playwright-core in Debian's
// chromium (never a downloaded browser). The Python test starts the stack and passes:
//   WHARF_E2E_BASE_URL   the gateway, e.g. http://127.0.0.1:34567
//   WHARF_E2E_ARTIFACTS  folder for screenshots
//   WHARF_E2E_ADMIN_USERNAME / _PASSWORD  the staff account the stack was started with
//   CHROMIUM             the browser executable (default /usr/bin/chromium)
import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";
import { join } from "node:path";

const base = process.env.WHARF_E2E_BASE_URL;
const artifacts = process.env.WHARF_E2E_ARTIFACTS ?? "e2e-artifacts";
const admin = { username: process.env.WHARF_E2E_ADMIN_USERNAME, password: process.env.WHARF_E2E_ADMIN_PASSWORD };
if (!base || !admin.username || !admin.password) {
  console.error("Set WHARF_E2E_BASE_URL, WHARF_E2E_ADMIN_USERNAME and WHARF_E2E_ADMIN_PASSWORD");
  process.exit(2);
}
mkdirSync(artifacts, { recursive: true });

// The flags keep chromium from reaching out to Google's services, which a closed
// network refuses, and let it run as root in a container.
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});

let step = "start";
const run = Date.now().toString(36);
const publisher = { username: `pub${run}`, email: `pub${run}@example.com`, password: "correct horse battery" };

async function check(condition, message) {
  if (!condition) throw new Error(`${step}: ${message}`);
}

async function shot(page, name) {
  await page.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true });
}

async function signIn(page, account) {
  await page.goto(`${base}/login`);
  await page.getByLabel("Username").fill(account.username);
  await page.getByLabel("Password").fill(account.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: "Your account" }).waitFor();
}

async function signOut(page) {
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.getByRole("link", { name: "Sign in" }).waitFor();
}

async function verificationLink(email) {
  // The stack runs with WHARF_NOTIFICATIONS_MAILBOX_OPEN_READ=true, so the local
  // mailbox can be read without signing in; the email arrives through the event bus.
  for (let attempt = 0; attempt < 40; attempt++) {
    const response = await fetch(`${base}/api/notifications/mailbox?to=${encodeURIComponent(email)}`);
    if (response.ok) {
      const page = await response.json();
      for (const message of page.items) {
        const match = /https?:\/\/\S+\/email\/verify\?token=[^\s"<]+/.exec(message.body_text ?? "");
        if (match) return match[0];
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`no verification email for ${email} in the mailbox`);
}

const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
const page = await context.newPage();
const consoleErrors = [];
page.on("pageerror", (error) => consoleErrors.push(String(error)));

try {
  step = "home";
  await page.goto(base);
  await page.getByRole("heading", { name: "Find trusted container images" }).waitFor();
  await shot(page, "01-home");

  step = "sign up";
  await page.getByRole("link", { name: "Sign up" }).click();
  await page.getByLabel("Username").fill(publisher.username);
  await page.getByLabel("Email").fill(publisher.email);
  await page.getByLabel("Display name").fill("Publisher");
  await page.getByLabel("Password").fill("short");
  await page.getByRole("button", { name: "Sign up" }).click();
  // The identity service rejects a password under 10 characters and names the field.
  const passwordError = page.locator(".field-invalid", { has: page.getByLabel("Password") }).getByRole("alert");
  await passwordError.waitFor();
  await shot(page, "02-sign-up-error");
  await page.getByLabel("Password").fill(publisher.password);
  await page.getByRole("button", { name: "Sign up" }).click();
  await page.getByRole("heading", { name: "Check your email" }).waitFor();

  step = "verify email";
  const link = await verificationLink(publisher.email);
  const verified = await fetch(link.replace(/^https?:\/\/[^/]+/, base));
  await check(verified.ok, `the verification link returned ${verified.status}`);

  step = "sign in";
  await signIn(page, publisher);
  await shot(page, "03-account");

  step = "personal access token";
  await page.getByLabel("Token name").fill("laptop");
  await page.getByRole("button", { name: "Create token" }).click();
  const token = await page.getByTestId("new-token").textContent();
  await check(token && token.length > 20, `the new token was not shown: ${token}`);
  await shot(page, "04-token-created");
  // After a reload the session is restored from the refresh token, and the secret is gone.
  await page.reload();
  await page.getByRole("cell", { name: "laptop", exact: true }).waitFor();
  await check((await page.getByTestId("new-token").count()) === 0, "the token was shown a second time");
  const stored = await page.evaluate(() => JSON.stringify({ ...localStorage }));
  await check(!stored.includes(token), "the token was stored in localStorage");

  step = "organisation";
  await page.getByRole("link", { name: "Publisher portal" }).click();
  await page.getByLabel("Namespace").fill(`acme${run}`);
  await page.getByLabel("Display name").fill("Acme");
  await page.getByRole("button", { name: "Create organisation" }).click();
  await page.getByRole("link", { name: "Acme" }).click();
  await page.getByRole("heading", { name: "Products" }).waitFor();

  step = "profile validation";
  await page.getByLabel("Phone").fill("not a phone");
  await page.getByRole("button", { name: "Save profile" }).click();
  await page.locator(".field-invalid", { has: page.getByLabel("Phone") }).getByRole("alert").waitFor();
  await shot(page, "05-profile-error");
  await page.getByLabel("Phone").fill("+44 20 7946 0958");
  await page.getByLabel("Legal entity name").fill("Acme Ltd");
  await page.getByRole("button", { name: "Save profile" }).click();
  await page.getByText("Profile saved.").waitFor();

  step = "product manifest";
  await page.getByRole("link", { name: "New product" }).click();
  await page.getByLabel("Name", { exact: true }).fill("Fast DB");
  await page.getByLabel("Short description").fill("x".repeat(150));
  await page.getByText("-10 characters left").waitFor();
  await page.getByLabel("Short description").fill("A fast relational database");
  await page.getByLabel("Category").fill("Database");
  await page.getByLabel("Tier 1 name").fill("Community");
  await page.getByRole("button", { name: "Create product" }).click();
  // A draft may be incomplete, but a tier needs its description and staging image.
  await page.locator(".field-invalid", { has: page.getByLabel("Tier 1 staging image") }).getByRole("alert").waitFor();
  await shot(page, "06-manifest-errors");
  await page.getByLabel("Tier 1 description").fill("Free for everyone");
  await page.getByLabel("Tier 1 staging image").fill(`staging/acme${run}/db:1.0`);
  await page.getByRole("button", { name: "Create product" }).click();
  await page.getByTestId("version-state").waitFor();
  await check((await page.getByTestId("version-state").textContent()) === "draft", "the new version is not a draft");

  step = "submit with errors";
  await page.getByRole("button", { name: "Submit for review" }).click();
  // The incomplete manifest is rejected, and each missing item shows beside its field.
  await page.locator(".field-invalid", { has: page.getByLabel("Long description") }).getByRole("alert").waitFor();
  await page.locator(".field-invalid", { has: page.getByLabel("Installation instructions") }).getByRole("alert").waitFor();
  await shot(page, "07-submit-errors");
  await signOut(page);

  step = "search";
  await page.goto(`${base}/search?q=fast&sort=newest`);
  await page.getByText(/\d+ results/).waitFor();
  await check((await page.getByLabel("Sort by").inputValue()) === "newest", "the sort order was not kept in the URL");
  await shot(page, "08-search");

  step = "reviewer console";
  await signIn(page, admin);
  await page.getByRole("link", { name: "Review" }).click();
  await page.getByRole("heading", { name: "Review queue" }).waitFor();
  // The draft was never submitted, so no case is open.
  await page.getByText("No cases in this state.").waitFor();
  await shot(page, "09-review-queue");

  step = "phone width";
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto(`${base}/search`);
  await page.getByText(/\d+ results/).waitFor();
  await shot(page, "10-search-phone");

  await check(consoleErrors.length === 0, `uncaught page errors: ${consoleErrors.join("; ")}`);
  console.log(`journey passed; screenshots in ${artifacts}`);
} catch (error) {
  await shot(page, "failure").catch(() => {});
  console.error(`journey failed at step "${step}": ${error.message}`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
