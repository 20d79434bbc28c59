// The four time charts, drawn with uPlot. Each chart keeps its uPlot instance and
// only swaps data on a refresh, so the page does not flicker every interval.
//
// Every chart element carries `data-points` (values drawn) and `data-nonzero`
// (values above zero), in total and per series (`data-points-p50`, ...): what
// the end-to-end test reads, and handy when inspecting the page.
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

import { TIME_ZONE } from "./format.js";

const HEIGHT = 200;
const COLORS = {
  blue: "#2563eb",
  red: "#dc2626",
  amber: "#d97706",
  green: "#16a34a",
  gray: "#6b7280",
};

const hourMinute = new Intl.DateTimeFormat("pt-BR", {
  timeZone: TIME_ZONE,
  hour: "2-digit",
  minute: "2-digit",
});
const dayMonth = new Intl.DateTimeFormat("pt-BR", {
  timeZone: TIME_ZONE,
  day: "2-digit",
  month: "2-digit",
});

/** Time axis labels in 24 h Brazilian style; the day too once the axis spans days. */
function timeLabels(u, splits, axisIndex, space, increment) {
  const span = u.scales.x.max - u.scales.x.min;
  return splits.map((seconds) => {
    const date = new Date(seconds * 1000);
    if (increment >= 86_400) return dayMonth.format(date);
    if (span > 86_400) return `${dayMonth.format(date)}\n${hourMinute.format(date)}`;
    return hourMinute.format(date);
  });
}

// Sparse series (error rate, latency: nothing in minutes without calls) are
// drawn with their points, or a lone busy minute would not show at all.
function line(label, color, { dots = false, ...extra } = {}) {
  const points = dots ? { show: true, size: 6, fill: color } : { show: false };
  return { label, stroke: color, width: 2, spanGaps: false, points, ...extra };
}

const autoRange = (u, min, max) => [0, Math.max(1, max * 1.1)];

/** uPlot options shared by the time charts; `yRange` fixes the y scale. */
function timeOptions(width, series, yLabel, yRange = autoRange) {
  return {
    width,
    height: HEIGHT,
    // Axis ticks in Brasília time, like every other date on the page.
    tzDate: (seconds) => uPlot.tzDate(new Date(seconds * 1000), TIME_ZONE),
    scales: { y: { range: yRange } },
    axes: [{ values: timeLabels, space: 60 }, { label: yLabel, size: 56 }],
    series: [{ label: "Horário" }, ...series],
    // Series names only: a phone has no cursor to fill in live values.
    legend: { live: false },
  };
}

/** A chart bound to one element, redrawn with `show(options, data)`. */
class Chart {
  constructor(element) {
    this.element = element;
    this.plot = null;
    this.shape = "";
    // Follow the card's width: the grid reflows from one to two columns.
    new ResizeObserver(() => this.resize()).observe(element);
  }

  width() {
    return Math.max(240, this.element.clientWidth);
  }

  resize() {
    this.plot?.setSize({ width: this.width(), height: HEIGHT });
  }

  draw() {
    this.plot?.destroy();
    this.plot = new uPlot(this.makeOptions(this.width()), this.data, this.element);
  }

  /**
   * Draw `data`; `shape` names the options, so they are rebuilt only when it
   * changes. `keys` name the y series for their data attributes.
   */
  show(shape, makeOptions, data, keys = []) {
    this.data = data;
    if (this.plot && shape === this.shape) {
      this.plot.setData(data);
    } else {
      this.shape = shape;
      this.makeOptions = makeOptions;
      this.draw();
    }
    const count = (values) => ({
      points: String(values.filter((v) => v != null).length),
      nonzero: String(values.filter((v) => v != null && v > 0).length),
    });
    Object.assign(this.element.dataset, count(data.slice(1).flat()));
    keys.forEach((key, i) => {
      const { points, nonzero } = count(data[i + 1]);
      this.element.dataset[`points${key}`] = points;
      this.element.dataset[`nonzero${key}`] = nonzero;
    });
  }
}

function seriesColumns(points, stepMinutes) {
  const x = points.map((p) => Date.parse(p.at) / 1000);
  const perMinute = points.map((p) => p.calls / stepMinutes);
  // No calls means no rate and no latency: a gap, not a misleading zero.
  const rate = (n, p) => (p.calls ? (100 * n) / p.calls : null);
  return {
    x,
    perMinute,
    errors: points.map((p) => rate(p.errors, p)),
    serverErrors: points.map((p) => rate(p.serverErrors, p)),
    avg: points.map((p) => (p.calls ? p.avgMs : null)),
    p50: points.map((p) => (p.calls ? p.p50Ms : null)),
    p95: points.map((p) => (p.calls ? p.p95Ms : null)),
    // Null in a step without cache reads: no rate, not 0%.
    cache: points.map((p) => (p.cacheHitRate == null ? null : 100 * p.cacheHitRate)),
  };
}

/** Creates the charts once; `showMetrics` redraws them from getSystemMetrics. */
export function createCharts() {
  const charts = {
    calls: new Chart(document.getElementById("chart-calls")),
    errors: new Chart(document.getElementById("chart-errors")),
    latency: new Chart(document.getElementById("chart-latency")),
    cache: new Chart(document.getElementById("chart-cache")),
  };

  function showMetrics(metrics) {
    const { stepMinutes, points } = metrics.series;
    const c = seriesColumns(points, stepMinutes);
    charts.calls.show(
      "calls",
      (w) =>
        timeOptions(
          w,
          [line("Chamadas por minuto", COLORS.blue, { fill: "rgba(37,99,235,0.12)" })],
          "chamadas",
        ),
      [c.x, c.perMinute],
    );
    charts.errors.show(
      "errors",
      (w) =>
        timeOptions(
          w,
          [
            line("Todos os erros", COLORS.amber, { dots: true }),
            line("Erros do servidor", COLORS.red, { dots: true }),
          ],
          "%",
        ),
      [c.x, c.errors, c.serverErrors],
    );
    charts.latency.show(
      "latency",
      (w) =>
        timeOptions(
          w,
          [
            line("p50", COLORS.blue, { dots: true }),
            line("p95", COLORS.red, { dots: true }),
            line("Média", COLORS.gray, { dots: true, dash: [5, 4], width: 1.5 }),
          ],
          "ms",
        ),
      [c.x, c.p50, c.p95, c.avg],
      ["P50", "P95", "Avg"],
    );
    charts.cache.show(
      "cache",
      (w) =>
        timeOptions(
          w,
          [line("Acerto do cache", COLORS.green, { dots: true, fill: "rgba(22,163,74,0.12)" })],
          "%",
          [0, 100],
        ),
      [c.x, c.cache],
      ["Rate"],
    );
  }

  return { showMetrics };
}
