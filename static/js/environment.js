// Steps 3 to 8 and the Connections page: while an environment check or a pull is queued or
// running, ask status.json how it goes and update the page's parts in place (live.js) whenever it
// changed: a check's result on its rows, a pull's rows, rate and time left.
(function () {
  "use strict";
  var ACTIVE = ["queued", "running"];
  var seen = null;

  function activeOnPage() {
    return Array.prototype.some.call(document.querySelectorAll("[data-environment-state], [data-pull-state]"), function (el) {
      return ACTIVE.indexOf(el.getAttribute("data-environment-state") || el.getAttribute("data-pull-state")) >= 0;
    });
  }

  function poll() {
    var feed = document.querySelector("[data-status-feed]");
    if (!feed || !activeOnPage()) { setTimeout(poll, 3000); return; }
    fetch(feed.getAttribute("data-status-feed"), { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (data) {
        var now = JSON.stringify([data.environment_check, data.pulls]);
        if (now === seen) { setTimeout(poll, 1500); return; }
        seen = now;
        window.P2CLive.refresh().then(function () { setTimeout(poll, 1500); });
      })
      .catch(function () { setTimeout(poll, 5000); });
  }
  poll();
})();
