// Click-to-call: a button[data-dial] asks the box to ring my desk phone, then dial the number.
(function () {
  "use strict";
  var token = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("button[data-dial]") : null;
    if (!button) { return; }
    var label = button.textContent;
    button.disabled = true;
    fetch(button.getAttribute("data-url"), {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": token},
      body: JSON.stringify({extension: button.getAttribute("data-ext"),
                            number: button.getAttribute("data-dial")})
    }).then(function (r) {
      return r.json().then(function (body) { return {ok: r.ok, body: body}; });
    }).then(function (answer) {
      button.textContent = answer.ok ? button.getAttribute("data-ringing")
                                     : (answer.body.error || button.getAttribute("data-failed"));
    }).catch(function () {
      button.textContent = button.getAttribute("data-failed");
    }).then(function () {
      window.setTimeout(function () { button.textContent = label; button.disabled = false; }, 4000);
    });
  });
}());
