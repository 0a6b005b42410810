// Keeps the page's console errors and CSP violations in `window.__citizenErrors`, so the
// end-to-end tests can read them (WebKitWebDriver has no console-log endpoint).
(function () {
  var errors = (window.__citizenErrors = []);
  var original = console.error;
  console.error = function () {
    errors.push(Array.prototype.map.call(arguments, String).join(" "));
    return original.apply(console, arguments);
  };
  window.addEventListener("error", function (e) {
    var stack = e.error && e.error.stack ? " @ " + String(e.error.stack).split("\n").slice(0, 4).join(" | ") : "";
    errors.push("error: " + e.message + stack);
  });
  window.addEventListener("unhandledrejection", function (e) {
    errors.push("unhandled rejection: " + String(e.reason));
  });
  document.addEventListener("securitypolicyviolation", function (e) {
    errors.push("CSP: " + e.violatedDirective + " blocked " + e.blockedURI);
  });
})();
