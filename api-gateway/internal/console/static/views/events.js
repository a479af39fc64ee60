// Events: the filtered list and one event with its payload, headers and
// deliveries.
import { api, paths } from '../api.js';
import { h, clear, link, table, when, section, dl, pretty, badge, Pager } from '../ui.js';
import { filterForm, apiQuery } from './filters.js';

const filterNames = ['app_id', 'event_type', 'idempotency_key', 'start_date', 'end_date'];

export async function list(ctx) {
  const [gid] = ctx.params;
  const base = `#/groups/${gid}/events`;
  const results = h('div');
  const pager = new Pager(() => load(true));
  let shown = '';
  const load = async (force) => {
    const data = await api('GET', paths.events(gid), { query: { ...apiQuery(ctx.query, filterNames), per_page: 20, next_page_cursor: pager.cursor } });
    if (!ctx.current()) return;
    pager.update(data.pagination);
    const sig = JSON.stringify(data.content.map((e) => e.uid)) + pager.next;
    if (!force && sig === shown) return;
    shown = sig;
    clear(results).append(
      table('Events', ['Created', 'Event type', 'Application', 'Event'], data.content.map((e) => [
        when(e.created_at), e.event_type, h('code', null, e.app_id), link(`#/groups/${gid}/events/${e.uid}`, e.uid),
      ]), 'No events match.'),
      pager.controls());
  };
  ctx.main.append(
    h('h1', null, 'Events'),
    filterForm('Filter events', base, ctx.query, [
      ['app_id', 'Application ID'], ['event_type', 'Event type'], ['idempotency_key', 'Idempotency key'],
    ]),
    h('div', { 'aria-live': 'polite', 'aria-busy': 'false' }, results));
  await load(true);
  // New events appear without a reload while the first page is on show.
  ctx.poll(() => pager.first ? load(false) : null);
}

export async function detail(ctx) {
  const [gid, id] = ctx.params;
  const e = await api('GET', `${paths.events(gid)}/${encodeURIComponent(id)}`);
  const headers = Object.entries(e.custom_headers || {});
  ctx.main.append(
    h('p', null, link(`#/groups/${gid}/events`, '← Events')),
    h('h1', null, `Event ${e.event_type}`),
    dl([['ID', h('code', null, e.uid)], ['Application', h('code', null, e.app_id)], ['Created', when(e.created_at)],
      ['Idempotency key', e.idempotency_key || '—']]),
    section('Payload', h('pre', { class: 'json', tabindex: '0', 'aria-label': 'Payload' }, pretty(e.data))),
    section('Headers', table('Custom headers', ['Header', 'Value'], headers.map(([k, v]) => [k, v]), 'No custom headers.')),
  );
  const deliveries = h('div', { 'aria-live': 'polite' });
  ctx.main.append(section('Deliveries', deliveries));
  const load = async () => {
    const data = await api('GET', paths.deliveries(gid), { query: { event_id: e.uid, app_id: e.app_id, per_page: 100 } });
    if (!ctx.current()) return;
    clear(deliveries).append(table('Deliveries of this event', ['Status', 'Endpoint', 'Attempts', 'Delivery'], data.content.map((d) => [
      badge(d.status), h('code', null, d.endpoint_id), String(d.metadata.num_trials), link(`#/groups/${gid}/deliveries/${d.uid}`, d.uid),
    ]), 'No deliveries.'));
  };
  await load();
  ctx.poll(load);
}
