// Builds the dashboard into dist/ (the Hosting `public` folder of firebase.json).
//
// The local emulator addresses and the project id are read here from the
// repository's firebase.json and .firebaserc and baked into the bundle, so the
// page, the CLI and the emulators never disagree about a port.
//
//   node build.mjs            one build
import { build } from "esbuild";
import { copyFile, mkdir, readFile, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..");
const dist = join(here, "dist");

async function readJson(path) {
  return JSON.parse(await readFile(path, "utf8"));
}

/** What the page needs to know about the local emulators and the project. */
async function dashboardConfig() {
  const firebase = await readJson(join(root, "firebase.json"));
  const rc = await readJson(join(root, ".firebaserc"));
  const emulators = firebase.emulators ?? {};
  const address = (name) => ({
    host: emulators[name]?.host ?? "127.0.0.1",
    port: emulators[name]?.port,
  });
  return {
    projectId: rc.projects.default,
    region: "us-central1",
    emulators: { auth: address("auth"), functions: address("functions") },
  };
}

async function main() {
  const config = await dashboardConfig();
  await rm(dist, { recursive: true, force: true });
  await mkdir(dist, { recursive: true });
  await build({
    entryPoints: { app: join(here, "src", "main.js") },
    bundle: true,
    format: "esm",
    minify: true,
    target: ["es2022"],
    outdir: dist,
    define: { __DASHBOARD_CONFIG__: JSON.stringify(config) },
    legalComments: "none",
    logLevel: "warning",
  });
  await copyFile(join(here, "src", "index.html"), join(dist, "index.html"));
  console.log(`dashboard built in ${dist} (project ${config.projectId})`);
}

await main();
