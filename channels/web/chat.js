// Signpost web chat. Bot text is always shown as text (textContent), never as HTML.
(function () {
  "use strict";
  var KEY = "signpost.sender", LOG = "signpost.log";
  var log = document.getElementById("log");
  var form = document.getElementById("composer");
  var box = document.getElementById("message");
  var typing = document.getElementById("typing");
  var status = document.getElementById("status");
  var webhook = (document.currentScript && document.currentScript.dataset.webhook) || "webhook";

  function newId() {
    var bytes = new Uint8Array(12);
    (window.crypto || window.msCrypto).getRandomValues(bytes);
    return "web-" + Array.prototype.map.call(bytes, function (b) { return b.toString(16).padStart(2, "0"); }).join("");
  }
  var sender = sessionStorage.getItem(KEY);
  var fresh = !sender;
  if (fresh) { sender = newId(); sessionStorage.setItem(KEY, sender); }
  var history = JSON.parse(sessionStorage.getItem(LOG) || "[]");

  function remember(entry) { history.push(entry); sessionStorage.setItem(LOG, JSON.stringify(history.slice(-200))); }

  function show(entry) {
    var item = document.createElement("div");
    item.className = "msg " + (entry.who === "me" ? "me" : "bot");
    var label = document.createElement("span");
    label.className = "skip-link";
    label.textContent = entry.who === "me" ? "You said: " : "Signpost said: ";
    item.appendChild(label);
    item.appendChild(document.createTextNode(entry.text || ""));
    if (entry.buttons && entry.buttons.length) {
      var group = document.createElement("div");
      group.className = "buttons";
      group.setAttribute("role", "group");
      group.setAttribute("aria-label", "Options");
      entry.buttons.forEach(function (b) {
        var button = document.createElement("button");
        button.type = "button";
        button.textContent = b.title;
        button.addEventListener("click", function () { send(b.payload, b.title); });
        group.appendChild(button);
      });
      item.appendChild(group);
    }
    log.appendChild(item);
    item.scrollIntoView({ block: "end" });
  }

  function add(entry) { remember(entry); show(entry); }

  function send(message, shown) {
    if (shown) { add({ who: "me", text: shown }); }
    typing.hidden = false;
    status.textContent = "";
    return fetch(webhook, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ sender: sender, message: message })
    }).then(function (r) {
      if (!r.ok) { throw new Error("HTTP " + r.status); }
      return r.json();
    }).then(function (replies) {
      replies.forEach(function (m) { add({ who: "bot", text: m.text || "", buttons: m.buttons || [] }); });
    }).catch(function () {
      status.textContent = "Sorry, I couldn't reach Signpost. Check your connection and try again. " +
        "If you are in danger now, call 999.";
    }).finally(function () { typing.hidden = true; });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = box.value.trim();
    if (!text) { return; }
    box.value = "";
    send(text, text);
    box.focus();
  });
  box.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); form.requestSubmit(); }
  });
  document.getElementById("leave").addEventListener("click", function () {
    sessionStorage.clear();
    log.textContent = "";
    window.location.replace("https://www.bbc.co.uk/weather");
  });

  history.forEach(show);
  if (fresh) { send("/greet"); }
}());
