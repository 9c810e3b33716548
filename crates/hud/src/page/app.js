// trace-sentinel HUD page. Renders only what the engine reports: the state arrives over
// Server-Sent Events (/api/stream), with /api/state polling as the fallback. Every piece
// of log data is written with textContent (never parsed as markup), and control
// characters are shown as visible symbols, so hostile log lines stay text.
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  const SEV = { warning: "WARN", high: "HIGH", critical: "CRIT" };
  const FIXED = ["message.length", "message.tokens", "event.interarrival_s", "message.semantic_novelty"];
  const LABEL = {
    "message.length": "message length",
    "message.tokens": "token count",
    "event.interarrival_s": "inter-arrival (s)",
    "message.semantic_novelty": "semantic novelty",
  };
  const MAX_ROWS = 80;

  let data = null;
  let online = false;
  let transport = "—";
  let lastSeq = 0;
  let meterKeys = "";

  // ---- text safety ---------------------------------------------------------------
  // C0 controls and DEL become Control Pictures (ESC shows as ␛), C1 controls and
  // bidirectional overrides become U+FFFD, so nothing invisible reorders or hides text.
  function visible(s) {
    return String(s == null ? "" : s).replace(
      /[\u0000-\u001f\u007f\u0080-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g,
      (c) => {
        const n = c.charCodeAt(0);
        if (n < 0x20) return String.fromCharCode(0x2400 + n);
        if (n === 0x7f) return "\u2421";
        return "\uFFFD";
      }
    );
  }
  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = visible(text);
    return e;
  }
  function num(x) {
    const n = Number(x);
    return Number.isFinite(n) ? n : 0;
  }
  function fmtInt(x) {
    return Math.round(num(x)).toLocaleString("en-US");
  }

  // ---- transport ------------------------------------------------------------------
  function apply(state) {
    if (!state || typeof state !== "object") return;
    data = state;
    online = true;
    render();
  }
  async function fetchState() {
    try {
      const r = await fetch("/api/state", { cache: "no-store" });
      if (!r.ok) throw new Error("status " + r.status);
      apply(await r.json());
      return true;
    } catch (e) {
      online = false;
      renderStatus();
      return false;
    }
  }
  function poll() {
    transport = "polling";
    fetchState().finally(() => setTimeout(poll, 1000));
  }
  function initialState() {
    const el = $("initial-state");
    try {
      return el ? JSON.parse(el.textContent) : null;
    } catch (e) {
      return null;
    }
  }
  // The push stream is the normal transport. Headless Chromium (automation: --dump-dom,
  // --screenshot with --virtual-time-budget) polls instead: its virtual clock stands still
  // while any request is open, so a stream would keep it from ever finishing. `?transport=`
  // (sse or poll) overrides the choice.
  function wantStream() {
    const forced = new URLSearchParams(location.search).get("transport");
    if (forced === "sse" || forced === "poll") return forced === "sse";
    return !/HeadlessChrome/.test(navigator.userAgent);
  }
  function connect() {
    if (!window.EventSource || !wantStream()) {
      poll();
      return;
    }
    const es = new EventSource("/api/stream");
    es.onopen = () => {
      transport = "live (SSE)";
    };
    es.onmessage = (ev) => {
      try {
        apply(JSON.parse(ev.data));
      } catch (e) {
        console.error(e);
      }
    };
    es.onerror = () => {
      // The browser reconnects by itself; show the gap meanwhile.
      online = false;
      transport = "reconnecting";
      renderStatus();
    };
  }

  // ---- helpers ----------------------------------------------------------------------
  const css = getComputedStyle(document.documentElement);
  const color = (name) => css.getPropertyValue(name).trim() || "#16e6cf";
  const C = {
    teal: color("--teal"),
    bright: color("--teal-bright"),
    dim: color("--teal-dim"),
    warn: color("--warn"),
    high: color("--high"),
    crit: color("--crit"),
  };
  function thr() {
    return num(data && data.threshold) || 3;
  }
  function sigmaClass(s, ready) {
    const t = thr();
    if (!ready) return "idle";
    return s >= t * 2 ? "crit" : s >= t * 1.5 ? "high" : s >= t ? "warn" : "ok";
  }
  function sigmaColor(s) {
    const t = thr();
    return s >= t * 2 ? C.crit : s >= t * 1.5 ? C.high : s >= t ? C.warn : C.teal;
  }
  function canvas(id) {
    const c = $(id);
    const dpr = window.devicePixelRatio || 1;
    const r = c.getBoundingClientRect();
    const w = Math.max(1, r.width), h = Math.max(1, r.height);
    c.width = Math.round(w * dpr);
    c.height = Math.round(h * dpr);
    const ctx = c.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, w, h);
    return { ctx, w, h };
  }

  // ---- widgets ----------------------------------------------------------------------
  function renderStatus() {
    const pill = $("status-pill");
    let text, cls;
    if (!online) {
      text = "OFFLINE";
      cls = "bad";
    } else if (data && data.error) {
      text = "SOURCE ERROR";
      cls = "bad";
    } else if (data && data.seeding) {
      text = "SEEDING…";
      cls = "warn";
    } else if (data && data.running) {
      text = "LIVE";
      cls = "live";
    } else if (data && data.finished) {
      text = "FINISHED";
      cls = "done";
    } else {
      text = "IDLE";
      cls = "warn";
    }
    $("status").textContent = text;
    pill.className = "pill " + cls;
    $("link").textContent = "link: " + transport;
    const banner = $("banner");
    if (!online) {
      banner.textContent =
        "Engine offline — the HUD server is not answering. Reconnecting… " +
        "(start it with: trace-sentinel hud <file> --follow)";
      banner.hidden = false;
    } else if (data && data.error) {
      banner.textContent = "Source stopped: " + visible(data.error);
      banner.hidden = false;
    } else {
      banner.hidden = true;
    }
  }

  function drawGauge() {
    const c = $("gauge");
    const dpr = window.devicePixelRatio || 1;
    const S = 220;
    c.width = S * dpr;
    c.height = S * dpr;
    const ctx = c.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    const threat = Math.max(0, Math.min(100, num(data && data.threat)));
    const col = threat > 66 ? C.crit : threat > 33 ? C.high : C.teal;
    const cx = S / 2, cy = S / 2;
    for (let i = 0; i < 60; i++) {
      const a = (i / 60) * Math.PI * 2 - Math.PI / 2;
      const on = i / 60 < threat / 100;
      const r1 = 104, r2 = on ? 92 : 97;
      ctx.beginPath();
      ctx.moveTo(cx + Math.cos(a) * r1, cy + Math.sin(a) * r1);
      ctx.lineTo(cx + Math.cos(a) * r2, cy + Math.sin(a) * r2);
      ctx.strokeStyle = on ? col : "rgba(22,230,207,0.2)";
      ctx.lineWidth = on ? 3 : 2;
      ctx.stroke();
    }
    ctx.beginPath();
    ctx.arc(cx, cy, 76, 0, Math.PI * 2);
    ctx.strokeStyle = "rgba(22,230,207,0.12)";
    ctx.lineWidth = 10;
    ctx.stroke();
    if (threat > 0.05) {
      ctx.beginPath();
      ctx.arc(cx, cy, 76, -Math.PI / 2, -Math.PI / 2 + (threat / 100) * Math.PI * 2);
      ctx.strokeStyle = col;
      ctx.lineCap = "round";
      ctx.shadowBlur = 14;
      ctx.shadowColor = col;
      ctx.stroke();
      ctx.shadowBlur = 0;
    }
    const big = $("threat");
    big.textContent = String(Math.round(threat));
    big.style.color = col;
    const st = $("threat-state");
    st.textContent = threat > 66 ? "CRITICAL" : threat > 33 ? "ELEVATED" : "NOMINAL";
    st.style.color = col;
  }

  function metricOrder(a, b) {
    const ia = FIXED.indexOf(a), ib = FIXED.indexOf(b);
    if (ia !== ib) return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib);
    return a < b ? -1 : a > b ? 1 : 0;
  }

  function renderMeters() {
    const metrics = (data && data.metrics) || {};
    const keys = Object.keys(metrics).sort(metricOrder);
    const box = $("meters");
    const sig = keys.join("\u0000");
    if (sig !== meterKeys) {
      meterKeys = sig;
      box.replaceChildren();
      if (!keys.length) box.appendChild(el("p", "empty", "no metrics yet"));
      for (const k of keys) {
        const row = el("div", "meter");
        row.dataset.metric = k;
        const meta = el("div", "meta");
        const name = el("span", "name", LABEL[k] || k);
        name.title = visible(k);
        meta.append(name, el("span", "val", "—"));
        const track = el("div", "track");
        track.append(el("div", "fill"), el("div", "mark"));
        row.append(meta, track);
        box.appendChild(row);
      }
    }
    const t = thr();
    for (const row of box.querySelectorAll(".meter")) {
      const m = metrics[row.dataset.metric] || {};
      const s = Math.abs(num(m.sigma));
      const ready = !!m.ready;
      row.className = "meter " + sigmaClass(s, ready);
      row.querySelector(".val").textContent = ready ? s.toFixed(2) + "σ" : "warmup";
      row.querySelector(".fill").style.width = Math.min(100, (s / (2 * t)) * 100) + "%";
    }
  }

  function drawWave() {
    const { ctx, w, h } = canvas("wave");
    const arr = ((data && data.wave) || []).map(num);
    const n = arr.length;
    if (!n) return;
    const max = Math.max(1, ...arr);
    const bw = w / n;
    for (let i = 0; i < n; i++) {
      const v = arr[i] / max;
      const bh = Math.max(2, v * (h - 6));
      ctx.fillStyle = v > 0.8 ? C.crit : "rgba(22,230,207," + (0.3 + v * 0.65).toFixed(3) + ")";
      ctx.fillRect(i * bw + 1, (h - bh) / 2, Math.max(1, bw - 2), bh);
    }
  }

  function drawSeries() {
    const { ctx, w, h } = canvas("series");
    ctx.strokeStyle = "rgba(22,230,207,0.07)";
    ctx.lineWidth = 1;
    for (let i = 1; i < 4; i++) {
      const y = (h / 4) * i;
      ctx.beginPath();
      ctx.moveTo(0, y);
      ctx.lineTo(w, y);
      ctx.stroke();
    }
    const s = ((data && data.series) || []).map(num);
    const n = s.length;
    if (n < 2) return;
    const t = thr();
    // Spikes far past the threshold are clipped so the normal band keeps its detail.
    const max = Math.max(t * 1.5, 6, Math.min(Math.max(...s), t * 5));
    const yOf = (v) => h - Math.min(1, v / max) * (h - 8) - 4;
    ctx.strokeStyle = C.high;
    ctx.setLineDash([6, 5]);
    ctx.beginPath();
    ctx.moveTo(0, yOf(t));
    ctx.lineTo(w, yOf(t));
    ctx.stroke();
    ctx.setLineDash([]);
    ctx.fillStyle = C.high;
    ctx.font = "10px monospace";
    ctx.fillText("threshold " + t.toFixed(1) + "σ", 6, yOf(t) - 4);
    const dx = w / (n - 1);
    ctx.beginPath();
    ctx.moveTo(0, h);
    for (let i = 0; i < n; i++) ctx.lineTo(i * dx, yOf(s[i]));
    ctx.lineTo(w, h);
    ctx.closePath();
    const grad = ctx.createLinearGradient(0, 0, 0, h);
    grad.addColorStop(0, "rgba(22,230,207,0.30)");
    grad.addColorStop(1, "rgba(22,230,207,0)");
    ctx.fillStyle = grad;
    ctx.fill();
    ctx.beginPath();
    for (let i = 0; i < n; i++) {
      const x = i * dx, y = yOf(s[i]);
      if (i) ctx.lineTo(x, y);
      else ctx.moveTo(x, y);
    }
    ctx.strokeStyle = C.bright;
    ctx.lineWidth = 1.6;
    ctx.stroke();
    for (let i = 0; i < n; i++) {
      if (s[i] >= t) {
        ctx.fillStyle = sigmaColor(s[i]);
        ctx.fillRect(i * dx - 1.5, yOf(s[i]) - 1.5, 3, 3);
      }
    }
  }

  function feedRow(r) {
    const sigma = Math.abs(num(r.score));
    const sev = SEV[r.severity] ? r.severity : "warning";
    const li = el("li", sev);
    li.dataset.seq = String(num(r.seq));
    const head = el("div", "head");
    head.append(
      el("span", "sev", SEV[sev] + " · " + sigma.toFixed(1) + "σ"),
      el("span", "metric", r.metric || ""),
      el("span", "src", (r.source || "—") + (r.line ? ":" + num(r.line) : "")),
      el("span", "time", String(r.timestamp || "").slice(11, 19) || "--:--:--")
    );
    const msg = el("div", "msg", r.message || "—");
    msg.title = "click to expand";
    msg.addEventListener("click", () => li.classList.toggle("open"));
    li.append(head, msg);
    if (r.template != null) {
      const lvl = r.level ? " [" + r.level + "]" : "";
      li.append(el("div", "tmpl", "template #" + num(r.template_id) + lvl + ": " + r.template));
    }
    li.append(el("div", "why", r.explanation || ""));
    return li;
  }

  // The template panel: shown with --templates (the state's `templates` is then set).
  function tplRows(list, rows, count) {
    list.replaceChildren();
    for (const t of rows || []) {
      const li = el("li");
      const lvl = t.level ? " [" + t.level + "]" : "";
      const t_ = el("span", "t", "#" + num(t.id) + lvl + " " + t.template);
      t_.title = visible(t.template);
      li.append(el("span", "n", count(t)), t_, el("span", "s", t.source));
      list.append(li);
    }
    if (!list.children.length) list.append(el("li", "empty", "none yet"));
  }
  function renderTemplates() {
    const t = data && data.templates;
    $("templates-panel").hidden = !t;
    if (!t) return;
    $("tpl-count").textContent =
      fmtInt(t.held) + " held · " + fmtInt(t.learned) + " learned · " + fmtInt(t.evicted) + " evicted";
    tplRows($("tpl-new"), t.newest, (r) => fmtInt(r.lines) + "×");
    tplRows($("tpl-top"), t.top, (r) => fmtInt(r.anomalies) + "!");
  }

  // Incremental: add only items newer than the last shown seq, newest on top.
  function renderFeed() {
    const feed = (data && data.feed) || [];
    const list = $("feed");
    const maxSeq = feed.reduce((m, r) => Math.max(m, num(r.seq)), 0);
    if (maxSeq < lastSeq) {
      lastSeq = 0;
      list.replaceChildren();
    }
    const fresh = feed.filter((r) => num(r.seq) > lastSeq).sort((a, b) => num(a.seq) - num(b.seq));
    for (const r of fresh) {
      list.insertBefore(feedRow(r), list.firstChild);
      lastSeq = Math.max(lastSeq, num(r.seq));
    }
    while (list.children.length > MAX_ROWS) list.removeChild(list.lastChild);
    $("feed-empty").hidden = list.children.length > 0;
    $("feed-count").textContent = fmtInt(data && data.anomalies) + " surfaced";
  }

  function renderStats() {
    $("mode").textContent = visible(data.mode || "");
    $("thr").textContent = thr().toFixed(1) + "σ";
    $("s-events").textContent = fmtInt(data.events);
    $("s-anomalies").textContent = fmtInt(data.anomalies);
    $("s-peak").textContent = num(data.peak_sigma).toFixed(1) + "σ";
    $("s-rate").textContent = fmtInt(data.lines_per_second);
    const metrics = Object.values(data.metrics || {});
    $("s-ready").textContent = metrics.filter((m) => m && m.ready).length + "/" + metrics.length;
    $("s-seeded").textContent = fmtInt(data.seeded);
    const bits = ["engine :: " + visible(data.detector || "zscore")];
    bits.push(data.semantic ? "semantic on" : "semantic off");
    bits.push("warmup " + fmtInt(data.warmup));
    bits.push("lag " + num(data.lag_seconds).toFixed(2) + "s");
    $("engine-line").textContent = bits.join(" · ");
  }

  function render() {
    try {
      renderStatus();
      if (data) {
        renderStats();
        renderMeters();
        renderFeed();
        renderTemplates();
      }
      drawGauge();
      drawWave();
      drawSeries();
    } catch (e) {
      console.error(e);
    }
  }

  function tick() {
    $("clock").textContent = new Date().toISOString().slice(11, 19);
  }

  function start() {
    tick();
    setInterval(tick, 1000);
    window.addEventListener("resize", render);
    const first = initialState();
    if (first) apply(first);
    else render();
    connect();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
