// Deliveries: the filtered list with a count per status, the retryable
// count, resend, force resend and retry-all; one delivery with the timeline of its attempts.
import { api, paths, session } from '../api.js';
import { h, append, clear, link, table, when, section, dl, badge, action, toast, confirmed, Pager, nextID } from '../ui.js';
import { filterForm, apiQuery } from './filters.js';

const statuses = ['Scheduled', 'Processing', 'Success', 'Failure', 'Retry', 'Discarded'];
const filterNames = ['status', 'app_id', 'endpoint_id', 'event_id', 'event_type', 'start_date', 'end_date'];
const retryable = new Set(['Failure', 'Discarded']);
const countNames = filterNames.filter((n) => n !== 'status');

// statusLink is the list with the same filters and only status s (all
// statuses when s is empty).
function statusLink(base, query, s) {
  const q = new URLSearchParams(query);
  q.delete('status');
  if (s) q.set('status', s);
  return base + (q.toString() ? '?' + q : '');
}

function statusBoxes(query) {
  const chosen = new Set(query.getAll('status'));
  return h('fieldset', { class: 'statuses' }, h('legend', null, 'Status'), statuses.map((s) => {
    const id = nextID('st');
    return h('span', { class: 'check' }, h('input', { type: 'checkbox', name: 'status', value: s, id, checked: chosen.has(s) }), h('label', { for: id }, s));
  }));
}

export async function list(ctx) {
  const [gid] = ctx.params;
  const base = `#/groups/${gid}/deliveries`;
  const query = () => apiQuery(ctx.query, filterNames);
  const results = h('div');
  const count = h('p', { class: 'count', 'aria-live': 'polite' });
  const byStatus = h('nav', { class: 'status-counts', 'aria-label': 'Deliveries by status' });
  const selected = new Set();
  const pager = new Pager(() => load(true));
  let shown = '';

  const resend = async (ids, force) => {
    const out = force
      ? await api('POST', `${paths.deliveries(gid)}/forceresend`, { body: { ids } })
      : await api('POST', `${paths.deliveries(gid)}/batchretry`, { body: { ids } });
    const n = force ? out.resent : out.retried;
    toast(`${n} ${n === 1 ? 'delivery' : 'deliveries'} ${force ? 'resent' : 'retried'}`);
    selected.clear();
    await refresh(true);
  };

  const load = async (force) => {
    const data = await api('GET', paths.deliveries(gid), { query: { ...query(), per_page: 20, next_page_cursor: pager.cursor } });
    if (!ctx.current()) return;
    pager.update(data.pagination);
    const sig = JSON.stringify(data.content.map((d) => [d.uid, d.status, d.metadata.num_trials, d.updated_at])) + pager.next;
    if (!force && sig === shown) return;
    shown = sig;
    const hadFocus = document.activeElement && results.contains(document.activeElement) ? document.activeElement.dataset.key : '';
    clear(results).append(
      table('Deliveries', ['Select', 'Status', 'Event type', 'Endpoint', 'Attempts', 'Created', 'Actions'], data.content.map((d) => ({
        attrs: { 'data-delivery': d.uid, 'data-status': d.status },
        cells: [
          h('input', { type: 'checkbox', 'aria-label': `Select delivery ${d.uid}`, checked: selected.has(d.uid), 'data-key': 'sel-' + d.uid,
            onchange: (ev) => { if (ev.target.checked) selected.add(d.uid); else selected.delete(d.uid); } }),
          link(`#/groups/${gid}/deliveries/${d.uid}`, badge(d.status), { 'aria-label': `${d.status} delivery ${d.uid}`, 'data-key': 'open-' + d.uid }),
          d.event_type, h('code', null, d.endpoint_id), String(d.metadata.num_trials), when(d.created_at),
          retryable.has(d.status)
            ? action('Resend', () => resend([d.uid], false), { 'aria-label': `Resend delivery ${d.uid}`, 'data-key': 'resend-' + d.uid })
            : d.status === 'Success'
              ? action('Force resend', () => resend([d.uid], true), { 'aria-label': `Force resend delivery ${d.uid}`, 'data-key': 'force-' + d.uid })
              : '',
        ],
      })), 'No deliveries match.'),
      pager.controls());
    if (hadFocus) results.querySelector(`[data-key="${CSS.escape(hadFocus)}"]`)?.focus();
  };

  const loadCount = async () => {
    const out = await api('GET', `${paths.deliveries(gid)}/countbatchretryevents`, { query: query() });
    if (!ctx.current()) return;
    count.textContent = `${out.num} failed or discarded ${out.num === 1 ? 'delivery matches' : 'deliveries match'} these filters and can be retried.`;
    retryAll.disabled = out.num === 0;
  };
  // The counts answer every status for the other filters; each links to
  // the list narrowed to it.
  let countsShown = '';
  const loadStatusCounts = async () => {
    const out = await api('GET', `${paths.deliveries(gid)}/counts`, { query: apiQuery(ctx.query, countNames) });
    if (!ctx.current()) return;
    const sig = JSON.stringify(out);
    if (sig === countsShown) return;
    countsShown = sig;
    const chosen = new Set(ctx.query.getAll('status'));
    const item = (s, label, n) => link(statusLink(base, ctx.query, s), [label, ' ', h('span', { class: 'n' }, String(n))], {
      class: 'badge ' + (s || 'all').toLowerCase(), 'data-status-count': s || 'all',
      'aria-current': (s ? chosen.size === 1 && chosen.has(s) : chosen.size === 0) ? 'true' : null,
    });
    append(clear(byStatus), [item('', 'All', out.total), statuses.map((s) => item(s, s, out.counts[s] || 0))]);
  };
  const refresh = async (force) => { await Promise.all([load(force), loadCount(), loadStatusCounts()]); };

  const retryAll = action('Retry all failed', async () => {
    if (!confirmed('Retry every failed or discarded delivery these filters match?')) return;
    const out = await api('POST', `${paths.deliveries(gid)}/batchretry`, { query: query(), body: {} });
    toast(`${out.retried} ${out.retried === 1 ? 'delivery' : 'deliveries'} retried`);
    await refresh(true);
  });
  const selectedActions = h('div', { class: 'actions' },
    action('Retry selected', () => selected.size ? resend([...selected], false) : toast('Select deliveries first', true)),
    action('Force resend selected', () => selected.size ? resend([...selected], true) : toast('Select deliveries first', true)),
    retryAll);

  ctx.main.append(
    h('h1', null, 'Deliveries'),
    filterForm('Filter deliveries', base, ctx.query, [
      ['app_id', 'Application ID'], ['endpoint_id', 'Endpoint ID'], ['event_id', 'Event ID'], ['event_type', 'Event type'],
    ], [statusBoxes(ctx.query)], (f) => ({ status: [...f.querySelectorAll('input[name=status]:checked')].map((b) => b.value) })),
    byStatus, count, selectedActions, h('div', { 'aria-live': 'polite' }, results));
  await refresh(true);
  // New deliveries and status changes show without a reload.
  ctx.poll(() => refresh(false));
}

// redact hides the signature header's value: an attempt's request headers
// are shown to whoever can see the delivery, the secret's output is not.
function redact(name, v, sigHeader) {
  const n = name.toLowerCase();
  if ((sigHeader && n === sigHeader.toLowerCase()) || n.includes('signature') || n === 'authorization') return '[redacted]';
  return v;
}

function headerTable(caption, headers, sigHeader) {
  return table(caption, ['Header', 'Value'], Object.entries(headers || {}).sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => [k, h('span', { class: 'wrap' }, redact(k, v, sigHeader))]), 'None.');
}

export async function detail(ctx) {
  const [gid, id] = ctx.params;
  const path = `${paths.deliveries(gid)}/${encodeURIComponent(id)}`;
  let sigHeader = '';
  if (session.role !== 'portal') {
    try { sigHeader = (await api('GET', paths.group(gid))).config.signature.header; } catch { /* the default patterns still apply */ }
  }
  const summary = h('div', { 'aria-live': 'polite' });
  const timeline = h('ol', { class: 'timeline', 'aria-label': 'Attempts' });
  const buttons = h('div', { class: 'actions' });
  let shown = '';
  const load = async (force) => {
    const [d, attempts] = await Promise.all([api('GET', path), api('GET', `${path}/deliveryattempts`)]);
    if (!ctx.current()) return;
    const sig = JSON.stringify([d.status, d.metadata.num_trials, attempts.length]);
    if (!force && sig === shown) return;
    shown = sig;
    clear(summary).append(dl([
      ['Status', h('span', { 'data-delivery-status': d.status }, badge(d.status))], ['ID', h('code', null, d.uid)],
      ['Event', link(`#/groups/${gid}/events/${d.event_id}`, `${d.event_type} · ${d.event_id}`)],
      ['Endpoint', h('code', null, d.endpoint_id)], ['Application', h('code', null, d.app_id)],
      ['Attempts', `${d.metadata.num_trials} of ${d.metadata.retry_limit}`], ['Next attempt', when(d.metadata.next_send_time)],
      ['Note', d.description || '—'],
    ]));
    append(clear(buttons), [
      retryable.has(d.status) ? action('Resend', async () => {
        await api('PUT', `${path}/resend`);
        toast('Delivery resent');
        await load(true);
      }) : null,
      d.status === 'Success' ? action('Force resend', async () => {
        await api('POST', `${paths.deliveries(gid)}/forceresend`, { body: { ids: [d.uid] } });
        toast('Delivery resent');
        await load(true);
      }) : null]);
    append(clear(timeline), [attempts.length ? attempts.map((a, i) => attemptItem(a, i, sigHeader)) : h("li", null, "No attempts yet.")]);
  };
  ctx.main.append(
    h('p', null, link(`#/groups/${gid}/deliveries`, '← Deliveries')),
    h('h1', null, 'Delivery'), summary, buttons,
    section('Attempts', timeline));
  await load(true);
  ctx.poll(() => load(false));
}

function attemptItem(a, i, sigHeader) {
  const ok = a.status;
  const outcome = a.http_status ? `HTTP ${a.http_status}` : 'No response';
  return h('li', { class: ok ? 'ok' : 'bad', 'data-attempt': a.uid },
    h('h3', null, `Attempt ${i + 1}: `, badge(ok ? 'Success' : 'Failure'), ` ${outcome}`),
    dl([['When', when(a.created_at)], ['Request', `${a.method} ${a.url}`], ['IP address', a.ip_address || '—'],
      ['Duration', `${a.duration_ms} ms`], a.error ? ['Error', h('span', { class: 'wrap' }, a.error)] : null]),
    h('details', null, h('summary', null, 'Request headers'), headerTable('Request headers', a.request_http_header, sigHeader)),
    h('details', null, h('summary', null, 'Response headers'), headerTable('Response headers', a.response_http_header, '')),
    h('details', { open: !ok }, h('summary', null, 'Response body' + (a.response_truncated ? ' (truncated)' : '')),
      h('pre', { class: 'json', tabindex: '0' }, a.response_data || '(empty)')));
}
