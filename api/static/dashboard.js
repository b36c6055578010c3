// The dashboard's behaviour: poll /api/overview, drive runs and webhooks, search the log.
// Plain DOM calls, no framework and no build step. Every value from the server is set
// with textContent, never as HTML. State-changing calls carry the session's CSRF token.
"use strict";

const POLL_MS = 1500;
const csrf = document.querySelector('meta[name="csrf-token"]').content;
const flash = document.getElementById("flash");

async function api(method, path, body) {
  const response = await fetch(path, {
    method,
    credentials: "same-origin",
    headers: {
      "Accept": "application/json",
      "Content-Type": "application/json",
      "X-CSRF-Token": csrf,
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 401) {
    window.location.assign("/login");
    throw new Error("logged out");
  }
  const data = response.status === 204 ? null : await response.json();
  if (!response.ok) {
    throw new Error(data && data.error ? data.error.message : `HTTP ${response.status}`);
  }
  return data;
}

function say(message, isError) {
  flash.textContent = message;
  flash.classList.toggle("error", Boolean(isError));
}

function ago(iso) {
  if (!iso) return "never";
  const seconds = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  if (seconds < 60) return `${seconds} s ago`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 86400) return `${Math.round(seconds / 3600)} h ago`;
  return new Date(iso).toLocaleString();
}

function duration(seconds) {
  if (seconds === null || seconds === undefined) return "–";
  if (seconds < 60) return `${Math.round(seconds)} s`;
  return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
}

function cell(row, text) {
  const td = document.createElement("td");
  td.textContent = text === null || text === undefined ? "" : String(text);
  row.appendChild(td);
  return td;
}

function renderWebhooks(card, site) {
  const button = card.querySelector(".webhook-toggle");
  button.dataset.active = String(site.webhooks.active);
  button.querySelector(".webhook-label").textContent =
    `webhooks ${site.webhooks.active ? "active" : "inactive"}`;
  const time = card.querySelector(".last-received-at");
  time.textContent = ago(site.webhooks.last_received_at);
  time.dateTime = site.webhooks.last_received_at || "";
}

function renderSubscriptions(card, subscriptions) {
  const counts = {};
  for (const sub of subscriptions) counts[sub.state] = (counts[sub.state] || 0) + 1;
  const summary = Object.entries(counts).map(([state, n]) => `${n} ${state}`).join(", ");
  card.querySelector(".subscription-summary").textContent =
    summary || "none registered (set PUBLIC_URL, or set them up by hand)";
  card.querySelector(".subscriptions").dataset.lapsed =
    String(subscriptions.some((sub) => sub.state !== "active" && sub.state !== "manual"));
  const body = card.querySelector(".subscription-rows");
  body.replaceChildren();
  for (const sub of subscriptions) {
    const row = document.createElement("tr");
    row.dataset.state = sub.state;
    cell(row, sub.owner === "site" ? "store" : "ERP");
    cell(row, sub.topic);
    cell(row, sub.state);
    cell(row, sub.expires_at ? new Date(sub.expires_at).toLocaleString() : "never");
    cell(row, ago(sub.last_delivery_at));
    cell(row, ago(sub.last_checked_at));
    cell(row, [sub.last_action, sub.last_error].filter(Boolean).join(" · "));
    body.appendChild(row);
  }
}

function renderRun(card, run) {
  const live = run && ["queued", "running", "paused"].includes(run.status);
  card.dataset.runId = run ? run.id : "";
  card.dataset.runStatus = run ? run.status : "";
  const title = card.querySelector(".run-title");
  const plan = run && run.plan;
  const overBudget = live && plan && !plan.fits;
  title.textContent = run
    ? `Run #${run.id} (${run.kind}) ${run.status}${run.activity ? `: ${run.activity}` : ""}` +
      (run.error ? `: ${run.error}` : "") +
      (run.held_over
        ? ` · night ended: ${run.held_over.toLocaleString()} SKUs held over, first next night`
        : "") +
      (overBudget ? ` · plan: ${plan.summary}` : "")
    : "No run yet";
  title.title = plan ? `plan: ${plan.summary}` : "";
  const percent = run ? run.percent : 0;
  const bar = card.querySelector(".progress");
  bar.setAttribute("aria-valuenow", String(percent));
  bar.dataset.status = run ? run.status : "";
  bar.querySelector(".bar").style.width = `${percent}%`;
  card.querySelector(".counts").textContent = run
    ? `${percent}% · ${run.synced} synced, ${run.unchanged} unchanged, ${run.failed} failed, ` +
      (run.opted_out ? `${run.opted_out} opted out, ` : "") +
      `${run.pending} pending of ${run.total} · ` +
      `${run.rate === null ? "–" : run.rate.toFixed(1)} SKU/s · ETA ${duration(run.eta_seconds)}`
    : "";
  renderPreview(card, run);
  const show = { start: !live, preview: !live, pause: live && run.status !== "paused",
    resume: live && run.status === "paused", cancel: live };
  for (const [action, visible] of Object.entries(show)) {
    card.querySelector(`[data-action="${action}"]`).hidden = !visible;
  }
}

// A finished preview's findings: what a sync would write, SKU by SKU (fetched once).
async function renderPreview(card, run) {
  const box = card.querySelector(".preview");
  const done = run && run.kind === "preview" && run.status === "completed";
  box.hidden = !done;
  if (!done || box.dataset.runId === String(run.id)) return;
  box.dataset.runId = String(run.id);
  try {
    const found = await api("GET", `/api/sync/runs/${run.id}/changes?limit=1000`);
    box.querySelector(".preview-summary").textContent =
      `preview of run #${run.id}: a sync would change ${found.total} SKU(s)` +
      (found.total > found.items.length ? ` (first ${found.items.length} shown)` : "");
    const body = box.querySelector(".preview-rows");
    body.replaceChildren();
    for (const change of found.items) {
      const row = document.createElement("tr");
      cell(row, change.sku);
      cell(row, change.store);
      cell(row, change.would_write);
      body.appendChild(row);
    }
  } catch (error) {
    say(`preview: ${error.message}`, true);
  }
}

function renderBudgets(card, budgets) {
  // "store budget: 12 of 300 requests in 60 s; waiting for the store's budget (resets
  // in 41 s)", "ERP budget: ...; today 1,840 of 7,500 used": what a run waits for.
  card.querySelector(".budgets").textContent = [budgets.store, budgets.erp]
    .map((budget) => budget.text)
    .join(" · ");
}

function renderItems(card, items) {
  const body = card.querySelector(".recent-items");
  body.replaceChildren();
  for (const item of items) {
    const row = document.createElement("tr");
    cell(row, item.sku);
    cell(row, item.quantity);
    cell(row, ago(item.last_synced_at));
    body.appendChild(row);
  }
}

async function poll() {
  try {
    const overview = await api("GET", "/api/overview");
    document.getElementById("no-worker").hidden = overview.worker_running;
    for (const site of overview.sites) {
      const card = document.getElementById(`site-${site.id}`);
      if (!card) continue; // a site added since the page loaded: shown after a reload
      renderWebhooks(card, site);
      renderSubscriptions(card, site.subscriptions);
      renderRun(card, site.run);
      renderBudgets(card, site.budgets);
      renderItems(card, site.recent_items);
    }
  } catch (error) {
    say(`could not refresh: ${error.message}`, true);
  } finally {
    window.setTimeout(poll, POLL_MS);
  }
}

async function act(card, action) {
  const siteId = card.dataset.siteId;
  const runId = card.dataset.runId;
  const starts = { start: `/api/inventory/sync/${siteId}`, preview: `/api/inventory/preview/${siteId}` };
  const path = starts[action] || `/api/sync/runs/${runId}/${action}`;
  try {
    const answer = await api("POST", path);
    if (action in starts) {
      card.dataset.runId = answer.started[0].run_id;
      say(`run ${answer.started[0].run_id} started`);
    } else {
      renderRun(card, answer);
      say(`run ${runId}: ${action} done`);
    }
  } catch (error) {
    say(`${action}: ${error.message}`, true);
  }
}

async function toggle(card) {
  try {
    const state = await api("POST", `/api/sites/${card.dataset.siteId}/webhooks/toggle`, {});
    renderWebhooks(card, { webhooks: { active: state.webhooks_active, last_received_at: state.last_received_at } });
    say(`webhooks ${state.webhooks_active ? "on" : "off"}`);
  } catch (error) {
    say(`toggle: ${error.message}`, true);
  }
}

// --- stock policy --------------------------------------------------------------------

function policyOf(form) {
  const data = new FormData(form);
  const locations = String(data.get("erp_location_ids") || "").trim();
  return {
    stock_basis: data.get("stock_basis"),
    stock_buffer: Number(data.get("stock_buffer")),
    stock_buffer_unit: data.get("stock_buffer_unit"),
    stock_floor: Number(data.get("stock_floor")),
    erp_location_ids: locations && locations !== "all"
      ? locations.split(",").map((id) => id.trim()).filter(Boolean)
      : null,
  };
}

async function savePolicy(card, form) {
  try {
    const site = await api("PATCH", `/api/sites/${card.dataset.siteId}`, policyOf(form));
    card.querySelector(".policy").textContent =
      `stock policy: ${site.stock_basis.replaceAll("_", " ")}` +
      (site.erp_location_ids ? ` at locations ${site.erp_location_ids.join(", ")}` : "") +
      `, buffer ${site.stock_buffer}${site.stock_buffer_unit === "percent" ? "%" : " units"}, ` +
      `floor ${site.stock_floor}`;
    say(`policy saved${site.resync ? `: ${site.resync.message}` : ""}`);
  } catch (error) {
    say(`policy: ${error.message}`, true);
  }
}

async function applySkuRule(card, form) {
  const data = new FormData(form);
  const sku = encodeURIComponent(String(data.get("sku")).trim());
  const path = `/api/sites/${card.dataset.siteId}/skus/${sku}`;
  const rule = data.get("rule");
  try {
    const answer = rule === "clear"
      ? await api("DELETE", path)
      : await api("PUT", path, rule === "opt_out"
        ? { opt_out: true }
        : { override: Number(data.get("quantity")) });
    say(`SKU ${answer.sku}: ${rule === "clear" ? "rule cleared" : answer.rule}` +
      (answer.resync ? `: ${answer.resync.message}` : ""));
  } catch (error) {
    say(`SKU rule: ${error.message}`, true);
  }
}

document.getElementById("sites").addEventListener("submit", (event) => {
  const card = event.target.closest(".site");
  if (!card) return;
  event.preventDefault();
  if (event.target.classList.contains("policy-form")) savePolicy(card, event.target);
  else if (event.target.classList.contains("sku-form")) applySkuRule(card, event.target);
});

// --- adding sources and sites ----------------------------------------------------------
// The credential inputs are the server's (one per key of the chosen platform, from
// connectors/credentials.py): this only shows the chosen platform's and reads them.
// Their values go into the one POST and are cleared as soon as it is built.

// How a named field's text becomes its value in the API body (api/admin/schemas.py).
const FIELD_VALUES = {
  source: Number,
  full_sync_hour: Number,
  initial_sync: (value) => value === "true",
  webhook_secret: secretValue,
};

// A webhook secret as `stocksync sites add --webhook-secret` takes it: a string, or a
// JSON object for the platforms with two (BigCommerce, Zoho).
function secretValue(text) {
  if (!text.startsWith("{")) return text;
  try {
    return JSON.parse(text);
  } catch {
    throw new Error("webhook secret: starts with { but is not a JSON object");
  }
}

function showPlatform(form) {
  const choice = form.querySelector(".platform-choice").selectedOptions[0];
  for (const fieldset of form.querySelectorAll("fieldset.credentials")) {
    fieldset.hidden = fieldset.dataset.platform !== choice.value;
    fieldset.disabled = fieldset.hidden; // a hidden platform's required keys must not block
  }
  form.elements.namedItem("base_url").placeholder = choice.dataset.example;
  form.querySelector(".secret-help").textContent = choice.dataset.secretHelp;
}

function ownerBody(form) {
  const body = { credentials: {} };
  for (const [name, value] of new FormData(form)) {
    if (value === "") continue;
    body[name] = name in FIELD_VALUES ? FIELD_VALUES[name](value) : value;
  }
  for (const input of form.querySelectorAll("fieldset.credentials:enabled [data-credential]")) {
    if (input.value !== "") body.credentials[input.dataset.credential] = input.value;
  }
  return body;
}

function clearSecrets(form) {
  for (const input of form.querySelectorAll('input[type="password"]')) input.value = "";
}

function line(parent, tag, text, className) {
  const element = document.createElement(tag);
  element.textContent = text;
  if (className) element.className = className;
  parent.appendChild(element);
  return element;
}

// What adding registered, shown this once: its webhooks, the steps to take by hand
// (they may carry a secret we generated: it is in this answer only), its first sync.
function renderAdded(box, added) {
  box.replaceChildren();
  box.classList.remove("error");
  line(box, "p", `${added.name} added (#${added.id}).`, "added");
  if (added.subscriptions.length) {
    const list = line(box, "ul", "", "added-subscriptions");
    for (const sub of added.subscriptions) {
      line(list, "li", `webhook ${sub.topic}: ${sub.state}${sub.last_error ? ` (${sub.last_error})` : ""}`);
    }
  }
  if (added.subscriptions_error) line(box, "p", `webhooks: ${added.subscriptions_error}`, "error");
  if (added.subscriptions_note) line(box, "p", added.subscriptions_note);
  if (added.manual_steps) {
    line(box, "p", "Set up by hand (shown this once: copy it now):");
    const steps = line(box, "ol", "", "manual-steps");
    for (const step of added.manual_steps) line(steps, "li", step);
  }
  if (added.first_full_sync) line(box, "p", `first full sync: ${added.first_full_sync}`);
}

// A new site's card, and the new choices of source and site, come from the server's own
// template: fetch the page again and take them from it rather than build them here.
async function refreshLists() {
  const response = await fetch("/", { credentials: "same-origin" });
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
  addNewCards(fresh);
  for (const selector of ['#add-site select[name="source"]', '#log-filters select[name="site_id"]']) {
    const select = document.querySelector(selector);
    const chosen = select.value;
    select.replaceChildren(...fresh.querySelector(selector).children);
    // Keep the choice made; with none (no source yet), the browser's first option.
    if ([...select.options].some((option) => option.value === chosen)) select.value = chosen;
  }
}

// The cards already shown stay as they are (an open policy form, a fetched preview).
function addNewCards(fresh) {
  const sites = document.getElementById("sites");
  const cards = [...fresh.querySelectorAll("#sites > .site")]
    .filter((card) => !document.getElementById(card.id));
  if (cards.length && !sites.querySelector(".site")) sites.replaceChildren(); // "No sites yet"
  sites.append(...cards);
}

// The body to post; the secrets leave the inputs as it is built, whatever happens next.
function takeBody(form) {
  try {
    return ownerBody(form);
  } finally {
    clearSecrets(form);
  }
}

async function addOwner(form) {
  const box = form.querySelector(".form-answer");
  const button = form.querySelector('button[type="submit"]');
  button.disabled = true;
  try {
    const added = await api("POST", form.dataset.path, takeBody(form));
    form.reset();
    showPlatform(form);
    renderAdded(box, added);
  } catch (error) {
    box.textContent = error.message; // the API's one line: nothing was saved
    box.classList.add("error");
    return;
  } finally {
    button.disabled = false;
  }
  try {
    await refreshLists();
  } catch (error) {
    say(`could not refresh the sites: ${error.message}`, true);
  }
}

for (const form of document.querySelectorAll(".add-form")) {
  form.querySelector(".platform-choice").addEventListener("change", () => showPlatform(form));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    addOwner(form);
  });
}

// --- webhook log ---------------------------------------------------------------------

const logRows = document.getElementById("log-rows");
const logMore = document.getElementById("log-more");
let logCursor = null;

function logQuery(cursor) {
  const params = new URLSearchParams();
  for (const [name, value] of new FormData(document.getElementById("log-filters"))) {
    if (!value) continue;
    const text = String(value);
    params.set(name, name === "since" || name === "until" ? new Date(text).toISOString() : text);
  }
  params.set("limit", "50");
  if (cursor) params.set("cursor", cursor);
  return `/api/webhooks/log?${params}`;
}

function logRow(entry) {
  const row = document.createElement("tr");
  row.dataset.status = entry.status;
  for (const value of [entry.id, new Date(entry.received_at).toLocaleString(), entry.provider,
    entry.site_id, entry.topic, entry.entity, entry.sku, entry.status, entry.attempts, entry.error]) {
    cell(row, value);
  }
  const actions = cell(row, "");
  if (entry.status === "failed") {
    const replay = document.createElement("button");
    replay.type = "button";
    replay.textContent = "Replay";
    replay.addEventListener("click", async () => {
      try {
        await api("POST", `/api/webhooks/log/${entry.id}/replay`);
        say(`event ${entry.id} queued again`);
        loadLog(false);
      } catch (error) {
        say(`replay: ${error.message}`, true);
      }
    });
    actions.appendChild(replay);
  }
  return row;
}

async function loadLog(more) {
  try {
    const page = await api("GET", logQuery(more ? logCursor : null));
    if (!more) logRows.replaceChildren();
    for (const entry of page.items) logRows.appendChild(logRow(entry));
    logCursor = page.next_cursor;
    logMore.hidden = logCursor === null;
    document.querySelector(".log").dataset.loaded = String(Date.now());
  } catch (error) {
    say(`log: ${error.message}`, true);
  }
}

document.getElementById("sites").addEventListener("click", (event) => {
  const card = event.target.closest(".site");
  if (!card) return;
  const button = event.target.closest("button");
  if (!button) return;
  if (button.classList.contains("webhook-toggle")) toggle(card);
  else if (button.dataset.action) act(card, button.dataset.action);
});
document.getElementById("log-filters").addEventListener("submit", (event) => {
  event.preventDefault();
  loadLog(false);
});
logMore.addEventListener("click", () => loadLog(true));

poll();
loadLog(false);
