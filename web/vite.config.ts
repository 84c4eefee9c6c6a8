import react from "@vitejs/plugin-react";
import { defineConfig } from "vitest/config";

// The gateway serves the build at `/`; `npm run dev` proxies API calls to a gateway
// started with `make run` so the development server and the API share one origin.
const gateway = process.env.WHARF_GATEWAY_URL ?? "http://127.0.0.1:8080";

export default defineConfig({
  plugins: [react()],
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
