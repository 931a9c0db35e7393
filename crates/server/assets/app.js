// motcua's only script: print buttons and "back" links, attached here so that the pages'
// Content-Security-Policy can refuse every inline script.
document.addEventListener("DOMContentLoaded", function () {
  document.documentElement.dataset.script = "loaded";
  document.querySelectorAll("[data-print]").forEach(function (b) {
    b.addEventListener("click", function () { window.print(); });
  });
  document.querySelectorAll("[data-back]").forEach(function (a) {
    a.addEventListener("click", function (e) { e.preventDefault(); history.back(); });
  });
});
