// Step 9: while a reconciliation or triage runs, poll its state; when it ends, update the page's
// parts that changed in place (live.js), keeping what the user typed and the files chosen.
(function () {
  "use strict";
  var section = document.querySelector("[data-sync-status-url]");
  if (!section) return;
  var url = section.getAttribute("data-sync-status-url");
  var ACTIVE = ["queued", "running"];

  // The checks this page shows as queued or running.
  function shownActive() {
    return Array.prototype.filter.call(document.querySelectorAll("[data-check-id]"), function (el) {
      return ACTIVE.indexOf(el.getAttribute("data-check-state")) >= 0;
    }).map(function (el) { return parseInt(el.getAttribute("data-check-id"), 10); });
  }

  function poll() {
    var known = shownActive();
    if (!known.length) return;
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (data) {
        var active = data.checks.filter(function (c) { return ACTIVE.indexOf(c.state) >= 0; })
          .map(function (c) { return c.id; });
        var ended = known.some(function (id) { return active.indexOf(id) < 0; });
        if (!ended) { setTimeout(poll, 1500); return; }
        window.P2CLive.refresh().then(function () { setTimeout(poll, 1500); });
      })
      .catch(function () { setTimeout(poll, 5000); });
  }
  poll();
})();
