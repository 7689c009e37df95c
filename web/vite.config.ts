import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// The dashboard (docs/dashboard.md). `npm run build` builds it into web/dist, which the server
// serves at /. `npx vite web` serves it with hot reload, the API proxied to a local `qualify start`.
export default defineConfig({
  root: import.meta.dirname,
  plugins: [react()],
  build: { outDir: "dist", emptyOutDir: true, chunkSizeWarningLimit: 700 },
  server: { proxy: { "/api": "http://127.0.0.1:3000" } },
});
