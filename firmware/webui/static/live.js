// The live board: polls /api/live every 2 s and redraws the two tables; DND switches.
(function () {
  "use strict";
  var root = document.getElementById("live");
  if (!root) { return; }
  var labels = JSON.parse(root.getAttribute("data-labels"));
  var token = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  var me = root.querySelectorAll("button.dnd");

  function cell(text, cls) {
    var td = document.createElement("td");
    td.textContent = text;
    if (cls) { td.className = cls; }
    return td;
  }

  function time(iso) {
    return iso ? iso.slice(11, 16) : "";
  }

  function drawCalls(calls) {
    var body = document.getElementById("live-calls");
    body.textContent = "";
    if (!calls.length) {
      var tr = document.createElement("tr");
      var td = cell(labels.none, "empty");
      td.colSpan = 6;
      tr.appendChild(td);
      body.appendChild(tr);
    }
    calls.forEach(function (c) {
      var tr = document.createElement("tr");
      tr.className = "state-" + c.state;
      var state = document.createElement("td");
      var tag = document.createElement("span");
      tag.className = "tag " + c.state;
      tag.textContent = labels[c.state] || c.state;
      state.appendChild(tag);
      tr.appendChild(state);
      tr.appendChild(cell(c.caller, "nowrap"));
      tr.appendChild(cell(c.callee, "nowrap"));
      tr.appendChild(cell(c.campaign || "–"));
      tr.appendChild(cell(c.extensions.join(", ")));
      tr.appendChild(cell(time(c.since), "nowrap"));
      body.appendChild(tr);
    });
    document.getElementById("live-count").textContent = String(calls.length);
  }

  function drawPhones(phones) {
    phones.forEach(function (p) {
      var button = root.querySelector('button.dnd[data-ext="' + p.extension + '"]');
      if (button) { show(button, p.dnd); }
    });
  }

  function show(button, on) {
    button.setAttribute("data-on", on ? "true" : "false");
    button.setAttribute("aria-pressed", on ? "true" : "false");
    button.classList.toggle("on", on);
    button.textContent = on ? labels.on : labels.off;
  }

  function poll() {
    fetch(root.getAttribute("data-source"), {credentials: "same-origin"})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (board) {
        if (board) { drawCalls(board.calls); drawPhones(board.phones); }
      })
      .catch(function () {})
      .then(function () { window.setTimeout(poll, 2000); });
  }

  Array.prototype.forEach.call(me, function (button) {
    button.addEventListener("click", function () {
      var on = button.getAttribute("data-on") !== "true";
      var url = root.getAttribute("data-dnd").replace("__EXT__", button.getAttribute("data-ext"));
      fetch(url, {method: "POST", credentials: "same-origin",
                  headers: {"Content-Type": "application/json", "X-CSRFToken": token},
                  body: JSON.stringify({dnd: on})})
        .then(function (r) { if (r.ok) { show(button, on); } });
    });
  });
  window.setTimeout(poll, 2000);
}());
