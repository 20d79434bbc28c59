// Turns the backend's replies into the page's cards and tables. Text from the
// backend is always set as text, never parsed as HTML.
import {
  formatAge,
  formatBytes,
  formatDateTime,
  formatDuration,
  formatInteger,
  formatMs,
  formatRate,
} from "./format.js";

/** A small element builder: h("td", { class: "num" }, "12"). */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value != null) element.setAttribute(name, value);
  }
  element.append(...children.flat().filter((c) => c != null));
  return element;
}

function fill(id, ...children) {
  document.getElementById(id).replaceChildren(...children);
}

function badge(kind, text) {
  return h("span", { class: `badge badge-${kind}` }, text);
}

/** Headers are "Text" or ["Text", "class"]; the class also goes on the cells. */
function table(headers, rows, emptyText) {
  if (!rows.length) return h("p", { class: "muted" }, emptyText);
  const cells = headers.map((header) => (Array.isArray(header) ? header : [header, null]));
  return h(
    "table",
    {},
    h("thead", {}, h("tr", {}, cells.map(([text, cls]) => h("th", { scope: "col", class: cls }, text)))),
    h("tbody", {}, rows),
  );
}

// --- indicators ----------------------------------------------------------------

function kpi(label, value, hint) {
  return h(
    "div",
    { class: "kpi" },
    h("span", { class: "kpi-label" }, label),
    h("strong", { class: "kpi-value" }, value),
    hint ? h("span", { class: "kpi-hint" }, hint) : null,
  );
}

export function renderKpis(metrics) {
  const t = metrics.totals;
  fill(
    "kpis",
    kpi("Chamadas", formatInteger(t.calls)),
    kpi("Taxa de erro", formatRate(t.errorRate), `servidor: ${formatRate(t.serverErrorRate)}`),
    kpi("Latência p50", formatMs(t.p50Ms)),
    kpi("Latência p95", formatMs(t.p95Ms)),
    kpi("Usuários ativos", formatInteger(t.activeUsers)),
    kpi(
      "Acerto do cache",
      formatRate(metrics.cache.hitRate),
      `${formatInteger(metrics.cache.hits + metrics.cache.misses)} leituras`,
    ),
  );
}

// --- alerts ----------------------------------------------------------------------

const ALERT_RULES = {
  error_rate: { label: "Taxa de erro do servidor alta", format: formatRate },
  latency_p95: { label: "Latência p95 alta", format: formatMs },
  cache_hit_rate: { label: "Acerto do cache baixo", format: formatRate },
  cache_redis_down: { label: "Redis (cache compartilhado) inacessível" },
  backup_failed: { label: "Falha de backup" },
};

function alertFigure(alert) {
  const rule = ALERT_RULES[alert.rule];
  if (!rule?.format || alert.value == null) return null;
  const limit = alert.threshold == null ? "" : ` (limite ${rule.format(alert.threshold)})`;
  return h("span", { class: "alert-figure" }, `${rule.format(alert.value)}${limit}`);
}

function alertItem(alert, resolved) {
  const label = ALERT_RULES[alert.rule]?.label ?? alert.rule;
  const seen = `desde ${formatDateTime(alert.firstSeen)} · ${formatInteger(alert.count)}× · último ${formatAge(alert.lastSeen)}`;
  return h(
    "li",
    { class: resolved ? "alert resolved" : "alert open", "data-rule": alert.rule },
    h("div", {}, badge(resolved ? "ok" : "bad", resolved ? "Resolvido" : "Aberto"), " ", h("strong", {}, label)),
    alertFigure(alert),
    h("div", { class: "muted small" }, seen),
    resolved
      ? h(
          "div",
          { class: "muted small" },
          `resolvido ${formatAge(alert.resolvedAt)} (${formatDateTime(alert.resolvedAt)})`,
        )
      : null,
    alert.message ? h("div", { class: "muted small mono" }, alert.message) : null,
  );
}

/** The alerts open now, then those resolved within the chosen window. */
export function renderAlerts(open, recent) {
  fill(
    "alerts",
    open.length
      ? h("ul", { class: "alerts", id: "alerts-open" }, open.map((a) => alertItem(a, false)))
      : h("p", { class: "muted" }, "Nenhum alerta aberto."),
    h("h3", { class: "subhead" }, "Resolvidos nesta janela"),
    recent.length
      ? h("ul", { class: "alerts", id: "alerts-recent" }, recent.map((a) => alertItem(a, true)))
      : h("p", { class: "muted small" }, "Nenhum alerta resolvido nesta janela."),
  );
}

// --- cache -------------------------------------------------------------------------

const CACHE_LABELS = {
  profile: "Perfil",
  expenses: "Despesas",
  orders: "Pedidos",
  recipes: "Receitas",
  analysis: "Análises",
};

/** Hit rate per category read so far, from the counters of the instance that answered. */
export function renderCacheCategories(stats) {
  // A category nobody read yet has no rate (0% would claim every read missed): left out.
  const items = Object.entries(stats.categories)
    .filter(([, block]) => block.hits + block.misses > 0)
    .sort(([, a], [, b]) => b.hits + b.misses - (a.hits + a.misses))
    .map(([name, block]) =>
      h(
        "li",
        { "data-category": name },
        h("span", { class: "muted" }, CACHE_LABELS[name] ?? name),
        " ",
        h("strong", {}, formatRate(block.hitRate)),
      ),
    );
  fill(
    "cache-categories",
    h("span", { class: "muted" }, "Por categoria, nesta instância: "),
    items.length
      ? h("ul", { class: "inline-list" }, items)
      : h("span", { class: "muted" }, "nenhuma leitura ainda."),
  );
}

// --- health ------------------------------------------------------------------------

const HEALTH_STATUS = {
  healthy: ["ok", "Saudável"],
  degraded: ["warn", "Degradado"],
  unhealthy: ["bad", "Fora do ar"],
};

const COMPONENTS = {
  store: ["Banco de dados", (c) => (c.latencyMs != null ? `resposta em ${formatMs(c.latencyMs)}` : "")],
  // The hit rate here is the answering instance's own; the KPI shows the window's.
  cache: ["Cache", (c) => `local ${cacheState(c.l1)} · Redis ${cacheState(c.l2)}`],
  backup: [
    "Backup",
    (c) =>
      c.lastGoodBackup
        ? `último bom ${formatAge(c.lastGoodBackup)} (${formatDateTime(c.lastGoodBackup)})`
        : "nenhum backup ainda",
  ],
  errors: [
    "Erros (15 min)",
    (c) => `${formatInteger(c.calls)} chamadas · erro do servidor ${formatRate(c.serverErrorRate)}`,
  ],
};

const CACHE_STATES = { ok: "ok", off: "não configurado", down: "inacessível" };

function cacheState(state) {
  return CACHE_STATES[state] ?? state ?? "—";
}

function statusBadge(status) {
  const [kind, text] = HEALTH_STATUS[status] ?? ["warn", status];
  return badge(kind, text);
}

export function renderHealth(report) {
  const rows = Object.entries(report.components ?? {}).map(([name, component]) => {
    const [label, describe] = COMPONENTS[name] ?? [name, () => ""];
    const detail = component.error ? `erro: ${component.error}` : describe(component);
    return h(
      "li",
      { "data-component": name, "data-status": component.status },
      h("span", { class: "component" }, label),
      statusBadge(component.status),
      h("span", { class: "muted small" }, detail),
    );
  });
  fill(
    "health",
    h("p", { class: "overall" }, "Situação geral: ", statusBadge(report.status)),
    h("ul", { class: "health" }, rows),
  );
}

// --- backups -----------------------------------------------------------------------

const BACKUP_STATUS = {
  verified: ["ok", "Verificado"],
  completed: ["ok", "Concluído"],
  corrupt: ["bad", "Corrompido"],
  failed: ["bad", "Falhou"],
  running: ["warn", "Em andamento"],
  exporting: ["warn", "Exportando"],
};

const TRIGGERS = { scheduled: "Agendado", manual: "Manual", safety: "Segurança" };

function backupBadge(status) {
  const [kind, text] = BACKUP_STATUS[status] ?? ["warn", status];
  return badge(kind, text);
}

function backupRow(backup, withErrors) {
  return h(
    "tr",
    { "data-backup-id": backup.id, "data-status": backup.status },
    h("td", { class: "mono" }, backup.id),
    h("td", {}, backupBadge(backup.status)),
    h("td", { class: "num" }, formatBytes(backup.totalBytes)),
    h("td", { class: "num optional" }, formatInteger(backup.documentCount)),
    h("td", { title: formatDateTime(backup.startedAt) }, formatAge(backup.finishedAt ?? backup.startedAt)),
    h("td", { class: "optional" }, TRIGGERS[backup.trigger] ?? backup.trigger ?? "—"),
    withErrors ? h("td", { class: "muted small" }, backup.error ?? "") : null,
  );
}

export function renderBackups(list) {
  // The error column only when some backup has one: it is empty otherwise.
  const withErrors = list.backups.some((backup) => backup.error);
  fill(
    "backups",
    table(
      [
        "Backup",
        "Situação",
        ["Tamanho", "num"],
        ["Documentos", "num optional"],
        "Idade",
        ["Origem", "optional"],
        withErrors ? "Erro" : null,
      ].filter(Boolean),
      list.backups.map((backup) => backupRow(backup, withErrors)),
      "Nenhum backup ainda.",
    ),
  );
}

function stat(label, value) {
  return h("div", { class: "stat" }, h("span", { class: "muted small" }, label), h("strong", {}, value));
}

export function renderBackupStats(stats) {
  const byStatus = Object.entries(stats.byStatus ?? {})
    .map(([status, n]) => `${BACKUP_STATUS[status]?.[1] ?? status}: ${n}`)
    .join(" · ");
  fill(
    "backup-stats",
    stat("Backups", formatInteger(stats.count)),
    stat("Espaço usado", formatBytes(stats.totalBytes)),
    stat("Último sucesso", formatAge(stats.lastSuccess?.finishedAt)),
    stat("Última falha", stats.lastFailure ? formatAge(stats.lastFailure.finishedAt) : "nenhuma"),
    stat("Duração média", formatDuration(stats.averageDurationMs)),
    stat("Por situação", byStatus || "—"),
  );
}

// --- functions --------------------------------------------------------------------

export function renderFunctions(metrics) {
  const rows = Object.entries(metrics.functions)
    .sort(([, a], [, b]) => b.calls - a.calls)
    .map(([name, f]) =>
      h(
        "tr",
        {},
        h("td", { class: "mono nowrap" }, name),
        h("td", { class: "num" }, formatInteger(f.calls)),
        h("td", { class: "num" }, formatRate(f.errorRate)),
        h("td", { class: "num optional" }, formatMs(f.p50Ms)),
        h("td", { class: "num" }, formatMs(f.p95Ms)),
      ),
    );
  fill(
    "functions",
    table(
      ["Função", ["Chamadas", "num"], ["Erros", "num"], ["p50", "num optional"], ["p95", "num"]],
      rows,
      "Nenhuma chamada nesta janela.",
    ),
  );
}

/** The parts that failed to load, in one line under the toolbar. */
export function renderLoadErrors(failures) {
  const element = document.getElementById("load-errors");
  element.hidden = failures.length === 0;
  element.textContent = failures.length
    ? `Não foi possível carregar: ${failures.join(", ")}. Nova tentativa na próxima atualização.`
    : "";
}
