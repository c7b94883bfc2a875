// The call screen: let htmx swap the form's 422 (validation) and 409 answers, since they carry
// the re-rendered form or attempt list; Ctrl+Enter in a text box saves; focus what comes next.
document.addEventListener("htmx:beforeSwap", function (evt) {
  var status = evt.detail.xhr.status;
  if (status === 422 || status === 409) {
    evt.detail.shouldSwap = true;
    evt.detail.isError = false;
  }
});

document.addEventListener("keydown", function (evt) {
  if (evt.key === "Enter" && (evt.ctrlKey || evt.metaKey) && evt.target.tagName === "TEXTAREA") {
    var form = evt.target.form;
    if (form) {
      evt.preventDefault();
      form.requestSubmit();
    }
  }
});

document.addEventListener("htmx:afterSwap", function (evt) {
  var target = evt.detail.target;
  // After an error: the first marked field; after "answered": the form; after the end: "next call".
  var invalid = target.querySelector(".error");
  if (invalid) {
    var field = invalid.closest("fieldset, .field, .opinion-row, .med-row, .guidance-area");
    var input = field && field.querySelector("input, select, textarea");
    (input || invalid).focus && (input || invalid).focus();
    return;
  }
  // The form's first field is marked data-autofocus, not autofocus: on opening the screen the
  // page stays at the top (name, number, outcome buttons) until the call is answered.
  var next = document.querySelector("#record [data-autofocus], #record [autofocus]");
  if (next) { next.focus(); }
});

// Enter in the attempt form's note or call-back field must not record the first button
// ("answered"): with a call-back time it records a call-back, otherwise nothing.
document.addEventListener("keydown", function (evt) {
  var form = evt.target.closest && evt.target.closest("form.outcomes");
  if (!form || evt.key !== "Enter" || evt.target.tagName === "BUTTON") { return; }
  evt.preventDefault();
  var when = form.querySelector("input[name=callback_at]");
  if (when && when.value) { form.querySelector("button[value=callback]").click(); }
});

// Outcomes that act on the patient beyond this call (refuses all follow-up: do-not-call) ask
// once: a slip of the finger would stop every call to the patient.
document.addEventListener("click", function (evt) {
  var button = evt.target.closest && evt.target.closest("button[data-confirm]");
  if (button && !window.confirm(button.getAttribute("data-confirm"))) {
    evt.preventDefault();
    evt.stopPropagation();
  }
}, true);

// An opinion's department follows its category (费用收费 → 收费处) until the caller picks a
// department by hand; each category option names the department it suggests.
document.addEventListener("change", function (evt) {
  var el = evt.target;
  var row = el.closest && el.closest(".opinion-row");
  if (!row) { return; }
  var ward = row.querySelector("select.opinion-ward");
  if (el === ward) {
    ward.removeAttribute("data-auto");
  } else if (el.classList.contains("opinion-category") && ward && ward.hasAttribute("data-auto")) {
    var suggested = el.options[el.selectedIndex].getAttribute("data-ward");
    if (suggested) { ward.value = suggested; }
  }
});

// Alt+G / Alt+Shift+G: the next / previous guidance area of the ward form (its first box).
document.addEventListener("keydown", function (evt) {
  if (!evt.altKey || evt.ctrlKey || evt.metaKey || evt.code !== "KeyG") { return; }
  var areas = Array.prototype.slice.call(document.querySelectorAll("#record .guidance-area"));
  if (!areas.length) { return; }
  evt.preventDefault();
  var here = -1;
  areas.forEach(function (a, i) { if (a.contains(document.activeElement)) { here = i; } });
  var n = areas.length;
  var to = here < 0 ? (evt.shiftKey ? n - 1 : 0) : (here + (evt.shiftKey ? n - 1 : 1)) % n;
  var box = areas[to].querySelector("input");
  if (box) { box.focus(); }
});

// "?" opens the list of shortcuts (not while typing in a text field); Esc closes it and the
// focus goes back where it was.
(function () {
  var opener = null;
  function open() {
    var dialog = document.getElementById("shortcuts");
    if (!dialog || dialog.open) { return; }
    opener = document.activeElement;
    dialog.showModal();
  }
  document.addEventListener("keydown", function (evt) {
    if (evt.key !== "?" || evt.ctrlKey || evt.altKey || evt.metaKey) { return; }
    var t = evt.target;
    var typing = t.isContentEditable || t.tagName === "TEXTAREA" || t.tagName === "SELECT" ||
      (t.tagName === "INPUT" && !/^(checkbox|radio|button|submit)$/.test(t.type));
    if (typing) { return; }
    evt.preventDefault();
    open();
  });
  document.addEventListener("click", function (evt) {
    if (evt.target.closest && evt.target.closest("[data-open-shortcuts]")) { open(); }
  });
  document.addEventListener("close", function (evt) {
    if (evt.target.id === "shortcuts" && opener && opener.focus) { opener.focus(); }
  }, true);
}());
