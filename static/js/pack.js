// The evidence pack: its print button (no inline handlers: the content security policy forbids them).
(function () {
  "use strict";
  var button = document.getElementById("print-pack");
  if (button) button.addEventListener("click", function () { window.print(); });
})();
