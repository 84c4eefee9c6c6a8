import { describe, expect, it } from "vitest";
import { applyChange, isSubscribed, productScopes, type Subscription } from "./notices";

function subscription(topic: Subscription["topic"], scopeId: string, active = true): Subscription {
  return {
    id: `${topic}-${scopeId}`,
    topic,
    scope: topic === "updates" || topic === "security" ? "product" : "organisation",
    scope_id: scopeId,
    active,
    created_at: "2024-01-01T00:00:00Z",
    updated_at: "2024-01-01T00:00:00Z",
  };
}

describe("isSubscribed", () => {
  it("needs an active row for the topic and scope", () => {
    const rows = [subscription("updates", "p1"), subscription("security", "p1", false)];

    expect(isSubscribed(rows, "updates", "p1")).toBe(true);
    expect(isSubscribed(rows, "security", "p1")).toBe(false);
    expect(isSubscribed(rows, "updates", "p2")).toBe(false);
  });
});

describe("productScopes", () => {
  it("lists subscribed products first, each once, without organisations", () => {
    const rows = [subscription("security", "p2"), subscription("sla", "org1"), subscription("updates", "p2")];

    expect(productScopes(rows, ["p1", "p2", "p3", "p1"])).toEqual(["p2", "p1", "p3"]);
  });
});

describe("applyChange", () => {
  it("adds the row a subscribe returns", () => {
    const added = subscription("updates", "p1");

    expect(applyChange([], "updates", "p1", added)).toEqual([added]);
  });

  it("replaces the existing row on a subscribe", () => {
    const old = subscription("updates", "p1", false);
    const renewed = { ...old, active: true, updated_at: "2024-02-01T00:00:00Z" };

    expect(applyChange([old], "updates", "p1", renewed)).toEqual([renewed]);
  });

  it("marks the row inactive on an unsubscribe", () => {
    const rows = [subscription("updates", "p1"), subscription("security", "p1")];

    const changed = applyChange(rows, "updates", "p1", null);

    expect(changed[0].active).toBe(false);
    expect(changed[1].active).toBe(true);
  });
});
