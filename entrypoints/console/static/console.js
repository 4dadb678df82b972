// motcua console: the little behaviour the pages need, with no inline script (the Content-Security-Policy forbids it).
(function () {
  "use strict";
  // htmx sends the session's CSRF token with every request it makes, so that a form it posts passes the check.
  document.addEventListener("htmx:configRequest", function (event) {
    var token = document.body.getAttribute("data-csrf");
    if (token) { event.detail.headers["X-CSRF-Token"] = token; }
  });

  // A part of a page htmx updates (the dossier list's filters) is not swapped when the answer is an error: the page
  // says so in Vietnamese (#update-error, an alert), until an update works. Words of our own, never the answer's.
  function updateFailed(words) {
    var notice = document.getElementById("update-error");
    if (!notice) { return; }
    notice.textContent = words;
    notice.hidden = false;
  }
  document.addEventListener("htmx:responseError", function (event) {
    var status = event.detail.xhr ? Number(event.detail.xhr.status) : 0;
    if (status >= 500) {
      updateFailed("Máy chủ gặp lỗi nên nội dung chưa được cập nhật (mã " + status + "). Hãy thử lại sau ít phút.");
    } else {
      updateFailed("Yêu cầu cập nhật nội dung không được chấp nhận (mã " + status + "). Hãy tải lại trang.");
    }
  });
  document.addEventListener("htmx:sendError", function () {
    updateFailed("Không kết nối được tới máy chủ nên nội dung chưa được cập nhật. Hãy kiểm tra mạng rồi thử lại.");
  });
  document.addEventListener("htmx:timeout", function () {
    updateFailed("Máy chủ không trả lời kịp nên nội dung chưa được cập nhật. Hãy thử lại sau ít phút.");
  });
  document.addEventListener("htmx:afterSwap", function () {
    var notice = document.getElementById("update-error");
    if (notice) { notice.hidden = true; notice.textContent = ""; }
  });
})();
