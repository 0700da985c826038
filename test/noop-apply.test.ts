// The proof that a server-side apply would change nothing (runner/k8s/noop-apply.ts), on managedFields shaped
// like the API server's (copied from a kube-apiserver 1.26 Service and ConfigMap). The real-server side is in
// k8s.test.ts: converged re-runs send one GET, and dropped fields still reach the server.
import t from 'tap';
import { applyIsNoop, unchanged } from '../runner/k8s/noop-apply.js';

const entry = (fieldsV1: Record<string, unknown>, over: Record<string, unknown> = {}) => ({
  manager: 'meshplay',
  operation: 'Apply',
  apiVersion: 'v1',
  time: '2026-11-26T08:41:49Z',
  fieldsType: 'FieldsV1',
  fieldsV1,
  ...over,
});

const serviceFields = {
  'f:metadata': { 'f:labels': { 'f:app': {} } },
  'f:spec': {
    'f:ports': {
      'k:{"port":8080,"protocol":"TCP"}': { '.': {}, 'f:name': {}, 'f:port': {}, 'f:protocol': {} },
      'k:{"port":15010,"protocol":"TCP"}': { '.': {}, 'f:name': {}, 'f:port': {}, 'f:protocol': {} },
    },
  },
};
const desiredService = {
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: 'istio-pilot', namespace: 'istio-system', labels: { app: 'pilot' } },
  spec: {
    ports: [
      { name: 'http', port: 8080, protocol: 'TCP' },
      { name: 'grpc', port: 15010, protocol: 'TCP' },
    ],
  },
};
const liveService = (fields: Record<string, unknown> = serviceFields, extra: Record<string, unknown> = {}) => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: {
    name: 'istio-pilot',
    namespace: 'istio-system',
    resourceVersion: '812',
    labels: { app: 'pilot', 'added-by': 'someone-else' },
    managedFields: [entry(fields), { manager: 'kubectl', operation: 'Update', apiVersion: 'v1', fieldsType: 'FieldsV1', fieldsV1: { 'f:metadata': { 'f:labels': { 'f:added-by': {} } } } }],
  },
  spec: {
    clusterIP: '10.96.0.12',
    ports: [
      { name: 'http', port: 8080, protocol: 'TCP', targetPort: 8080 },
      { name: 'grpc', port: 15010, protocol: 'TCP', targetPort: 15010 },
    ],
    sessionAffinity: 'None',
    type: 'ClusterIP',
    ...extra,
  },
  status: { loadBalancer: {} },
});

t.test('converged Service: defaulted and foreign fields are not changes', async (t) => {
  t.equal(applyIsNoop(liveService(), desiredService, 'meshplay'), true);
});

t.test('not provable, or a real change: false', async (t) => {
  const changedValue = structuredClone(desiredService);
  changedValue.metadata.labels.app = 'istiod';
  t.equal(applyIsNoop(liveService(), changedValue, 'meshplay'), false, 'a value differs');

  const droppedLabel = structuredClone(desiredService) as any;
  delete droppedLabel.metadata.labels;
  t.equal(applyIsNoop(liveService(), droppedLabel, 'meshplay'), false, 'an owned label is no longer set: the apply removes it');

  const onePort = structuredClone(desiredService);
  onePort.spec.ports.pop();
  t.equal(applyIsNoop(liveService(), onePort, 'meshplay'), false, 'an owned list element is no longer set');

  const reordered = structuredClone(desiredService);
  reordered.spec.ports.reverse();
  t.equal(applyIsNoop(liveService(), reordered, 'meshplay'), false, 'keyed list in another order');

  const newPort = structuredClone(desiredService);
  newPort.spec.ports.push({ name: 'x', port: 1, protocol: 'TCP' });
  t.equal(applyIsNoop(liveService(), newPort, 'meshplay'), false, 'an element not owned yet');

  t.equal(applyIsNoop(liveService(), desiredService, 'other-manager'), false, 'no Apply entry for this manager');
  const beta = liveService();
  beta.metadata.managedFields[0] = entry(serviceFields, { apiVersion: 'v1beta1' });
  t.equal(applyIsNoop(beta, desiredService, 'meshplay'), false, 'owned through another apiVersion');
  const update = liveService();
  update.metadata.managedFields[0] = entry(serviceFields, { operation: 'Update' });
  t.equal(applyIsNoop(update, desiredService, 'meshplay'), false, 'an Update entry is not an apply');
  const noFields = liveService();
  noFields.metadata.managedFields = [];
  t.equal(applyIsNoop(noFields, desiredService, 'meshplay'), false, 'no managedFields at all');

  const normalised = structuredClone(desiredService) as any;
  normalised.spec.ports[0].port = '8080';
  t.equal(applyIsNoop(liveService(), normalised, 'meshplay'), false, 'a value the server would convert');
});

t.test('maps, atomic maps, sets and plain lists', async (t) => {
  t.equal(unchanged({ a: 1 }, { a: 1, b: 2 }, { 'f:a': {} }), true, 'a granular map may hold more keys');
  const ownsType = { 'f:spec': { 'f:type': {} } };
  t.equal(
    unchanged({ spec: { type: 'ClusterIP', selector: { app: 'a' } } }, { spec: { type: 'ClusterIP', selector: { app: 'a', version: 'v1' } } }, ownsType),
    false,
    'a map not owned yet (kubectl edit added a key to an atomic selector) must be equal: the apply would replace it',
  );
  t.equal(unchanged({ spec: { type: 'ClusterIP', selector: { app: 'a' } } }, { spec: { type: 'ClusterIP', selector: { app: 'a' } } }, ownsType), true);
  t.equal(unchanged({ sel: { a: '1' } }, { sel: { a: '1', b: '2' } }, { 'f:sel': {} }), false, 'an atomic map is replaced whole');
  t.equal(unchanged({ sel: { a: '1' } }, { sel: { a: '1' } }, { 'f:sel': {} }), true);
  t.equal(unchanged({ l: ['a', 'b'] }, { l: ['a', 'b'] }, { 'f:l': { 'v:"a"': {}, 'v:"b"': {} } }), true, 'a set, equal');
  t.equal(unchanged({ l: ['a'] }, { l: ['a', 'b'] }, { 'f:l': { 'v:"a"': {}, 'v:"b"': {} } }), false, 'a set with a value dropped');
  t.equal(unchanged({ l: [1, 2] }, { l: [1, 2, 3] }, { 'f:l': {} }), false, 'an atomic list must be equal');
  t.equal(unchanged({ a: null }, { a: 1 }, undefined), false, 'null (a removal) is a change');
  t.equal(unchanged({ a: 1 }, {}, undefined), false, 'missing in live');
  t.equal(unchanged({ m: { x: 1 } }, { m: { x: 1 } }, { 'f:m': { 'f:x': {}, 'f:y': {} } }), false, 'an owned nested field dropped');
  t.equal(unchanged({ m: { x: 1 } }, { m: { x: 1 } }, { 'f:m': { 'i:0': {} } }), false, 'unknown field-set shape');
  t.equal(
    unchanged(
      { ports: [{ port: 80, name: 'a' }] },
      { ports: [{ port: 80, name: 'a', targetPort: 80 }, { port: 90, name: 'theirs' }] },
      { 'f:ports': { 'k:{"port":80}': { '.': {}, 'f:port': {}, 'f:name': {} } } },
    ),
    true,
    "a keyed list may hold another manager's element",
  );
  t.equal(
    unchanged({ ports: [{ port: 80, name: 'a' }] }, { ports: [{ port: 80, name: 'b' }] }, { 'f:ports': { 'k:{"port":80}': { '.': {}, 'f:port': {}, 'f:name': {} } } }),
    false,
    'a keyed element with another value',
  );
});
