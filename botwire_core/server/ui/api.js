// The BotWire JSON API, as the page uses it: the same routes as every client.
// The token lives in sessionStorage (this tab only) and travels as a bearer header;
// it is never put in a URL or a cookie. Requests go to this origin only, with JSON
// bodies (state-changing requests always carry Content-Type: application/json).

const TOKEN_KEY = "botwire.token";

export function savedToken() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function saveToken(token) {
  sessionStorage.setItem(TOKEN_KEY, token);
}

export function forgetToken() {
  sessionStorage.removeItem(TOKEN_KEY);
}

/** An error answer: `{detail, code}` from the server, or a network failure (status 0). */
export class ApiError extends Error {
  constructor(status, body) {
    const detail = body && typeof body.detail === "string" ? body.detail : `HTTP ${status}`;
    super(detail);
    this.status = status;
    this.code = body && body.code;
    this.body = body || {};
  }
}

function withToken(headers) {
  const token = savedToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  return headers;
}

async function call(method, path, { body, headers = {}, signal } = {}) {
  const sent = withToken({ Accept: "application/json", ...headers });
  const init = { method, headers: sent, credentials: "omit", cache: "no-store", signal };
  if (method !== "GET") {
    sent["Content-Type"] = "application/json";
    if (body !== undefined) init.body = JSON.stringify(body);
  }
  let answer;
  try {
    answer = await fetch(path, init);
  } catch (err) {
    throw new ApiError(0, { detail: `the server did not answer (${err.message})`, code: "network" });
  }
  const text = await answer.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!answer.ok) throw new ApiError(answer.status, data);
  return data;
}

const enc = encodeURIComponent;

function query(params) {
  const parts = [];
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") parts.push(`${name}=${enc(value)}`);
  }
  return parts.length ? `?${parts.join("&")}` : "";
}

const keyPath = (ns, key) => `/memory/${enc(ns)}/${enc(key)}`;

export const api = {
  /** Namespaces this token may see, each with usage, and what the token may do. */
  namespaces: (cursor) => call("GET", `/namespaces${query({ limit: 100, cursor })}`),
  usage: (ns) => call("GET", `/namespaces/${enc(ns)}`),
  keys: (ns, prefix, cursor, limit) =>
    call("GET", `/memory/${enc(ns)}${query({ prefix, limit, cursor })}`),
  /** Values and metadata of several keys in one read-only batch. */
  getMany: (ns, keys) =>
    call("POST", `/memory/${enc(ns)}`, { body: { ops: keys.map((key) => ({ op: "get", key })) } }),
  get: (ns, key) => call("GET", keyPath(ns, key)),
  /** Write `value`; with `version`, only if the key is still at that version (If-Match). */
  put: (ns, key, value, { version, ttl } = {}) =>
    call("PUT", keyPath(ns, key), {
      body: ttl === undefined || ttl === null ? { value } : { value, ttl },
      headers: version === undefined || version === null ? {} : { "If-Match": `"${version}"` },
    }),
  remove: (ns, key) => call("DELETE", keyPath(ns, key)),
  append: (ns, key, items) => call("POST", keyPath(ns, key), { body: { append: items } }),
};

/** Server-Sent Events from text chunks: calls `onEvent({event, data})` per event. */
function eventParser(onEvent) {
  let buffer = "";
  let data = [];
  let event = "";
  return (chunk) => {
    buffer += chunk;
    const end = buffer.endsWith("\r") ? buffer.length - 1 : buffer.length; // half a \r\n?
    const lines = buffer.slice(0, end).split(/\r\n|\r|\n/);
    buffer = lines.pop() + buffer.slice(end);
    for (const line of lines) {
      if (!line) {
        if (data.length) onEvent({ event: event || "message", data: data.join("\n") });
        data = [];
        event = "";
        continue;
      }
      const colon = line.indexOf(":");
      if (colon === 0) continue; // a comment (the keep-alive)
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? "" : line.slice(colon + (line[colon + 1] === " " ? 2 : 1));
      if (field === "data") data.push(value);
      else if (field === "event") event = value;
    }
  };
}

const RETRY_FIRST_MS = 500;
const RETRY_MAX_MS = 15_000;

/**
 * Live updates: the change feed of `namespace` (`GET /memory/{ns}/changes` as Server-
 * Sent Events), read with fetch() because an EventSource cannot send the bearer header.
 * Calls `onChange({seq, key, kind, version, value})` per change, in commit order;
 * `onReset()` when the feed lost its place (410 `changes_expired`: read the keys
 * again; the feed goes on from now); `onState(s)` with "connecting", "live",
 * "paused", "retrying" or "off" (the server has no feed for this page: 404, 401, 403).
 *
 * A dropped connection is opened again after a capped backoff, resuming after the
 * last seq seen (`Last-Event-ID`); so does `pause(false)` and the page becoming
 * visible again (a hidden page holds no connection). Returns `{stop, pause}`.
 */
export function watch(namespace, onChange, { onReset = () => {}, onState = () => {}, paused = false } = {}) {
  const path = `/memory/${enc(namespace)}/changes`;
  let seq = null; // the last change seen: where the next connection resumes
  let controller = null; // the open connection
  let timer = null; // the next attempt
  let failures = 0;
  let stopped = false;
  let reset = false;

  const halt = () => {
    clearTimeout(timer);
    timer = null;
    if (controller) controller.abort();
    controller = null;
  };
  const sync = () => {
    if (stopped || paused || document.hidden) {
      halt();
      onState(stopped ? "off" : "paused");
    } else if (!controller && !timer) {
      connect();
    }
  };
  const retry = (ms) => {
    onState("retrying");
    timer = setTimeout(() => {
      timer = null;
      sync();
    }, ms ?? Math.min(RETRY_MAX_MS, RETRY_FIRST_MS * 2 ** failures++));
  };
  const off = () => {
    stopped = true;
    halt();
    onState("off");
  };

  async function connect() {
    const own = new AbortController();
    controller = own;
    const mine = () => controller === own;
    onState("connecting");
    try {
      if (seq === null) {
        // Without since the feed answers at once with its newest seq: start there.
        const at = await call("GET", path, { signal: own.signal });
        if (!mine()) return;
        if (!at || !Array.isArray(at.changes) || typeof at.next !== "number") return off(); // not a feed
        seq = at.next;
        if (reset) {
          reset = false;
          onReset();
        }
      }
      const answer = await fetch(path, {
        headers: withToken({ Accept: "text/event-stream", "Last-Event-ID": String(seq) }),
        credentials: "omit",
        cache: "no-store",
        signal: own.signal,
      });
      if (!mine()) return;
      if (answer.status === 410) {
        seq = null;
        reset = true;
      } else if ([401, 403, 404].includes(answer.status)) {
        return off();
      } else if (!answer.ok) {
        const wait = Number(answer.headers.get("Retry-After"));
        controller = null;
        return retry(wait > 0 ? wait * 1000 : undefined);
      } else {
        if (!(answer.headers.get("Content-Type") || "").startsWith("text/event-stream")) return off();
        failures = 0;
        onState("live");
        const reader = answer.body.getReader();
        const decoder = new TextDecoder();
        const feed = eventParser(({ event, data }) => {
          if (!mine()) return;
          const body = JSON.parse(data);
          if (event === "error") {
            if (body.code === "changes_expired") {
              seq = null;
              reset = true;
            }
            own.abort();
          } else if (event === "message") {
            seq = body.seq;
            onChange(body);
          }
        });
        for (;;) {
          const { value, done } = await reader.read();
          if (done || !mine()) break;
          feed(decoder.decode(value, { stream: true }));
        }
      }
    } catch (err) {
      if (err instanceof ApiError && [401, 403, 404].includes(err.status) && mine()) return off();
    }
    if (!mine() || stopped) return; // stopped or paused on purpose
    controller = null;
    if (reset) retry(0);
    else retry(); // the stream ended or the network failed: again, resuming after seq
  }

  const visibility = () => sync();
  document.addEventListener("visibilitychange", visibility);
  sync();
  return {
    stop() {
      stopped = true;
      document.removeEventListener("visibilitychange", visibility);
      halt();
    },
    pause(on) {
      paused = on;
      sync();
    },
  };
}
