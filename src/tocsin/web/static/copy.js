// tocsin console: "Copy" buttons beside keys and snippets. A button names the element to copy
// with data-copy="<id>"; buttons start hidden, so without JavaScript the text is simply selectable.
(function () {
  "use strict";

  function announce(button, text) {
    var old = button.textContent;
    button.textContent = text;
    window.setTimeout(function () { button.textContent = old; }, 2000);
  }

  function selectText(el) {
    var range = document.createRange();
    range.selectNodeContents(el);
    var sel = window.getSelection();
    sel.removeAllRanges();
    sel.addRange(range);
  }

  function copy(button) {
    var el = document.getElementById(button.getAttribute("data-copy"));
    if (!el) return;
    var text = el.textContent.replace(/\s+$/, "") + (el.tagName === "PRE" && /\n/.test(el.textContent) ? "\n" : "");
    function fallback() {
      selectText(el);
      var ok = false;
      try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
      announce(button, ok ? "Copied" : "Press Ctrl+C to copy");
    }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(function () { announce(button, "Copied"); }, fallback);
    } else {
      fallback();
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    var buttons = document.querySelectorAll("button.copy[data-copy]");
    for (var i = 0; i < buttons.length; i++) {
      buttons[i].hidden = false;
      buttons[i].setAttribute("aria-live", "polite");
      buttons[i].addEventListener("click", function (event) { copy(event.currentTarget); });
    }
  });
})();
