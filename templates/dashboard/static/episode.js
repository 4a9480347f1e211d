"use strict";
// The episode page: ▶ on a shot's card plays the cut from that shot.

document.addEventListener("click", (event) => {
  const button = event.target.closest("button.seek");
  const player = document.getElementById("player");
  if (!button || !player) return;
  player.currentTime = parseFloat(button.dataset.start);
  player.play();
  player.scrollIntoView({behavior: "smooth"});
});
