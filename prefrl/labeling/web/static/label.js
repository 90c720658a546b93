// The labeling page: shows pairs[0], keeps the next pair preloaded, answers with buttons or arrow keys.
"use strict";

const ON_HAND = 2; // the pair shown and the one preloaded behind it
const KEYS = { ArrowLeft: "left", ArrowRight: "right", ArrowUp: "equal", ArrowDown: "unsure" };
const FRIENDLY = {
  409: "Someone else answered or took that pair meanwhile; here is the next one.",
  404: "That pair is no longer in the run; here is the next one.",
  503: "The run's database is busy for a moment; try again.",
};
let nameRule = null; // {pattern: RegExp, text}: what the server accepts as a labeler name (from api/stats)
const NAME_KEY = "prefrl-labeler"; // the name, kept in this browser for later visits
const CONTROLS = { p: "pause", r: "replay", s: "slow" };
const SAID = { left: "left is better", right: "right is better", equal: "equally good", unsure: "can't tell" };
const $ = (id) => document.getElementById(id);

let pairs = []; // {pair, left: <video>, right: <video>}
let busy = false; // an answer or undo is in flight
let refilling = false;
let refillTimer = null; // the next look for pairs
let resendTimer = null; // the next try to send a kept answer (its own timer: a refill must not cancel it)
let renewEvery = 30_000; // ms between lease renewals of the pairs on this page (a third of the lease, at most 30 s)
let renewTimer = null;
let runDir = "RUN_DIR"; // named in the hint shown when the server goes away
const PENDING = "prefrl-pending"; // an answer the server has not acknowledged yet: {query_id, preference, labeler}

// Each browser gets a name of its own on its first visit ("human-" and 5 random letters; editable), so two people
// never share leases; the page keeps it for later visits.
function firstName() {
  const letters = crypto.getRandomValues(new Uint8Array(5)), abc = "abcdefghijkmnpqrstuvwxyz";
  const name = "human-" + Array.from(letters, (b) => abc[b % abc.length]).join("");
  localStorage.setItem(NAME_KEY, name);
  return name;
}
const nameInput = $("labeler");
nameInput.value = localStorage.getItem(NAME_KEY) || firstName();
const labeler = () => nameInput.value.trim();

async function api(path, body) {
  const init = body === undefined ? {} : {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  };
  const response = await fetch(path, init);
  const data = await response.json().catch(() => ({ error: response.statusText }));
  if (!response.ok) throw Object.assign(new Error(data.error || response.statusText), { status: response.status });
  return data;
}

function note(text, ok = false) {
  $("message").textContent = text;
  $("message").className = ok ? "ok" : "";
}

// fetch() rejects (no HTTP status) when nothing answers: the trainer ended and took the server with it.
const serverGone = (e) => e.status === undefined;
const goneHint = () => `The labeling server stopped (did the trainer end?). Run  prefrl label ${runDir}  to go on;`;

function emptyText(p) {
  if (p.budget && p.labels >= p.budget && !p.waiting) return `All ${p.budget} labels are in. Thank you!`;
  if (!p.waiting && !p.trainer) {
    return "Every pair is answered, and no trainer is running to ask for more. Thank you!";
  }
  return "No pair is ready yet: the agent is still producing clips. This page checks again by itself.";
}

const answeredAt = []; // when this page's last answers were saved, for the pace shown

function secondsPerAnswer() {
  // The median gap between this page's last 10 answers (pauses over 2 minutes left out); null before 3 answers.
  const gaps = answeredAt.slice(1).map((t, i) => (t - answeredAt[i]) / 1000).filter((g) => g < 120);
  if (gaps.length < 2) return null;
  return gaps.sort((a, b) => a - b)[Math.floor(gaps.length / 2)];
}

function showProgress(p) {
  $("empty").textContent = emptyText(p);
  const me = p.labelers[labeler()] || 0;
  const parts = [
    `${p.labels} labels${p.budget ? ` of ${p.budget}` : ""}`,
    `<span class="${p.waiting ? "waiting" : ""}">${p.waiting} pairs waiting</span>`,
    `agent at timestep ${p.agent_timestep.toLocaleString("en")}`,
    `you: ${me}`,
  ];
  const pace = secondsPerAnswer();
  if (pace && p.waiting) parts.push(`${pace.toFixed(1)} s per answer: about ${Math.ceil((pace * p.waiting) / 60)} min for the rest`);
  $("progress").innerHTML = parts.join(" · ");
  $("stats-rows").replaceChildren(...Object.entries(p.labelers).map(([who, n]) => {
    const row = document.createElement("tr");
    row.append(Object.assign(document.createElement("td"), { textContent: who }),
               Object.assign(document.createElement("td"), { textContent: n }));
    return row;
  }));
  if (p.render_error) note(`Rendering stopped: ${p.render_error}`);
}

function video(src) {
  const v = document.createElement("video");
  Object.assign(v, { src, muted: true, playsInline: true, preload: "auto", loop: false });
  return v;
}

const playable = (v) => new Promise((resolve) => {
  if (v.readyState >= HTMLMediaElement.HAVE_FUTURE_DATA) resolve();
  else v.addEventListener("canplay", resolve, { once: true });
});

let slow = false; // half speed, kept from pair to pair
let paused = false; // for the pair shown only

function applyRate(item) {
  for (const v of [item.left, item.right]) v.playbackRate = slow ? 0.5 : 1;
  $("slow").setAttribute("aria-pressed", String(slow));
  $("pause").setAttribute("aria-pressed", String(paused));
}

function control(what) {
  const item = pairs[0];
  if (!item) return;
  const both = [item.left, item.right];
  if (what === "slow") slow = !slow;
  if (what === "pause") paused = !paused;
  if (what === "replay") { paused = false; for (const v of both) v.currentTime = 0; }
  applyRate(item);
  for (const v of both) (paused ? v.pause() : v.play().catch(() => {}));
}

async function playTogether(item) {
  // Both clips have the same number of frames: start them together and restart them together.
  const both = [item.left, item.right];
  paused = false;
  applyRate(item);
  await Promise.all(both.map(playable));
  if (pairs[0] !== item) return;
  let ended = 0;
  for (const v of both) {
    v.onended = () => {
      if (++ended < 2) return;
      ended = 0;
      for (const w of both) { w.currentTime = 0; if (!paused) w.play().catch(() => {}); }
    };
    v.currentTime = 0;
    v.play().catch(() => {});
  }
}

function show() {
  const item = pairs[0];
  $("empty").hidden = Boolean(item);
  for (const side of ["left", "right"]) $(`${side}-frame`).replaceChildren(...(item ? [item[side]] : []));
  for (const button of document.querySelectorAll("#buttons button[data-preference]")) button.disabled = !item;
  document.body.dataset.queryId = item ? item.pair.query_id : "";
  if (item) {
    playTogether(item);
    const main = document.querySelector("main"); // a cue that this is a new pair
    main.classList.remove("fresh");
    void main.offsetWidth; // restart the animation
    main.classList.add("fresh");
  }
}

function discard(item) {
  for (const v of [item.left, item.right]) { v.pause(); v.removeAttribute("src"); v.load(); }
}

async function refill() {
  if (refilling) return;
  refilling = true;
  clearTimeout(refillTimer);
  try {
    while (pairs.length < ON_HAND) {
      const data = await api("api/next", { labeler: labeler(), holding: pairs.map((i) => i.pair.query_id) });
      showProgress(data.progress);
      if (!data.pair) { refillTimer = setTimeout(refill, 1000); break; } // none rendered yet: look again soon
      pairs.push({ pair: data.pair, left: video(data.pair.left), right: video(data.pair.right) });
      if (pairs.length === 1) show();
    }
  } catch (e) {
    note(serverGone(e) ? `${goneHint()} this page reconnects by itself.` : e.message);
    refillTimer = setTimeout(refill, 2000);
  } finally {
    refilling = false;
  }
}

async function sendPending() {
  // An answer given while the server was away (kept across reloads): send it first.
  const pending = JSON.parse(localStorage.getItem(PENDING) || "null");
  if (!pending) return true;
  try {
    const data = await api("api/answer", pending);
    note(`Saved: ${SAID[pending.preference]}.`, true);
    showProgress(data.progress);
  } catch (e) {
    if (serverGone(e)) return false;
    note(e.message); // refused for good (say, answered meanwhile by someone else): nothing left to send
  }
  localStorage.removeItem(PENDING);
  return true;
}

async function answer(preference) {
  const item = pairs[0];
  if (!item || busy) return;
  busy = true;
  const given = { query_id: item.pair.query_id, labeler: labeler(), preference };
  try {
    const data = await api("api/answer", given);
    note(`Saved: ${SAID[preference]}.`, true); // only now: the answer is in the database
    answeredAt.push(Date.now());
    if (answeredAt.length > 11) answeredAt.shift();
    showProgress(data.progress);
  } catch (e) {
    if (serverGone(e)) { // keep the answer and send it when the server is back
      localStorage.setItem(PENDING, JSON.stringify(given));
      note(`${goneHint()} your answer (${SAID[preference]}) is kept and sent then.`);
      for (const v of [item.left, item.right]) v.pause();
      clearTimeout(resendTimer);
      resendTimer = setTimeout(reconnect, 2000);
      return; // busy stays set: no more answers until it is sent
    }
    note(FRIENDLY[e.status] || e.message);
    if (e.status !== 404 && e.status !== 409) { busy = false; return; } // keep the pair; try again
  }
  pairs.shift();
  discard(item);
  show();
  busy = false;
  refill();
}

async function reconnect() {
  if (!(await sendPending())) { resendTimer = setTimeout(reconnect, 2000); return; }
  const item = pairs.shift();
  if (item) discard(item);
  show();
  busy = false;
  refill();
}

function release() {
  // The tab closes or goes to the background: give its pairs back at once rather than when their leases end.
  if (!pairs.length || busy) return;
  const body = JSON.stringify({ labeler: labeler(), query_ids: pairs.map((i) => i.pair.query_id) });
  navigator.sendBeacon("api/release", new Blob([body], { type: "application/json" }));
  pairs.forEach(discard);
  pairs = [];
  show();
}

function renew() {
  // While the page shows its pairs, keep their leases: a person may watch a pair longer than a lease lasts.
  if (pairs.length && !document.hidden) {
    api("api/renew", { labeler: labeler(), query_ids: pairs.map((i) => i.pair.query_id) }).catch(() => {});
  }
  renewTimer = setTimeout(renew, renewEvery);
}

async function undo() {
  if (busy) return;
  busy = true;
  try {
    const data = await api("api/undo", { labeler: labeler() });
    pairs.unshift({ pair: data.pair, left: video(data.pair.left), right: video(data.pair.right) });
    show();
    note("Undone: answer this pair again.", true);
    showProgress(data.progress);
  } catch (e) {
    note(e.message);
  }
  busy = false;
}

document.addEventListener("keydown", (e) => {
  if (e.target === nameInput || e.altKey || e.ctrlKey || e.metaKey) return;
  if (KEYS[e.key]) {
    e.preventDefault();
    if (!e.repeat) answer(KEYS[e.key]);
  } else if (e.key === "Backspace") {
    e.preventDefault();
    undo();
  } else if (CONTROLS[e.key.toLowerCase()]) {
    control(CONTROLS[e.key.toLowerCase()]);
  }
});
for (const what of ["pause", "replay", "slow"]) {
  $(what).addEventListener("click", () => { $(what).blur(); control(what); });
}
for (const button of document.querySelectorAll("#buttons button[data-preference]")) {
  button.addEventListener("click", () => {
    button.blur(); // else Space or Enter would press it again on the next pair
    answer(button.dataset.preference);
  });
}
$("undo").addEventListener("click", undo);
nameInput.addEventListener("change", () => {
  if (nameRule && !nameRule.pattern.test(labeler())) {
    note(`Not changed: ${nameRule.text}.`);
    nameInput.value = localStorage.getItem(NAME_KEY) || "";
    return;
  }
  localStorage.setItem(NAME_KEY, labeler());
  nameInput.blur(); // the arrow keys answer again
  pairs.forEach(discard);
  pairs = [];
  show();
  refill();
});

addEventListener("pagehide", release);
document.addEventListener("visibilitychange", () => {
  if (document.hidden) release();
  else refill();
});

api("api/stats").then((data) => {
  $("instruction").textContent = data.instruction;
  runDir = data.run_dir || runDir;
  nameRule = { pattern: new RegExp(`^(?:${data.labeler_pattern})$`), text: data.labeler_rule };
  renewEvery = Math.min(30, data.lease_seconds / 3) * 1000;
  clearTimeout(renewTimer);
  renewTimer = setTimeout(renew, renewEvery);
  document.title = `prefrl: ${data.env_id}`;
  showProgress(data.progress);
}).catch((e) => note(e.message));
setInterval(() => api("api/stats").then((d) => showProgress(d.progress)).catch(() => {}), 5000);
show();
renewTimer = setTimeout(renew, renewEvery);
sendPending().then((sent) => (sent ? refill() : reconnect()));
