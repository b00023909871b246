// The imagewave page: submit a picture, follow the job over Server-Sent Events, show what it
// made. Plain DOM, no framework; every text from the job is set with textContent (no HTML).
"use strict";

const STAGES = ["describe", "sfx", "roles", "timbre", "instruments", "arrangement", "render"];
const STAGE_LABELS = {
  describe: "Describe", sfx: "Sound effects", roles: "Roles", timbre: "Timbres",
  instruments: "Instruments", arrangement: "Arrangement", render: "Mix",
};
const FINAL = new Set(["succeeded", "failed", "canceled"]);
const $ = (id) => document.getElementById(id);

let imageFile = null;
let current = null; // {id, source: EventSource, loaded: Set, roles}

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "class") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key in node) node[key] = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) {
    if (child != null) node.append(child);
  }
  return node;
}

function artifactUrl(jobId, name) {
  return `/jobs/${encodeURIComponent(jobId)}/artifacts/${name}`;
}

// -- talking to the gateway ------------------------------------------------------------------
// A deployment may require an API key (X-API-Key). Browsers cannot put headers on EventSource,
// <audio src> or plain links, so with a key set the page fetches everything itself.

function apiKey() {
  return $("api-key-input").value.trim();
}

function authFetch(url, options = {}) {
  const key = apiKey();
  const headers = key ? { ...(options.headers || {}), "X-API-Key": key } : options.headers;
  return fetch(url, { ...options, headers });
}

async function fetchJson(url) {
  const response = await authFetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return response.json();
}

function downloadLink(url, text, { button = false } = {}) {
  const name = url.split("/").pop();
  const link = el("a", { href: url, download: name, textContent: text });
  if (button) link.className = "button";
  link.addEventListener("click", async (event) => {
    if (!apiKey()) return; // a plain link does it
    event.preventDefault();
    const response = await authFetch(url);
    if (!response.ok) { showError(`${name}: HTTP ${response.status}`); return; }
    const blobUrl = URL.createObjectURL(await response.blob());
    const save = el("a", { href: blobUrl, download: name });
    save.click();
    setTimeout(() => URL.revokeObjectURL(blobUrl), 60_000);
  });
  return link;
}

// One sentence for people; what the engine said, if anything, folded away under "Details".
function showError(message, details = "") {
  const box = $("error-box");
  box.replaceChildren(el("p", { textContent: message }));
  if (details) {
    box.append(el("details", {}, el("summary", { textContent: "Details" }),
                  el("pre", { textContent: details })));
  }
  box.hidden = !message;
}

// -- picking a picture --------------------------------------------------------------------

function choose(file) {
  if (!file || !file.type.startsWith("image/")) {
    showError("That is not a picture: choose a JPEG, PNG, WebP or GIF file.");
    return;
  }
  showError("");
  imageFile = file;
  const preview = $("image-preview");
  preview.src = URL.createObjectURL(file);
  preview.alt = ""; // its name is said next to it
  preview.hidden = false;
  $("drop-hint").hidden = true;
  $("picked-name").textContent = file.name; // the zone stays a button and says what is picked
  $("picked").hidden = false;
  $("submit-button").disabled = false;
}

// Limits and defaults of the options: the API's JobOptions schema is the one source.
async function applyOptionLimits() {
  const response = await fetch("/openapi.json");
  if (!response.ok) throw new Error(`/openapi.json: HTTP ${response.status}`);
  const fields = (await response.json()).components.schemas.JobOptions.properties;
  for (const input of document.querySelectorAll("[data-option]")) {
    const field = fields[input.dataset.option];
    if (!field) continue;
    if (field.minimum != null) input.min = field.minimum;
    if (field.maximum != null) input.max = field.maximum;
    if (field.default != null) input.value = field.default;
  }
  $("length-output").value = `${$("length-input").value} s`;
}

// "Try an example": the project's own example pictures, as the gateway lists them.
async function showExamples() {
  const response = await fetch("/examples");
  if (!response.ok) return;
  const names = await response.json();
  if (!names.length) return;
  const box = $("examples");
  for (const name of names) {
    const button = el("button", { type: "button", class: "small example",
                                  textContent: name.replace(/\.[a-z]+$/, "") });
    button.addEventListener("click", async () => {
      const answer = await fetch(`/examples/${encodeURIComponent(name)}`);
      if (!answer.ok) { showError(`Could not load the example: HTTP ${answer.status}`); return; }
      const blob = await answer.blob();
      choose(new File([blob], name, { type: blob.type }));
    });
    box.append(button);
  }
  box.hidden = false;
}

function setUpForm() {
  const zone = $("drop-zone");
  $("image-input").addEventListener("change", (e) => choose(e.target.files[0]));
  for (const type of ["dragenter", "dragover"]) {
    zone.addEventListener(type, (e) => { e.preventDefault(); zone.classList.add("dragging"); });
  }
  for (const type of ["dragleave", "drop"]) {
    zone.addEventListener(type, () => zone.classList.remove("dragging"));
  }
  zone.addEventListener("drop", (e) => { e.preventDefault(); choose(e.dataTransfer.files[0]); });
  zone.addEventListener("click", () => $("image-input").click());
  zone.addEventListener("keydown", (e) => {
    if (e.key === "Enter" || e.key === " ") { e.preventDefault(); $("image-input").click(); }
  });
  const length = $("length-input");
  length.addEventListener("input", () => { $("length-output").value = `${length.value} s`; });
  $("submit-form").addEventListener("submit", submit);
  $("remix-button").addEventListener("click", remix);
  $("add-source-button").addEventListener("click", addSource);
}

async function submit(event) {
  event.preventDefault();
  if (!imageFile) return;
  showError("");
  const form = new FormData();
  form.append("image", imageFile);
  const midi = $("midi-input").files[0];
  if (midi) form.append("midi", midi);
  const options = {
    audio_length_in_s: Number($("length-input").value),
    sfx_length_in_s: Number($("sfx-length-input").value) || 4,
    seed: Number($("seed-input").value) || 0,
  };
  if ($("style-input").value) options.style = $("style-input").value;
  form.append("options", JSON.stringify(options));
  $("submit-button").disabled = true;
  try {
    const response = await authFetch("/jobs", { method: "POST", body: form });
    const body = await response.json();
    if (!response.ok) throw new Error(body.error ? body.error.message : `HTTP ${response.status}`);
    history.replaceState(null, "", `?job=${encodeURIComponent(body.id)}`);
    await follow(body.id);
    $("progress-heading").focus(); // keyboard and screen-reader users land on the progress
  } catch (error) {
    showError(`Could not submit: ${error.message}`);
  } finally {
    $("submit-button").disabled = false;
  }
}

// -- following a job ----------------------------------------------------------------------

function resetResults(jobId) {
  for (const id of ["mix-section", "scene-section", "sfx-section", "instruments-section",
                    "remix-bar"]) {
    $(id).hidden = true;
  }
  for (const id of ["mix-player", "mix-links", "source-cards", "sfx-list", "instrument-list"]) {
    $(id).replaceChildren();
  }
  const list = $("stage-list");
  list.replaceChildren(...STAGES.map((stage) => el("li",
    { class: "stage", id: `stage-${stage}`, dataset: { status: "pending" } },
    el("span", { class: "name", id: `stage-name-${stage}`, textContent: STAGE_LABELS[stage] }),
    el("span", { class: "bar", role: "progressbar", "aria-labelledby": `stage-name-${stage}`,
                 "aria-valuemin": "0", "aria-valuemax": "100", "aria-valuenow": "0" },
       el("span")),
    el("span", { class: "status", textContent: "pending" }))));
  $("job-label").textContent = `job ${jobId}`;
  $("arrangement-summary").textContent = "";
  $("section-timeline").replaceChildren();
  $("progress-section").hidden = false;
}

async function follow(jobId) {
  if (current && current.source) current.source.close();
  current = null;
  $("cancel-button").hidden = true;
  const known = await authFetch(`/jobs/${encodeURIComponent(jobId)}`);
  if (known.status === 404) {
    $("progress-section").hidden = true;
    showError(`No job ${jobId} on this server: it was never made here, or it expired.`);
    return;
  }
  resetResults(jobId);
  current = { id: jobId, loaded: new Set(), roles: null };
  const job = current;
  const cancel = $("cancel-button");
  cancel.hidden = false;
  cancel.onclick = async () => {
    cancel.disabled = true;
    const response = await authFetch(`/jobs/${encodeURIComponent(jobId)}`, { method: "DELETE" });
    if (!response.ok) showError(`Could not cancel: HTTP ${response.status}`);
    cancel.disabled = false;
  };
  const url = `/jobs/${encodeURIComponent(jobId)}/events`;
  if (apiKey()) {
    job.source = new KeyedEventStream(url, (data) => onEvent(job, JSON.parse(data)));
    return;
  }
  // EventSource replays the job's events from the start and resumes after a dropped
  // connection on its own (Last-Event-ID); each data is {stage, status, progress[, error]}.
  const source = new EventSource(url);
  job.source = source;
  // Typed events (`event: stage` / `event: job`): onmessage would only see untyped ones.
  for (const kind of ["stage", "job", "message"]) {
    source.addEventListener(kind, (message) => onEvent(job, JSON.parse(message.data)));
  }
  source.onerror = () => {
    if (source.readyState === EventSource.CLOSED && !job.done) {
      showError("Lost the connection to the server; reload the page to resume this job.");
    }
  };
}

// EventSource's job done over fetch, so that the API key header can be sent: read the
// text/event-stream, hand each data line on, and resume after the last id if the
// connection drops.
class KeyedEventStream {
  constructor(url, onData) {
    this.url = url;
    this.onData = onData;
    this.lastId = null;
    this.controller = null;
    this.closed = false;
    this.run();
  }

  async run() {
    while (!this.closed) {
      try {
        this.controller = new AbortController();
        const headers = this.lastId ? { "Last-Event-ID": this.lastId } : {};
        const response = await authFetch(this.url, { headers, signal: this.controller.signal });
        if (!response.ok) throw new Error(`events: HTTP ${response.status}`);
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value;
          let end;
          while ((end = buffer.indexOf("\n\n")) >= 0) {
            this.dispatch(buffer.slice(0, end));
            buffer = buffer.slice(end + 2);
          }
        }
      } catch (error) {
        if (this.closed) return;
        if (String(error.message).includes("HTTP 4")) { showError(error.message); return; }
      }
      if (!this.closed) await new Promise((resolve) => setTimeout(resolve, 2000));
    }
  }

  dispatch(block) {
    const data = [];
    for (const line of block.split("\n")) {
      if (line.startsWith("id:")) this.lastId = line.slice(3).trim();
      else if (line.startsWith("data:")) data.push(line.slice(5).trimStart());
    }
    if (data.length && !this.closed) this.onData(data.join("\n"));
  }

  close() {
    this.closed = true;
    if (this.controller) this.controller.abort();
  }
}

function onEvent(job, event) {
  if (job !== current) return;
  if (event.stage) {
    const row = $(`stage-${event.stage}`);
    if (row) {
      row.dataset.status = event.status;
      row.querySelector(".bar > span").style.width = `${Math.round(event.progress * 100)}%`;
      row.querySelector(".bar").setAttribute("aria-valuenow", Math.round(event.progress * 100));
      row.querySelector(".status").textContent =
        event.status === "running" ? `${Math.round(event.progress * 100)}%` : event.status;
    }
    if (event.status === "succeeded" || event.status === "skipped") {
      loadStageResults(job, event.stage);
    }
    return;
  }
  $("job-label").textContent = `job ${job.id} · ${event.status}`;
  if (FINAL.has(event.status)) {
    job.done = true;
    job.source.close();
    $("cancel-button").hidden = true;
    // A stage the job stopped in is not running any more (the job view says the same).
    const stopped = event.status === "canceled" ? "canceled" : "failed";
    for (const row of document.querySelectorAll('#stage-list [data-status="running"]')) {
      row.dataset.status = stopped;
      row.querySelector(".status").textContent = stopped;
    }
    if (event.status === "succeeded") {
      for (const stage of STAGES) loadStageResults(job, stage);
    } else if (event.status === "failed") {
      const stage = event.error && event.error.stage;
      const where = stage ? ` at the ${STAGE_LABELS[stage] || stage} stage` : "";
      showError(`The job failed${where}. Try another picture or seed, or look at the details.`,
                event.error ? event.error.message : "");
    } else {
      showError("The job was canceled.");
    }
  }
}

function loadStageResults(job, stage) {
  const loaders = { describe: showScene, sfx: showEffects, roles: showRoles,
                    instruments: showInstruments, arrangement: showArrangement,
                    render: showMix };
  if (!loaders[stage] || job.loaded.has(stage)) return;
  job.loaded.add(stage);
  loaders[stage](job).catch((error) => {
    job.loaded.delete(stage);
    showError(`Could not show ${stage}: ${error.message}`);
  });
}

// -- the scene as cards ---------------------------------------------------------------------

const ROLES = ["", "keyboard", "bass", "guitar", "drums"];

async function showScene(job) {
  const scene = await fetchJson(artifactUrl(job.id, "scene.json"));
  job.scene = scene;
  $("scene-description").textContent = scene.scene_description;
  $("scene-mood").textContent = `Mood: ${scene.mood_description}`;
  $("source-cards").replaceChildren(...scene.sound_sources.map(sourceCard));
  $("scene-section").hidden = false;
  $("remix-bar").hidden = false;
  if (job.roles) paintRoles(job);
}

// A card is the editor of one source: its name, material, and each variant's play method,
// timbre words and role. The Remix button reads the cards back into a scene.
function sourceCard(source, index) {
  const field = (cls, value, label) => el("input", { class: cls, value: value || "",
                                                     "aria-label": label });
  const variants = source.variants.map((variant) => {
    const role = el("select", { class: "variant-role", "aria-label": "role" },
      ...ROLES.map((r) => el("option", { value: r, textContent: r || "any role" })));
    role.value = variant.mapping_to_music_instrument || "";
    return el("li", { class: "variant" },
      field("play-method", variant.play_method, "play method"),
      field("timbre", (variant.timbre || []).join(", "), "timbre words"), role);
  });
  const card = el("article", { class: "card source-card", id: `source-${index}` },
    source.confidence != null
      ? el("span", { class: "confidence", textContent: `${Math.round(source.confidence * 100)}%` })
      : null,
    field("source-name", source.name, "source name"),
    field("source-material", source.material, "material"),
    el("div", { class: "roles" }),
    el("ul", {}, ...variants),
    el("button", { type: "button", class: "remove-source", textContent: "Remove" }));
  card.querySelector(".remove-source").onclick = () => card.remove();
  return card;
}

function editedScene(job) {
  const sources = [...document.querySelectorAll("#source-cards .source-card")].map((card) => ({
    name: card.querySelector(".source-name").value.trim(),
    material: card.querySelector(".source-material").value.trim(),
    variants: [...card.querySelectorAll(".variant")].map((li) => ({
      play_method: li.querySelector(".play-method").value.trim(),
      timbre: li.querySelector(".timbre").value.split(",").map((w) => w.trim()).filter(Boolean),
      mapping_to_music_instrument: li.querySelector(".variant-role").value || null,
    })),
  }));
  return { ...job.scene, sound_sources: sources };
}

function sameSources(a, b) {
  const plain = (scene) => JSON.stringify(scene.sound_sources.map((s) => [s.name,
    s.material || "", s.variants.map((v) => [v.play_method, v.timbre || [],
      v.mapping_to_music_instrument || null])]));
  return plain(a) === plain(b);
}

async function remix() {
  const job = current;
  if (!job || !job.scene) return;
  showError("");
  const parent = await fetchJson(`/jobs/${encodeURIComponent(job.id)}`);
  const wanted = { audio_length_in_s: Number($("length-input").value),
                   sfx_length_in_s: Number($("sfx-length-input").value) || 4,
                   seed: Number($("seed-input").value) || 0 };
  const options = {};
  for (const [key, value] of Object.entries(wanted)) {
    if (parent.options[key] !== value) options[key] = value;
  }
  const body = { options };
  const scene = editedScene(job);
  if (!sameSources(scene, job.scene)) body.scene = scene;
  $("remix-button").disabled = true;
  try {
    const response = await authFetch(`/jobs/${encodeURIComponent(job.id)}/remix`, {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body) });
    const answer = await response.json();
    if (!response.ok) throw new Error(answer.error ? answer.error.message : `HTTP ${response.status}`);
    history.replaceState(null, "", `?job=${encodeURIComponent(answer.id)}`);
    follow(answer.id);
  } catch (error) {
    showError(`Could not remix: ${error.message}`);
  } finally {
    $("remix-button").disabled = false;
  }
}

function addSource() {
  const cards = $("source-cards");
  cards.append(sourceCard({ name: "new sound", material: "",
                            variants: [{ play_method: "how it sounds", timbre: [] }] },
                          cards.children.length));
}

async function showRoles(job) {
  job.roles = await fetchJson(artifactUrl(job.id, "roles.json"));
  paintRoles(job);
}

function paintRoles(job) {
  for (const choice of job.roles.choices) {
    const card = $(`source-${choice.source_index}`);
    if (!card) continue;
    const box = card.querySelector(".roles");
    if (box.querySelector(`[data-role="${choice.role}"]`)) continue;
    const reasons = (choice.reasons || []).join("; ");
    box.append(el("span", { class: "role", textContent: choice.role,
                            dataset: { role: choice.role } }));
    if (reasons) box.append(el("small", { class: "reason", textContent: `why: ${reasons}` }));
  }
}

// -- players with waveforms -------------------------------------------------------------------

function player(url, { big = false, label = "" } = {}) {
  const canvas = el("canvas", { width: big ? 1000 : 460, height: big ? 120 : 56 });
  const audio = el("audio", { controls: true, preload: "metadata" });
  audio.setAttribute("aria-label", label);
  const box = el("div", { class: big ? "player big" : "player" }, canvas, audio);
  drawWaveform(url, canvas, audio).catch((error) => showError(`${label}: ${error.message}`));
  canvas.addEventListener("click", (e) => {
    if (!audio.duration) return;
    const rect = canvas.getBoundingClientRect();
    audio.currentTime = ((e.clientX - rect.left) / rect.width) * audio.duration;
    audio.play();
  });
  return box;
}

async function drawWaveform(url, canvas, audio) {
  // One download feeds both the player (as a blob URL) and the picture of the waveform.
  const response = await authFetch(url);
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  const bytes = await response.arrayBuffer();
  audio.src = URL.createObjectURL(new Blob([bytes], { type: "audio/wav" }));
  // An OfflineAudioContext decodes without needing a sound card (also headless).
  const decoder = new OfflineAudioContext(1, 1, 44100);
  const buffer = await decoder.decodeAudioData(bytes);
  const channels = [...Array(buffer.numberOfChannels).keys()].map((c) => buffer.getChannelData(c));
  const columns = canvas.width;
  const perColumn = Math.max(1, Math.floor(buffer.length / columns));
  const peaks = new Float32Array(columns * 2);
  for (let x = 0; x < columns; x++) {
    let low = 0, high = 0;
    const start = x * perColumn;
    for (let i = start; i < Math.min(start + perColumn, buffer.length); i++) {
      for (const data of channels) {
        if (data[i] < low) low = data[i];
        if (data[i] > high) high = data[i];
      }
    }
    peaks[2 * x] = low;
    peaks[2 * x + 1] = high;
  }
  const paint = () => {
    const ctx = canvas.getContext("2d");
    const mid = canvas.height / 2;
    const style = getComputedStyle(document.documentElement);
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    const played = audio.duration ? (audio.currentTime / audio.duration) * columns : 0;
    for (let x = 0; x < columns; x++) {
      ctx.fillStyle = x < played ? style.getPropertyValue("--ok") : style.getPropertyValue("--wave");
      const top = mid - peaks[2 * x + 1] * mid;
      const height = Math.max(1, (peaks[2 * x + 1] - peaks[2 * x]) * mid);
      ctx.fillRect(x, top, 1, height);
    }
  };
  paint();
  canvas.dataset.drawn = "true";
  canvas.dataset.seconds = buffer.duration.toFixed(2);
  audio.addEventListener("timeupdate", paint);
}

// -- sound effects, instruments, the mix ------------------------------------------------------

async function showEffects(job) {
  const index = await fetchJson(artifactUrl(job.id, "sfx/index.json"));
  $("sfx-list").replaceChildren(...index.effects.map((effect) => el("article",
    { class: "card sfx-card" },
    el("h3", { textContent: effect.name }),
    // The engine's prompt is how it was made, not card copy: folded away.
    el("details", { class: "prompt" }, el("summary", { textContent: "How it was made" }),
       el("p", { textContent: effect.prompt })),
    player(artifactUrl(job.id, effect.file), { label: effect.name }))));
  $("sfx-section").hidden = false;
}

async function showInstruments(job) {
  const [index, view] = await Promise.all([
    fetchJson(artifactUrl(job.id, "instruments/index.json")),
    fetchJson(`/jobs/${encodeURIComponent(job.id)}`),
  ]);
  const names = new Set(view.artifacts.map((a) => a.name));
  const cards = Object.entries(index).map(([role, files]) => {
    const preview = `instruments/${role}/preview.wav`;
    const links = files.filter((f) => /\.(sfz|sf2)$/.test(f)).map((f) =>
      downloadLink(artifactUrl(job.id, `instruments/${role}/${f}`), f));
    const choice = job.roles && job.roles.choices.find((c) => c.role === role);
    return el("article", { class: "card instrument-card", dataset: { role } },
      el("h3", { textContent: role }),
      el("p", { class: "material",
                textContent: choice ? `played by: ${choice.source_name}` : "" }),
      names.has(preview)
        ? player(artifactUrl(job.id, preview), { label: `${role} preview` })
        : el("p", { class: "prompt", textContent: "no preview" }),
      el("div", { class: "file-links" }, ...links));
  });
  $("instrument-list").replaceChildren(...cards);
  $("instruments-section").hidden = false;
}

async function showArrangement(job) {
  const summary = await fetchJson(artifactUrl(job.id, "arrangement.json"));
  const parts = summary.source === "uploaded" ? ["your MIDI"] : [
    summary.style,
    summary.tempo_bpm && `${Math.round(summary.tempo_bpm)} BPM`,
    summary.key && `${summary.key} ${summary.mode || ""}`.trim(),
    summary.meter,
  ].filter(Boolean);
  $("arrangement-summary").textContent = `Arrangement: ${parts.join(" · ")}`;
  showTimeline(summary.sections || []);
}

// One block per section, as wide as it lasts; hovering tells its chords and who plays what.
function showTimeline(sections) {
  const end = sections.length ? sections[sections.length - 1].end_s : 0;
  const blocks = sections.map((section) => {
    const roles = Object.entries(section.parts || {}).map(([role, plays]) => `${role}: ${plays}`);
    const title = [`${section.name}: ${section.start_s.toFixed(1)}–${section.end_s.toFixed(1)} s, `
                   + `${section.bars} bars`, section.chords.join(" "), ...roles].join("\n");
    return el("div", {
      class: "section-block", title,
      dataset: { kind: section.kind },
      style: `flex-grow: ${section.end_s - section.start_s}; `
             + `opacity: ${0.45 + 0.55 * section.energy}`,
    }, el("span", { textContent: section.name }));
  });
  $("section-timeline").replaceChildren(...blocks);
  $("section-timeline").hidden = !end;
}

async function showMix(job) {
  const view = await fetchJson(`/jobs/${encodeURIComponent(job.id)}`);
  const names = new Set(view.artifacts.map((a) => a.name));
  if (!names.has("mix.wav")) throw new Error("mix.wav is missing");
  $("mix-player").replaceChildren(player(artifactUrl(job.id, "mix.wav"),
                                         { big: true, label: "the song" }));
  const bundle = downloadLink(`/jobs/${encodeURIComponent(job.id)}/bundle.zip`,
                              "Download everything (.zip)", { button: true });
  bundle.id = "bundle-link";
  const files = ["mix.flac", "arrangement.mid", "scene.json"].filter((n) => names.has(n))
    .concat([...names].filter((n) => n.startsWith("stems/")).sort());
  $("mix-links").replaceChildren(bundle, ...files.map((n) => downloadLink(artifactUrl(job.id, n),
                                                                          n)));
  $("mix-section").hidden = false;
}

setUpForm();
applyOptionLimits().catch((error) => showError(`Could not read the options: ${error.message}`));
showExamples().catch(() => {});
$("api-key-input").value = localStorage.getItem("imagewave-api-key") || "";
$("api-key-input").addEventListener("change", (e) => {
  localStorage.setItem("imagewave-api-key", e.target.value.trim());
});
const resumeId = new URLSearchParams(location.search).get("job");
if (resumeId) follow(resumeId);
