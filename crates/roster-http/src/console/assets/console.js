// Roster console: the few things HTML cannot do alone. No inline handlers (the CSP allows
// none); everything is wired by data attributes, again after each htmx swap.
(function () {
  "use strict";

  function wire(root) {
    root.querySelectorAll("[data-copy]").forEach(function (button) {
      if (button.dataset.wired) return;
      button.dataset.wired = "1";
      button.addEventListener("click", function () {
        var source = document.getElementById(button.dataset.copy);
        if (!source || !navigator.clipboard) return;
        navigator.clipboard.writeText(source.textContent.trim()).then(function () {
          button.textContent = "Copied";
        });
      });
    });
    root.querySelectorAll("input[data-select-all]").forEach(function (box) {
      if (box.dataset.wired) return;
      box.dataset.wired = "1";
      box.addEventListener("change", function () {
        document.querySelectorAll("input[name=ids]").forEach(function (row) {
          row.checked = box.checked;
        });
      });
    });
    root.querySelectorAll("form[data-confirm]").forEach(function (form) {
      if (form.dataset.wired) return;
      form.dataset.wired = "1";
      form.addEventListener("submit", function (event) {
        if (!window.confirm(form.dataset.confirm)) event.preventDefault();
      });
    });
    root.querySelectorAll("form[data-upload]").forEach(wireUpload);
  }

  // An import: the file is sent as the request body with its upload progress shown, and
  // the server's row report replaces the form's result area.
  function wireUpload(form) {
    if (form.dataset.wired) return;
    form.dataset.wired = "1";
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var file = form.querySelector("input[type=file]").files[0];
      var bar = form.querySelector("progress");
      var result = document.getElementById(form.dataset.upload);
      if (!file) {
        result.innerHTML = '<p class="problem" role="alert">Choose a file first.</p>';
        return;
      }
      var format = /\.csv$/i.test(file.name) ? "csv" : "ndjson";
      var request = new XMLHttpRequest();
      request.open("POST", form.action + "?format=" + format);
      request.setRequestHeader("X-CSRF-Token", form.querySelector("input[name=csrf]").value);
      request.setRequestHeader("Content-Type", format === "csv" ? "text/csv" : "application/x-ndjson");
      request.upload.addEventListener("progress", function (e) {
        if (e.lengthComputable) { bar.max = e.total; bar.value = e.loaded; }
      });
      request.addEventListener("load", function () {
        bar.value = bar.max;
        result.innerHTML = request.responseText;
      });
      request.addEventListener("error", function () {
        result.innerHTML = '<p class="problem" role="alert">The upload failed: the server could not be reached.</p>';
      });
      bar.hidden = false;
      request.send(file);
    });
  }

  document.addEventListener("DOMContentLoaded", function () { wire(document); });
  document.addEventListener("htmx:afterSwap", function (event) { wire(event.target); });
})();
