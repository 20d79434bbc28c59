// The dashboard page: sign-in, the admin check, and the refresh loop.
import "./style.css";

import {
  connect,
  isAdmin,
  isPermissionDenied,
  loadDashboard,
  signIn,
  signOutUser,
  watchUser,
} from "./api.js";
import { createCharts } from "./charts.js";
import { refreshSeconds } from "./config.js";
import { formatClock } from "./format.js";
import {
  renderAlerts,
  renderBackupStats,
  renderBackups,
  renderCacheCategories,
  renderFunctions,
  renderHealth,
  renderKpis,
  renderLoadErrors,
} from "./render.js";

const WINDOWS = ["15m", "1h", "24h", "7d"];
const WINDOW_KEY = "painel.janela";

const PART_NAMES = {
  metrics: "métricas",
  backups: "lista de backups",
  backupStats: "estatísticas de backup",
  cache: "estatísticas do cache",
  health: "saúde do sistema",
};

const SIGN_IN_ERRORS = {
  "auth/invalid-credential": "E-mail ou senha incorretos.",
  "auth/invalid-login-credentials": "E-mail ou senha incorretos.",
  "auth/wrong-password": "E-mail ou senha incorretos.",
  "auth/user-not-found": "E-mail ou senha incorretos.",
  "auth/invalid-email": "E-mail inválido.",
  "auth/too-many-requests": "Muitas tentativas. Aguarde um pouco e tente de novo.",
  "auth/network-request-failed": "Sem conexão com o servidor de autenticação.",
};

const state = {
  user: null,
  window: WINDOWS.includes(localStorage.getItem(WINDOW_KEY))
    ? localStorage.getItem(WINDOW_KEY)
    : "1h",
  timer: null,
  loading: false,
  // A refresh asked for while one is loading (a new window chosen) runs right after.
  again: false,
};

let charts;

const $ = (id) => document.getElementById(id);

/** Show exactly one of the page's views. */
function showView(name) {
  for (const view of ["loading", "sign-in", "refused", "dashboard"]) {
    $(`${view}-view`).hidden = view !== name;
  }
  $("session").hidden = name === "sign-in" || name === "loading";
}

// --- refresh loop -------------------------------------------------------------------

function stopRefreshing() {
  clearTimeout(state.timer);
  state.timer = null;
}

function scheduleRefresh() {
  stopRefreshing();
  // While the tab is hidden the loop pauses; visibilitychange restarts it.
  state.timer = setTimeout(() => document.hidden || refresh(), refreshSeconds() * 1000);
}

function render(parts) {
  const { metrics, backups, backupStats, cache, health } = parts;
  if (metrics.value) {
    renderKpis(metrics.value);
    charts.showMetrics(metrics.value);
    renderAlerts(metrics.value.alerts, metrics.value.recentAlerts ?? []);
    renderFunctions(metrics.value);
  }
  if (cache.value) renderCacheCategories(cache.value.stats);
  if (backups.value) renderBackups(backups.value);
  if (backupStats.value) renderBackupStats(backupStats.value);
  if (health.value) renderHealth(health.value);
}

async function refresh() {
  const user = state.user;
  if (!user) return;
  if (state.loading) {
    state.again = true;
    return;
  }
  state.loading = true;
  state.again = false;
  try {
    const parts = await loadDashboard(user, state.window);
    if (user !== state.user) return; // signed out while loading
    const errors = Object.entries(parts).filter(([, part]) => part.error);
    // The claim can be revoked after sign-in: the callables then refuse.
    if (errors.some(([, part]) => isPermissionDenied(part.error))) {
      showRefused(user);
      return;
    }
    for (const [name, part] of errors) console.warn(`dashboard: ${name} failed`, part.error);
    render(parts);
    renderLoadErrors(errors.map(([name]) => PART_NAMES[name]));
    const view = $("dashboard-view");
    view.dataset.refreshes = String(Number(view.dataset.refreshes) + 1);
    $("updated-at").textContent = `Atualizado às ${formatClock(new Date())}`;
  } finally {
    state.loading = false;
    if (state.user === user && !$("dashboard-view").hidden) {
      if (state.again) refresh();
      else scheduleRefresh();
    }
  }
}

function selectWindow(name) {
  state.window = name;
  localStorage.setItem(WINDOW_KEY, name);
  for (const button of document.querySelectorAll("[data-window]")) {
    button.setAttribute("aria-pressed", String(button.dataset.window === name));
  }
}

// --- views ----------------------------------------------------------------------------

function showRefused(user) {
  stopRefreshing();
  $("refused-email").textContent = user.email ?? user.uid;
  showView("refused");
}

async function showDashboard(user) {
  showView("dashboard");
  selectWindow(state.window);
  await refresh();
}

async function onUser(user) {
  stopRefreshing();
  state.user = user;
  if (!user) {
    showView("sign-in");
    return;
  }
  $("session-email").textContent = user.email ?? "";
  if (await isAdmin(user)) {
    await showDashboard(user);
  } else {
    showRefused(user);
  }
}

async function onSignIn(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const error = $("sign-in-error");
  const button = form.querySelector("button");
  error.hidden = true;
  button.disabled = true;
  try {
    await signIn(form.email.value.trim(), form.password.value);
    form.reset();
  } catch (err) {
    error.textContent = SIGN_IN_ERRORS[err.code] ?? "Não foi possível entrar. Tente de novo.";
    error.hidden = false;
  } finally {
    button.disabled = false;
  }
}

function bindControls() {
  $("sign-in-form").addEventListener("submit", onSignIn);
  $("sign-out").addEventListener("click", () => signOutUser());
  $("refused-sign-out").addEventListener("click", () => signOutUser());
  $("refresh-now").addEventListener("click", () => refresh());
  for (const button of document.querySelectorAll("[data-window]")) {
    button.addEventListener("click", () => {
      selectWindow(button.dataset.window);
      refresh();
    });
  }
  // A hidden tab does not need fresh figures; catch up when it is shown again.
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden && state.user && !$("dashboard-view").hidden) refresh();
  });
}

async function start() {
  charts = createCharts();
  bindControls();
  await connect();
  watchUser((user) => {
    onUser(user).catch((err) => {
      console.error("dashboard: could not open the session", err);
      showView("sign-in");
    });
  });
}

start().catch((err) => {
  console.error("dashboard: could not start", err);
  $("loading-view").textContent = "Não foi possível carregar o painel. Recarregue a página.";
});
