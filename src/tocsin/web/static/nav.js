// tocsin console: on a phone the header's links fold behind a Menu button (aria-expanded).
// Without this script the button stays hidden and the links stay listed, so nothing is lost.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var button = document.getElementById("menu-toggle");
    var header = button && button.closest(".site-header");
    if (!button || !header) return;
    button.hidden = false;
    header.classList.add("menu-ready");
    function set(open) {
      button.setAttribute("aria-expanded", open ? "true" : "false");
      header.classList.toggle("menu-open", open);
    }
    button.addEventListener("click", function () { set(button.getAttribute("aria-expanded") !== "true"); });
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && button.getAttribute("aria-expanded") === "true") { set(false); button.focus(); }
    });
  });
})();
