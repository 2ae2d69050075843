// fashionclip's search page: plain JavaScript over the server's /v1 API.
// Thumbnails are fetched with the API key (an <img> cannot send one) and
// shown through blob: URLs.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { key: sessionStorage.getItem("fashionclip-key") || "", blobs: [], seq: 0, current: null };

function headers(extra) {
  const h = Object.assign({}, extra);
  if (state.key) h.Authorization = "Bearer " + state.key;
  return h;
}

// api calls the server; on 401 it asks for the key and tries again.
async function api(path, body) {
  for (;;) {
    const init = body === undefined ? { headers: headers() }
      : { method: "POST", headers: headers({ "Content-Type": "application/json" }), body: JSON.stringify(body) };
    const resp = await fetch(path, init);
    if (resp.status === 401) {
      await askKey(state.key ? "That key was refused." : "");
      continue;
    }
    const data = await resp.json().catch(() => ({}));
    if (!resp.ok) throw new Error((data.error && data.error.message) || resp.status + " " + resp.statusText);
    return data;
  }
}

function askKey(message) {
  return new Promise((resolve) => {
    const dlg = $("keydlg");
    $("keyerr").textContent = message;
    $("key").value = "";
    $("keyform").onsubmit = (ev) => {
      ev.preventDefault();
      state.key = $("key").value.trim();
      sessionStorage.setItem("fashionclip-key", state.key);
      dlg.close();
      resolve();
    };
    dlg.showModal();
  });
}

function status(text, isError) {
  const s = $("status");
  s.textContent = text;
  s.className = isError ? "err" : "";
}

async function loadIndexes() {
  try {
    const list = await api("v1/indexes");
    const sel = $("index");
    for (const ix of list.data) {
      const o = document.createElement("option");
      o.value = ix.name;
      o.textContent = ix.name + " (" + ix.items.toLocaleString() + ")";
      sel.appendChild(o);
    }
    const items = list.data.reduce((n, ix) => n + ix.items, 0);
    status(list.data.length + (list.data.length === 1 ? " index, " : " indexes, ") + items.toLocaleString() + " items");
  } catch (e) {
    status(e.message, true);
  }
}

function options() {
  const body = { k: parseInt($("k").value, 10) || 20 };
  const min = $("min").value.trim();
  if (min !== "") body.min_score = parseFloat(min);
  if ($("kind").value) body.kind = $("kind").value;
  if ($("index").value) body.index = $("index").value;
  return body;
}

// search runs one request; a newer search makes older answers moot.
async function search(what, label) {
  const body = Object.assign(options(), what);
  const seq = ++state.seq;
  status("Searching…");
  const t0 = performance.now();
  try {
    const res = await api("v1/search", body);
    if (seq !== state.seq) return;
    const ms = Math.round(performance.now() - t0);
    render(res.data);
    status(res.data.length + " result" + (res.data.length === 1 ? "" : "s") + " for " + label + " in " + ms + " ms");
  } catch (e) {
    if (seq === state.seq) status(e.message, true);
  }
}

function showQuery(text, imgURL) {
  $("querybox").hidden = !imgURL;
  if (imgURL) $("queryimg").src = imgURL;
  $("querytext").textContent = text;
}

function render(results) {
  for (const u of state.blobs) URL.revokeObjectURL(u);
  state.blobs = [];
  const grid = $("results");
  grid.textContent = "";
  const multi = $("index").options.length > 2;
  results.forEach((r, i) => {
    const card = document.createElement("article");
    card.className = "card " + r.kind;
    card.dataset.id = r.id;
    card.dataset.score = r.score;
    if (r.kind === "image") {
      card.dataset.path = r.path;
      const img = document.createElement("img");
      img.alt = r.path;
      img.tabIndex = 0;
      img.addEventListener("click", () => openViewer(r));
      img.addEventListener("keydown", (ev) => { if (ev.key === "Enter") openViewer(r); });
      card.appendChild(img);
      loadThumb(img, r.id, 256);
    } else {
      card.dataset.text = r.text;
      const t = document.createElement("blockquote");
      t.textContent = r.text;
      card.appendChild(t);
    }
    const meta = document.createElement("div");
    meta.className = "meta";
    const rank = document.createElement("span");
    rank.className = "rank";
    rank.textContent = "#" + (i + 1);
    const score = document.createElement("span");
    score.className = "score";
    score.textContent = r.score.toFixed(4);
    meta.append(rank, score);
    if (multi) {
      const ix = document.createElement("span");
      ix.className = "ix";
      ix.textContent = r.index;
      meta.appendChild(ix);
    }
    card.appendChild(meta);
    if (r.kind === "image") {
      const name = document.createElement("div");
      name.className = "path";
      name.textContent = r.path.split("/").pop();
      name.title = r.path;
      card.appendChild(name);
    }
    const like = document.createElement("button");
    like.type = "button";
    like.className = "like";
    like.textContent = "More like this";
    like.addEventListener("click", () => moreLike(r));
    card.appendChild(like);
    grid.appendChild(card);
  });
}

// Thumbnails load a few at a time so the first rows come first.
const thumbQueue = [];
let thumbsActive = 0;

function loadThumb(img, id, size) {
  thumbQueue.push({ img, id, size, seq: state.seq });
  pumpThumbs();
}

function pumpThumbs() {
  while (thumbsActive < 6 && thumbQueue.length) {
    const job = thumbQueue.shift();
    if (job.seq !== state.seq) continue;
    thumbsActive++;
    fetchThumb(job.id, job.size).then((url) => {
      if (job.seq === state.seq) job.img.src = url;
      else URL.revokeObjectURL(url);
    }).catch(() => {
      job.img.classList.add("broken");
      job.img.alt = "no thumbnail: " + job.img.alt;
    }).finally(() => { thumbsActive--; pumpThumbs(); });
  }
}

async function fetchThumb(id, size) {
  const resp = await fetch("v1/thumbnails/" + encodeURIComponent(id) + "?size=" + size, { headers: headers() });
  if (!resp.ok) throw new Error(resp.status);
  const url = URL.createObjectURL(await resp.blob());
  state.blobs.push(url);
  return url;
}

async function openViewer(r) {
  state.current = r;
  $("bigpath").textContent = r.path;
  $("bigscore").textContent = "score " + r.score.toFixed(4);
  $("big").removeAttribute("src");
  $("big").alt = r.path;
  $("viewer").showModal();
  try {
    $("big").src = await fetchThumb(r.id, 1024);
  } catch (e) {
    $("big").alt = "cannot show " + r.path;
  }
}

function moreLike(r) {
  if ($("viewer").open) $("viewer").close();
  $("q").value = "";
  showQuery("More like " + (r.path || JSON.stringify(r.text)), null);
  history.replaceState(null, "", "?like=" + encodeURIComponent(r.id));
  search({ id: r.id }, "more like " + (r.path || "this text"));
}

function searchImage(file) {
  if (!file || !file.type.startsWith("image/")) {
    status("Not an image: " + (file ? file.name : "nothing dropped"), true);
    return;
  }
  const reader = new FileReader();
  reader.onload = () => {
    showQuery(file.name, reader.result);
    $("q").value = "";
    history.replaceState(null, "", location.pathname);
    search({ image: reader.result }, file.name);
  };
  reader.onerror = () => status("Cannot read " + file.name, true);
  reader.readAsDataURL(file);
}

function init() {
  $("search").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const q = $("q").value.trim();
    if (!q) return;
    showQuery("", null);
    history.replaceState(null, "", "?q=" + encodeURIComponent(q));
    search({ query: q }, JSON.stringify(q));
  });
  $("file").addEventListener("change", (ev) => { searchImage(ev.target.files[0]); ev.target.value = ""; });
  $("biglike").addEventListener("click", () => moreLike(state.current));
  $("bigclose").addEventListener("click", () => $("viewer").close());
  let depth = 0;
  document.addEventListener("dragenter", (ev) => { ev.preventDefault(); depth++; $("drop").hidden = false; });
  document.addEventListener("dragleave", () => { if (--depth <= 0) { depth = 0; $("drop").hidden = true; } });
  document.addEventListener("dragover", (ev) => ev.preventDefault());
  document.addEventListener("drop", (ev) => {
    ev.preventDefault();
    depth = 0;
    $("drop").hidden = true;
    searchImage(ev.dataTransfer.files[0]);
  });
  loadIndexes().then(() => {
    const p = new URLSearchParams(location.search);
    if (p.get("q")) {
      $("q").value = p.get("q");
      search({ query: p.get("q") }, JSON.stringify(p.get("q")));
    } else if (p.get("like")) {
      search({ id: p.get("like") }, "more like this");
    }
  });
}

init();
