// The review page's keys (listed on the page under "Keys"): j/k move through the queue, a/r accept or reject,
// c/s go to the correction or salary form, where Enter saves and Esc leaves the form.
"use strict";

const ACTIONS = {
  j: () => move(1), ArrowDown: () => move(1), k: () => move(-1), ArrowUp: () => move(-1),
  a: () => document.getElementById("accept")?.click(),
  r: () => document.getElementById("reject")?.click(),
  c: () => firstField("correct"),
  s: () => firstField("salary"),
};

function move(step) {
  const links = [...document.querySelectorAll("#queue a")];
  const at = links.findIndex((link) => link.hasAttribute("aria-current"));
  links[at + step]?.click();
}

function firstField(form) {
  document.querySelector(`#${form} input:not([type=hidden]), #${form} select`)?.focus();
}

document.addEventListener("keydown", (event) => {
  if (event.target.closest("input, select, textarea")) {
    if (event.key === "Escape") event.target.blur();
    return;
  }
  const action = event.ctrlKey || event.metaKey || event.altKey ? null : ACTIONS[event.key];
  if (action) {
    event.preventDefault();
    action();
  }
});

// Scroll the text and the queue, not the window, so the heading and the saved/error notice stay in view.
document.addEventListener("DOMContentLoaded", () => {
  const text = document.getElementById("text");
  const quote = document.querySelector("mark.quote");
  if (text && quote) text.scrollTop = quote.offsetTop - text.offsetTop - text.clientHeight / 3;
  const queue = document.querySelector("nav");
  const current = document.querySelector("#queue [aria-current]");
  if (queue && current) queue.scrollTop = current.offsetTop - queue.offsetTop - queue.clientHeight / 3;
});
