// Unit tests of the templating engine (pure functions: no processes, no network).

import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { TemplateError, UndefinedVariableError } from '../runner/errors.js';
import { OMIT, createTemplater, removeOmitted } from '../runner/template/index.js';
import { carryFloats } from '../runner/template/float.js';
import { RenderMemo } from '../runner/template/memo.js';
import { SourceFile } from '../runner/yaml/source.js';

const templater = createTemplater();
/** What t.throws should see for an undefined variable (tap's types do not know the extra field). */
const undef = (variable: string) => ({ name: 'UndefinedVariableError', variable }) as unknown as Error;
const render = (template: unknown, vars: Record<string, unknown> = {}) => templater.render(template, vars);

const vars = {
  cluster_name: 'east',
  clusters: [
    { name: 'east', url: 'https://east:6443', control_plane: true, pod_cidr: '10.1.0.0/16' },
    { name: 'west', url: 'https://west:6443', control_plane: false, pod_cidr: '10.2.0.0/16' },
    { name: 'north', url: 'https://north:6443', pod_cidr: '10.3.0.0/16' },
  ],
  count: 3,
  enabled: 'yes',
  nested: { a: { b: 'deep' } },
  istio_version: '1.10.2',
  empty: [],
};

t.test('native types', async (t) => {
  t.same(render('{{ clusters | map(attribute="name") | list }}', vars), ['east', 'west', 'north']);
  t.same(render('  {{ nested }}  ', vars), { a: { b: 'deep' } });
  t.equal(render('{{ count }}', vars), 3);
  t.equal(render('{{ count * 2 }}', vars), 6);
  t.equal(render('{{ count > 2 }}', vars), true);
  t.equal(render('{{ none }}', vars), null);
  t.equal(render('{{ None }}', vars), null);
  t.equal(render('{{ True }}', vars), true);
  t.equal(render('{{ false }}', vars), false);
  t.equal(render('{{ "42" }}', vars), '42', 'a string expression stays a string');
  t.equal(render('n={{ count }}', vars), 'n=3', 'text around makes a string');
  t.equal(render('{{ count }}{{ count }}', vars), '33');
  t.equal(render('{{ true }} and {{ none }}.', vars), 'True and .', 'Python spelling in text; None writes nothing');
  t.equal(render('{{ "a" ~ none }}', vars), 'aNone');
  t.equal(render('{{ [1, "a"] }}!', vars), "[1, 'a']!", 'Python repr in text');
  t.same(render('{{ {"k": count} }}', vars), { k: 3 }, 'dict literal');
});

t.test('plain values pass through unchanged', async (t) => {
  const plain = 'no template here { not one }';
  t.equal(render(plain), plain);
  t.equal(render(7), 7);
  t.equal(render(null), null);
  t.equal(render(true), true);
  t.equal(templater.isTemplate(plain), false);
  t.equal(templater.isTemplate('{{ x }}'), true);
  t.equal(templater.isTemplate('{% if x %}{% endif %}'), true);
});

t.test('recursion over nested structures renders keys and values', async (t) => {
  const input = {
    name: '{{ cluster_name }}',
    '{{ cluster_name }}_url': '{{ clusters[0].url }}',
    list: ['{{ count }}', { deep: ['{{ nested.a.b }}', 5, null] }],
    untouched: 'plain',
  };
  t.same(render(input, vars), {
    name: 'east',
    east_url: 'https://east:6443',
    list: [3, { deep: ['deep', 5, null] }],
    untouched: 'plain',
  });
  t.equal(input.name, '{{ cluster_name }}', 'input not mutated');
});

t.test('undefined variables throw naming the variable', async (t) => {
  t.throws(() => render('{{ cluster_nmae }}', vars), { name: 'UndefinedVariableError', variable: 'cluster_nmae', message: "'cluster_nmae' is undefined" });
  t.throws(() => render('url: {{ cluster_nmae }}', vars), UndefinedVariableError);
  t.throws(() => render('{{ nested.a.c }}', vars), { variable: 'nested.a.c', message: "'nested.a' has no attribute 'c'" });
  t.throws(() => render('{{ nested.x.y }}', vars), undef('nested.x'), 'chained lookup names the first missing part');
  t.throws(() => render('{{ missing == 1 }}', vars), undef('missing'));
  t.throws(() => render('{{ missing + 1 }}', vars), undef('missing'));
  t.throws(() => render('{{ "a" ~ missing }}', vars), undef('missing'));
  t.throws(() => render('{% if missing %}x{% endif %}', vars), undef('missing'));
  t.throws(() => render('{% for x in missing %}{% endfor %}', vars), undef('missing'));
  t.throws(() => render('{{ missing | upper }}', vars), undef('missing'));
  t.throws(() => render('{{ missing | length }}', vars), undef('missing'));
  t.throws(() => render('{{ missing is string }}', vars), undef('missing'));
  t.throws(() => render('{{ [1, missing] }}', vars), undef('missing'));
  t.throws(() => render('{{ clusters[7] }}', vars), undef('clusters[7]'));
  t.throws(() => templater.evaluate('missing', vars), undef('missing'));
  t.throws(() => render('{{ missing | mandatory }}', vars), { variable: 'missing', message: /mandatory/ });
  t.throws(() => render('{{ missing | mandatory("set cluster name") }}', vars), { message: 'set cluster name' });
});

t.test('an Undefined deep in a value fails the render; a value of data only is not walked', async (t) => {
  t.throws(() => render('{{ {"a": [{"b": missing}]} }}', vars), undef('missing'), 'nested in a literal');
  t.throws(() => render('{{ clusters | map(attribute="nope") | list }}', vars), UndefinedVariableError, 'made by a filter');
  t.throws(() => templater.evaluate('[{"x": nested.q}]', vars), undef('nested.q'), 'a bare expression too');
  t.throws(() => render('{% set l = [] %}{{ l.append([missing]) }}', vars), undef('missing'), 'list.append refuses a hidden Undefined');
  t.equal(render('{{ nested.missing | default("d") }}', vars), 'd', 'an Undefined made and defaulted away');
  t.same(render('{{ [nested.missing | default(1), 2] }}', vars), [1, 2], 'made, defaulted, the value walked and clean');
  // A render that made no Undefined returns its value without walking it (the 65,000 route facts of a
  // 256-node play were walked twice per task): a getter deep inside is not read.
  let reads = 0;
  const big = { a: [{ get b() { reads++; return 1; } }] };
  t.equal(render('{{ big }}', { big }), big);
  t.equal(reads, 0, 'data passed through is not walked');
  render('{{ [big, missing | default(0)] }}', { big });
  t.equal(reads, 1, 'walked when the render made an Undefined');
});

t.test('default, defined and undefined work on undefined values', async (t) => {
  t.equal(render('{{ missing | default("x") }}', vars), 'x');
  t.equal(render('{{ missing | d("x") }}', vars), 'x');
  t.equal(render('{{ missing | default }}', vars), '');
  t.equal(render('{{ nested.a.zz | default("no") }}', vars), 'no', 'missing attribute of a defined dict');
  t.equal(render('{{ nested.q.r.s | default("no") }}', vars), 'no', 'nested missing attributes');
  t.equal(render('{{ missing.attr | default(7) }}', vars), 7, 'attribute of an undefined variable');
  t.equal(render('{{ clusters[2].control_plane | default(false) }}', vars), false);
  t.equal(render('{{ cluster_name | default("x") }}', vars), 'east');
  t.equal(render('{{ "" | default("x") }}', vars), '');
  t.equal(render('{{ "" | default("x", true) }}', vars), 'x');
  t.equal(render('{{ empty | default("none", true) }}', vars), 'none');
  t.same(render('{{ missing | default(omit) }}', vars), OMIT);
  t.equal(render('{{ missing is defined }}', vars), false);
  t.equal(render('{{ missing is undefined }}', vars), true);
  t.equal(render('{{ missing is not defined }}', vars), true);
  t.equal(render('{{ nested.a.zz is defined }}', vars), false);
  t.equal(render('{{ nested.a.b is defined }}', vars), true);
  t.equal(templater.evaluate('missing is defined and missing', vars), false, 'and short-circuits');
  t.equal(templater.evaluate('missing is undefined or missing', vars), true, 'or short-circuits');
  t.equal(render('{{ missing if missing is defined else "fallback" }}', vars), 'fallback');
  t.same(render('{{ clusters | selectattr("control_plane", "defined") | map(attribute="name") | list }}', vars), ['east', 'west']);
});

t.test('evaluate and condition', async (t) => {
  t.equal(templater.evaluate('count == 3 and cluster_name is defined', vars), true);
  t.equal(templater.evaluate('count == 1', vars), false);
  t.same(templater.evaluate('clusters | map(attribute="name") | first', vars), 'east');
  t.same(templater.evaluate("{'a': {'b': count}}", vars), { a: { b: 3 } }, 'closing braces inside an expression');
  t.equal(templater.evaluate('{{ count }} == 3', vars), true, 'a templated condition is rendered, then evaluated');
  t.equal(templater.condition(true, vars), true);
  t.equal(templater.condition(false, vars), false);
  t.equal(templater.condition('enabled | bool', vars), true);
  t.equal(templater.condition('empty', vars), false, 'empty list is false');
  t.equal(templater.condition('nested', vars), true);
  t.equal(templater.condition(['count > 1', 'cluster_name == "east"'], vars), true, 'a list is all of them');
  t.equal(templater.condition(['count > 1', 'cluster_name == "west"'], vars), false);
  // Ansible evaluates `{% if flag %}`: a non-empty string is true, whatever it says (test/truthiness asks ansible-playbook).
  t.equal(templater.condition('flag', { flag: 'false' }), true, 'the string "false" is a true condition');
  t.equal(templater.condition('flag', { flag: 'no' }), true);
  t.equal(templater.condition('flag', { flag: '' }), false, 'only the empty string is false');
  t.equal(templater.condition('{{ flag }}', { flag: 'false' }), false, 'a templated condition is evaluated again: false is a literal');
  t.equal(templater.condition('flag', { flag: 'yes' }), true);
  t.equal(templater.condition('1 == 1.0', vars), true);
  t.equal(templater.condition('"1" == 1', vars), false, 'no JavaScript coercion');
  t.equal(templater.condition('[1, 2] == [1, 2]', vars), true, 'deep equality');
  t.equal(templater.condition('not empty', vars), true);
  t.equal(templater.condition('1 < count < 5', vars), true, 'chained comparison');
  t.throws(() => templater.evaluate('count ==', vars), TemplateError);
  t.throws(() => templater.evaluate('count 3', vars), { message: /unexpected '3'/ });
});

t.test('Jinja syntax', async (t) => {
  t.equal(render('{{ "a" ~ count ~ "b" }}', vars), 'a3b');
  t.equal(render('{{ "yes" if count > 2 else "no" }}', vars), 'yes');
  t.equal(render('{% for c in clusters %}{{ loop.index }}:{{ c.name }}{{ "," if not loop.last }}{% endfor %}', vars), '1:east,2:west,3:north');
  t.equal(render('{% for k, v in nested.a.items() %}{{ k }}={{ v }}{% endfor %}', vars), 'b=deep');
  t.equal(render('{% for k in nested %}{{ k }}{% endfor %}', vars), 'a', 'iterating a dict yields keys');
  t.equal(render('{% set x = count + 1 %}{{ x }}', vars), '4');
  t.same(render('{{ range(3) | list }}', vars), [0, 1, 2]);
  t.same(render('{{ range(1, 10, 3) | list }}', vars), [1, 4, 7]);
  t.same(render('{{ [1, 2] + [3] }}', vars), [1, 2, 3]);
  t.same(render('{{ clusters[-1].name }}', vars), 'north');
  t.same(render('{{ clusters[1:] | map(attribute="name") | list }}', vars), ['west', 'north']);
  t.same(render('{{ "abcdef"[:3] }}', vars), 'abc');
  t.same(render('{{ "a,b".split(",") }}', vars), ['a', 'b']);
  t.equal(render('{{ " x ".strip() }}', vars), 'x');
  t.equal(render('{{ cluster_name.startswith("ea") }}', vars), true);
  t.equal(render('{{ nested.get("zz", "dflt") }}', vars), 'dflt');
  t.equal(render('{{ "-" * 3 }}', vars), '---');
  t.same(render('{{ dict(a=1) }}', vars), { a: 1 });
  t.equal(render('{{ "east" in clusters | map(attribute="name") }}', vars), true);
  t.equal(render('{{ "zz" not in cluster_name }}', vars), true);
  t.equal(render('{# comment #}x', vars), 'x');
  t.equal(render('{% if true %}\nx\n{% endif %}\ny', vars), 'x\ny', 'trim_blocks, as Ansible');
  t.equal(render('{% for i in [1, 2] %}\n- {{ i }}\n{% endfor %}\nend', vars), '- 1\n- 2\nend');
  t.equal(render('{{ 7 // 2 }} {{ 7 % 2 }} {{ 2 ** 3 }}', vars), '3 1 8');
});

t.test('tuples: a literal (a, b) and the pairs of dictsort, items() and zip are lists that print as Python tuples', async (t) => {
  t.same(render("{{ ('a', 1) }}"), ['a', 1], 'not the comma operator (which would give 1)');
  t.equal(render("{{ ('a', 1) }} {{ ('a', 1) | type_debug }} {{ (1 + 2) * 3 }}"), "('a', 1) tuple 9");
  t.equal(render('{{ d | dictsort }} {{ d.items() | list }}', { d: { b: 2, a: 1 } }), "[('a', 1), ('b', 2)] [('b', 2), ('a', 1)]");
  t.equal(render("{{ [1, 2] | zip(['a', 'b']) | list }} {{ ('a', 1) | to_json }} {{ ('a', 1) | list }}"), "[(1, 'a'), (2, 'b')] [\"a\", 1] ['a', 1]");
});

t.test('syntax errors name the template and nunjucks message', async (t) => {
  const error = t.throws(() => render('{{ count + }}', vars)) as TemplateError;
  t.type(error, TemplateError);
  t.equal(error.template, '{{ count + }}');
  t.match(error.message, /syntax error: unexpected token: \}\}/);
  t.match(error.message, /"\{\{ count \+ \}\}"/);
  t.notMatch(error.message, /\n\s+at /, 'no stack in the message');
  const multi = t.throws(() => render('line one\n{% if x %}\nno end', vars)) as TemplateError;
  t.match(multi.message, /expected elif, else, or endif/);
  t.throws(() => render('{{ count | no_such_filter }}', vars), { message: /no filter named 'no_such_filter'/ });
  t.throws(() => render('{{ count is no_such_test }}', vars), { message: /no test named 'no_such_test'/ });
});

t.test('filters', async (t) => {
  const r = (tpl: string, extra: Record<string, unknown> = {}) => render(tpl, { ...vars, ...extra });
  t.equal(r('{{ "Yes" | bool }}'), true);
  t.equal(r('{{ "off" | bool }}'), false);
  t.equal(r('{{ 1 | bool }}'), true);
  t.equal(r('{{ "42" | int + 1 }}'), 43);
  t.equal(r('{{ "x" | int(7) }}'), 7);
  t.equal(r('{{ "3.7" | int }}'), 3);
  t.equal(r('{{ "ff" | int(base=16) }}'), 255);
  t.equal(r('{{ "2.5" | float * 2 }}'), 5);
  t.equal(r('{{ 5 | string }}'), '5');
  t.equal(r('{{ "AbC" | lower }}{{ "AbC" | upper }}'), 'abcABC');
  t.equal(r('{{ "hello" | b64encode }}'), 'aGVsbG8=');
  t.equal(r('{{ "aGVsbG8=" | b64decode }}'), 'hello');
  t.equal(r('{{ {"b": 1, "a": [1, "x"]} | to_json }}'), '{"b": 1, "a": [1, "x"]}');
  t.equal(r('{{ {"b": 1, "a": 2} | to_nice_json }}'), '{\n    "a": 2,\n    "b": 1\n}');
  t.same(r('{{ \'{"a": [1, 2]}\' | from_json }}'), { a: [1, 2] });
  t.throws(() => r('{{ "{bad" | from_json }}'), { name: 'TemplateError', message: /^filter from_json: .* in "\{\{ \\"\{bad\\" \| from_json \}\}"$/ });
  t.equal(r('{{ {"a": 1, "b": ["x"]} | to_yaml }}'), 'a: 1\nb: [x]\n', 'inline leaf collections, as PyYAML');
  t.equal(r('{{ {"a": 1} | to_yaml }}'), '{a: 1}\n');
  t.equal(r('{{ {"b": {"c": 1}, "a": 1} | to_nice_yaml }}'), 'a: 1\nb:\n    c: 1\n');
  // A real line break: inside `{{ }}` of a value, Ansible keeps a string literal's backslashes as written.
  t.same(r('{{ "a: 1\nb: [x, y]" | from_yaml }}'), { a: 1, b: ['x', 'y'] });
  t.equal(r("{{ 'a\\d\\n' }}"), 'a\\d\\n', 'backslashes in a string literal are kept (Templar._escape_backslashes)');
  t.equal(templater.evaluate("'a\\x41\\n' == 'aA\n'", vars), true, 'a bare condition reads escapes as Python does');
  t.same(r('{{ clusters | selectattr("control_plane") | map(attribute="name") | list }}'), ['east']);
  t.same(r('{{ clusters | selectattr("name", "equalto", "west") | map(attribute="url") | first }}'), 'https://west:6443');
  t.same(r('{{ clusters | selectattr("name", "==", "west") | map(attribute="name") | list }}'), ['west']);
  t.same(r('{{ clusters | selectattr("control_plane", "undefined") | map(attribute="name") | list }}'), ['north']);
  t.same(r('{{ clusters | selectattr("name", "match", "^(e|w)") | map(attribute="name") | list }}'), ['east', 'west']);
  t.same(r('{{ clusters | selectattr("name", "search", "or") | map(attribute="name") | list }}'), ['north']);
  t.same(r('{{ clusters | selectattr("name", "in", ["west", "north"]) | map(attribute="name") | list }}'), ['west', 'north']);
  t.same(r('{{ clusters | selectattr("control_plane", "truthy") | map(attribute="name") | list }}'), ['east']);
  t.same(r('{{ clusters | rejectattr("control_plane") | map(attribute="name") | list }}'), ['west', 'north']);
  t.same(r('{{ [1, 2, 3, 4] | select("even") | list }}'), [2, 4]);
  t.same(r('{{ [1, 2, 3, 4] | reject("even") | list }}'), [1, 3]);
  t.same(r('{{ ["a", "b"] | map("upper") | list }}'), ['A', 'B']);
  t.same(r('{{ ["a-1", "b-1"] | map("regex_replace", "-1$", "") | list }}'), ['a', 'b']);
  t.same(r('{{ clusters | map(attribute="control_plane", default=false) | list }}'), [true, false, false]);
  t.same(r('{{ "ab" | list }}'), ['a', 'b']);
  t.same(r('{{ [1, 2, 1, 3, 2] | unique }}'), [1, 2, 3]);
  t.same(r('{{ [1, [2, [3, [4]]]] | flatten }}'), [1, 2, 3, 4]);
  t.same(r('{{ [1, [2, [3, [4]]]] | flatten(1) }}'), [1, 2, [3, [4]]]);
  t.same(r('{{ {"a": 1} | dict2items }}'), [{ key: 'a', value: 1 }]);
  t.same(r('{{ [{"key": "a", "value": 1}] | items2dict }}'), { a: 1 });
  t.same(r('{{ [{"name": "a", "ip": 1}] | items2dict(key_name="name", value_name="ip") }}'), { a: 1 });
  t.same(r('{{ {"a": {"x": 1}, "b": 1} | combine({"a": {"y": 2}}) }}'), { a: { y: 2 }, b: 1 });
  t.same(r('{{ {"a": {"x": 1}, "b": 1} | combine({"a": {"y": 2}}, recursive=True) }}'), { a: { x: 1, y: 2 }, b: 1 });
  t.same(r('{{ {"l": [1]} | combine({"l": [2]}, list_merge="append") }}'), { l: [1, 2] });
  t.equal(r('{{ "istio-1.8.5" | regex_replace("^istio-(\\d+)\\.(\\d+).*$", "\\1.\\2") }}'), '1.8');
  t.equal(r('{{ "a.b.c" | regex_replace("\\.", "-") }}'), 'a-b-c', 'replaces every match');
  t.equal(r('{{ "ABC" | regex_replace("b", "x", ignorecase=true) }}'), 'AxC');
  t.equal(r('{{ "v1.8.5" | regex_replace("^v(?P<ver>.*)$", "\\g<ver>") }}'), '1.8.5', 'named groups');
  t.equal(r('{{ "cost 5" | regex_replace("5", "$6") }}'), 'cost $6', 'dollar in replacement is literal');
  t.equal(r('{{ "inet 10.1.2.3/16 brd" | regex_search("\\d+\\.\\d+\\.\\d+\\.\\d+") }}'), '10.1.2.3');
  t.same(r('{{ "key=value" | regex_search("(\\w+)=(\\w+)", "\\2", "\\1") }}'), ['value', 'key']);
  t.equal(r('{{ "nothing" | regex_search("\\d+") }}'), null);
  t.same(r('{{ "a1 b22 c333" | regex_findall("\\d+") }}'), ['1', '22', '333']);
  t.same(r('{{ "a=1 b=2" | regex_findall("(\\w)=(\\d)") }}'), [['a', '1'], ['b', '2']]);
  t.equal(r('{{ ["a", "b"] | join(",") }}'), 'a,b');
  t.equal(r('{{ [1, 2] | join }}'), '12');
  t.equal(r('{{ clusters | length }}'), 3);
  t.equal(r('{{ "abc" | count }}'), 3);
  t.equal(r('{{ nested | length }}'), 1);
  t.equal(r('{{ [3, 1, 2] | first }}-{{ [3, 1, 2] | last }}'), '3-2');
  t.equal(r('{{ [3, 1, 2] | min }}-{{ [3, 1, 2] | max }}'), '1-3');
  t.same(r('{{ [3, 1, 2] | sort }}'), [1, 2, 3]);
  t.same(r('{{ [3, 1, 2] | sort(reverse=true) }}'), [3, 2, 1]);
  t.same(r('{{ clusters | sort(attribute="name") | map(attribute="name") | list }}'), ['east', 'north', 'west']);
  t.same(r('{{ clusters | max(attribute="name") | attr("name") }}'), 'west');
  t.same(r('{{ [1, 2] | zip(["a", "b"]) | list }}'), [[1, 'a'], [2, 'b']]);
  t.same(r('{{ dict(["a", "b"] | zip([1, 2])) }}'), { a: 1, b: 2 });
  t.same(r('{{ [1, 2] | product(["a"]) | list }}'), [[1, 'a'], [2, 'a']]);
  t.same(r('{{ [1, 2, 3] | difference([2]) }}'), [1, 3]);
  t.same(r('{{ [1, 2, 3] | intersect([2, 3, 4]) }}'), [2, 3]);
  t.same(r('{{ [1, 2] | union([2, 3]) }}'), [1, 2, 3]);
  t.same(r('{{ [1, 2] | symmetric_difference([2, 3]) }}'), [1, 3]);
  t.same(r('{{ dict([["a", 1]]) }}'), { a: 1 });
  t.same(r('{{ {"a": 1} | items | list }}'), [['a', 1]]);
  t.same(r('{{ nested.a.keys() | list }}'), ['b']);
  t.same(r('{{ nested.a.values() | list }}'), ['deep']);
  t.equal(r('{{ (count > 2) | ternary("big", "small") }}'), 'big');
  t.equal(r('{{ none | ternary("t", "f", "n") }}'), 'n');
  t.equal(r('{{ "abc" | hash("sha256") }}'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  t.equal(r('{{ "abc" | hash("md5") }}'), '900150983cd24fb0d6963f7d28e17f72');
  t.equal(r('{{ "/etc/istio/certs/ca.pem" | basename }}'), 'ca.pem');
  t.equal(r('{{ "/etc/istio/certs/ca.pem" | dirname }}'), '/etc/istio/certs');
  t.equal(r('{{ "it\'s here" | quote }}'), `'it'"'"'s here'`);
  t.equal(r('{{ "simple-word" | quote }}'), 'simple-word');
  t.equal(r('{{ "%s-%02d" | format("node", 7) }}'), 'node-07');
  t.equal(r('{{ "a\nb" | indent(2) }}'), 'a\n  b');
  t.equal(r('{{ [1, 2, 3] | sum }}'), 6);
  t.equal(r('{{ 2.567 | round(1) }}'), 2.6);
  t.equal(r('{{ "a b" | replace(" ", "_") }}'), 'a_b');
  t.same(r('{{ ["b", "a"] | reverse | list }}'), ['a', 'b']);
  t.same(r('{{ [{"n": "x", "ports": [1, 2]}] | subelements("ports") | map("last") | list }}'), [1, 2]);
  t.same(r('{{ ["a"] | map("extract", {"a": 5}) | list }}'), [5]);
  t.equal(r('{{ {"a": 1} | type_debug }}'), 'dict');
  t.equal(r('{{ 5 | ansible.builtin.string }}'), '5', 'collection-qualified builtin name');
});

t.test('ipaddr filters', async (t) => {
  const r = (tpl: string) => render(tpl, vars);
  t.equal(r("{{ '10.1.0.0/16' | ansible.utils.ipaddr('network') }}"), '10.1.0.0');
  t.equal(r("{{ '10.1.0.0/16' | ipaddr('network') }}"), '10.1.0.0', 'short name too');
  t.equal(r("{{ '10.1.2.3/16' | ipaddr('network') }}"), '10.1.0.0');
  t.equal(r("{{ '10.1.0.0/16' | ipaddr('netmask') }}"), '255.255.0.0');
  t.equal(r("{{ '10.1.0.0/16' | ipaddr('prefix') }}"), 16);
  t.equal(r("{{ '10.1.0.0/16' | ipaddr('broadcast') }}"), '10.1.255.255');
  t.equal(r("{{ '10.1.0.0/16' | ipaddr('size') }}"), 65536);
  t.equal(r("{{ '10.1.2.3/16' | ipaddr('address') }}"), '10.1.2.3');
  t.equal(r("{{ '10.1.2.3' | ipaddr('address') }}"), '10.1.2.3');
  t.equal(r("{{ '10.1.0.0/16' | ipaddr('address') }}"), false, 'a network is not an address');
  t.equal(r("{{ '10.1.2.3/16' | ipaddr('host') }}"), '10.1.2.3/16');
  t.equal(r("{{ '10.1.2.3' | ipaddr('host') }}"), '10.1.2.3/32');
  t.equal(r("{{ '10.1.2.3/16' | ipaddr('cidr') }}"), '10.1.0.0/16');
  t.equal(r("{{ '10.1.0.0/16' | ipaddr(1) }}"), '10.1.0.1/16', 'nth host');
  t.equal(r("{{ '10.1.0.0/16' | ipaddr(257) | ipaddr('address') }}"), '10.1.1.1');
  t.equal(r("{{ '10.1.0.0/16' | ipaddr(-2) }}"), '10.1.255.254/16');
  t.equal(r("{{ '10.1.0.0/30' | ipaddr(9) }}"), false, 'out of range');
  t.equal(r("{{ '10.1.0.0/16' | ipaddr }}"), '10.1.0.0/16', 'valid input is returned');
  t.equal(r("{{ '10.1.2.300' | ipaddr }}"), false);
  t.equal(r("{{ 'not-an-ip' | ansible.utils.ipaddr }}"), false);
  t.equal(r("{{ '10.1.0.0/33' | ipaddr }}"), false);
  t.same(r("{{ ['10.0.0.1', 'x', '192.168.1.0/24'] | ipaddr }}"), ['10.0.0.1', '192.168.1.0/24'], 'lists are filtered');
  t.equal(r("{{ '10.1.0.0/255.255.0.0' | ipaddr('prefix') }}"), 16, 'netmask notation');
  t.equal(r("{{ 'fd00::5/64' | ipaddr('network') }}"), 'fd00::');
  t.equal(r("{{ 'fd00::/64' | ipaddr(1) }}"), 'fd00::1/64');
  t.equal(r("{{ 'fd00::/64' | ipv4 }}"), false);
  t.equal(r("{{ '10.0.0.1' | ipv4 }}"), '10.0.0.1');
  t.equal(r("{{ '10.1.2.3' | ipaddr('10.1.0.0/16') }}"), '10.1.2.3', 'membership query');
  t.equal(r("{{ '10.2.2.3' | ipaddr('10.1.0.0/16') }}"), false);
  t.equal(r("{{ '10.1.0.0/16' | ipaddr('private') }}"), '10.1.0.0/16');
  t.equal(r("{{ '8.8.8.8' | ipaddr('public') }}"), '8.8.8.8');
  t.equal(r("{{ '10.0.0.0/16' | ipsubnet(24) }}"), 256);
  t.equal(r("{{ '10.0.0.0/16' | ipsubnet(24, 1) }}"), '10.0.1.0/24');
  t.equal(r("{{ '10.0.0.0/16' | ansible.utils.ipsubnet(24, -1) }}"), '10.0.255.0/24');
  t.equal(r("{{ '10.0.5.7' | ipsubnet(20) }}"), '10.0.0.0/20');
  t.equal(r("{{ '10.0.0.1' | ipmath(5) }}"), '10.0.0.6');
  t.equal(templater.condition("'10.1.2.3' | ipaddr", vars), true);
  t.equal(templater.condition("'10.1.2.x' | ipaddr", vars), false);
});

t.test('tests', async (t) => {
  const c = (expr: string, extra: Record<string, unknown> = {}) => templater.evaluate(expr, { ...vars, ...extra });
  t.equal(c('none is none'), true);
  t.equal(c('cluster_name is not none'), true);
  t.equal(c('cluster_name is string'), true);
  t.equal(c('count is number'), true);
  t.equal(c('count is string'), false);
  t.equal(c('nested is mapping'), true);
  t.equal(c('clusters is mapping'), false);
  t.equal(c('clusters is sequence'), true);
  t.equal(c('clusters is iterable'), true);
  const ok = { changed: true, failed: false, rc: 0 };
  const bad = { changed: false, failed: true, rc: 1 };
  const skipped = { changed: false, skipped: true };
  t.equal(c('r is succeeded', { r: ok }), true);
  t.equal(c('r is success', { r: ok }), true);
  t.equal(c('r is failed', { r: bad }), true);
  t.equal(c('r is failure', { r: ok }), false);
  t.equal(c('r is changed', { r: ok }), true);
  t.equal(c('r is changed', { r: bad }), false);
  t.equal(c('r is not changed', { r: bad }), true);
  t.equal(c('r is skipped', { r: skipped }), true);
  t.equal(c('r is skipped', { r: ok }), false);
  t.equal(c('r is changed', { r: { results: [{ changed: false }, { changed: true }] } }), true, 'loop results');
  t.throws(() => c('r is changed', { r: 'text' }), { message: /registered task result/ });
  t.equal(c('cluster_name is match("ea")'), true);
  t.equal(c('cluster_name is match("st")'), false, 'match anchors at the start');
  t.equal(c('cluster_name is search("st")'), true);
  t.equal(c('cluster_name is in(["east", "west"])'), true);
  t.equal(c('count is equalto(3)'), true);
  t.equal(c('count is eq 3'), true);
  t.equal(c('istio_version is version("1.8.5", ">")'), true, '1.10.2 > 1.8.5 numerically');
  t.equal(c('istio_version is version("1.10.2", "==")'), true);
  t.equal(c('istio_version is version("1.11", "<")'), true);
  t.equal(c('istio_version is version("1.10.2", "ge")'), true);
  t.equal(c('"v1.8.0" is version("1.8.0", "eq")'), true, 'leading v ignored');
  t.equal(c('"1.9.0-beta.1" is version("1.9.0", "<")'), false, 'loose by default, as Ansible');
  t.equal(c('"1.9.0-beta.1" is version("1.9.0", "<", version_type="semver")'), true, 'semver: pre-release sorts first');
  t.equal(c('istio_version is version("1.10.2", operator="lt")'), false);
  t.throws(() => c('istio_version is version("1", "~")'), { message: /invalid operator/ });
  t.equal(c('"x" is truthy'), true);
  t.equal(c('empty is truthy'), false);
  t.equal(c('empty is falsy'), true);
  t.equal(c('4 is even and 3 is odd and 9 is divisibleby(3)'), true);
  t.equal(c('[1] is subset([1, 2])'), true);
});

t.test('lookups', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'meshplay-template-'));
  mkdirSync(path.join(dir, 'files'));
  mkdirSync(path.join(dir, 'templates'));
  writeFileSync(path.join(dir, 'files', 'ca.pem'), '-----BEGIN CERTIFICATE-----\nabc\n-----END CERTIFICATE-----\n\n');
  writeFileSync(path.join(dir, 'plain.txt'), 'beside\n');
  writeFileSync(path.join(dir, 'templates', 'kubeconfig.j2'), 'server: {{ clusters[0].url }}\n{% for c in clusters %}- {{ c.name }}\n{% endfor %}');
  const options = { searchPaths: [dir] };

  process.env.MESHPLAY_TEST_TOKEN = 's3cret';
  t.equal(templater.render("{{ lookup('env', 'MESHPLAY_TEST_TOKEN') }}", vars, options), 's3cret');
  t.equal(templater.render("{{ lookup('ansible.builtin.env', 'MESHPLAY_TEST_TOKEN') }}", vars, options), 's3cret');
  delete process.env.MESHPLAY_TEST_TOKEN;
  t.equal(templater.render("password: {{ lookup('env', 'MESHPLAY_TEST_TOKEN') }}", vars, options), 'password: ', 'unset reads as empty, as in Ansible');
  t.equal(templater.render("{{ lookup('env', 'MESHPLAY_TEST_TOKEN', default='dev') }}", vars, options), 'dev');

  t.equal(templater.render("{{ lookup('file', 'ca.pem') }}", vars, options), '-----BEGIN CERTIFICATE-----\nabc\n-----END CERTIFICATE-----', 'files/ subdirectory, trailing newlines stripped');
  t.equal(templater.render("{{ lookup('file', 'plain.txt') }}", vars, options), 'beside');
  t.equal(templater.render(`{{ lookup('file', '${path.join(dir, 'plain.txt')}') }}`, vars), 'beside', 'absolute path');
  t.throws(() => templater.render("{{ lookup('file', 'nope.pem') }}", vars, options), { name: 'TemplateError', message: /could not find 'nope.pem'/ });
  t.equal(templater.render("{{ lookup('template', 'kubeconfig.j2') }}", vars, options), 'server: https://east:6443\n- east\n- west\n- north\n');
  t.throws(() => templater.render("{{ lookup('template', 'kubeconfig.j2') }}", {}, options), undef('clusters'));
  t.same(templater.render("{{ query('items', [1, 2]) }}", vars, options), [1, 2]);
  t.same(templater.render("{{ q('file', 'plain.txt') }}", vars, options), ['beside']);
  t.equal(templater.render("{{ lookup('vars', 'cluster_name') }}", vars, options), 'east');
  t.throws(() => templater.render("{{ lookup('pipe', 'date') }}", vars, options), { message: /lookup plugin 'pipe' is not supported/ });
});

t.test('omit', async (t) => {
  t.match(OMIT, /^__omit_place_holder__[0-9a-f]+$/);
  const args = templater.render({ name: '{{ cluster_name }}', namespace: '{{ ns | default(omit) }}', labels: { a: '{{ omit }}', b: 1 } }, vars);
  t.same(args, { name: 'east', namespace: OMIT, labels: { a: OMIT, b: 1 } });
  t.same(removeOmitted(args), { name: 'east', labels: { b: 1 } });
});

t.test('variablesOf', async (t) => {
  t.same(templater.variablesOf('{{ cluster_name }}-{{ nested.a.b }}'), ['cluster_name', 'nested']);
  t.same(templater.variablesOf('{% for c in clusters %}{{ c.name }}{{ loop.index }}{{ suffix }}{% endfor %}'), ['clusters', 'suffix'], 'loop-local names excluded');
  t.same(templater.variablesOf('{% for k, v in d.items() %}{{ k }}{{ v }}{% endfor %}'), ['d']);
  t.same(templater.variablesOf('{% set x = 1 %}{{ x }}{{ y }}'), ['y']);
  t.same(templater.variablesOf("{{ lookup('env', 'HOME') | default(fallback) | ipaddr('network') }}"), ['fallback'], 'function, filter and argument names');
  t.same(templater.variablesOf('{{ items | selectattr("a", "equalto", wanted) | map(attribute="b") | list }}'), ['items', 'wanted']);
  t.same(templater.variablesOf('{{ x is version(min_version, ">=") }}'), ['x', 'min_version'], 'test name is not a variable');
  t.same(templater.variablesOf('{{ {"k": v, name: 1} }}'), ['v']);
  t.same(templater.variablesOf('result is changed and count > limit'), ['result', 'count', 'limit'], 'bare expressions');
  t.same(templater.variablesOf('{{ True }} {{ none }} {{ omit }}'), []);
  t.throws(() => templater.variablesOf('{{ broken + }}'), { name: 'TemplateError', message: /syntax error/ }, 'syntax errors found before running');
});

t.test('compiled templates are cached; plain strings never compile', async (t) => {
  const many = Array.from({ length: 2000 }, (_, i) => ({ [`k${i}`]: `plain value ${i}`, t: '{{ count + 1 }}' }));
  const start = process.hrtime.bigint();
  const out = templater.render(many, vars) as Array<Record<string, unknown>>;
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  t.equal(out[1999].t, 4);
  t.equal(out[5].k5, 'plain value 5');
  t.ok(ms < 500, `2000 small renders took ${ms.toFixed(1)} ms`);
});

t.test('a macro call renders as its text, inline or alone', async (t) => {
  const tpl = createTemplater();
  t.equal(tpl.render("{% macro m(x) %}<{{ x }}>{% endmacro %}a{{ m('b') }}c", {}), 'a<b>c');
  t.equal(tpl.render("{% macro m(x) %}<{{ x }}>{% endmacro %}{{ m('b') }}", {}), '<b>');
});

t.test('Python floats: a whole float prints as 5.0 and stays a float through arithmetic', async (t) => {
  const r = (s: string) => render(s, vars);
  // what Python prints
  t.equal(r('{{ 10 / 2 }}!'), '5.0!', '/ always yields a float');
  t.equal(r('{{ 7 / 2 }}!'), '3.5!');
  t.equal(r('{{ 5.0 }}!'), '5.0!', 'a literal with a point is a float');
  t.equal(r("{{ 'x' | float }}!"), '0.0!', 'float falls back to 0.0');
  t.equal(r("{{ 'x' | float(7) }}!"), '7!', 'an explicit fallback is returned as given');
  t.equal(r("{{ '3' | float }}|{{ ' 1_0.5 ' | float }}|{{ '0x1F' | float }}|{{ '-inf' | float }}"), '3.0|10.5|0.0|-inf');
  t.equal(r('{{ (10 / 2) + 1 }}|{{ 2.5 * 2 }}|{{ 3 - 1.0 }}|{{ -(4 / 2) }}|{{ 7.0 // 2 }}|{{ 7 // 2 }}'), '6.0|5.0|2.0|-2.0|3.0|3');
  t.equal(r('{{ 2 ** -1 }}|{{ 2 ** 3 }}|{{ 2.0 ** 3 }}|{{ -7 % 3 }}|{{ 7 % -3 }}|{{ 7.5 % 2 }}'), '0.5|8|8.0|2|-2|1.5');
  t.equal(r('{{ 0.00001 }}|{{ 1.5 * 10 ** 20 }}|{{ 123456.5 }}'), '1e-05|1.5e+20|123456.5', "repr's notation");
  t.equal(r('{{ [10 / 2, 1, 0.5] }}'.replace('}}', '}}!')), '[5.0, 1, 0.5]!');
  t.equal(r("{{ '%s %d %.1f' | format(10 / 2, 10 / 2, 10 / 2) }}"), '5.0 5 5.0');
  t.equal(r("{{ [10 / 2, 3] | to_json }}"), '[5.0, 3]');
  t.equal(r("{{ {'a': 4 / 2} | to_nice_json }}"), '{\n    "a": 2.0\n}');
  t.equal(r('{{ (10 / 2) | type_debug }} {{ 5 | type_debug }} {{ 5.0 | type_debug }}'), 'float int float');
  t.equal(r('{{ (10 / 2) | int | type_debug }}'), 'int');
  // round: Python's round() (halves to even), an int stays an int; ceil and floor yield floats
  t.equal(r('{{ 2.5 | round }}|{{ 3.5 | round }}|{{ -2.5 | round }}|{{ 3 | round }}|{{ 0.125 | round(2) }}|{{ 2.675 | round(2) }}'), '2.0|4.0|-2.0|3|0.12|2.67');
  t.equal(r("{{ 2.1 | round(0, 'ceil') }}|{{ 2 | round(0, 'floor') }}|{{ 3.14159 | round(2) }}|{{ 1234 | round(-2) }}"), '3.0|2.0|3.14|1200');
  t.equal(r('{{ -3 | abs }}|{{ -3.0 | abs }}'), '3|3.0');
  // comparisons and tests see the number
  t.equal(r('{{ 10 / 2 == 5 }} {{ 10 / 2 > 4 }} {{ 5 in [10 / 2] }} {{ (10 / 2) is float }} {{ 5 is float }} {{ (10 / 2) is number }} {{ (10 / 2) is divisibleby 5 }}'), 'True True True True False True True');
  t.equal(r('{{ [3, 10 / 2, 1] | max }}|{{ [10 / 2] | sum }}|{{ [1, 2] | sum }}|{{ range(4 // 2) | list }}'), '5.0|5.0|3|[0, 1]');
  t.equal(r("{{ 10 / 2 if 0.0 else 'zero' }}"), 'zero', '0.0 is false');
  t.throws(() => r('{{ 1 / 0 }}'), /division by zero/);
  // native results leave the templater as plain numbers, at any depth
  t.equal(r('{{ 10 / 2 }}'), 5);
  t.same(r("{{ [10 / 2, {'a': 3.0}] }}"), [5, { a: 3 }]);
  t.equal(templater.evaluate('10 / 2', {}), 5);
  t.ok(templater.condition('10 / 2 == 5', {}));
});

t.test('whole floats written in variable YAML: floats for templates, plain numbers everywhere else', async (t) => {
  const src = new SourceFile('vars.yml', 'a: 5.0\nb: 5\nc: 1.0e+3\nd: [0.0, 3, {e: 2.}]\nf: 2.5\ng: {h: 7}\n');
  const v = src.value as Record<string, any>;
  // the loaded value is what it always was: numbers, for modules, manifests and typeof checks
  t.same(v, { a: 5, b: 5, c: 1000, d: [0, 3, { e: 2 }], f: 2.5, g: { h: 7 } });
  t.equal(typeof v.a, 'number');
  const tpl = createTemplater();
  t.equal(tpl.render('{{ a }} {{ b }} {{ c }} {{ d }} {{ d[0] }} {{ d[-1].e }} {{ f }} {{ a | type_debug }} {{ b | type_debug }} {{ a + 1 }}', v), '5.0 5 1000.0 [0.0, 3, {\'e\': 2.0}] 0.0 2.0 2.5 float int 6.0');
  t.equal(tpl.render('{{ d | to_json }} {% for x in d %}{{ x }},{% endfor %} {{ d | first }} {{ d[2].items() | list }}', v), '[0.0, 3, {"e": 2.0}] 0.0,3,{\'e\': 2.0}, 0.0 [(\'e\', 2.0)]');
  t.equal(tpl.render('{{ {"a": a, "d": d} | to_yaml }}', v), 'a: 5.0\nd:\n- 0.0\n- 3\n- {e: 2.0}\n');
  // a native result is the variable's own value: plain numbers, the same containers
  t.equal(tpl.render('{{ a }}', v), 5);
  t.equal(tpl.render('{{ d }}', v), v.d, 'the original list, not a copy');
  t.equal(tpl.render('{{ g }}', v), v.g);
  t.same(tpl.render("{{ [a, d[2]] }}", v), [5, { e: 2 }]);
  t.equal(tpl.render('{{ d[2] }}', v), v.d[2]);
  // copies made key by key keep the record only where carryFloats is called (merged variable scopes)
  const merged = { ...v, b: 5.0 };
  carryFloats(merged, v, { b: 5 });
  t.equal(tpl.render('{{ a }} {{ b }}', merged), '5.0 5', 'a later source without the mark overrides it');
  t.equal(tpl.render('{{ a }}!', { ...v }), '5!', 'a copy without carryFloats has no record (plain, never wrong type)');
  // a shared render (RenderMemo) tells a float 5.0 from the int 5 of another host
  const memo = new RenderMemo();
  const host2 = { ...v };
  carryFloats(host2, v, { a: 5 });
  t.equal(tpl.render('{{ a }} x', v, { memo }), '5.0 x');
  t.equal(tpl.render('{{ a }} x', host2, { memo }), '5 x');
  t.equal(tpl.render('{{ a }} x', v, { memo }), '5.0 x');
  t.equal(tpl.render('{{ d }} y', v, { memo }), '[0.0, 3, {\'e\': 2.0}] y');
  t.equal(tpl.render('{{ d }} y', v, { memo }), '[0.0, 3, {\'e\': 2.0}] y');
  t.equal(memo.hits, 1, 'only the float view of d is reused (a template keeps one remembered render: host2 replaced it)');
});

t.test('int keys written in YAML ({1: a}) are ints for templates, text keys for everything else', async (t) => {
  const src = new SourceFile('vars.yml', "m: {1: a, 2: b, x: c, '3': d}\nf: {1: 1.0}\nplain: {'1': a}\n");
  const v = src.value as Record<string, any>;
  t.same(v.m, { 1: 'a', 2: 'b', x: 'c', 3: 'd' });
  t.same(Object.keys(v.m), ['1', '2', '3', 'x'], 'a JavaScript object still, with text keys');
  const r = (s: string) => createTemplater().render(s, v);
  t.equal(r("{{ 1 in m }} {{ '1' in m }} {{ 3 in m }} {{ '3' in m }} {{ 'x' in m }} {{ m[1] }} {{ m['1'] | default('no') }} {{ m.get('1', 'no') }} {{ m.get(2) }} {{ m.x }}"), 'True False False True True a no no b c');
  t.equal(r('{{ m }} {{ m.keys() | list }} {{ m | list }} {% for k in m %}{{ k | type_debug }},{% endfor %}'), "{1: 'a', 2: 'b', '3': 'd', 'x': 'c'} [1, 2, '3', 'x'] [1, 2, '3', 'x'] int,int,str,str,");
  t.equal(r('{{ m | dict2items | to_json }} {{ m | to_json }} {{ m.items() | list }}'), '[{"key": 1, "value": "a"}, {"key": 2, "value": "b"}, {"key": "3", "value": "d"}, {"key": "x", "value": "c"}] {"1": "a", "2": "b", "3": "d", "x": "c"} [(1, \'a\'), (2, \'b\'), (\'3\', \'d\'), (\'x\', \'c\')]');
  t.equal(r('{{ m | to_yaml }}{{ f | to_yaml }}{{ f }} {{ f[1] }}'), "{1: a, 2: b, '3': d, x: c}\n{1: 1.0}\n{1: 1.0} 1.0", 'with whole floats inside too');
  t.equal(r("{{ 1 in plain }} {{ '1' in plain }}"), 'True True', 'a mapping without int keys answers as before');
  t.equal(r('{{ m | combine({}) }}!'), "{'1': 'a', '2': 'b', '3': 'd', 'x': 'c'}!", 'a mapping a filter builds has text keys');
  t.equal(createTemplater().render('{{ m }}', v), v.m, 'the native result is the mapping itself');
});

t.test("to_yaml and to_nice_yaml write PyYAML's bytes (a port of its emitter, as libyaml's where they differ: runner/template/pyyaml.ts)", async (t) => {
  const r = (s: string, v: Record<string, unknown> = {}) => render(s, { ...vars, ...v });
  const v = { zeta: 1, alpha: [1, 2.5, 'x'], u: 'é', nested: { b: null, a: true }, s: 'yes', long: 'a b c', multi: 'l1\nl2' };
  t.equal(r('{{ v | to_yaml }}', { v }), "alpha: [1, 2.5, x]\nlong: a b c\nmulti: 'l1\n\n  l2'\nnested: {a: true, b: null}\ns: 'yes'\nu: é\nzeta: 1\n");
  t.equal(r('{{ v | to_nice_yaml }}', { v }), "alpha:\n- 1\n- 2.5\n- x\nlong: a b c\nmulti: 'l1\n\n    l2'\nnested:\n    a: true\n    b: null\ns: 'yes'\nu: é\nzeta: 1\n");
  t.equal(r("{{ [{'name': 'x', 'vals': [1, 2]}, {'name': 'y', 'vals': []}] | to_nice_yaml }}"), '-   name: x\n    vals:\n    - 1\n    - 2\n-   name: y\n    vals: []\n');
  t.equal(r("{{ {'empty': {}, 'e2': [], 'n': none, 's': '', 't': 'true', 'colon': 'a: b'} | to_yaml }}"), "colon: 'a: b'\ne2: []\nempty: {}\nn: null\ns: ''\nt: 'true'\n");
  t.equal(r("{{ 'abc' | to_yaml }}"), 'abc\n', 'no `...` after a plain scalar at the root (libyaml, Ansible\'s CSafeDumper)');
  t.equal(r('{{ "it\'s" | to_yaml }}{{ " x" | to_yaml }}{{ tab | to_yaml }}', { tab: 'a\tb' }), "it's\n' x'\n\"a\\tb\"\n");
  t.equal(r("{{ [10 / 2, 0.0000001, '1.0', '0x1F', '2001-12-14', '~'] | to_yaml }}"), "[5.0, 1.0e-07, '1.0', '0x1F', '2001-12-14', '~']\n");
  t.equal(r("{{ {'b': 1, 'a': 2} | to_yaml(sort_keys=false) }}{{ [1, [2]] | to_yaml(default_flow_style=false) }}"), '{b: 1, a: 2}\n- 1\n- - 2\n');
  t.equal(r("{{ {'a': [1]} | to_nice_yaml(2) }}{{ {'a': [1]} | to_yaml(4) }}"), 'a:\n- 1\na: [1]\n', "to_yaml ignores positional arguments, as Ansible's does");
  const long = 'word '.repeat(20).trim();
  t.equal(r('{{ {"k": long} | to_nice_yaml }}', { long }), `k: ${'word '.repeat(15)}word\n    ${'word '.repeat(3)}word\n`, 'plain scalars fold at width 80');
  t.equal(r('{{ {"k": long} | to_nice_yaml(width=1000) }}', { long }), `k: ${long}\n`);
  t.throws(() => r('{{ 1 | to_yaml(canonical=true) }}'), /unsupported argument 'canonical'/);
});
