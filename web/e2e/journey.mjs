// The store's main journey in a browser, driven by playwright-core in Debian's chromium
// (never a downloaded browser), against the stack that tests/web/test_browser_journey.py
// starts. It passes the addresses and files in WHARF_E2E_* variables (see support.mjs).
//
// A publisher signs up, creates the organisation, profile and product, pushes an image
// with old wheels and submits it. The scan finds Critical findings, and a reviewer
// requests changes. The publisher pushes newer wheels and resubmits, the reviewer
// approves, and the listing is published. A customer finds it, buys the paid tier in the
// sandbox checkout and pulls with the pull command shown. The full feeds then add a
// Critical advisory, the clock passes the fix deadline and the listing shows its warning
// label.
//
// axe-core checks the key pages against WCAG 2.1 A and AA where the journey passes them.
// Serious and critical violations fail the journey at its end, after every page is checked.
import {
  accessibilityFailureSummary,
  admin,
  api,
  apiToken,
  base,
  check,
  checkAccessibility,
  createToken,
  currentStepName,
  eventually,
  harness,
  importFeeds,
  inBackground,
  launchBrowser,
  moveClockTo,
  registry,
  shot,
  signIn,
  signUp,
  stageFullFeeds,
  step,
  uploads,
  verifyEmail,
  waitForText,
} from "./support.mjs";

const run = Date.now().toString(36);
const publisher = { username: `pub${run}`, email: `pub${run}@example.com`, password: "correct horse battery" };
const customer = { username: `cus${run}`, email: `cus${run}@example.com`, password: "staple battery horse" };
const namespace = `harbour${run}`;
const product = { name: "Harbour Notes", slug: "harbour-notes", version: "1.0" };
const staging = `staging/${namespace}/app:${product.version}`;
const storeReference = `${registry}/store/${namespace}/${product.slug}:${product.version}`;
// Scans of the demo image take seconds, but the timeouts leave room for a busy machine.
const SCAN_TIMEOUT = 120_000;

const browser = await launchBrowser();
const pageErrors = [];

async function newPage() {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  page.on("pageerror", (error) => pageErrors.push(String(error)));
  return page;
}

const publisherPage = await newPage();
const reviewerPage = await newPage();
const customerPage = await newPage();

// The moderation case of the product, read as staff.
async function reviewCase(adminToken) {
  const cases = await api(`/api/moderation/cases?limit=100`, { token: adminToken });
  const summary = cases.items.find((item) => item.namespace === namespace && item.slug === product.slug);
  return summary ? api(`/api/moderation/cases/${summary.id}`, { token: adminToken }) : null;
}

async function listingStatus() {
  const response = await fetch(`${base}/api/catalog/store/${namespace}/${product.slug}`);
  return response.ok ? (await response.json()).status : `HTTP ${response.status}`;
}

try {
  step("import the feeds of September 2023");
  // The import runs while the publisher signs up, and the submission waits for it.
  const adminToken = await apiToken(admin);
  const snapshotImported = inBackground(importFeeds(adminToken));

  step("home");
  let page = publisherPage;
  await page.goto(base);
  await page.getByRole("heading", { name: "Find trusted container images" }).waitFor();
  await shot(page, "01-home");
  await checkAccessibility(page, "home");

  step("publisher signs up");
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
  await checkAccessibility(page, "sign-up-error");
  await page.getByLabel("Password").fill(publisher.password);
  await page.getByRole("button", { name: "Sign up" }).click();
  await page.getByRole("heading", { name: "Check your email" }).waitFor();
  await verifyEmail(publisher.email);
  await signIn(page, publisher, { accessibilityCheck: "sign-in" });

  step("personal access token");
  publisher.token = await createToken(page, "laptop", "pull+push");
  await shot(page, "03-token-created");
  await checkAccessibility(page, "account");
  // After a reload the session is restored from the refresh token, and the secret is gone.
  await page.reload();
  await page.getByRole("cell", { name: "laptop", exact: true }).waitFor();
  check((await page.getByTestId("new-token").count()) === 0, "the token was shown a second time");
  const stored = await page.evaluate(() => JSON.stringify({ ...localStorage }));
  check(!stored.includes(publisher.token), "the token was stored in localStorage");

  step("organisation");
  await page.getByRole("link", { name: "Publisher portal" }).click();
  await page.getByLabel("Namespace").fill(namespace);
  await page.getByLabel("Display name").fill("Harbour Software");
  await page.getByRole("button", { name: "Create organisation" }).click();
  await page.getByRole("link", { name: "Harbour Software" }).click();
  await page.getByRole("heading", { name: "Products" }).waitFor();
  const organisationUrl = page.url();

  step("profile");
  await page.getByLabel("Phone").fill("not a phone");
  await page.getByRole("button", { name: "Save profile" }).click();
  await page.locator(".field-invalid", { has: page.getByLabel("Phone") }).getByRole("alert").waitFor();
  await shot(page, "04-profile-error");
  await page.getByLabel("Legal entity name").fill("Harbour Software Ltd");
  await page.getByLabel("Website").fill("https://harbour.example.com");
  await page.getByLabel("Phone").fill("+44 20 7946 0958");
  await page.getByLabel("Email").fill("hello@harbour.example.com");
  await page.getByLabel("Company story").fill("We build **small, sturdy** tools for harbours.");
  await page.getByLabel("Logo", { exact: true }).setInputFiles(`${uploads}/logo.png`);
  await page.getByText("A logo is set.").waitFor();
  await page.getByRole("button", { name: "Save profile" }).click();
  await page.getByText("Profile saved.").waitFor();
  check((await page.getByText("Missing before the first submission").count()) === 0, "the saved profile is still incomplete");

  step("push the first image");
  const first = await harness(["push", "vulnerable", `${registry}/${staging}`], { username: publisher.username, token: publisher.token });
  console.log(`         pushed ${staging} (${first.wheels.join(", ")}): ${first.digest}`);

  step("product manifest");
  await page.goto(organisationUrl);
  await page.getByRole("link", { name: "New product" }).click();
  await page.getByLabel("Name", { exact: true }).fill(product.name);
  await page.getByLabel("Version", { exact: true }).fill(product.version);
  await page.getByLabel("Short description").fill("x".repeat(150));
  await page.getByText("-10 characters left").waitFor();
  await page.getByLabel("Short description").fill("Notes for harbour masters, in a container");
  await page.getByLabel("Category").selectOption("Business Software");
  await page.getByLabel("Tags").fill("notes, harbour");
  await page.getByLabel("Tier 1 name").fill("Community");
  await page.getByRole("button", { name: "Create product" }).click();
  // A draft may be incomplete, but a tier needs its description and staging image.
  await page.locator(".field-invalid", { has: page.getByLabel("Tier 1 staging image") }).getByRole("alert").waitFor();
  await shot(page, "05-manifest-errors");
  await checkAccessibility(page, "manifest-errors");
  await page.getByLabel("Product logo").setInputFiles(`${uploads}/logo.png`);
  await page.getByText("A logo is set.").waitFor();
  await page.getByLabel("Screenshots").setInputFiles(`${uploads}/screenshot.png`);
  await waitForText(page.getByTestId("screenshot-count"), "1 uploaded");
  await page.getByLabel("Support offered").check();
  await page.getByLabel("Support website").fill("https://harbour.example.com/support");
  await page.getByLabel("Support email").fill("support@harbour.example.com");
  await page.getByLabel("Support hours").fill("Mon-Fri 09:00-17:00 UTC");
  await page.getByLabel("Response time (SLA)").fill("1 business day");
  await page.getByLabel("Licence URL").fill("https://harbour.example.com/licence");
  await page.getByLabel("Licence version").fill("2024-01");
  await page.getByLabel("Customers must accept the licence").check();
  await page.getByLabel("Who may pull").selectOption("logged_in");
  await page.getByLabel("Tier 1 description").fill("Free, after accepting the licence");
  await page.getByLabel("Tier 1 staging image").fill(staging);
  await page.getByRole("button", { name: "Add a tier" }).click();
  await page.getByLabel("Tier 2 name").fill("Professional");
  await page.getByLabel("Tier 2 description").fill("Monthly subscription with support");
  await page.getByLabel("Tier 2 price").fill("19.00");
  await page.getByLabel("Tier 2 billing").selectOption("monthly");
  await page.getByLabel("Tier 2 staging image").fill(staging);
  await page.getByRole("button", { name: "Create product" }).click();
  await waitForText(page.getByTestId("version-state"), "draft");

  step("submit with errors");
  await page.getByRole("button", { name: "Submit for review" }).click();
  // The missing descriptions are rejected, and each shows beside its field.
  await page.locator(".field-invalid", { has: page.getByLabel("Long description") }).getByRole("alert").waitFor();
  await page.locator(".field-invalid", { has: page.getByLabel("Installation instructions") }).getByRole("alert").waitFor();
  await shot(page, "06-submit-errors");

  step("submit");
  await page.getByLabel("Long description").fill("Keeps the log of every berth, **in a container**.");
  await page.getByLabel("Installation instructions").fill("Accept the licence, then run the pull command of your tier.");
  await page.getByRole("button", { name: "Save manifest" }).click();
  await page.getByText("Manifest saved.").waitFor();
  const snapshot = await snapshotImported();
  check(snapshot.imports.some((entry) => entry.added > 0), `the first feed import added no advisory: ${JSON.stringify(snapshot.imports)}`);
  await page.getByRole("button", { name: "Submit for review" }).click();
  // The case opens at once, and its scans take seconds, so the page shows them in progress.
  await waitForText(page.getByTestId("case-state"), "awaiting_scans");
  await page.getByRole("table", { name: "Scan results of round 1" }).getByText("waiting for the scan…").first().waitFor();
  await shot(page, "07-case-scanning");

  step("scan of round 1");
  // The publisher's page follows the scans without a reload until the case is in review.
  await waitForText(page.getByTestId("case-state"), "in_review", SCAN_TIMEOUT);
  let reviewed = await reviewCase(adminToken);
  const round1Scans = reviewed.rounds[0].images.map((image) => image.scan);
  check(round1Scans.every((scan) => scan?.status === "completed"), `the scans of round 1 are ${JSON.stringify(round1Scans)}`);
  const criticalCount = round1Scans[0].counts.critical ?? 0;
  check(criticalCount > 0, `the scan of the old wheels counted no Critical finding: ${JSON.stringify(round1Scans[0].counts)}`);
  const scanTable = page.getByRole("table", { name: "Scan results of round 1" });
  check((await scanTable.getByRole("cell", { name: "completed", exact: true }).count()) === 2, "the scan table does not show two completed scans");
  await scanTable.getByText(`critical: ${criticalCount}`).first().waitFor();
  const findingBlockers = reviewed.blockers.filter((blocker) => blocker.kind === "finding");
  check(findingBlockers.length > 0, `no finding blocks approval: ${JSON.stringify(reviewed.blockers)}`);
  await page.getByTestId("blockers").getByText(findingBlockers[0].detail).waitFor();
  await shot(page, "08-case-publisher-scanned");

  step("reviewer requests changes");
  page = reviewerPage;
  await signIn(page, admin);
  await page.getByRole("link", { name: "Review" }).click();
  await page.getByRole("heading", { name: "Review queue" }).waitFor();
  await page.getByRole("link", { name: `${namespace}/${product.slug}` }).click();
  await waitForText(page.getByTestId("case-state"), "in_review");
  check(await page.getByRole("button", { name: "Approve" }).isDisabled(), "approval is offered while findings block it");
  // Each blocking finding is ticked for the publisher's checklist before the reviewer touches anything.
  for (const blocker of findingBlockers) {
    const box = page.getByRole("checkbox", { name: `Ask the publisher to fix ${blocker.vulnerability_id} in ${blocker.package}`, exact: true }).first();
    check(await box.isChecked(), `${blocker.vulnerability_id} in ${blocker.package} is not ticked for the checklist`);
  }
  const blockingKeys = new Set(findingBlockers.map((blocker) => `${blocker.image_digest}|${blocker.vulnerability_id}`));
  await page.getByLabel("Reason or note for the publisher").fill("Update the wheels with Critical and Major advisories.");
  await shot(page, "09-case-reviewer");
  await checkAccessibility(page, "reviewer-case");
  await page.getByRole("button", { name: "Request changes" }).click();
  await waitForText(page.getByTestId("case-state"), "changes_requested");
  reviewed = await reviewCase(adminToken);
  const checklist = reviewed.rounds[0].checklist.findings;
  check(checklist.length === blockingKeys.size, `the checklist has ${checklist.length} findings, expected ${blockingKeys.size}`);

  step("publisher reads the checklist");
  page = publisherPage;
  await waitForText(page.getByTestId("version-state"), "changes_requested");
  const checklistBox = page.getByTestId("checklist-round-1");
  for (const item of checklist) await checklistBox.getByText(item.vulnerability_id, { exact: true }).first().waitFor();
  await page.getByText("Update the wheels with Critical and Major advisories.", { exact: true }).waitFor();
  await shot(page, "10-case-checklist");
  await checkAccessibility(page, "publisher-checklist");

  step("fix and resubmit");
  const fixed = await harness(["push", "reviewed", `${registry}/${staging}`], { username: publisher.username, token: publisher.token });
  console.log(`         pushed ${staging} (${fixed.wheels.join(", ")}): ${fixed.digest}`);
  await page.getByRole("button", { name: "Resubmit for review" }).click();
  await page.getByRole("table", { name: "Scan results of round 2" }).waitFor({ timeout: SCAN_TIMEOUT });
  await waitForText(page.getByTestId("case-state"), "in_review", SCAN_TIMEOUT);
  reviewed = await reviewCase(adminToken);
  const round2Scans = reviewed.rounds[1].images.map((image) => image.scan);
  check(round2Scans.every((scan) => scan?.status === "completed" && scan.digest === fixed.digest), `the scans of round 2 are ${JSON.stringify(round2Scans)}`);
  check(reviewed.blockers.length === 0, `approval is still blocked: ${JSON.stringify(reviewed.blockers)}`);
  check((await page.getByTestId("blockers").count()) === 0, "the publisher's page still lists blockers");

  step("reviewer approves");
  page = reviewerPage;
  await page.reload();
  await waitForText(page.getByTestId("case-state"), "in_review");
  await page.getByRole("button", { name: "Approve" }).click();
  await waitForText(page.getByTestId("case-state"), "approved");

  step("promotion and publication");
  page = publisherPage;
  // The publisher's page follows the version through approval and promotion.
  await waitForText(page.getByTestId("version-state"), "published", 60_000);
  await page.getByText("listing published").waitFor();
  check((await listingStatus()) === "published", `the listing is ${await listingStatus()}`);
  await page.getByRole("link", { name: "store page" }).click();
  await page.getByRole("heading", { name: product.name }).waitFor();
  await shot(page, "11-product-publisher");
  // The full feeds add advisories published since September 2023. They are imported
  // while the customer shops, and the listing stays live until a fix deadline passes.
  const staged = await stageFullFeeds();
  console.log(`         full feeds: ${JSON.stringify(staged.records)}`);
  const fullImported = inBackground(importFeeds(adminToken));

  step("customer signs up and searches");
  page = customerPage;
  await signUp(page, customer, "Customer");
  await verifyEmail(customer.email);
  await signIn(page, customer);
  await page.getByRole("link", { name: "Search", exact: true }).click();
  await page.getByRole("searchbox", { name: "Search the store" }).fill("harbour notes");
  await page.getByRole("button", { name: "Search", exact: true }).click();
  await page.getByText("1 result", { exact: true }).waitFor();
  await shot(page, "12-search");
  await checkAccessibility(page, "search");
  await page.getByRole("link", { name: product.name }).click();
  await page.getByRole("heading", { name: product.name }).waitFor();
  // decode() waits for the image, and fails when the address serves no image.
  const logoWidth = await page
    .getByRole("img", { name: `${product.name} logo` })
    .evaluate((image) => image.decode().then(() => image.naturalWidth, () => 0));
  check(logoWidth === 512, `the product logo did not load: its width is ${logoWidth}`);
  const professional = page.getByRole("listitem", { name: "Tier Professional" });
  check((await professional.getByText("You own this tier").count()) === 0, "the customer owns the paid tier before buying it");
  await shot(page, "13-product");

  step("sandbox checkout");
  await professional.getByRole("checkbox").check();
  await professional.getByRole("button", { name: "Buy" }).click();
  await page.getByText("Sandbox payment: no money moves.").waitFor();
  await page.getByText("Professional: 19.00 EUR per month").waitFor();
  await shot(page, "14-checkout");
  // NOTE: axe does not check this page. It is the billing sandbox's stand-in for Stripe's checkout.
  await page.getByRole("button", { name: "Pay" }).click();

  step("customer owns the tier");
  // Back on the product page, which waits for the entitlement that the payment grants.
  await professional.getByText("You own this tier").waitFor({ timeout: 60_000 });
  const pullCommand = await professional.getByTestId("pull-command").textContent();
  check(pullCommand === `docker pull ${storeReference}`, `the pull command is "${pullCommand}", expected "docker pull ${storeReference}"`);
  await shot(page, "15-product-owned");
  await checkAccessibility(page, "product-owned");
  const listing = await api(`/api/catalog/store/${namespace}/${product.slug}`);
  const paidTier = listing.tiers.find((tier) => tier.name === "Professional");
  const entitlements = await api("/api/licensing/entitlements?limit=100", { token: await apiToken(customer) });
  check(
    entitlements.items.some((item) => item.tier_id === paidTier.id && item.status === "active"),
    `licensing has no active entitlement to the paid tier: ${JSON.stringify(entitlements.items)}`,
  );

  step("customer pulls with the pull command");
  customer.token = await createToken(page, "pulls", "pull");
  const pulled = await harness(["pull", pullCommand.replace(/^docker pull /, "")], { username: customer.username, token: customer.token });
  check(pulled.digest === fixed.digest, `the pull returned ${pulled.digest}, the approved image is ${fixed.digest}`);

  step("a new advisory opens a fix deadline");
  await fullImported();
  const slaCase = await eventually(async () => {
    const cases = await api("/api/moderation/sla-cases?limit=100", { token: adminToken });
    return cases.items.find((item) => item.product_id === listing.id && item.finding_class === "critical" && item.state === "open");
  }, "moderation opens a Critical SLA case for the published image", { timeout: 90_000, interval: 1000 });
  console.log(`         SLA case for ${slaCase.vulnerability_id} in ${slaCase.package}, deadline ${slaCase.deadline}`);

  step("the deadline passes and the listing is held");
  moveClockTo(new Date(new Date(slaCase.deadline).getTime() + 5 * 60_000));
  await eventually(async () => (await listingStatus()) === "held", "the listing is held", { timeout: 60_000, interval: 1000 });
  await page.goto(`${base}/store/${namespace}/${product.slug}`);
  const label = page.getByTestId("warning-label");
  await label.waitFor();
  const labelText = await label.textContent();
  check(labelText.includes("Security hold:") && labelText.includes(slaCase.vulnerability_id), `the warning label reads "${labelText}"`);
  // The customer keeps the paid tier while the listing is held.
  await professional.getByText("You own this tier").waitFor();
  await shot(page, "16-held-label");
  await page.goto(`${base}/search?q=harbour+notes`);
  await page.getByText("Security hold", { exact: true }).waitFor();
  await shot(page, "17-search-held");

  step("phone width");
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto(`${base}/store/${namespace}/${product.slug}`);
  await page.getByTestId("warning-label").waitFor();
  await shot(page, "18-product-phone");
  await checkAccessibility(page, "product-phone");
  // axe does not check reflow (WCAG 2.1 success criterion 1.4.10), so the journey checks
  // that the page does not scroll sideways at this width, nor at the 320 CSS pixels the
  // criterion names.
  for (const width of [390, 320]) {
    await page.setViewportSize({ width, height: 844 });
    const pageWidth = await page.evaluate(() => document.documentElement.scrollWidth);
    check(pageWidth <= width, `the product page is ${pageWidth} pixels wide in a ${width} pixel viewport, so it scrolls sideways`);
  }

  const accessibilityFailures = accessibilityFailureSummary();
  check(accessibilityFailures === null, accessibilityFailures);
  check(pageErrors.length === 0, `uncaught page errors: ${pageErrors.join("; ")}`);
  step("journey passed");
} catch (error) {
  for (const [name, failed] of [["publisher", publisherPage], ["reviewer", reviewerPage], ["customer", customerPage]]) {
    await shot(failed, `failure-${name}`).catch(() => {});
  }
  console.error(`journey failed at step "${currentStepName()}": ${error.message}`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
