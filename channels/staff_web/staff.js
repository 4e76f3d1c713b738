// Signpost staff console: keeps the queue and the open conversation up to date.
// Everything is written with textContent and createElement, never as HTML, so nothing a person
// types can run as code. Polling does not count as activity: an idle session still ends, and then
// the page goes to the login screen.
(function () {
  "use strict";

  var QUEUE_EVERY_MS = 10000;
  var TRANSCRIPT_EVERY_MS = 3000;

  function el(tag, text, className) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (className) node.className = className;
    return node;
  }

  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json" } })
      .then(function (reply) {
        if (reply.status === 401) {
          return reply.json().then(function (body) {
            window.location.assign(body.login || "login?done=expired");
            throw new Error("logged out");
          });
        }
        if (!reply.ok) throw new Error("HTTP " + reply.status);
        return reply.json();
      });
  }

  function stamp() {
    var note = document.querySelector("[data-updated]");
    if (note) note.textContent = "Updated " + new Date().toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit" });
  }

  // ------------------------------------------------------------------ queue
  function queueRow(row, callbacks) {
    var tr = el("tr");
    var first = el("td");
    var link = el("a", "Request " + row.id);
    link.href = row.url;
    first.appendChild(link);
    tr.appendChild(first);
    tr.appendChild(el("td", row.channel));
    tr.appendChild(el("td", row.age));
    if (callbacks) {
      tr.appendChild(el("td", row.preferred_time + " (" + (row.preferred_channel || "call") + ")"));
      tr.appendChild(el("td", row.call_from));
    } else {
      tr.appendChild(el("td", row.status_text));
      tr.appendChild(el("td", row.taken_by));
    }
    return tr;
  }

  function refreshQueue(box) {
    getJSON(box.getAttribute("data-poll")).then(function (data) {
      Object.keys(data.queue).forEach(function (name) {
        var table = box.querySelector('table[data-queue="' + name + '"]');
        if (!table) return;
        var callbacks = table.getAttribute("data-callbacks") === "1";
        var body = table.querySelector("tbody");
        var rows = data.queue[name];
        while (body.firstChild) body.removeChild(body.firstChild);
        rows.forEach(function (row) { body.appendChild(queueRow(row, callbacks)); });
        var count = document.querySelector('[data-count="' + name + '"]');
        if (count) count.textContent = String(rows.length);
        var empty = document.querySelector('[data-empty="' + name + '"]');
        if (empty) empty.hidden = rows.length > 0;
      });
      var hoursLine = document.querySelector("[data-hours]");
      if (hoursLine && data.hours) hoursLine.textContent = data.hours;
      stamp();
    }).catch(function () { /* the next poll tries again */ });
  }

  // ------------------------------------------------------------------ transcript
  var lastSeen = null;

  function refreshTranscript(list) {
    getJSON(list.getAttribute("data-transcript")).then(function (data) {
      var key = JSON.stringify(data.lines);
      if (key === lastSeen) return;
      var atBottom = list.scrollTop + list.clientHeight >= list.scrollHeight - 20;
      lastSeen = key;
      while (list.firstChild) list.removeChild(list.firstChild);
      data.lines.forEach(function (line) {
        var item = el("li", null, "line " + line.who);
        item.appendChild(el("span", line.time, "time"));
        item.appendChild(document.createTextNode(" "));
        if (line.name) item.appendChild(el("span", line.name, "who"));
        if (line.flag_text) item.appendChild(el("strong", line.flag_text, "flag"));
        item.appendChild(el("span", line.text, "text"));
        list.appendChild(item);
      });
      if (atBottom) list.scrollTop = list.scrollHeight;
    }).catch(function () { /* the next poll tries again */ });
  }

  function start() {
    var box = document.querySelector('[data-page="queue"]');
    if (box) window.setInterval(function () { refreshQueue(box); }, QUEUE_EVERY_MS);
    var list = document.querySelector("ol[data-transcript]");
    if (list) {
      list.scrollTop = list.scrollHeight;
      window.setInterval(function () { refreshTranscript(list); }, TRANSCRIPT_EVERY_MS);
    }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
