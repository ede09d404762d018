// Survey pages work without this file; it only adds two conveniences.
(function () {
  "use strict";
  // 1. A score clicked in an e-mail is saved at once (the GET never stores: mail scanners fetch links).
  var save = document.getElementById("save-score");
  if (save) {
    fetch(save.action, { method: "POST", body: new URLSearchParams(new FormData(save)), credentials: "same-origin" })
      .then(function (answer) { if (answer.ok) { window.location.replace(save.dataset.next); } })
      .catch(function () { /* the button stays for a person to press */ });
  }
  // 2. Comment boxes say how many characters are left; pasted text is never cut (the server checks the limit).
  document.querySelectorAll("textarea[data-limit]").forEach(function (box) {
    var counter = document.getElementById("count-" + box.name);
    if (!counter) { return; }
    var limit = parseInt(box.dataset.limit, 10);
    var update = function () {
      var left = limit - box.value.trim().length;
      var template = left >= 0 ? counter.dataset.left : counter.dataset.over;
      counter.textContent = template.replace("%(count)s", String(Math.abs(left)));
      counter.classList.toggle("over", left < 0);
    };
    box.addEventListener("input", update);
    update();
  });
})();
