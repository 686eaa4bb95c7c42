// The staff console: asks for the access token, then shows /api/staff/events and sends
// staff actions, every request with "Authorization: Bearer <token>". The token lives in
// sessionStorage only (gone when the tab closes).
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const S = Screen;
  let token = sessionStorage.getItem("staffToken") || "";
  let stopStream = null;
  let latest = null;

  function badge(id, text, level) {
    const node = $(id);
    node.textContent = text;
    node.dataset.level = level;
  }

  function render(view) {
    latest = view;
    const printer = view.printer;
    if (printer.known) {
      badge("printer-online", S.t(printer.online ? "staff.online" : "staff.offline"), printer.online ? "ok" : "error");
      const paperLevel = { ok: "ok", low: "warn", out: "error" }[printer.paper] || "stale";
      badge("printer-paper", S.t(`staff.paper_${printer.paper}`), paperLevel);
      $("printer-printed").textContent = String(printer.tickets_printed);
      $("pending").replaceChildren(...(printer.pending_numbers.length
        ? printer.pending_numbers.map((number) => S.el("li", { class: "number" }, number))
        : [S.el("li", {}, S.t("staff.pending_none"))]));
    } else {
      badge("printer-online", S.t("staff.unknown"), "stale");
      badge("printer-paper", S.t("staff.paper_unknown"), "stale");
    }

    const dispenser = view.dispenser;
    if (dispenser.known) {
      badge("dispenser-online", S.t(dispenser.online ? "staff.online" : "staff.offline"), dispenser.online ? "ok" : "error");
      const fault = dispenser.fault ? `${S.t("staff.fault")}: ${dispenser.fault}` : (dispenser.door_open ? S.t("staff.door_open") : "");
      badge("dispenser-fault", fault, fault ? "error" : "ok");
      $("dispenser-fault").hidden = !fault;
      $("stock").replaceChildren(...dispenser.stock.map((s) => {
        const item = S.el("li", { "data-item": s.item, "data-level": s.empty ? "error" : "ok" });
        const name = S.t(`staff.stock_${s.item}`);
        item.append(S.el("span", {}, name === `staff.stock_${s.item}` ? s.item : name), S.el("b", {}, String(s.count)));
        return item;
      }));
    } else {
      badge("dispenser-online", S.t("staff.unknown"), "stale");
      $("dispenser-fault").hidden = true;
    }

    const server = view.server;
    if (server.known) {
      badge("server-reachable", S.t(server.reachable ? "staff.reachable" : "staff.unreachable"), server.reachable ? "ok" : "error");
      $("server-age").textContent = server.data_age_s !== null && server.data_age_s >= 0 ? S.t("staff.data_age", server.data_age_s) : "";
    } else {
      badge("server-reachable", S.t("staff.unknown"), "stale");
    }

    badge("greeting-state", S.t(view.greeting_paused ? "staff.greeting_off" : "staff.greeting_on"), view.greeting_paused ? "warn" : "ok");
    const toggle = $("greeting-toggle");
    toggle.textContent = S.t(view.greeting_paused ? "staff.resume" : "staff.pause");
    toggle.dataset.action = view.greeting_paused ? "resume_greeting" : "pause_greeting";

    for (const key of ["visitors", "tickets", "drinks", "candy", "faults"]) $(`count-${key}`).textContent = String(view.counts[key]);

    $("nodes").replaceChildren(...view.nodes.map((node) => {
      const row = S.el("tr", { "data-level": node.level });
      row.append(S.el("td", {}, node.name), S.el("td", { class: "level" }, S.t(`staff.level_${node.level}`)), S.el("td", {}, node.message));
      return row;
    }));
    $("nodes-empty").hidden = view.nodes.length > 0;
  }

  function showLogin(errorKey) {
    if (stopStream) stopStream();
    stopStream = null;
    $("console").hidden = true;
    $("sign-out").hidden = true;
    $("login").hidden = false;
    $("login-error").hidden = !errorKey;
    if (errorKey) $("login-error").textContent = S.t(errorKey);
  }

  function connect() {
    if (stopStream) stopStream();
    stopStream = S.stream("/api/staff/events", {
      headers: { Authorization: `Bearer ${token}` },
      onState: render,
      onStatus: (status) => {
        if (status === 401) { sessionStorage.removeItem("staffToken"); token = ""; showLogin("staff.refused"); }
        else if (status === 503) showLogin("staff.disabled");
        else if (status === 200) {
          sessionStorage.setItem("staffToken", token);
          $("login").hidden = true;
          $("console").hidden = false;
          $("sign-out").hidden = false;
        }
      },
    });
  }

  async function act(action) {
    const result = $("action-result");
    try {
      const response = await fetch(`/api/staff/actions/${action}`, { method: "POST", headers: { Authorization: `Bearer ${token}` } });
      const body = await response.json();
      result.textContent = response.ok ? S.t("staff.action_done") : `${S.t("staff.action_failed")}: ${body.message}`;
      result.dataset.level = response.ok ? "ok" : "error";
      if (response.status === 401) showLogin("staff.refused");
    } catch (error) {
      result.textContent = S.t("staff.action_failed");
      result.dataset.level = "error";
    }
  }

  async function start() {
    await S.loadConfig();
    S.applyLabels();
    $("login").addEventListener("submit", (event) => {
      event.preventDefault();
      token = $("token").value.trim();
      connect();
    });
    $("sign-out").addEventListener("click", () => { sessionStorage.removeItem("staffToken"); token = ""; showLogin(""); });
    document.querySelectorAll("[data-action]").forEach((button) => button.addEventListener("click", () => act(button.dataset.action)));
    $("greeting-toggle").addEventListener("click", (event) => act(event.currentTarget.dataset.action));
    $("lang-toggle").addEventListener("click", () => { S.setLanguage(S.lang === "vi" ? "en" : "vi"); if (latest) render(latest); });
    if (token) connect();
    document.body.dataset.ready = "true";
  }

  start();
})();
