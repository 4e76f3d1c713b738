// Signpost on another site with one tag (see channels/web/README.md):
//
//   <script src="https://YOUR-SIGNPOST/webhooks/webchat/static/embed.js" async></script>
//
// Optional attributes on the tag: data-label="Chat with us" (the launcher's words),
// data-exit-url="https://..." (where "Leave this site quickly" goes; BBC Weather by default).
//
// It adds a launcher button at the bottom right; the button opens the chat in a panel (an iframe of
// the chat page, so the chat's own strict security policy and storage stay separate from the host
// page). "Leave this site quickly" inside the chat, or Esc pressed twice anywhere, closes the chat and
// replaces the host page too. Styles are set from script (no inline <style>), so a host with a
// strict Content-Security-Policy only needs to allow this script and frame-src for Signpost.
(function () {
  "use strict";
  if (window.__signpostEmbed) { return; }
  window.__signpostEmbed = true;
  var script = document.currentScript || document.querySelector("script[src*='/webhooks/webchat/static/embed.js']");
  if (!script) { return; }
  var chatUrl = script.src.replace(/static\/embed\.js(\?.*)?$/, "");
  var origin = new URL(chatUrl, window.location.href).origin;
  var label = script.getAttribute("data-label") || "Chat with Signpost";
  var exitUrl = script.getAttribute("data-exit-url") || "https://www.bbc.co.uk/weather";

  function css(el, styles) {
    Object.keys(styles).forEach(function (k) { el.style.setProperty(k, styles[k]); });
  }

  var launcher = document.createElement("button");
  launcher.type = "button";
  launcher.id = "signpost-launcher";
  launcher.textContent = label;
  launcher.setAttribute("aria-expanded", "false");
  launcher.setAttribute("aria-controls", "signpost-panel");
  css(launcher, {
    position: "fixed", right: "1rem", bottom: "1rem", "z-index": "2147483000", font: "inherit",
    "font-weight": "700", padding: "0.6rem 1rem", "min-height": "44px", "border-radius": "4px",
    border: "2px solid #ffffff", background: "#0b4f8a", color: "#ffffff", cursor: "pointer",
    "box-shadow": "0 2px 6px rgba(0,0,0,0.3)"
  });

  var panel = document.createElement("div");
  panel.id = "signpost-panel";
  panel.setAttribute("role", "dialog");
  panel.setAttribute("aria-label", "Signpost chat");
  panel.hidden = true;
  css(panel, {
    position: "fixed", right: "1rem", bottom: "4.5rem", "z-index": "2147483000", width: "min(28rem, calc(100vw - 2rem))",
    height: "min(40rem, calc(100vh - 6rem))", background: "#ffffff", border: "2px solid #0b2e4f",
    "border-radius": "8px", "box-shadow": "0 4px 16px rgba(0,0,0,0.35)", display: "none",
    "flex-direction": "column", overflow: "hidden"
  });

  var close = document.createElement("button");
  close.type = "button";
  close.textContent = "Close chat";
  css(close, {
    "align-self": "flex-end", margin: "0.25rem", font: "inherit", padding: "0.3rem 0.7rem", "min-height": "44px",
    border: "2px solid #0b4f8a", background: "#ffffff", color: "#0b4f8a", "border-radius": "4px", cursor: "pointer"
  });

  var frame = null;
  function open() {
    if (!frame) {
      frame = document.createElement("iframe");
      frame.title = "Signpost chat";
      frame.src = chatUrl + "?embed=1";
      frame.setAttribute("referrerpolicy", "no-referrer");
      css(frame, { flex: "1 1 auto", width: "100%", border: "0" });
      panel.appendChild(frame);
    }
    panel.hidden = false;
    panel.style.setProperty("display", "flex");
    launcher.setAttribute("aria-expanded", "true");
    frame.focus();
  }
  function hide() {
    panel.hidden = true;
    panel.style.setProperty("display", "none");
    launcher.setAttribute("aria-expanded", "false");
    launcher.focus();
  }
  function leave() {
    if (frame) { frame.remove(); frame = null; }
    panel.remove();
    launcher.remove();
    window.location.replace(exitUrl);
  }

  launcher.addEventListener("click", function () { if (panel.hidden) { open(); } else { hide(); } });
  close.addEventListener("click", hide);
  window.addEventListener("message", function (event) {
    if (event.origin === origin && frame && event.source === frame.contentWindow &&
        event.data && event.data.type === "signpost:leave") {
      leave();
    }
  });
  var lastEscape = 0;
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape" || panel.hidden) { return; }
    var now = Date.now();
    if (now - lastEscape < 1500) { leave(); }
    lastEscape = now;
  });

  panel.appendChild(close);
  function mount() { document.body.appendChild(panel); document.body.appendChild(launcher); }
  if (document.body) { mount(); } else { document.addEventListener("DOMContentLoaded", mount); }
}());
