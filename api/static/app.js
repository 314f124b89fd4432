// Filters that apply as soon as they change (the page's CSP allows no inline handlers).
(function () {
  "use strict";
  document.addEventListener("change", function (e) {
    var el = e.target;
    if (el && el.hasAttribute && el.hasAttribute("data-autosubmit") && el.form) el.form.submit();
  });
})();

// Live queue: listen to server-sent alert changes and re-fetch the queue's live part.
// No framework, no build step. Forms work without this script; it only saves reloads.
(function () {
  "use strict";
  var region = document.getElementById("queue");
  if (!region || !window.EventSource) return;
  var state = document.getElementById("live-state");
  var src = region.getAttribute("data-live-src");
  var timer = null, pending = false, busy = false;

  function editing() {
    // Don't replace the list under someone who is typing a comment or has a form open.
    return region.querySelector("details[open]") !== null ||
      (document.activeElement && region.contains(document.activeElement) &&
       /INPUT|SELECT|TEXTAREA/.test(document.activeElement.tagName));
  }

  function refresh() {
    timer = null;
    if (editing()) { pending = true; return; }
    if (busy) { pending = true; return; }
    busy = true; pending = false;
    fetch(src, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (r) {
        if (r.redirected || r.status === 401) { window.location.reload(); return null; }
        return r.ok ? r.text() : null;
      })
      .then(function (html) { if (html !== null && html !== undefined) { region.innerHTML = html; region.dispatchEvent(new CustomEvent("queue:updated")); } })
      .catch(function () { pending = true; })
      .then(function () { busy = false; if (pending && !editing()) schedule(); });
  }

  function schedule() { if (!timer) timer = setTimeout(refresh, 250); }

  region.addEventListener("toggle", function () { if (pending && !editing()) schedule(); }, true);
  region.addEventListener("focusout", function () { setTimeout(function () { if (pending && !editing()) schedule(); }, 0); });

  var es = new EventSource("/api/v1/events");
  var opened = false;
  es.addEventListener("open", function () {
    if (state) { state.textContent = "live"; state.className = "live"; }
    if (opened) schedule();  // reconnected: catch up on anything missed
    opened = true;
  });
  es.addEventListener("alert", schedule);
  es.addEventListener("error", function () {
    if (state) { state.textContent = "reconnecting…"; state.className = "live off"; }
  });
})();
