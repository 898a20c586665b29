// @ts-check
/**
 * The Studio's local server (`make run`, end-to-end tests): the built page at /telephony and the public
 * API routes proxied on the same origin, as the production gateway (deploy/docker/nginx.conf) does.
 *
 *   /agents, /phone-numbers, /carriers, /events, /dev/token -> NUMBERS_API_URL       (http://127.0.0.1:8010)
 *   /telephony/outbound-call, /calls, /usage, /rate-deck, /recording-retention, /campaigns, /do-not-call
 *                                                 -> CALL_ORCHESTRATOR_URL (http://127.0.0.1:8020)
 *   /telephony/*                                  -> the files of dist/ (index.html for app routes)
 *
 * No dependencies beyond Node itself. Responses stream through unbuffered (server-sent events included);
 * an unreachable upstream is a 502 problem+json; SIGTERM/SIGINT drain open requests, then exit.
 */
import { createReadStream, promises as fs } from "node:fs";
import http from "node:http";
import path from "node:path";
import { fileURLToPath } from "node:url";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const BASE = "/telephony";

/** @type {Record<string, string>} */
const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".map": "application/json",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".webp": "image/webp",
  ".woff2": "font/woff2",
  ".txt": "text/plain; charset=utf-8",
};

// Hop-by-hop headers are the connection's own, never forwarded (RFC 9110 7.6.1).
const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer", "transfer-encoding", "upgrade", "proxy-connection"]);

const SECURITY_HEADERS = {
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
  "X-Frame-Options": "DENY",
  "Content-Security-Policy":
    "default-src 'self'; img-src 'self' data:; media-src 'self' https:; style-src 'self' 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'",
};

/**
 * @typedef {{ numbersApiUrl: string, callOrchestratorUrl: string, distDir: string, log?: (line: string) => void }} Options
 * @typedef {{ prefix: string, upstream: URL, name: string }} Route
 */

/** @param {Options} options */
export function routesFor(options) {
  const numbers = new URL(options.numbersApiUrl);
  const calls = new URL(options.callOrchestratorUrl);
  /** @type {Route[]} */
  const routes = [
    { prefix: "/telephony/outbound-call", upstream: calls, name: "call-orchestrator" },
    { prefix: "/calls", upstream: calls, name: "call-orchestrator" },
    { prefix: "/usage", upstream: calls, name: "call-orchestrator" },
    { prefix: "/rate-deck", upstream: calls, name: "call-orchestrator" },
    { prefix: "/recording-retention", upstream: calls, name: "call-orchestrator" },
    { prefix: "/campaigns", upstream: calls, name: "call-orchestrator" },
    { prefix: "/do-not-call", upstream: calls, name: "call-orchestrator" },
    { prefix: "/agents", upstream: numbers, name: "numbers-api" },
    { prefix: "/phone-numbers", upstream: numbers, name: "numbers-api" },
    { prefix: "/carriers", upstream: numbers, name: "numbers-api" },
    { prefix: "/events", upstream: numbers, name: "numbers-api" },
    { prefix: "/dev/token", upstream: numbers, name: "numbers-api" },
  ];
  return routes;
}

/** @param {string} pathname @param {Route[]} routes */
export function matchRoute(pathname, routes) {
  return routes.find((r) => pathname === r.prefix || pathname.startsWith(r.prefix + "/")) ?? null;
}

/**
 * @param {http.ServerResponse} res @param {number} status @param {string} title @param {string} detail
 */
function problem(res, status, title, detail) {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = JSON.stringify({ type: "about:blank", title, status, detail });
  res.writeHead(status, { "Content-Type": "application/problem+json", "Content-Length": Buffer.byteLength(body), "Cache-Control": "no-store" });
  res.end(body);
}

/**
 * Forward one request, streaming both ways.
 * @param {http.IncomingMessage} req @param {http.ServerResponse} res @param {Route} route
 */
function proxy(req, res, route) {
  /** @type {http.OutgoingHttpHeaders} */
  const headers = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (!HOP_BY_HOP.has(name) && value !== undefined) headers[name] = value;
  }
  const client = req.socket.remoteAddress ?? "";
  headers["x-forwarded-for"] = req.headers["x-forwarded-for"] ? `${req.headers["x-forwarded-for"]}, ${client}` : client;
  headers["x-forwarded-proto"] = headers["x-forwarded-proto"] ?? "http";
  headers["x-forwarded-host"] = req.headers.host ?? "";
  headers.host = route.upstream.host;
  const base = route.upstream.pathname.replace(/\/$/, "");
  const upstream = http.request(
    {
      protocol: route.upstream.protocol,
      hostname: route.upstream.hostname,
      port: route.upstream.port,
      method: req.method,
      path: base + (req.url ?? "/"),
      headers,
    },
    (upstreamRes) => {
      /** @type {http.OutgoingHttpHeaders} */
      const out = {};
      for (const [name, value] of Object.entries(upstreamRes.headers)) {
        if (!HOP_BY_HOP.has(name) && value !== undefined) out[name] = value;
      }
      const streaming = String(upstreamRes.headers["content-type"] ?? "").startsWith("text/event-stream");
      if (streaming) {
        out["cache-control"] = "no-cache";
        out["x-accel-buffering"] = "no";
        res.socket?.setNoDelay(true);
      }
      res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.statusMessage, out);
      if (streaming) res.flushHeaders();
      upstreamRes.pipe(res);
      upstreamRes.on("error", () => res.destroy());
    },
  );
  upstream.setTimeout(10_000, () => {
    // Only the wait for response headers is bounded; a stream may then stay open for hours.
    if (!upstream.reusedSocket && !res.headersSent) upstream.destroy(new Error("timeout"));
  });
  upstream.on("response", () => upstream.setTimeout(0));
  upstream.on("error", (error) => {
    const detail = `${route.name} is not reachable (${/** @type {NodeJS.ErrnoException} */ (error).code ?? error.message})`;
    problem(res, error.message === "timeout" ? 504 : 502, error.message === "timeout" ? "Gateway Timeout" : "Bad Gateway", detail);
  });
  // The browser went away (a closed EventSource): stop the upstream request too.
  res.on("close", () => {
    if (!res.writableFinished) upstream.destroy();
  });
  req.pipe(upstream);
}

/**
 * Serve a file of dist/, or index.html for the app's own routes.
 * @param {http.IncomingMessage} req @param {http.ServerResponse} res @param {string} distDir @param {string} pathname
 */
async function serveStatic(req, res, distDir, pathname) {
  if (req.method !== "GET" && req.method !== "HEAD") {
    res.writeHead(405, { Allow: "GET, HEAD" }).end();
    return;
  }
  let relative;
  try {
    relative = decodeURIComponent(pathname.slice(BASE.length)).replace(/^\/+/, "");
  } catch {
    problem(res, 400, "Bad Request", "Malformed path");
    return;
  }
  const root = path.resolve(distDir);
  let file = path.resolve(root, relative || "index.html");
  if (file !== root && !file.startsWith(root + path.sep)) {
    problem(res, 404, "Not Found", "No such file");
    return;
  }
  let stat = await fs.stat(file).catch(() => null);
  if (stat?.isDirectory()) {
    file = path.join(file, "index.html");
    stat = await fs.stat(file).catch(() => null);
  }
  if (!stat || !stat.isFile()) {
    // A missing asset is a 404; any other path is one of the app's routes.
    if (path.extname(relative) || relative.startsWith("assets/")) {
      problem(res, 404, "Not Found", "No such file");
      return;
    }
    file = path.join(root, "index.html");
    stat = await fs.stat(file).catch(() => null);
    if (!stat) {
      problem(res, 503, "Service Unavailable", "The Studio is not built: run `npm run build` in services/studio");
      return;
    }
  }
  const immutable = file.startsWith(path.join(root, "assets") + path.sep);
  res.writeHead(200, {
    "Content-Type": TYPES[path.extname(file)] ?? "application/octet-stream",
    "Content-Length": stat.size,
    "Cache-Control": immutable ? "public, max-age=31536000, immutable" : "no-cache",
    "Last-Modified": stat.mtime.toUTCString(),
    ...SECURITY_HEADERS,
  });
  if (req.method === "HEAD") {
    res.end();
    return;
  }
  createReadStream(file).on("error", () => res.destroy()).pipe(res);
}

/** @param {Options} options */
export function createStudioServer(options) {
  const routes = routesFor(options);
  const log = options.log ?? (() => {});
  const server = http.createServer((req, res) => {
    const started = process.hrtime.bigint();
    res.on("close", () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      log(`${req.method} ${(req.url ?? "").replace(/access_token=[^&]+/, "access_token=***")} ${res.statusCode} ${ms.toFixed(1)}ms`);
    });
    const pathname = new URL(req.url ?? "/", "http://studio.invalid").pathname;
    if (pathname === "/healthz" || pathname === "/readyz") {
      res.writeHead(200, { "Content-Type": "application/json", "Cache-Control": "no-store" }).end('{"status":"ok"}');
      return;
    }
    const route = matchRoute(pathname, routes);
    if (route) {
      proxy(req, res, route);
      return;
    }
    if (pathname === "/") {
      res.writeHead(302, { Location: `${BASE}/` }).end();
      return;
    }
    if (pathname === BASE) {
      res.writeHead(301, { Location: `${BASE}/` }).end();
      return;
    }
    if (pathname.startsWith(`${BASE}/`)) {
      serveStatic(req, res, options.distDir, pathname).catch(() => problem(res, 500, "Internal Server Error", "Could not read the file"));
      return;
    }
    problem(res, 404, "Not Found", "No such route");
  });
  // Long-lived streams must not be cut by the default request timeout.
  server.requestTimeout = 0;
  server.headersTimeout = 30_000;
  server.keepAliveTimeout = 65_000;
  return server;
}

function main() {
  const port = Number(process.env.STUDIO_PORT ?? 8080);
  const host = process.env.STUDIO_HOST ?? process.env.HOST ?? "127.0.0.1";
  const options = {
    numbersApiUrl: process.env.NUMBERS_API_URL ?? "http://127.0.0.1:8010",
    callOrchestratorUrl: process.env.CALL_ORCHESTRATOR_URL ?? "http://127.0.0.1:8020",
    distDir: process.env.STUDIO_DIST_DIR ?? path.join(HERE, "..", "dist"),
    log: process.env.STUDIO_ACCESS_LOG === "0" ? undefined : (/** @type {string} */ line) => console.log(`studio: ${line}`),
  };
  const server = createStudioServer(options);
  server.listen(port, host, () => {
    console.log(`studio: http://${host}:${port}${BASE}/ (numbers-api ${options.numbersApiUrl}, call-orchestrator ${options.callOrchestratorUrl})`);
  });
  const stop = () => {
    console.log("studio: shutting down");
    server.close(() => process.exit(0));
    server.closeIdleConnections();
    // Streams (server-sent events) never finish by themselves: give requests a moment, then cut.
    setTimeout(() => {
      server.closeAllConnections();
      process.exit(0);
    }, 3_000).unref();
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
