// A write-back's page while it plans or applies: read again every 2 s until it is done. Nothing
// can be typed on the page meanwhile (its forms appear once the work is over), so a reload loses
// nothing.
(function () {
  "use strict";
  if (document.querySelector("[data-writeback-running]")) {
    window.setTimeout(function () { window.location.reload(); }, 2000);
  }
})();
