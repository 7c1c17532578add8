// The control plane's web UI: plain JavaScript over the JSON API, with the session cookie
// (HttpOnly, set by POST /api/v1/sessions) and its CSRF token on every change. Charts are
// inline SVG drawn here. A figure the API does not give is shown as "no data".
"use strict";

const OBJECTIVE = 0.9999;
const TARGETS = { rto_s: 300, rpo_orders: 0, failover_s: 30, detection_s: 30 };
const POLL_MS = 2000;
const me = { name: null, role: null, permissions: new Set() };
let poller = null;

// ---------------------------------------------------------------------------------- helpers
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}
const SVGNS = "http://www.w3.org/2000/svg";
function s(tag, attrs, text) {
  const el = document.createElementNS(SVGNS, tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}
const can = (p) => me.permissions.has(p);
const noData = () => h("span", { class: "nodata" }, "no data");
const pct = (x, digits = 3) => (x === null || x === undefined) ? noData()
  : `${(x * 100).toFixed(digits)}%`;
const secs = (x) => (x === null || x === undefined) ? noData() : `${Number(x).toFixed(2)} s`;
const when = (t) => t ? new Date(t * 1000).toISOString().replace("T", " ").slice(0, 19) + "Z" : "";
const within = (value, target) => h("span", { class: value <= target ? "ok" : "bad" },
  value <= target ? "within target" : "over target");

class ApiError extends Error {
  constructor(status, body) {
    super((body && body.error && body.error.message) || `HTTP ${status}`);
    this.status = status;
  }
}

async function api(path, method = "GET", body = undefined) {
  const headers = { "Accept": "application/json" };
  if (method !== "GET") {
    headers["Content-Type"] = "application/json";
    headers["X-CSRF-Token"] = sessionStorage.getItem("csrf") || "";
  }
  const reply = await fetch(path, { method, headers, credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body) });
  const data = await reply.json().catch(() => null);
  if (reply.status === 401 && path !== "/api/v1/sessions") { showSignin(); }
  if (!reply.ok) throw new ApiError(reply.status, data);
  return data;
}

function card(title, ...children) {
  return h("section", { class: "card" }, h("h2", {}, title), ...children);
}
function table(headers, rows, attrs) {
  return h("table", attrs || {}, h("thead", {}, h("tr", {}, headers.map((x) => h("th", {}, x)))),
    h("tbody", {}, rows));
}
function failed(err) { return h("p", { class: "error", role: "alert" }, String(err.message || err)); }

// ---------------------------------------------------------------------------------- sign-in
function showSignin() {
  stopPolling();
  document.getElementById("nav").hidden = true;
  document.getElementById("signout").hidden = true;
  document.getElementById("who").textContent = "";
  const main = document.getElementById("main");
  main.replaceChildren(document.getElementById("signin-template").content.cloneNode(true));
  document.getElementById("signin").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const token = document.getElementById("token").value.trim();
    const totp = document.getElementById("signin-totp").value.trim();
    try {
      const login = await api("/api/v1/sessions", "POST", totp ? { token, totp } : { token });
      sessionStorage.setItem("csrf", login.csrf_token);
      await start();
    } catch (err) {
      document.getElementById("signin-error").textContent = err.message;
    }
  });
}

async function start() {
  let who;
  try { who = await api("/api/v1/whoami"); } catch (err) { if (err.status !== 401) throw err; return; }
  me.name = who.name; me.role = who.role; me.permissions = new Set(who.permissions);
  document.getElementById("who").textContent = `${who.name} (${who.role})`;
  document.getElementById("nav").hidden = false;
  document.getElementById("signout").hidden = false;
  if (!location.hash || location.hash === "#/") location.hash = "#/availability";
  else route();
}

async function signout() {
  try { await api("/api/v1/sessions", "DELETE", {}); } catch (err) { /* gone already */ }
  sessionStorage.removeItem("csrf");
  showSignin();
}

// ---------------------------------------------------------------------------------- routing
function stopPolling() { if (poller) { clearInterval(poller); poller = null; } }

function route() {
  if (!me.name) return;
  stopPolling();
  const [, view, arg] = location.hash.split("/");
  for (const a of document.querySelectorAll("#nav a"))
    a.classList.toggle("active", a.dataset.view === view);
  // each view draws into a fresh box: one that a later route replaced draws off screen
  const main = h("div", { class: "view" }, h("p", { class: "muted" }, "loading…"));
  document.getElementById("main").replaceChildren(main);
  const views = { availability: availabilityView, oncall: oncallView, sre: sreView,
                  drill: (m) => drillView(m, arg) };
  (views[view] || availabilityView)(main).catch((err) => main.replaceChildren(failed(err)));
}

// ---------------------------------------------------------------------------------- charts
function burnDown(points) {
  if (!points.length) return h("p", {}, "burn-down: ", noData());
  const W = 360, H = 120, P = 28;
  const t0 = points[0][0], t1 = points[points.length - 1][0] || t0 + 1;
  // an overspent budget is drawn down to -100% at most, so 0% and 100% stay apart
  const clamped = points.map(([t, v]) => [t, Math.max(-1, Math.min(1, v))]);
  const overspent = points.some((p) => p[1] < -1);
  const lo = Math.min(0, ...clamped.map((p) => p[1])), hi = 1;
  const x = (t) => P + (W - 2 * P) * ((t - t0) / Math.max(1, t1 - t0));
  const y = (v) => H - P + (2 * P - H) * ((v - lo) / (hi - lo));
  const svg = s("svg", { width: W, height: H, viewBox: `0 0 ${W} ${H}`, role: "img",
                         "aria-label": "error budget burn-down", class: "burn-down" });
  svg.append(s("line", { x1: P, x2: W - P, y1: y(0), y2: y(0), stroke: "#cf222e" }));
  svg.append(s("text", { x: 2, y: y(1) + 4 }, "100%"), s("text", { x: 2, y: y(0) + 4 }, "0%"));
  svg.append(s("polyline", { fill: "none", stroke: "#0969da", "stroke-width": 2,
    points: clamped.map((p) => `${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`).join(" ") }));
  if (lo < 0) svg.append(s("text", { x: 2, y: y(lo) + 4 }, overspent ? "≤-100%" : `${Math.round(lo * 100)}%`));
  svg.append(s("text", { x: P, y: H - 6 }, when(t0).slice(0, 10)),
             s("text", { x: W - P - 60, y: H - 6 }, when(t1).slice(0, 10)));
  return svg;
}

const SEVERITY_COLOUR = { page: "#cf222e", critical: "#cf222e", warning: "#9a6700", info: "#0969da" };

function incidentTimeline(alerts, now, days = 30) {
  const W = 1000, row = 18, P = 150;
  const names = [...new Set(alerts.map((a) => a.alertname))];
  const H = 30 + row * Math.max(1, names.length);
  const t0 = now - days * 86400;
  const x = (t) => P + (W - P - 10) * Math.max(0, (t - t0) / (now - t0));
  const svg = s("svg", { width: W, height: H, viewBox: `0 0 ${W} ${H}`, role: "img",
                         "aria-label": "incidents timeline", class: "incidents" });
  names.forEach((n, i) => svg.append(s("text", { x: 2, y: 14 + row * i + 12 }, n.slice(0, 22))));
  for (const a of alerts) {
    const i = names.indexOf(a.alertname);
    const end = a.ends_at && a.ends_at < now ? a.ends_at : now;
    const bar = s("rect", { x: x(a.starts_at), y: 14 + row * i, height: row - 4, rx: 2,
      width: Math.max(3, x(end) - x(a.starts_at)), fill: SEVERITY_COLOUR[a.severity] || "#57606a" });
    bar.append(s("title", {}, `${a.alertname} (${a.severity}) ${a.status} from ${when(a.starts_at)}`));
    svg.append(bar);
  }
  svg.append(s("text", { x: P, y: H - 2 }, when(t0).slice(0, 10)),
             s("text", { x: W - 80, y: H - 2 }, when(now).slice(0, 10)));
  return svg;
}

// ---------------------------------------------------------------------------------- availability
async function availabilityView(main) {
  const [avail, drills, history] = await Promise.all([
    api("/api/v1/availability"), api("/api/v1/drills?limit=20"),
    api("/api/v1/alerts/history?limit=500")]);
  const month = new Date(avail.at * 1000).toISOString().slice(0, 7);
  const rows = avail.slos.map((a) => h("tr", { "data-slo": a.slo },
    h("td", {}, a.slo), h("td", {}, a.service), h("td", {}, pct(a.objective, 2)),
    ...[a.today, a.days_7, a.days_30].map((v) => h("td", { class: v === null ? "" :
      (v >= a.objective ? "ok" : "bad") }, pct(v))),
    h("td", { class: "budget" }, a.budget_remaining_ratio === null ? noData()
      : `${pct(a.budget_remaining_ratio, 1)} (${a.budget_remaining_minutes.toFixed(2)} of `
        + `${a.budget_minutes.toFixed(2)} min)`)));
  const problems = avail.slos.flatMap((a) => a.problems.map((p) => `${a.slo}: ${p}`));
  main.replaceChildren(
    h("div", { class: "print-only" }, h("h1", {}, `Monthly availability report, ${month}`),
      h("p", {}, `Printed ${when(avail.at)} for ${me.name}.`)),
    h("div", { class: "row no-print" }, h("h1", {}, "Availability"),
      h("button", { type: "button", id: "print-report", onclick: () => window.print() },
        `Print the monthly report (${month})`)),
    card(`Per service, against the ${pct(OBJECTIVE, 2)} objective`,
      table(["SLO", "service", "objective", "today", "7 days", "30 days", "error budget left"],
            rows, { id: "availability" }),
      avail.prometheus ? h("p", { class: "muted" }, `from Prometheus at ${avail.prometheus}`)
        : h("p", { class: "muted" }, "no Prometheus: every figure is no data"),
      problems.length ? h("details", {}, h("summary", {}, `${problems.length} figures have no data: why`),
        h("pre", {}, problems.join("\n"))) : null),
    card("Error budget burn-down (30 days)", h("div", { class: "grid" },
      avail.slos.map((a) => h("div", {}, h("strong", {}, a.slo), burnDown(a.burn_down))))),
    card("Incidents: alerts over 30 days", history.alerts.length
      ? incidentTimeline(history.alerts, avail.at) : h("p", {}, "no alert received")),
    card("Last drills: RTO and RPO against their targets", drillsTable(drills.drills)),
    card("Resilience score", h("p", {}, noData(), " (not shown by this view yet)")));
}

function drillsTable(drills) {
  if (!drills.length) return h("p", {}, "no drill recorded");
  return table(["drill", "kind", "started", "state", "RTO (target 300 s)", "RPO (target 0 orders)",
                "failover (target 30 s)"], drills.map((d) => {
    const r = d.result || {};
    const measure = (v, target, fmt) => v === undefined || v === null ? noData()
      : h("span", {}, fmt(v), " ", within(v, target));
    return h("tr", { "data-drill": d.id },
      h("td", {}, h("a", { href: `#/drill/${d.id}` }, `#${d.id}`)), h("td", {}, d.kind),
      h("td", {}, when(d.started_at)), h("td", {}, d.state),
      h("td", { class: "rto" }, measure(r.rto_s, TARGETS.rto_s, (v) => `${v.toFixed(2)} s`)),
      h("td", { class: "rpo" }, measure(r.rpo_orders, TARGETS.rpo_orders, (v) => `${v} orders`)),
      h("td", {}, measure(r.failover_s, TARGETS.failover_s, (v) => `${v.toFixed(2)} s`)));
  }), { id: "drills" });
}

// ---------------------------------------------------------------------------------- drill page
const MILESTONES = ["fault_injected", "detected", "alerted", "first_action", "recovered"];
const LABELS = { load_started: "load started", fault_injected: "fault", detected: "detection",
  alerted: "alert", first_action: "first action", recovered: "recovery", promoted: "promoted",
  routed: "routed", first_write_ok: "first write ok", rejoined: "rejoined",
  rpo_checked: "RPO checked", runbook_started: "runbook", runbook_done: "runbook done" };

async function drillView(main, id) {
  const { drill, events } = await api(`/api/v1/drills/${encodeURIComponent(id)}`);
  const r = drill.result || {};
  const fault = events.find((e) => e.kind === "fault_injected");
  const origin = fault ? fault.at : drill.started_at;
  const last = Math.max(origin + 1, ...events.map((e) => e.at));
  const W = 1000, H = 150, P = 40;
  const x = (t) => P + (W - 2 * P) * ((t - Math.min(origin, events.length ? events[0].at : origin))
    / Math.max(1, last - Math.min(origin, events.length ? events[0].at : origin)));
  const svg = s("svg", { width: W, height: H, viewBox: `0 0 ${W} ${H}`, role: "img",
                         "aria-label": "drill timeline", id: "drill-timeline" });
  svg.append(s("line", { x1: P, x2: W - P, y1: 70, y2: 70, stroke: "#57606a" }));
  const recovered = events.find((e) => e.kind === "recovered");
  if (fault && recovered) svg.append(s("rect", { x: x(fault.at), y: 60,
    width: Math.max(2, x(recovered.at) - x(fault.at)), height: 20, fill: "#ffebe9" }));
  events.forEach((e, i) => {
    const key = MILESTONES.includes(e.kind);
    const cx = x(e.at);
    svg.append(s("circle", { cx, cy: 70, r: key ? 7 : 4, fill: key ? "#cf222e" : "#0969da" }));
    const lane = [22, 44, 100, 122][i % 4];     // four label lanes, so neighbours do not overlap
    svg.append(s("line", { x1: cx, x2: cx, y1: 70, y2: lane < 70 ? lane + 4 : lane - 12,
                           stroke: "#d0d7de" }));
    svg.append(s("text", { x: Math.min(cx - 20, W - 120), y: lane, "font-weight": key ? "bold" : "normal" },
      `${LABELS[e.kind] || e.kind} ${(e.at - origin >= 0 ? "+" : "")}${(e.at - origin).toFixed(1)}s`));
  });
  const missing = r.rpo_orders;
  const acked = r.acked_total;
  main.replaceChildren(
    h("h1", {}, `Drill #${drill.id}: ${drill.kind} on ${drill.target} (${drill.state})`),
    card("Fault → detection → alert → first action → recovery", svg,
      h("p", { class: "muted" }, MILESTONES.map((k) => {
        const e = events.find((ev) => ev.kind === k);
        return `${LABELS[k]}: ${e ? `+${(e.at - origin).toFixed(2)} s` : "not recorded"}`;
      }).join(" · "))),
    card("Measured against the targets", table(["measure", "measured", "target", ""], [
      ["RTO (client-observed write gap)", r.rto_s, TARGETS.rto_s, secs(r.rto_s)],
      ["failover", r.failover_s, TARGETS.failover_s, secs(r.failover_s)],
      ["detection", r.detection_s, TARGETS.detection_s, secs(r.detection_s)],
    ].map(([name, v, target, shown]) => h("tr", {}, h("td", {}, name), h("td", {}, shown),
      h("td", {}, `${target} s`), h("td", {}, v === undefined || v === null ? "" : within(v, target))))
      .concat([h("tr", { id: "rpo-row" }, h("td", {}, "RPO (acknowledged orders missing)"),
        h("td", {}, missing === undefined ? noData() : `${missing} orders`), h("td", {}, "0 orders"),
        h("td", {}, missing === undefined ? "" : within(missing, 0)))]), { id: "drill-measures" })),
    card("Acknowledged orders reconciled", acked === undefined ? h("p", {}, noData())
      : h("p", { id: "reconciled" }, `${acked} orders acknowledged to clients; `
        + `${acked - (missing || 0)} found in the ledger after recovery; ${missing || 0} missing.`)),
    card("Every event", table(["at", "since the fault", "event", "detail"], events.map((e) =>
      h("tr", {}, h("td", {}, when(e.at)), h("td", {}, `${(e.at - origin).toFixed(2)} s`),
        h("td", {}, LABELS[e.kind] || e.kind), h("td", {}, h("pre", {}, JSON.stringify(e.detail))))))),
    h("p", {}, h("a", { href: `/api/v1/drills/${drill.id}` }, "the drill record as JSON")));
}

// ---------------------------------------------------------------------------------- on call
async function oncallView(main) {
  const alerts = h("div", { id: "firing" }), runs = h("div", { id: "runs" }),
        automation = h("div", { id: "automation" }), chaos = h("div", { id: "chaos" });
  const halt = h("div", { id: "halt-result" });
  main.replaceChildren(h("h1", {}, "On call"), card("Firing alerts", alerts),
    card("Automation", automation), card("Runbook runs", runs),
    card("Chaos: running experiments and the emergency halt", chaos, halt));
  const refresh = async () => {
    const [firing, runList, status] = await Promise.all([api("/api/v2/alerts"),
      api("/api/v1/runbooks/runs?limit=10"), api("/api/v1/chaos/status")]);
    alerts.replaceChildren(firing.length ? table(["alert", "severity", "since", "summary"],
      firing.map((a) => h("tr", {}, h("td", {}, a.labels.alertname), h("td", {}, a.labels.severity || ""),
        h("td", {}, a.startsAt), h("td", {}, a.annotations.summary || "")))) : h("p", {}, "none firing"));
    renderAutomation(automation, runList.automation, refresh);
    const details = await Promise.all(runList.runs.map((r) => api(`/api/v1/runbooks/runs/${r.id}`)));
    renderRuns(runs, details, refresh);
    renderChaos(chaos, status, halt, refresh);
  };
  await refresh();
  if (main.isConnected) poller = setInterval(() => refresh().catch(() => {}), POLL_MS);
}

function renderAutomation(box, state, refresh) {
  const text = state.paused ? `paused by ${state.actor} at ${when(state.at)}: ${state.reason}`
    : "automation on: alerts start runbooks";
  const controls = !can("automation:pause") ? null : state.paused
    ? h("button", { type: "button", id: "resume-automation", onclick: async () => {
        await api("/api/v1/runbooks/automation/resume", "POST", {}); refresh(); } }, "Resume automation")
    : h("span", { class: "row" }, h("input", { id: "pause-reason", placeholder: "why pause" }),
        h("button", { type: "button", id: "pause-automation", onclick: async () => {
          const reason = document.getElementById("pause-reason").value || "paused from the web UI";
          await api("/api/v1/runbooks/automation/pause", "POST", { reason }); refresh(); } },
          "Pause automation"));
  if (box.dataset.state === String(state.paused) && box.childNodes.length) return;
  box.dataset.state = String(state.paused);
  box.replaceChildren(...[h("p", { id: "automation-state" }, text), controls].filter(Boolean));
}

function renderRuns(box, details, refresh) {
  if (typing(box)) return;            // do not redraw under an operator typing a code
  if (!details.length) { box.replaceChildren(h("p", {}, "no runbook run")); return; }
  box.replaceChildren(...details.map(({ run, steps }) => {
    const waiting = steps.find((st) => st.state === "waiting");
    return h("div", { class: "card run", "data-run": run.id, "data-state": run.state },
      h("strong", {}, `Run #${run.id} ${run.runbook} on ${run.target}: `),
      h("span", { class: "run-state" }, run.state), h("span", { class: "muted" },
        ` started by ${run.started_by} at ${when(run.started_at)}`),
      table(["#", "step", "kind", "state", "by", "took", "record"], steps.map((st) =>
        h("tr", { "data-step": st.idx, "data-step-state": st.state },
          h("td", {}, st.idx), h("td", {}, st.name), h("td", {}, st.kind),
          h("td", { class: "step-state" }, st.state), h("td", {}, st.actor || ""),
          h("td", {}, st.took_s === null ? "" : `${st.took_s.toFixed(2)} s`),
          h("td", {}, h("details", {}, h("summary", {}, "input / output"),
            h("pre", {}, JSON.stringify({ input: st.input, output: st.output, error: st.error }, null, 1))))))),
      waiting && can("runbooks:approve") ? decisionForm(run, waiting, refresh) : null,
      waiting && !can("runbooks:approve") ? h("p", { class: "muted" },
        `step ${waiting.idx} waits for an on-call approval`) : null);
  }));
}

function decisionForm(run, step, refresh) {
  const rule = step.input.approval_rule || {};
  const totp = h("input", { class: "decision-totp", placeholder: "TOTP code", inputmode: "numeric",
    autocomplete: "one-time-code" });
  const reason = h("input", { class: "decision-reason", placeholder: "reason (optional)" });
  const out = h("span", { class: "decision-result", role: "status" });
  const decide = (verb) => async () => {
    const body = { step: step.idx };
    if (totp.value.trim()) body.totp = totp.value.trim();
    if (reason.value.trim()) body.reason = reason.value.trim();
    try {
      const d = await api(`/api/v1/runbooks/runs/${run.id}/${verb}`, "POST", body);
      out.textContent = d.decision === "pending" ? `vote counted: ${d.have} of ${d.needed}` : `${d.decision}d by ${d.actor}`;
      out.className = "decision-result ok";
      refresh().catch(() => {});
    } catch (err) { out.textContent = err.message; out.className = "decision-result error"; }
  };
  return h("div", { class: "row decision" },
    h("span", {}, `step ${step.idx} "${step.name}" waits for approval`
      + (rule.sensitive ? ` (two-person rule: ${rule.approvers || 1} approver(s), not ${rule.requested_by}; TOTP needed)` : "")),
    totp, reason,
    h("button", { type: "button", class: "primary approve", onclick: decide("approve") }, "Approve"),
    h("button", { type: "button", class: "reject", onclick: decide("reject") }, "Reject"), out);
}

function typing(box) {
  const el = document.activeElement;
  return Boolean(el && el.tagName === "INPUT" && box.contains(el));
}

function renderChaos(box, status, haltBox, refresh) {
  if (typing(box)) return;
  const running = status.running.length ? table(["run", "title", "pid"], status.running.map((r) =>
    h("tr", {}, h("td", {}, r.run_id), h("td", {}, r.title), h("td", {}, r.pid))))
    : h("p", {}, "no experiment running");
  const open = status.open_faults.length ? table(["fault", "kind", "target", "state"],
    status.open_faults.map((f) => h("tr", {}, h("td", {}, `#${f.id}`), h("td", {}, f.kind),
      h("td", {}, f.target), h("td", {}, f.state)))) : h("p", {}, "no fault in force");
  const state = h("p", { id: "halt-state", class: status.halted ? "bad" : "" },
    status.halted ? `chaos halted: ${status.halt_reason}` : "chaos allowed");
  let controls = null;
  if (can("chaos:halt")) {
    const confirm = h("button", { type: "button", class: "danger", id: "confirm-halt", hidden: true,
      onclick: async () => {
        confirm.disabled = true;
        haltBox.replaceChildren(h("p", {}, "halting: signalling runners, reverting faults…"));
        try {
          const outcome = await api("/api/v1/chaos/halt", "POST", { reason: `emergency halt by ${me.name} from the web UI` });
          haltBox.replaceChildren(haltOutcome(outcome));
        } catch (err) { haltBox.replaceChildren(failed(err)); }
        refresh().catch(() => {});
      } }, "Confirm: halt every chaos run now");
    controls = h("div", { class: "row" }, h("button", { type: "button", class: "danger", id: "emergency-halt",
      onclick: () => { confirm.hidden = false; } }, "Emergency halt"), confirm);
  }
  const resume = status.halted && can("chaos:resume") ? h("button", { type: "button", id: "resume-chaos",
    onclick: async () => { await api("/api/v1/chaos/resume", "POST", {}); refresh(); } }, "Lift the halt") : null;
  box.replaceChildren(...[state, running, h("h3", {}, "Faults in force"), open, controls, resume]
    .filter(Boolean));
}

function haltOutcome(o) {
  return h("div", { id: "halt-outcome" },
    h("p", { class: o.ok ? "ok" : "bad" }, o.ok
      ? `every fault verified reverted in ${o.seconds.toFixed(2)} s`
      : `NOT every fault is verified reverted (still open: ${o.still_open.join(", ") || "none"})`),
    h("p", {}, `${o.runs.filter((r) => r.signalled).length} of ${o.runs.length} runs signalled; reason: ${o.reason}`),
    o.faults.length ? table(["fault", "kind", "target", "run", "reverted by", "state", "verified", "observed"],
      o.faults.map((f) => h("tr", { "data-fault": f.fault_id, "data-verified": f.verified },
        h("td", {}, `#${f.fault_id}`), h("td", {}, f.kind), h("td", {}, f.target), h("td", {}, f.run_id || ""),
        h("td", {}, f.reverted_by), h("td", {}, f.state),
        h("td", { class: f.verified ? "ok" : "bad" }, f.verified ? "verified reverted" : "NOT verified"),
        h("td", {}, f.observed))), { id: "halt-faults" }) : h("p", {}, "no fault was in force"));
}

// ---------------------------------------------------------------------------------- SRE
async function sreView(main) {
  const [cat, launches, runs] = await Promise.all([api("/api/v1/chaos/experiments"),
    api("/api/v1/launches").catch(() => ({ launches: [] })), api("/api/v1/chaos/runs?limit=20")]);
  const chosen = new Set();
  const tagCounts = new Map();
  for (const e of cat.experiments) for (const t of e.tags) tagCounts.set(t, (tagCounts.get(t) || 0) + 1);
  const filter = h("input", { id: "tag-filter", placeholder: "filter by tag or title, e.g. fault:process-kill" });
  const list = h("div", { id: "catalogue" });
  const chips = h("div", {}, [...tagCounts.keys()].sort().filter((t) => !t.startsWith("runbook:"))
    .slice(0, 80).map((t) => h("span", { class: "chip", "data-tag": t, onclick: (ev) => {
      if (chosen.has(t)) chosen.delete(t); else chosen.add(t);
      ev.target.classList.toggle("on"); draw(); } }, t)));
  const launchOut = h("div", { id: "launch-result" });
  const launch = async (path, body) => {
    try {
      const l = await api(path, "POST", body);
      launchOut.replaceChildren(h("p", { class: "ok" }, `launched ${l.id}: ${l.argv.join(" ")}`));
    } catch (err) { launchOut.replaceChildren(failed(err)); }
  };
  const draw = () => {
    const q = filter.value.trim().toLowerCase();
    const shown = cat.experiments.filter((e) => [...chosen].every((t) => e.tags.includes(t))
      && (!q || e.title.toLowerCase().includes(q) || e.tags.some((t) => t.toLowerCase().includes(q))));
    list.replaceChildren(h("p", { class: "muted" }, `${shown.length} of ${cat.experiments.length} experiments`),
      table(["experiment", "fault", "component", "severity", "tags", ""], shown.slice(0, 200).map((e) =>
        h("tr", { "data-experiment": e.id }, h("td", {}, e.title), h("td", {}, e.fault || ""),
          h("td", {}, e.component || ""), h("td", {}, e.severity || ""),
          h("td", {}, e.tags.join(" ")),
          h("td", {}, can("chaos:run") ? h("button", { type: "button", onclick: () =>
            launch("/api/v1/chaos/runs", { experiments: e.id }) }, "Launch") : "")))));
  };
  filter.addEventListener("input", draw);
  draw();
  const forms = [];
  if (can("chaos:run")) forms.push(h("div", { class: "row" }, "Experiments by tag selector (a GameDay):",
    h("input", { id: "selector", placeholder: "fault=process-kill" }),
    h("select", { id: "policy" }, h("option", { value: "" }, "lab"), h("option", { value: "production" }, "production")),
    h("button", { type: "button", onclick: () => {
      const body = { experiments: document.getElementById("selector").value };
      const policy = document.getElementById("policy").value; if (policy) body.policy = policy;
      launch("/api/v1/chaos/runs", body); } }, "Launch")));
  if (can("drills:run")) forms.push(h("div", { class: "row" }, "Drill:",
    h("select", { id: "drill-kind" }, ["ledger-failover", "ledger-hang", "autoscale"].map((k) => h("option", {}, k))),
    h("button", { type: "button", onclick: () => launch("/api/v1/drills",
      { kind: document.getElementById("drill-kind").value }) }, "Launch drill")));
  if (can("load:run")) forms.push(h("div", { class: "row" }, "Load run:",
    h("input", { id: "load-profile", value: "smoke" }),
    h("button", { type: "button", onclick: () => launch("/api/v1/load/runs",
      { profile: document.getElementById("load-profile").value }) }, "Launch load")));
  main.replaceChildren(h("h1", {}, "SRE"),
    card("Launch", forms.length ? forms : h("p", {}, `your role (${me.role}) launches nothing`),
      h("p", { class: "muted" }, "Guardrail preview: the service has no preview API yet; the guardrails "
        + "are checked when the run starts and a refusal shows in the launch's output below."), launchOut),
    card("Experiment catalogue", filter, chips, list),
    card("Launches", launches.launches.length ? table(["id", "command", "running", "exit", "output"],
      launches.launches.map((l) => h("tr", {}, h("td", {}, h("a", { href: `/api/v1/launches/${l.id}` }, l.id)),
        h("td", {}, l.argv.join(" ")), h("td", {}, l.running ? "running" : "ended"),
        h("td", {}, l.exit_code ?? ""), h("td", {}, h("pre", {}, (l.output_tail || "").slice(-300))))))
      : h("p", {}, "none")),
    card("Chaos runs and their reports", runs.runs.length ? table(["run", "title", "state", "verdict", "report"],
      runs.runs.map((r) => h("tr", {}, h("td", {}, r.run_id), h("td", {}, r.title), h("td", {}, r.state),
        h("td", {}, (r.result && r.result.verdict) || r.reason || ""), h("td", {}, h("a", { href: `/api/v1/chaos/runs/${encodeURIComponent(r.run_id)}` }, "JSON")))))
      : h("p", {}, "no chaos run recorded"),
      h("p", { class: "muted" }, "JUnit and HTML reports are written by `controlplane chaos run` beside the run; "
        + "the service does not serve them yet.")));
}

// ---------------------------------------------------------------------------------- start
window.addEventListener("hashchange", route);
document.addEventListener("DOMContentLoaded", () => {
  document.getElementById("signout").addEventListener("click", signout);
  start().catch((err) => document.getElementById("main").replaceChildren(failed(err)));
});
