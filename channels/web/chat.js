// Signpost web chat. Bot text is always shown as text (textContent), never as HTML.
//
// The conversation id and what was said live in sessionStorage (gone when the tab closes, or at once
// with "Leave this site quickly"). Each message has its own random id and waits in an outbox until
// the server has answered it: after a dropped connection it is sent again, and the server answers a
// repeated id with its first reply instead of a second turn, so nothing is lost or said twice.
(function () {
  "use strict";
  var KEY = "signpost.sender", LOG = "signpost.log", OUTBOX = "signpost.outbox";
  var MAX_CHARS = 5000, KEEP = 200, POLL_MS = 5000, MAX_BACKOFF_MS = 15000, TIMEOUT_MS = 90000;
  var EXIT_URL = "https://www.bbc.co.uk/weather";
  var NAMES = { me: "You said:", bot: "Signpost said:", staff: "The helpline team said:" };

  var script = document.currentScript;
  var base = script ? script.src.replace(/static\/chat\.js(\?.*)?$/, "") : "./";
  var log = document.getElementById("log");
  var form = document.getElementById("composer");
  var box = document.getElementById("message");
  var count = document.getElementById("count");
  var typing = document.getElementById("typing");
  var status = document.getElementById("status");
  var download = document.getElementById("download");
  var planLinks = document.getElementById("plan-links");
  var PLAN = "signpost.plan";

  // ----------------------------------------------------------------- storage (never fatal)
  function load(key, fallback) {
    try {
      var raw = sessionStorage.getItem(key);
      return raw === null ? fallback : JSON.parse(raw);
    } catch (e) { return fallback; }
  }
  function save(key, value) {
    try { sessionStorage.setItem(key, JSON.stringify(value)); } catch (e) { /* full or blocked: keep going */ }
  }
  function randomHex(bytes) {
    var buffer = new Uint8Array(bytes);
    window.crypto.getRandomValues(buffer);
    return Array.prototype.map.call(buffer, function (b) { return (b < 16 ? "0" : "") + b.toString(16); }).join("");
  }

  var sender = load(KEY, null);
  var fresh = typeof sender !== "string" || !/^web-[0-9a-f]{24,64}$/.test(sender);
  if (fresh) { sender = "web-" + randomHex(16); save(KEY, sender); }
  var history = load(LOG, null);
  var outbox = load(OUTBOX, []);
  if (!Array.isArray(outbox)) { outbox = []; }

  // ----------------------------------------------------------------- drawing
  function say(text) { status.textContent = text; }

  function render(entry) {
    var who = NAMES[entry.who] ? entry.who : "bot";
    var item = document.createElement("div");
    item.className = "msg " + who;
    var label = document.createElement("span");
    label.className = who === "staff" ? "who" : "visually-hidden";
    label.textContent = NAMES[who] + " ";
    item.appendChild(label);
    var text = document.createElement("p");
    text.className = "text";
    text.setAttribute("dir", "auto");
    text.textContent = String(entry.text || "");
    item.appendChild(text);
    var buttons = Array.isArray(entry.buttons) ? entry.buttons : [];
    if (buttons.length) {
      var group = document.createElement("div");
      group.className = "buttons";
      group.setAttribute("role", "group");
      group.setAttribute("aria-label", "Options");
      buttons.forEach(function (b) {
        var button = document.createElement("button");
        button.type = "button";
        button.setAttribute("dir", "auto");
        button.textContent = String(b.title || "");
        button.disabled = Boolean(entry.spent);
        button.addEventListener("click", function () {
          if (button.disabled) { return; }
          submit(String(b.payload || b.title || ""), String(b.title || ""));
          box.focus();
        });
        group.appendChild(button);
      });
      item.appendChild(group);
    }
    log.appendChild(item);
    return item;
  }

  function add(entry) {
    history.push(entry);
    if (history.length > KEEP) { history = history.slice(-KEEP); }
    save(LOG, history);
    var item = render(entry);
    if (item.scrollIntoView) { item.scrollIntoView({ block: "nearest" }); }
  }

  // Options already answered are kept to read, but can't be pressed again or tabbed to.
  function spendOptions() {
    history.forEach(function (entry) { if (entry.buttons && entry.buttons.length) { entry.spent = true; } });
    save(LOG, history);
    Array.prototype.forEach.call(log.querySelectorAll(".buttons button"), function (b) { b.disabled = true; });
  }

  function redraw(entries) {
    log.textContent = "";
    history = [];
    entries.forEach(function (entry, index) {
      var copy = { who: entry.who, text: entry.text, buttons: entry.buttons || [] };
      copy.spent = copy.buttons.length > 0 && index < entries.length - 1;
      history.push(copy);
      render(copy);
    });
    save(LOG, history);
  }

  // ----------------------------------------------------------------- sending, with retries
  var busy = false, attempt = 0, retryTimer = null;

  function submit(message, shown) {
    spendOptions();
    if (shown) { add({ who: "me", text: shown }); }
    outbox.push({ id: randomHex(16), message: message });
    save(OUTBOX, outbox);
    flush();
  }

  function post(item) {
    var controller = window.AbortController ? new AbortController() : null;
    var timer = controller ? setTimeout(function () { controller.abort(); }, TIMEOUT_MS) : null;
    return fetch(base + "webhook", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ sender: sender, message: item.message, id: item.id }),
      signal: controller ? controller.signal : undefined
    }).then(function (r) {
      return r.json().catch(function () { return null; }).then(function (body) {
        if (r.ok && Array.isArray(body)) {
          body.replayed = r.headers.get("X-Signpost-Replay") === "1";
          return body;
        }
        var error = new Error((body && body.error) || ("HTTP " + r.status));
        error.permanent = r.status >= 400 && r.status < 500 && r.status !== 408 && r.status !== 429;
        throw error;
      });
    }).finally(function () { if (timer) { clearTimeout(timer); } });
  }

  function flush() {
    if (busy || !outbox.length) { return; }
    busy = true;
    clearTimeout(retryTimer);
    typing.hidden = false;
    var item = outbox[0];
    post(item).then(function (replies) {
      outbox.shift();
      save(OUTBOX, outbox);
      attempt = 0;
      say("");
      download.hidden = false;
      if (replies.replayed && !replies.length) { reload(); return; }  // answered elsewhere: fetch it
      replies.forEach(function (m) {
        if (m && m.custom && m.custom.plan_ready) { showPlan(); }
        if (m && (m.text || (m.buttons && m.buttons.length))) {
          add({ who: "bot", text: m.text || "", buttons: m.buttons || [] });
        }
      });
    }, function (error) {
      if (error.permanent) {
        outbox.shift();
        save(OUTBOX, outbox);
        say("Sorry, I couldn't send that: " + error.message);
        return;
      }
      attempt += 1;
      say("I can't reach Signpost at the moment. Your message is saved and I'll send it as soon as the " +
          "connection is back. If you are in danger now, call 999.");
      retryTimer = setTimeout(flush, Math.min(MAX_BACKOFF_MS, 1000 * Math.pow(2, attempt - 1)));
    }).finally(function () {
      busy = false;
      typing.hidden = outbox.length === 0 || attempt > 0;
      if (attempt === 0) { flush(); }
    });
  }

  window.addEventListener("online", function () { attempt = 0; flush(); });

  // ----------------------------------------------------------------- the helpline team's replies
  var polling = false;
  function pollInbox() {
    if (polling || document.hidden || !history.length) { return; }
    polling = true;
    fetch(base + "inbox/" + sender, { headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : { messages: [] }; })
      .then(function (body) {
        (body && Array.isArray(body.messages) ? body.messages : []).forEach(function (m) {
          add({ who: "staff", text: m.text || "", buttons: m.buttons || [] });
        });
      })
      .catch(function () { /* offline: the next poll tries again */ })
      .finally(function () { polling = false; });
  }
  setInterval(pollInbox, POLL_MS);
  document.addEventListener("visibilitychange", function () {
    if (!document.hidden) { pollInbox(); flush(); }
  });

  // ----------------------------------------------------------------- the message box
  function updateCount() {
    if (box.value.length > MAX_CHARS) { box.value = box.value.slice(0, MAX_CHARS); }
    var n = box.value.length;
    count.textContent = n.toLocaleString("en-GB") + " of " + MAX_CHARS.toLocaleString("en-GB") + " characters";
    if (n >= MAX_CHARS) {
      say("That's the most I can read in one message (" + MAX_CHARS.toLocaleString("en-GB") +
          " characters). You could send the rest in another message.");
    }
  }
  box.addEventListener("input", updateCount);

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = box.value.trim();
    if (!text) {
      say("Type a message first, or choose one of the options.");
      box.focus();
      return;
    }
    box.value = "";
    updateCount();
    say("");
    submit(text, text);
    box.focus();
  });
  box.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      if (form.requestSubmit) { form.requestSubmit(); } else { form.dispatchEvent(new Event("submit", { cancelable: true })); }
    }
  });

  // A photo or file dropped or pasted: say so kindly, upload nothing (and don't let the browser open it).
  function hasFiles(data) {
    if (!data) { return false; }
    if (data.files && data.files.length) { return true; }
    return Array.prototype.some.call(data.types || [], function (t) { return t === "Files"; });
  }
  function textOnly() {
    add({ who: "bot", text: "Sorry, I can only read text, so I haven't looked at that. " +
      "If you'd like, tell me about it in words instead." });
  }
  document.addEventListener("dragover", function (event) {
    if (hasFiles(event.dataTransfer)) { event.preventDefault(); event.dataTransfer.dropEffect = "none"; }
  });
  document.addEventListener("drop", function (event) {
    if (hasFiles(event.dataTransfer)) { event.preventDefault(); textOnly(); }
  });
  box.addEventListener("paste", function (event) {
    var data = event.clipboardData;
    var text = data ? data.getData("text/plain") : "";
    if (hasFiles(data) && !text) { event.preventDefault(); textOnly(); }
  });

  // ----------------------------------------------------------------- leaving quickly
  function leave() {
    try { sessionStorage.clear(); } catch (e) { /* nothing stored */ }
    try { localStorage.clear(); } catch (e) { /* nothing stored */ }
    outbox = []; history = [];
    log.textContent = "";
    box.value = "";
    if (window.parent && window.parent !== window) {
      window.parent.postMessage({ type: "signpost:leave" }, "*");
    }
    window.location.replace(EXIT_URL);
  }
  document.getElementById("leave").addEventListener("click", leave);
  var lastEscape = 0;
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") { return; }
    var now = Date.now();
    if (now - lastEscape < 1500) { leave(); }
    lastEscape = now;
  });

  // ----------------------------------------------------------------- redrawing from the server
  function reload() {
    say("Loading your conversation…");
    return fetch(base + "history/" + sender)
      .then(function (r) { if (!r.ok) { throw new Error("HTTP " + r.status); } return r.json(); })
      .then(function (body) {
        redraw(body && Array.isArray(body.messages) ? body.messages : []);
        say("");
        if (history.length) { download.hidden = false; } else if (!outbox.length) { submit("/greet", null); }
        flush();
      })
      .catch(function () {
        say("I couldn't load your earlier messages, but you can carry on here.");
        flush();
      });
  }

  function showPlan() {
    planLinks.hidden = false;
    try { sessionStorage.setItem(PLAN, "1"); } catch (e) { /* storage off: the links show until reload */ }
  }

  // ----------------------------------------------------------------- start
  download.href = base + "summary/" + sender;
  document.getElementById("plan").href = base + "plan/" + sender;
  document.getElementById("plan-large").href = base + "plan/" + sender + "?large=1";
  try { if (sessionStorage.getItem(PLAN) === "1") { planLinks.hidden = false; } } catch (e) { /* no storage */ }
  if (fresh) {
    history = [];
    outbox = [];
    save(OUTBOX, outbox);
    submit("/greet", null);
  } else if (Array.isArray(history) && history.length) {
    history.forEach(render);
    download.hidden = false;
    flush();
  } else {
    // The id survived but what was said did not: ask the server for the conversation so far.
    history = [];
    reload();
  }
  updateCount();
  window.SignpostChat = { render: render, sender: function () { return sender; } };
}());
