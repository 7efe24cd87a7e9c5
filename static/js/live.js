// Every step page: update the parts of the page that changed, in place. Never a full reload, which
// would lose what the user typed, a file chosen but not sent, or an upload on its way.
//
// The server marks each part that can change with data-live="<name>". A part is replaced by its
// fresh copy unless the user is working in it (a field changed or focused, a file chosen, an
// upload sending): then it waits for the next refresh. The checklist (data-live-rows) is finer:
// a row the user changed keeps its fields and gets only its title and "done by" line anew.
(function () {
  "use strict";

  function changed(el) {
    if (el.type === "file") return !!(el.files && el.files.length);
    if (el.type === "hidden" || el.type === "submit" || el.type === "button") return false;
    if (el.type === "checkbox" || el.type === "radio") return el.checked !== el.defaultChecked;
    if (el.tagName === "SELECT") {
      return Array.prototype.some.call(el.options, function (o) { return o.selected !== o.defaultSelected; });
    }
    return el.value !== el.defaultValue;
  }

  function inUse(root) {
    var fields = root.querySelectorAll("input, select, textarea");
    if (Array.prototype.some.call(fields, changed)) return true;
    if (root.querySelector("[data-sending]")) return true;
    var active = document.activeElement;
    return !!active && root.contains(active) && /^(INPUT|SELECT|TEXTAREA)$/.test(active.tagName);
  }

  function byName(root, attribute) {
    var found = {};
    root.querySelectorAll("[" + attribute + "]").forEach(function (el) { found[el.getAttribute(attribute)] = el; });
    return found;
  }

  // The checklist: rows bind to their items by id on the server, so clean rows can be swapped one
  // by one; a row in use keeps its fields and gets only its title and "who" line anew.
  function mergeRows(old, fresh) {
    if (!inUse(old)) { old.replaceWith(freshCopy(old, fresh)); return true; }
    var complete = true;
    var freshRows = byName(fresh, "data-live-row");
    old.querySelectorAll("[data-live-row]").forEach(function (row) {
      var next = freshRows[row.getAttribute("data-live-row")];
      if (!next) { if (!inUse(row)) row.remove(); return; }  // its item was removed meanwhile
      if (!inUse(row) && next.getAttribute("data-index") === row.getAttribute("data-index")) {
        row.replaceWith(freshCopy(row, next));
        return;
      }
      row.className = next.className;
      var parts = row.querySelectorAll("[data-live-part]"), nextParts = next.querySelectorAll("[data-live-part]");
      for (var i = 0; i < parts.length && i < nextParts.length; i++) {
        parts[i].replaceWith(document.importNode(nextParts[i], true));
      }
    });
    // Rows added since (import pack files, say) appear once the user's changes are saved.
    var known = byName(old, "data-live-row");
    return complete && Object.keys(freshRows).every(function (key) { return key in known; });
  }

  // Folded parts (<details>): the server unfolds what to do next; one the user unfolded or folded
  // stays as the user left it, in the part's fresh copy too.
  document.addEventListener("click", function (e) {
    var summary = e.target.closest && e.target.closest("summary");
    if (summary && summary.parentElement.tagName === "DETAILS") summary.parentElement.setAttribute("data-toggled", "");
  });

  function drawn(el) {
    if (!el.querySelector("details")) return el.outerHTML;
    var copy = el.cloneNode(true);
    copy.querySelectorAll("details").forEach(function (d) { d.removeAttribute("open"); d.removeAttribute("data-toggled"); });
    return copy.outerHTML;
  }

  function freshCopy(old, next) {
    var node = document.importNode(next, true);
    old.querySelectorAll("details[data-toggled][id]").forEach(function (d) {
      var same = node.querySelector("#" + CSS.escape(d.id));
      if (!same) return;
      same.open = d.open;
      same.setAttribute("data-toggled", "");
    });
    return node;
  }

  function apply(doc) {
    var complete = true;
    var fresh = byName(doc, "data-live");
    document.querySelectorAll("[data-live]").forEach(function (old) {
      if (!document.contains(old)) return;  // inside a part replaced a moment ago
      var next = fresh[old.getAttribute("data-live")];
      if (!next) return;
      if (old.hasAttribute("data-live-rows")) { complete = mergeRows(old, next) && complete; return; }
      if (drawn(old) === drawn(next)) return;
      if (inUse(old)) { complete = false; return; }
      old.replaceWith(freshCopy(old, next));
    });
    return complete;
  }

  var running = null, next = null;
  // Resolves to true when every changed part was updated, false when some wait for the user.
  // A refresh asked for while one is on its way runs after it: the page that one fetched may
  // predate the change the caller saw.
  function refresh() {
    if (next) return next;
    if (running) {
      next = running.then(function () { next = null; return refresh(); });
      return next;
    }
    running = fetch(window.location.href, { headers: { Accept: "text/html" }, credentials: "same-origin" })
      .then(function (r) { if (!r.ok) throw new Error(String(r.status)); return r.text(); })
      .then(function (html) {
        var complete = apply(new DOMParser().parseFromString(html, "text/html"));
        document.dispatchEvent(new CustomEvent("p2c:refreshed"));
        return complete;
      })
      .catch(function () { return false; })
      .then(function (complete) { running = null; return complete; });
    return running;
  }

  window.P2CLive = { refresh: refresh, inUse: inUse };
})();
