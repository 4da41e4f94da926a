// Rendering values and small DOM helpers. Every key and value reaches the page as
// text (textContent / text nodes); no HTML is ever parsed from data.

/** Make an element: `h("button", {type: "button", onclick}, "Edit")`. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) el.addEventListener(name.slice(2), value);
    else if (name === "class") el.className = value;
    else if (name === "hidden" || name === "disabled" || name === "open") el[name] = Boolean(value);
    else el.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

export function typeOf(value) {
  if (value === null) return "null";
  if (Array.isArray(value)) return "list";
  if (typeof value === "object") return "object";
  return typeof value; // string, number, boolean
}

export function looksLikeJson(text) {
  const t = text.trim();
  if (!t) return false;
  try {
    JSON.parse(t);
    return true;
  } catch {
    return false;
  }
}

const OPEN_DEPTH = 2;
const OPEN_CHILDREN = 50;
const SHOWN_CHILDREN = 200;

/** Pretty-printed JSON as a tree; objects and lists collapse (<details>). */
export function jsonTree(value, depth = 0) {
  const type = typeOf(value);
  if (type === "string") return h("span", { class: "j-str" }, JSON.stringify(value));
  if (type !== "list" && type !== "object") return h("span", { class: `j-${type}` }, String(value));
  const entries = type === "list" ? value.map((v, i) => [i, v]) : Object.entries(value);
  const label = type === "list" ? `[ ${plural(entries.length, "item")} ]` : `{ ${plural(entries.length, "key")} }`;
  if (!entries.length) return h("span", { class: "j-empty" }, type === "list" ? "[]" : "{}");
  const details = h("details", { class: "j-node", open: depth < OPEN_DEPTH && entries.length <= OPEN_CHILDREN });
  details.append(h("summary", {}, label));
  const list = h("ul", { class: "j-children" });
  details.append(list);
  const show = (from) => {
    for (const [name, child] of entries.slice(from, from + SHOWN_CHILDREN)) {
      list.append(
        h("li", {}, h("span", { class: type === "list" ? "j-index" : "j-key" },
          type === "list" ? `${name}` : JSON.stringify(name)), ": ", jsonTree(child, depth + 1)),
      );
    }
    const rest = entries.length - from - SHOWN_CHILDREN;
    if (rest > 0) {
      const more = h("button", { type: "button", class: "link" }, `Show ${plural(Math.min(rest, SHOWN_CHILDREN), "more")}`);
      more.addEventListener("click", () => {
        more.parentElement.remove();
        show(from + SHOWN_CHILDREN);
      });
      list.append(h("li", {}, more));
    }
  };
  show(0);
  return details;
}

/** A string value: its text, marked as a string (even when it looks like JSON). */
export function stringView(text) {
  const note = looksLikeJson(text)
    ? h("p", { class: "note string-note" },
        "A string whose text looks like JSON: it is stored as text, not parsed.")
    : null;
  return h("div", { class: "string-view" },
    h("p", { class: "type-line" }, h("span", { class: "badge badge-string" }, "string"),
      ` ${plural([...text].length, "character")}`),
    note,
    h("pre", { class: "string-text", "aria-label": "String value" }, text));
}

/** A LangChain message dict ({type, data: {content}}) or a {role, content} message. */
function messageOf(item) {
  if (!item || typeof item !== "object" || Array.isArray(item)) return null;
  if (typeof item.type === "string" && item.data && typeof item.data === "object" && "content" in item.data) {
    return { role: item.type, content: item.data.content, extra: item.data };
  }
  if (typeof item.role === "string" && "content" in item) return { role: item.role, content: item.content, extra: item };
  return null;
}

export function isChat(list) {
  return list.length > 0 && list.every((item) => messageOf(item) !== null);
}

const ROLE_NAMES = { human: "Human", user: "Human", ai: "AI", assistant: "AI", system: "System", tool: "Tool" };

function messageView(item, index) {
  const m = messageOf(item);
  const role = String(m.role).toLowerCase();
  const body = typeof m.content === "string" ? h("p", { class: "msg-text" }, m.content) : jsonTree(m.content, 1);
  const calls = Array.isArray(m.extra.tool_calls) && m.extra.tool_calls.length
    ? h("p", { class: "note" }, `Tool calls: ${m.extra.tool_calls.map((c) => c && c.name).join(", ")}`)
    : null;
  return h("li", { class: `msg msg-${ROLE_NAMES[role] ? ROLE_NAMES[role].toLowerCase() : "other"}` },
    h("p", { class: "msg-role" }, `${ROLE_NAMES[role] || m.role} · #${index}`), body, calls);
}

const LIST_PAGE = 50;

/** A list, newest last: its tail first, with a button to page back. */
export function listView(list) {
  const chat = isChat(list);
  const box = h("div", { class: chat ? "list-view chat" : "list-view" });
  box.append(h("p", { class: "type-line" },
    h("span", { class: "badge" }, chat ? "chat history" : "list"), ` ${plural(list.length, "item")}, newest last`));
  const items = h(chat ? "ol" : "ul", { class: chat ? "conversation" : "list-items", "aria-label": chat ? "Conversation" : "List items" });
  let from = Math.max(0, list.length - LIST_PAGE);
  const earlier = h("button", { type: "button", hidden: from === 0 }, "Show earlier items");
  const add = (start, end) => {
    const nodes = [];
    for (let i = start; i < end; i++) {
      nodes.push(chat ? messageView(list[i], i) : h("li", {}, h("span", { class: "j-index" }, `${i}`), ": ", jsonTree(list[i], 1)));
    }
    items.prepend(...nodes);
  };
  add(from, list.length);
  earlier.addEventListener("click", () => {
    const start = Math.max(0, from - LIST_PAGE);
    add(start, from);
    from = start;
    earlier.hidden = from === 0;
    earlier.textContent = "Show earlier items";
  });
  box.append(earlier, items);
  return box;
}

/** Any value, by type. */
export function valueView(value) {
  const type = typeOf(value);
  if (type === "string") return stringView(value);
  if (type === "list") return listView(value);
  return h("div", { class: "json-view" },
    h("p", { class: "type-line" }, h("span", { class: "badge" }, type)), h("div", { class: "json" }, jsonTree(value)));
}

export function plural(n, word) {
  return `${n.toLocaleString("en")} ${word}${n === 1 ? "" : "s"}`;
}

export function bytes(n) {
  if (n === null || n === undefined) return "no limit";
  if (n < 1000) return `${n} B`;
  const units = ["kB", "MB", "GB", "TB"];
  let v = n;
  let u = -1;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[u]}`;
}

export function duration(seconds) {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h`;
}

export function when(unixSeconds) {
  if (unixSeconds === null || unixSeconds === undefined) return "";
  return new Date(unixSeconds * 1000).toLocaleString();
}

/** A short time for a table cell: the time today, the date otherwise. */
export function shortWhen(unixSeconds) {
  if (unixSeconds === null || unixSeconds === undefined) return "";
  const at = new Date(unixSeconds * 1000);
  const today = new Date().toDateString() === at.toDateString();
  return today ? at.toLocaleTimeString() : at.toLocaleDateString();
}

export function ttlLeft(expiresAt) {
  if (expiresAt === null || expiresAt === undefined) return "none";
  return duration(expiresAt - Date.now() / 1000);
}
