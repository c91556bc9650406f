// Greenhouse dashboard: polls /api/readings and draws what it gets.
//
// The page is served by espgate through an ESP8266 on a 115200-baud line,
// so this script is careful with the wire: it asks only for readings newer
// than the last one it has, keeps the history in memory, and backs off
// when the line is busy or the modem is away.
'use strict';

(function () {
  const SERIES = {
    temp: { label: 'Temperature', color: '--temp', unit: '°C', digits: 1 },
    hum: { label: 'Humidity', color: '--hum', unit: '%', digits: 0 },
    soil: { label: 'Soil moisture', color: '--soil', unit: '%', digits: 0 },
    light: { label: 'Light', color: '--light', unit: 'lx', digits: 0 },
  };
  const READING_EVERY = 30; // seconds between the server's readings
  const MAX_POINTS = 6 * 3600 / READING_EVERY; // six hours
  const MAX_ALERTS = 20;
  const STORAGE_KEY = 'greenhouse.settings.v1';

  const DEFAULTS = {
    units: 'c',
    refresh: 15,
    tempMax: 32,
    tempMin: 8,
    soilMin: 25,
    span: 3600,
    series: ['temp', 'hum'],
  };

  const state = {
    settings: loadSettings(),
    readings: [], // oldest first: {t, temp, hum, soil, light}
    last: 0, // time of the newest reading, seconds
    timer: 0,
    failures: 0,
    sortKey: 't',
    sortDir: -1,
    alerts: [],
    alerted: {}, // alert key -> time, so one condition is reported once
    hover: null,
  };

  // ---- settings ---------------------------------------------------------

  function loadSettings() {
    try {
      const raw = localStorage.getItem(STORAGE_KEY);
      if (raw) {
        return Object.assign({}, DEFAULTS, JSON.parse(raw));
      }
    } catch (e) {
      // private mode or a corrupt value: the defaults will do
    }
    return Object.assign({}, DEFAULTS);
  }

  function saveSettings() {
    try {
      localStorage.setItem(STORAGE_KEY, JSON.stringify(state.settings));
    } catch (e) {
      // storage full or disabled: settings last for this visit only
    }
  }

  function fillSettingsForm(form) {
    const s = state.settings;
    form.elements.units.value = s.units;
    form.elements.refresh.value = String(s.refresh);
    form.elements.tempMax.value = s.tempMax;
    form.elements.tempMin.value = s.tempMin;
    form.elements.soilMin.value = s.soilMin;
  }

  function readSettingsForm(form) {
    const num = (name, fallback) => {
      const v = parseFloat(form.elements[name].value);
      return Number.isFinite(v) ? v : fallback;
    };
    const s = state.settings;
    s.units = form.elements.units.value === 'f' ? 'f' : 'c';
    s.refresh = Math.max(5, num('refresh', DEFAULTS.refresh));
    s.tempMax = num('tempMax', DEFAULTS.tempMax);
    s.tempMin = num('tempMin', DEFAULTS.tempMin);
    s.soilMin = num('soilMin', DEFAULTS.soilMin);
    if (s.tempMin >= s.tempMax) {
      s.tempMin = s.tempMax - 1;
    }
  }

  // ---- units and formatting ---------------------------------------------

  function toDisplay(key, v) {
    if (v == null || Number.isNaN(v)) {
      return null;
    }
    if (key === 'temp' && state.settings.units === 'f') {
      return v * 9 / 5 + 32;
    }
    return v;
  }

  function unitOf(key) {
    if (key === 'temp') {
      return state.settings.units === 'f' ? '°F' : '°C';
    }
    return SERIES[key].unit;
  }

  function fmt(key, v) {
    const d = toDisplay(key, v);
    if (d == null) {
      return '–';
    }
    if (key === 'light' && d >= 10000) {
      return (d / 1000).toFixed(1) + 'k';
    }
    return d.toFixed(SERIES[key].digits);
  }

  const timeFmt = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
  const shortTimeFmt = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });

  function fmtTime(t, short) {
    return (short ? shortTimeFmt : timeFmt).format(new Date(t * 1000));
  }

  function cssVar(name) {
    return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  }

  // ---- fetching -----------------------------------------------------------

  async function poll() {
    clearTimeout(state.timer);
    const started = performance.now();
    const ctrl = new AbortController();
    const guard = setTimeout(() => ctrl.abort(), 20000);
    try {
      const url = 'api/readings' + (state.last ? '?since=' + state.last : '');
      const resp = await fetch(url, { signal: ctrl.signal, cache: 'no-store' });
      if (!resp.ok) {
        throw new Error('HTTP ' + resp.status);
      }
      const data = await resp.json();
      merge(data.readings || []);
      state.failures = 0;
      const ms = performance.now() - started;
      setStatus(ms > 3000 ? 'slow' : 'ok', ms > 3000
        ? 'Slow line: ' + (ms / 1000).toFixed(1) + ' s'
        : 'Live · ' + Math.round(ms) + ' ms');
      render();
    } catch (err) {
      state.failures++;
      setStatus('error', err.name === 'AbortError' ? 'Timed out' : 'Offline: ' + err.message);
    } finally {
      clearTimeout(guard);
      schedule();
    }
  }

  function schedule() {
    if (document.hidden) {
      return; // resumes on visibilitychange
    }
    // Back off up to two minutes while the modem is unreachable.
    const base = state.settings.refresh * 1000;
    const delay = state.failures ? Math.min(120000, base * 2 ** Math.min(state.failures, 4)) : base;
    state.timer = setTimeout(poll, delay);
  }

  function merge(list) {
    for (const r of list) {
      if (typeof r.t !== 'number' || r.t <= state.last) {
        continue;
      }
      state.readings.push(r);
      state.last = r.t;
      checkAlerts(r);
    }
    if (state.readings.length > MAX_POINTS) {
      state.readings.splice(0, state.readings.length - MAX_POINTS);
    }
  }

  function setStatus(kind, text) {
    const el = document.getElementById('status');
    el.dataset.state = kind;
    document.getElementById('status-text').textContent = text;
  }

  // ---- alerts ---------------------------------------------------------------

  function checkAlerts(r) {
    const s = state.settings;
    const rules = [
      { key: 'temp-high', on: r.temp > s.tempMax, bad: true, text: () => 'Temperature ' + fmt('temp', r.temp) + ' ' + unitOf('temp') + ' is above the limit' },
      { key: 'temp-low', on: r.temp < s.tempMin, bad: true, text: () => 'Temperature ' + fmt('temp', r.temp) + ' ' + unitOf('temp') + ' is below the limit' },
      { key: 'soil-low', on: r.soil < s.soilMin, bad: false, text: () => 'Soil moisture ' + fmt('soil', r.soil) + ' % — time to water' },
    ];
    for (const rule of rules) {
      if (!rule.on) {
        delete state.alerted[rule.key];
        continue;
      }
      if (state.alerted[rule.key]) {
        continue; // still the same episode
      }
      state.alerted[rule.key] = r.t;
      state.alerts.unshift({ t: r.t, bad: rule.bad, text: rule.text() });
    }
    if (state.alerts.length > MAX_ALERTS) {
      state.alerts.length = MAX_ALERTS;
    }
  }

  function renderAlerts() {
    const ul = document.getElementById('alerts');
    ul.replaceChildren();
    if (!state.alerts.length) {
      const li = document.createElement('li');
      li.className = 'empty';
      li.textContent = 'No alerts.';
      ul.append(li);
      return;
    }
    for (const a of state.alerts) {
      const li = document.createElement('li');
      if (a.bad) {
        li.className = 'bad';
      }
      const time = document.createElement('time');
      time.dateTime = new Date(a.t * 1000).toISOString();
      time.textContent = fmtTime(a.t);
      li.append(time, document.createTextNode(a.text));
      ul.append(li);
    }
  }

  // ---- cards ------------------------------------------------------------------

  function renderCards() {
    const now = state.readings[state.readings.length - 1];
    const since = state.last - state.settings.span;
    for (const card of document.querySelectorAll('.card')) {
      const key = card.dataset.key;
      card.querySelector('.unit').textContent = unitOf(key);
      if (!now) {
        continue;
      }
      let min = Infinity;
      let max = -Infinity;
      for (const r of state.readings) {
        if (r.t >= since) {
          min = Math.min(min, r[key]);
          max = Math.max(max, r[key]);
        }
      }
      card.querySelector('.num').textContent = fmt(key, now[key]);
      card.querySelector('.min').textContent = fmt(key, min);
      card.querySelector('.max').textContent = fmt(key, max);
      const trend = card.querySelector('.trend');
      const slope = trendOf(key, 600);
      trend.className = 'trend ' + (slope > 0.05 ? 'up' : slope < -0.05 ? 'down' : 'flat');
      trend.textContent = slope > 0.05 ? 'rising' : slope < -0.05 ? 'falling' : 'steady';
      const alarm = (key === 'temp' && (now.temp > state.settings.tempMax || now.temp < state.settings.tempMin)) ||
        (key === 'soil' && now.soil < state.settings.soilMin);
      card.classList.toggle('alarm', alarm);
    }
  }

  // trendOf fits a line through the last seconds of key's readings and
  // returns its slope per minute, relative to the series' spread.
  function trendOf(key, seconds) {
    const from = state.last - seconds;
    let n = 0, sx = 0, sy = 0, sxx = 0, sxy = 0, lo = Infinity, hi = -Infinity;
    for (let i = state.readings.length - 1; i >= 0; i--) {
      const r = state.readings[i];
      if (r.t < from) {
        break;
      }
      const x = (r.t - from) / 60;
      const y = r[key];
      n++; sx += x; sy += y; sxx += x * x; sxy += x * y;
      lo = Math.min(lo, y); hi = Math.max(hi, y);
    }
    if (n < 3) {
      return 0;
    }
    const den = n * sxx - sx * sx;
    if (den === 0) {
      return 0;
    }
    const slope = (n * sxy - sx * sy) / den;
    return slope / Math.max(hi - lo, 1e-9);
  }

  // ---- chart ------------------------------------------------------------------

  const chart = {
    canvas: null,
    ctx: null,
    pad: { l: 46, r: 46, t: 12, b: 26 },
    w: 0,
    h: 0,
  };

  function setupCanvas() {
    const c = document.getElementById('chart');
    const ratio = window.devicePixelRatio || 1;
    const rect = c.getBoundingClientRect();
    c.width = Math.round(rect.width * ratio);
    c.height = Math.round(rect.height * ratio);
    chart.canvas = c;
    chart.ctx = c.getContext('2d');
    chart.ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    chart.w = rect.width;
    chart.h = rect.height;
  }

  // niceTicks returns about count round numbers spanning lo..hi.
  function niceTicks(lo, hi, count) {
    if (!(hi > lo)) {
      hi = lo + 1;
    }
    const raw = (hi - lo) / count;
    const mag = 10 ** Math.floor(Math.log10(raw));
    const step = [1, 2, 2.5, 5, 10].map(m => m * mag).find(s => s >= raw) || 10 * mag;
    const ticks = [];
    for (let v = Math.floor(lo / step) * step; v <= hi + step / 2; v += step) {
      ticks.push(Math.round(v * 1e6) / 1e6);
    }
    return ticks;
  }

  function visibleSeries() {
    return state.settings.series.filter(k => SERIES[k]);
  }

  function drawChart() {
    const { ctx, pad } = chart;
    if (!ctx) {
      return;
    }
    const w = chart.w, h = chart.h;
    ctx.clearRect(0, 0, w, h);
    const t1 = state.last || Date.now() / 1000;
    const t0 = t1 - state.settings.span;
    const pts = state.readings.filter(r => r.t >= t0);
    const keys = visibleSeries();
    const ink = cssVar('--muted');
    const line = cssVar('--line');
    ctx.font = '11px system-ui, sans-serif';
    ctx.lineWidth = 1;

    // Time axis.
    const x = t => pad.l + (t - t0) / (t1 - t0) * (w - pad.l - pad.r);
    const tickEvery = state.settings.span <= 900 ? 180 : state.settings.span <= 3600 ? 600 : 3600;
    ctx.fillStyle = ink;
    ctx.strokeStyle = line;
    ctx.textAlign = 'center';
    ctx.textBaseline = 'top';
    for (let t = Math.ceil(t0 / tickEvery) * tickEvery; t <= t1; t += tickEvery) {
      const px = Math.round(x(t)) + 0.5;
      ctx.beginPath();
      ctx.moveTo(px, pad.t);
      ctx.lineTo(px, h - pad.b);
      ctx.stroke();
      ctx.fillText(fmtTime(t, true), px, h - pad.b + 6);
    }
    if (!pts.length || !keys.length) {
      ctx.textAlign = 'center';
      ctx.textBaseline = 'middle';
      ctx.fillText(pts.length ? 'Choose a series' : 'Waiting for readings…', w / 2, h / 2);
      return;
    }

    // One scale per side: the first visible series on the left, the
    // second on the right, the others normalised to the left one.
    const scales = {};
    keys.forEach((key, i) => {
      let lo = Infinity, hi = -Infinity;
      for (const r of pts) {
        const v = toDisplay(key, r[key]);
        lo = Math.min(lo, v);
        hi = Math.max(hi, v);
      }
      const ticks = niceTicks(lo, hi, 5);
      const s = { lo: ticks[0], hi: ticks[ticks.length - 1], ticks };
      s.y = v => h - pad.b - (v - s.lo) / (s.hi - s.lo || 1) * (h - pad.t - pad.b);
      scales[key] = s;
      if (i < 2) {
        ctx.fillStyle = cssVar(SERIES[key].color);
        ctx.textAlign = i === 0 ? 'right' : 'left';
        ctx.textBaseline = 'middle';
        for (const tv of ticks) {
          const py = Math.round(s.y(tv)) + 0.5;
          if (i === 0) {
            ctx.strokeStyle = line;
            ctx.beginPath();
            ctx.moveTo(pad.l, py);
            ctx.lineTo(w - pad.r, py);
            ctx.stroke();
          }
          ctx.fillText(String(tv), i === 0 ? pad.l - 6 : w - pad.r + 6, py);
        }
      }
    });

    for (const key of keys) {
      const s = scales[key];
      ctx.strokeStyle = cssVar(SERIES[key].color);
      ctx.lineWidth = 2;
      ctx.lineJoin = 'round';
      ctx.beginPath();
      let prev = null;
      for (const r of pts) {
        const px = x(r.t), py = s.y(toDisplay(key, r[key]));
        // Readings missing for three intervals leave a gap in the line.
        if (prev && r.t - prev.t > READING_EVERY * 3) {
          ctx.moveTo(px, py);
        } else if (prev) {
          ctx.lineTo(px, py);
        } else {
          ctx.moveTo(px, py);
        }
        prev = r;
      }
      ctx.stroke();
    }

    if (state.hover) {
      const r = state.hover;
      const px = Math.round(x(r.t)) + 0.5;
      ctx.strokeStyle = ink;
      ctx.lineWidth = 1;
      ctx.setLineDash([3, 3]);
      ctx.beginPath();
      ctx.moveTo(px, pad.t);
      ctx.lineTo(px, h - pad.b);
      ctx.stroke();
      ctx.setLineDash([]);
      for (const key of keys) {
        ctx.fillStyle = cssVar(SERIES[key].color);
        ctx.beginPath();
        ctx.arc(px, scales[key].y(toDisplay(key, r[key])), 3.5, 0, Math.PI * 2);
        ctx.fill();
      }
    }
  }

  function nearestReading(clientX) {
    const rect = chart.canvas.getBoundingClientRect();
    const t1 = state.last;
    const t0 = t1 - state.settings.span;
    const frac = (clientX - rect.left - chart.pad.l) / (rect.width - chart.pad.l - chart.pad.r);
    if (frac < 0 || frac > 1) {
      return null;
    }
    const t = t0 + frac * (t1 - t0);
    // Binary search: readings are in time order.
    let lo = 0, hi = state.readings.length - 1;
    if (hi < 0) {
      return null;
    }
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (state.readings[mid].t < t) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    const a = state.readings[lo], b = state.readings[lo - 1];
    const r = b && Math.abs(b.t - t) < Math.abs(a.t - t) ? b : a;
    return r.t >= t0 ? r : null;
  }

  function showTip(ev) {
    const r = nearestReading(ev.clientX);
    const tip = document.getElementById('tip');
    state.hover = r;
    drawChart();
    if (!r) {
      tip.hidden = true;
      return;
    }
    const lines = [fmtTime(r.t)];
    for (const key of visibleSeries()) {
      lines.push(SERIES[key].label + ': ' + fmt(key, r[key]) + ' ' + unitOf(key));
    }
    tip.textContent = lines.join('\n');
    const rect = chart.canvas.getBoundingClientRect();
    tip.style.left = (ev.clientX - rect.left) + 'px';
    tip.style.top = (ev.clientY - rect.top) + 'px';
    tip.hidden = false;
  }

  function hideTip() {
    state.hover = null;
    document.getElementById('tip').hidden = true;
    drawChart();
  }

  // ---- table ------------------------------------------------------------------

  const TABLE_ROWS = 30;

  function renderTable() {
    const tbody = document.querySelector('#readings tbody');
    const rows = state.readings.slice(-TABLE_ROWS);
    const k = state.sortKey, dir = state.sortDir;
    rows.sort((a, b) => (a[k] - b[k]) * dir);
    const s = state.settings;
    const frag = document.createDocumentFragment();
    for (const r of rows) {
      const tr = document.createElement('tr');
      const cells = [
        [fmtTime(r.t), ''],
        [fmt('temp', r.temp), r.temp > s.tempMax ? 'high' : r.temp < s.tempMin ? 'low' : ''],
        [fmt('hum', r.hum), ''],
        [fmt('soil', r.soil), r.soil < s.soilMin ? 'low' : ''],
        [fmt('light', r.light), ''],
      ];
      for (const [text, cls] of cells) {
        const td = document.createElement('td');
        td.textContent = text;
        if (cls) {
          td.className = cls;
        }
        tr.append(td);
      }
      frag.append(tr);
    }
    tbody.replaceChildren(frag);
    for (const th of document.querySelectorAll('#readings th')) {
      th.setAttribute('aria-sort', th.dataset.sort === k ? (dir > 0 ? 'ascending' : 'descending') : 'none');
    }
  }

  function sortBy(key) {
    if (state.sortKey === key) {
      state.sortDir = -state.sortDir;
    } else {
      state.sortKey = key;
      state.sortDir = key === 't' ? -1 : 1;
    }
    renderTable();
  }

  function exportCSV() {
    const head = ['time', 'temperature_' + state.settings.units, 'humidity_pct', 'soil_pct', 'light_lx'];
    const lines = [head.join(',')];
    for (const r of state.readings) {
      lines.push([
        new Date(r.t * 1000).toISOString(),
        toDisplay('temp', r.temp).toFixed(2),
        r.hum.toFixed(1),
        r.soil.toFixed(1),
        Math.round(r.light),
      ].join(','));
    }
    // The file is made here, in the browser: nothing more crosses the modem.
    const blob = new Blob([lines.join('\n') + '\n'], { type: 'text/csv' });
    const a = document.createElement('a');
    a.href = URL.createObjectURL(blob);
    a.download = 'greenhouse-' + new Date().toISOString().slice(0, 10) + '.csv';
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 1000);
  }

  // ---- wiring -------------------------------------------------------------------

  function render() {
    renderCards();
    drawChart();
    renderTable();
    renderAlerts();
  }

  function syncControls() {
    for (const box of document.querySelectorAll('input[name="series"]')) {
      box.checked = state.settings.series.includes(box.value);
    }
    for (const b of document.querySelectorAll('.segmented button')) {
      b.setAttribute('aria-checked', String(Number(b.dataset.span) === state.settings.span));
    }
  }

  function init() {
    setupCanvas();
    syncControls();

    document.querySelector('.series').addEventListener('change', () => {
      state.settings.series = [...document.querySelectorAll('input[name="series"]:checked')].map(b => b.value);
      saveSettings();
      drawChart();
    });
    document.querySelector('.segmented').addEventListener('click', ev => {
      const b = ev.target.closest('button[data-span]');
      if (!b) {
        return;
      }
      state.settings.span = Number(b.dataset.span);
      saveSettings();
      syncControls();
      render();
    });
    document.querySelector('#readings thead').addEventListener('click', ev => {
      const th = ev.target.closest('th[data-sort]');
      if (th) {
        sortBy(th.dataset.sort);
      }
    });
    document.getElementById('export').addEventListener('click', exportCSV);
    document.getElementById('clear-alerts').addEventListener('click', () => {
      state.alerts = [];
      renderAlerts();
    });

    const dialog = document.getElementById('settings');
    const form = document.getElementById('settings-form');
    document.getElementById('open-settings').addEventListener('click', () => {
      fillSettingsForm(form);
      dialog.showModal();
    });
    dialog.addEventListener('close', () => {
      if (dialog.returnValue !== 'save') {
        return;
      }
      readSettingsForm(form);
      saveSettings();
      render();
      poll(); // the refresh interval may have changed
    });

    chart.canvas.addEventListener('pointermove', showTip);
    chart.canvas.addEventListener('pointerleave', hideTip);
    let resizeTimer = 0;
    window.addEventListener('resize', () => {
      clearTimeout(resizeTimer);
      resizeTimer = setTimeout(() => {
        setupCanvas();
        drawChart();
      }, 150);
    });
    document.addEventListener('visibilitychange', () => {
      if (!document.hidden) {
        poll();
      }
    });

    render();
    poll();
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', init);
  } else {
    init();
  }
})();
