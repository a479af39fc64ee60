// Groups: the list (admin key), creation and each group's configuration.
import { api, paths } from '../api.js';
import { h, clear, field, input, checkbox, select, form, value, checked, int, list as csv, link, toast, table, when, section, Pager } from '../ui.js';

export async function list(ctx) {
  const results = h('div', { 'aria-live': 'polite' });
  const pager = new Pager(() => load());
  let name = ctx.query.get('name') || '';
  const load = async () => {
    const data = await api('GET', '/groups', { query: { name, per_page: 20, next_page_cursor: pager.cursor } });
    pager.update(data.pagination);
    clear(results).append(
      table('Groups', ['Name', 'ID', 'Retry strategy', 'Created'], data.content.map((g) => [
        link(`#/groups/${g.uid}/apps`, g.name || g.uid), h('code', null, g.uid),
        `${g.config.strategy.type}, ${g.config.strategy.retry_count} attempts`, when(g.created_at),
      ]), 'No groups.'),
      pager.controls());
  };
  ctx.main.append(
    h('h1', null, 'Groups'),
    form('Search groups', [field('Name', input('name', name, { type: 'search' }))], 'Search', async (f) => {
      name = value(f, 'name');
      pager.reset();
      await load();
    }),
    results,
    section('Create a group',
      form('Create a group', [
        field('Name', input('name', '', { required: true })),
        field('Retry strategy', select('strategy', [['default', 'Linear (default)'], ['exponential-backoff', 'Exponential backoff']], 'default')),
        field('Attempts', input('retry_count', '', { inputmode: 'numeric' }), 'Attempts in all, the first included.'),
      ], 'Create group', async (f) => {
        const body = { name: value(f, 'name'), config: { strategy: { type: value(f, 'strategy') } } };
        const n = int(f, 'retry_count', 'Attempts');
        if (n !== undefined) body.config.strategy.retry_count = n;
        const g = await api('POST', '/groups', { body });
        toast(`Group ${g.name} created`);
        location.hash = `#/groups/${g.uid}`;
      })),
  );
  await load();
}

const hashes = ['SHA256', 'SHA512', 'SHA1', 'SHA224', 'SHA384', 'SHA3_224', 'SHA3_256', 'SHA3_384', 'SHA3_512', 'SHA512_224', 'SHA512_256', 'MD5'];

// settings edits the group's configuration; the form sends every field, so
// what the page shows is what the group holds after saving.
export async function settings(ctx) {
  const [gid] = ctx.params;
  const g = await api('GET', paths.group(gid));
  const c = g.config;
  const cb = c.circuit_breaker || {};
  const me = c.meta_event || {};
  ctx.main.append(
    h('h1', null, `Group ${g.name}`),
    h('p', null, 'ID ', h('code', null, g.uid), ' · created ', when(g.created_at)),
    form('Group settings', [
      field('Name', input('name', g.name)),
      h('fieldset', null, h('legend', null, 'Retries'),
        field('Strategy', select('strategy', [['default', 'Linear (default)'], ['exponential-backoff', 'Exponential backoff']], c.strategy.type)),
        field('Interval (seconds)', input('duration', c.strategy.duration, { inputmode: 'numeric' }), 'Seconds between attempts of the linear strategy.'),
        field('Attempts', input('retry_count', c.strategy.retry_count, { inputmode: 'numeric' }), 'Attempts in all, the first included.')),
      h('fieldset', null, h('legend', null, 'Signature'),
        field('Header', input('sig_header', c.signature.header)),
        field('Hash', select('sig_hash', hashes, c.signature.hash)),
        field('Format', select('sig_format', ['simple', 'advanced', 'standard-webhooks'], c.signature.format)),
        checkbox('Reject replayed requests (timestamped signatures)', 'replay_attacks', c.replay_attacks)),
      h('fieldset', null, h('legend', null, 'Endpoints and events'),
        checkbox('Disable an endpoint whose deliveries keep failing', 'disable_endpoint', c.disable_endpoint),
        checkbox('Enforce event types (only types of the catalog, payloads their schema accepts)', 'enforce_event_types', c.enforce_event_types),
        field('Retention', input('retention_policy', c.retention_policy), 'A duration such as 720h; empty keeps everything.')),
      h('fieldset', null, h('legend', null, 'Circuit breaker'),
        field('Failure threshold (%)', input('cb_threshold', cb.failure_threshold ?? '', { inputmode: 'numeric' })),
        field('Minimum requests', input('cb_min', cb.min_requests ?? '', { inputmode: 'numeric' })),
        field('Window', input('cb_window', cb.window ?? ''), 'A duration, e.g. 1m.'),
        field('Cooldown', input('cb_cooldown', cb.cooldown ?? ''), 'A duration, e.g. 30s.')),
      h('fieldset', null, h('legend', null, 'Meta events'),
        checkbox('Send meta events', 'me_enabled', me.is_enabled),
        field('URL', input('me_url', me.url, { type: 'url' })),
        field('Secret', input('me_secret', me.secret, { type: 'password' })),
        field('Event types', input('me_types', (me.event_types || []).join(', ')), 'Comma-separated; empty sends every type.')),
    ], 'Save settings', async (f) => {
      const body = {
        name: value(f, 'name'),
        config: {
          strategy: { type: value(f, 'strategy'), duration: int(f, 'duration', 'Interval'), retry_count: int(f, 'retry_count', 'Attempts') },
          signature: { header: value(f, 'sig_header'), hash: value(f, 'sig_hash'), format: value(f, 'sig_format') },
          replay_attacks: checked(f, 'replay_attacks'),
          disable_endpoint: checked(f, 'disable_endpoint'),
          enforce_event_types: checked(f, 'enforce_event_types'),
          retention_policy: value(f, 'retention_policy'),
          circuit_breaker: {
            failure_threshold: int(f, 'cb_threshold', 'Failure threshold'), min_requests: int(f, 'cb_min', 'Minimum requests'),
            window: value(f, 'cb_window') || undefined, cooldown: value(f, 'cb_cooldown') || undefined,
          },
          meta_event: { is_enabled: checked(f, 'me_enabled'), url: value(f, 'me_url'), secret: value(f, 'me_secret'), event_types: csv(f, 'me_types') },
        },
      };
      await api('PUT', paths.group(gid), { body });
      toast('Settings saved');
    }),
  );
}
