// The dashboard's one script, loaded from /static: the Content-Security-Policy runs no inline script.

// ▶ on a shot card plays the episode's cut from that shot (cards swapped in after a film job included).
document.addEventListener("click", (event) => {
  const button = event.target.closest("button.seek");
  const player = document.getElementById("player");
  if (!button || !player) return;
  player.currentTime = parseFloat(button.dataset.start);
  player.play();
  player.scrollIntoView({behavior: "smooth"});
});

// While a render runs, the runs page follows it.
if (document.querySelector('[data-testid="runs"] tr[data-status="running"]')) {
  setTimeout(() => location.reload(), 5000);
}

// "Back" on an error page goes back when there is somewhere to go back to.
for (const link of document.querySelectorAll("a[data-back]")) {
  link.addEventListener("click", (event) => {
    if (history.length > 1) {
      event.preventDefault();
      history.back();
    }
  });
}
