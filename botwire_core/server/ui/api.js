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

async function call(method, path, { body, headers = {} } = {}) {
  const sent = { Accept: "application/json", ...headers };
  const token = savedToken();
  if (token) sent.Authorization = `Bearer ${token}`;
  const init = { method, headers: sent, credentials: "omit", cache: "no-store" };
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

/**
 * Live updates: call `onChange({key})` whenever a key of `namespace` changes; returns a
 * function that stops watching.
 *
 * The seam for the change feed (`GET /memory/{ns}/changes`, SSE). Until the server has
 * it, nothing is watched and the page is poll-free: the person presses Reload. Once
 * the feed exists, open it here with fetch() (an EventSource cannot send the bearer
 * header), read `text/event-stream` lines, resume with Last-Event-ID, and call
 * `onChange` per event; nothing else in the page needs to change.
 */
export function watch(namespace, onChange) {
  void namespace;
  void onChange;
  return () => {};
}
