// Brazilian Portuguese formatting of the figures the backend returns.

// The business runs on Brasília time; every date on the page uses it, so two
// operators in different places read the same hours.
export const TIME_ZONE = "America/Sao_Paulo";

const integer = new Intl.NumberFormat("pt-BR", { maximumFractionDigits: 0 });
const decimal = new Intl.NumberFormat("pt-BR", { maximumFractionDigits: 1 });
const fine = new Intl.NumberFormat("pt-BR", { maximumFractionDigits: 2 });
const percent = new Intl.NumberFormat("pt-BR", {
  style: "percent",
  maximumFractionDigits: 1,
});
const dateTime = new Intl.DateTimeFormat("pt-BR", {
  timeZone: TIME_ZONE,
  dateStyle: "short",
  timeStyle: "short",
});
const clock = new Intl.DateTimeFormat("pt-BR", {
  timeZone: TIME_ZONE,
  timeStyle: "medium",
});

const EMPTY = "—";

export function formatInteger(value) {
  return value == null ? EMPTY : integer.format(value);
}

export function formatMs(value) {
  if (value == null) return EMPTY;
  // A store ping takes a fraction of a millisecond: keep it from reading "0 ms".
  return `${(value < 10 ? fine : decimal).format(value)} ms`;
}

/** A rate in [0, 1] as a percentage; null (no data) as a dash. */
export function formatRate(value) {
  return value == null ? EMPTY : percent.format(value);
}

export function formatBytes(bytes) {
  if (bytes == null) return EMPTY;
  const units = ["B", "KB", "MB", "GB", "TB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${unit === 0 ? integer.format(value) : decimal.format(value)} ${units[unit]}`;
}

export function formatDateTime(iso) {
  return iso ? dateTime.format(new Date(iso)) : EMPTY;
}

export function formatClock(date) {
  return clock.format(date);
}

/** "há instantes", "há 5 min", "há 3 h", "há 2 dias": how long ago `iso` was, from `now`. */
export function formatAge(iso, now = Date.now()) {
  if (!iso) return EMPTY;
  const seconds = Math.max(0, (now - new Date(iso).getTime()) / 1000);
  if (seconds < 60) return "há instantes";
  const minutes = seconds / 60;
  if (minutes < 60) return `há ${Math.floor(minutes)} min`;
  const hours = minutes / 60;
  if (hours < 48) return `há ${Math.floor(hours)} h`;
  return `há ${Math.floor(hours / 24)} dias`;
}

export function formatDuration(ms) {
  if (ms == null) return EMPTY;
  return ms < 1000 ? `${integer.format(ms)} ms` : `${decimal.format(ms / 1000)} s`;
}
