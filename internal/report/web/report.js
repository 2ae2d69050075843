// fashionclip report page: renders the JSON data block a page of cards at a
// time. Plain JavaScript, nothing loaded from elsewhere.
"use strict";
(function () {
  const D = JSON.parse(document.getElementById("data").textContent);
  const H = D.h;
  const blocks = {};

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  const fmt = (s) => (s === null || s === undefined || !isFinite(s) ? "–" : s.toFixed(4));
  // Plain formatting: toLocaleString would load locale data first (slow).
  const num = (n) => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ",");

  // A thumbnail is a slice of an inline block of base64 text, or a file in
  // the assets folder. Block 0 (the first page's) comes before this script;
  // blocks 1… follow it and are read once the whole page is parsed, until
  // then their images wait in pending.
  let parsed = document.readyState !== "loading";
  const pending = new Set();
  document.addEventListener("DOMContentLoaded", () => {
    parsed = true;
    for (const img of pending) {
      if (img.isConnected) { img.dataset.src = thumbSrc(JSON.parse(img.dataset.ref)); lazy ? lazy.observe(img) : (img.src = img.dataset.src); }
    }
    pending.clear();
  });

  function thumbSrc(ref) {
    if (ref === null || ref === undefined) return null;
    if (typeof ref === "string") return H.assets + ref;
    if (ref[0] > 0 && !parsed) return undefined;
    let text = blocks[ref[0]];
    if (text === undefined) text = blocks[ref[0]] = document.getElementById("t" + ref[0]).textContent;
    return "data:image/jpeg;base64," + text.substr(ref[1], ref[2]);
  }

  // Links open the original image: absolute paths as file: URLs, relative
  // ones from the folder the command ran in.
  function fileURL(path) {
    const enc = path.split("/").map(encodeURIComponent).join("/");
    return path.startsWith("/") ? "file://" + enc : H.cwd + enc;
  }

  const lazy = "IntersectionObserver" in window ? new IntersectionObserver((entries) => {
    for (const en of entries) {
      if (!en.isIntersecting) continue;
      const img = en.target;
      lazy.unobserve(img);
      img.src = img.dataset.src;
    }
  }, { rootMargin: "400px" }) : null;

  function thumb(ref, alt, href) {
    const a = el("a", "img");
    if (href) { a.href = href; a.target = "_blank"; a.rel = "noopener"; }
    const src = thumbSrc(ref);
    if (src !== null) {
      const img = el("img");
      img.alt = alt;
      if (src === undefined) { img.dataset.ref = JSON.stringify(ref); pending.add(img); }
      else if (lazy && !(ref && ref[0] === 0)) { img.decoding = "async"; img.dataset.src = src; lazy.observe(img); }
      else img.src = src; // block 0: the first page, shown at once
      a.appendChild(img);
    } else {
      a.appendChild(el("span", "noimg", "no thumbnail"));
    }
    return a;
  }

  const baseName = (p) => p.split("/").pop();

  function scoreRow(label, s, lo, hi) {
    const li = el("li");
    li.appendChild(el("span", "l", label));
    const bar = el("span", "bar");
    const fill = el("span");
    fill.style.width = Math.max(0, Math.min(100, ((s - lo) / (hi - lo || 1)) * 100)).toFixed(1) + "%";
    bar.appendChild(fill);
    li.appendChild(bar);
    li.appendChild(el("span", "s", fmt(s)));
    return li;
  }

  if (H.kind === "search") renderSearch(); else if (H.kind === "dupes") renderDupes(); else renderClassify();
  document.getElementById("loading").remove();
  markPainted();

  // reportPainted is the time (performance.now()) at which the first
  // screenful was on screen with its thumbnails decoded.
  function markPainted() {
    requestAnimationFrame(async () => {
      const vis = [...document.querySelectorAll("#grid img")].filter((i) => i.getBoundingClientRect().top < innerHeight);
      await Promise.all(vis.map((i) => (i.complete && i.getAttribute("src") ? null
        : new Promise((r) => { i.addEventListener("load", r, { once: true }); i.addEventListener("error", r, { once: true }); }))));
      requestAnimationFrame(() => requestAnimationFrame(() => { window.reportPainted = performance.now(); }));
    });
  }

  function headerInfo(parts) {
    const top = document.getElementById("top");
    if (H.command) top.appendChild(el("p", "cmd", H.command));
    top.appendChild(el("p", "meta", parts.filter(Boolean).join(" · ") + " · " + H.created.replace("T", " ")));
  }

  // ---- search report: the results grid, best first ----
  function renderSearch() {
    const hits = D.hits;
    headerInfo(["query " + D.query, D.index ? "index " + D.index : "", num(hits.length) + " results"]);
    const grid = el("main", "grid");
    grid.id = "grid";
    const hi = hits.length ? hits[0][3] : 1, lo = Math.min(0, hits.length ? hits[hits.length - 1][3] : 0);
    hits.forEach((h, i) => {
      // [path, text, thumb, score]
      const card = el("article", "card");
      card.dataset.score = h[3];
      if (h[0] !== null) {
        card.dataset.path = h[0];
        card.appendChild(thumb(h[2], h[0], fileURL(h[0])));
        const n = el("div", "name", baseName(h[0]));
        n.title = h[0];
        card.appendChild(n);
      } else {
        card.dataset.text = h[1];
        card.appendChild(el("blockquote", "text", h[1]));
      }
      const top = el("div", "top");
      top.appendChild(el("b", "", "#" + (i + 1)));
      top.appendChild(el("span", "", fmt(h[3])));
      card.appendChild(top);
      const ol = el("ol", "scores");
      ol.appendChild(scoreRow("cosine", h[3], lo, hi));
      card.appendChild(ol);
      grid.appendChild(card);
    });
    document.body.appendChild(grid);
    window.reportReady = true;
  }

  // ---- duplicates report: a section per group, exact copies first as given ----
  function renderDupes() {
    const G = D.groups; // [group, exact, max_distance, [[path, thumb, score], ...]]
    const exact = G.filter((g) => g[1]).length;
    const members = G.reduce((n, g) => n + g[3].length, 0);
    headerInfo(["index " + D.index, "threshold " + D.threshold, num(exact) + " exact groups",
      num(G.length - exact) + " near-duplicate groups", num(members) + " images"]);
    const main = el("main");
    main.id = "grid";
    for (const g of G) {
      const sec = el("section", "dupes");
      sec.dataset.group = g[0];
      sec.dataset.exact = g[1];
      sec.appendChild(el("h2", "", "Group " + g[0] + " · " + (g[1] ? "exact copies" : "near duplicates, max distance " + fmt(g[2])) +
        " · " + g[3].length + " images"));
      const row = el("div", "grid");
      for (const m of g[3]) {
        const card = el("article", "card");
        card.dataset.path = m[0];
        card.dataset.score = m[2];
        card.appendChild(thumb(m[1], m[0], fileURL(m[0])));
        const n = el("div", "name", baseName(m[0]));
        n.title = m[0];
        card.appendChild(n);
        const top = el("div", "top");
        top.appendChild(el("span", "", "cosine"));
        top.appendChild(el("span", "", fmt(m[2])));
        card.appendChild(top);
        row.appendChild(card);
      }
      sec.appendChild(row);
      main.appendChild(sec);
    }
    document.body.appendChild(main);
    window.reportReady = true;
  }

  // ---- classify report ----
  function renderClassify() {
    const G = D.groups;
    const items = D.items;
    const failed = D.failed;
    // tops[g][i]: top label index of item i in group g (-1: none), and its score.
    const tops = G.map((_, g) => {
      const lab = new Int32Array(items.length), sc = new Float64Array(items.length);
      for (let i = 0; i < items.length; i++) {
        const s = items[i][2 + g];
        lab[i] = s && s.length ? s[0] : -1;
        sc[i] = s && s.length && s[1] !== null ? s[1] : -Infinity;
      }
      return { lab, sc };
    });
    let lo = 0, hi = 1;
    if (H.raw) {
      lo = Infinity; hi = -Infinity;
      for (const t of tops) for (const s of t.sc) if (isFinite(s)) { lo = Math.min(lo, s); hi = Math.max(hi, s); }
      if (!isFinite(lo)) { lo = 0; hi = 1; }
      if (hi - lo < 1e-6) hi = lo + 1e-6;
    }
    const st = { g: 0, tab: -2, filter: "", min: lo, sort: "score", page: 0 };
    const order = {}; // cached item orders per group and sort

    headerInfo([num(items.length) + " images", failed.length ? num(failed.length) + " failed" : "",
      G.length > 1 ? G.length + " label groups" : ""]);

    // Controls.
    const bar = el("nav", "controls");
    let groupSel = null;
    if (G.length > 1) {
      groupSel = el("select");
      groupSel.id = "group";
      G.forEach((g, i) => { const o = el("option", "", g.name || "labels"); o.value = i; groupSel.appendChild(o); });
      groupSel.addEventListener("change", () => { st.g = +groupSel.value; st.tab = -2; st.page = 0; summary(); update(); });
      const l = el("label", "", "Group ");
      l.appendChild(groupSel);
      bar.appendChild(l);
    }
    const filter = el("input");
    filter.id = "filter";
    filter.type = "search";
    filter.placeholder = "Filter labels…";
    filter.setAttribute("aria-label", "Filter labels");
    filter.addEventListener("input", () => { st.filter = filter.value.trim().toLowerCase(); st.page = 0; update(); });
    bar.appendChild(filter);
    const minL = el("label", "minscore", "Min score ");
    const slider = el("input");
    slider.id = "minscore";
    slider.type = "range";
    slider.min = lo; slider.max = hi; slider.step = (hi - lo) / 100; slider.value = lo;
    const minOut = el("output", "", fmt(lo));
    slider.addEventListener("input", () => { st.min = +slider.value; minOut.textContent = fmt(st.min); st.page = 0; update(); });
    minL.append(slider, minOut);
    bar.appendChild(minL);
    const sortSel = el("select");
    sortSel.id = "sort";
    for (const [v, t] of [["score", "best score first"], ["path", "by path"], ["input", "input order"]]) {
      const o = el("option", "", t); o.value = v; sortSel.appendChild(o);
    }
    sortSel.addEventListener("change", () => { st.sort = sortSel.value; st.page = 0; update(); });
    const sortL = el("label", "", "Sort ");
    sortL.appendChild(sortSel);
    bar.appendChild(sortL);

    const sum = el("section", "summary");
    sum.id = "summary";
    const tabs = el("div", "tabs");
    tabs.id = "tabs";
    tabs.setAttribute("role", "tablist");
    const info = el("p", "count");
    info.id = "count";
    const grid = el("main", "grid");
    grid.id = "grid";
    const pager = el("nav", "pager");
    pager.id = "pager";
    document.body.append(sum, bar, tabs, info, grid, pager);
    if (failed.length) document.body.appendChild(failedList());

    function labelName(g, l) { return l < 0 ? "(none)" : G[g].labels[l]; }

    function summary() {
      sum.textContent = "";
      const g = st.g, t = tops[g];
      const counts = new Array(G[g].labels.length).fill(0);
      let none = 0;
      for (let i = 0; i < items.length; i++) { if (t.lab[i] >= 0) counts[t.lab[i]]++; else none++; }
      const box = el("div", "counts");
      box.appendChild(el("h2", "", "Top label" + (G[g].name ? " · " + G[g].name : "")));
      const most = Math.max(1, ...counts, none);
      const rows = counts.map((n, l) => [l, n]).sort((a, b) => b[1] - a[1] || a[0] - b[0]);
      if (none) rows.push([-1, none]);
      const ul = el("ul");
      for (const [l, n] of rows) {
        const li = el("li");
        const b = el("button", "lab", labelName(g, l));
        b.type = "button";
        b.addEventListener("click", () => { st.tab = l; st.page = 0; update(); });
        const barEl = el("span", "bar");
        const fill = el("span");
        fill.style.width = ((n / most) * 100).toFixed(1) + "%";
        barEl.appendChild(fill);
        li.append(b, barEl, el("span", "n", num(n)));
        ul.appendChild(li);
      }
      box.appendChild(ul);
      sum.appendChild(box);
      // Histogram of top scores.
      const bins = 20, hist = new Array(bins).fill(0);
      for (const s of t.sc) if (isFinite(s)) hist[Math.min(bins - 1, Math.max(0, Math.floor(((s - lo) / (hi - lo)) * bins)))]++;
      const hbox = el("div", "hist");
      hbox.appendChild(el("h2", "", "Top score" + (H.raw ? " (cosine)" : "")));
      const cols = el("div", "cols");
      const top = Math.max(1, ...hist);
      hist.forEach((n, b) => {
        const c = el("span");
        c.style.height = ((n / top) * 100).toFixed(1) + "%";
        c.title = fmt(lo + (b * (hi - lo)) / bins) + "–" + fmt(lo + ((b + 1) * (hi - lo)) / bins) + ": " + num(n);
        cols.appendChild(c);
      });
      hbox.appendChild(cols);
      const axis = el("div", "axis");
      axis.append(el("span", "", fmt(lo)), el("span", "", fmt(hi)));
      hbox.appendChild(axis);
      sum.appendChild(hbox);
    }

    function sorted() {
      const key = st.g + ":" + st.sort;
      if (order[key]) return order[key];
      const ids = Array.from(items.keys());
      const t = tops[st.g];
      if (st.sort === "score") ids.sort((a, b) => t.sc[b] - t.sc[a] || a - b);
      else if (st.sort === "path") ids.sort((a, b) => (items[a][0] < items[b][0] ? -1 : items[a][0] > items[b][0] ? 1 : 0));
      return (order[key] = ids);
    }

    function update() {
      const g = st.g, t = tops[g], f = st.filter;
      const labels = G[g].labels;
      const match = labels.map((l) => !f || l.toLowerCase().includes(f));
      const noneMatch = !f || "(none)".includes(f);
      const ok = (l) => (l < 0 ? noneMatch : match[l]);
      // Counts per tab under the filter and the minimum score.
      const counts = new Array(labels.length).fill(0);
      let none = 0, all = 0;
      for (let i = 0; i < items.length; i++) {
        if (t.sc[i] < st.min && t.lab[i] >= 0) continue;
        const l = t.lab[i];
        if (!ok(l)) continue;
        all++;
        if (l >= 0) counts[l]++; else none++;
      }
      tabs.textContent = "";
      const tab = (l, text, n) => {
        const b = el("button", "tab", text + " ");
        b.type = "button";
        b.setAttribute("role", "tab");
        b.dataset.label = l < -1 ? "" : labelName(g, l);
        b.setAttribute("aria-selected", st.tab === l ? "true" : "false");
        b.appendChild(el("span", "n", num(n)));
        b.addEventListener("click", () => { st.tab = l; st.page = 0; update(); });
        tabs.appendChild(b);
      };
      tab(-2, "All", all);
      const byCount = labels.map((_, l) => l).filter((l) => match[l]).sort((a, b) => counts[b] - counts[a] || a - b);
      for (const l of byCount) tab(l, labels[l], counts[l]);
      if (none && noneMatch) tab(-1, "(none)", none);

      const shown = [];
      for (const i of sorted()) {
        const l = t.lab[i];
        if (st.tab !== -2 && l !== st.tab) continue;
        if (!ok(l)) continue;
        if (l >= 0 && t.sc[i] < st.min) continue;
        shown.push(i);
      }
      const pages = Math.max(1, Math.ceil(shown.length / H.pageSize));
      st.page = Math.min(st.page, pages - 1);
      const from = st.page * H.pageSize, to = Math.min(shown.length, from + H.pageSize);
      info.textContent = shown.length ? "Showing " + num(from + 1) + "–" + num(to) + " of " + num(shown.length) : "Nothing matches.";
      grid.textContent = "";
      pagerFor(pages);
      // The first screenful now, the rest of the page in later tasks, so
      // the view answers at once.
      const job = ++renderJob;
      let j = from;
      const chunk = (n) => {
        if (job !== renderJob) return;
        const frag = document.createDocumentFragment();
        for (const end = Math.min(to, j + n); j < end; j++) frag.appendChild(card(shown[j]));
        grid.appendChild(frag);
        // The rest after the next frame, so that frame shows the first ones.
        if (j < to) requestAnimationFrame(() => setTimeout(() => chunk(42), 0));
        else delete grid.dataset.busy;
      };
      grid.dataset.busy = "1";
      chunk(30);
    }
    let renderJob = 0;

    function card(i) {
      const it = items[i], g = st.g;
      const c = el("article", "card");
      const s = it[2 + g];
      const topL = s && s.length ? s[0] : -1;
      c.dataset.path = it[0];
      c.dataset.label = labelName(g, topL);
      c.appendChild(thumb(it[1], it[0], fileURL(it[0])));
      const n = el("div", "name", baseName(it[0]));
      n.title = it[0];
      c.appendChild(n);
      const top = el("div", "top");
      top.appendChild(el("b", "", labelName(g, topL)));
      if (topL >= 0) top.appendChild(el("span", "", fmt(s[1])));
      c.appendChild(top);
      // The best scores, and the others on demand (built when opened).
      const shownRows = 3, total = s ? s.length / 2 : 0;
      const keep = total > shownRows + 1 ? shownRows : total;
      const ol = el("ol", "scores");
      for (let k = 0; k < 2 * keep; k += 2) ol.appendChild(scoreRow(G[g].labels[s[k]], s[k + 1], lo, hi));
      c.appendChild(ol);
      if (keep < total) {
        const more = el("details");
        more.appendChild(el("summary", "", "+" + (total - keep) + " more"));
        more.addEventListener("toggle", () => {
          if (!more.open || more.children.length > 1) return;
          const rest = el("ol", "scores");
          for (let k = 2 * keep; k < s.length; k += 2) rest.appendChild(scoreRow(G[g].labels[s[k]], s[k + 1], lo, hi));
          more.appendChild(rest);
        });
        c.appendChild(more);
      }
      // The other groups' top labels.
      for (let og = 0; og < G.length; og++) {
        if (og === g) continue;
        const os = it[2 + og];
        const line = el("div", "other");
        line.appendChild(el("span", "g", (G[og].name || "labels") + ": "));
        line.appendChild(el("span", "", os && os.length ? G[og].labels[os[0]] + " " + fmt(os[1]) : "(none)"));
        c.appendChild(line);
      }
      return c;
    }

    function pagerFor(pages) {
      pager.textContent = "";
      if (pages < 2) return;
      const go = (p) => { st.page = p; update(); window.scrollTo(0, tabs.offsetTop); };
      const prev = el("button", "", "‹ Previous");
      prev.disabled = st.page === 0;
      prev.addEventListener("click", () => go(st.page - 1));
      const sel = el("select");
      sel.id = "page";
      for (let p = 0; p < pages; p++) { const o = el("option", "", "Page " + (p + 1) + " of " + pages); o.value = p; sel.appendChild(o); }
      sel.value = st.page;
      sel.addEventListener("change", () => go(+sel.value));
      const next = el("button", "", "Next ›");
      next.disabled = st.page === pages - 1;
      next.addEventListener("click", () => go(st.page + 1));
      pager.append(prev, sel, next);
    }

    function failedList() {
      const d = el("details", "failed");
      d.id = "failed";
      d.open = failed.length <= 20;
      d.appendChild(el("summary", "", num(failed.length) + " failed input" + (failed.length === 1 ? "" : "s")));
      const tbl = el("table");
      for (const f of failed) {
        const tr = el("tr");
        const p = el("td", "path");
        const a = el("a", "", f[0]);
        a.href = fileURL(f[0]);
        p.appendChild(a);
        tr.append(p, el("td", "err", f[1]));
        tbl.appendChild(tr);
      }
      d.appendChild(tbl);
      return d;
    }

    document.addEventListener("keydown", (ev) => {
      if (ev.key === "/" && document.activeElement !== filter) { ev.preventDefault(); filter.focus(); }
    });
    summary();
    update();
    window.reportReady = true;
  }
})();
