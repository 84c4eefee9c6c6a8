// Helpers of the browser journey: the browser, steps and checks, accessibility checks,
// accounts, the store's API for checks of state, and the Python harness for what a browser
// cannot do (skopeo, feeds).
import { chromium } from "playwright-core";
import { execFile } from "node:child_process";
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { promisify } from "node:util";

const REQUIRED = [
  "WHARF_E2E_BASE_URL",
  "WHARF_E2E_REGISTRY",
  "WHARF_E2E_FEED_DIR",
  "WHARF_E2E_OSV_SOURCE",
  "WHARF_E2E_CLOCK_OFFSET_FILE",
  "WHARF_E2E_UPLOADS",
  "WHARF_E2E_PYTHON",
  "WHARF_E2E_REPOSITORY",
  "WHARF_E2E_ADMIN_USERNAME",
  "WHARF_E2E_ADMIN_PASSWORD",
];
const missing = REQUIRED.filter((name) => !process.env[name]);
if (missing.length > 0) {
  console.error(`Set ${missing.join(", ")}: tests/web/test_browser_journey.py starts the stack and sets them`);
  process.exit(2);
}

export const base = process.env.WHARF_E2E_BASE_URL;
export const registry = process.env.WHARF_E2E_REGISTRY;
export const uploads = process.env.WHARF_E2E_UPLOADS;
export const admin = { username: process.env.WHARF_E2E_ADMIN_USERNAME, password: process.env.WHARF_E2E_ADMIN_PASSWORD };
const artifacts = process.env.WHARF_E2E_ARTIFACTS ?? "e2e-artifacts";
mkdirSync(artifacts, { recursive: true });

// The flags keep chromium from reaching out to Google's services, which a closed
// network refuses, and let it run as root in a container.
export function launchBrowser() {
  return chromium.launch({
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
}

const started = Date.now();
let currentStep = "start";

/** Log the step that starts now with the elapsed time. A failure message names the current step. */
export function step(name) {
  currentStep = name;
  console.log(`${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s  ${name}`);
}

export function currentStepName() {
  return currentStep;
}

export function check(condition, message) {
  if (!condition) throw new Error(message);
}

export async function shot(page, name) {
  await page.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true });
}

/** Wait until the element's whole text is `expected`, for at most `timeout` milliseconds. */
export async function waitForText(locator, expected, timeout = 30_000) {
  try {
    await locator.filter({ hasText: new RegExp(`^${expected}$`) }).waitFor({ timeout });
  } catch (error) {
    const actual = await locator.textContent({ timeout: 1000 }).catch(() => "(not on the page)");
    throw new Error(`expected the text "${expected}" within ${timeout / 1000} s, found "${actual}"`);
  }
}

/** Call `probe` until it returns a value other than null, undefined or false. */
export async function eventually(probe, description, { timeout = 60_000, interval = 500 } = {}) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const result = await probe();
    if (result !== null && result !== undefined && result !== false) return result;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeout / 1000} s waiting until ${description}`);
    await new Promise((resolve) => setTimeout(resolve, interval));
  }
}

// Accessibility checks with axe-core.

const axeScript = createRequire(import.meta.url).resolve("axe-core/axe.min.js");
// The WCAG 2.0 and 2.1 rules of levels A and AA. axe's best-practice rules are not run.
const AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"];
const BLOCKING_IMPACTS = new Set(["serious", "critical"]);
// Elements shown per violation in the log. The JSON file lists every element.
const TARGETS_SHOWN = 3;
const accessibilityFailures = [];

/**
 * Run axe-core on the page as it is now and write its full results to `axe-NAME.json` in
 * the artifacts folder. Violations of impact serious or critical are logged and recorded
 * for `accessibilityFailureSummary`, so the journey goes on and one run reports every page.
 */
export async function checkAccessibility(page, name) {
  const start = Date.now();
  // A full page load drops the script, and a client-side navigation keeps it.
  if (!(await page.evaluate(() => "axe" in window))) await page.addScriptTag({ path: axeScript });
  const results = await page.evaluate((tags) => window.axe.run(document, { runOnly: { type: "tag", values: tags } }), AXE_TAGS);
  writeFileSync(join(artifacts, `axe-${name}.json`), JSON.stringify(results, null, 2));

  const blocking = results.violations.filter((violation) => BLOCKING_IMPACTS.has(violation.impact));
  const seconds = ((Date.now() - start) / 1000).toFixed(1);
  console.log(`         axe on ${name} (${seconds} s): ${results.violations.length} violations, ${blocking.length} serious or critical`);
  for (const violation of blocking) {
    const targets = violation.nodes.slice(0, TARGETS_SHOWN).map((node) => node.target.join(" "));
    const more = violation.nodes.length > TARGETS_SHOWN ? ` and ${violation.nodes.length - TARGETS_SHOWN} more` : "";
    console.log(`           ${violation.id} (${violation.impact}): ${violation.help}: ${targets.join(", ")}${more}`);
    accessibilityFailures.push(`${name}: ${violation.id}`);
  }
}

/** Return a sentence listing the serious and critical violations found so far, or null when there are none. */
export function accessibilityFailureSummary() {
  if (accessibilityFailures.length === 0) return null;
  return `axe found serious or critical WCAG 2.1 AA violations (page: rule): ${accessibilityFailures.join(", ")}; see axe-*.json in ${artifacts}`;
}

// Accounts in the browser.

/** Sign in on the sign-in page. With `accessibilityCheck`, run axe on the filled form under that name first. */
export async function signIn(page, account, { accessibilityCheck } = {}) {
  await page.goto(`${base}/login`);
  await page.getByLabel("Username").fill(account.username);
  await page.getByLabel("Password").fill(account.password);
  if (accessibilityCheck) await checkAccessibility(page, accessibilityCheck);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: "Your account" }).waitFor();
}

export async function signUp(page, account, displayName) {
  await page.goto(`${base}/signup`);
  await page.getByLabel("Username").fill(account.username);
  await page.getByLabel("Email").fill(account.email);
  await page.getByLabel("Display name").fill(displayName);
  await page.getByLabel("Password").fill(account.password);
  await page.getByRole("button", { name: "Sign up" }).click();
  await page.getByRole("heading", { name: "Check your email" }).waitFor();
}

/** Follow the verification link that identity emailed to `email`. */
export async function verifyEmail(email) {
  const link = await verificationLink(email);
  const verified = await fetch(link.replace(/^https?:\/\/[^/]+/, base));
  check(verified.ok, `the verification link of ${email} returned ${verified.status}`);
}

async function verificationLink(email) {
  // The stack runs with WHARF_NOTIFICATIONS_MAILBOX_OPEN_READ=true, so the local
  // mailbox can be read without signing in. The email arrives through the event bus.
  return eventually(async () => {
    const response = await fetch(`${base}/api/notifications/mailbox?to=${encodeURIComponent(email)}`);
    if (!response.ok) return null;
    for (const message of (await response.json()).items) {
      const match = /https?:\/\/\S+\/email\/verify\?token=[^\s"<]+/.exec(message.body_text ?? "");
      if (match) return match[0];
    }
    return null;
  }, `a verification email reaches ${email}`, { timeout: 10_000, interval: 250 });
}

/** Create a personal access token on the account page and return its secret. */
export async function createToken(page, name, scope) {
  await page.goto(`${base}/account`);
  await page.getByLabel("Token name").fill(name);
  await page.getByLabel("Scope").selectOption(scope);
  await page.getByRole("button", { name: "Create token" }).click();
  const token = await page.getByTestId("new-token").textContent();
  check(token && token.length > 20, `the new token was not shown: ${token}`);
  return token;
}

// The store's API, for checks of the state behind the pages.

export async function api(path, { token, method = "GET", body } = {}) {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: {
      ...(token ? { Authorization: `Bearer ${token}` } : {}),
      ...(body === undefined ? {} : { "Content-Type": "application/json" }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path} returned ${response.status}: ${text.slice(0, 500)}`);
  return text ? JSON.parse(text) : null;
}

export async function apiToken(account) {
  const session = await api("/api/identity/sessions", { method: "POST", body: { username: account.username, password: account.password } });
  return session.access_token;
}

/** Import the OSV feeds staged in the store's feed folder, as staff. */
export function importFeeds(token) {
  return api("/api/scanning/vulnerability-feeds/imports", { token, method: "POST", body: {} });
}

/**
 * Let `promise` run while the journey goes on, and return a function that waits for it.
 * A rejection is kept until then, so Node.js never reports it as unhandled.
 */
export function inBackground(promise) {
  const settled = promise.then(
    (value) => ({ value }),
    (error) => ({ error }),
  );
  return async () => {
    const outcome = await settled;
    if (outcome.error) throw outcome.error;
    return outcome.value;
  };
}

// The Python harness, and the store's clock.

const execFileAsync = promisify(execFile);

/** Run `python -m tests.web.e2e_harness ARGS` and return the JSON it prints. */
export async function harness(args, credentials) {
  const environment = { ...process.env };
  if (credentials) {
    environment.WHARF_E2E_REGISTRY_USERNAME = credentials.username;
    environment.WHARF_E2E_REGISTRY_PASSWORD = credentials.token;
  }
  try {
    const { stdout } = await execFileAsync(process.env.WHARF_E2E_PYTHON, ["-m", "tests.web.e2e_harness", ...args], {
      cwd: process.env.WHARF_E2E_REPOSITORY,
      env: environment,
      timeout: 120_000,
    });
    return JSON.parse(stdout);
  } catch (error) {
    throw new Error(`the harness command ${args[0]} failed: ${error.stderr || error.message}`);
  }
}

export function stageFullFeeds() {
  return harness(["full-feeds", process.env.WHARF_E2E_OSV_SOURCE, process.env.WHARF_E2E_FEED_DIR]);
}

/** Move every service's clock forward so that it reads `moment` (a Date) now. */
export function moveClockTo(moment) {
  const file = process.env.WHARF_E2E_CLOCK_OFFSET_FILE;
  const seconds = Math.ceil((moment.getTime() - Date.now()) / 1000);
  check(seconds > 0, `the clock can only move forward, not to ${moment.toISOString()}`);
  // Written whole and renamed, so a service never reads half a number.
  writeFileSync(`${file}.tmp`, String(seconds));
  renameSync(`${file}.tmp`, file);
}
