import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";

// The API client keeps the fetch it finds when it is created, so the stub must exist first.
const fetchMock = vi.hoisted(() => {
  const mock = vi.fn();
  globalThis.fetch = mock;
  return mock;
});

import { ClassificationForm, WaiverForm } from "./FindingForms";
import type { Finding } from "./findings";

const FINDING = {
  image_digest: "sha256:aa",
  vulnerability_id: "CVE-2024-0001",
  package: "openssl",
  effective_class: "critical",
} as Finding;

function respond(status: number, body: object) {
  const type = status < 300 ? "application/json" : "application/problem+json";
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": type } });
}

function errorOf(input: HTMLElement): string | undefined {
  const ids = (input.getAttribute("aria-describedby") ?? "").split(" ");
  return ids.map((id) => document.getElementById(id)).find((element) => element?.getAttribute("role") === "alert")?.textContent ?? undefined;
}

afterEach(() => {
  cleanup();
  fetchMock.mockReset();
});

describe("WaiverForm", () => {
  it("shows the expiry error beside the expiry field", async () => {
    fetchMock.mockResolvedValueOnce(
      respond(422, { status: 422, detail: "Waiver expiry 2020-01-01T00:00:00+00:00 is not in the future", field: "expires_at" }),
    );
    render(<WaiverForm caseId="c1" finding={FINDING} onDone={() => {}} onCancel={() => {}} />);
    fireEvent.change(screen.getByLabelText("Reason for waiving CVE-2024-0001"), { target: { value: "Not shipped" } });
    fireEvent.change(screen.getByLabelText("Waived until (optional)"), { target: { value: "2020-01-01T00:00" } });

    fireEvent.click(screen.getByRole("button", { name: "Waive finding" }));

    await waitFor(() => expect(errorOf(screen.getByLabelText("Waived until (optional)"))).toContain("is not in the future"));
    expect(errorOf(screen.getByLabelText("Reason for waiving CVE-2024-0001"))).toBeUndefined();
    const body = await (fetchMock.mock.calls[0][0] as Request).json();
    expect(body).toEqual({
      image_digest: "sha256:aa",
      vulnerability_id: "CVE-2024-0001",
      reason: "Not shipped",
      expires_at: new Date(2020, 0, 1).toISOString(),
    });
  });

  it("shows an error naming no field of the form in the banner", async () => {
    fetchMock.mockResolvedValueOnce(respond(403, { status: 403, detail: "This action needs the staff role reviewer or security" }));
    render(<WaiverForm caseId="c1" finding={FINDING} onDone={() => {}} onCancel={() => {}} />);

    fireEvent.click(screen.getByRole("button", { name: "Waive finding" }));

    expect((await screen.findByRole("alert")).textContent).toBe("This action needs the staff role reviewer or security");
  });

  it("reports the waiver when saved", async () => {
    fetchMock.mockResolvedValueOnce(respond(201, { id: "w1", expires_at: null }));
    const onDone = vi.fn();
    render(<WaiverForm caseId="c1" finding={FINDING} onDone={onDone} onCancel={() => {}} />);
    fireEvent.change(screen.getByLabelText("Reason for waiving CVE-2024-0001"), { target: { value: "Not shipped" } });

    fireEvent.click(screen.getByRole("button", { name: "Waive finding" }));

    await waitFor(() => expect(onDone).toHaveBeenCalledWith("CVE-2024-0001 is waived."));
    expect((fetchMock.mock.calls[0][0] as Request).url).toContain("/api/moderation/cases/c1/waivers");
  });
});

describe("ClassificationForm", () => {
  it("starts at the current class and sends the chosen one", async () => {
    fetchMock.mockResolvedValueOnce(respond(200, []));
    const onDone = vi.fn();
    render(<ClassificationForm caseId="c1" finding={FINDING} onDone={onDone} onCancel={() => {}} />);
    const select = screen.getByLabelText("Class") as HTMLSelectElement;
    expect(select.value).toBe("critical");
    fireEvent.change(select, { target: { value: "minor" } });
    fireEvent.change(screen.getByLabelText("Reason for the class of CVE-2024-0001"), { target: { value: "Local only" } });

    fireEvent.click(screen.getByRole("button", { name: "Set class" }));

    await waitFor(() => expect(onDone).toHaveBeenCalledWith("CVE-2024-0001 is now classified minor."));
    const body = await (fetchMock.mock.calls[0][0] as Request).json();
    expect(body.finding_class).toBe("minor");
    expect(body.reason).toBe("Local only");
  });
});
