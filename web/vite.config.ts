import { readFileSync } from "node:fs";
import { basename } from "node:path";
import react from "@vitejs/plugin-react";
import type { Plugin } from "vite";
import { defineConfig } from "vitest/config";

// The gateway serves the build at `/`; `npm run dev` proxies API calls to a gateway
// started with `make run` so the development server and the API share one origin.
const gateway = process.env.WHARF_GATEWAY_URL ?? "http://127.0.0.1:8080";

// Files of the swagger-ui-dist and redoc packages that the gateway's /docs and /redoc
// pages load, by the key the gateway reads from api-docs.json.
const API_DOCS_FILES: Record<string, string> = {
  swagger_ui_js: "swagger-ui-dist/swagger-ui-bundle.js",
  swagger_ui_css: "swagger-ui-dist/swagger-ui.css",
  redoc_js: "redoc/bundles/redoc.standalone.js",
};

/**
 * Copy the API documentation pages' scripts and styles into the build.
 *
 * Each file gets a content hash under `assets/`, so the gateway caches it as immutable,
 * and `api-docs.json` at the top of the build maps each key above to its URL.
 */
function apiDocsAssets(): Plugin {
  const references = new Map<string, string>();
  return {
    name: "wharf-api-docs-assets",
    apply: "build",
    buildStart() {
      for (const [key, file] of Object.entries(API_DOCS_FILES)) {
        const source = readFileSync(new URL(`./node_modules/${file}`, import.meta.url));
        references.set(key, this.emitFile({ type: "asset", name: basename(file), source }));
      }
    },
    generateBundle() {
      const urls: Record<string, string> = {};
      for (const [key, reference] of references) {
        urls[key] = `/${this.getFileName(reference)}`;
      }
      this.emitFile({ type: "asset", fileName: "api-docs.json", source: `${JSON.stringify(urls, null, 2)}\n` });
    },
  };
}

export default defineConfig({
  plugins: [react(), apiDocsAssets()],
  build: {
    outDir: process.env.WHARF_WEB_OUT_DIR ?? "dist",
    emptyOutDir: true,
    assetsDir: "assets",
  },
  server: {
    host: "127.0.0.1",
    port: 5173,
    proxy: { "/api": gateway },
  },
  test: {
    environment: "jsdom",
    include: ["src/**/*.test.{ts,tsx}"],
  },
});
