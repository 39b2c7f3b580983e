// Copy buttons: <button data-copy="ID"> copies the text of the element with that id.
(function () {
  const status = document.querySelector(".copy-status");
  function say(message) {
    if (status) status.textContent = message;
  }
  document.querySelectorAll("[data-copy]").forEach(function (button) {
    button.addEventListener("click", function () {
      const text = document.getElementById(button.dataset.copy).textContent;
      const label = button.textContent;
      navigator.clipboard.writeText(text).then(function () {
        button.textContent = "Copied";
        say("Copied to the clipboard.");
        setTimeout(function () { button.textContent = label; }, 2000);
      }, function () {
        say("Could not copy: select the text and copy it by hand.");
      });
    });
  });
})();
