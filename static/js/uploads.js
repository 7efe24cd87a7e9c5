// Step 2 and step 8: uploads with a progress bar, drag and drop, and live
// states of upload slots and transformation jobs (polled from status.json). When an
// inspection or a job finishes, the parts of the page that changed are updated in
// place (live.js): what the user typed and chose stays.
(function () {
  "use strict";
  var ACTIVE_UPLOAD = ["queued", "inspecting"];
  var ACTIVE_JOB = ["queued", "running"];
  var section = document.querySelector("[data-status-url]");
  if (!section) return;
  var statusUrl = section.getAttribute("data-status-url");
  var pollTimer = null;
  var polling = false, pollAgain = false;
  var refreshWanted = false;

  // Update what changed in place; a part the user is working in waits for the next poll.
  function refreshParts() {
    refreshWanted = false;
    return window.P2CLive.refresh().then(function (complete) {
      if (!complete) refreshWanted = true;
      markStates();
    });
  }

  function pollSoon() {
    clearTimeout(pollTimer);
    if (polling) { pollAgain = true; return; }
    poll();
  }

  function setText(root, role, text) {
    var el = root.querySelector('[data-role="' + role + '"]');
    if (el) el.textContent = text;
    return el;
  }

  function showUploadState(slot, upload) {
    var badge = setText(slot, "state", upload.state_label);
    if (badge) badge.className = "badge upload-" + upload.state;
    setText(slot, "message", upload.message || "");
    if (upload.row_count !== null && upload.row_count !== undefined) setText(slot, "rows", upload.row_count + " rows");
  }

  // As the job page says it (templatetags/job_tags.py): "3 s", "2 min 5 s", "1 h 4 min".
  function duration(seconds) {
    if (seconds < 60) return seconds + " s";
    var minutes = Math.floor(seconds / 60);
    if (minutes < 60) return minutes + " min " + (seconds % 60) + " s";
    return Math.floor(minutes / 60) + " h " + (minutes % 60) + " min";
  }

  function showJob(row, job) {
    var badge = setText(row, "state", job.state_label);
    if (badge) badge.className = "badge job-" + job.state;
    setText(row, "message", job.message || "");
    var bar = row.querySelector('[data-role="bar"]');
    if (bar) bar.value = job.percent;  // follows the whole job's progress: never goes back
    var said = [job.rows_done.toLocaleString() + (job.rows_total ? " / " + job.rows_total.toLocaleString() : "") + " rows"];
    if (job.state === "running") {
      if (job.phase) said.unshift(job.phase);
      if (job.rows_per_second) said.push(job.rows_per_second.toLocaleString() + " rows/s");
      if (job.seconds_left !== null && job.seconds_left !== undefined) said.push("about " + duration(job.seconds_left) + " left");
    }
    setText(row, "rows", said.join(" · "));
    if (job.elapsed_seconds !== null) setText(row, "elapsed", duration(job.elapsed_seconds));
  }

  function poll() {
    polling = true;
    fetch(statusUrl, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (data) {
        var busy = false, finished = false;
        data.uploads.forEach(function (u) {
          // A slot in parts (step-2 export, re-export, verification export) shows each part on its
          // own row; other slots show their latest file.
          var slot = u.parted
            ? document.querySelector('[data-upload="' + u.id + '"]')
            : document.querySelector('[data-slot="' + u.kind + ":" + u.table + '"]');
          if (!slot) {
            if (u.parted && document.querySelector('[data-slot="' + u.kind + ":" + u.table + '"]')) refreshWanted = true;
            return;
          }
          var was = slot.getAttribute("data-state");
          showUploadState(slot, u);
          slot.setAttribute("data-state", u.state);
          if (ACTIVE_UPLOAD.indexOf(u.state) >= 0) busy = true;
          // Any change (even one quicker than a poll: not run to done) changes links and buttons.
          if (was && was !== u.state) finished = true;
        });
        data.jobs.forEach(function (j) {
          var row = document.querySelector('[data-job-table="' + j.table + '"]');
          if (!row) return;
          var was = row.getAttribute("data-state");
          showJob(row, j);
          row.setAttribute("data-state", j.state);
          if (ACTIVE_JOB.indexOf(j.state) >= 0) busy = true;
          if (was && was !== j.state) finished = true;
        });
        (data.verifications || []).forEach(function (v) {
          var row = document.querySelector('[data-verify-table="' + v.table + '"]');
          if (!row) return;
          var was = row.getAttribute("data-state");
          row.setAttribute("data-state", v.state);
          if (ACTIVE_UPLOAD.indexOf(v.state) >= 0) busy = true;
          else if (was !== v.state) finished = true;
        });
        var check = document.getElementById("cross-check");
        if (check && data.cross_check) {
          // A check that finishes (or appears finished) changes the findings and the gate.
          var had = check.getAttribute("data-state");
          var now = data.cross_check.state + ":" + data.cross_check.id;
          check.setAttribute("data-state", now);
          if (ACTIVE_UPLOAD.indexOf(data.cross_check.state) >= 0) busy = true;
          else if (had !== null && had !== now) finished = true;
        }
        // A finished upload or job changes links, buttons, the checklist and the steps' states.
        if (finished || refreshWanted) {
          refreshParts().then(function () { polled(busy || refreshWanted ? 1500 : 5000); });
          return;
        }
        polled(busy ? 1500 : 5000);
      })
      .catch(function () { polled(5000); });
  }

  // One polling loop only: an upload that asks for a poll while one is on its way gets the next.
  function polled(delay) {
    polling = false;
    clearTimeout(pollTimer);
    if (pollAgain) { pollAgain = false; poll(); return; }
    pollTimer = setTimeout(poll, delay);
  }

  function upload(form) {
    var input = form.querySelector('input[type="file"]');
    var bar = form.querySelector("progress");
    var error = form.querySelector(".upload-error");
    var file = input.files[0];
    error.hidden = true;
    if (!file) return;
    var max = parseInt(form.getAttribute("data-max-bytes"), 10);
    if (max && file.size > max) {
      error.textContent = file.name + " is larger than " + form.getAttribute("data-max-mb") + " MB. Export fewer columns or split the export by company.";
      error.hidden = false;
      return;
    }
    var xhr = new XMLHttpRequest();
    form.setAttribute("data-sending", "");  // live.js leaves a part alone while it sends
    xhr.onloadend = function () { form.removeAttribute("data-sending"); };
    xhr.open("POST", form.action);
    xhr.setRequestHeader("Accept", "application/json");
    bar.hidden = false;
    bar.value = 0;
    xhr.upload.onprogress = function (e) { if (e.lengthComputable) bar.value = Math.round(100 * e.loaded / e.total); };
    xhr.onload = function () {
      var data = {};
      try { data = JSON.parse(xhr.responseText); } catch (e) { data = { error: "The server did not answer as expected (" + xhr.status + ")." }; }
      if (xhr.status === 201) {
        bar.value = 100;
        var slot = form.closest("[data-upload]") || form.closest("[data-slot]");
        input.value = "";
        if (data.kind === "export") {
          refreshWanted = true;  // a new part (or version) gets its own row
        } else {
          showUploadState(slot, data);
          slot.setAttribute("data-state", data.state);
        }
        pollSoon();
      } else {
        bar.hidden = true;
        error.textContent = data.error || ("Upload failed (" + xhr.status + ").");
        error.hidden = false;
      }
    };
    xhr.onerror = function () {
      bar.hidden = true;
      error.textContent = "The upload was interrupted. Check your connection and upload again.";
      error.hidden = false;
    };
    xhr.send(new FormData(form));
  }

  // Delegated: upload forms drawn anew by a refresh work without binding them again.
  document.addEventListener("submit", function (e) {
    var form = e.target.closest && e.target.closest(".upload-form");
    if (!form) return;
    e.preventDefault();
    upload(form);
  });
  ["dragenter", "dragover", "dragleave", "drop"].forEach(function (t) {
    document.addEventListener(t, function (e) {
      var zone = e.target.closest && e.target.closest(".upload-form .dropzone");
      if (!zone) return;
      e.preventDefault();
      zone.classList.toggle("over", t === "dragenter" || t === "dragover");
      if (t === "drop") {
        var form = zone.closest(".upload-form");
        form.querySelector('input[type="file"]').files = e.dataTransfer.files;
        upload(form);
      }
    });
  });

  // What each slot and job row showed when drawn: the polls compare with it.
  function markStates() {
    document.querySelectorAll("[data-slot], [data-upload]").forEach(function (slot) {
      var badge = slot.querySelector('[data-role="state"]');
      if (badge && !slot.hasAttribute("data-state")) slot.setAttribute("data-state", badge.className.replace(/.*upload-/, ""));
    });
    document.querySelectorAll("[data-job-table]").forEach(function (row) {
      var badge = row.querySelector('[data-role="state"]');
      if (badge && !row.hasAttribute("data-state")) row.setAttribute("data-state", badge.className.replace(/.*job-/, ""));
    });
  }
  markStates();
  poll();
})();
