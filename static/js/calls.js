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
  var next = document.querySelector("#record [autofocus]");
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
