import { describe, expect, it } from "vitest";
import { formatCountdown, formatDuration, millisecondsLeft, urgency } from "./countdown";

const HOUR = 3600_000;

describe("millisecondsLeft", () => {
  it("counts down from the server's time left", () => {
    const sla = { deadline: "2030-01-01T00:00:00Z", time_left_seconds: 7200 };

    expect(millisecondsLeft(sla, 1_000, 1_000)).toBe(2 * HOUR);
    expect(millisecondsLeft(sla, 1_000, 61_000)).toBe(2 * HOUR - 60_000);
  });

  it("ignores a browser clock that disagrees with the deadline", () => {
    // The browser clock reads 2020, and the server reports one hour left.
    const now = Date.parse("2020-01-01T00:00:00Z");
    const sla = { deadline: "2030-01-01T00:00:00Z", time_left_seconds: 3600 };

    expect(millisecondsLeft(sla, now, now)).toBe(HOUR);
  });

  it("falls back to the deadline without a server time", () => {
    const now = Date.parse("2030-01-01T00:00:00Z");

    expect(millisecondsLeft({ deadline: "2030-01-01T03:00:00Z", time_left_seconds: null }, 0, now)).toBe(3 * HOUR);
  });

  it("goes negative once the deadline passed", () => {
    expect(millisecondsLeft({ deadline: "x", time_left_seconds: 10 }, 0, 15_000)).toBe(-5_000);
  });
});

describe("formatDuration", () => {
  it("shows days, hours and minutes beyond a day", () => {
    expect(formatDuration(71 * HOUR + 59 * 60_000 + 59_000)).toBe("2 d 23 h 59 min");
  });

  it("shows hours, minutes and seconds under a day", () => {
    expect(formatDuration(5 * HOUR + 7 * 60_000 + 9_000)).toBe("5 h 07 min 09 s");
  });

  it("shows minutes and seconds under an hour", () => {
    expect(formatDuration(61_000)).toBe("1 min 01 s");
  });

  it("shows seconds under a minute", () => {
    expect(formatDuration(42_999)).toBe("42 s");
  });

  it("shows the exact Major window as seven days", () => {
    expect(formatDuration(168 * HOUR)).toBe("7 d 00 h 00 min");
  });

  it("uses the magnitude of a negative duration", () => {
    expect(formatDuration(-90_000)).toBe("1 min 30 s");
  });
});

describe("formatCountdown", () => {
  it("says the time left before the deadline", () => {
    expect(formatCountdown(72 * HOUR)).toBe("3 d 00 h 00 min left");
  });

  it("says how long ago the deadline passed", () => {
    expect(formatCountdown(-2 * HOUR)).toBe("overdue by 2 h 00 min 00 s");
  });

  it("counts the deadline instant itself as overdue", () => {
    expect(formatCountdown(0)).toBe("overdue by 0 s");
  });
});

describe("urgency", () => {
  it("marks a passed deadline overdue", () => {
    expect(urgency(-1)).toBe("overdue");
    expect(urgency(0)).toBe("overdue");
  });

  it("marks the last day urgent", () => {
    expect(urgency(23 * HOUR)).toBe("urgent");
  });

  it("leaves a deadline more than a day away normal", () => {
    expect(urgency(25 * HOUR)).toBe("normal");
  });
});
