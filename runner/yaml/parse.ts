// Parsing text that may hold secrets (kubeconfigs, `-e @file`, `-e '{json}'`, definitions, from_yaml/from_json):
// a syntax error says where (line:column) and what is wrong, and never quotes the input. The yaml library's
// default message and Node's JSON.parse message both print the offending line, which is often the one holding
// the token or password — and it is printed before anything could have registered that value as a secret.
import { LineCounter, parseAllDocuments, parseDocument, type DocumentOptions, type ParseOptions, type SchemaOptions } from 'yaml';
import { pyYamlTags } from './source.js';

export class InputSyntaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InputSyntaxError';
  }
}

interface YamlErrorLike {
  message: string;
  pos: [number, number];
}

/** `where` names a file (`file:line:column: ...`, as every other input error) or something else (a filter's input). */
export interface WhereOptions {
  file?: boolean;
  /** YAML 1.1 as PyYAML's safe_load reads it (yes is true, 1e3 a string): Ansible's from_yaml and from_yaml_all. */
  pyyaml?: boolean;
}

function yamlOptions(o: WhereOptions): ParseOptions & DocumentOptions & SchemaOptions {
  return o.pyyaml ? { version: '1.1', customTags: pyYamlTags, merge: true } : {};
}

function placed(where: string, line: number, column: number, what: string, o: WhereOptions): InputSyntaxError {
  return new InputSyntaxError(o.file === false ? `${where}: ${what} at line ${line}, column ${column}` : `${where}:${line}:${column}: ${what}`);
}

function yamlProblem(where: string, e: YamlErrorLike, lines: LineCounter, o: WhereOptions): InputSyntaxError {
  const p = lines.linePos(e.pos[0]);
  // With prettyErrors off the message has no excerpt; its first line is the parser's sentence.
  const what = e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
  return placed(where, p.line, p.col, `invalid YAML: ${what}`, o);
}

/** One YAML document (YAML 1.2, as `yaml.parse`, unless `pyyaml`). */
export function parseYamlText(text: string, where: string, o: WhereOptions = {}): unknown {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, ...yamlOptions(o) });
  if (doc.errors.length) throw yamlProblem(where, doc.errors[0]!, lines, o);
  return doc.toJS();
}

/** Every document of a multi-document YAML stream. */
export function parseYamlDocuments(text: string, where: string, o: WhereOptions = {}): unknown[] {
  const lines = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: lines, prettyErrors: false, ...yamlOptions(o) });
  // An empty stream parses to an EmptyStream (not an array of documents).
  if (!Array.isArray(docs)) return [];
  const broken = docs.find((d) => d.errors.length);
  if (broken) throw yamlProblem(where, broken.errors[0]!, lines, o);
  return docs.map((d) => d.toJS());
}

/** JSON.parse, whose error names the line and column instead of quoting the text around the mistake. */
export function parseJsonText(text: string, where: string, o: WhereOptions = { file: false }): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    const message = (e as Error).message;
    const at = /at position (\d+)/.exec(message);
    // Node 20: `Unexpected token 'h', ..."api_key": hunter2"... is not valid JSON` — keep only the sentence.
    const what = message
      .replace(/, (?:\.\.\.)?".*"(?:\.\.\.)? is not valid JSON$/s, '')
      .replace(/ in JSON at position \d+.*$/s, '')
      .replace(/ \(line \d+ column \d+\)$/, '');
    if (!at) throw new InputSyntaxError(`${where}: invalid JSON: ${what}`);
    const before = text.slice(0, Number(at[1]));
    throw placed(where, before.split('\n').length, Number(at[1]) - before.lastIndexOf('\n'), `invalid JSON: ${what}`, o);
  }
}
