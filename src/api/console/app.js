/* sCRM console: one page over the JSON API (/v1). Plain JavaScript, no build step, no external resources.
 *
 * Security: everything that comes from the API (post texts, names, handles, topics, keys) is untrusted.
 * The DOM is built with createElement / createElementNS and textContent only; innerHTML is never used.
 */
(function () {
  "use strict";

  const KEY_STORAGE = "scrm.console.apiKey";
  const STATUS_EVERY_MS = 3000;
  const ANALYTICS_EVERY_MS = 5000;
  const MAX_ALERTS = 200;
  const TIMELINE_PAGE = 20; // timeline items per page in the profile view (older pages on request)
  const SVG_NS = "http://www.w3.org/2000/svg";
  const SENTIMENTS = ["negative", "neutral", "positive"];
  const SENTIMENT_COLORS = { negative: "#e5484d", neutral: "#8b95a7", positive: "#2f9e6a" };
  const VOLUME_COLOR = "#3e63dd";
  const TREND_COLORS = ["#3e63dd", "#e5484d", "#2f9e6a", "#f76b15", "#8e4ec6"];
  const TREND_TOPICS = 5; // the topic trend shows the window's top topics

  const state = {
    key: null,
    locked: true, // true while the key form is shown: pollers pause
    source: null, // EventSource of the live alert stream
    alerts: new Map(), // alert_id -> <li>
    openProfileId: null,
    analyticsSignature: null, // what the charts show now
  };

  const $ = (id) => document.getElementById(id);

  /* ------------------------------------------------------------------ DOM helpers (text only) */

  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    if (attrs) {
      for (const [name, value] of Object.entries(attrs)) {
        if (value === undefined || value === null || value === false) continue;
        if (name === "text") node.textContent = String(value);
        else if (name === "className") node.className = value;
        else if (name === "title") node.title = String(value);
        else node.setAttribute(name, value === true ? "" : String(value));
      }
    }
    for (const child of children || []) {
      if (child === null || child === undefined || child === false) continue;
      node.appendChild(typeof child === "string" || typeof child === "number" ? document.createTextNode(String(child)) : child);
    }
    return node;
  }

  /** A small horizontal bar filled to ``value`` out of 100. */
  function meter(value, title) {
    return el("span", { className: "meter", title: title }, [
      el("span", { className: "meter-fill", style: `width:${Math.max(0, Math.min(100, value))}%` }),
    ]);
  }

  function svg(tag, attrs, parent) {
    const node = document.createElementNS(SVG_NS, tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value !== undefined && value !== null) node.setAttribute(name, String(value));
    }
    if (parent) parent.appendChild(node);
    return node;
  }

  function svgText(parent, x, y, text, attrs) {
    const node = svg("text", Object.assign({ x: x, y: y }, attrs || {}), parent);
    node.textContent = String(text);
    return node;
  }

  function tip(node, text) {
    const title = svg("title", {}, node);
    title.textContent = String(text);
    return node;
  }

  function show(node, visible) {
    node.hidden = !visible;
  }

  function safeHttpUrl(value) {
    if (typeof value !== "string" || !value) return null;
    try {
      const url = new URL(value, window.location.href);
      return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
    } catch (_) {
      return null;
    }
  }

  function externalLink(href, label) {
    const url = safeHttpUrl(href);
    if (!url) return null;
    const a = el("a", { href: url, target: "_blank", rel: "noopener noreferrer nofollow", className: "ext" });
    a.textContent = label;
    return a;
  }

  /* ------------------------------------------------------------------ formatting */

  const numberFormat = new Intl.NumberFormat("en-US");
  const fmtInt = (n) => (typeof n === "number" && isFinite(n) ? numberFormat.format(Math.round(n)) : "–");
  const fmtFixed = (n, digits) => (typeof n === "number" && isFinite(n) ? n.toFixed(digits) : "–");
  const fmtSigned = (n) => (typeof n === "number" && isFinite(n) ? (n > 0 ? "+" : "") + n.toFixed(2) : "–");
  const pct = (part, whole) => (whole > 0 ? Math.round((100 * part) / whole) + "%" : "0%");

  function parseTime(value) {
    if (value instanceof Date) return value;
    if (typeof value !== "string") return new Date(NaN);
    // ClickHouse buckets arrive without a zone; they are UTC.
    const hasZone = /(Z|[+-]\d\d:?\d\d)$/.test(value);
    return new Date(hasZone ? value : value + "Z");
  }

  function fmtDateTime(value) {
    const d = parseTime(value);
    if (isNaN(d)) return "–";
    return d.toLocaleString("en-GB", { year: "numeric", month: "short", day: "2-digit", hour: "2-digit", minute: "2-digit" });
  }

  function fmtClock(d) {
    return d.toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit" });
  }

  function fmtDay(d) {
    return d.toLocaleDateString("en-GB", { month: "short", day: "2-digit" });
  }

  function truncate(text, max) {
    const s = String(text);
    return s.length > max ? s.slice(0, max - 1) + "…" : s;
  }

  function sentimentClass(score) {
    if (typeof score !== "number") return "";
    if (score <= -0.15) return "neg";
    if (score >= 0.15) return "pos";
    return "neu";
  }

  /* ------------------------------------------------------------------ API and key */

  class AuthError extends Error {}
  class HttpError extends Error {
    constructor(status, detail) {
      super(`HTTP ${status}${detail ? ": " + detail : ""}`);
      this.status = status;
      this.detail = detail;
    }
  }

  async function api(path, options) {
    if (!state.key || state.locked) throw new AuthError("no key");
    const method = (options && options.method) || "GET";
    const usedKey = state.key;
    const headers = { "X-API-Key": usedKey, Accept: "application/json" };
    let body;
    if (options && options.body !== undefined) {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(options.body);
    }
    const response = await fetch(path, { method: method, headers: headers, body: body, cache: "no-store" });
    if (response.status === 401) {
      // a late answer to a key already replaced (the person typed a new one meanwhile) locks nothing
      if (state.key === usedKey) requireKey("That API key was not accepted. Enter a valid key.");
      throw new AuthError("unauthorized");
    }
    if (response.status === 204) return null; // no content: a decision recorded, nothing to show
    if (!response.ok) {
      let detail = "";
      try {
        const body = await response.json();
        detail = typeof body.detail === "string" ? body.detail : "";
      } catch (_) {
        /* not JSON */
      }
      throw new HttpError(response.status, detail);
    }
    return response.json();
  }

  function storeKey(key) {
    state.key = key;
    try {
      if (key) window.localStorage.setItem(KEY_STORAGE, key);
      else window.localStorage.removeItem(KEY_STORAGE);
    } catch (_) {
      /* storage unavailable: keep the key in memory only */
    }
  }

  /** A key handed over in the link: `#api_key=...` (a fragment never reaches the server); `?api_key=` from
   * older links is taken too. Either is removed from the address bar at once and kept in localStorage. */
  function initialKey() {
    const url = new URL(window.location.href);
    const fragment = new URLSearchParams(url.hash.replace(/^#/, ""));
    const fromUrl = fragment.get("api_key") ?? url.searchParams.get("api_key");
    if (fromUrl !== null) {
      url.searchParams.delete("api_key");
      fragment.delete("api_key");
      const rest = fragment.toString();
      window.history.replaceState(null, "", url.pathname + url.search + (rest ? "#" + rest : ""));
      if (fromUrl) {
        storeKey(fromUrl);
        return fromUrl;
      }
    }
    try {
      return window.localStorage.getItem(KEY_STORAGE);
    } catch (_) {
      return null;
    }
  }

  function requireKey(message) {
    const wasLocked = state.locked;
    state.locked = true;
    storeKey(null);
    closeStream();
    $("key-message").textContent = message || "Enter the API key you were given.";
    show($("key-overlay"), true);
    if (!wasLocked || document.activeElement !== $("key-input")) $("key-input").focus();
  }

  function unlock(key) {
    storeKey(key);
    state.locked = false;
    show($("key-overlay"), false);
    $("key-input").value = "";
    refreshStatus();
    refreshAnalytics();
    openStream();
    loadAlerts();
    searchProfiles();
    loadSegments();
    loadBuilder();
    loadReview();
  }

  /* ------------------------------------------------------------------ pollers */

  function every(ms, task) {
    let running = false;
    const tick = async () => {
      if (!running && !state.locked && document.visibilityState !== "hidden") {
        running = true;
        try {
          await task();
        } catch (_) {
          /* each task shows its own errors */
        } finally {
          running = false;
        }
      }
    };
    window.setInterval(tick, ms);
  }

  /* ------------------------------------------------------------------ status header */

  async function refreshStatus() {
    try {
      const status = await api("/v1/status");
      const pipeline = status.pipeline || null;
      $("stat-runtime").textContent = status.runtime || "–";
      $("stat-processed").textContent = pipeline ? fmtInt(pipeline.processed) : "–";
      $("stat-rate").textContent = pipeline ? fmtFixed(pipeline.events_per_second, 1) : "–";
      $("stat-dead").textContent = fmtInt(status.dead_letters);
      $("stat-dead").classList.toggle("warn", status.dead_letters > 0);
      $("status").classList.remove("stale");
      $("status").title = pipeline ? "" : "No pipeline counters: no Kafka worker has reported in the last 30 s";
    } catch (error) {
      if (error instanceof AuthError) return;
      $("status").classList.add("stale");
      $("status").title = error instanceof HttpError && error.status === 403 ? "Your key may not read the status" : "Status unavailable";
    }
    await refreshConnectors();
  }

  /** The connectors' health in the status bar (webhooks and pollers): how many are live, how many need
   * attention (failing, refused, stale); the tooltip lists each one with its state and counts. */
  async function refreshConnectors() {
    const node = $("stat-connectors");
    try {
      const connectors = await api("/v1/connectors");
      if (!connectors.length) {
        node.textContent = "none";
        node.title = "No connectors configured (scrm serve --connectors FILE)";
        node.classList.remove("warn");
        return;
      }
      const troubled = connectors.filter((c) => ["failing", "refused", "stale"].includes(c.state));
      const live = connectors.filter((c) => c.state === "live");
      node.textContent = `${live.length}/${connectors.length} live` + (troubled.length ? ` · ${troubled.length} failing` : "");
      node.classList.toggle("warn", troubled.length > 0);
      node.title = connectors.map(describeConnector).join("\n");
    } catch (error) {
      if (error instanceof AuthError) return;
      node.textContent = "–";
      node.title = error instanceof HttpError && error.status === 403 ? "Your key may not read connector health" : "Connector health unavailable";
    }
  }

  function describeConnector(c) {
    const last = c.last_error ? ` (last: ${c.last_error})` : "";
    if (c.kind === "poll") {
      const p = c.poll;
      if (!p) return `${c.name} (${c.platform} poller): ${c.state}, not polled yet`;
      return `${c.name} (${c.platform} poller): ${c.state}, ${fmtInt(p.events)} events in ${fmtInt(p.rounds)} rounds, ` +
        `last ${p.last_round_at ? fmtDateTime(p.last_round_at) : "never"}; ${fmtInt(p.retries)} retries, ` +
        `${fmtInt(p.waits)} rate-limit waits, ${fmtInt(p.dead_letters)} dead letters` +
        (p.last_error ? ` (last error: ${p.last_error})` : "");
    }
    return `${c.name} (${c.platform}): ${c.state}, ${fmtInt(c.deliveries_last_minute)}/min, ${fmtInt(c.events)} events, ` +
      `last ${c.last_delivery_at ? fmtDateTime(c.last_delivery_at) : "never"}; ` +
      `${fmtInt(c.signature_failures)} bad signatures, ${fmtInt(c.dead_letters)} dead letters, ${fmtInt(c.errors)} errors` + last;
  }

  /* ------------------------------------------------------------------ charts */

  const chartRenderers = new Map(); // container -> {render, width}
  const resizeObserver =
    "ResizeObserver" in window
      ? new ResizeObserver((entries) => {
          for (const entry of entries) {
            const info = chartRenderers.get(entry.target);
            if (!info) continue;
            const width = Math.floor(entry.contentRect.width);
            if (width > 0 && Math.abs(width - info.width) > 2) info.render();
          }
        })
      : null;

  /** Render a chart into ``container`` now and again whenever its width changes. */
  function mountChart(container, draw) {
    const render = () => {
      const width = Math.max(240, Math.floor(container.clientWidth || 320));
      const info = chartRenderers.get(container);
      if (info) info.width = width;
      container.replaceChildren(draw(width));
    };
    const known = chartRenderers.has(container);
    chartRenderers.set(container, { render: render, width: 0 });
    render();
    if (!known && resizeObserver) resizeObserver.observe(container);
  }

  function unmountCharts(root) {
    for (const container of Array.from(chartRenderers.keys())) {
      if (root.contains(container)) {
        chartRenderers.delete(container);
        if (resizeObserver) resizeObserver.unobserve(container);
      }
    }
  }

  function niceStep(range, count) {
    const raw = range / Math.max(1, count);
    const magnitude = Math.pow(10, Math.floor(Math.log10(raw)));
    const residual = raw / magnitude;
    const nice = residual > 5 ? 10 : residual > 2 ? 5 : residual > 1 ? 2 : 1;
    return Math.max(1, nice * magnitude);
  }

  function ticksFor(max, count) {
    const step = niceStep(max || 1, count);
    const top = Math.max(step, Math.ceil((max || 1) / step) * step);
    const ticks = [];
    for (let v = 0; v <= top + 1e-9; v += step) ticks.push(v);
    return { ticks: ticks, top: top };
  }

  function legend(root, x, y, items) {
    const group = svg("g", { class: "legend", transform: `translate(${x},${y})` }, root);
    let offset = 0;
    for (const item of items) {
      const entry = svg("g", { transform: `translate(${offset},0)` }, group);
      svg("rect", { x: 0, y: -9, width: 10, height: 10, rx: 2, fill: item.color }, entry);
      svgText(entry, 14, 0, item.label, { class: "legend-label" });
      offset += 22 + item.label.length * 6.6;
    }
    return group;
  }

  function emptyChart(width, height, message) {
    const root = svg("svg", { width: width, height: height, viewBox: `0 0 ${width} ${height}`, class: "chart-svg empty", role: "img" });
    svgText(root, width / 2, height / 2, message, { "text-anchor": "middle", class: "empty-label" });
    return root;
  }

  /** Stacked bars of counts per sentiment label per time bucket. */
  function drawSentimentChart(rows, bucketMinutes, width) {
    const height = 250;
    const margin = { top: 30, right: 14, bottom: 40, left: 48 };
    if (!rows.length) return emptyChart(width, height, "No events in the window");

    const byBucket = new Map();
    for (const row of rows) {
      const t = parseTime(row.bucket).getTime();
      if (isNaN(t)) continue;
      if (!byBucket.has(t)) byBucket.set(t, { negative: 0, neutral: 0, positive: 0 });
      const label = SENTIMENTS.includes(row.sentiment) ? row.sentiment : "neutral";
      byBucket.get(t)[label] += Number(row.count) || 0;
    }
    const times = Array.from(byBucket.keys()).sort((a, b) => a - b);
    if (!times.length) return emptyChart(width, height, "No events in the window");
    const stepMs = bucketMinutes * 60000;
    const buckets = [];
    for (let t = times[0]; t <= times[times.length - 1] && buckets.length < 2000; t += stepMs) {
      buckets.push({ t: t, counts: byBucket.get(t) || { negative: 0, neutral: 0, positive: 0 } });
    }
    const totals = buckets.map((b) => b.counts.negative + b.counts.neutral + b.counts.positive);
    const { ticks, top } = ticksFor(Math.max.apply(null, totals), 4);

    const plotW = width - margin.left - margin.right;
    const plotH = height - margin.top - margin.bottom;
    const band = plotW / buckets.length;
    const barW = Math.max(1, Math.min(36, band * 0.78));
    const y = (v) => margin.top + plotH - (v / top) * plotH;

    const root = svg("svg", { width: width, height: height, viewBox: `0 0 ${width} ${height}`, class: "chart-svg", role: "img", "aria-label": "Sentiment over time" });
    legend(root, margin.left, 14, SENTIMENTS.map((s) => ({ label: s, color: SENTIMENT_COLORS[s] })));

    const axes = svg("g", { class: "axis" }, root);
    for (const v of ticks) {
      svg("line", { x1: margin.left, x2: width - margin.right, y1: y(v), y2: y(v), class: v === 0 ? "baseline" : "grid" }, axes);
      svgText(axes, margin.left - 6, y(v) + 4, fmtInt(v), { "text-anchor": "end", class: "tick" });
    }
    svgText(axes, 12, margin.top + plotH / 2, "events", { transform: `rotate(-90 12 ${margin.top + plotH / 2})`, "text-anchor": "middle", class: "axis-title" });

    const labelEvery = Math.max(1, Math.ceil(64 / band));
    let lastDay = "";
    buckets.forEach((bucket, i) => {
      if (i % labelEvery !== 0) return;
      const d = new Date(bucket.t);
      const x = margin.left + band * i + band / 2;
      svg("line", { x1: x, x2: x, y1: margin.top + plotH, y2: margin.top + plotH + 4, class: "tick-mark" }, axes);
      svgText(axes, x, margin.top + plotH + 16, fmtClock(d), { "text-anchor": "middle", class: "tick" });
      const day = fmtDay(d);
      if (day !== lastDay) {
        svgText(axes, x, margin.top + plotH + 30, day, { "text-anchor": "middle", class: "tick tick-day" });
        lastDay = day;
      }
    });

    const bars = svg("g", { class: "bars" }, root);
    buckets.forEach((bucket, i) => {
      const x = margin.left + band * i + (band - barW) / 2;
      const when = fmtDay(new Date(bucket.t)) + " " + fmtClock(new Date(bucket.t));
      const total = totals[i];
      const column = svg("g", { class: "column" }, bars);
      tip(column, `${when} · ${fmtInt(total)} events`);
      let acc = 0;
      for (const label of SENTIMENTS) {
        const n = bucket.counts[label];
        if (!n) continue;
        const rect = svg("rect", {
          x: x, y: y(acc + n), width: barW, height: Math.max(0.5, y(acc) - y(acc + n)),
          fill: SENTIMENT_COLORS[label], class: `bar seg-${label}`,
        }, column);
        tip(rect, `${when} · ${label}: ${fmtInt(n)} of ${fmtInt(total)} (${pct(n, total)})`);
        acc += n;
      }
    });
    return root;
  }

  /**
   * Horizontal stacked bars. rows: [{label, values: {seriesKey: n}, note, tooltip}];
   * series: [{key, label, color}]. Used for breakdowns and the profile's small charts.
   */
  function drawHorizontalBars(rows, series, width, options) {
    const opts = Object.assign({ rowHeight: 24, legend: true, axis: true, maxRows: 10, emptyText: "No data" }, options || {});
    const shown = rows.slice(0, opts.maxRows);
    const hidden = rows.length - shown.length;
    const legendH = opts.legend ? 24 : 4;
    const axisH = opts.axis ? 26 : 4;
    const height = legendH + Math.max(1, shown.length) * opts.rowHeight + axisH + (hidden > 0 ? 14 : 0);
    if (!shown.length) return emptyChart(width, Math.max(60, height), opts.emptyText);

    const longest = shown.reduce((m, r) => Math.max(m, String(r.label).length), 4);
    const left = Math.min(Math.max(48, Math.min(longest, 16) * 7 + 12), Math.floor(width * 0.4));
    const noteW = opts.noteWidth || 92;
    const plotW = Math.max(40, width - left - noteW - 8);
    const totals = shown.map((r) => series.reduce((s, ser) => s + (Number(r.values[ser.key]) || 0), 0));
    const { ticks, top } = ticksFor(Math.max.apply(null, totals), Math.max(2, Math.floor(plotW / 70)));
    const x = (v) => left + (v / top) * plotW;

    const root = svg("svg", { width: width, height: height, viewBox: `0 0 ${width} ${height}`, class: "chart-svg", role: "img", "aria-label": opts.ariaLabel || "bar chart" });
    if (opts.legend) legend(root, left, 14, series.map((s) => ({ label: s.label, color: s.color })));

    const plotTop = legendH;
    const plotBottom = plotTop + shown.length * opts.rowHeight;
    const axes = svg("g", { class: "axis" }, root);
    if (opts.axis) {
      for (const v of ticks) {
        svg("line", { x1: x(v), x2: x(v), y1: plotTop, y2: plotBottom, class: v === 0 ? "baseline" : "grid" }, axes);
        svgText(axes, x(v), plotBottom + 14, fmtInt(v), { "text-anchor": "middle", class: "tick" });
      }
    } else {
      svg("line", { x1: left, x2: left, y1: plotTop, y2: plotBottom, class: "baseline" }, axes);
    }

    const bars = svg("g", { class: "bars" }, root);
    shown.forEach((row, i) => {
      const yTop = plotTop + i * opts.rowHeight;
      const barH = Math.min(16, opts.rowHeight - 6);
      const yBar = yTop + (opts.rowHeight - barH) / 2;
      const group = svg("g", { class: "row" }, bars);
      if (row.tooltip) tip(group, row.tooltip);
      svgText(group, left - 6, yBar + barH / 2 + 4, truncate(row.label, 16), { "text-anchor": "end", class: "cat-label" });
      let acc = 0;
      for (const ser of series) {
        const n = Number(row.values[ser.key]) || 0;
        if (!n) continue;
        const rect = svg("rect", { x: x(acc), y: yBar, width: Math.max(1, x(acc + n) - x(acc)), height: barH, rx: 2, fill: ser.color, class: `bar seg-${ser.key}` }, group);
        tip(rect, row.tooltip ? `${row.tooltip}\n${ser.label}: ${fmtInt(n)}` : `${row.label} · ${ser.label}: ${fmtInt(n)}`);
        acc += n;
      }
      if (row.note) svgText(group, x(acc) + 6, yBar + barH / 2 + 4, row.note, { class: "bar-note" });
    });
    if (hidden > 0) svgText(root, left, height - 4, `+ ${hidden} more`, { class: "tick" });
    return root;
  }

  function drawBreakdown(rows, width) {
    const prepared = rows.map((row) => {
      const count = Number(row.count) || 0;
      const negative = Math.min(count, Number(row.negative) || 0);
      const label = row.key === "" || row.key === null || row.key === undefined ? "(none)" : String(row.key);
      return {
        label: label,
        values: { negative: negative, other: count - negative },
        note: `${fmtInt(count)} · ${pct(negative, count)} neg`,
        tooltip: `${label}: ${fmtInt(count)} events, ${fmtInt(negative)} negative (${pct(negative, count)}), mean sentiment ${fmtSigned(Number(row.mean_sentiment))}`,
      };
    });
    return drawHorizontalBars(
      prepared,
      [
        { key: "negative", label: "negative", color: SENTIMENT_COLORS.negative },
        { key: "other", label: "neutral / positive", color: VOLUME_COLOR },
      ],
      width,
      { maxRows: 8, emptyText: "No events in the window", ariaLabel: "volume and negative share", noteWidth: 96 },
    );
  }

  /** Each brand's share of the events naming a brand (rows of /v1/analytics/share-of-voice). */
  function drawShareOfVoice(rows, width) {
    const prepared = rows.map((row) => {
      const events = Number(row.events) || 0;
      const negative = Math.min(Number(row.voiced) || 0, Number(row.negative) || 0);
      const share = (100 * (Number(row.share) || 0)).toFixed(1) + "%";
      return {
        label: String(row.brand),
        values: { events: events },
        note: share,
        tooltip: `${row.brand}: ${share} of brand mentions, ${fmtInt(events)} events, ` +
          `${fmtInt(negative)} negative, reach ${fmtInt(Number(row.reach) || 0)}`,
      };
    });
    return drawHorizontalBars(
      prepared,
      [{ key: "events", label: "events naming the brand", color: VOLUME_COLOR }],
      width,
      { maxRows: 8, emptyText: "No brand mentioned in the window", ariaLabel: "share of voice", noteWidth: 60 },
    );
  }

  /** One line per topic: its posts per hour (series: [{topic, rows of /v1/analytics/sentiment/series}]). */
  function drawTopicTrend(series, width) {
    const height = 230;
    const margin = { top: 30, right: 14, bottom: 40, left: 48 };
    const lines = series.map((s) => ({
      topic: s.topic,
      points: s.rows.map((r) => ({ t: parseTime(r.bucket).getTime(), n: Number(r.events) || 0 })).filter((p) => !isNaN(p.t)),
    })).filter((line) => line.points.length);
    if (!lines.length) return emptyChart(width, height, "No topics in the window");
    const times = lines.flatMap((line) => line.points.map((p) => p.t));
    const start = Math.min.apply(null, times);
    const end = Math.max.apply(null, times);
    for (const line of lines) { // an hour without posts on the topic is a zero, not a gap the line jumps
      const counts = new Map(line.points.map((p) => [p.t, p.n]));
      line.points = [];
      for (let t = start; t <= end && line.points.length < 2000; t += 3600000) line.points.push({ t: t, n: counts.get(t) || 0 });
    }
    const { ticks, top } = ticksFor(Math.max.apply(null, lines.flatMap((line) => line.points.map((p) => p.n))), 4);
    const plotW = width - margin.left - margin.right;
    const plotH = height - margin.top - margin.bottom;
    const x = (t) => margin.left + (end === start ? plotW / 2 : ((t - start) / (end - start)) * plotW);
    const y = (v) => margin.top + plotH - (v / top) * plotH;

    const root = svg("svg", { width: width, height: height, viewBox: `0 0 ${width} ${height}`, class: "chart-svg", role: "img", "aria-label": "topic trend" });
    legend(root, margin.left, 14, lines.map((line, i) => ({ label: truncate(line.topic, 14), color: TREND_COLORS[i % TREND_COLORS.length] })));
    const axes = svg("g", { class: "axis" }, root);
    for (const v of ticks) {
      svg("line", { x1: margin.left, x2: width - margin.right, y1: y(v), y2: y(v), class: v === 0 ? "baseline" : "grid" }, axes);
      svgText(axes, margin.left - 6, y(v) + 4, fmtInt(v), { "text-anchor": "end", class: "tick" });
    }
    svgText(axes, 12, margin.top + plotH / 2, "posts / h", { transform: `rotate(-90 12 ${margin.top + plotH / 2})`, "text-anchor": "middle", class: "axis-title" });
    const labels = Math.max(2, Math.floor(plotW / 90));
    for (let i = 0; i < labels; i++) {
      const t = start + ((end - start) * i) / (labels - 1);
      svgText(axes, x(t), margin.top + plotH + 16, fmtClock(new Date(t)), { "text-anchor": "middle", class: "tick" });
    }
    lines.forEach((line, i) => {
      const color = TREND_COLORS[i % TREND_COLORS.length];
      const group = svg("g", { class: "trend" }, root);
      tip(group, line.topic);
      const d = line.points.map((p, j) => `${j ? "L" : "M"}${x(p.t).toFixed(1)},${y(p.n).toFixed(1)}`).join(" ");
      svg("path", { d: d, fill: "none", stroke: color, "stroke-width": 2, class: "trend-line" }, group);
      for (const p of line.points) {
        const dot = svg("circle", { cx: x(p.t), cy: y(p.n), r: 3, fill: color, class: "trend-point" }, group);
        tip(dot, `${line.topic} · ${fmtDay(new Date(p.t))} ${fmtClock(new Date(p.t))}: ${fmtInt(p.n)} posts`);
      }
    });
    return root;
  }

  /* ------------------------------------------------------------------ analytics panel */

  const BREAKDOWNS = [
    ["platform", "chart-platform"],
    ["brand", "chart-brand"],
    ["language", "chart-language"],
  ];

  async function refreshAnalytics() {
    const note = $("analytics-note");
    try {
      const [timeline, voice, topics, ...breakdowns] = await Promise.all([
        api("/v1/analytics/sentiment?hours=24&bucket_minutes=30"),
        api("/v1/analytics/share-of-voice?hours=24"),
        api(`/v1/analytics/topics?hours=24&limit=${TREND_TOPICS}`),
        ...BREAKDOWNS.map(([by]) => api(`/v1/analytics/breakdown?by=${by}`)),
      ]);
      const trends = await Promise.all(topics.map((t) =>
        api(`/v1/analytics/sentiment/series?hours=24&bucket_minutes=60&topic=${encodeURIComponent(t.topic)}`)));
      show(note, false);
      show($("charts"), true);
      // Redraw only when the numbers changed, so a tooltip being read is not swept away.
      const signature = JSON.stringify([timeline, voice, topics, trends, breakdowns]);
      if (signature !== state.analyticsSignature) {
        state.analyticsSignature = signature;
        mountChart($("chart-sentiment"), (w) => drawSentimentChart(timeline, 30, w));
        BREAKDOWNS.forEach(([, id], i) => mountChart($(id), (w) => drawBreakdown(breakdowns[i], w)));
        mountChart($("chart-voice"), (w) => drawShareOfVoice(voice, w));
        mountChart($("chart-topics"), (w) => drawTopicTrend(topics.map((t, i) => ({ topic: t.topic, rows: trends[i] })), w));
      }
      $("analytics-updated").textContent = "updated " + fmtClock(new Date());
    } catch (error) {
      if (error instanceof AuthError) return;
      state.analyticsSignature = null;
      let message = "Analytics is unavailable right now; retrying.";
      if (error instanceof HttpError && error.status === 503) {
        message = "Analytics is not configured on this deployment (no ClickHouse), so charts are not shown. " +
          "Alerts and profiles work as usual.";
        show($("charts"), false);
      } else if (error instanceof HttpError && error.status === 403) {
        message = "Your API key's role may not read analytics.";
        show($("charts"), false);
      }
      note.textContent = message;
      show(note, true);
    }
  }

  /* ------------------------------------------------------------------ live alerts */

  function setLive(stateName, label) {
    $("live-indicator").dataset.state = stateName;
    $("live-label").textContent = label;
  }

  function closeStream() {
    if (state.source) {
      state.source.close();
      state.source = null;
    }
    setLive("off", "offline");
  }

  /** The live stream. EventSource cannot send the key in a header, and a key in a URL is refused, so the
   * stream opens with a one-minute ticket (POST /v1/alerts/stream/ticket); every reconnect asks for a new one. */
  async function openStream(catchUp = false) {
    closeStream();
    if (!state.key || !("EventSource" in window)) return;
    let ticket;
    try {
      ticket = (await api("/v1/alerts/stream/ticket", { method: "POST" })).ticket;
    } catch (error) {
      setLive("off", "offline");
      if (!(error instanceof AuthError)) window.setTimeout(() => openStream(true), 5000);
      return;
    }
    const source = new EventSource("/v1/alerts/stream?ticket=" + encodeURIComponent(ticket));
    state.source = source;
    let hadError = catchUp;
    setLive("connecting", "connecting");
    source.addEventListener("open", () => {
      setLive("on", "live");
      if (hadError) loadAlerts(); // catch up on what was raised while disconnected
    });
    source.addEventListener("alert", (event) => {
      let alert;
      try {
        alert = JSON.parse(event.data);
      } catch (_) {
        return;
      }
      addAlert(alert, true);
    });
    source.addEventListener("error", () => {
      hadError = true;
      if (source.readyState === EventSource.CLOSED) {
        setLive("off", "offline");
        // A refused stream (e.g. a revoked key) closes for good: find out why, then retry.
        refreshStatus().finally(() => {
          if (state.source === source && !state.locked) window.setTimeout(() => openStream(true), 5000);
        });
      } else {
        // the browser would retry with the same ticket, which expires: reconnect with a fresh one
        source.close();
        setLive("connecting", "reconnecting");
        if (state.source === source && !state.locked) window.setTimeout(() => openStream(true), 1000);
      }
    });
  }

  async function loadAlerts() {
    const note = $("alerts-note");
    try {
      const alerts = await api("/v1/alerts?limit=50");
      show(note, false);
      for (const alert of alerts) addAlert(alert, false);
    } catch (error) {
      if (error instanceof AuthError) return;
      note.textContent = error instanceof HttpError && error.status === 403
        ? "Your API key's role may not read alerts."
        : "Could not load alerts; the live stream still delivers new ones.";
      show(note, true);
    }
  }

  function addAlert(alert, fresh) {
    if (!alert || typeof alert.alert_id !== "string") return;
    const list = $("alerts-list");
    const existing = state.alerts.get(alert.alert_id);
    // the same or an older version (the stream echoing a change this console just made): nothing to redraw
    if (existing && Number(existing.dataset.version) >= (Number(alert.version) || 0)) return;
    const node = renderAlert(alert);
    if (existing) {
      if (existing.querySelector("details[open]")) node.querySelector("details").open = true;
      if (existing.id) node.id = existing.id; // an anchor someone set on the card survives its redraw
      const loaded = existing.querySelector(".all-posts-box"); // keep the posts someone is reading
      const twinBox = node.querySelector(".all-posts-box");
      if (loaded && twinBox && loaded.querySelector(".all-posts li")) twinBox.replaceWith(loaded);
      for (const input of existing.querySelectorAll("input[data-action-input]")) { // keep what is being typed
        const twin = node.querySelector(`input[data-action-input="${input.dataset.actionInput}"]`);
        if (twin && input.value) twin.value = input.value;
      }
      if (fresh) {
        existing.remove(); // an incident that grew moves back to the top
        list.insertBefore(node, list.firstChild);
      } else {
        existing.replaceWith(node);
      }
    } else if (fresh) {
      list.insertBefore(node, list.firstChild);
    } else {
      insertByTime(list, node);
    }
    if (fresh) {
      node.classList.add("is-new");
      window.setTimeout(() => node.classList.remove("is-new"), 10000);
    }
    state.alerts.set(alert.alert_id, node);
    while (list.children.length > MAX_ALERTS) {
      const last = list.lastElementChild;
      state.alerts.delete(last.dataset.alertId);
      last.remove();
    }
    $("alerts-count").textContent = String(list.children.length);
    show($("alerts-empty"), list.children.length === 0);
  }

  /** Keep the initial list newest first (by last event time) without disturbing live arrivals on top. */
  function insertByTime(list, node) {
    const at = Number(node.dataset.at) || 0;
    for (const other of list.children) {
      if (!other.classList.contains("is-new") && (Number(other.dataset.at) || 0) < at) {
        list.insertBefore(node, other);
        return;
      }
    }
    list.appendChild(node);
  }

  function chipList(values, className) {
    const wrap = el("span", { className: "chips" });
    for (const value of values) wrap.appendChild(el("span", { className: "chip " + (className || ""), text: value }));
    return wrap;
  }

  function asList(value) {
    return Array.isArray(value) ? value.filter((v) => v !== null && v !== undefined && typeof v !== "object").map(String) : [];
  }

  function unique(values) {
    return Array.from(new Set(values));
  }

  /** The posts an alert or incident carries as evidence (newest last in incidents; shown newest first). */
  function evidencePosts(evidence) {
    const isPost = (p) => p && typeof p === "object" && typeof p.text === "string";
    if (Array.isArray(evidence.posts) && evidence.posts.some(isPost)) return evidence.posts.filter(isPost).slice().reverse();
    if (Array.isArray(evidence.seed_posts) && evidence.seed_posts.some(isPost)) return evidence.seed_posts.filter(isPost);
    return isPost(evidence) ? [evidence] : [];
  }

  function renderPost(post) {
    const facts = [
      post.author ? `@${post.author}` : null,
      typeof post.followers === "number" ? `${fmtInt(post.followers)} followers` : null,
      typeof post.influence === "number" ? `influence ${fmtFixed(post.influence, 1)}` : null,
      typeof post.sentiment_score === "number" ? `sentiment ${fmtSigned(post.sentiment_score)}` : null,
      post.platform ? String(post.platform) : null,
      post.occurred_at ? fmtDateTime(post.occurred_at) : null,
    ].filter(Boolean);
    return el("div", { className: "post" }, [
      el("blockquote", { className: "evidence-text", text: post.text }),
      el("div", { className: "post-meta muted small" }, [facts.join(" · "), " ", externalLink(post.url, "open ↗")]),
    ]);
  }

  function compact(value) {
    const text = typeof value === "object" ? JSON.stringify(value) : String(value);
    return truncate(text, 160);
  }

  const KIND_CHIPS = { crisis: "chip-bad", opportunity: "chip-good", coordinated: "chip-warn" };

  function renderAlert(alert) {
    const severity = Math.min(5, Math.max(1, Number(alert.severity) || 1));
    const evidence = alert.evidence && typeof alert.evidence === "object" ? alert.evidence : {};
    const latest = evidence.latest && typeof evidence.latest === "object" ? Object.values(evidence.latest) : [evidence];
    const kind = alert.kind === "opportunity" || alert.kind === "coordinated" ? alert.kind : "crisis";
    const item = el("li", { className: `alert sev-${severity} kind-${kind} is-${alert.state || "open"}` });
    item.dataset.alertId = alert.alert_id;
    item.dataset.version = String(Number(alert.version) || 0);
    item.dataset.at = String(parseTime(alert.occurred_at || alert.last_seen).getTime() || 0);

    item.appendChild(el("div", { className: "alert-head" }, [
      el("span", { className: `sev-badge sev-${severity}`, title: `Severity ${severity} of 5`, text: `S${severity}` }),
      el("span", { className: "alert-title", text: alert.title || alert.rule || "Alert" }),
      el("time", { className: "muted small", datetime: alert.occurred_at, text: fmtDateTime(alert.occurred_at || alert.last_seen) }),
    ]));

    const platforms = unique(asList(alert.platforms).concat(alert.platform ? [String(alert.platform)] : []));
    const meta = el("div", { className: "alert-meta" }, [
      el("span", { className: `chip kind ${KIND_CHIPS[kind]}`, text: kind }),
      ...platforms.map((p) => el("span", { className: "chip", text: p })),
      alert.brand ? el("span", { className: "chip chip-brand", text: alert.brand }) : null,
      alert.topic ? el("span", { className: "chip chip-topic", text: alert.topic }) : null,
      Number(alert.count) > 1 ? el("span", { className: "chip chip-count-badge", title: "alerts in this incident", text: `×${fmtInt(Number(alert.count))}` }) : null,
      el("span", { className: `chip state state-${alert.state || "open"}`, text: alert.state || "open" }),
      alert.snoozed_until && parseTime(alert.snoozed_until) > new Date()
        ? el("span", { className: "chip chip-snoozed", title: "deliveries and escalation silenced", text: "snoozed until " + fmtDateTime(alert.snoozed_until) })
        : null,
      alert.assignee || alert.team ? el("span", { className: "chip", text: "→ " + [alert.assignee, alert.team].filter(Boolean).join(" / ") }) : null,
    ]);
    const firstPost = evidencePosts(evidence)[0];
    if (alert.customer_id) {
      const who = firstPost && firstPost.author ? `@${firstPost.author}` : "customer";
      const button = el("button", { type: "button", className: "link customer-link", title: "Open the customer's profile" }, [`View ${who} →`]);
      button.addEventListener("click", () => openProfile(alert.customer_id));
      meta.appendChild(button);
    }
    item.appendChild(meta);

    const posts = evidencePosts(evidence);
    const details = el("details", { className: "evidence" });
    details.appendChild(el("summary", { text: posts.length > 1 ? `Evidence · ${posts.length} posts` : "Evidence" }));
    for (const post of posts) details.appendChild(renderPost(post));

    const topics = unique(latest.flatMap((e) => asList(e && e.topics)).concat(alert.topic ? [alert.topic] : []));
    const intents = unique(latest.flatMap((e) => asList(e && e.intents)).concat(asList(evidence.matched_intents)));
    const risks = unique(asList(evidence.risk_terms).concat(latest.flatMap((e) => asList(e && e.risk_terms))));
    const severe = new Set(asList(evidence.severe_terms).concat(latest.flatMap((e) => asList(e && e.severe_terms))));
    const tagRow = (label, values, className) =>
      values.length ? el("div", { className: "tag-row" }, [el("span", { className: "muted small", text: label }), chipList(values, className)]) : null;
    for (const row of [tagRow("Topics", topics, "chip-topic"), tagRow("Intents", intents, "chip-intent")]) if (row) details.appendChild(row);
    if (risks.length) {
      const chips = el("span", { className: "chips" });
      for (const term of risks) chips.appendChild(el("span", { className: "chip " + (severe.has(term) ? "chip-bad" : "chip-warn"), text: term }));
      details.appendChild(el("div", { className: "tag-row" }, [el("span", { className: "muted small", text: "Risk terms" }), chips]));
    }

    const facts = el("dl", { className: "facts" });
    const fact = (label, value) => {
      if (value === undefined || value === null || value === "") return;
      facts.appendChild(el("div", {}, [el("dt", { text: label }), el("dd", { text: value })]));
    };
    if (alert.first_seen && alert.last_seen && alert.first_seen !== alert.last_seen) {
      fact("First seen", fmtDateTime(alert.first_seen));
      fact("Last seen", fmtDateTime(alert.last_seen));
    }
    if (alert.language && alert.language !== "other") fact("Language", alert.language);
    if (alert.acknowledged_by) fact("Acknowledged by", alert.acknowledged_by);
    if (alert.resolved_by) fact("Resolved by", alert.resolved_by);
    const ruleCounts = evidence.rule_counts && typeof evidence.rule_counts === "object" ? evidence.rule_counts : null;
    if (ruleCounts) fact("Rules", Object.entries(ruleCounts).map(([rule, n]) => `${rule.replace(/_/g, " ")} ×${n}`).join(", "));
    for (const e of latest) {
      if (e && typeof e.confidence === "number") { fact("Confidence", pct(e.confidence, 1)); break; }
    }
    if (evidence.scopes && typeof evidence.scopes === "object") {
      for (const [scope, numbers] of Object.entries(evidence.scopes).slice(0, 4)) fact(`Spike · ${scope}`, compact(numbers));
    }
    for (const name of ["top_spreaders", "top_sharers"]) {
      if (Array.isArray(evidence[name]) && evidence[name].length) {
        fact(name.replace(/_/g, " "), evidence[name].slice(0, 5).map((s) => (s && typeof s === "object" ? s.author || s.customer_id || compact(s) : String(s))).join(", "));
      }
    }
    if (!evidence.latest) {
      // A single alert's evidence: show anything not covered above.
      const known = new Set(["text", "url", "author", "followers", "influence", "author_influence", "sentiment_score", "confidence",
        "topics", "intents", "risk_terms", "severe_terms", "event_id", "platform", "occurred_at", "customer_id", "verified"]);
      for (const [name, value] of Object.entries(evidence)) {
        if (!known.has(name) && value !== null && value !== undefined) fact(name.replace(/_/g, " "), compact(value));
      }
    }
    if (facts.children.length) details.appendChild(facts);
    const shown = Array.isArray(evidence.posts) ? evidence.posts.length : 0;
    if (alert.incident_id && Number(alert.count) > Math.max(1, shown)) details.appendChild(allPostsBox(alert));

    const reply = alert.suggested_reply;
    if (reply && typeof reply.text === "string") {
      const copy = el("button", { type: "button", className: "ghost small-button", text: "Copy" });
      copy.addEventListener("click", () => {
        const done = () => { copy.textContent = "Copied"; window.setTimeout(() => { copy.textContent = "Copy"; }, 1500); };
        if (navigator.clipboard && window.isSecureContext) navigator.clipboard.writeText(reply.text).then(done, () => {});
      });
      details.appendChild(el("div", { className: "reply" }, [
        el("div", { className: "reply-head" }, [el("span", { className: "muted small", text: `Suggested reply (${reply.language || "?"})` }), copy]),
        el("p", { className: "reply-text", text: reply.text }),
      ]));
    }
    if (Array.isArray(alert.comments) && alert.comments.length) {
      const list = el("ul", { className: "comments" });
      for (const c of alert.comments.slice(-5)) {
        list.appendChild(el("li", {}, [el("span", { className: "muted small", text: `${c.author || "?"} · ${fmtDateTime(c.at)}: ` }), String(c.text || "")]));
      }
      details.appendChild(list);
    }
    details.appendChild(el("p", { className: "muted small mono", text: `${alert.rule}${alert.event_id ? " · event " + alert.event_id : ""}` }));
    item.appendChild(details);

    if (alert.state && alert.state !== "resolved" && alert.incident_id) {
      const actions = el("div", { className: "alert-actions" });
      if (alert.state === "open") actions.appendChild(actionButton(alert, "ack", "Acknowledge"));
      actions.appendChild(actionButton(alert, "resolve", "Resolve"));
      actions.appendChild(actionButton(alert, "snooze", "Snooze 1 h", () => ({ until: new Date(Date.now() + 3600e3).toISOString() })));
      actions.appendChild(actionField(alert, "assign", "Assign", "agent or team@", (value) => (
        value.endsWith("@") ? { team: value.slice(0, -1) } : { assignee: value })));
      actions.appendChild(actionField(alert, "comments", "Comment", "add a comment", (value) => ({ text: value })));
      item.appendChild(actions);
    }
    return item;
  }

  /** "All N posts": the posts behind an incident page by page (GET /v1/alerts/{id}/posts): a digest's
   * queue, where the card shows the latest few. Texts are rendered as text only. */
  function allPostsBox(alert) {
    const list = el("ol", { className: "all-posts" });
    const more = el("button", { type: "button", className: "ghost small-button", text: `All ${fmtInt(alert.count)} posts`,
      "data-action": "all-posts" });
    let cursor = null;
    more.addEventListener("click", async () => {
      more.disabled = true;
      try {
        const params = new URLSearchParams({ limit: "50" });
        if (cursor) params.set("before", cursor);
        const page = await api(`/v1/alerts/${encodeURIComponent(alert.alert_id)}/posts?${params.toString()}`);
        for (const post of page.items) {
          list.appendChild(el("li", { className: "small", "data-event-id": post.event_id || "" }, [
            el("span", { className: "muted", text: `${fmtDateTime(post.occurred_at)} · ${post.platform || ""} · ${post.author || "?"}: ` }),
            String(post.text || "(no text)"), " ", externalLink(post.url, "open"),
          ]));
        }
        cursor = page.next;
        more.textContent = "More";
        more.disabled = false;
        if (!cursor) more.remove();
      } catch (error) {
        more.disabled = false;
        if (!(error instanceof AuthError)) more.textContent = "Could not load the posts; try again";
      }
    });
    return el("div", { className: "all-posts-box" }, [list, more]);
  }

  /** A button POSTing one incident action (body from ``body()``); the answer is rendered in place. */
  function actionButton(alert, action, label, body) {
    const button = el("button", { type: "button", className: "ghost small-button", text: label, "data-action": action });
    button.addEventListener("click", () => act(alert, action, label, body ? body() : undefined, button));
    return button;
  }

  /** A small text field with a button: assign (a person, or ``team@``) and comment. */
  function actionField(alert, action, label, placeholder, body) {
    const input = el("input", { type: "text", className: "action-input", placeholder: placeholder, maxLength: 256,
                                "aria-label": label, "data-action-input": action });
    const button = el("button", { type: "button", className: "ghost small-button", text: label, "data-action": action });
    const submit = () => {
      const value = input.value.trim();
      if (value) act(alert, action, label, body(value), button, input);
    };
    button.addEventListener("click", submit);
    input.addEventListener("keydown", (event) => { if (event.key === "Enter") submit(); });
    return el("span", { className: "action-field" }, [input, button]);
  }

  /** POST one action; the answer replaces the incident's card. ``input``, the field it came from, is
   * emptied once the answer is in: on this card and on any redraw of it that carried the sent text over
   * (the live stream may echo the change before the POST answers). */
  async function act(alert, action, label, body, button, input) {
    button.disabled = true;
    const sent = input ? input.value : "";
    try {
      const changed = await api(`/v1/alerts/${encodeURIComponent(alert.alert_id)}/${action}`, { method: "POST", body: body });
      addAlert(changed, false);
      if (input) {
        input.value = "";
        const card = state.alerts.get(alert.alert_id);
        const twin = card && card.querySelector(`input[data-action-input="${action}"]`);
        if (twin && twin.value === sent) twin.value = "";
      }
    } catch (error) {
      button.disabled = false;
      if (error instanceof AuthError) return;
      const note = $("alerts-note");
      note.textContent = error instanceof HttpError && error.status === 403
        ? "Your API key's role may not change alerts."
        : `Could not ${label.toLowerCase()} the alert (${error.message}).`;
      show(note, true);
    }
  }

  /* ------------------------------------------------------------------ profiles */

  const IDENTITY_PATTERN = /^[a-z][a-z0-9_-]*:\S+$/i;
  let profileSearchSeq = 0; // only the latest search may render: an older, slower response is dropped

  async function searchProfiles(event) {
    if (event) event.preventDefault();
    const query = $("profile-q").value.trim();
    const lifecycle = $("profile-lifecycle").value;
    const params = new URLSearchParams();
    if (query && IDENTITY_PATTERN.test(query)) params.set("identity", query);
    else if (query) params.set("q", query);
    if (lifecycle) params.set("lifecycle", lifecycle);
    params.set("limit", "50");
    const note = $("profiles-note");
    const seq = ++profileSearchSeq;
    try {
      const profiles = await api("/v1/profiles?" + params.toString());
      if (seq !== profileSearchSeq) return;
      show(note, false);
      renderProfileRows(profiles);
    } catch (error) {
      if (error instanceof AuthError || seq !== profileSearchSeq) return;
      note.textContent = error instanceof HttpError && error.status === 403
        ? "Your API key's role may not read profiles."
        : `Search failed (${error.message}).`;
      show(note, true);
    }
  }

  function renderProfileRows(profiles) {
    const body = $("profile-rows");
    const rows = profiles.map((profile) => {
      const name = profile.display_name || (profile.identities && profile.identities[0]) || profile.customer_id;
      const ewma = profile.sentiment ? profile.sentiment.ewma : 0;
      const influence = Number(profile.influence) || 0;
      const row = el("tr", { tabindex: "0", className: "profile-row", title: "Open the 360° view" }, [
        el("td", {}, [
          el("div", { className: "name", text: name }),
          el("div", { className: "muted small mono", text: (profile.identities || []).slice(0, 2).join(" · ") }),
        ]),
        el("td", {}, [el("span", { className: `lc lc-${profile.lifecycle}`, text: profile.lifecycle })]),
        el("td", { className: "num" }, [
          meter(influence, `${fmtFixed(influence, 1)} / 100`),
          el("span", { text: fmtFixed(influence, 1) }),
        ]),
        el("td", { className: `num sent ${sentimentClass(ewma)}`, text: fmtSigned(ewma) }),
        el("td", { className: "num", text: fmtInt(profile.event_count) }),
      ]);
      row.dataset.customerId = profile.customer_id;
      row.addEventListener("click", () => openProfile(profile.customer_id));
      row.addEventListener("keydown", (e) => {
        if (e.key === "Enter" || e.key === " ") {
          e.preventDefault();
          openProfile(profile.customer_id);
        }
      });
      return row;
    });
    body.replaceChildren(...rows);
    show($("profiles-empty"), rows.length === 0);
  }

  function closeProfile() {
    state.openProfileId = null;
    unmountCharts($("pv-body"));
    show($("profile-view"), false);
    show($("drawer-backdrop"), false);
    document.body.classList.remove("drawer-open");
  }

  async function openProfile(customerId) {
    state.openProfileId = customerId;
    const body = $("pv-body");
    unmountCharts(body);
    $("pv-name").textContent = "Loading…";
    $("pv-id").textContent = customerId;
    body.replaceChildren(el("p", { className: "muted", text: "Loading profile…" }));
    show($("profile-view"), true);
    show($("drawer-backdrop"), true);
    document.body.classList.add("drawer-open");
    $("pv-close").focus();
    const id = encodeURIComponent(customerId);
    try {
      const [profile, timeline, days, merges] = await Promise.all([api(`/v1/profiles/${id}`),
        api(`/v1/profiles/${id}/timeline?limit=${TIMELINE_PAGE}`), api(`/v1/profiles/${id}/sentiment`),
        api(`/v1/profiles/${id}/merges`)]);
      if (state.openProfileId !== customerId) return;
      renderProfile(profile, timeline, days, merges);
    } catch (error) {
      if (error instanceof AuthError || state.openProfileId !== customerId) return;
      $("pv-name").textContent = "Profile unavailable";
      body.replaceChildren(el("p", { className: "note", text: error instanceof HttpError && error.status === 404 ? "No such customer." : `Could not load the profile (${error.message}).` }));
    }
  }

  function section(title, children, className) {
    return el("section", { className: "pv-section " + (className || "") }, [el("h3", { text: title })].concat(children));
  }

  function countRows(counts) {
    return Object.entries(counts || {})
      .map(([label, n]) => ({ label: label, values: { n: Number(n) || 0 }, note: fmtInt(Number(n) || 0), tooltip: `${label}: ${fmtInt(Number(n) || 0)}` }))
      .sort((a, b) => b.values.n - a.values.n);
  }

  function smallBars(counts, color, ariaLabel) {
    const holder = el("div", { className: "chart-body small-chart" });
    const rows = countRows(counts);
    // Mounted after insertion into the document so the width is known.
    holder._draw = (w) => drawHorizontalBars(rows, [{ key: "n", label: "events", color: color }], w, { legend: false, axis: false, rowHeight: 22, maxRows: 8, noteWidth: 44, ariaLabel: ariaLabel, emptyText: "None" });
    return holder;
  }

  function sentimentShare(summary) {
    const counts = { negative: summary.negative || 0, neutral: summary.neutral || 0, positive: summary.positive || 0 };
    const total = counts.negative + counts.neutral + counts.positive;
    const holder = el("div", { className: "chart-body small-chart" });
    holder._draw = (w) => {
      const height = 46;
      if (!total) return emptyChart(w, height, "No texts scored yet");
      const root = svg("svg", { width: w, height: height, viewBox: `0 0 ${w} ${height}`, class: "chart-svg", role: "img", "aria-label": "sentiment counts" });
      let x = 0;
      for (const label of SENTIMENTS) {
        const n = counts[label];
        if (!n) continue;
        const width = (n / total) * w;
        tip(svg("rect", { x: x, y: 0, width: Math.max(1, width), height: 18, fill: SENTIMENT_COLORS[label], class: `bar seg-${label}` }, root), `${label}: ${fmtInt(n)} (${pct(n, total)})`);
        x += width;
      }
      legend(root, 0, 38, SENTIMENTS.map((s) => ({ label: `${s} ${fmtInt(counts[s])}`, color: SENTIMENT_COLORS[s] })));
      return root;
    };
    return holder;
  }

  function kpi(label, value, className) {
    return el("div", { className: "kpi" }, [el("div", { className: "kpi-label", text: label }), el("div", { className: "kpi-value " + (className || ""), text: value })]);
  }

  /** A customer's sentiment per day (GET /v1/profiles/{id}/sentiment) as the dashboard's stacked bars. */
  function sentimentOverTime(days) {
    const rows = [];
    for (const day of days || []) {
      for (const label of SENTIMENTS) if (day[label]) rows.push({ bucket: day.day, sentiment: label, count: day[label] });
    }
    const holder = el("div", { className: "chart-body", id: "pv-sentiment-days" });
    holder._draw = (w) => drawSentimentChart(rows, 1440, w);
    return holder;
  }

  /** Merges, splits and re-elections of the customer (GET /v1/profiles/{id}/merges), newest first. */
  function renderMerges(merges) {
    if (!merges || !merges.length) return el("p", { className: "muted small", text: "Never merged or split." });
    const verbs = { merge: "merged with", split: "split from", reelect: "re-elected over" };
    const list = el("ul", { className: "merges small", id: "pv-merges" });
    for (const record of merges.slice().sort((a, b) => String(b.at).localeCompare(String(a.at)))) {
      const by = record.provenance ? [record.provenance.source, record.provenance.actor, record.provenance.reference].filter(Boolean).join(" · ") : "";
      list.appendChild(el("li", {}, [
        el("time", { datetime: record.at, text: fmtDateTime(record.at) }), " ",
        el("span", { className: `chip merge-${record.kind}`, text: record.kind }), " ",
        el("span", { className: "mono", text: `${record.survivor} ${verbs[record.kind] || record.kind} ${record.other}` }),
        by ? el("span", { className: "muted", text: ` (${by})` }) : null,
      ]));
    }
    return list;
  }

  function renderProfile(profile, timeline, days, merges) {
    const body = $("pv-body");
    unmountCharts(body);
    const sentiment = profile.sentiment || { ewma: 0, positive: 0, neutral: 0, negative: 0 };
    $("pv-name").textContent = profile.display_name || profile.customer_id;
    $("pv-id").textContent = profile.customer_id + (profile.crm_id ? ` · CRM ${profile.crm_id}` : "");

    const kpis = el("div", { className: "kpis" }, [
      el("div", { className: "kpi" }, [el("div", { className: "kpi-label", text: "Lifecycle" }), el("div", { className: "kpi-value" }, [el("span", { className: `lc lc-${profile.lifecycle}`, text: profile.lifecycle })])]),
      kpi("Influence", fmtFixed(profile.influence, 1)),
      kpi("Followers", fmtInt(profile.followers) + (profile.verified ? " ✔" : "")),
      kpi("Events", fmtInt(profile.event_count)),
      kpi("Active days", fmtInt(profile.active_days)),
      kpi("Sentiment EWMA", fmtSigned(sentiment.ewma), "sent " + sentimentClass(sentiment.ewma)),
      kpi("First seen", fmtDateTime(profile.first_seen)),
      kpi("Last seen", fmtDateTime(profile.last_seen)),
    ]);

    const identities = chipList(profile.identities || [], "mono chip-identity");
    const brandEntries = Object.entries(profile.brands || {}).sort((a, b) => b[1] - a[1]);
    const topicEntries = Object.entries(profile.topics || {}).sort((a, b) => b[1] - a[1]);
    const intentEntries = Object.entries(profile.intents || {}).sort((a, b) => b[1] - a[1]);
    const weighted = (entries, className, format) => {
      if (!entries.length) return el("p", { className: "muted small", text: "None yet" });
      const wrap = el("div", { className: "chips" });
      for (const [name, value] of entries) {
        wrap.appendChild(el("span", { className: "chip " + className, title: `${name}: ${format(value)}` }, [name, el("span", { className: "chip-count", text: format(value) })]));
      }
      return wrap;
    };

    const charts = [smallBars(profile.counts_by_platform, VOLUME_COLOR, "events by platform"), smallBars(profile.counts_by_kind, "#8e4ec6", "events by kind"), sentimentShare(sentiment), sentimentOverTime(days)];

    body.replaceChildren(
      kpis,
      section("Identities", [identities]),
      el("div", { className: "pv-grid" }, [
        section("By platform", [charts[0]]),
        section("By kind", [charts[1]]),
      ]),
      section("Sentiment", [charts[2]]),
      section("Sentiment over time (per day, posts with text)", [charts[3]], "pv-sentiment-time"),
      el("div", { className: "pv-grid" }, [
        section("Topics", [weighted(topicEntries, "chip-topic", (v) => fmtFixed(Number(v), 2))]),
        section("Intents", [weighted(intentEntries, "chip-intent", (v) => fmtInt(Number(v)))]),
      ]),
      brandEntries.length ? section("Brands", [weighted(brandEntries, "chip-brand", (v) => fmtInt(Number(v)))]) : null,
      profile.crm_id || Object.values(profile.consent || {}).some((value) => value === true || value === false)
        ? section(profile.crm_id ? "CRM" : "Consent", [renderCrm(profile)], "pv-crm") : null,
      section("Merge history", [renderMerges(merges)], "pv-merge-history"),
      section("Timeline", [renderTimeline(timeline, profile.customer_id)], "pv-timeline"),
    );
    for (const holder of charts) mountChart(holder, holder._draw);
  }

  /** The CRM's attributes (docs/importers.md) and the effective consent (docs/consent.md) of a profile, as text. */
  function renderCrm(profile) {
    const asText = (value) => (Array.isArray(value) ? value.join(", ") : value === true ? "yes" : value === false ? "no" : String(value));
    const consent = profile.consent || {};
    const rows = Object.entries(profile.crm || {}).sort((a, b) => a[0].localeCompare(b[0]))
      .map(([name, value]) => el("tr", {}, [el("th", { scope: "row", text: name }), el("td", { text: asText(value) })]));
    for (const channel of ["contact", "marketing", "analytics"]) {
      const value = consent[channel];
      rows.push(el("tr", {}, [el("th", { scope: "row", text: `consent: ${channel}` }),
        el("td", { text: value === true ? "yes" : value === false ? "no" : "unknown" })]));
    }
    return el("table", { className: "crm-table small", id: "pv-crm" }, [el("tbody", {}, rows)]);
  }

  /** One page of the timeline (GET /v1/profiles/{id}/timeline, keyset) and an "Older" button that appends
   * the next page until the oldest event is shown. */
  function renderTimeline(page, customerId) {
    const items = (page && page.items) || [];
    if (!items.length) return el("p", { className: "muted small", text: "No interactions recorded." });
    const list = el("ol", { className: "timeline", id: "pv-timeline" });
    const holder = el("div", {}, [list]);
    const append = (found) => {
      for (const item of found) list.appendChild(timelineEntry(item));
    };
    append(items);
    let next = page.next;
    if (next) {
      const older = el("button", { type: "button", className: "ghost", id: "pv-timeline-older", text: "Older" });
      older.addEventListener("click", async () => {
        older.disabled = true;
        try {
          const more = await api(`/v1/profiles/${encodeURIComponent(customerId)}/timeline?limit=${TIMELINE_PAGE}&before=${encodeURIComponent(next)}`);
          if (state.openProfileId !== customerId) return;
          append(more.items);
          next = more.next;
          if (next) older.disabled = false;
          else older.remove();
        } catch (error) {
          older.disabled = false;
          if (!(error instanceof AuthError)) older.title = `Could not load older events (${error.message})`;
        }
      });
      holder.appendChild(older);
    }
    return holder;
  }

  function timelineEntry(item) {
    const sentiment = SENTIMENTS.includes(item.sentiment) ? item.sentiment : null;
    const entry = el("li", { className: "tl-item" + (sentiment ? " tl-" + sentiment : "") }, [
      el("div", { className: "tl-meta" }, [
        el("time", { className: "small", datetime: item.occurred_at, text: fmtDateTime(item.occurred_at) }),
        el("span", { className: "chip", text: item.platform }),
        el("span", { className: "chip", text: item.kind }),
        sentiment ? el("span", { className: `chip sent-chip ${sentiment}`, text: sentiment }) : null,
        externalLink(item.url, "open ↗"),
      ]),
      item.text ? el("p", { className: "tl-text", text: item.text }) : null,
    ]);
    entry.dataset.eventId = item.event_id;
    return entry;
  }

  /* ------------------------------------------------------------------ next actions */

  const ACTION_LABELS = { retain: "Retain", convert: "Convert", invite: "Invite" };

  /** Rank who to contact today for a brand (GET /v1/next-actions); post texts are shown as text only. */
  async function loadNextActions(event) {
    if (event) event.preventDefault();
    const brand = $("next-actions-brand").value.trim();
    const note = $("next-actions-note");
    if (!brand) return;
    const days = $("next-actions-days").value || "7";
    try {
      const found = await api(`/v1/next-actions?brand=${encodeURIComponent(brand)}&days=${encodeURIComponent(days)}`);
      $("next-actions-rows").replaceChildren(...found.actions.map((action) => el("tr", { "data-customer": action.customer_id }, [
        el("td", { className: "num", text: action.rank }),
        el("td", { text: `${ACTION_LABELS[action.action] || action.action} (${action.score.toFixed(0)})` }),
        el("td", { text: action.display_name || action.customer_id, title: action.crm_id ? `CRM ${action.crm_id}` : "" }),
        el("td", { className: "small", text: action.reason }),
        el("td", { className: "small" }, action.evidence.map((post) => el("div", { text: `${post.platform}: ${post.text || ""}` }))),
      ])));
      const withheld = found.withheld_for_consent ? `; ${found.withheld_for_consent} left out for consent` : "";
      $("next-actions-summary").textContent = `${found.actions.length} to contact${withheld}`;
      show(note, false);
    } catch (error) {
      if (error instanceof AuthError) return;
      note.textContent = error instanceof HttpError && error.status === 403
        ? "Your key may not read next actions (agents and marketers can)." : "Next actions are unavailable.";
      show(note, true);
    }
  }

  /* ------------------------------------------------------------------ identity review */

  /** The pending identity suggestions (GET /v1/identities/suggestions), each with its score, its evidence
   * and accept / reject buttons. Texts from the platforms are rendered as text only. */
  async function loadReview() {
    const note = $("review-note");
    try {
      const pending = await api("/v1/identities/suggestions?state=pending&limit=50");
      $("review-list").replaceChildren(...pending.map(reviewRow));
      $("review-summary").textContent = pending.length
        ? `${pending.length} probable match${pending.length === 1 ? "" : "es"} to review, best first`
        : "Nothing to review: no probable matches are waiting.";
      show(note, false);
    } catch (error) {
      if (error instanceof AuthError) return;
      note.textContent = error instanceof HttpError && error.status === 403
        ? "Your key may not read identity suggestions." : "Identity suggestions are unavailable.";
      show(note, true);
    }
  }

  function reviewRow(suggestion) {
    const ev = suggestion.evidence || {};
    const names = Array.isArray(ev.display_names) ? ev.display_names.filter(Boolean) : [];
    const handles = Array.isArray(ev.handles) ? ev.handles.filter(Boolean) : [];
    const threads = Array.isArray(ev.shared_threads) ? ev.shared_threads : [];
    const facts = [
      names.length ? `names: ${names.join(" / ")}` : null,
      typeof ev.name_similarity === "number" ? `name similarity ${Math.round(ev.name_similarity * 100)} %` : null,
      handles.length ? `handles: ${handles.join(" / ")}${ev.same_handle ? " (the same)" : ""}` : null,
      threads.length ? `active in ${threads.length} of the same thread${threads.length === 1 ? "" : "s"}` : null,
    ].filter(Boolean);
    const score = Math.round((Number(suggestion.score) || 0) * 100);
    const accept = el("button", { type: "button", className: "primary small-button", text: "Same person",
      "data-action": "accept" });
    const reject = el("button", { type: "button", className: "ghost small-button", text: "Different people",
      "data-action": "reject" });
    const row = el("li", { className: "review-row", "data-suggestion": suggestion.suggestion_id }, [
      el("div", { className: "review-pair", text: `${suggestion.a}  ↔  ${suggestion.b}` }),
      el("div", { className: "small" }, [
        meter(score, `score ${score} / 100`),
        el("span", { text: `score ${score}` }),
      ]),
      el("ul", { className: "review-evidence small" }, facts.map((fact) => el("li", { text: fact }))),
      el("div", { className: "review-actions" }, [accept, reject]),
    ]);
    accept.addEventListener("click", () => decide(suggestion, "accept", row));
    reject.addEventListener("click", () => decide(suggestion, "reject", row));
    return row;
  }

  /** Accept (a link, merging the two customers shortly) or reject (never suggested again) one suggestion. */
  async function decide(suggestion, action, row) {
    const note = $("review-note");
    for (const button of row.querySelectorAll("button")) button.disabled = true;
    try {
      await api(`/v1/identities/suggestions/${encodeURIComponent(suggestion.suggestion_id)}/${action}`,
                { method: "POST" });
      row.remove();
      note.textContent = action === "accept"
        ? `Linked ${suggestion.a} and ${suggestion.b}: their profiles merge in a moment.`
        : `Kept ${suggestion.a} and ${suggestion.b} apart; they will not be suggested again.`;
      show(note, true);
      const left = $("review-list").children.length;
      $("review-summary").textContent = left ? `${left} left to review` : "Nothing left to review.";
    } catch (error) {
      for (const button of row.querySelectorAll("button")) button.disabled = false;
      if (error instanceof AuthError) return;
      if (error instanceof HttpError && error.status === 409) {  // someone else decided meanwhile
        await loadReview();
        return;
      }
      note.textContent = error instanceof HttpError && error.status === 403
        ? "Your API key's role may not decide identity matches (agents can)."
        : `Could not ${action} the match (${error.message}).`;
      show(note, true);
    }
  }

  /* ------------------------------------------------------------------ segments */

  async function loadSegments() {
    const note = $("segments-note");
    try {
      const segments = await api("/v1/segments");
      const rows = $("segment-rows");
      rows.replaceChildren(...segments.map((segment) => {
        const exportButton = el("button", { type: "button", className: "ghost small", text: "Export CSV",
          "data-export": segment.name });
        exportButton.addEventListener("click", () => exportSegment(segment.name, exportButton));
        const open = el("button", { type: "button", className: "link-button", text: segment.name,
          title: "Show the members", "data-open": segment.name });
        open.addEventListener("click", () => showMembers(segment.name, null));
        return el("tr", { "data-segment": segment.name }, [
          el("td", {}, [open]),
          el("td", { className: "mono small", text: segment.text }),
          el("td", { className: "num", text: fmtInt(segment.members) }),
          el("td", { className: "segment-trend", "data-trend": segment.name }),
          el("td", {}, [exportButton]),
        ]);
      }));
      show(note, false);
      for (const segment of segments) loadSegmentTrend(segment.name);
    } catch (error) {
      if (error instanceof AuthError) return;
      note.textContent = error instanceof HttpError && error.status === 403
        ? "Your key may not read segments (marketers and analysts can)." : "Segments are unavailable.";
      show(note, true);
    }
  }

  const membersView = { name: null, next: null };

  /** A segment's members, a page at a time (keyset): ``after`` null starts from the first. */
  async function showMembers(name, after) {
    const params = new URLSearchParams({ limit: "50" });
    if (after) params.set("after", after);
    let page;
    try {
      page = await api(`/v1/segments/${encodeURIComponent(name)}/members?${params}`);
    } catch (error) {
      if (error instanceof AuthError) return;
      $("segment-members-title").textContent = `${name}: members unavailable`;
      show($("segment-members"), true);
      return;
    }
    membersView.name = name;
    membersView.next = page.next;
    $("segment-members-title").textContent = `${name} · ${fmtInt(page.total)} members`;
    const rows = page.members.map((member) => {
      const row = el("tr", { tabindex: "0", className: "profile-row", title: "Open the 360° view" }, [
        el("td", {}, [
          el("div", { className: "name", text: member.display_name || member.customer_id }),
          el("div", { className: "muted small mono", text: member.customer_id }),
        ]),
        el("td", {}, [el("span", { className: `lc lc-${member.lifecycle}`, text: member.lifecycle })]),
        el("td", { className: "num", text: fmtFixed(Number(member.influence) || 0, 1) }),
        el("td", { text: fmtDateTime(member.since) }),
      ]);
      row.dataset.customerId = member.customer_id;
      row.addEventListener("click", () => openProfile(member.customer_id));
      row.addEventListener("keydown", (e) => {
        if (e.key === "Enter" || e.key === " ") {
          e.preventDefault();
          openProfile(member.customer_id);
        }
      });
      return row;
    });
    const body = $("segment-member-rows");
    if (after) body.append(...rows);
    else body.replaceChildren(...rows);
    show($("segment-members-more"), Boolean(page.next));
    show($("segment-members"), true);
  }

  /** The member count over event time, as a sparkline in the segment's row. */
  async function loadSegmentTrend(name) {
    let points;
    try {
      points = await api(`/v1/segments/${encodeURIComponent(name)}/counts?points=40`);
    } catch (_) {
      return;
    }
    const cell = document.querySelector(`#segment-rows td[data-trend="${CSS.escape(name)}"]`);
    if (cell) cell.replaceChildren(drawSparkline(points, 140, 30));
  }

  /** A small line of ``members`` over ``at`` (points from /v1/segments/{name}/counts). */
  function drawSparkline(points, width, height) {
    const root = svg("svg", { width: width, height: height, viewBox: `0 0 ${width} ${height}`, class: "sparkline",
      role: "img", "aria-label": "Members over time" });
    if (!points.length) return root;
    const times = points.map((p) => parseTime(p.at).getTime());
    const first = times[0], span = Math.max(1, times[times.length - 1] - first);
    const top = Math.max(1, ...points.map((p) => p.members));
    const x = (t) => 2 + ((t - first) / span) * (width - 4);
    const y = (v) => height - 2 - (v / top) * (height - 4);
    // a step line: the count holds until the next stretch's changes
    let path = `M${x(times[0]).toFixed(1)},${y(points[0].members).toFixed(1)}`;
    points.forEach((p, i) => {
      if (i === 0) return;
      path += ` H${x(times[i]).toFixed(1)} V${y(p.members).toFixed(1)}`;
    });
    path += ` H${(width - 2).toFixed(1)}`;
    svg("path", { d: `${path} V${height - 2} H${x(times[0]).toFixed(1)} Z`, class: "area" }, root);
    svg("path", { d: path, class: "line" }, root);
    const last = points[points.length - 1];
    tip(root, `${fmtInt(last.members)} members · ${points.length > 1 ? fmtInt(points[0].members) + " at " + fmtDateTime(points[0].at) : "since " + fmtDateTime(last.at)}`);
    return root;
  }

  /* The builder: pick a field (or an event condition), an op and a value; "Add condition" appends it to the
     rule's text form, which stays the one thing saved and previewed. */
  const builder = { fields: new Map(), families: new Map(), eventFilters: {} };
  const OP_TEXT = { eq: "=", ne: "!=", gt: ">", gte: ">=", lt: "<", lte: "<=", in: "in", not_in: "not in",
    contains: "contains", exists: "exists", within_days: "within_days" };
  const EVENTS_FIELD = "events(…)";

  async function loadBuilder() {
    if (builder.fields.size) return;
    let catalog;
    try {
      catalog = await api("/v1/segments/fields");
    } catch (_) {
      return;
    }
    for (const field of catalog.fields) builder.fields.set(field.name, field);
    for (const family of catalog.families) builder.families.set(family.name.split(".")[0] + ".…", family);
    builder.eventFilters = catalog.event_filters;
    const names = [...builder.fields.keys(), ...builder.families.keys(), EVENTS_FIELD];
    $("builder-field").replaceChildren(...names.map((name) => el("option", { value: name, text: name })));
    const anyOf = (filter) => [el("option", { value: "", text: `any ${filter}` }),
      ...(builder.eventFilters[filter] || []).map((v) => el("option", { value: v, text: v }))];
    $("builder-event-kind").replaceChildren(...anyOf("kind"));
    $("builder-event-sentiment").replaceChildren(...anyOf("sentiment"));
    $("builder-event-platform").replaceChildren(...anyOf("platform"));
    builderFieldChanged();
  }

  function builderField() {
    const name = $("builder-field").value;
    if (name === EVENTS_FIELD) return { name: name, kind: "events", ops: ["gte", "gt", "eq", "lt", "lte"], choices: null };
    return builder.fields.get(name) || builder.families.get(name) || null;
  }

  function builderFieldChanged() {
    const field = builderField();
    if (!field) return;
    show($("builder-attribute"), builder.families.has($("builder-field").value));
    show($("builder-events"), field.kind === "events");
    $("builder-op").replaceChildren(...field.ops.map((op) => el("option", { value: op, text: OP_TEXT[op] || op })));
    builderOpChanged();
  }

  function builderOpChanged() {
    const field = builderField();
    const op = $("builder-op").value;
    const single = field.choices && !["in", "not_in"].includes(op);
    show($("builder-choice"), Boolean(single));
    if (single) $("builder-choice").replaceChildren(...field.choices.map((v) => el("option", { value: v, text: v })));
    show($("builder-value"), !single && op !== "exists");
    $("builder-value").placeholder = field.kind === "events" ? "how many events"
      : op === "within_days" ? "days" : ["in", "not_in"].includes(op) ? (field.choices || ["a", "b"]).slice(0, 2).join(", ")
      : field.kind === "date" ? "2026-11-01" : "value";
  }

  /** A value in the text form: bare when it is a plain word or number, quoted otherwise. */
  function textValue(value) {
    const v = value.trim();
    if (/^-?\d+(\.\d+)?$/.test(v) || /^[^\W\d][\w.:+\-]*$/u.test(v)) return v;
    return `"${v.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
  }

  function builtCondition() {
    const field = builderField();
    const op = $("builder-op").value;
    const raw = $("builder-value").value;
    if (field.kind === "events") {
      const filters = [];
      for (const name of ["kind", "sentiment", "platform"]) {
        const v = $(`builder-event-${name}`).value;
        if (v) filters.push(`${name}=${textValue(v)}`);
      }
      if ($("builder-event-brand").value.trim()) filters.push(`brand=${textValue($("builder-event-brand").value)}`);
      if ($("builder-event-days").value) filters.push(`within_days=${Number($("builder-event-days").value)}`);
      return `events(${filters.join(", ")}) ${OP_TEXT[op]} ${Number(raw || 1)}`;
    }
    let name = field.name;
    if (builder.families.has($("builder-field").value)) {
      const attribute = $("builder-attribute").value.trim();
      if (!attribute) return null;
      name = `${$("builder-field").value.split(".")[0]}.${attribute}`;
    }
    if (op === "exists") return `${name} exists`;
    if (field.choices && !["in", "not_in"].includes(op)) return `${name} ${OP_TEXT[op]} ${textValue($("builder-choice").value)}`;
    if (!raw.trim()) return null;
    if (op === "in" || op === "not_in") {
      const values = raw.split(",").map((v) => v.trim()).filter(Boolean).map(textValue);
      return `${name} ${OP_TEXT[op]} (${values.join(", ")})`;
    }
    return `${name} ${OP_TEXT[op]} ${textValue(raw)}`;
  }

  function addCondition(event) {
    event.preventDefault();
    const condition = builtCondition();
    if (!condition) {
      $("segment-preview").textContent = "Give the condition a value first.";
      return;
    }
    const rule = $("segment-rule");
    rule.value = rule.value.trim() ? `${rule.value.trim()} and ${condition}` : condition;
    $("builder-value").value = "";
    previewSegment();
  }

  /** Download a segment's members: the key goes in a header, so the file is fetched, then saved. */
  async function exportSegment(name, button) {
    button.disabled = true;
    try {
      const response = await fetch(`/v1/segments/${encodeURIComponent(name)}/members.csv`,
        { headers: { "X-API-Key": state.key }, cache: "no-store" });
      if (!response.ok) throw new HttpError(response.status, "");
      const link = el("a", { href: URL.createObjectURL(await response.blob()) });
      link.download = `${name}.csv`;
      link.click();
      window.setTimeout(() => URL.revokeObjectURL(link.href), 10000);
    } catch (_) {
      button.textContent = "Export failed";
    } finally {
      button.disabled = false;
    }
  }

  let previewTimer = null;
  /** The live preview: how many profiles the rule being typed selects (or why it is refused). */
  function previewSegment() {
    window.clearTimeout(previewTimer);
    const text = $("segment-rule").value.trim();
    const out = $("segment-preview");
    if (!text) { out.textContent = ""; return; }
    previewTimer = window.setTimeout(async () => {
      try {
        const answer = await api("/v1/segments/preview", { method: "POST", body: { text: text } });
        if ($("segment-rule").value.trim() === text) out.textContent = `${fmtInt(answer.members)} members now`;
      } catch (error) {
        if (error instanceof HttpError) out.textContent = error.detail || `Refused (${error.status})`;
      }
    }, 350);
  }

  async function saveSegment(event) {
    event.preventDefault();
    const out = $("segment-preview");
    try {
      const saved = await api("/v1/segments", { method: "POST",
        body: { name: $("segment-name").value.trim(), text: $("segment-rule").value.trim() } });
      out.textContent = `Saved ${saved.name}: ${fmtInt(saved.members)} members`;
      $("segment-name").value = "";
      $("segment-rule").value = "";
      await loadSegments();
    } catch (error) {
      if (error instanceof HttpError) out.textContent = error.detail || `Not saved (${error.status})`;
    }
  }

  /* ------------------------------------------------------------------ wiring */

  function start() {
    $("key-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const key = $("key-input").value.trim();
      if (key) unlock(key);
    });
    $("change-key").addEventListener("click", () => requireKey("Enter a different API key."));
    $("profile-search").addEventListener("submit", searchProfiles);
    $("segment-form").addEventListener("submit", saveSegment);
    $("next-actions-form").addEventListener("submit", loadNextActions);
    $("review-refresh").addEventListener("click", loadReview);
    $("segment-rule").addEventListener("input", previewSegment);
    $("segment-builder").addEventListener("submit", addCondition);
    $("segment-members-more").addEventListener("click", () => showMembers(membersView.name, membersView.next));
    $("builder-field").addEventListener("change", builderFieldChanged);
    $("builder-op").addEventListener("change", builderOpChanged);
    $("profile-lifecycle").addEventListener("change", () => searchProfiles());
    $("pv-close").addEventListener("click", closeProfile);
    $("drawer-backdrop").addEventListener("click", closeProfile);
    document.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && !$("profile-view").hidden) closeProfile();
    });
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible" && !state.locked) {
        refreshStatus();
        refreshAnalytics();
      }
    });

    every(STATUS_EVERY_MS, refreshStatus);
    every(ANALYTICS_EVERY_MS, refreshAnalytics);
    every(ANALYTICS_EVERY_MS, loadSegments);

    const key = initialKey();
    if (key) unlock(key);
    else requireKey();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
