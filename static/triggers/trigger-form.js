// Progressive enhancement only: hide the inputs the chosen type and schedule do not use.
(function () {
  const form = document.querySelector(".trigger-form");
  const type = form.querySelector("[name=type]");
  const kind = form.querySelector("[name=schedule_kind]");
  function sync() {
    form.querySelectorAll("[data-for-type]").forEach(function (element) {
      element.hidden = element.dataset.forType !== type.value;
    });
    form.querySelectorAll("[data-for-kind]").forEach(function (element) {
      element.hidden = element.dataset.forKind !== kind.value;
    });
  }
  type.addEventListener("change", sync);
  kind.addEventListener("change", sync);
  sync();
})();
