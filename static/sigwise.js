// Copy buttons: <button type="button" data-copy-from="#element-id"> copies that element's
// text. One listener on the document, so buttons swapped in by a live region work too.
"use strict";

document.addEventListener("click", async (event) => {
  const button = event.target.closest("button[data-copy-from]");
  if (!button) return;
  const source = document.querySelector(button.dataset.copyFrom);
  if (!source) return;
  const label = button.textContent;
  try {
    await navigator.clipboard.writeText(source.textContent);
    button.textContent = "Copied";
  } catch {
    // No clipboard (plain HTTP, or permission refused): select the text for Ctrl+C instead.
    window.getSelection().selectAllChildren(source);
    button.textContent = "Selected: press Ctrl+C";
  }
  setTimeout(() => { button.textContent = label; }, 2000);
});

// Phones show a table row as a card with each cell under its column's name (sigwise.css reads
// data-label); a table whose template gives no labels gets its header's words.
document.addEventListener("DOMContentLoaded", () => {
  for (const table of document.querySelectorAll("main table:not(.properties)")) {
    const headings = [...table.querySelectorAll("thead th")].map((th) => th.textContent.trim());
    for (const row of table.querySelectorAll("tbody tr")) {
      [...row.children].forEach((cell, index) => {
        if (!cell.hasAttribute("data-label") && headings[index]) cell.dataset.label = headings[index];
      });
    }
  }
});

// A live region's poll that was redirected (the session ended: the sign-in page answered) must
// not be swapped into the region; the whole page goes where the redirect went instead.
document.addEventListener("htmx:beforeSwap", (event) => {
  const answered = event.detail.xhr.responseURL;
  if (!answered) return;
  const asked = new URL(event.detail.requestConfig.path, window.location.href);
  if (new URL(answered).pathname !== asked.pathname) {
    event.detail.shouldSwap = false;
    window.location.assign(answered);
  }
});
