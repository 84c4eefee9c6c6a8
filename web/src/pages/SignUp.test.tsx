import { cleanup, fireEvent, render, screen } from "@testing-library/react";
import { MemoryRouter } from "react-router-dom";
import { afterEach, describe, expect, it, vi } from "vitest";

// The API client keeps the fetch it finds when it is created, so the stub must exist first.
const fetchMock = vi.hoisted(() => {
  const mock = vi.fn();
  globalThis.fetch = mock;
  return mock;
});

import { SignUpPage } from "./Account";

const EMAIL = "ada+store@example.com";

function json(body: object, status = 200) {
  const type = status >= 400 ? "application/problem+json" : "application/json";
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": type } });
}

/** Serve the sign-up, and a local mailbox that returns `mailboxStatus` (403 in production). */
function serve(mailboxStatus: number) {
  fetchMock.mockImplementation(async (request: Request) => {
    const path = new URL(request.url).pathname;
    if (path === "/api/identity/users" && request.method === "POST") {
      return json({ id: "u1", username: "ada", email: EMAIL, display_name: "Ada", email_verified: false, created_at: "2025-01-01T00:00:00Z" }, 201);
    }
    if (path === "/api/notifications/mailbox") {
      return mailboxStatus === 200 ? json({ items: [], next_cursor: null }) : json({ status: mailboxStatus, detail: "The mailbox is not readable" }, mailboxStatus);
    }
    return json({ status: 404, detail: `unexpected ${request.method} ${path}` }, 404);
  });
}

async function signUp() {
  render(
    <MemoryRouter>
      <SignUpPage />
    </MemoryRouter>,
  );
  fireEvent.change(screen.getByLabelText("Username"), { target: { value: "ada" } });
  fireEvent.change(screen.getByLabelText("Email"), { target: { value: EMAIL } });
  fireEvent.change(screen.getByLabelText("Display name"), { target: { value: "Ada" } });
  fireEvent.change(screen.getByLabelText("Password"), { target: { value: "correct horse battery" } });
  fireEvent.click(screen.getByRole("button", { name: "Sign up" }));
  await screen.findByRole("heading", { name: "Check your email" });
}

afterEach(() => {
  cleanup();
  fetchMock.mockReset();
});

describe("Sign-up confirmation", () => {
  it("links to a readable local mailbox", async () => {
    serve(200);
    await signUp();

    const link = screen.getByRole("link", { name: `read the messages for ${EMAIL}` });
    expect(link.getAttribute("href")).toBe(`/api/notifications/mailbox?to=${encodeURIComponent(EMAIL)}`);
  });

  it("offers no link with a real mail server", async () => {
    serve(403);
    await signUp();

    expect(screen.getByRole("status").textContent).toContain(EMAIL);
    expect(screen.queryByRole("link", { name: /read the messages/ })).toBeNull();
  });
});
