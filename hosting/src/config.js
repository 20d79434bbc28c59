// Where the page finds Firebase: the local emulators when it is served from
// this machine, the project's real services otherwise.

/* global __DASHBOARD_CONFIG__ */
// Replaced at build time (build.mjs) with firebase.json's emulator addresses
// and .firebaserc's project.
const built = __DASHBOARD_CONFIG__;

// The Auth emulator accepts any API key, but the SDK refuses to start without one.
const EMULATOR_API_KEY = "fake-api-key";

export const REGION = built.region;

/** True when served by the Hosting emulator (or any local server). */
export function isLocal(hostname = window.location.hostname) {
  return hostname === "localhost" || hostname === "127.0.0.1" || hostname === "[::1]";
}

/** Seconds between refreshes; `?atualizar=N` overrides it (tests use 2). */
export function refreshSeconds(search = window.location.search) {
  const asked = Number(new URLSearchParams(search).get("atualizar"));
  return Number.isFinite(asked) && asked >= 1 ? asked : 30;
}

/** The Firebase app options: built in locally, else from Hosting's init.json. */
export async function firebaseOptions() {
  if (isLocal()) {
    return {
      apiKey: EMULATOR_API_KEY,
      projectId: built.projectId,
      authDomain: `${built.projectId}.firebaseapp.com`,
    };
  }
  // Firebase Hosting serves the web app's configuration at this reserved URL.
  const reply = await fetch("/__/firebase/init.json");
  if (!reply.ok) throw new Error(`init.json: HTTP ${reply.status}`);
  return reply.json();
}

/** The emulator addresses, or null when talking to the real project. */
export function emulators() {
  return isLocal() ? built.emulators : null;
}

/** Base URL of plain HTTP functions (checkSystemHealth is not a callable). */
export function functionsBaseUrl(projectId) {
  const local = emulators();
  if (local) {
    const { host, port } = local.functions;
    return `http://${host}:${port}/${projectId}/${REGION}`;
  }
  return `https://${REGION}-${projectId}.cloudfunctions.net`;
}
