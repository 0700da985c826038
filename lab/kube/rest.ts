// A minimal admin client for the lab's own set-up requests (readiness, Nodes, CRDs). The lab does not load
// @kubernetes/client-node for this: a handful of requests with a client certificate is all it needs.
import https from 'node:https';

export interface AdminCredentials {
  url: string;
  caPem: string;
  certPem: string;
  keyPem: string;
}

export interface RestResponse {
  status: number;
  body: string;
  json(): any;
}

export function adminRequest(
  creds: AdminCredentials,
  method: string,
  path: string,
  body?: unknown,
  contentType = 'application/json',
  timeoutMs = 10_000,
): Promise<RestResponse> {
  const url = new URL(path, creds.url);
  const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = https.request(
      url,
      {
        method,
        ca: creds.caPem,
        cert: creds.certPem,
        key: creds.keyPem,
        timeout: timeoutMs,
        headers: {
          Accept: 'application/json',
          ...(payload !== undefined ? { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(payload) } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, body: text, json: () => JSON.parse(text) });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${url.href} timed out after ${timeoutMs} ms`)));
    req.on('error', reject);
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}

/** Server-side apply as the lab's own field manager; throws with the server's message on failure. */
export async function labApply(creds: AdminCredentials, path: string, object: unknown): Promise<any> {
  const res = await adminRequest(creds, 'PATCH', `${path}?fieldManager=meshplay-lab&force=true`, object, 'application/apply-patch+yaml');
  if (res.status >= 300) throw new Error(`applying ${path} failed: HTTP ${res.status}: ${res.body.slice(0, 500)}`);
  return res.json();
}
