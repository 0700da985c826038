// meshplay's version, from package.json (dist/runner and the bundle's dist/bin sit at the same depth).
import { readFileSync } from 'node:fs';

export function meshplayVersion(): string {
  return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}
