// Writes the HTML report: the model masked as a whole by the run's redactor (every value registered as a secret,
// whatever field holds it), then rendered. Returns why it could not be written, or undefined.
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { meshplayVersion } from '../version.js';
import { buildReport, type BuildInput } from './model.js';
import { renderReport } from './html.js';

export async function writeReport(file: string, input: Omit<BuildInput, 'version'>, redactor: { redactKnown<T>(v: T): T }): Promise<string | undefined> {
  const model = redactor.redactKnown(buildReport({ ...input, version: `meshplay ${meshplayVersion()}` }));
  try {
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, renderReport(model));
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}
