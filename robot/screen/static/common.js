// Shared by the visitor screen and the staff console: labels (from /api/config, never
// hard-coded here) and the live state stream (server-sent events read with fetch, so the
// staff console can send its token in a header; reconnects after a pause).
"use strict";

const Screen = (() => {
  let config = null;
  let lang = "vi";

  async function loadConfig() {
    const response = await fetch("/api/config", { cache: "no-store" });
    config = await response.json();
    lang = config.default_language;
    return config;
  }

  function t(key, n) {
    let text = key.split(".").reduce((node, part) => (node ? node[part] : undefined), config.labels[lang]);
    if (typeof text !== "string") text = key;
    return n === undefined ? text : text.replace("{n}", String(n));
  }

  function applyLabels(root = document) {
    root.querySelectorAll("[data-label]").forEach((el) => { el.textContent = t(el.dataset.label); });
    document.documentElement.lang = lang;
  }

  function setLanguage(value) {
    if (config.labels[value]) lang = value;
    applyLabels();
  }

  function el(tag, attrs = {}, text = "") {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
    if (text) node.textContent = text;
    return node;
  }

  function stream(url, { headers = {}, onState, onStatus }) {
    let stopped = false;
    let controller = null;
    const pause = () => new Promise((resolve) => setTimeout(resolve, 1000));
    (async () => {
      while (!stopped) {
        controller = new AbortController();
        try {
          const response = await fetch(url, { headers, signal: controller.signal, cache: "no-store" });
          onStatus(response.status);
          if (response.status === 401 || response.status === 503) return;  // retrying cannot help
          if (!response.ok) throw new Error(`HTTP ${response.status}`);
          const reader = response.body.getReader();
          const decoder = new TextDecoder();
          let buffer = "";
          for (;;) {
            const { value, done } = await reader.read();
            if (done) break;
            buffer += decoder.decode(value, { stream: true });
            let cut;
            while ((cut = buffer.indexOf("\n\n")) >= 0) {
              const block = buffer.slice(0, cut);
              buffer = buffer.slice(cut + 2);
              const data = block.split("\n").filter((line) => line.startsWith("data:"))
                .map((line) => line.slice(5).trimStart()).join("\n");
              if (data) onState(JSON.parse(data));
            }
          }
        } catch (error) {
          if (stopped) return;
        }
        onStatus(0);
        await pause();
      }
    })();
    return () => { stopped = true; if (controller) controller.abort(); };
  }

  return {
    loadConfig, t, applyLabels, setLanguage, el, stream,
    get lang() { return lang; },
    get config() { return config; },
  };
})();
