// Sign-up: replace the default zone with the browser's own, when the list knows it.
// Only on a fresh form (the server marks it), so a value the user typed is never replaced.
document.addEventListener("DOMContentLoaded", function () {
  var field = document.querySelector("input[data-browser-timezone]");
  if (!field || typeof Intl === "undefined") return;
  var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  var list = document.getElementById(field.getAttribute("list"));
  if (!zone || !list) return;
  for (var i = 0; i < list.options.length; i++) {
    if (list.options[i].value === zone) {
      field.value = zone;
      return;
    }
  }
});
