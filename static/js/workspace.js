/* The staff workspace's keyboard shortcuts and small behaviours (no dependency but htmx).
 *
 * Pages opt in with data attributes, so any template (the queue included) can use them:
 *   data-ws-key="r" data-ws-label="Reply"   pressing r clicks this link or button, focuses this
 *                                           field, or opens this <summary>'s <details>; listed
 *                                           in the help overlay with its label
 *   data-ws-list / data-ws-row / data-ws-open
 *                                           j / k move through the rows of the list, o or Enter
 *                                           opens the row's [data-ws-open] link
 *   #ws-help (templates/_partials/shortcuts_help.html)   the overlay that ? shows
 *   data-ws-leave="url" on the presence block  tells the server the page was left
 * Shortcuts never fire while the user types in a field (Esc leaves the field), nor with
 * Ctrl, Alt or Cmd held. Ctrl+Enter in a text area submits its form.
 */
(function () {
  "use strict";

  function isTyping(el) {
    if (!el || el === document.body) return false;
    if (el.isContentEditable) return true;
    var tag = el.tagName;
    if (tag === "TEXTAREA" || tag === "SELECT") return true;
    if (tag === "INPUT") {
      var type = (el.getAttribute("type") || "text").toLowerCase();
      return ["button", "submit", "reset", "checkbox", "radio", "hidden", "image"].indexOf(type) === -1;
    }
    return false;
  }

  function visible(el) {
    if (el.closest("[hidden]")) return false;
    if (el.tagName === "SUMMARY") return true; // a closed <details> still shows its summary
    return !!(el.offsetWidth || el.offsetHeight || el.getClientRects().length);
  }

  function shortcutTarget(key) {
    var all = document.querySelectorAll("[data-ws-key]");
    for (var i = 0; i < all.length; i++) {
      if (all[i].getAttribute("data-ws-key") === key && !all[i].disabled && visible(all[i])) return all[i];
    }
    return null;
  }

  function activate(el) {
    if (el.tagName === "SUMMARY") {
      var details = el.parentElement;
      details.open = true;
      var field = details.querySelector("textarea, input:not([type=hidden]), select");
      (field || el).focus();
      details.scrollIntoView({ block: "nearest" });
      return;
    }
    if (isTyping(el) || el.tagName === "SELECT") {
      var host = el.closest("details");
      if (host) host.open = true;
      el.focus();
      el.scrollIntoView({ block: "center" });
      return;
    }
    el.click();
  }

  // --- lists: j / k / o ------------------------------------------------------------------------

  function rows() {
    var list = document.querySelector("[data-ws-list]");
    return list ? Array.prototype.slice.call(list.querySelectorAll("[data-ws-row]")) : [];
  }

  function move(step) {
    var all = rows();
    if (!all.length) return false;
    var current = all.findIndex(function (r) { return r.classList.contains("ws-selected"); });
    var next = current === -1 ? 0 : Math.min(all.length - 1, Math.max(0, current + step));
    if (current !== -1) { all[current].classList.remove("ws-selected"); all[current].removeAttribute("aria-current"); }
    all[next].classList.add("ws-selected");
    all[next].setAttribute("aria-current", "true");
    all[next].scrollIntoView({ block: "nearest" });
    return true;
  }

  function openSelected() {
    var row = document.querySelector("[data-ws-row].ws-selected");
    if (!row) return false;
    var link = row.querySelector("[data-ws-open]") || row.querySelector("a[href]");
    if (!link) return false;
    link.click();
    return true;
  }

  // --- the help overlay ------------------------------------------------------------------------

  function help() { return document.getElementById("ws-help"); }

  function fillHelp(box) {
    var list = box.querySelector("#ws-help-list");
    list.querySelectorAll("[data-ws-generated]").forEach(function (n) { n.remove(); });
    var hasList = !!document.querySelector("[data-ws-list]");
    list.querySelectorAll("[data-ws-builtin=list]").forEach(function (n) { n.hidden = !hasList; });
    var seen = {};
    var first = list.firstChild;
    document.querySelectorAll("[data-ws-key]").forEach(function (el) {
      var key = el.getAttribute("data-ws-key");
      if (seen[key] || !visible(el)) return;
      seen[key] = true;
      var row = document.createElement("div");
      row.setAttribute("data-ws-generated", "");
      var dt = document.createElement("dt");
      var kbd = document.createElement("kbd");
      kbd.textContent = key;
      dt.appendChild(kbd);
      var dd = document.createElement("dd");
      dd.textContent = el.getAttribute("data-ws-label") || el.textContent.trim();
      row.appendChild(dt);
      row.appendChild(dd);
      list.insertBefore(row, first);
    });
  }

  var lastFocus = null;

  function toggleHelp(show) {
    var box = help();
    if (!box) return;
    var open = show === undefined ? box.hidden : show;
    if (open) {
      fillHelp(box);
      lastFocus = document.activeElement;
      box.hidden = false;
      var close = box.querySelector("[data-ws-close]");
      if (close) close.focus();
    } else {
      box.hidden = true;
      if (lastFocus && lastFocus.focus) lastFocus.focus();
    }
  }

  document.addEventListener("click", function (event) {
    var box = help();
    if (!box || box.hidden) return;
    if (event.target.closest("[data-ws-close]") || event.target === box) toggleHelp(false);
  });

  // --- the keyboard ----------------------------------------------------------------------------

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented) return;
    var target = event.target;
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && target.tagName === "TEXTAREA" && target.form) {
      event.preventDefault();
      if (target.form.requestSubmit) target.form.requestSubmit(); else target.form.submit();
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    var box = help();
    if (event.key === "Escape") {
      if (box && !box.hidden) { toggleHelp(false); event.preventDefault(); return; }
      if (isTyping(target)) {
        // Esc leaves the field; in a search box it would also clear it (and its results).
        if (target.type === "search") event.preventDefault();
        target.blur();
        return;
      }
      return;
    }
    if (isTyping(target)) return;
    if (box && !box.hidden) {
      if (event.key === "?") { toggleHelp(false); event.preventDefault(); }
      return;
    }
    var key = event.key;
    if (key === "?") { toggleHelp(true); event.preventDefault(); return; }
    if ((key === "j" || key === "k") && rows().length) {
      move(key === "j" ? 1 : -1);
      event.preventDefault();
      return;
    }
    var onPage = target === document.body || target.hasAttribute("data-ws-row");
    if ((key === "o" || (key === "Enter" && onPage)) && openSelected()) {
      event.preventDefault();
      return;
    }
    if (key.length !== 1) return;
    var el = shortcutTarget(key);
    if (el) { event.preventDefault(); activate(el); }
  });

  // --- emails shown in sandboxed frames: fit their height ---------------------------------------

  function fit(frame) {
    try {
      var doc = frame.contentDocument;
      if (!doc || !doc.body) return;
      frame.style.height = Math.min(Math.max(doc.documentElement.scrollHeight, 60), 1600) + 8 + "px";
    } catch (e) { /* a frame we may not read keeps its CSS height */ }
  }

  function fitAll(root) {
    (root || document).querySelectorAll("iframe.msg-html").forEach(function (frame) {
      if (frame.dataset.wsFit) return;
      frame.dataset.wsFit = "1";
      frame.addEventListener("load", function () { fit(frame); });
      if (frame.contentDocument && frame.contentDocument.readyState === "complete") fit(frame);
    });
  }

  // --- presence: say we left, so colleagues stop seeing us ----------------------------------------

  function csrfToken() {
    try { return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || ""; }
    catch (e) { return ""; }
  }

  function watchPresence() {
    var slot = document.querySelector("[data-ws-leave]");
    if (!slot || !navigator.sendBeacon) return;
    window.addEventListener("pagehide", function () {
      var data = new FormData();
      data.append("csrfmiddlewaretoken", csrfToken());
      navigator.sendBeacon(slot.getAttribute("data-ws-leave"), data);
    });
  }

  function start() {
    fitAll(document);
    watchPresence();
    var stale = document.getElementById("stale");
    if (stale) stale.focus();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
  document.addEventListener("htmx:afterSettle", function (event) { fitAll(event.target); });
})();
