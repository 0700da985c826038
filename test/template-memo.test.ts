// Renders shared between hosts (runner/template/memo.ts): reused only for variable-only templates whose reads
// are identical, never after invalidate(), and checking a cached render never evaluates a variable the render
// itself would not have read.
import t from 'tap';
import { createTemplater } from '../runner/template/index.js';
import { RenderMemo } from '../runner/template/memo.js';

const templater = createTemplater();

/** A host's variables where reading `name` counts the reads (as a lazily rendered variable would). */
function hostVars(values: Record<string, unknown>, counted: Record<string, number> = {}) {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(values)) {
    Object.defineProperty(out, k, {
      enumerable: true,
      get() {
        counted[k] = (counted[k] ?? 0) + 1;
        return v;
      },
    });
  }
  return out;
}

t.test('identical reads share one render; a different value renders afresh', async (t) => {
  const memo = new RenderMemo();
  const nodes = [{ name: 'a', routes: ['x'] }, { name: 'b', routes: ['y'] }];
  const peers = "{{ nodes | selectattr('routes', 'defined') | map(attribute='routes') | list }}";
  const first = templater.render(peers, hostVars({ nodes, inventory_hostname: 'a' }), { memo });
  const second = templater.render(peers, hostVars({ nodes, inventory_hostname: 'b' }), { memo });
  t.same(first, [['x'], ['y']]);
  t.equal(second, first, 'the same value object: rendered once');
  t.equal(memo.hits, 1);

  const own = '{{ inventory_hostname }}-{{ nodes | length }}';
  t.equal(templater.render(own, hostVars({ nodes, inventory_hostname: 'a' }), { memo }), 'a-2');
  t.equal(templater.render(own, hostVars({ nodes, inventory_hostname: 'b' }), { memo }), 'b-2', 'a host-specific read misses');

  const otherNodes = [{ name: 'c', routes: ['z'] }];
  t.same(templater.render(peers, hostVars({ nodes: otherNodes }), { memo }), [['z']], 'an equal-looking but different object misses');
});

t.test('invalidate() forgets: state another host changed is seen', async (t) => {
  const memo = new RenderMemo();
  const facts = { a: { x: 1 } } as Record<string, { x: number }>;
  const tpl = "{{ facts['a'].x }}";
  t.equal(templater.render(tpl, hostVars({ facts }), { memo }), 1);
  facts.a!.x = 2; // same object, new content: what setFacts does to a host's facts
  memo.invalidate();
  t.equal(templater.render(tpl, hostVars({ facts }), { memo }), 2);
});

t.test('lookups are never shared', async (t) => {
  const memo = new RenderMemo();
  process.env.MESHPLAY_MEMO_TEST = 'one';
  const tpl = "{{ lookup('env', 'MESHPLAY_MEMO_TEST') }}";
  t.equal(templater.render(tpl, {}, { memo }), 'one');
  process.env.MESHPLAY_MEMO_TEST = 'two';
  t.equal(templater.render(tpl, {}, { memo }), 'two');
  t.equal(memo.hits, 0);
  delete process.env.MESHPLAY_MEMO_TEST;
});

t.test('checking a remembered render reads only what the render read, in its order', async (t) => {
  const memo = new RenderMemo();
  const tpl = '{{ a if flag else b }}';
  const firstReads: Record<string, number> = {};
  t.equal(templater.render(tpl, hostVars({ flag: true, a: 'A', b: 'B' }, firstReads), { memo }), 'A');
  t.notOk(firstReads.b, 'the render did not read b');
  const reads: Record<string, number> = {};
  t.equal(templater.render(tpl, hostVars({ flag: true, a: 'A', b: 'B' }, reads), { memo }), 'A');
  t.equal(memo.hits, 1);
  t.notOk(reads.b, 'nor did the check: b (perhaps a failing or costly variable) was never evaluated');
  const other: Record<string, number> = {};
  t.equal(templater.render(tpl, hostVars({ flag: false, a: 'A', b: 'B' }, other), { memo }), 'B', 'a different flag renders afresh');
  t.equal(other.a ?? 0, 0, 'and stops checking at the first difference');
});

t.test('without a memo nothing is shared', async (t) => {
  const nodes = [1, 2];
  const a = templater.render('{{ nodes | list }}', { nodes });
  const b = templater.render('{{ nodes | list }}', { nodes });
  t.not(a, b);
  t.same(a, b);
});

t.test('another host\'s facts changing: a shared render that read them through hostvars renders afresh, one that did not is kept', async (t) => {
  const { recordedReads } = await import('../runner/executor/scopes.js');
  const memo = new RenderMemo();
  const routesA = ['10.1.0.0/26'];
  const routesB = ['10.2.0.0/26'];
  // The executor's hostvars view: one entry per host, rebuilt when that host's facts change (setFacts).
  const hostvars: Record<string, unknown> = { a: recordedReads('a', { routes: routesA }), b: recordedReads('b', { routes: routesB }) };
  const peers = "{{ ['a', 'b'] | map('extract', hostvars, 'routes') | list }}";
  const render = (tpl: string, me: string) => templater.render(tpl, hostVars({ hostvars, inventory_hostname: me }), { memo });

  const first = render(peers, 'a');
  t.same(first, [routesA, routesB]);
  const rebuild = (host: string, scope: Record<string, unknown>) => {
    hostvars[host] = recordedReads(host, scope);
    memo.viewRebuilt(host); // as HostScopes.setFacts announces it
  };
  rebuild('b', { routes: routesB, result: { changed: false } }); // b registers a result
  t.equal(render(peers, 'b'), first, 'a result the render never read: the shared render is kept');
  t.equal(memo.hits, 1);

  const moved = ['10.2.0.64/26'];
  rebuild('b', { routes: moved, result: { changed: true } }); // b's routes fact changes
  t.same(render(peers, 'a'), [routesA, moved], 'a fact the render read changed: rendered afresh');
  t.equal(memo.hits, 1);

  const has = "{{ 'result' in hostvars['b'] }}";
  t.equal(render(has, 'a'), true);
  t.equal(render(has, 'b'), true, 'same presence: shared');
  t.equal(memo.hits, 2);
  rebuild('b', { routes: moved });
  t.equal(render(has, 'a'), false, 'presence changed: rendered afresh');

  const listed = "{{ hostvars['a'] | dict2items | length }}";
  render(listed, 'a');
  render(listed, 'b');
  t.equal(memo.hits, 2, 'listing a host\'s variables reads them all: never shared');
});

t.test('a check reads again only the hosts whose view was rebuilt since the render was last found valid', async (t) => {
  const { recordedReads } = await import('../runner/executor/scopes.js');
  const memo = new RenderMemo();
  const reads: Record<string, number> = {};
  const counted = (host: string, routes: unknown) => recordedReads(host, hostVars({ routes }, reads));
  const names = ['a', 'b', 'c'];
  const routes: Record<string, string[]> = { a: ['a'], b: ['b'], c: ['c'] };
  const hostvars: Record<string, unknown> = Object.fromEntries(names.map((h) => [h, counted(h, routes[h])]));
  const peers = "{{ ['a', 'b', 'c'] | map('extract', hostvars, 'routes') | list }}";
  const render = (me: string) => templater.render(peers, hostVars({ hostvars, inventory_hostname: me }), { memo });
  const first = render('a');
  t.same(reads, { routes: 3 });
  t.equal(render('b'), first);
  t.same(reads, { routes: 3 }, 'no view rebuilt: the check reads no host');
  hostvars.b = counted('b', routes.b); // the same routes in a new view (b registered something else)
  memo.viewRebuilt('b');
  t.equal(render('c'), first, 'shared: b shows the same routes');
  t.same(reads, { routes: 4 }, 'only b was read again');
  t.equal(render('a'), first);
  t.same(reads, { routes: 4 }, 'b, found valid, is not read again');
  hostvars.c = counted('c', ['moved']);
  memo.viewRebuilt('c');
  t.same(render('a'), [['a'], ['b'], ['moved']], 'c changed: rendered afresh');
  t.equal(memo.hits, 3);
});

t.test('allViewsRebuilt (a task starts): every host read is checked again, the render kept while all are the same', async (t) => {
  const { recordedReads } = await import('../runner/executor/scopes.js');
  const memo = new RenderMemo();
  const hosts = { a: ['a'], b: ['b'] };
  const hostvars: Record<string, unknown> = { a: recordedReads('a', { hosts: hosts.a }), b: recordedReads('b', { hosts: hosts.b }) };
  const tpl = "{{ ['a', 'b'] | map('extract', hostvars, 'hosts') | list }}";
  const render = () => templater.render(tpl, hostVars({ hostvars }), { memo });
  const first = render();
  hostvars.a = recordedReads('a', { hosts: hosts.a });
  hostvars.b = recordedReads('b', { hosts: hosts.b });
  memo.allViewsRebuilt();
  t.equal(render(), first, 'every view new, every value the same: shared');
  t.equal(memo.hits, 1);
  hostvars.b = recordedReads('b', { hosts: ['b', 'gone'] }); // a view taken again at task start shows a new value
  memo.allViewsRebuilt();
  t.same(render(), [['a'], ['b', 'gone']], 'seen');
});
