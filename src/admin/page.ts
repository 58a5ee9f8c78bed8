// The dashboard page: one self-contained HTML document (no build step, no external assets) that talks to the JSON
// API of server.ts. It refreshes itself every two seconds.

export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Transact dashboard</title>
<style>
  body { font: 14px system-ui, sans-serif; margin: 0; color: #1d2330; background: #f6f7f9; }
  header { background: #1d2330; color: #fff; padding: 10px 20px; display: flex; gap: 16px; align-items: baseline; }
  header h1 { font-size: 18px; margin: 0; }
  main { display: grid; grid-template-columns: minmax(0, 3fr) minmax(0, 2fr); gap: 16px; padding: 16px 20px; }
  section { background: #fff; border: 1px solid #dde1e7; border-radius: 6px; padding: 12px; overflow: auto; }
  form { display: flex; gap: 8px; margin-bottom: 10px; flex-wrap: wrap; }
  input, select, button { font: inherit; padding: 4px 8px; }
  table { border-collapse: collapse; width: 100%; }
  th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid #eef0f3; white-space: nowrap; }
  tbody tr { cursor: pointer; } tbody tr:hover { background: #f0f4ff; } tr.selected { background: #e3ebff; }
  .status { font-weight: 600; } .SUCCESS { color: #1a7f37; } .ERROR, .MAX_RECOVERY_ATTEMPTS_EXCEEDED { color: #c62828; }
  .PENDING { color: #9a6700; } .ENQUEUED, .DELAYED { color: #0969da; } .CANCELLED { color: #6e7781; }
  dl { display: grid; grid-template-columns: max-content auto; gap: 2px 12px; } dt { color: #6e7781; } dd { margin: 0; word-break: break-all; }
  .actions { display: flex; gap: 8px; margin: 10px 0; } #message { color: #c62828; }
  pre { margin: 0; white-space: pre-wrap; }
</style>
</head>
<body>
<header><h1>Transact</h1><span id="summary"></span></header>
<main>
  <section>
    <form id="filters">
      <select name="status"><option value="">any status</option>
        ${['PENDING', 'ENQUEUED', 'DELAYED', 'SUCCESS', 'ERROR', 'CANCELLED', 'MAX_RECOVERY_ATTEMPTS_EXCEEDED']
          .map((s) => `<option>${s}</option>`)
          .join('')}
      </select>
      <input name="name" placeholder="workflow name">
      <input name="prefix" placeholder="ID prefix">
      <label><input type="checkbox" name="queued"> queued only</label>
    </form>
    <table><thead><tr><th>Workflow ID</th><th>Name</th><th>Status</th><th>Queue</th><th>Created</th></tr></thead>
    <tbody id="workflows"></tbody></table>
  </section>
  <section id="detail"><p>Select a workflow.</p></section>
</main>
<script>
const $ = (s) => document.querySelector(s);
const esc = (v) => String(v ?? '').replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);
const time = (ms) => { if (!ms) return ''; const d = new Date(ms); return isNaN(d.getTime()) ? '(invalid: ' + ms + ')' : d.toISOString().replace('T', ' ').slice(0, 19); };
const show = (v) => (v === undefined || v === null ? '' : typeof v === 'string' ? v : JSON.stringify(v));
let selected = null;

async function api(path, options) {
  const res = await fetch(path, options);
  const body = await res.json();
  if (!res.ok) throw new Error(body.error || res.statusText);
  return body;
}

async function refreshList() {
  const f = new FormData($('#filters'));
  const q = new URLSearchParams();
  for (const key of ['status', 'name', 'prefix']) if (f.get(key)) q.set(key, f.get(key));
  const rows = await api((f.get('queued') ? '/api/queued?' : '/api/workflows?') + q);
  $('#summary').textContent = rows.length + ' workflows shown';
  $('#workflows').innerHTML = rows.map((w) =>
    '<tr data-id="' + esc(w.workflowID) + '"' + (w.workflowID === selected ? ' class="selected"' : '') + '><td>' + esc(w.workflowID) +
    '</td><td>' + esc(w.workflowClassName ? w.workflowClassName + '.' + w.workflowName : w.workflowName) +
    '</td><td class="status ' + esc(w.status) + '">' + esc(w.status) + '</td><td>' + esc(w.queueName) + '</td><td>' + time(w.createdAt) + '</td></tr>').join('');
}

async function refreshDetail() {
  if (!selected) return;
  const [w, steps] = await Promise.all([api('/api/workflows/' + encodeURIComponent(selected)), api('/api/workflows/' + encodeURIComponent(selected) + '/steps')]);
  const fields = [['ID', w.workflowID], ['name', w.workflowName], ['status', w.status], ['queue', w.queueName], ['input', show(w.input)],
    ['output', show(w.output)], ['error', show(w.error)], ['created', time(w.createdAt)], ['completed', time(w.completedAt)],
    ['executor', w.executorId], ['version', w.applicationVersion], ['attempts', w.recoveryAttempts], ['parent', w.parentWorkflowID], ['forked from', w.forkedFrom]];
  $('#detail').innerHTML = '<dl>' + fields.filter(([, v]) => v !== undefined && v !== '').map(([k, v]) => '<dt>' + k + '</dt><dd>' + esc(v) + '</dd>').join('') + '</dl>' +
    '<div class="actions"><button data-act="cancel">Cancel</button><button data-act="resume">Resume</button>' +
    '<input id="forkStep" type="number" min="0" value="0" style="width:5em"><button data-act="fork">Fork from step</button>' +
    '<button data-act="rewind">Rewind to step</button><button data-act="delete">Delete</button></div><div id="message"></div>' +
    '<table><thead><tr><th>#</th><th>Step</th><th>Output</th><th>Error</th><th>Child</th></tr></thead><tbody>' +
    steps.map((s) => '<tr><td>' + s.functionID + '</td><td>' + esc(s.name) + '</td><td><pre>' + esc(show(s.output)) + '</pre></td><td><pre>' + esc(show(s.error)) +
      '</pre></td><td>' + esc(s.childWorkflowID) + '</td></tr>').join('') + '</tbody></table>';
}

async function act(action) {
  const path = '/api/workflows/' + encodeURIComponent(selected) + '/' + action;
  if (action === 'delete' && !confirm('Delete workflow ' + selected + ' and everything it recorded?')) return;
  const body = action === 'fork' || action === 'rewind' ? JSON.stringify({ startStep: Number($('#forkStep').value) }) : '{}';
  try {
    const result = await api(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    if (result.workflowID) selected = result.workflowID;
    if (result.deleted) { selected = null; $('#detail').innerHTML = ''; }
    await Promise.all([refreshList(), refreshDetail()]);
  } catch (err) {
    $('#message').textContent = err.message;
  }
}

$('#workflows').addEventListener('click', (e) => {
  const row = e.target.closest('tr');
  if (!row) return;
  selected = row.dataset.id;
  refreshList();
  refreshDetail();
});
$('#detail').addEventListener('click', (e) => { if (e.target.dataset.act) act(e.target.dataset.act); });
$('#filters').addEventListener('input', () => refreshList());
$('#filters').addEventListener('submit', (e) => e.preventDefault());
const tick = () => Promise.all([refreshList(), refreshDetail()]).catch((err) => ($('#summary').textContent = err.message));
tick();
setInterval(tick, 2000);
</script>
</body>
</html>
`;
