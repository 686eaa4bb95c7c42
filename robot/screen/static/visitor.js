// The visitor screen: every tap becomes one dialogue intent (POST /api/visitor/intent);
// what the robot says, the queue and the visitor's number arrive on /api/visitor/events.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const S = Screen;
  let latest = null;
  let dialogueLanguage = "";
  let openPanel = null;  // function that redraws the open panel after a language change
  let dialogueState = "";
  // The dialogue asks a question (by voice or after a tap): show the matching panel.
  const PANEL_FOR_STATE = {
    CHOOSING_SERVICE: "queue_number",
    ASKING_PROCEDURE: "procedure",
    ASKING_BOOKING_CODE: "check_in",
    ASKING_RECEIPT_CODE: "application_status",
    ASKING_RATING: "feedback",
  };

  let lastTap = { key: "", at: 0 };

  async function send(intent, argument = "") {
    // A shaky double tap must not ask twice (two bottles, two numbers).
    const key = `${intent}|${argument}`;
    if (key === lastTap.key && Date.now() - lastTap.at < 1000) return false;
    lastTap = { key, at: Date.now() };
    try {
      const response = await fetch("/api/visitor/intent", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ intent, argument, language: S.lang }),
      });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      return true;
    } catch (error) {
      toast(S.t("common.failed"));
      return false;
    }
  }

  function toast(text) {
    const box = $("toast");
    box.textContent = text;
    box.hidden = false;
    clearTimeout(toast.timer);
    toast.timer = setTimeout(() => { box.hidden = true; }, 2500);
  }

  // -- panels: pick a service or procedure, keypad, feedback --------------------------

  function showPanel(titleKey, draw) {
    openPanel = () => {
      $("panel-title").textContent = S.t(titleKey);
      const body = $("panel-body");
      body.replaceChildren();
      draw(body);
    };
    openPanel();
    $("panel").hidden = false;
  }

  function closePanel() {
    $("panel").hidden = true;
    openPanel = null;
  }

  function choices(body, items, intent) {
    const grid = S.el("div", { class: "choices" });
    for (const item of items) {
      const button = S.el("button", { type: "button", "data-choice": item.id });
      if (item.letter) button.append(S.el("span", { class: "letter" }, item.letter));
      button.append(S.el("span", {}, S.lang === "en" ? item.name_en : item.name_vi));
      button.addEventListener("click", async () => { if (await send(intent, item.id)) closePanel(); });
      grid.append(button);
    }
    body.append(grid);
  }

  function keypad(body, intent) {
    let code = "";
    let letters = false;
    const display = S.el("output", { class: "code", id: "keypad-code" });
    const keys = S.el("div", { class: "keys" });
    const drawKeys = () => {
      keys.replaceChildren();
      keys.classList.toggle("letters", letters);
      const symbols = letters ? "ABCDEFGHIJKLMNOPQRSTUVWXYZ-".split("") : "1234567890".split("");
      for (const symbol of symbols) {
        const key = S.el("button", { type: "button", "data-key": symbol }, symbol);
        key.addEventListener("click", () => { if (code.length < 32) { code += symbol; display.textContent = code; } });
        keys.append(key);
      }
    };
    const toggle = S.el("button", { type: "button", class: "secondary", id: "keypad-toggle" });
    const setToggle = () => { toggle.textContent = S.t(letters ? "common.digits" : "common.letters"); };
    toggle.addEventListener("click", () => { letters = !letters; setToggle(); drawKeys(); });
    const erase = S.el("button", { type: "button", class: "secondary", id: "keypad-delete" }, S.t("common.delete"));
    erase.addEventListener("click", () => { code = code.slice(0, -1); display.textContent = code; });
    const submit = S.el("button", { type: "button", class: "primary", id: "keypad-send" }, S.t("common.send"));
    submit.addEventListener("click", async () => { if (code.length >= 3 && await send(intent, code)) closePanel(); });
    setToggle();
    drawKeys();
    body.append(display, keys, S.el("div", { class: "row" }));
    body.lastChild.append(toggle, erase, submit);
  }

  function feedback(body) {
    let rating = 0;
    const stars = S.el("div", { class: "rating" });
    for (let value = 1; value <= 5; value += 1) {
      const star = S.el("button", { type: "button", "data-rating": String(value) }, `${value} ★`);
      star.addEventListener("click", () => {
        rating = value;
        stars.querySelectorAll("button").forEach((b) => b.classList.toggle("chosen", Number(b.dataset.rating) <= value));
      });
      stars.append(star);
    }
    const scale = S.el("div", { class: "scale" });
    scale.append(S.el("span", {}, S.t("panels.rating_1")), S.el("span", {}, S.t("panels.rating_5")));
    const comment = S.el("textarea", { id: "feedback-comment", maxlength: "300", rows: "2", placeholder: S.t("panels.feedback_comment") });
    const submit = S.el("button", { type: "button", class: "primary", id: "feedback-send" }, S.t("common.send"));
    submit.addEventListener("click", async () => {
      if (!rating) return;
      const text = comment.value.replace(/[\r\n]+/g, " ").trim();
      if (await send("feedback", `${rating}|${text}`)) { closePanel(); toast(S.t("common.sent")); }
    });
    body.append(stars, scale, comment, submit);
  }

  const needs = {
    queue_number: () => showPanel("panels.pick_service", (body) => choices(body, S.config.catalog.services, "queue_number")),
    procedure: () => showPanel("panels.pick_procedure", (body) => choices(body, S.config.catalog.procedures, "procedure")),
    check_in: () => showPanel("panels.check_in", (body) => keypad(body, "check_in")),
    application_status: () => showPanel("panels.application_status", (body) => keypad(body, "application_status")),
    feedback: () => showPanel("panels.feedback", feedback),
  };

  // -- live state ------------------------------------------------------------------------

  function render(view) {
    latest = view;
    if (view.language && view.language !== dialogueLanguage) {
      dialogueLanguage = view.language;  // follow the language the visitor speaks
      if (view.language !== S.lang) { S.setLanguage(view.language); if (openPanel) openPanel(); }
    }
    const lines = view.subtitles;
    const said = lines.length ? lines[lines.length - 1].text : S.t("hint");
    $("subtitle").textContent = said;
    // Long answers (procedures, application status) get smaller type so they fit whole.
    $("subtitle").dataset.length = said.length > 200 ? "longer" : said.length > 110 ? "long" : "";
    $("subtitle-previous").textContent = lines.length > 1 && said.length <= 110 ? lines[lines.length - 2].text : "";
    $("paused").hidden = !view.greeting_paused;
    if (view.state !== dialogueState) {
      dialogueState = view.state;
      const need = PANEL_FOR_STATE[view.state];
      if (need && !openPanel) needs[need]();
    }
    // Answers the dialogue is waiting for (yes / no, priority...), when the page has a label.
    const offered = view.options.filter((option) => S.t(`options.${option}`) !== `options.${option}`);
    $("options").replaceChildren(...offered.map((option) => {
      const chip = S.el("button", { type: "button", "data-option": option }, S.t(`options.${option}`));
      chip.addEventListener("click", () => send(option));
      return chip;
    }));

    const ticket = view.ticket;
    $("ticket").hidden = !ticket;
    document.body.classList.toggle("urgent", Boolean(ticket && ticket.not_printed));
    if (ticket) {
      $("ticket-number").textContent = ticket.number;
      $("ticket-ahead").textContent = ticket.people_ahead === null ? "" : S.t("ticket.people_ahead", ticket.people_ahead);
      $("ticket-warning").hidden = !ticket.not_printed;
    }

    const rows = $("queue-rows");
    rows.replaceChildren();
    for (const service of view.queue.services) {
      const row = S.el("tr", { "data-service": service.code });
      const name = S.el("td");
      name.append(S.el("span", { class: "letter" }, service.letter), S.lang === "en" ? service.name_en : service.name_vi);
      row.append(name, S.el("td", { class: "serving" }, service.now_serving || "-"), S.el("td", {}, String(service.waiting)));
      rows.append(row);
    }
    let note = "";
    if (!view.queue.known) note = S.t("queue.unknown");
    else if (!view.queue.server_reachable) note = S.t("queue.unreachable");
    $("queue-note").textContent = note;
  }

  async function start() {
    await S.loadConfig();
    S.applyLabels();
    document.querySelectorAll("[data-need]").forEach((button) => {
      button.addEventListener("click", () => {
        const need = button.dataset.need;
        if (needs[need]) needs[need]();
        else send(need);
      });
    });
    $("panel-back").addEventListener("click", closePanel);
    $("lang-toggle").addEventListener("click", () => {
      const next = S.lang === "vi" ? "en" : "vi";
      S.setLanguage(next);
      if (openPanel) openPanel();
      if (latest) render(latest);
      send("hello");  // every utterance carries the page language: the robot follows it
    });
    S.stream("/api/visitor/events", {
      onState: render,
      onStatus: (status) => { $("offline").hidden = status === 200; },
    });
    document.body.dataset.ready = "true";
  }

  start();
})();
