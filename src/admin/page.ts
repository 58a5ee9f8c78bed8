// The console page: a static HTML document, a stylesheet and a script, served as they are (no build step, no
// external assets, no inline script: the Content-Security-Policy allows only these files). The script reads the JSON
// API of server.ts with the token the operator opened the page with, refreshes the current view every two seconds,
// and re-renders only the parts whose data changed: what the operator types (filters, the fork step, a backfill
// range) lives in elements that a refresh never replaces.

import { WORKFLOW_STATUSES } from '../validation.js';

export const CONSOLE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Transact console</title>
<link rel="stylesheet" href="/console.css">
<script src="/console.js" defer></script>
</head>
<body>
<header>
  <a class="brand" href="#/workflows">Transact</a>
  <nav id="nav">
    <a href="#/workflows" data-view="workflows">Workflows</a>
    <a href="#/queues" data-view="queues">Queues</a>
    <a href="#/schedules" data-view="schedules">Schedules</a>
    <a href="#/executors" data-view="executors">Executors</a>
    <a href="#/receivers" data-view="receivers">Receivers</a>
    <a href="#/versions" data-view="versions">Versions</a>
  </nav>
  <span id="live" class="live" aria-live="polite"></span>
</header>
<div id="outage" class="banner" role="alert" hidden></div>
<form id="tokenForm" class="panel token" hidden>
  <p>This console needs its access token: open the address the <code>transact dashboard</code> command printed, or paste the token here.</p>
  <input id="tokenInput" type="password" autocomplete="off" placeholder="token" aria-label="token">
  <button type="submit">Use token</button>
</form>
<main>
<section id="view-workflows" class="view" hidden>
  <form id="filters" class="filters" autocomplete="off">
    <input name="search" type="search" placeholder="Search IDs and names" aria-label="search IDs and names" class="wide">
    <select name="status" aria-label="status"><option value="">Any status</option>
      ${WORKFLOW_STATUSES.map((s) => `<option value="${s}">${s}</option>`).join('')}
    </select>
    <input name="name" list="facet-names" placeholder="Workflow name" aria-label="workflow name">
    <input name="queue" list="facet-queues" placeholder="Queue" aria-label="queue">
    <input name="version" list="facet-versions" placeholder="Version" aria-label="application version">
    <input name="executor" list="facet-executors" placeholder="Executor" aria-label="executor">
    <label>From <input name="from" type="datetime-local" step="1" aria-label="created from"></label>
    <label>To <input name="to" type="datetime-local" step="1" aria-label="created to"></label>
    <label><input name="topLevel" type="checkbox" value="1"> Top-level only</label>
    <button type="button" id="clearFilters">Clear</button>
    <datalist id="facet-names"></datalist><datalist id="facet-queues"></datalist>
    <datalist id="facet-versions"></datalist><datalist id="facet-executors"></datalist>
  </form>
  <div class="toolbar">
    <span id="total" class="total"></span>
    <button type="button" id="newer">&larr; Newer</button>
    <span id="pageInfo"></span>
    <button type="button" id="older">Older &rarr;</button>
    <label>Rows <select id="pageSize"><option>25</option><option selected>50</option><option>100</option><option>200</option></select></label>
    <span class="spacer"></span>
    <button type="button" id="bulkCancel" class="danger">Cancel matching&hellip;</button>
    <button type="button" id="bulkResume">Resume matching&hellip;</button>
  </div>
  <div id="listMessage" class="message" role="status"></div>
  <table class="grid">
    <thead><tr><th>Workflow ID</th><th>Name</th><th>Status</th><th>Queue</th><th>Created <span class="zone"></span></th><th>Duration</th><th>Executor</th><th>Version</th></tr></thead>
    <tbody id="rows"></tbody>
  </table>
</section>

<section id="view-workflow" class="view" hidden>
  <p><a id="backToList" href="#/workflows">&larr; All workflows</a></p>
  <div id="wfHead"></div>
  <div class="actions panel">
    <button type="button" data-act="cancel" class="danger">Cancel</button>
    <button type="button" data-act="resume">Resume</button>
    <span class="group">
      <label>Step <input id="forkStep" type="number" min="0" step="1" inputmode="numeric" placeholder="#" aria-label="step to fork or rewind from"></label>
      <input id="forkID" placeholder="new workflow ID (optional)" aria-label="new workflow ID for the fork">
      <button type="button" data-act="fork">Fork from step</button>
      <button type="button" data-act="rewind">Rewind to step</button>
    </span>
    <span class="group">
      <label><input id="deleteChildren" type="checkbox"> with children</label>
      <button type="button" data-act="delete" class="danger">Delete</button>
    </span>
    <button type="button" data-act="export" title="its input, outcome and every step as recorded, for replayTest (transact/testing)">Export history</button>
  </div>
  <div id="actionMessage" class="message" role="status"></div>
  <div id="wfBody"></div>
</section>

<section id="view-queues" class="view" hidden>
  <h2>Queues</h2>
  <table class="grid"><thead><tr><th>Queue</th><th>Waiting</th><th>Running</th><th>Delayed</th><th>Oldest waiting</th><th>Concurrency</th><th>Per worker</th><th>Rate limit</th><th>Stored</th></tr></thead>
  <tbody id="queueRows"></tbody></table>
</section>

<section id="view-schedules" class="view" hidden>
  <h2>Schedules</h2>
  <table class="grid"><thead><tr><th>Schedule</th><th>Workflow</th><th>Cron</th><th>Zone</th><th>Status</th><th>Last fired</th><th>Next fire</th><th>Actions</th></tr></thead>
  <tbody id="scheduleRows"></tbody></table>
  <form id="backfill" class="panel filters" autocomplete="off">
    <strong>Backfill</strong>
    <select id="backfillName" aria-label="schedule to backfill"></select>
    <label>From <input id="backfillStart" type="datetime-local" step="1" required></label>
    <label>To <input id="backfillEnd" type="datetime-local" step="1" required></label>
    <button type="submit">Backfill&hellip;</button>
  </form>
  <div id="scheduleMessage" class="message" role="status"></div>
</section>

<section id="view-executors" class="view" hidden>
  <h2>Executors</h2>
  <p class="hint" id="leaseHint"></p>
  <table class="grid"><thead><tr><th>Executor</th><th>Application</th><th>Version</th><th>Host</th><th>PID</th><th>Started</th><th>Last heartbeat</th><th>State</th><th>Running</th></tr></thead>
  <tbody id="executorRows"></tbody></table>
</section>

<section id="view-receivers" class="view" hidden>
  <h2>Event receivers</h2>
  <p class="hint" id="receiverHint"></p>
  <div id="receiverAlert" class="banner" role="alert" hidden></div>
  <table class="grid"><thead><tr><th>Source</th><th>Consumer</th><th>Group</th><th>State</th><th>Since</th><th>Crashes</th><th>Lag</th><th>Acknowledged</th><th>Stored</th><th>Finished</th></tr></thead>
  <tbody id="receiverRows"></tbody></table>
</section>

<section id="view-versions" class="view" hidden>
  <h2>Application versions</h2>
  <table class="grid"><thead><tr><th>Version</th><th>Latest</th><th>Timestamp</th><th>Created</th><th>Version ID</th></tr></thead>
  <tbody id="versionRows"></tbody></table>
</section>
</main>
<dialog id="confirm">
  <form method="dialog">
    <p id="confirmText"></p>
    <div class="dialogButtons"><button value="ok" id="confirmOk" class="danger">Confirm</button> <button value="cancel" id="confirmBack">Back</button></div>
  </form>
</dialog>
</body>
</html>
`;

export const CONSOLE_CSS = `
:root { --ink: #1d2330; --muted: #5f6b7a; --line: #dde1e7; --bg: #f6f7f9; --accent: #0b57d0; --bad: #b3261e; --good: #1a7f37; --warn: #9a6700; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0; color: var(--ink); background: var(--bg); }
a { color: var(--accent); text-decoration: none; } a:hover { text-decoration: underline; }
header { background: #1d2330; color: #fff; padding: 8px 20px; display: flex; gap: 20px; align-items: center; position: sticky; top: 0; z-index: 2; }
header .brand { color: #fff; font-weight: 700; font-size: 17px; }
header nav { display: flex; gap: 4px; }
header nav a { color: #c9d1dc; padding: 4px 10px; border-radius: 4px; }
header nav a.current { background: #39425a; color: #fff; }
.live { margin-left: auto; color: #c9d1dc; font-size: 12px; }
.live.down { color: #ffb4ab; font-weight: 600; }
.banner { background: var(--bad); color: #fff; padding: 10px 20px; font-weight: 600; }
main { padding: 14px 20px 40px; }
main.stale .view { opacity: 0.55; }
h2 { font-size: 16px; margin: 4px 0 10px; }
.panel { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px; margin: 10px 0; }
.token { margin: 14px 20px; }
.filters { display: flex; flex-wrap: wrap; gap: 8px; align-items: center; margin-bottom: 8px; }
.filters .wide { min-width: 240px; }
input, select, button { font: inherit; padding: 4px 8px; border: 1px solid #b9c0ca; border-radius: 4px; background: #fff; color: var(--ink); }
button { cursor: pointer; background: #eef1f5; } button:hover { background: #e2e7ee; }
button.danger { color: var(--bad); border-color: #e3b4b0; }
button:disabled { opacity: 0.5; cursor: default; }
.toolbar { display: flex; gap: 10px; align-items: center; margin: 6px 0; flex-wrap: wrap; }
.toolbar .total { font-weight: 600; }
.spacer { flex: 1; }
table.grid { border-collapse: collapse; width: 100%; background: #fff; border: 1px solid var(--line); }
.grid th, .grid td { text-align: left; padding: 5px 8px; border-bottom: 1px solid #eef0f3; white-space: nowrap; vertical-align: top; }
.grid th { background: #f0f2f5; font-weight: 600; font-size: 12px; color: var(--muted); position: sticky; top: 44px; }
.grid tbody tr:hover { background: #f3f6fc; }
.grid td.num { text-align: right; font-variant-numeric: tabular-nums; }
.mono, .grid td.id { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12.5px; }
td.id { max-width: 340px; overflow: hidden; text-overflow: ellipsis; }
.empty { color: var(--muted); padding: 16px; text-align: center; }
.badge { display: inline-block; padding: 1px 7px; border-radius: 10px; font-size: 12px; font-weight: 600; background: #eef0f3; }
.st-SUCCESS { color: var(--good); background: #e6f4ea; } .st-ERROR, .st-MAX_RECOVERY_ATTEMPTS_EXCEEDED { color: var(--bad); background: #fce8e6; }
.st-PENDING { color: var(--warn); background: #fff4d6; } .st-ENQUEUED, .st-DELAYED { color: var(--accent); background: #e8f0fe; }
.st-CANCELLED { color: #555; background: #eceff1; } .st-alive, .st-ACTIVE { color: var(--good); background: #e6f4ea; }
.st-silent { color: var(--bad); background: #fce8e6; } .st-PAUSED { color: var(--warn); background: #fff4d6; }
.st-running { color: var(--good); background: #e6f4ea; } .st-crashed { color: var(--bad); background: #fce8e6; }
.st-rebalancing, .st-paused, .st-starting { color: var(--warn); background: #fff4d6; }
.lagParts { color: var(--muted); font-size: 12px; }
.grid td.crash { white-space: normal; max-width: 380px; } .crash .hint { display: block; font-size: 12px; }
.message { min-height: 1.4em; margin: 6px 0; }
.message.ok { color: var(--good); } .message.refused, .message.error { color: var(--bad); font-weight: 600; }
.actions { display: flex; flex-wrap: wrap; gap: 10px; align-items: center; }
.actions .group { display: inline-flex; gap: 6px; align-items: center; padding-left: 10px; border-left: 1px solid var(--line); }
#forkStep { width: 5em; } #forkID { width: 16em; }
.head { display: flex; gap: 12px; align-items: baseline; flex-wrap: wrap; }
.head h1 { font-size: 18px; margin: 0; font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; word-break: break-all; }
.fields { display: grid; grid-template-columns: repeat(auto-fill, minmax(260px, 1fr)); gap: 4px 18px; }
.fields div { display: flex; gap: 8px; } .fields dt { color: var(--muted); min-width: 110px; } .fields dd { margin: 0; word-break: break-all; }
details > summary { cursor: pointer; font-weight: 600; margin: 4px 0; }
pre { margin: 4px 0; padding: 8px; background: #f7f8fa; border: 1px solid #eef0f3; border-radius: 4px; white-space: pre-wrap; word-break: break-word; max-height: 420px; overflow: auto; font-size: 12.5px; }
.err { color: var(--bad); font-weight: 600; }
.relations a { margin-right: 8px; }
.bar { position: relative; height: 10px; background: #f0f2f5; border-radius: 3px; min-width: 160px; }
.bar span { position: absolute; top: 0; bottom: 0; background: #7aa7f0; border-radius: 3px; min-width: 2px; }
.bar span.bad { background: #e8837b; } .bar span.sleep { background: #c8ced8; }
.hint { color: var(--muted); }
dialog { border: 1px solid var(--line); border-radius: 8px; max-width: 560px; padding: 16px 18px; }
dialog::backdrop { background: rgba(20, 25, 35, 0.35); }
.dialogButtons { display: flex; gap: 8px; justify-content: flex-end; }
`;

// The script: plain ES2020, no template literals (this file holds it in one), no external code.
export const CONSOLE_JS = String.raw`'use strict';
(function () {
  var $ = function (s) { return document.querySelector(s); };
  var TOKEN_KEY = 'transact-console-token';
  var token = null;
  var lastGood = null;
  var inFlight = false;
  var rendered = {};
  var view = { name: 'workflows', id: null, query: new URLSearchParams() };
  var listHash = '#/workflows';
  var current = { list: null, detail: null, schedules: [] };

  // ----------------------------------------------------------------------------------- formatting
  function esc(v) {
    return String(v === undefined || v === null ? '' : v).replace(/[&<>"']/g, function (c) {
      return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c];
    });
  }
  function pad(n, w) { n = String(n); while (n.length < (w || 2)) n = '0' + n; return n; }
  var zoneLabel = (function () {
    var off = -new Date().getTimezoneOffset();
    var zone = '';
    try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || ''; } catch (e) { zone = ''; }
    return 'UTC' + (off >= 0 ? '+' : '-') + pad(Math.floor(Math.abs(off) / 60)) + ':' + pad(Math.abs(off) % 60) + (zone ? ' ' + zone : '');
  })();
  function time(ms) {
    if (ms === undefined || ms === null || ms === '') return '';
    var d = new Date(typeof ms === 'string' && !/^\d+$/.test(ms) ? ms : Number(ms));
    if (isNaN(d.getTime())) return '(invalid: ' + esc(ms) + ')';
    return d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' + pad(d.getDate()) + ' ' + pad(d.getHours()) + ':' + pad(d.getMinutes()) + ':' + pad(d.getSeconds());
  }
  function timeTag(ms) {
    var t = time(ms);
    if (!t) return '';
    var d = new Date(typeof ms === 'string' && !/^\d+$/.test(ms) ? ms : Number(ms));
    return '<time title="' + esc(isNaN(d.getTime()) ? '' : d.toISOString()) + '">' + esc(t) + '</time>';
  }
  function duration(ms) {
    if (ms === undefined || ms === null || isNaN(ms)) return '';
    ms = Math.max(0, Math.round(ms));
    if (ms < 1000) return ms + ' ms';
    if (ms < 60000) return (ms / 1000).toFixed(ms < 10000 ? 2 : 1) + ' s';
    var s = Math.floor(ms / 1000);
    if (s < 3600) return Math.floor(s / 60) + ' m ' + pad(s % 60) + ' s';
    if (s < 86400) return Math.floor(s / 3600) + ' h ' + pad(Math.floor(s / 60) % 60) + ' m';
    return Math.floor(s / 86400) + ' d ' + Math.floor(s / 3600) % 24 + ' h';
  }
  function ago(ms) { return ms === null || ms === undefined ? '' : duration(Date.now() - Number(ms)) + ' ago'; }
  function pretty(v) {
    if (v === undefined) return '';
    try { return JSON.stringify(v, null, 2); } catch (e) { return String(v); }
  }
  function badge(s) { return '<span class="badge st-' + esc(s) + '">' + esc(s) + '</span>'; }
  function wfLink(id) { return '<a class="mono" href="#/workflow/' + esc(encodeURIComponent(id)) + '">' + esc(id) + '</a>'; }
  function listLink(key, value, text) {
    var q = new URLSearchParams(); q.set(key, value);
    return '<a href="#/workflows?' + esc(q.toString()) + '">' + esc(text === undefined ? value : text) + '</a>';
  }
  function fullName(w) { return w.workflowClassName ? w.workflowClassName + '.' + w.workflowName : w.workflowName; }
  function isFinished(s) { return s === 'SUCCESS' || s === 'ERROR' || s === 'CANCELLED' || s === 'MAX_RECOVERY_ATTEMPTS_EXCEEDED'; }
  /** Replaces an element's content only when it changed, keeping open <details> open. */
  function put(el, html) {
    if (typeof el === 'string') el = $(el);
    if (!el || rendered[el.id] === html) return;
    var open = {};
    el.querySelectorAll('details[data-key]').forEach(function (d) { open[d.dataset.key] = d.open; });
    el.innerHTML = html;
    el.querySelectorAll('details[data-key]').forEach(function (d) { if (d.dataset.key in open) d.open = open[d.dataset.key]; });
    // Positions are set through the DOM: the Content-Security-Policy allows no inline style attributes.
    el.querySelectorAll('[data-left]').forEach(function (b) { b.style.left = b.dataset.left + '%'; b.style.width = b.dataset.width + '%'; });
    rendered[el.id] = html;
  }
  function say(el, kind, text) {
    el = $(el);
    el.className = 'message ' + kind;
    el.textContent = text;
  }

  // ----------------------------------------------------------------------------------- the API
  function ApiError(message, status, body) { this.message = message; this.status = status; this.body = body || {}; }
  ApiError.prototype = Object.create(Error.prototype);

  function setOutage(message) {
    var banner = $('#outage');
    var since = lastGood ? ' The data shown is from ' + time(lastGood) + ' and may be out of date.' : '';
    banner.textContent = 'The system database is unreachable: ' + String(message).replace(/^the system database is unreachable: /, '') + '.' + since + ' Retrying every 2 seconds.';
    banner.hidden = false;
    document.querySelector('main').classList.add('stale');
    var live = $('#live'); live.textContent = 'database unreachable'; live.className = 'live down';
  }
  function clearOutage() {
    lastGood = Date.now();
    $('#outage').hidden = true;
    document.querySelector('main').classList.remove('stale');
    var live = $('#live'); live.textContent = 'live \u00b7 updated ' + time(lastGood).slice(11) + ' \u00b7 times in ' + zoneLabel; live.className = 'live';
  }

  function api(path, body) {
    if (!token) { $('#tokenForm').hidden = false; return Promise.reject(new ApiError('no token', 401)); }
    var controller = new AbortController();
    var timer = setTimeout(function () { controller.abort(); }, 12000);
    var options = { method: body === undefined ? 'GET' : 'POST', headers: { authorization: 'Bearer ' + token }, signal: controller.signal, cache: 'no-store' };
    if (body !== undefined) { options.headers['content-type'] = 'application/json'; options.body = JSON.stringify(body); }
    return fetch(path, options).then(function (res) {
      return res.text().then(function (text) {
        var data = {};
        try { data = text ? JSON.parse(text) : {}; } catch (e) { data = { error: text }; }
        if (res.status === 401) { $('#tokenForm').hidden = false; throw new ApiError(data.error || 'the token was refused', 401, data); }
        if (res.status === 503 || data.outage) { setOutage(data.error || 'no answer'); throw new ApiError(data.error || 'database unreachable', 503, data); }
        clearOutage();
        if (!res.ok) throw new ApiError(data.error || res.statusText, res.status, data);
        return data;
      });
    }, function (err) {
      var why = err && err.name === 'AbortError' ? 'the console server did not answer within 12 s' : 'the console server cannot be reached (' + (err && err.message) + ')';
      setOutage(why);
      throw new ApiError(why, 0);
    }).finally(function () { clearTimeout(timer); });
  }
  function outcome(err) {
    if (err.status === 409) return ['refused', 'Refused: ' + err.message];
    if (err.status === 404) return ['refused', 'Not found: ' + err.message];
    if (err.status === 400) return ['refused', 'Not done: ' + err.message];
    if (err.status === 503 || err.status === 0) return ['error', 'Not done, the database is unreachable: ' + err.message];
    return ['error', 'Failed: ' + err.message];
  }

  var confirmResolve = null;
  function confirmAction(text, okLabel) {
    $('#confirmText').textContent = text;
    $('#confirmOk').textContent = okLabel || 'Confirm';
    var dialog = $('#confirm');
    dialog.returnValue = '';
    dialog.showModal();
    return new Promise(function (resolve) { confirmResolve = resolve; });
  }

  // ----------------------------------------------------------------------------------- routing
  function parseHash() {
    var h = location.hash.replace(/^#/, '');
    var m = /(?:^|&)token=([^&]*)/.exec(h);
    if (m) {
      token = decodeURIComponent(m[1]);
      try { localStorage.setItem(TOKEN_KEY, token); } catch (e) { /* private mode: kept for this page only */ }
      history.replaceState(null, '', location.pathname + '#/workflows');
      h = '/workflows';
    }
    var q = h.indexOf('?');
    var path = q < 0 ? h : h.slice(0, q);
    var query = new URLSearchParams(q < 0 ? '' : h.slice(q + 1));
    var parts = path.split('/').filter(Boolean);
    if (parts[0] === 'workflow' && parts[1]) return { name: 'workflow', id: decodeURIComponent(parts.slice(1).join('/')), query: query };
    if (['queues', 'schedules', 'executors', 'receivers', 'versions'].indexOf(parts[0]) >= 0) return { name: parts[0], id: null, query: query };
    return { name: 'workflows', id: null, query: query };
  }

  function route() {
    var next = parseHash();
    var changedWorkflow = next.name === 'workflow' && next.id !== view.id;
    view = next;
    document.querySelectorAll('.view').forEach(function (s) { s.hidden = s.id !== 'view-' + view.name; });
    document.querySelectorAll('#nav a').forEach(function (a) {
      a.classList.toggle('current', a.dataset.view === view.name || (view.name === 'workflow' && a.dataset.view === 'workflows'));
    });
    if (view.name === 'workflows') { listHash = location.hash || '#/workflows'; fillFilters(); loadFacets(); }
    if (view.name === 'workflow') {
      $('#backToList').setAttribute('href', listHash);
      if (changedWorkflow) {
        put('#wfHead', ''); put('#wfBody', '<p class="hint">Loading&hellip;</p>');
        say('#actionMessage', '', '');
        $('#forkStep').value = sessionStorage.getItem('fork-step:' + view.id) || '';
        $('#forkID').value = sessionStorage.getItem('fork-id:' + view.id) || '';
        $('#deleteChildren').checked = false;
      }
    }
    refresh();
  }

  // ----------------------------------------------------------------------------------- workflows list
  var FILTER_KEYS = ['search', 'status', 'name', 'queue', 'version', 'executor', 'from', 'to', 'topLevel'];
  function fillFilters() {
    var form = $('#filters');
    FILTER_KEYS.forEach(function (k) {
      var el = form.elements[k];
      var v = view.query.get(k) || '';
      if (el.type === 'checkbox') el.checked = v === '1';
      else if (document.activeElement !== el) el.value = v;
    });
    $('#pageSize').value = view.query.get('limit') || '50';
  }
  function filterQuery() {
    var form = $('#filters');
    var q = new URLSearchParams();
    FILTER_KEYS.forEach(function (k) {
      var el = form.elements[k];
      if (el.type === 'checkbox') { if (el.checked) q.set(k, '1'); }
      else if (el.value.trim() !== '') q.set(k, el.value.trim());
    });
    return q;
  }
  /** The filter as the API reads it: datetime-local values are local times, sent as ISO instants. */
  function apiFilter(q) {
    var out = new URLSearchParams(q.toString());
    ['from', 'to'].forEach(function (k) {
      var v = out.get(k);
      if (v) { var d = new Date(v); if (!isNaN(d.getTime())) out.set(k, d.toISOString()); }
    });
    out.delete('offset'); out.delete('limit');
    return out;
  }
  function setListHash(q) {
    var text = q.toString();
    var h = '#/workflows' + (text ? '?' + text : '');
    if (location.hash !== h) history.replaceState(null, '', h);
    listHash = h;
    view.query = q;
  }
  var filterTimer = null;
  function filtersChanged() {
    clearTimeout(filterTimer);
    filterTimer = setTimeout(function () {
      var q = filterQuery();
      var size = $('#pageSize').value;
      if (size !== '50') q.set('limit', size);
      setListHash(q);
      refresh();
    }, 250);
  }
  var facetsLoaded = false;
  function loadFacets() {
    if (facetsLoaded) return;
    api('/api/facets').then(function (f) {
      facetsLoaded = true;
      var fill = function (id, list) { $(id).innerHTML = list.map(function (v) { return '<option value="' + esc(v) + '">'; }).join(''); };
      fill('#facet-names', f.names); fill('#facet-queues', f.queues); fill('#facet-versions', f.versions); fill('#facet-executors', f.executors);
    }, function () { /* suggestions only */ });
  }
  function loadList() {
    var q = apiFilter(view.query);
    var limit = Number(view.query.get('limit') || 50);
    var offset = Number(view.query.get('offset') || 0);
    q.set('limit', String(limit)); q.set('offset', String(offset));
    return api('/api/workflows?' + q.toString()).then(function (page) {
      current.list = page;
      var from = page.total === 0 ? 0 : page.offset + 1;
      var to = page.offset + page.workflows.length;
      $('#total').textContent = page.total + (page.total === 1 ? ' workflow' : ' workflows');
      $('#pageInfo').textContent = page.total ? from + '\u2013' + to + ' of ' + page.total + ', newest first' : '';
      $('#newer').disabled = page.offset === 0;
      $('#older').disabled = to >= page.total;
      document.querySelectorAll('.zone').forEach(function (z) { z.textContent = '(' + zoneLabel + ')'; });
      var now = Date.now();
      put('#rows', page.workflows.length === 0 ? '<tr><td colspan="8" class="empty">No workflows match these filters.</td></tr>' : page.workflows.map(function (w) {
        var end = w.completedAt || (isFinished(w.status) ? w.updatedAt : null);
        return '<tr data-id="' + esc(w.workflowID) + '"><td class="id">' + wfLink(w.workflowID) + '</td><td>' + esc(fullName(w)) + '</td><td>' + badge(w.status) +
          '</td><td>' + esc(w.queueName || '') + '</td><td>' + timeTag(w.createdAt) + '</td><td class="num">' + (end ? duration(end - w.createdAt) : '<span class="hint">' + duration(now - w.createdAt) + ' so far</span>') +
          '</td><td class="mono">' + esc(w.executorId || '') + '</td><td>' + esc(w.applicationVersion || '') + '</td></tr>';
      }).join(''));
    });
  }
  function page(delta) {
    var q = new URLSearchParams(view.query.toString());
    var limit = Number(q.get('limit') || 50);
    var offset = Math.max(0, Number(q.get('offset') || 0) + delta * limit);
    if (offset) q.set('offset', String(offset)); else q.delete('offset');
    setListHash(q);
    refresh();
  }
  function describeFilter(q) {
    var parts = [];
    q.forEach(function (v, k) { if (k !== 'limit' && k !== 'offset') parts.push(k + ' = ' + v); });
    return parts.length ? parts.join(', ') : 'no filter (every workflow)';
  }
  function bulk(action) {
    var q = apiFilter(view.query);
    var filter = {};
    q.forEach(function (v, k) { filter[k] = v; });
    say('#listMessage', '', 'Counting\u2026');
    api('/api/bulk/preview', { action: action, filter: filter }).then(function (p) {
      if (p.count === 0) { say('#listMessage', 'refused', 'Nothing to ' + action + ': no ' + p.statuses.join(', ') + ' workflow matches ' + describeFilter(view.query) + '.'); return; }
      say('#listMessage', '', '');
      var text = (action === 'cancel' ? 'Cancel ' : 'Resume ') + p.count + ' workflow' + (p.count === 1 ? '' : 's') + ' matching ' + describeFilter(view.query) +
        ' (statuses ' + p.statuses.join(', ') + ')?' + (p.capped ? ' Only the newest ' + p.workflowIDs.length + ' are ' + action + (action === 'cancel' ? 'led' : 'd') + ' now; run it again for the rest.' : '');
      return confirmAction(text, action === 'cancel' ? 'Cancel ' + p.workflowIDs.length : 'Resume ' + p.workflowIDs.length).then(function (ok) {
        if (!ok) { say('#listMessage', '', 'Nothing was done.'); return; }
        return api('/api/bulk/apply', { action: action, workflowIDs: p.workflowIDs }).then(function (r) {
          var text2 = r.message.charAt(0).toUpperCase() + r.message.slice(1) + '.' + (r.refused.length ? ' Refused: ' + r.refused.slice(0, 3).map(function (x) { return x.reason; }).join('; ') + (r.refused.length > 3 ? '; \u2026' : '') : '');
          say('#listMessage', r.refused.length ? 'refused' : 'ok', text2);
          refresh();
        });
      });
    }).catch(function (err) { var o = outcome(err); say('#listMessage', o[0], o[1]); });
  }

  // ----------------------------------------------------------------------------------- one workflow
  function field(label, html) { return html === '' || html === undefined || html === null ? '' : '<div><dt>' + esc(label) + '</dt><dd>' + html + '</dd></div>'; }
  function errorBlock(err, key) {
    if (err === undefined || err === null) return '';
    if (typeof err !== 'object') return '<p class="err">' + esc(String(err)) + '</p>';
    var head = '<p class="err">' + esc((err.name || 'Error') + ': ' + (err.message || '')) + '</p>';
    var stack = err.stack ? '<details data-key="' + esc(key) + '-stack" open><summary>Stack (as stored)</summary><pre>' + esc(err.stack) + '</pre></details>' : '<p class="hint">No stack was stored with this error.</p>';
    return head + stack;
  }
  function stepOutcome(s) {
    if (s.error !== null && s.error !== undefined) {
      var e = s.error;
      return '<span class="err">' + esc(typeof e === 'object' ? (e.name || 'Error') + ': ' + (e.message || '') : String(e)) + '</span>';
    }
    if (s.name === 'DBOS.sleep' && typeof s.output === 'number') return 'sleep until ' + timeTag(s.output);
    if (s.output === null || s.output === undefined) return '<span class="hint">no output</span>';
    var text = typeof s.output === 'string' ? s.output : JSON.stringify(s.output);
    return '<span class="mono">' + esc(text.length > 80 ? text.slice(0, 77) + '\u2026' : text) + '</span>';
  }
  function timeline(w, steps) {
    if (!steps.length) return '<p class="hint">No steps recorded.</p>';
    var start = w.createdAt;
    var end = start;
    steps.forEach(function (s) { end = Math.max(end, s.completedAtEpochMs || s.startedAtEpochMs || 0); if (s.name === 'DBOS.sleep' && typeof s.output === 'number') end = Math.max(end, Math.min(s.output, Date.now())); });
    end = Math.max(end, w.completedAt || 0, isFinished(w.status) ? 0 : Date.now());
    var span = Math.max(1, end - start);
    var rows = steps.map(function (s) {
      var st = s.startedAtEpochMs, en = s.completedAtEpochMs;
      var sleepUntil = s.name === 'DBOS.sleep' && typeof s.output === 'number' ? s.output : null;
      var barEnd = sleepUntil ? Math.min(sleepUntil, end) : en;
      var bar = '';
      if (st) {
        var left = Math.max(0, (st - start) / span * 100), width = Math.max(0.4, ((barEnd || st) - st) / span * 100);
        bar = '<div class="bar"><span class="' + (s.error ? 'bad' : sleepUntil ? 'sleep' : '') + '" data-left="' + left.toFixed(2) + '" data-width="' + Math.min(width, 100 - left).toFixed(2) + '"></span></div>';
      }
      var detail = '';
      if (s.error || (s.output !== null && s.output !== undefined && !sleepUntil)) {
        detail = '<details data-key="step-' + s.functionID + '"><summary>' + (s.error ? 'error' : 'output') + '</summary>' +
          (s.error ? errorBlock(s.error, 'step-' + s.functionID) : '<pre>' + esc(pretty(s.output)) + '</pre>') + '</details>';
      }
      return '<tr><td class="num">' + s.functionID + '</td><td>' + esc(s.name) + '</td><td>' + (st ? timeTag(st) + ' <span class="hint">+' + duration(st - start) + '</span>' : '') +
        '</td><td class="num">' + (st && en ? duration(en - st) : sleepUntil ? '' : '') + '</td><td>' + bar + '</td><td>' + stepOutcome(s) + detail +
        '</td><td>' + (s.childWorkflowID ? wfLink(s.childWorkflowID) : '') + '</td></tr>';
    });
    return '<table class="grid"><thead><tr><th>#</th><th>Step</th><th>Started</th><th>Duration</th><th>Timeline</th><th>Outcome</th><th>Child</th></tr></thead><tbody>' + rows.join('') + '</tbody></table>';
  }
  function related(list, empty) {
    if (!list.length) return '<span class="hint">' + empty + '</span>';
    return list.map(function (c) { return wfLink(c.workflowID) + ' ' + badge(c.status); }).join(' &nbsp; ');
  }
  function loadDetail() {
    var id = view.id;
    return api('/api/workflows/' + encodeURIComponent(id)).then(function (d) {
      if (view.id !== id) return;
      current.detail = d;
      var w = d.workflow;
      var end = w.completedAt || (isFinished(w.status) ? w.updatedAt : null);
      put('#wfHead', '<div class="head"><h1>' + esc(w.workflowID) + '</h1>' + badge(w.status) + '<span>' + esc(fullName(w)) + '</span></div>');
      var fields = [
        field('Queue', w.queueName ? listLink('queue', w.queueName) : ''),
        field('Executor', w.executorId ? listLink('executor', w.executorId) : ''),
        field('Version', w.applicationVersion ? listLink('version', w.applicationVersion) : ''),
        field('Application', esc(w.applicationName || '')),
        field('Created', timeTag(w.createdAt)),
        field('Dequeued', timeTag(w.dequeuedAt)),
        field('Completed', timeTag(w.completedAt)),
        field('Duration', end ? duration(end - w.createdAt) : duration(Date.now() - w.createdAt) + ' so far'),
        field('Updated', timeTag(w.updatedAt)),
        field('Recovery attempts', esc(w.recoveryAttempts)),
        field('Priority', w.priority ? esc(w.priority) : ''),
        field('Deduplication ID', esc(w.deduplicationID || '')),
        field('Partition key', esc(w.queuePartitionKey || '')),
        field('Timeout', w.timeoutMS ? duration(w.timeoutMS) : ''),
        field('Deadline', timeTag(w.deadlineEpochMS)),
        field('Delayed until', timeTag(w.delayUntilEpochMS)),
        field('User', esc(w.authenticatedUser || '')),
        field('Roles', w.authenticatedRoles && w.authenticatedRoles.length ? esc(w.authenticatedRoles.join(', ')) : ''),
        field('Schedule', esc(w.scheduleName || '')),
      ].join('');
      var rel = '<div class="panel relations"><dl class="fields">' +
        field('Parent', w.parentWorkflowID ? wfLink(w.parentWorkflowID) : '<span class="hint">none (top-level)</span>') +
        field('Forked from', w.forkedFrom ? wfLink(w.forkedFrom) : '') +
        field('Children', related(d.children, 'none')) +
        field('Forks', related(d.forks, 'none')) + '</dl></div>';
      var io = '<details data-key="input" open><summary>Input' + (Array.isArray(w.input) ? ' (' + w.input.length + ' argument' + (w.input.length === 1 ? '' : 's') + ')' : '') + '</summary><pre>' + esc(pretty(w.input)) + '</pre></details>';
      if (w.output !== undefined) io += '<details data-key="output" open><summary>Output</summary><pre>' + esc(pretty(w.output)) + '</pre></details>';
      if (w.error !== undefined && w.error !== null) io += '<h3>Error</h3>' + errorBlock(w.error, 'wf');
      put('#wfBody', '<div class="panel"><dl class="fields">' + fields + '</dl></div>' + rel + '<div class="panel">' + io + '</div>' +
        '<div class="panel"><h3>Steps</h3>' + timeline(w, d.steps) + '</div>');
    }, function (err) {
      if (err.status === 404) { put('#wfHead', ''); put('#wfBody', '<p class="err">' + esc(err.message) + '</p>'); }
      throw err;
    });
  }
  function stepName(n) {
    var d = current.detail;
    if (!d) return '';
    var s = d.steps.filter(function (x) { return x.functionID === n; })[0];
    return s ? ' (' + s.name + ')' : '';
  }
  // The recorded execution as a JSON file (nothing changes, so nothing to confirm), for replayTest of transact/testing.
  function exportHistory(id) {
    say('#actionMessage', '', 'Exporting\u2026');
    return api('/api/workflows/' + encodeURIComponent(id) + '/history').then(function (history) {
      var url = URL.createObjectURL(new Blob([JSON.stringify(history, null, 2) + '\n'], { type: 'application/json' }));
      var link = document.createElement('a');
      link.href = url;
      link.download = 'workflow-' + id.replace(/[^A-Za-z0-9._-]/g, '_') + '.history.json';
      document.body.appendChild(link);
      link.click();
      link.remove();
      setTimeout(function () { URL.revokeObjectURL(url); }, 60000);
      say('#actionMessage', 'ok', 'Exported the history of ' + id + ' (' + history.workflow.status + ', ' + history.steps.length + ' steps) as ' + link.download + '.');
    }).catch(function (err) { var o = outcome(err); say('#actionMessage', o[0], o[1]); });
  }
  function act(action) {
    var id = view.id;
    if (action === 'export') return exportHistory(id);
    var w = current.detail && current.detail.workflow;
    var stepText = $('#forkStep').value.trim();
    var body = {};
    var question;
    if (action === 'fork' || action === 'rewind') {
      if (!/^\d+$/.test(stepText)) { say('#actionMessage', 'refused', 'Type the step to ' + action + ' from (a whole number, 0 or more): nothing was done.'); $('#forkStep').focus(); return; }
      var n = Number(stepText);
      body.startStep = n;
      if (action === 'fork') {
        if ($('#forkID').value.trim()) body.newWorkflowID = $('#forkID').value.trim();
        question = 'Fork ' + id + ' from step ' + n + stepName(n) + '? ' + (n > 0 ? 'Steps 0\u2013' + (n - 1) + ' keep their recorded results; step ' + n : 'Every step, from step 0,') +
          ' and everything after run again in a new workflow' + (body.newWorkflowID ? ' named ' + body.newWorkflowID : '') + '.';
      } else {
        question = 'Rewind ' + id + ' to step ' + n + stepName(n) + '? It runs again under its own ID; the records of step ' + n + ' and later are discarded.';
      }
    } else if (action === 'cancel') {
      question = 'Cancel ' + id + (w ? ' (now ' + w.status + ')' : '') + '? Its current step finishes; no further step starts.';
    } else if (action === 'resume') {
      question = 'Resume ' + id + (w ? ' (now ' + w.status + ')' : '') + '? It runs again from its last recorded step.';
    } else if (action === 'delete') {
      body.deleteChildren = $('#deleteChildren').checked;
      question = 'Delete ' + id + (body.deleteChildren ? ' and all its descendants' : '') + ' with everything recorded? This cannot be undone.';
    }
    confirmAction(question, action.charAt(0).toUpperCase() + action.slice(1)).then(function (ok) {
      if (!ok) { say('#actionMessage', '', 'Nothing was done.'); return; }
      say('#actionMessage', '', 'Working\u2026');
      return api('/api/workflows/' + encodeURIComponent(id) + '/' + action, body).then(function (r) {
        var msg = r.message.charAt(0).toUpperCase() + r.message.slice(1) + '.';
        if (action === 'delete') { say('#listMessage', 'ok', msg); location.hash = listHash; return; }
        say('#actionMessage', 'ok', msg);
        if (action === 'fork' && r.forkID) {
          $('#actionMessage').insertAdjacentHTML('beforeend', ' <a href="#/workflow/' + esc(encodeURIComponent(r.forkID)) + '">Open the fork</a>');
        }
        refresh();
      });
    }).catch(function (err) { var o = outcome(err); say('#actionMessage', o[0], o[1]); });
  }

  // ----------------------------------------------------------------------------------- other views
  function num(n) { return '<td class="num">' + esc(n) + '</td>'; }
  function loadQueues() {
    return api('/api/queues').then(function (qs) {
      put('#queueRows', qs.length === 0 ? '<tr><td colspan="9" class="empty">No queue holds work, and none is stored.</td></tr>' : qs.map(function (q) {
        var rate = q.rateLimit ? q.rateLimit.limitPerPeriod + ' per ' + q.rateLimit.periodSec + ' s' : '';
        return '<tr><td>' + listLink('queue', q.queueName) + '</td>' + num(q.waiting) + num(q.running) + num(q.delayed) +
          '<td>' + (q.oldestWaitingCreatedAt ? timeTag(q.oldestWaitingCreatedAt) + ' <span class="hint">(' + ago(q.oldestWaitingCreatedAt) + ')</span>' : '') + '</td>' +
          num(q.concurrency === undefined || q.concurrency === null ? '' : q.concurrency) + num(q.workerConcurrency === undefined || q.workerConcurrency === null ? '' : q.workerConcurrency) +
          '<td>' + esc(rate) + '</td><td>' + (q.registered ? 'yes' : '<span class="hint">no (declared in code, or by no process)</span>') + '</td></tr>';
      }).join(''));
    });
  }
  function loadSchedules() {
    return api('/api/schedules').then(function (ss) {
      current.schedules = ss;
      put('#scheduleRows', ss.length === 0 ? '<tr><td colspan="8" class="empty">No stored schedules.</td></tr>' : ss.map(function (s) {
        var name = esc(s.scheduleName);
        return '<tr><td>' + name + '</td><td>' + listLink('name', s.workflowName) + '</td><td class="mono">' + esc(s.schedule) + '</td><td>' + esc(s.cronTimezone || 'server local') +
          '</td><td>' + badge(s.status) + '</td><td>' + timeTag(s.lastFiredAt) + '</td><td>' + timeTag(s.nextFireAt) + '</td><td>' +
          (s.status === 'ACTIVE' ? '<button type="button" data-sched="pause" data-name="' + name + '">Pause</button>' : '<button type="button" data-sched="resume" data-name="' + name + '">Resume</button>') +
          ' <button type="button" data-sched="trigger" data-name="' + name + '">Trigger now</button></td></tr>';
      }).join(''));
      var select = $('#backfillName');
      var names = ss.map(function (s) { return s.scheduleName; });
      var options = names.map(function (n) { return '<option value="' + esc(n) + '">' + esc(n) + '</option>'; }).join('');
      if (select.dataset.options !== options) { var keep = select.value; select.innerHTML = options; select.dataset.options = options; if (names.indexOf(keep) >= 0) select.value = keep; }
    });
  }
  function scheduleAction(action, name) {
    var question = action === 'pause' ? 'Pause schedule ' + name + '? No tick fires until it is resumed.' : action === 'resume' ? 'Resume schedule ' + name + '?' : 'Start the workflow of schedule ' + name + ' now, off its cron?';
    confirmAction(question, action.charAt(0).toUpperCase() + action.slice(1)).then(function (ok) {
      if (!ok) { say('#scheduleMessage', '', 'Nothing was done.'); return; }
      return api('/api/schedules/' + encodeURIComponent(name) + '/' + action, {}).then(function (r) {
        say('#scheduleMessage', 'ok', r.message.charAt(0).toUpperCase() + r.message.slice(1) + '.');
        refresh();
      });
    }).catch(function (err) { var o = outcome(err); say('#scheduleMessage', o[0], o[1]); });
  }
  function backfill() {
    var name = $('#backfillName').value;
    var s = $('#backfillStart').value, e = $('#backfillEnd').value;
    if (!name || !s || !e) { say('#scheduleMessage', 'refused', 'Choose a schedule and both ends of the range: nothing was done.'); return; }
    var body = { start: new Date(s).toISOString(), end: new Date(e).toISOString() };
    api('/api/schedules/' + encodeURIComponent(name) + '/backfill', body).then(function (p) {
      if (p.ticks === 0) { say('#scheduleMessage', 'refused', 'No tick of ' + name + ' falls in that range: nothing was done.'); return; }
      return confirmAction('Backfill ' + name + ': enqueue the workflows of ' + p.ticks + ' ticks from ' + time(body.start) + ' to ' + time(body.end) + '? Ticks that already ran are not run again.', 'Backfill').then(function (ok) {
        if (!ok) { say('#scheduleMessage', '', 'Nothing was done.'); return; }
        body.confirm = true;
        return api('/api/schedules/' + encodeURIComponent(name) + '/backfill', body).then(function (r) { say('#scheduleMessage', 'ok', r.message.charAt(0).toUpperCase() + r.message.slice(1) + '.'); });
      });
    }).catch(function (err) { var o = outcome(err); say('#scheduleMessage', o[0], o[1]); });
  }
  function loadExecutors() {
    return api('/api/executors').then(function (r) {
      $('#leaseHint').textContent = 'An executor silent for longer than its lease (' + duration(r.leaseMs) + ' by default) is presumed dead; a live executor of its version takes its workflows over.';
      put('#executorRows', r.executors.length === 0 ? '<tr><td colspan="9" class="empty">No executor has a heartbeat row.</td></tr>' : r.executors.map(function (e) {
        return '<tr><td class="mono">' + esc(e.executorID) + '</td><td>' + esc(e.applicationName) + '</td><td>' + listLink('version', e.applicationVersion) + '</td><td>' + esc(e.hostname || '') +
          '</td>' + num(e.pid === null ? '' : e.pid) + '<td>' + timeTag(e.startedAt) + '</td><td>' + duration(e.silentMs) + ' ago</td><td>' + badge(e.state) + '</td><td class="num">' +
          listLink('executor', e.executorID, e.pending + ' pending') + '</td></tr>';
      }).join(''));
    });
  }
  function loadReceivers() {
    return api('/api/receivers').then(function (r) {
      $('#receiverHint').textContent = 'The event receivers of the process this console runs in (' + r.host + ', pid ' + r.pid + '). A console started on its own has none.';
      var crashed = r.receivers.filter(function (c) { return c.state === 'crashed'; });
      var alert = $('#receiverAlert');
      alert.hidden = crashed.length === 0;
      alert.textContent = crashed.map(function (c) {
        return c.source + ' consumer ' + c.name + ' (' + c.group + ') crashed: ' + (c.lastCrash ? c.lastCrash.error : 'unknown cause') + '; it is being rebuilt.';
      }).join(' ');
      put('#receiverRows', r.receivers.length === 0 ? '<tr><td colspan="10" class="empty">No event receiver runs in this process.</td></tr>' : r.receivers.map(function (c) {
        var parts = Object.keys(c.lag).sort();
        var total = parts.reduce(function (n, k) { return n + c.lag[k]; }, 0);
        var lag = parts.length === 0 ? '<span class="hint">unknown</span>' : esc(total) + ' <span class="lagParts">' + parts.map(function (k) { return esc(k) + ': ' + esc(c.lag[k]); }).join(', ') + '</span>';
        var crash = c.lastCrash ? ' <span class="hint" title="' + esc(time(c.lastCrash.atMs)) + '">last: ' + esc(c.lastCrash.error) + ' (' + ago(c.lastCrash.atMs) + ')</span>' : '';
        return '<tr data-receiver="' + esc(c.source + ':' + c.name) + '"><td>' + esc(c.source) + '</td><td class="mono">' + esc(c.name) + '</td><td class="mono">' + esc(c.group) + '</td><td>' + badge(c.state) +
          '</td><td>' + ago(c.sinceMs) + '</td><td class="crash">' + esc(c.crashes) + crash + '</td><td>' + lag + '</td>' + num(c.taken) + num(c.stored) + num(c.finished) + '</tr>';
      }).join(''));
    });
  }
  function loadVersions() {
    return api('/api/versions').then(function (vs) {
      put('#versionRows', vs.length === 0 ? '<tr><td colspan="5" class="empty">No application versions.</td></tr>' : vs.map(function (v, i) {
        return '<tr><td>' + listLink('version', v.versionName) + '</td><td>' + (i === 0 ? badge('latest') : '') + '</td><td>' + timeTag(v.versionTimestamp) + '</td><td>' + timeTag(v.createdAt) +
          '</td><td class="mono">' + esc(v.versionId) + '</td></tr>';
      }).join(''));
    });
  }

  function refresh() {
    if (inFlight || !token) { if (!token) $('#tokenForm').hidden = false; return; }
    inFlight = true;
    var load = { workflows: loadList, workflow: loadDetail, queues: loadQueues, schedules: loadSchedules, executors: loadExecutors, receivers: loadReceivers, versions: loadVersions }[view.name];
    load().catch(function () { /* shown by the banner or in place */ }).finally(function () { inFlight = false; });
  }

  // ----------------------------------------------------------------------------------- wiring
  document.addEventListener('DOMContentLoaded', function () {
    try { token = localStorage.getItem(TOKEN_KEY); } catch (e) { token = null; }
    $('#confirm').addEventListener('close', function () { if (confirmResolve) { var r = confirmResolve; confirmResolve = null; r($('#confirm').returnValue === 'ok'); } });
    $('#tokenForm').addEventListener('submit', function (e) {
      e.preventDefault();
      token = $('#tokenInput').value.trim();
      try { localStorage.setItem(TOKEN_KEY, token); } catch (err) { /* kept for this page */ }
      $('#tokenForm').hidden = true;
      facetsLoaded = false;
      route();
    });
    $('#filters').addEventListener('input', filtersChanged);
    $('#filters').addEventListener('submit', function (e) { e.preventDefault(); });
    $('#pageSize').addEventListener('change', filtersChanged);
    $('#clearFilters').addEventListener('click', function () { $('#filters').reset(); filtersChanged(); });
    $('#newer').addEventListener('click', function () { page(-1); });
    $('#older').addEventListener('click', function () { page(1); });
    $('#bulkCancel').addEventListener('click', function () { bulk('cancel'); });
    $('#bulkResume').addEventListener('click', function () { bulk('resume'); });
    $('#rows').addEventListener('click', function (e) {
      if (e.target.closest('a')) return;
      var row = e.target.closest('tr[data-id]');
      if (row) location.hash = '#/workflow/' + encodeURIComponent(row.dataset.id);
    });
    document.querySelector('#view-workflow .actions').addEventListener('click', function (e) { var b = e.target.closest('button[data-act]'); if (b) act(b.dataset.act); });
    $('#forkStep').addEventListener('input', function () { sessionStorage.setItem('fork-step:' + view.id, $('#forkStep').value); });
    $('#forkID').addEventListener('input', function () { sessionStorage.setItem('fork-id:' + view.id, $('#forkID').value); });
    $('#scheduleRows').addEventListener('click', function (e) { var b = e.target.closest('button[data-sched]'); if (b) scheduleAction(b.dataset.sched, b.dataset.name); });
    $('#backfill').addEventListener('submit', function (e) { e.preventDefault(); backfill(); });
    window.addEventListener('hashchange', route);
    route();
    setInterval(refresh, 2000);
  });
})();
`;
