// motcua console: the little behaviour the pages need, with no inline script (the Content-Security-Policy forbids it).
(function () {
  "use strict";
  // htmx sends the session's CSRF token with every request it makes, so that a form it posts passes the check.
  document.addEventListener("htmx:configRequest", function (event) {
    var token = document.body.getAttribute("data-csrf");
    if (token) { event.detail.headers["X-CSRF-Token"] = token; }
  });
})();
