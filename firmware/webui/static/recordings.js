// The recording player: speed buttons (1x, 1.5x, 2x) and a clear word when a file will not play.
(function () {
  "use strict";
  function setUp(box) {
    var audio = box.querySelector("audio");
    if (!audio) { return; }
    box.querySelectorAll("button.speed").forEach(function (button) {
      button.addEventListener("click", function () {
        var speed = parseFloat(button.getAttribute("data-speed"));
        audio.defaultPlaybackRate = speed;
        audio.playbackRate = speed;
        box.querySelectorAll("button.speed").forEach(function (other) {
          other.classList.toggle("on", other === button);
        });
      });
    });
    audio.addEventListener("error", function () {
      var problem = box.querySelector(".rec-problem");
      if (problem) {
        problem.textContent = problem.getAttribute("data-error");
        problem.hidden = false;
      }
      box.classList.add("broken");
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll(".rec-player").forEach(setUp);
  });
})();
