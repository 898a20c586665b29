/// <reference types="vitest/config" />
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// Same-origin routes, as the production gateway (deploy/docker/nginx.conf) and server/server.mjs route them.
const numbersApi = process.env.NUMBERS_API_URL ?? "http://127.0.0.1:8010";
const callOrchestrator = process.env.CALL_ORCHESTRATOR_URL ?? "http://127.0.0.1:8020";
const proxy = {
  "/agents": numbersApi,
  "/phone-numbers": numbersApi,
  "/carriers": numbersApi,
  "/events": numbersApi,
  "/dev/token": numbersApi,
  "/telephony/outbound-call": callOrchestrator,
  "/calls": callOrchestrator,
  "/usage": callOrchestrator,
  "/rate-deck": callOrchestrator,
  "/recording-retention": callOrchestrator,
  "/campaigns": callOrchestrator,
  "/do-not-call": callOrchestrator,
};

export default defineConfig({
  base: "/telephony/",
  plugins: [react()],
  server: { port: Number(process.env.STUDIO_PORT ?? 8080), strictPort: true, proxy },
  preview: { port: Number(process.env.STUDIO_PORT ?? 8080), strictPort: true, proxy },
  build: { outDir: "dist", sourcemap: true, target: "es2022" },
  test: {
    environment: "jsdom",
    globals: true,
    setupFiles: ["src/test/setup.ts"],
    include: ["src/**/*.test.{ts,tsx}"],
    css: false,
  },
});
