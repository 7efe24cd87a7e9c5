// Every step page: on a narrow screen the step strip scrolls sideways; show the current step in it.
(function () {
  "use strict";
  var list = document.querySelector(".steps ol");
  var current = list && list.querySelector("li.current");
  if (!current || list.scrollWidth <= list.clientWidth) return;
  list.scrollLeft = current.offsetLeft - list.offsetLeft - (list.clientWidth - current.offsetWidth) / 2;
})();
