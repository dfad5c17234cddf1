// The article form's Markdown preview follows the answer as staff type (FaqDocumentAdmin.preview_view
// renders it with the same sanitiser customers get); without this script it updates on save.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var answer = document.getElementById("id_answer");
    var preview = document.querySelector(".markdown-preview[data-preview-url]");
    var token = document.querySelector('input[name="csrfmiddlewaretoken"]');
    if (!answer || !preview || !token) return;
    var timer = null;
    var sent = 0;
    answer.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        var mine = ++sent;
        var body = new FormData();
        body.set("answer", answer.value);
        fetch(preview.getAttribute("data-preview-url"), {
          method: "POST",
          body: body,
          headers: { "X-CSRFToken": token.value, Accept: "application/json" },
          credentials: "same-origin",
        })
          .then(function (response) {
            return response.json();
          })
          .then(function (data) {
            // Only the latest request's answer: an older one arriving late must not win.
            if (mine === sent && typeof data.html === "string") preview.innerHTML = data.html;
          })
          .catch(function () {});
      }, 250);
    });
  });
})();
