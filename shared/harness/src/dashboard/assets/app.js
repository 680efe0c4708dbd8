// The live cluster's page: draws each frame the server sends (or a recorded one), and
// turns clicks into the server's fault routes. No framework, no network beyond the page's
// own server.
"use strict";

const $ = (id) => document.getElementById(id);
const esc = (text) => String(text ?? "").replace(/[&<>"]/g, (c) =>
  ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);

let live = null;       // the EventSource while live
let replay = null;     // the recording while replaying
let lastFrame = null;

// A term's colour: terms that follow each other get far-apart hues.
function termColour(term) {
  if (!term) return "#9aa0a6";
  return `hsl(${(term * 137.5) % 360}, 55%, 45%)`;
}

function roleOf(node) {
  if (!node.running) return "crashed";
  if (!node.reachable) return "unreachable";
  return node.status.role || "follower";
}

function seconds(ms) {
  return (ms / 1000).toFixed(1) + " s";
}

// The page's elements are made once for the frame's nodes (and their groups) and updated
// in place on every frame, so a button under the mouse is never replaced between press
// and release.
let builtFor = "";

// Where node i is drawn: around one circle, or, when the nodes are in groups, each group
// around a small circle of its own, the groups around the big one.
function layout(n, groups) {
  const names = [...new Set(groups)];
  if (names.length < 2) {
    return { at: (i) => {
      const angle = -Math.PI / 2 + (2 * Math.PI * i) / n;
      return [130 * Math.cos(angle), 130 * Math.sin(angle)];
    }, r: 24, labels: [] };
  }
  const centre = (g) => {
    const angle = -Math.PI / 2 + (2 * Math.PI * g) / names.length;
    return [105 * Math.cos(angle), 100 * Math.sin(angle)];
  };
  const members = (name) => groups.map((g, i) => [g, i]).filter(([g]) => g === name).map(([, i]) => i);
  return {
    at: (i) => {
      const g = names.indexOf(groups[i]);
      const peers = members(groups[i]);
      const k = peers.indexOf(i);
      const [cx, cy] = centre(g);
      const angle = -Math.PI / 2 + (2 * Math.PI * k) / peers.length;
      return [cx + 36 * Math.cos(angle), cy + 36 * Math.sin(angle)];
    },
    r: 15,
    labels: names.map((name, g) => {
      const [x, y] = centre(g);
      return [name, x, y - 58];
    }),
  };
}

// A group's colour, by its position among the groups (0: none).
function groupColour(g) {
  if (!g) return "#d0d4d9";
  return `hsl(${(g * 97 + 200) % 360}, 60%, 62%)`;
}

function build(frame) {
  const n = frame.nodes.length;
  const groups = frame.groups && frame.groups.length === n ? frame.groups : [];
  builtFor = `${n}/${groups.join(",")}/${(frame.actions || []).join(",")}`;
  const { at, r, labels } = layout(n, groups);
  const together = (a, b) => groups.length === 0 || groups[a] === groups[b];
  const parts = [];
  for (const [name, x, y] of labels) {
    parts.push(`<text class="group-label" x="${x}" y="${y}">${esc(name)}</text>`);
  }
  for (let a = 0; a < n; a++) {
    for (let b = a + 1; b < n; b++) {
      if (!together(a, b)) continue;
      const [x1, y1] = at(a);
      const [x2, y2] = at(b);
      parts.push(`<g id="link-${a}-${b}" data-a="${a}" data-b="${b}" data-cut="false">` +
        `<line class="link" x1="${x1}" y1="${y1}" x2="${x2}" y2="${y2}"/>` +
        `<line class="hit" x1="${x1}" y1="${y1}" x2="${x2}" y2="${y2}"><title></title></line>` +
        (groups.length ? "" : `<text class="rate" x="${(x1 + x2) / 2}" y="${(y1 + y2) / 2 - 3}"></text>`) +
        `</g>`);
    }
  }
  for (let i = 0; i < n; i++) {
    const [x, y] = at(i);
    const small = r < 20 ? " small" : "";
    parts.push(`<g class="node${small}" id="dot-${i}"><circle cx="${x}" cy="${y}" r="${r}"/>` +
      `<text x="${x}" y="${y + 4}">${r < 20 ? i : "node " + i}</text>` +
      `<text class="sub" x="${x}" y="${y + r + 12}"></text></g>`);
  }
  $("cluster").innerHTML = parts.join("");
  for (const g of $("cluster").querySelectorAll("g[data-a]")) {
    g.addEventListener("click", () => {
      if (replay) return;
      const action = g.dataset.cut === "true" ? "heal" : "cut";
      post(`/api/links/${g.dataset.a}/${g.dataset.b}/${action}`);
    });
  }
  const cards = [];
  for (let i = 0; i < n; i++) {
    cards.push(`<article class="node-card" id="node-${i}" data-role="" data-term="" data-group="${esc(groups[i] || "")}">` +
      `<h3><span class="name"></span><span class="term"></span></h3>` +
      `<div class="facts"></div><div class="timer"><div></div></div><div class="log"></div>` +
      `<div class="fault facts" style="color:#c62828"></div>` +
      `<div class="buttons"><button id="crash-${i}">Crash</button>` +
      `<button id="restart-${i}">Restart</button></div></article>`);
  }
  $("nodes").innerHTML = cards.join("");
  for (let i = 0; i < n; i++) {
    $(`crash-${i}`).addEventListener("click", () => post(`/api/nodes/${i}/crash`));
    $(`restart-${i}`).addEventListener("click", () => post(`/api/nodes/${i}/restart`));
  }
  $("actions").innerHTML = (frame.actions || []).map((name, i) =>
    `<button id="action-${i}" class="action">${esc(name)}</button>`).join("");
  (frame.actions || []).forEach((_, i) =>
    $(`action-${i}`).addEventListener("click", () => post(`/api/actions/${i}`)));
  $("isolate-leader").hidden = groups.length > 0;
  $("cluster-title").textContent = groups.length ? "The groups" : "The group";
}

// The shards: one cell each, coloured by its owner; a shard that the pending
// configuration gives to another group shows where it is going.
function drawShards(shards) {
  $("shards-panel").hidden = !shards;
  if (!shards) return;
  const pending = shards.pending ? shards.pending[1] : null;
  $("shards-title").textContent = `configuration ${shards.num}` +
    (shards.pending ? `, moving to ${shards.pending[0]}` : "");
  $("shards").innerHTML = shards.owners.map((owner, s) => {
    const next = pending ? pending[s] : owner;
    const moving = next !== owner;
    const label = owner ? `g${owner}` : "–";
    return `<span class="shard${moving ? " moving" : ""}" data-owner="${owner}" data-next="${next}" ` +
      `title="shard ${s}: group ${owner || "none"}${moving ? ", moving to group " + next : ""}" ` +
      `style="background:${groupColour(owner)}${moving ? ";border-color:" + groupColour(next) : ""}">` +
      `<b>${s}</b>${label}${moving ? "→g" + next : ""}</span>`;
  }).join("");
}

function drawCluster(frame) {
  for (const link of frame.links) {
    const g = $(`link-${link.a}-${link.b}`);
    if (!g) continue;
    g.dataset.cut = link.cut;
    g.querySelector(".link").setAttribute("class",
      link.cut ? "link cut" : link.per_second > 0.5 ? "link busy" : "link");
    g.querySelector("title").textContent = `nodes ${link.a} and ${link.b}: ` +
      `${link.cut ? "cut" : "healthy"}, ${link.per_second.toFixed(1)} requests/s ` +
      `(click to ${link.cut ? "heal" : "cut"})`;
    const rate = g.querySelector(".rate");
    if (rate) rate.textContent = link.cut ? "✂ cut" : `${link.per_second.toFixed(0)}/s`;
  }
  for (const node of frame.nodes) {
    const role = roleOf(node);
    const g = $(`dot-${node.id}`);
    g.querySelector("circle").setAttribute("class",
      role === "crashed" || role === "unreachable" ? "down" : role);
    g.querySelector(".sub").textContent = `${role} · t${node.status.term}`;
  }
}

function drawNodes(frame) {
  for (const node of frame.nodes) {
    const s = node.status;
    const role = roleOf(node);
    const card = $(`node-${node.id}`);
    card.dataset.role = role;
    card.dataset.term = s.term;
    card.dataset.keys = s.keys ?? "";
    const group = card.dataset.group ? ` · ${card.dataset.group}` : "";
    card.querySelector(".name").textContent = `node ${node.id}${group} · ${role}`;
    const term = card.querySelector(".term");
    term.textContent = `term ${s.term}`;
    term.style.background = termColour(s.term);
    const vote = s.voted_for == null ? "–" : `node ${s.voted_for}`;
    const keys = s.keys == null ? "" : ` · keys <b>${s.keys}</b>`;
    card.querySelector(".facts").innerHTML = `vote <b>${vote}</b> · commit <b>${s.commit_index}</b>` +
      ` · applied <b>${s.applied_index}</b> · last <b>${s.last_index}</b>${keys}`;
    const max = s.timing && s.timing.election_max_ms ? s.timing.election_max_ms : 1;
    const timer = role === "leader" || !node.running || s.election_due_ms == null
      ? 0 : Math.max(0, Math.min(1, s.election_due_ms / max));
    card.querySelector(".timer").title = `election timer: ${s.election_due_ms ?? "–"} ms left`;
    card.querySelector(".timer div").style.width = `${(timer * 100).toFixed(0)}%`;
    card.querySelector(".log").innerHTML = (s.log_tail || []).map((t, k) => {
      const index = s.log_tail_from + k;
      const colour = termColour(t);
      const committed = index <= s.commit_index;
      return `<i title="entry ${index}, term ${t}${committed ? ", committed" : ""}" ` +
        `style="border-color:${colour};background:${committed ? colour : "transparent"}"></i>`;
    }).join("");
    card.querySelector(".fault").textContent = s.fault || "";
    $(`crash-${node.id}`).disabled = !!replay || !node.running;
    $(`restart-${node.id}`).disabled = !!replay || node.running;
  }
}

function drawWorkload(w) {
  $("verdict").textContent = w.verdict + (w.undecided_windows ? ` (${w.undecided_windows} undecided)` : "");
  $("verdict").dataset.verdict = w.verdict;
  if (w.violation) {
    $("verdict").innerHTML = `not linearizable: <a href="/timeline" target="_blank">key ${esc(w.violation.key)}</a>`;
  }
  $("workload-fault").hidden = !w.fault;
  $("workload-fault").textContent = w.fault || "";
  $("acked").textContent = w.acknowledged_writes;
  $("lost").textContent = w.lost_writes;
  $("lost").dataset.lost = w.lost_writes;
  $("checked").dataset.windows = w.checked_windows;
  $("checked").textContent = `${w.checked_windows} (${w.checked_operations} calls)` +
    (w.pending_windows ? `, ${w.pending_windows} waiting` : "");
  const last = w.seconds.length > 1 ? w.seconds[w.seconds.length - 2] : null;
  $("throughput").textContent = w.paused ? "paused" :
    last ? `${last.ok} answers/s, p50 ${last.p50_ms.toFixed(1)} ms, p99 ${last.p99_ms.toFixed(1)} ms` : "–";
  const chart = $("chart");
  const points = w.seconds;
  const maxOps = Math.max(10, ...points.map((p) => p.ok + p.errors));
  const maxMs = Math.max(10, ...points.map((p) => p.p99_ms));
  // The newest second at the right edge, a minute across.
  const line = (value, top) => points.map((p, i) =>
    `${300 - ((points.length - 1 - i) * 300) / 59},${115 - (value(p) / top) * 105}`).join(" ");
  chart.innerHTML =
    `<polyline fill="none" stroke="#3b7dd8" stroke-width="1.5" points="${line((p) => p.ok, maxOps)}"/>` +
    `<polyline fill="none" stroke="#e8793a" stroke-width="1.5" points="${line((p) => p.p99_ms, maxMs)}"/>` +
    `<polyline fill="none" stroke="#c62828" stroke-width="1.5" points="${line((p) => p.errors, maxOps)}"/>` +
    `<text x="4" y="12" font-size="9" fill="#6a737d">${maxOps} /s · ${maxMs.toFixed(0)} ms</text>`;
}

function drawEvents(events) {
  $("events").innerHTML = events.slice().reverse().map((e) =>
    `<li class="${esc(e.kind)}"><span class="t">${seconds(e.t_ms)}</span>${esc(e.text)}</li>`).join("");
}

function draw(frame, events) {
  lastFrame = frame;
  $("title").textContent = frame.title ? "· " + frame.title : "";
  const shape = `${frame.nodes.length}/${(frame.groups || []).join(",")}/${(frame.actions || []).join(",")}`;
  if (shape !== builtFor) build(frame);
  drawCluster(frame);
  drawShards(frame.shards);
  drawNodes(frame);
  drawWorkload(frame.workload);
  drawEvents(events);
  for (const id of ["isolate-leader", "heal-all", "pause", "resume"]) $(id).disabled = !!replay;
  for (const button of document.querySelectorAll("button.action")) button.disabled = !!replay;
}

async function post(path) {
  try {
    const response = await fetch(path, { method: "POST" });
    const body = await response.json();
    $("message").textContent = body.message || "";
  } catch (e) {
    $("message").textContent = "the demo is not answering: " + e;
  }
}

function goLive() {
  replay = null;
  $("replay").hidden = true;
  $("mode").dataset.mode = "connecting";
  $("mode").textContent = "connecting…";
  live = new EventSource("/api/events");
  live.onopen = () => { $("mode").dataset.mode = "live"; $("mode").textContent = "live"; };
  live.onerror = () => { $("mode").dataset.mode = "disconnected"; $("mode").textContent = "disconnected: is the demo still running?"; };
  live.onmessage = (message) => {
    const frame = JSON.parse(message.data);
    draw(frame, frame.events);
    // Update latency: from the frame's making to the pixels on screen.
    requestAnimationFrame(() => {
      const ms = Math.max(0, Date.now() - frame.wall_ms);
      $("latency").textContent = `${ms} ms`;
      $("latency").dataset.ms = ms;
    });
  };
}

function showReplay(index) {
  const frame = replay.frames[index];
  if (!frame) return;
  const events = replay.events.filter((e) => e.t_ms <= frame.t_ms);
  draw(frame, events.slice(-40));
  $("replay-time").textContent = `${seconds(frame.t_ms)} of ${seconds(replay.frames[replay.frames.length - 1].t_ms)}`;
}

async function openRecording(file) {
  let recording;
  try {
    recording = JSON.parse(await file.text());
  } catch (e) {
    $("message").textContent = "that file is not a recording (not JSON): " + e.message;
    return;
  }
  if (recording.format !== 1 || !Array.isArray(recording.frames) || recording.frames.length === 0) {
    $("message").textContent = "that file is not a recording this page can replay (format 1, with frames)";
    return;
  }
  if (live) { live.close(); live = null; }
  replay = recording;
  $("replay").hidden = false;
  $("mode").dataset.mode = "replay";
  $("mode").textContent = `replaying ${file.name}: ${recording.frames.length} frames, ${recording.history.length} calls`;
  $("slider").max = recording.frames.length - 1;
  $("slider").value = recording.frames.length - 1;
  showReplay(recording.frames.length - 1);
}

$("isolate-leader").addEventListener("click", () => post("/api/isolate-leader"));
$("heal-all").addEventListener("click", () => post("/api/heal"));
$("pause").addEventListener("click", () => post("/api/workload/pause"));
$("resume").addEventListener("click", () => post("/api/workload/resume"));
$("open").addEventListener("change", (e) => { if (e.target.files[0]) openRecording(e.target.files[0]); });
$("slider").addEventListener("input", (e) => showReplay(Number(e.target.value)));
$("back-to-live").addEventListener("click", goLive);
goLive();
