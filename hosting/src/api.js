// The backend as the page sees it: sign-in, the admin callables and the
// health endpoint. Everything else in the page only renders what this returns.
import { initializeApp } from "firebase/app";
import {
  connectAuthEmulator,
  getAuth,
  onAuthStateChanged,
  signInWithEmailAndPassword,
  signOut,
} from "firebase/auth";
import { connectFunctionsEmulator, getFunctions, httpsCallable } from "firebase/functions";

import { REGION, emulators, firebaseOptions, functionsBaseUrl } from "./config.js";

const CALL_TIMEOUT_MS = 30_000;

let auth;
let functions;
let projectId;

/** Start Firebase once; call before anything else here. */
export async function connect() {
  const options = await firebaseOptions();
  const app = initializeApp(options);
  projectId = options.projectId;
  auth = getAuth(app);
  functions = getFunctions(app, REGION);
  const local = emulators();
  if (local) {
    connectAuthEmulator(auth, `http://${local.auth.host}:${local.auth.port}`, {
      disableWarnings: true,
    });
    connectFunctionsEmulator(functions, local.functions.host, local.functions.port);
  }
}

export function watchUser(callback) {
  return onAuthStateChanged(auth, callback);
}

export function signIn(email, password) {
  return signInWithEmailAndPassword(auth, email, password);
}

export function signOutUser() {
  return signOut(auth);
}

/** Whether the signed-in user's token carries the admin claim. */
export async function isAdmin(user) {
  const token = await user.getIdTokenResult();
  return token.claims.admin === true;
}

async function call(name, data) {
  const callable = httpsCallable(functions, name, { timeout: CALL_TIMEOUT_MS });
  const reply = await callable(data);
  return reply.data;
}

/** checkSystemHealth over plain HTTP; a 503 still carries the report. */
async function health(user) {
  const token = await user.getIdToken();
  const reply = await fetch(`${functionsBaseUrl(projectId)}/checkSystemHealth`, {
    headers: { Authorization: `Bearer ${token}` },
    cache: "no-store",
  });
  if (reply.status !== 200 && reply.status !== 503) {
    throw new Error(`checkSystemHealth: HTTP ${reply.status}`);
  }
  return reply.json();
}

/**
 * Everything the page shows for one window. Each part is fetched on its own,
 * so one failing function leaves the others on screen: the result maps each
 * part to `{ value }` or `{ error }`.
 */
export async function loadDashboard(user, window) {
  const parts = {
    metrics: () => call("getSystemMetrics", { window }),
    backups: () => call("listBackups", { limit: 20 }),
    backupStats: () => call("getBackupStats", {}),
    cache: () => call("assistenteHttp", { intent: "getCacheStats" }),
    health: () => health(user),
  };
  const names = Object.keys(parts);
  const settled = await Promise.allSettled(names.map((name) => parts[name]()));
  return Object.fromEntries(
    names.map((name, i) => {
      const outcome = settled[i];
      return [
        name,
        outcome.status === "fulfilled" ? { value: outcome.value } : { error: outcome.reason },
      ];
    }),
  );
}

/** True for the callable error of a signed-in user who is not an admin. */
export function isPermissionDenied(error) {
  return error?.code === "functions/permission-denied";
}
