// Step 9: while a reconciliation or triage runs, poll its state and show the page anew when it ends.
(function () {
  "use strict";
  var section = document.querySelector("[data-sync-status-url]");
  if (!section) return;
  var url = section.getAttribute("data-sync-status-url");
  var ACTIVE = ["queued", "running"];
  // The checks this page shows as queued or running: when one of them ends, show the page anew.
  var known = Array.prototype.filter.call(section.querySelectorAll("[data-check-id]"), function (el) {
    return ACTIVE.indexOf(el.getAttribute("data-check-state")) >= 0;
  }).map(function (el) { return parseInt(el.getAttribute("data-check-id"), 10); });

  function choosing() {
    return Array.prototype.some.call(section.querySelectorAll('input[type="file"]'), function (input) {
      return input.files && input.files.length > 0;
    });
  }

  function poll() {
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (data) {
        var active = data.checks.filter(function (c) { return ACTIVE.indexOf(c.state) >= 0; })
          .map(function (c) { return c.id; });
        var ended = known.some(function (id) { return active.indexOf(id) < 0; });
        // A reload would drop a file chosen but not yet sent: wait until it is sent.
        if (ended && !choosing()) { window.location.reload(); return; }
        setTimeout(poll, known.length ? 1500 : 10000);
      })
      .catch(function () { setTimeout(poll, 5000); });
  }
  if (known.length) poll();
})();
