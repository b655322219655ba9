// Keyboard answers on the labelling page: arrow keys choose a side, T a tie, S skips.
// Each key clicks the matching button, so the form (and its anti-forgery token) is the only way a vote is sent.
(function () {
  "use strict";
  var keys = { ArrowLeft: "left", ArrowRight: "right", t: "tie", T: "tie", s: "skip", S: "skip" };
  var sent = false;
  document.addEventListener("keydown", function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    var answer = keys[event.key];
    if (!answer || sent) return;
    var button = document.querySelector('button[name="answer"][value="' + answer + '"]');
    if (!button) return;
    event.preventDefault();
    sent = true;
    button.click();
  });
  var form = document.getElementById("vote");
  if (form) form.addEventListener("submit", function () { sent = true; });
})();
