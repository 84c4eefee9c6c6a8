import { describe, expect, it } from "vitest";
import {
  DEFAULT_FILTERS,
  isDefaultQueue,
  onlyStateFiltered,
  queueQuery,
  readQueueFilters,
  writeQueueFilters,
} from "./queueFilters";

describe("readQueueFilters", () => {
  it("defaults to the cases in review", () => {
    expect(readQueueFilters(new URLSearchParams())).toEqual(DEFAULT_FILTERS);
  });

  it("reads every filter from the URL", () => {
    const params = new URLSearchParams("state=any&type=plugin&critical=yes&min_age_hours=48&assignee=me");

    expect(readQueueFilters(params)).toEqual({
      state: "any",
      productType: "plugin",
      critical: "yes",
      minAgeHours: "48",
      assignee: "me",
    });
  });

  it("reads the withdrawn state", () => {
    expect(readQueueFilters(new URLSearchParams("state=withdrawn")).state).toBe("withdrawn");
  });

  it("ignores values outside the choices", () => {
    const params = new URLSearchParams("state=closed&type=vm&critical=maybe&min_age_hours=-3&assignee=someone");

    expect(readQueueFilters(params)).toEqual(DEFAULT_FILTERS);
  });
});

describe("writeQueueFilters", () => {
  it("leaves defaults out of the URL", () => {
    expect(writeQueueFilters(DEFAULT_FILTERS).toString()).toBe("");
    expect(isDefaultQueue(DEFAULT_FILTERS)).toBe(true);
  });

  it("round-trips through readQueueFilters", () => {
    const filters = { ...DEFAULT_FILTERS, state: "approved" as const, minAgeHours: "1.5", assignee: "none" as const };

    expect(readQueueFilters(writeQueueFilters(filters))).toEqual(filters);
  });
});

describe("onlyStateFiltered", () => {
  it("tells a state choice from other filters", () => {
    expect(onlyStateFiltered({ ...DEFAULT_FILTERS, state: "rejected" })).toBe(true);
    expect(onlyStateFiltered({ ...DEFAULT_FILTERS, critical: "no" })).toBe(false);
  });
});

describe("queueQuery", () => {
  it("sends nothing for the 'any' choices", () => {
    const query = queueQuery({ state: "any", productType: "any", critical: "any", minAgeHours: "", assignee: "any" });

    expect(query).toEqual({
      state: undefined,
      product_type: undefined,
      has_critical_findings: undefined,
      min_age_hours: undefined,
      assignee: undefined,
    });
  });

  it("converts each filter to the API's parameter", () => {
    const query = queueQuery({ state: "in_review", productType: "image", critical: "no", minAgeHours: "72", assignee: "none" });

    expect(query).toEqual({
      state: "in_review",
      product_type: "image",
      has_critical_findings: false,
      min_age_hours: 72,
      assignee: "none",
    });
  });
});
