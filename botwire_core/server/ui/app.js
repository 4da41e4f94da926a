// BotWire's web UI: namespaces, keys and values of a BotWire server, over its JSON API.
// Navigation state is in the location hash (#ns=<namespace>&key=<key>); the token
// never is (see api.js).

import { api, ApiError, forgetToken, saveToken, savedToken, watch } from "./api.js";
import { bytes, h, plural, shortWhen, ttlLeft, typeOf, valueView, when } from "./render.js";

const PAGE_SIZE = 50;
const FILTER_DELAY_MS = 150;
const LIVE_DELAY_MS = 100; // changes arriving together are applied together

const $ = (id) => document.getElementById(id);

const state = {
  access: null, // {token, read, write, patterns, expires_at}
  limits: null,
  ns: null,
  prefix: "",
  cursors: [null], // cursor of each page seen; the last one is the page shown
  nextCursor: null,
  record: null, // the value shown: {key, value, version, updated_at, expires_at, ...}
  feed: null, // the open namespace's change feed (api.js watch())
  rows: new Map(), // key -> {fill, version} of the keys shown
  pending: [], // changes received, not applied yet
  paused: false,
  applying: null, // the timer or the promise of the changes being applied
  listing: 0, // bumped per key listing: an older answer arriving late is dropped
  focusValue: false,
};

// -- status and errors ------------------------------------------------------------

function say(text, error = false) {
  const status = $("status");
  status.textContent = text;
  status.classList.toggle("error", error);
}

function failed(err) {
  if (err instanceof ApiError && err.status === 401) {
    showLogin(err.message);
    return;
  }
  say(err instanceof ApiError ? err.message : String(err), true);
}

// -- sign in ----------------------------------------------------------------------

function showLogin(message = "") {
  $("app").hidden = true;
  $("login").hidden = false;
  $("sign-out").hidden = true;
  $("who").textContent = "";
  $("login-error").textContent = message;
  $("token").focus();
}

async function start() {
  let listing;
  try {
    listing = await api.namespaces();
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) {
      showLogin(savedToken() ? err.message : "");
      return;
    }
    if (err instanceof ApiError && err.status === 404) {
      listing = null; // this store cannot list namespaces: open one by name
    } else {
      failed(err);
      return;
    }
  }
  $("login").hidden = true;
  $("app").hidden = false;
  if (listing) {
    state.access = listing.access;
    state.limits = listing.limits;
    showAccess(listing.access);
    showNamespaces(listing, false);
  } else {
    state.access = { token: null, read: true, write: true, patterns: ["*"], expires_at: null };
    $("ns-note").textContent = "This server's store cannot list namespaces; open one by name.";
  }
  $("sign-out").hidden = !savedToken();
  await route();
}

function showAccess(access) {
  const who = $("who");
  if (access.token === null) {
    who.textContent = "Open server: no token needed";
    return;
  }
  const rights = access.token === "admin"
    ? "admin token: namespaces and usage, no data"
    : [access.read && "read", access.write && "write"].filter(Boolean).join(" + ");
  const until = access.expires_at ? `, expires ${when(access.expires_at)}` : "";
  who.textContent = `Token ${access.token}: ${rights} on ${access.patterns.join(", ")}${until}`;
}

// -- namespaces -------------------------------------------------------------------

let nsCursor = null;

/** The bytes to show: against a size limit, what the limit counts (keys, values, ids). */
function counted(usage, limits) {
  return limits.max_namespace_bytes && usage.stored_bytes !== undefined ? usage.stored_bytes : usage.bytes;
}

function showNamespaces(listing, append) {
  const list = $("ns-list");
  if (!append) list.replaceChildren();
  const limits = listing.limits;
  for (const item of listing.namespaces) {
    const quota = limits.writes_per_day ? ` of ${limits.writes_per_day.toLocaleString("en")}` : "";
    const room = limits.max_namespace_bytes ? ` of ${bytes(limits.max_namespace_bytes)}` : "";
    const link = h("a", { href: `#ns=${encodeURIComponent(item.namespace)}`, class: "ns-link", "data-ns": item.namespace },
      h("span", { class: "ns-name" }, item.namespace),
      h("span", { class: "ns-usage" },
        `${plural(item.keys, "key")} · ${bytes(counted(item, limits))}${room} · ${plural(item.writes_today, "write")} today${quota}`));
    list.append(h("li", {}, link));
  }
  if (!append && !listing.namespaces.length) {
    $("ns-note").textContent = "No namespace holds a key yet (or none this token covers).";
  }
  nsCursor = listing.next_cursor;
  $("ns-more").hidden = !nsCursor;
  markCurrentNamespace();
}

function markCurrentNamespace() {
  for (const link of document.querySelectorAll(".ns-link")) {
    if (link.dataset.ns === state.ns) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
}

// -- navigation (the hash) --------------------------------------------------------

function parseHash() {
  const params = new URLSearchParams(location.hash.slice(1));
  return { ns: params.get("ns"), key: params.get("key") };
}

function go(ns, key = null) {
  const params = new URLSearchParams();
  if (ns) params.set("ns", ns);
  if (key !== null) params.set("key", key);
  const hash = `#${params.toString()}`;
  if (location.hash !== hash) location.hash = hash;
  else route();
}

async function route() {
  const { ns, key } = parseHash();
  if (!ns) {
    $("keys").hidden = true;
    $("value").hidden = true;
    return;
  }
  if (ns !== state.ns) await openNamespace(ns);
  if (key !== null) await openKey(key);
  else closeValue();
}

// -- a namespace: usage and keys --------------------------------------------------

function stopFeed() {
  if (state.feed) state.feed.stop();
  state.feed = null;
  state.pending = [];
  if (typeof state.applying === "number") clearTimeout(state.applying);
  state.applying = null;
  liveState("off");
}

async function openNamespace(ns) {
  stopFeed();
  state.ns = ns;
  state.prefix = "";
  state.cursors = [null];
  $("filter").value = "";
  $("keys").hidden = false;
  $("keys-title").textContent = ns;
  markCurrentNamespace();
  closeValue();
  if (state.access && !state.access.read) {
    $("usage").textContent = "This token may not read this namespace's keys.";
    $("key-rows").replaceChildren();
    return;
  }
  state.feed = watch(ns, (change) => ns === state.ns && received(change), {
    onReset: () => ns === state.ns && reloadAll(),
    onState: (s) => ns === state.ns && liveState(s),
    paused: state.paused,
  });
  await Promise.all([showUsage(), listKeys()]);
}

async function showUsage() {
  try {
    const u = await api.usage(state.ns);
    const l = u.limits;
    const room = l.max_namespace_bytes ? ` of ${bytes(l.max_namespace_bytes)}` : "";
    const quota = l.writes_per_day ? ` of ${l.writes_per_day.toLocaleString("en")}` : " (no daily limit)";
    $("usage").textContent =
      `${plural(u.keys, "key")} · ${bytes(counted(u, l))}${room} · ${plural(u.writes_today, "write")} today${quota}`;
  } catch (err) {
    failed(err);
  }
}

/** The page of keys; `quiet` (a live update) shows it once its versions are read, and
 * keeps the keyboard on the key it was on. */
async function listKeys(quiet = false) {
  const ticket = ++state.listing;
  const ns = state.ns;
  const cursor = state.cursors[state.cursors.length - 1];
  let page;
  let found = null;
  try {
    page = await api.keys(ns, state.prefix, cursor, PAGE_SIZE);
    if (quiet && page.keys.length && ticket === state.listing) found = await api.getMany(ns, page.keys);
  } catch (err) {
    failed(err);
    return;
  }
  if (ticket !== state.listing) return;
  state.nextCursor = page.next_cursor;
  const focused = document.activeElement;
  const refocus = $("key-rows").contains(focused) ? focused.dataset.key : null;
  const open = parseHash().key;
  const rows = page.keys.map((key) => keyRow(key));
  state.rows = new Map(rows.map((r) => [r.key, r]));
  $("key-rows").replaceChildren(...rows.map((r) => r.row));
  for (const r of rows) r.row.classList.toggle("selected", r.key === open);
  if (refocus !== null) (state.rows.get(refocus) || rows[0] || { button: $("filter") }).button.focus();
  $("keys-empty").hidden = page.keys.length > 0;
  $("prev-page").disabled = state.cursors.length <= 1;
  $("next-page").disabled = !page.next_cursor;
  const first = (state.cursors.length - 1) * PAGE_SIZE + 1;
  $("page-info").textContent = page.keys.length
    ? `Keys ${first.toLocaleString("en")}–${(first + page.keys.length - 1).toLocaleString("en")}`
    : "";
  document.body.dataset.keysShown = String(ticket);
  performance.mark("botwire:keys-shown");
  if (!page.keys.length) return;
  // Version, time and TTL of the page's keys: one read-only batch.
  try {
    found = found || (await api.getMany(ns, page.keys));
    if (ticket !== state.listing) return;
    found.results.forEach((result, i) => rows[i].fill(result));
  } catch (err) {
    failed(err);
  }
}

function keyRow(key) {
  const button = h("button", { type: "button", class: "key", "data-key": key }, key);
  button.addEventListener("click", () => {
    state.focusValue = true; // the next Tab reaches the value's controls, not the next key
    go(state.ns, key);
  });
  button.addEventListener("keydown", moveThroughKeys);
  const cells = [h("td", { class: "t-type" }), h("td", { class: "t-num" }), h("td"), h("td")];
  const row = h("tr", { "data-key": key }, h("th", { scope: "row" }, button), ...cells);
  const fill = (result) => {
    it.version = result.version;
    if (!result.found) {
      cells[0].textContent = "gone";
      return;
    }
    const type = typeOf(result.value);
    cells[0].textContent = type === "list" ? `list (${result.value.length})` : type;
    cells[1].textContent = String(result.version);
    cells[2].textContent = shortWhen(result.updated_at);
    cells[2].title = when(result.updated_at);
    cells[3].textContent = ttlLeft(result.expires_at);
  };
  const it = { key, row, button, fill, version: null };
  return it;
}

function moveThroughKeys(event) {
  const buttons = [...document.querySelectorAll("#key-rows button.key")];
  const at = buttons.indexOf(event.currentTarget);
  let to = null;
  if (event.key === "ArrowDown") to = Math.min(buttons.length - 1, at + 1);
  else if (event.key === "ArrowUp") to = at - 1;
  else if (event.key === "Home") to = 0;
  else if (event.key === "End") to = buttons.length - 1;
  if (to === null) return;
  event.preventDefault();
  if (to < 0) $("filter").focus();
  else buttons[to].focus();
}

// -- live updates (the change feed) --------------------------------------------------

const LIVE_TEXT = {
  connecting: "Connecting…",
  live: "Live",
  paused: "Paused",
  retrying: "Reconnecting…",
  off: "",
};

function liveState(s) {
  const text = state.paused ? "Paused" : LIVE_TEXT[s];
  $("live-state").textContent = s === "off" && state.feed ? "No live updates here: press Reload" : text;
  document.body.dataset.live = s;
}

function received(change) {
  state.pending.push(change);
  schedule();
}

function schedule() {
  if (state.pending.length && !state.paused && !state.applying) {
    state.applying = setTimeout(applyChanges, LIVE_DELAY_MS);
  }
}

/** Apply the changes received: the key list, the usage and the open value. */
async function applyChanges() {
  if (state.paused) {
    state.applying = null; // kept in pending until "Pause live updates" is off again
    return;
  }
  const changes = state.pending.splice(0);
  const latest = new Map(changes.map((c) => [c.key, c])); // the last change of each key
  let relist = false;
  const refill = [];
  for (const c of latest.values()) {
    if (!c.key.startsWith(state.prefix)) continue;
    const shown = state.rows.get(c.key);
    const gone = c.kind === "delete" || c.kind === "expire";
    if (!shown ? !gone : gone) relist = true; // a new key, or one gone from the page
    else if (shown && shown.version !== c.version) refill.push(shown);
  }
  const work = [showUsage()];
  if (relist) work.push(listKeys(true));
  else if (refill.length) work.push(refillRows(refill));
  const key = parseHash().key;
  if (latest.has(key)) work.push(openChanged(latest.get(key)));
  state.applying = Promise.all(work);
  await state.applying;
  state.applying = null;
  schedule();
}

async function refillRows(rows) {
  const ns = state.ns;
  const ticket = state.listing;
  try {
    const found = await api.getMany(ns, rows.map((r) => r.key));
    if (ticket !== state.listing) return;
    found.results.forEach((result, i) => {
      rows[i].fill(result);
      rows[i].row.classList.remove("changed");
      void rows[i].row.offsetWidth; // restart the highlight
      rows[i].row.classList.add("changed");
    });
  } catch (err) {
    failed(err);
  }
}

async function openChanged(change) {
  const gone = change.kind === "delete" || change.kind === "expire";
  const record = state.record;
  if (record ? !gone && record.version === change.version : gone) return; // shown already
  if ($("edit-area") && $("edit-area").children.length) {
    // An unsaved edit (or an open form): keep it; Save still checks the version.
    const notice = h("p", { id: "live-notice", class: "notice", role: "status" },
      gone ? "This key was deleted while you were editing it. " : `This key changed (version ${change.version}) while you were editing it; saving will show both versions. `,
      h("button", { type: "button", class: "link", onclick: () => openKey(change.key) }, "Show the new version"));
    if ($("live-notice")) $("live-notice").replaceWith(notice);
    else $("edit-area").before(notice);
    return;
  }
  const focused = document.activeElement;
  const inside = $("value-body").contains(focused) ? focused.textContent : null;
  await openKey(change.key);
  if (inside !== null) {
    const same = [...$("value-body").querySelectorAll("button")].find((b) => b.textContent === inside);
    (same || $("value-title")).focus();
  }
}

function reloadAll() {
  // The feed lost its place (changes_expired): read everything again.
  state.pending = [];
  listKeys(true);
  showUsage();
  const key = parseHash().key;
  if (key !== null && !($("edit-area") && $("edit-area").children.length)) openKey(key);
}

function setPaused(on) {
  state.paused = on;
  if (state.feed) state.feed.pause(on); // on resume the feed catches up after the last seq
  schedule();
}

// -- a value ------------------------------------------------------------------------

function closeValue() {
  state.record = null;
  $("value").hidden = true;
  for (const row of document.querySelectorAll("#key-rows tr")) row.classList.remove("selected");
}

async function openKey(key) {
  const ns = state.ns;
  let record;
  try {
    record = await api.get(ns, key);
    if (ns !== state.ns || parseHash().key !== key) return; // the person moved on
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) {
      showValue(null, key);
      say(`No key ${JSON.stringify(key)} in ${state.ns} (deleted or expired).`);
      return;
    }
    failed(err);
    return;
  }
  showValue(record, key);
}

function showValue(record, key) {
  state.record = record;
  $("value").hidden = false;
  $("value-title").textContent = key;
  for (const row of document.querySelectorAll("#key-rows tr")) {
    row.classList.toggle("selected", row.dataset.key === key);
  }
  const body = $("value-body");
  if (state.focusValue) {
    state.focusValue = false;
    $("value-title").focus();
  }
  if (!record) {
    body.replaceChildren(h("p", { class: "note" }, "This key does not exist."));
    return;
  }
  const meta = h("dl", { class: "meta" },
    h("dt", {}, "Version"), h("dd", { "data-field": "version" }, String(record.version)),
    h("dt", {}, "Updated"), h("dd", {}, when(record.updated_at)),
    h("dt", {}, "Created"), h("dd", {}, when(record.created_at)),
    h("dt", {}, "TTL left"), h("dd", {}, ttlLeft(record.expires_at)));
  const panel = h("div", { id: "edit-area" });
  const controls = state.access && state.access.write
    ? actions(record, panel)
    : h("p", { class: "note read-only" }, "Read-only: this token may not change keys.");
  body.replaceChildren(meta, controls, panel, h("div", { class: "viewer" }, valueView(record.value)));
}

// -- editing (shown only to tokens that may write; the server refuses the rest anyway) --

function actions(record, panel) {
  const isList = Array.isArray(record.value);
  const bar = h("div", { class: "actions", role: "group", "aria-label": "Change this key" },
    h("button", { type: "button", onclick: () => editForm(record, panel) }, "Edit"),
    isList ? h("button", { type: "button", onclick: () => appendForm(record, panel) }, "Append") : null,
    h("button", { type: "button", onclick: () => ttlForm(record, panel) }, "Set TTL"),
    h("button", { type: "button", class: "danger", onclick: () => deleteForm(record, panel) }, "Delete"));
  return bar;
}

function keptTtl(record) {
  // A PUT without ttl clears it: keep what is left of the key's TTL across an edit.
  return record.expires_at ? Math.max(1, Math.ceil(record.expires_at - Date.now() / 1000)) : null;
}

function jsonField(id, label, text, onValid) {
  const area = h("textarea", { id, rows: 12, spellcheck: "false", "aria-describedby": `${id}-error` });
  area.value = text;
  const error = h("p", { id: `${id}-error`, class: "error", role: "alert" });
  const check = () => {
    try {
      const parsed = JSON.parse(area.value);
      error.textContent = "";
      area.removeAttribute("aria-invalid");
      onValid(true, parsed);
    } catch (err) {
      error.textContent = `Not valid JSON: ${err.message}`;
      area.setAttribute("aria-invalid", "true");
      onValid(false);
    }
  };
  area.addEventListener("input", check);
  return { nodes: [h("label", { for: id }, label), area, error], area, check };
}

function editForm(record, panel) {
  const save = h("button", { type: "submit" }, "Save");
  let value;
  const field = jsonField("editor", "Value (JSON; a string needs quotes)", JSON.stringify(record.value, null, 2),
    (ok, parsed) => {
      save.disabled = !ok;
      value = parsed;
    });
  const form = h("form", { class: "edit-form" }, ...field.nodes,
    h("div", { class: "actions" }, save, h("button", { type: "button", onclick: () => panel.replaceChildren() }, "Cancel")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    field.check();
    if (save.disabled) return;
    await saveValue(record, value, panel);
  });
  panel.replaceChildren(form);
  field.check();
  field.area.focus();
}

async function saveValue(record, value, panel, version = record.version) {
  try {
    await api.put(state.ns, record.key, value, { version, ttl: keptTtl(record) });
  } catch (err) {
    if (err instanceof ApiError && err.code === "version_conflict") {
      await showConflict(record, value, panel);
      return;
    }
    failed(err);
    return;
  }
  say(`Saved ${record.key}.`);
  await afterWrite(record.key);
}

async function showConflict(record, mine, panel) {
  let theirs;
  try {
    theirs = await api.get(state.ns, record.key);
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 404)) {
      failed(err);
      return;
    }
    theirs = null;
  }
  const text = (v) => JSON.stringify(v, null, 2);
  const theirLabel = theirs ? `Saved meanwhile (version ${theirs.version})` : "Deleted meanwhile";
  const box = h("section", { class: "conflict", "aria-labelledby": "conflict-title" },
    h("h3", { id: "conflict-title" }, "Someone else changed this key while you edited it"),
    h("div", { class: "versions" },
      h("figure", {}, h("figcaption", {}, "Your version"), h("pre", { "data-side": "mine" }, text(mine))),
      h("figure", {}, h("figcaption", {}, theirLabel), h("pre", { "data-side": "theirs" }, theirs ? text(theirs.value) : "(no value)"))),
    h("div", { class: "actions" },
      h("button", { type: "button", onclick: () => saveValue(theirs || { ...record, expires_at: null }, mine, panel, theirs ? theirs.version : 0) }, "Keep mine"),
      h("button", { type: "button", onclick: () => afterWrite(record.key) }, "Take theirs")));
  panel.replaceChildren(box);
  say("Version conflict: choose which version to keep.", true);
  box.querySelector("button").focus();
}

function deleteForm(record, panel) {
  const confirm = h("button", { type: "button", class: "danger" }, "Confirm delete");
  confirm.addEventListener("click", async () => {
    try {
      await api.remove(state.ns, record.key);
    } catch (err) {
      failed(err);
      return;
    }
    say(`Deleted ${record.key}.`);
    go(state.ns);
    await Promise.all([listKeys(), showUsage()]);
  });
  panel.replaceChildren(h("div", { class: "confirm", role: "alertdialog", "aria-label": "Confirm delete" },
    h("p", {}, "Delete ", h("code", {}, record.key), "? This cannot be undone."),
    h("div", { class: "actions" }, confirm, h("button", { type: "button", onclick: () => panel.replaceChildren() }, "Cancel"))));
  confirm.focus();
}

function ttlForm(record, panel) {
  const input = h("input", { id: "ttl-seconds", type: "number", min: "1", step: "1", inputmode: "numeric" });
  if (record.expires_at) input.value = String(keptTtl(record));
  const put = async (ttl) => {
    try {
      await api.put(state.ns, record.key, record.value, { version: record.version, ttl });
    } catch (err) {
      if (err instanceof ApiError && err.code === "version_conflict") {
        say("The key changed meanwhile; it was reloaded. Set the TTL again.", true);
        await afterWrite(record.key);
        return;
      }
      failed(err);
      return;
    }
    say(ttl ? `${record.key} now expires in ${ttl} s.` : `${record.key} no longer expires.`);
    await afterWrite(record.key);
  };
  const form = h("form", { class: "inline" },
    h("label", { for: "ttl-seconds" }, "Seconds until the key expires"), input,
    h("button", { type: "submit" }, "Save TTL"),
    h("button", { type: "button", onclick: () => put(null) }, "Clear TTL"),
    h("button", { type: "button", onclick: () => panel.replaceChildren() }, "Cancel"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const ttl = Number(input.value);
    if (!Number.isFinite(ttl) || ttl <= 0) {
      say("A TTL is a number of seconds above 0.", true);
      return;
    }
    put(ttl);
  });
  panel.replaceChildren(form);
  input.focus();
}

function appendForm(record, panel) {
  const add = h("button", { type: "submit" }, "Append item");
  let item;
  const field = jsonField("append-item", "Item to append (JSON)", "", (ok, parsed) => {
    add.disabled = !ok;
    item = parsed;
  });
  const form = h("form", { class: "edit-form" }, ...field.nodes,
    h("div", { class: "actions" }, add, h("button", { type: "button", onclick: () => panel.replaceChildren() }, "Cancel")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    field.check();
    if (add.disabled) return;
    try {
      await api.append(state.ns, record.key, [item]);
    } catch (err) {
      failed(err);
      return;
    }
    say(`Appended to ${record.key}.`);
    await afterWrite(record.key);
  });
  panel.replaceChildren(form);
  add.disabled = true;
  field.area.focus();
}

async function afterWrite(key) {
  state.focusValue = true; // the form that had focus is gone: keep the keyboard in the value
  await openKey(key);
  await listKeys();
  showUsage();
}

// -- export -------------------------------------------------------------------------

const EXPORT_PAGE = 500;

/** The namespace (or the keys matching the filter) as JSON Lines, the format of
 * `botwire export` (and `botwire import`): one object per key. */
async function exportLines() {
  const ns = state.ns;
  const prefix = state.prefix;
  const lines = [];
  let cursor = null;
  do {
    const page = await api.keys(ns, prefix, cursor, EXPORT_PAGE);
    if (page.keys.length) {
      const found = await api.getMany(ns, page.keys);
      for (const r of found.results) {
        if (!r.found) continue;
        lines.push(JSON.stringify({
          key: r.key, value: r.value, version: r.version, created_at: r.created_at,
          updated_at: r.updated_at, expires_at: r.expires_at,
        }));
      }
    }
    say(`Exporting ${ns}: ${plural(lines.length, "key")}…`);
    cursor = page.next_cursor;
  } while (cursor);
  const blob = new Blob(lines.map((line) => `${line}\n`), { type: "application/x-ndjson" });
  const link = h("a", { href: URL.createObjectURL(blob), download: `${ns}${prefix ? `-${prefix}` : ""}.jsonl` });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
  say(`Exported ${plural(lines.length, "key")} from ${ns}${prefix ? ` starting with ${JSON.stringify(prefix)}` : ""}.`);
}

// -- wiring -------------------------------------------------------------------------

function wire() {
  $("login-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const token = $("token").value.trim();
    if (!token) return;
    saveToken(token);
    $("token").value = "";
    await start();
  });
  $("sign-out").addEventListener("click", () => {
    forgetToken();
    stopFeed();
    state.ns = null;
    history.replaceState(null, "", location.pathname);
    showLogin();
  });
  $("open-form").addEventListener("submit", (event) => {
    event.preventDefault();
    go($("open-ns").value.trim());
  });
  $("ns-more").addEventListener("click", async () => {
    try {
      showNamespaces(await api.namespaces(nsCursor), true);
    } catch (err) {
      failed(err);
    }
  });
  let timer = null;
  $("filter").addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      state.prefix = $("filter").value;
      state.cursors = [null];
      listKeys();
    }, FILTER_DELAY_MS);
  });
  $("filter").addEventListener("keydown", (event) => {
    if (event.key === "ArrowDown" || event.key === "Enter") {
      const first = document.querySelector("#key-rows button.key");
      if (first) {
        event.preventDefault();
        first.focus();
      }
    }
  });
  $("next-page").addEventListener("click", () => {
    if (!state.nextCursor) return;
    state.cursors.push(state.nextCursor);
    listKeys();
  });
  $("prev-page").addEventListener("click", () => {
    if (state.cursors.length <= 1) return;
    state.cursors.pop();
    listKeys();
  });
  $("export").addEventListener("click", () => exportLines().catch(failed));
  $("reload").addEventListener("click", () => {
    listKeys();
    showUsage();
    if (state.record) openKey(state.record.key);
  });
  $("pause").addEventListener("change", (event) => setPaused(event.target.checked));
  $("home").addEventListener("click", (event) => {
    event.preventDefault();
    go(null);
  });
  window.addEventListener("hashchange", () => route().catch(failed));
}

wire();
start().catch(failed);
