// API keys of a group: create (the key is shown once), list, revoke.
import { api, paths } from '../api.js';
import { h, clear, field, input, form, value, table, when, section, action, toast, copy, confirmed, Pager } from '../ui.js';

export async function list(ctx) {
  const [gid] = ctx.params;
  const results = h('div', { 'aria-live': 'polite' });
  const created = h('div');
  const pager = new Pager(() => load());
  const load = async () => {
    const data = await api('GET', paths.keys(gid), { query: { per_page: 20, next_page_cursor: pager.cursor } });
    pager.update(data.pagination);
    clear(results).append(table('API keys', ['Name', 'ID', 'Created', 'Actions'], data.content.map((k) => [
      k.name, h('code', null, k.uid), when(k.created_at),
      action('Revoke', async () => {
        if (!confirmed(`Revoke key ${k.name}? Clients using it stop working.`)) return;
        await api('DELETE', `${paths.keys(gid)}/${encodeURIComponent(k.uid)}`);
        toast('Key revoked');
        await load();
      }, { 'aria-label': `Revoke key ${k.name}`, class: 'danger' }),
    ]), 'No keys.'), pager.controls());
  };
  ctx.main.append(
    h('h1', null, 'API keys'),
    section('Create a key', form('Create a key', [field('Name', input('name', '', { required: true }))], 'Create key', async (f) => {
      const k = await api('POST', paths.keys(gid), { body: { name: value(f, 'name') } });
      f.reset();
      clear(created).append(h('div', { class: 'once', role: 'group', 'aria-label': 'New key' },
        h('p', null, 'The key is shown once. Copy it now:'),
        h('output', { class: 'secret' }, k.key), ' ', action('Copy key', () => copy(k.key))));
      await load();
    }), created),
    results);
  await load();
}
