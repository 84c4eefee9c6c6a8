import { useEffect, useRef } from "react";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { chartSeries, type DailyDownloads } from "./reportData";

// Both colours have a contrast of 3:1 or more against white (WCAG 2.1, non-text contrast).
const FREE_COLOUR = "#2f6fab";
const PAID_COLOUR = "#b35900";
const HEIGHT = 280;

/** Daily downloads of a month as stacked bars, free below paid, with uPlot on a canvas. */
export function DownloadsChart({ days, title }: { days: DailyDownloads[]; title: string }) {
  const container = useRef<HTMLDivElement>(null);

  useEffect(() => {
    const element = container.current;
    if (!element) return;
    const series = chartSeries(days);
    const bars = uPlot.paths.bars!({ size: [0.7, 40], gap: 1 });
    const options: uPlot.Options = {
      width: Math.max(element.clientWidth, 280),
      height: HEIGHT,
      scales: { x: { time: false, range: (_chart, min, max) => [min - 0.5, max + 0.5] }, y: { range: (_chart, _min, max) => [0, Math.max(max, 1)] } },
      axes: [
        { label: "Day of month (UTC)", stroke: "#1b1f24", grid: { show: false }, values: (_chart, ticks) => ticks.map((tick) => (Number.isInteger(tick) ? String(tick) : "")) },
        { label: "Downloads", stroke: "#1b1f24", values: (_chart, ticks) => ticks.map((tick) => (Number.isInteger(tick) ? String(tick) : "")) },
      ],
      series: [
        { label: "Day" },
        // Drawn first and as tall as free + paid, so the part above the free bar shows the paid count.
        { label: "Paid", fill: PAID_COLOUR, stroke: PAID_COLOUR, paths: bars, points: { show: false }, value: (_chart, _value, _series, index) => (index == null ? "—" : String(series.paid[index])) },
        { label: "Free", fill: FREE_COLOUR, stroke: FREE_COLOUR, paths: bars, points: { show: false } },
      ],
      cursor: { drag: { x: false, y: false } },
    };
    const chart = new uPlot(options, [series.days, series.stacked, series.free], element);

    const resize = new ResizeObserver(() => chart.setSize({ width: Math.max(element.clientWidth, 280), height: HEIGHT }));
    resize.observe(element);
    return () => {
      resize.disconnect();
      chart.destroy();
    };
  }, [days]);

  return (
    <figure className="chart">
      {/* The canvas is an image to assistive technology; the table below carries the same numbers. */}
      <div ref={container} role="img" aria-label={`${title}: bar chart of free and paid downloads per day`} />
      <figcaption>{title}</figcaption>
    </figure>
  );
}
