// Licensor console: confirmations before destructive forms, and the
// operator's tenant picker submitting on change. Everything works
// without this script.
"use strict";
document.addEventListener("submit", function (e) {
  var b = e.submitter || e.target.querySelector("[data-confirm]");
  var msg = b && b.getAttribute("data-confirm");
  if (msg && !window.confirm(msg)) {
    e.preventDefault();
  }
});
document.addEventListener("change", function (e) {
  if (e.target.hasAttribute && e.target.hasAttribute("data-autosubmit")) {
    e.target.form.requestSubmit();
  }
});
