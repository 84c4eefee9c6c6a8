import { cleanup, render } from "@testing-library/react";
import { afterEach, describe, expect, it } from "vitest";
import { formatDateTime } from "./common";
import { WaivedLabel } from "./Waiver";

afterEach(cleanup);

describe("WaivedLabel", () => {
  it("shows the reason and expiry beside the label", () => {
    const expiry = "2026-02-04T12:00:00+00:00";
    const { container } = render(
      <WaivedLabel waived waiver={{ kind: "not_affected", reason: "sandboxed templates only", expires_at: expiry }} />,
    );

    expect(container.querySelector(".badge")?.textContent).toBe("waived");
    expect(container.textContent).toContain("Not affected: sandboxed templates only");
    expect(container.textContent).toContain(`until ${formatDateTime(expiry)}`);
  });

  it("says when a waiver has no expiry", () => {
    const { container } = render(<WaivedLabel waived waiver={{ kind: "false_positive", reason: "wrong package", expires_at: null }} />);

    expect(container.textContent).toContain("False positive: wrong package (no expiry)");
  });

  it("shows only the label without waiver details", () => {
    const { container } = render(<WaivedLabel waived waiver={null} />);

    expect(container.textContent).toBe("waived");
  });

  it("renders nothing for a finding not waived", () => {
    const { container } = render(<WaivedLabel waived={false} waiver={null} />);

    expect(container.textContent).toBe("");
  });
});
