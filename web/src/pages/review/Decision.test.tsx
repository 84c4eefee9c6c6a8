import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Schemas } from "../../api/client";

// The API client keeps the fetch it finds when it is created, so the stub must exist first.
const fetchMock = vi.hoisted(() => {
  const mock = vi.fn();
  globalThis.fetch = mock;
  return mock;
});

import { blockerLines, Decision, decisionBody } from "./Decision";

const CASE = {
  id: "c1",
  state: "in_review",
  blockers: [],
  rounds: [],
  current_round: 1,
} as unknown as Schemas["moderation.CaseDetail"];

function problem(status: number, body: object) {
  return new Response(JSON.stringify({ status, ...body }), {
    status,
    headers: { "Content-Type": "application/problem+json" },
  });
}

afterEach(() => {
  cleanup();
  fetchMock.mockReset();
});

describe("decisionBody", () => {
  it("sends an approval note or null", () => {
    expect(decisionBody("approve", "  ", [], [])).toEqual({ note: null });
    expect(decisionBody("approve", " Looks good ", [], [])).toEqual({ note: "Looks good" });
  });

  it("sends the checklist of a change request without empty manifest rows", () => {
    const findings = [{ image_digest: "sha256:aa", vulnerability_id: "CVE-1" }];
    const manifest = [
      { field: " support.url ", message: " Returns 404 " },
      { field: "", message: "" },
    ];

    expect(decisionBody("request-changes", "", findings, manifest)).toEqual({
      reason: null,
      findings,
      manifest: [{ field: "support.url", message: "Returns 404" }],
    });
  });
});

describe("blockerLines", () => {
  it("lists the detail of each blocker", () => {
    expect(blockerLines({ blockers: [{ detail: "Scan pending" }, { kind: "x" }] })).toEqual(["Scan pending", '{"kind":"x"}']);
    expect(blockerLines({ detail: "Conflict" })).toEqual([]);
  });
});

describe("Decision", () => {
  it("lists the blockers of a refused approval", async () => {
    fetchMock.mockResolvedValueOnce(
      problem(409, { detail: "Review case c1 cannot be approved", blockers: [{ detail: "Critical finding CVE-1 is open" }] }),
    );
    render(<Decision reviewCase={CASE} checklist={[]} onDecided={() => {}} />);

    fireEvent.click(screen.getByRole("button", { name: "Approve" }));

    const alert = await screen.findByRole("alert");
    expect(alert.textContent).toContain("cannot be approved");
    expect(alert.textContent).toContain("Critical finding CVE-1 is open");
  });

  it("shows a manifest item's error beside that item", async () => {
    fetchMock.mockResolvedValueOnce(
      problem(422, { detail: "Invalid request", errors: [{ field: "body.manifest.0.message", message: "must not be empty" }] }),
    );
    const onDecided = vi.fn();
    render(<Decision reviewCase={CASE} checklist={[]} onDecided={onDecided} />);
    fireEvent.click(screen.getByRole("button", { name: "Add a manifest item to correct" }));
    fireEvent.change(screen.getByLabelText("Manifest item 1"), { target: { value: "support.url" } });
    fireEvent.change(screen.getByLabelText("What to correct in item 1"), { target: { value: " x " } });

    fireEvent.click(screen.getByRole("button", { name: "Request changes" }));

    await waitFor(() => expect(screen.getByLabelText("What to correct in item 1").getAttribute("aria-invalid")).toBe("true"));
    const message = screen.getByLabelText("What to correct in item 1");
    const described = message.getAttribute("aria-describedby") ?? "";
    expect(described.split(" ").some((id) => document.getElementById(id)?.textContent === "must not be empty")).toBe(true);
    expect(onDecided).not.toHaveBeenCalled();
    const request = fetchMock.mock.calls[0][0] as Request;
    expect(request.url).toContain("/api/moderation/cases/c1/request-changes");
    expect(await request.json()).toEqual({ reason: null, findings: [], manifest: [{ field: "support.url", message: "x" }] });
  });

  it("rejects only with a reason", () => {
    render(<Decision reviewCase={CASE} checklist={[]} onDecided={() => {}} />);
    const reject = screen.getByRole("button", { name: "Reject" }) as HTMLButtonElement;

    expect(reject.disabled).toBe(true);
    fireEvent.change(screen.getByLabelText("Reason or note for the publisher"), { target: { value: "Malware" } });
    expect(reject.disabled).toBe(false);
  });
});
