// The returns desk console (docs/console.md): scan a tracking number, see what the parcel holds and
// whether it can still be returned.
//
// Rules this file keeps:
// - The key lives in this tab's sessionStorage only. It is sent in the Authorization header, never
//   in a URL, a cookie or a log line; "Forget key" removes it.
// - Every value from the API is inserted as text (createTextNode / textContent), never as HTML.
//   The page's policy enforces it: Trusted Types without a policy make innerHTML throw.
// - Requests are relative to the page, so the console works at /console and at /<stage>/console.
"use strict";

(() => {
  const KEY_STORAGE = "forward-orders.console.key";
  const REQUEST_TIMEOUT_MS = 15000;
  const HISTORY_LIMIT = 200;
  const SVG = "http://www.w3.org/2000/svg";

  const $ = (id) => document.getElementById(id);
  const ui = {
    keyState: $("key-state"),
    forget: $("forget-key"),
    keyPanel: $("key-panel"),
    keyForm: $("key-form"),
    keyInput: $("key-input"),
    keyError: $("key-error"),
    scanPanel: $("scan-panel"),
    scanForm: $("scan-form"),
    scanInput: $("scan-input"),
    summary: $("summary"),
    results: $("results"),
    historyPanel: $("history-panel"),
    historyEmpty: $("history-empty"),
    history: $("history"),
  };

  // -- the key ---------------------------------------------------------------------------------

  // Where sessionStorage is unavailable (some privacy modes), the key lives in this variable only.
  let keyInMemory = null;
  // A scan refused for its key, looked up again once a key is entered.
  let waitingForKey = null;

  function storedKey() {
    try {
      return window.sessionStorage.getItem(KEY_STORAGE) || keyInMemory;
    } catch {
      return keyInMemory;
    }
  }

  function storeKey(key) {
    keyInMemory = null;
    try {
      window.sessionStorage.setItem(KEY_STORAGE, key);
    } catch {
      keyInMemory = key;
    }
  }

  function dropKey() {
    keyInMemory = null;
    try {
      window.sessionStorage.removeItem(KEY_STORAGE);
    } catch {
      // nothing stored
    }
  }

  function askForKey(message) {
    ui.keyPanel.hidden = false;
    ui.scanPanel.hidden = true;
    ui.forget.hidden = true;
    ui.keyState.textContent = "No key";
    ui.keyError.textContent = message || "";
    ui.keyInput.value = "";
    ui.keyInput.focus();
  }

  function showScanner() {
    ui.keyPanel.hidden = true;
    ui.scanPanel.hidden = false;
    ui.historyPanel.hidden = false;
    ui.forget.hidden = false;
    ui.keyState.textContent = "Key set for this tab";
    ui.keyError.textContent = "";
    ui.scanInput.focus();
  }

  ui.keyForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const key = ui.keyInput.value.trim();
    ui.keyInput.value = "";
    if (!key) {
      askForKey("Enter a key first.");
      return;
    }
    storeKey(key);
    showScanner();
    if (waitingForKey !== null) {
      const number = waitingForKey;
      waitingForKey = null;
      lookUp(number);
    }
  });

  ui.forget.addEventListener("click", () => {
    dropKey();
    waitingForKey = null;
    // What was seen with the key goes with it.
    ui.summary.textContent = "";
    ui.results.replaceChildren();
    ui.history.replaceChildren();
    ui.historyEmpty.hidden = false;
    ui.historyPanel.hidden = true;
    askForKey("Key forgotten. Enter a key to scan again.");
  });

  // -- scanning --------------------------------------------------------------------------------

  // A keyboard-wedge scanner types the number and presses Enter: the form's submit.
  ui.scanForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const number = ui.scanInput.value;
    ui.scanInput.value = "";
    ui.scanInput.focus();
    lookUp(number);
  });

  // Keystrokes typed while the focus is elsewhere (after a click on a card, say) go to the input,
  // so the next scan is never lost.
  document.addEventListener("keydown", (event) => {
    if (ui.scanPanel.hidden || event.ctrlKey || event.metaKey || event.altKey) return;
    const target = event.target;
    if (target instanceof HTMLInputElement || target instanceof HTMLTextAreaElement) return;
    // Space on a focused button presses it (Retry, Forget key): a keyboard user's, not a scan.
    if (event.key === " " && target instanceof HTMLButtonElement) return;
    if (event.key.length === 1) ui.scanInput.focus();
  });
  window.addEventListener("focus", () => {
    if (!ui.scanPanel.hidden && document.activeElement === document.body) ui.scanInput.focus();
  });

  let latestScan = 0;

  async function lookUp(raw) {
    const number = String(raw).trim();
    if (!number) return;
    const key = storedKey();
    if (!key) {
      waitingForKey = number;
      askForKey("Enter a key first.");
      return;
    }
    const scan = ++latestScan;
    const entry = addHistory(number);
    showPending(number);
    let outcome = await fetchTracking(number, key);
    // Numbers are printed in groups ("1Z 999 AA1 ..."): pasted with their spaces, they are looked
    // up as they are first (a client may store them so), then without the spaces.
    const compacted = number.replace(/\s+/gu, "");
    if (outcome.kind === "not-found" && compacted !== number) {
      const second = await fetchTracking(compacted, key);
      if (second.kind !== "not-found") outcome = second;
    }
    updateHistory(entry, outcome);
    if (scan !== latestScan) return; // a later scan is on screen already
    show(outcome);
  }

  function trackingUrl(number) {
    // A path segment of only dots would be resolved away by the browser's URL parser.
    if (/^\.{1,2}$/u.test(number)) return null;
    try {
      return "tracking/" + encodeURIComponent(number);
    } catch {
      return null; // not encodable text (a lone surrogate)
    }
  }

  async function fetchTracking(number, key) {
    const url = trackingUrl(number);
    if (url === null) return { kind: "not-found", number };
    const controller = new AbortController();
    const timer = window.setTimeout(() => controller.abort(), REQUEST_TIMEOUT_MS);
    try {
      const response = await fetch(url, {
        method: "GET",
        headers: { Authorization: "Bearer " + key, Accept: "application/json" },
        cache: "no-store",
        credentials: "omit",
        redirect: "error",
        referrerPolicy: "no-referrer",
        signal: controller.signal,
      });
      const requestId = response.headers.get("x-request-id") || "";
      const status = response.status;
      if (status === 200) {
        const body = await response.json();
        if (!body || !Array.isArray(body.matches)) throw new TypeError("not a tracking answer");
        return { kind: "found", number, body, requestId };
      }
      if (status === 404) return { kind: "not-found", number, requestId };
      if (status === 401 || status === 403) return { kind: "refused", number, status, requestId };
      const retryAfter = retryAfterSeconds(response.headers.get("Retry-After"));
      if (status === 429) return { kind: "busy", number, status, retryAfter, requestId };
      return { kind: "failed", number, status, retryAfter, requestId };
    } catch {
      return { kind: "unreachable", number };
    } finally {
      window.clearTimeout(timer);
    }
  }

  function retryAfterSeconds(header) {
    if (!header) return null;
    if (/^\d+$/u.test(header.trim())) return Number(header.trim());
    const at = Date.parse(header);
    return Number.isNaN(at) ? null : Math.max(0, Math.ceil((at - Date.now()) / 1000));
  }

  // -- what the operator sees ------------------------------------------------------------------

  // One element with attributes and children; strings become text nodes, never markup.
  function h(tag, attributes, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes || {})) {
      if (name === "class") node.className = value;
      else node.setAttribute(name, value);
    }
    for (const child of children) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  // Icons differ in shape as well as colour: a circle with a tick, an octagon with a cross, a
  // triangle with a question mark.
  const ICON_SHAPES = {
    eligible: ["circle", { cx: "12", cy: "12", r: "10.5" }, "M7 12.5l3.2 3.2L17 8.8"],
    expired: ["polygon", { points: "8,1.5 16,1.5 22.5,8 22.5,16 16,22.5 8,22.5 1.5,16 1.5,8" }, "M8 8l8 8M16 8l-8 8"],
    unknown: ["polygon", { points: "12,1.5 23,22 1,22" }, "M9.6 10.2a2.5 2.5 0 1 1 3.6 2.3c-.8.4-1.2 1-1.2 1.9M12 17.6v.4"],
  };

  function icon(kind) {
    const [shape, shapeAttributes, mark] = ICON_SHAPES[kind];
    const svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("class", "icon");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    const outline = document.createElementNS(SVG, shape);
    for (const [name, value] of Object.entries(shapeAttributes)) outline.setAttribute(name, value);
    outline.setAttribute("class", "icon-shape");
    const path = document.createElementNS(SVG, "path");
    path.setAttribute("d", mark);
    path.setAttribute("class", "icon-mark");
    svg.append(outline, path);
    return svg;
  }

  function plural(count, word) {
    return count + " " + word + (count === 1 ? "" : "s");
  }

  // The badge's words: they carry the verdict on their own, without the colour.
  function verdict(eligibility) {
    const status = eligibility && eligibility.status;
    const days = eligibility && eligibility.days_left;
    const end = eligibility && typeof eligibility.return_policy_end_date === "string"
      ? eligibility.return_policy_end_date
      : null;
    // 2025-03-15T17:00:00-05:00 shown as 2025-03-15 17:00:00 -05:00: the same value, easier to read.
    const shownEnd = end && end.replace(/^(\d{4}-\d{2}-\d{2})T([\d:.]+)(.*)$/u, (_, day, time, zone) =>
      day + " " + time + (zone ? " " + (zone === "Z" ? "UTC" : zone) : " UTC"));
    if (status === "eligible" && Number.isInteger(days)) {
      return {
        kind: "eligible",
        text: days === 0 ? "Returnable, last day" : "Returnable, " + plural(days, "day") + " left",
        short: "returnable",
        detail: "Return by " + shownEnd,
      };
    }
    if (status === "expired" && Number.isInteger(days)) {
      return {
        kind: "expired",
        text: "Return window closed " + plural(-days, "day") + " ago",
        short: "window closed",
        detail: "Window ended " + shownEnd,
      };
    }
    if (end !== null) {
      return { kind: "unknown", text: "Return policy date not understood", short: "no date", detail: end };
    }
    return { kind: "unknown", text: "No return policy date", short: "no date", detail: null };
  }

  const MATCHED_NUMBER = {
    tracking_number: "Tracking number",
    reverse_tracking_number: "Return tracking number",
  };

  function field(name, value) {
    const shown = value === undefined || value === null || value === "" ? null : value;
    return h(
      "div",
      { class: "field" },
      h("dt", {}, name),
      shown === null ? h("dd", { class: "absent" }, "not set") : h("dd", {}, shown),
    );
  }

  function wide(node) {
    node.classList.add("field-wide");
    return node;
  }

  function labelList(labels) {
    if (!Array.isArray(labels) || labels.length === 0) return null;
    return h(
      "ul",
      { class: "labels" },
      ...labels.map((label) =>
        h(
          "li",
          {},
          h("span", { class: "label-name" }, label && label.name),
          " ",
          h("span", { class: "label-type" }, "(" + (label && label.type) + ")"),
          ": ",
          h("span", { class: "label-value" }, label && label.value),
        ),
      ),
    );
  }

  function card(match, position, total) {
    const item = (match && typeof match.item === "object" && match.item) || {};
    const seen = verdict(match && match.return_eligibility);
    const matchedName = MATCHED_NUMBER[match.matched] || "Number";
    const labels = labelList(item.labels);
    const fields = [
      "client_id" in match ? field("Client", match.client_id) : null,
      field("Order", match.order_identifier),
      field("Concept", match.concept),
      field("Item", item.identifier),
      field("SKU", item.sku),
      field("UPC", item.upc),
      field("Quantity", item.quantity),
      wide(field("Matched", matchedName + " " + (item[match.matched] ?? ""))),
      wide(labels ? h("div", { class: "field" }, h("dt", {}, "Labels"), h("dd", {}, labels)) : field("Labels", null)),
    ];
    return h(
      "article",
      { class: "card card-" + seen.kind, "aria-label": "Match " + position + " of " + total },
      h(
        "div",
        { class: "badge badge-" + seen.kind },
        icon(seen.kind),
        h("span", { class: "badge-words" }, h("span", { class: "badge-text" }, seen.text),
          seen.detail ? h("span", { class: "badge-detail" }, seen.detail) : null),
      ),
      h("dl", { class: "fields" }, ...fields),
    );
  }

  function showPending(number) {
    ui.summary.textContent = "Looking up " + number + "…";
    ui.results.replaceChildren();
    ui.results.setAttribute("aria-busy", "true");
  }

  function state(kind, title, text, retryNumber, retryAfter) {
    const box = h("div", { class: "state state-" + kind }, h("p", { class: "state-title" }, title));
    if (text) box.append(h("p", { class: "state-text" }, text));
    if (retryNumber !== undefined) {
      const button = h("button", { type: "button", class: "retry" }, "Retry");
      button.addEventListener("click", () => {
        ui.scanInput.focus();
        lookUp(retryNumber);
      });
      if (retryAfter) {
        button.disabled = true;
        window.setTimeout(() => {
          button.disabled = false;
        }, retryAfter * 1000);
      }
      box.append(button);
    }
    return box;
  }

  function show(outcome) {
    ui.results.removeAttribute("aria-busy");
    const number = outcome.number;
    if (outcome.kind === "found") {
      const matches = outcome.body.matches;
      const first = matches.length ? verdict(matches[0].return_eligibility).text : "";
      const count = plural(matches.length, "item");
      ui.summary.textContent = count + " for " + number + (matches.length === 1 ? ": " + first : "");
      const cards = matches.map((match, index) => card(match, index + 1, matches.length));
      if (outcome.body.truncated) {
        cards.push(state("note", "More items match", "Only the first " + matches.length + " are shown."));
      }
      ui.results.replaceChildren(...cards);
    } else if (outcome.kind === "not-found") {
      ui.summary.textContent = "Not found: " + number;
      ui.results.replaceChildren(
        state("not-found", "No item has this number", number + " matches no tracking or return tracking number."),
      );
    } else if (outcome.kind === "refused") {
      ui.summary.textContent = "Key refused";
      ui.results.replaceChildren();
      dropKey();
      waitingForKey = number;
      askForKey("The key was refused (HTTP " + outcome.status + "). Enter the key again; " + number +
        " is then looked up again.");
      return;
    } else if (outcome.kind === "busy") {
      ui.summary.textContent = "Too many requests";
      const wait = outcome.retryAfter ? "Wait " + plural(outcome.retryAfter, "second") + ", then retry." : "Wait a moment, then retry.";
      ui.results.replaceChildren(state("failed", "Too many requests (HTTP 429)", wait, number, outcome.retryAfter));
    } else if (outcome.kind === "failed") {
      ui.summary.textContent = "Lookup failed";
      const wait = outcome.retryAfter ? " Retry in " + plural(outcome.retryAfter, "second") + "." : "";
      const reference = outcome.requestId ? " Reference " + outcome.requestId + "." : "";
      ui.results.replaceChildren(
        state("failed", "The service failed (HTTP " + outcome.status + ")", "Nothing is wrong with the number." + wait + reference, number, outcome.retryAfter),
      );
    } else {
      ui.summary.textContent = "Service unreachable";
      ui.results.replaceChildren(
        state("failed", "Could not reach the service", "The network failed or did not answer in time.", number),
      );
    }
    if (document.activeElement !== ui.scanInput && ui.keyPanel.hidden) ui.scanInput.focus();
  }

  // -- history ---------------------------------------------------------------------------------

  function addHistory(number) {
    ui.historyEmpty.hidden = true;
    const time = new Date().toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
    const result = h("span", { class: "history-result" }, "looking up…");
    const entry = h(
      "li",
      { class: "history-entry history-pending" },
      h("time", { class: "history-time" }, time),
      h("span", { class: "history-number" }, number),
      result,
    );
    ui.history.prepend(entry);
    while (ui.history.children.length > HISTORY_LIMIT) ui.history.lastElementChild.remove();
    return { entry, result };
  }

  function historyText(outcome) {
    switch (outcome.kind) {
      case "found": {
        const matches = outcome.body.matches;
        const verdicts = matches.map((match) => verdict(match.return_eligibility).short);
        const counts = {};
        for (const text of verdicts) counts[text] = (counts[text] || 0) + 1;
        const parts = Object.entries(counts).map(([text, count]) => (matches.length === 1 ? text : count + " " + text));
        return { kind: "found", text: plural(matches.length, "item") + ": " + parts.join(", ") };
      }
      case "not-found":
        return { kind: "not-found", text: "not found" };
      case "refused":
        return { kind: "failed", text: "key refused" };
      case "busy":
        return { kind: "failed", text: "too many requests" };
      case "failed":
        return { kind: "failed", text: "failed (HTTP " + outcome.status + ")" };
      default:
        return { kind: "failed", text: "service unreachable" };
    }
  }

  function updateHistory(handle, outcome) {
    const { kind, text } = historyText(outcome);
    handle.entry.className = "history-entry history-" + kind;
    handle.result.textContent = text;
  }

  // -- start -----------------------------------------------------------------------------------

  if (storedKey()) showScanner();
  else askForKey("");
})();
