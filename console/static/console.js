// The console's only script (CSP: script-src 'self'). Everything works without it; it adds
// a copy button, live status updates and hides settings that do not apply.
(function () {
  "use strict";

  function copy(button) {
    var source = document.querySelector(button.getAttribute("data-copy"));
    if (!source) { return; }
    var done = function () {
      button.textContent = "Copied";
      setTimeout(function () { button.textContent = "Copy"; }, 2000);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(source.value).then(done, function () {
        source.select();
      });
    } else {
      source.select();
      try { document.execCommand("copy"); done(); } catch (e) { /* left selected */ }
    }
  }

  function poll(box) {
    var url = box.getAttribute("data-poll-url");
    var until = box.getAttribute("data-poll-until");
    var left = 90;
    var finished = function () {
      var marker = box.querySelector("[data-" + until + "]");
      return marker && marker.getAttribute("data-" + until) === "true";
    };
    var tick = function () {
      if (finished() || left-- <= 0) { return; }
      fetch(url, {credentials: "same-origin", headers: {"Accept": "text/html"}})
        .then(function (response) { return response.ok ? response.text() : null; })
        .then(function (html) {
          if (html !== null) { box.innerHTML = html; }
          setTimeout(tick, 2000);
        }, function () { setTimeout(tick, 5000); });
    };
    box.setAttribute("aria-live", "polite");
    setTimeout(tick, 1500);
  }

  function settingsForm(form) {
    var authType = form.querySelector("select[name=auth_type]");
    var pushOnly = form.querySelector(".push-only");
    var update = function () {
      var mode = form.querySelector("input[name=mode]:checked");
      if (pushOnly) { pushOnly.hidden = mode !== null && mode.value === "poll"; }
      form.querySelectorAll("[data-auth]").forEach(function (block) {
        block.hidden = authType && block.getAttribute("data-auth") !== authType.value;
      });
    };
    form.addEventListener("change", update);
    update();
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-copy]").forEach(function (button) {
      button.addEventListener("click", function () { copy(button); });
    });
    document.querySelectorAll("[data-poll-url]").forEach(poll);
    var settings = document.getElementById("environment-form");
    if (settings) { settingsForm(settings); }
  });
})();
