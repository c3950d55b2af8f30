/* Callbox panel: the wrap-up pop-up (polls for the user's finished calls) and tag chips. */
(function () {
  "use strict";
  var csrf = document.querySelector('meta[name="csrf-token"]');
  var token = csrf ? csrf.content : "";

  // Tag suggestions: a click adds the tag to the form's tag field.
  document.addEventListener("click", function (event) {
    var chip = event.target.closest && event.target.closest(".chip[data-tag]");
    if (!chip) return;
    var input = chip.closest("form").querySelector('input[name="tags"]');
    var tags = input.value.split(",").map(function (t) { return t.trim(); }).filter(Boolean);
    if (tags.indexOf(chip.dataset.tag) < 0) tags.push(chip.dataset.tag);
    input.value = tags.join(", ");
  });

  // A button with data-confirm asks before its form is sent (removing a campaign, a user).
  document.addEventListener("submit", function (event) {
    var button = event.submitter;
    if (button && button.dataset.confirm && !window.confirm(button.dataset.confirm)) {
      event.preventDefault();
    }
  });

  // On a phone the call filters start folded unless a filter is in use.
  if (window.matchMedia("(max-width: 560px)").matches) {
    Array.prototype.forEach.call(document.querySelectorAll("details[data-fold-on-phone]"), function (box) {
      var used = /[?&](campaign|source|status|direction|extension|number)=[^&]/.test(location.search);
      box.open = used;
    });
  }

  // A stage form shows only the field its stage needs (all of them without JavaScript).
  function showStageFields(select) {
    var box = select.closest(".stage-fields");
    if (!box) return;
    Array.prototype.forEach.call(box.querySelectorAll("[data-for-stage]"), function (label) {
      label.hidden = label.dataset.forStage !== select.value;
    });
  }
  document.addEventListener("change", function (event) {
    if (event.target.matches && event.target.matches(".stage-fields select[name$='stage']")) {
      showStageFields(event.target);
    }
  });
  function initStageFields(root) {
    Array.prototype.forEach.call(root.querySelectorAll(".stage-fields select[name$='stage']"),
                                 showStageFields);
  }
  initStageFields(document);

  var poll = document.body.dataset.wrapupPoll;
  var dialog = document.getElementById("wrapup");
  if (!poll || !dialog || typeof dialog.showModal !== "function") return;
  var body = dialog.querySelector(".dialog-body");
  var formUrl = document.body.dataset.wrapupForm;
  var later = JSON.parse(sessionStorage.getItem("callbox.later") || "[]");
  var shown = null, busy = false;

  function remember(id) {
    later.push(id);
    sessionStorage.setItem("callbox.later", JSON.stringify(later.slice(-50)));
  }

  // "1 250,50" or "1,250.50" -> 1250.5 (as wrapup.parse_amount); junk is sent as typed.
  function amount(text) {
    var value = text.replace(/[\s\u00a0]/g, "");
    if (value === "") return "";
    if (value.indexOf(",") >= 0 && value.indexOf(".") >= 0) {
      var group = value.lastIndexOf(",") < value.lastIndexOf(".") ? /,/g : /\./g;
      value = value.replace(group, "");
    }
    value = value.replace(",", ".");
    return isNaN(Number(value)) ? text : Number(value);
  }

  function fields(form) {
    var data = new FormData(form), out = {};
    if (data.get("rating") !== null) out.rating = parseInt(data.get("rating"), 10);
    out.tags = String(data.get("tags") || "").split(",").map(function (t) { return t.trim(); }).filter(Boolean);
    out.category = String(data.get("category") || "");
    out.comment = String(data.get("comment") || "").trim();
    out.value = amount(String(data.get("value") || ""));
    if (out.value === "") delete out.value;
    return out;
  }

  function close(id, keepForLater) {
    if (keepForLater) remember(id);
    shown = null;
    if (dialog.open) dialog.close();
    body.textContent = "";
  }

  function open(id) {
    busy = true;
    fetch(formUrl.replace("__ID__", encodeURIComponent(id)), {credentials: "same-origin"})
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.text(); })
      .then(function (html) {
        body.innerHTML = html;
        initStageFields(body);
        shown = id;
        var form = body.querySelector("form");
        form.addEventListener("submit", function (event) {
          event.preventDefault();
          save(form, id);
        });
        form.querySelector("[data-later]").addEventListener("click", function () { close(id, true); });
        dialog.showModal();
      })
      .catch(function () { remember(id); })
      .then(function () { busy = false; });
  }

  // The contact part of the wrap-up (templates/_wrapup_contact.html): save the caller as a
  // contact, or move the known caller's stage; the same body contact_forms.py builds.
  function contactPart(form) {
    var box = form.querySelector("fieldset.wrapup-contact");
    if (!box) return null;
    var data = new FormData(form), body = {};
    var stage = String(data.get("contact_stage") || "");
    if (box.dataset.contactMethod === "POST") {
      var name = String(data.get("contact_name") || "").trim();
      if (!name) return null;
      body = {name: name, numbers: [box.dataset.number], campaign: box.dataset.campaign};
    }
    if (stage) {
      body.stage = stage;
      if (stage === "in_progress") body.next_contact_at = String(data.get("contact_next_contact_at") || "") || null;
      if (stage === "won") {
        var value = amount(String(data.get("contact_value") || ""));
        if (value !== "") body.value = value;
      }
      if (stage === "lost") body.lost_reason = String(data.get("contact_lost_reason") || "");
    }
    if (!Object.keys(body).length) return null;
    return {box: box, body: body};
  }

  function sendJson(url, method, body) {
    return fetch(url, {
      method: method, credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": token},
      body: JSON.stringify(body)
    }).then(function (r) {
      return r.json().then(function (answer) { return {ok: r.ok, answer: answer}; });
    });
  }

  function save(form, id) {
    var error = form.querySelector("[data-error]");
    var part = contactPart(form);
    var first = part ? sendJson(part.box.dataset.contactApi, part.box.dataset.contactMethod, part.body)
      : Promise.resolve({ok: true});
    first.then(function (result) {
      if (!result.ok) throw result;
      if (part && part.box.dataset.contactMethod === "POST") {   // saved: a retry changes it
        part.box.dataset.contactMethod = "PATCH";
        part.box.dataset.contactApi += "/" + encodeURIComponent(result.answer.id);
        var nameField = form.querySelector('input[name="contact_name"]');
        if (nameField) nameField.disabled = true;
      }
      return saveWrapup(form, id, error);
    }).catch(function (result) {
      if (!result || !result.answer) throw result;
      error.textContent = (result.answer.field ? result.answer.field + ": " : "") + result.answer.error;
      error.hidden = false;
    }).catch(function () {
      error.textContent = dialog.dataset.networkError;
      error.hidden = false;
    });
  }

  function saveWrapup(form, id, error) {
    return fetch(form.dataset.api, {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": token},
      body: JSON.stringify(fields(form))
    }).then(function (r) {
      return r.json().then(function (answer) { return {ok: r.ok, answer: answer}; });
    }).then(function (result) {
      if (result.ok) { close(id, true); return; }
      error.textContent = (result.answer.field ? result.answer.field + ": " : "") + result.answer.error;
      error.hidden = false;
    }).catch(function () {
      error.textContent = dialog.dataset.networkError;
      error.hidden = false;
    });
  }

  dialog.addEventListener("cancel", function () { if (shown) remember(shown); shown = null; });

  function tick() {
    if (busy || dialog.open) return;
    fetch(poll, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) { return r.ok ? r.json() : {calls: []}; })
      .then(function (answer) {
        var next = (answer.calls || []).filter(function (c) { return later.indexOf(c.id) < 0; })[0];
        if (next && !dialog.open && !busy) open(next.id);
      })
      .catch(function () {});
  }
  setInterval(tick, 1000);
  tick();
})();
